#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: sigma_jobs
short_description: Reconcile a lineup of live and VOD jobs on one Sigma Media Server in one task
version_added: 0.1.0
description:
  - Makes a list of jobs of one server match their configurations, with the engine of
    M(sigma.media_server.sigma_job), one C(progress) request for every job (C(name=*)), then only the needed
    C(stop), C(start) and C(update) calls (and one C(dump) when a start needs GPU placement or a capability check).
  - A run that changes nothing sends exactly one request. A run that changes something reads C(progress) again under
    the server's write lock before writing and once more after writing, so three C(progress) in all.
  - Every item of O(jobs) is checked before any request, with the same rules as sigma_job; each error names the
    item, its name and the field path, for example item C(jobs[3]), name C(news), field C(targets[1].select[0]); an
    unknown option or a value of the wrong type inside a list is named the same way. One refused item refuses the
    whole task.
  - With O(exclusive=true), jobs on the server that O(jobs) does not name are stopped.
  - Much faster than a loop over sigma_job, 100 jobs take one task.
author:
  - Sigma collection maintainers (@sigma-media)
extends_documentation_fragment:
  - sigma.media_server.connection
  - sigma.media_server.wait
  - sigma.media_server.record
  - sigma.media_server.attributes
attributes:
  check_mode:
    support: full
    details: The same decisions are made (including the C(dump) for GPU placement); no C(start), C(stop) or C(update) is sent.
  diff_mode:
    support: full
    details: Before and after of the normalised configuration of every job that changes, by job name, secrets masked.
  idempotent:
    support: partial
    details: As M(sigma.media_server.sigma_job) (live updates and the record).
options:
  jobs:
    description:
      - The jobs, each a dictionary of the job options of M(sigma.media_server.sigma_job) (O(sigma.media_server.sigma_job#module:name),
        O(sigma.media_server.sigma_job#module:input), O(sigma.media_server.sigma_job#module:profiles)...)
        plus its C(state) (V(present), V(absent), V(restarted); default V(present)), C(force) (default V(false)) and
        C(unverified) (V(warn), V(restart), V(fail); default V(warn)), with the same meaning as in sigma_job.
      - Names must be unique in the list.
      - An empty list with O(exclusive=false) declares nothing - the task is skipped and sends no request.
      - Secret values inside the items (DRM keys, S3 keys, passwords in URLs) are hidden from all output.
    type: list
    elements: dict
    required: true
  exclusive:
    description:
      - Stop the jobs on the server that O(jobs) does not name.
    type: bool
    default: false
notes:
  - Change detection, live updates without restart, the record and the masking of secrets work as in
    M(sigma.media_server.sigma_job); read its notes. A run forgets the record of the jobs that are no longer on the
    server.
  - Calls are sent one after another on one kept-alive connection, stops first, then starts, then updates. When a
    call fails, the module fails naming the job, the server and the cause; the calls before it were applied
    (C(changed) says so) and the later ones were not sent.
  - GPU placement with C(gpu=auto) places the starting jobs one after another, each seeing the ones before it, after
    the jobs this task stops or starts again have left their cards; a job started again stays on its card when it
    can (see O(sigma.media_server.sigma_job#module:gpu)). When a job fits no card, nothing is started.
  - Concurrent runs from one control node (forks, overlapping playbooks) are serialised per server by a lock file in
    E(SIGMA_STATE_DIR); runs from two different control nodes are not. See the notes of
    M(sigma.media_server.sigma_job).
seealso:
  - module: sigma.media_server.sigma_job
  - module: sigma.media_server.sigma_info
'''

EXAMPLES = r'''
- name: The channel lineup of one server, and nothing else
  sigma.media_server.sigma_jobs:
    api_url: http://sigma-01.example.com:9999
    exclusive: true
    jobs: "{{ lineup }}"
  delegate_to: localhost

- name: Two channels from a template
  sigma.media_server.sigma_jobs:
    api_url: http://sigma-01.example.com:9999
    jobs:
      - name: "{{ item_name }}"
        gpu: auto
        input: "udp://239.1.1.{{ idx }}:1234"
        profiles:
          - {id: '0x100', codec: h264, width: 1280, height: 720, bitrate: 2500k}
          - {id: '0x101', type: audio}
        targets:
          - {format: hls, url: "/data/mediahub/{{ item_name }}"}
      - name: old-channel
        state: absent
  vars:
    item_name: vtv3
    idx: 3
  delegate_to: localhost
'''

RETURN = r'''
ansible_facts:
  description: The updated record of what the module applied, when it is kept as a fact (see the notes).
  returned: when a persistent fact cache is configured and the run changed the record
  type: dict
  contains:
    sigma_job_record:
      description: As RV(sigma.media_server.sigma_job#module:ansible_facts.sigma_job_record).
      type: dict
jobs:
  description: One result per job of O(jobs), in order, then one per job stopped by O(exclusive).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The job name.
      type: str
    state:
      description: The desired state (V(absent) for jobs stopped by O(exclusive)).
      type: str
    action:
      description: What the run did (in check mode, would do), V(none), V(start), V(restart), V(update) or V(stop).
      type: str
    changed:
      description: Whether the job changed.
      type: bool
    reasons:
      description: Why the job was started, restarted, updated or stopped.
      type: list
      elements: str
    gpu:
      description: The card index chosen or checked for a start, else C(null).
      type: int
    job:
      description: The job's progress entry after the run (as RV(sigma.media_server.sigma_job#module:job)), C(null) when absent.
      type: dict
    actions:
      description: The calls sent for this job, secrets masked.
      type: list
      elements: dict
  sample:
    - {name: vtv3, state: present, action: none, changed: false, reasons: [], gpu: null, job: {state: started}, actions: []}
actions:
  description: Every C(start), C(stop) and C(update) call sent (in check mode, that would be sent), secrets masked.
  returned: always
  type: list
  elements: dict
  sample:
    - {function: stop, name: old-channel, mode: live}
diff:
  description: Before and after of every job that changes, keyed by job name, secrets masked.
  returned: always
  type: dict
  sample:
    before: {old-channel: {state: present}}
    after: {old-channel: {state: absent}}
'''

from ansible_collections.sigma.media_server.plugins.module_utils._jobs import engine
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.options import argument_spec
from ansible_collections.sigma.media_server.plugins.module_utils._module import JobModule


def main():
    module = JobModule(argument_spec(single=False), supports_check_mode=True)
    module.run(lambda client, outcome: engine.run(module.params, client, outcome, single=False, check_mode=module.check_mode))


if __name__ == '__main__':
    main()
