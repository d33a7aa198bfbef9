#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: sigma_job
short_description: Create, update, restart and stop one live or VOD job on a Sigma Media Server
version_added: 0.1.0
description:
  - Makes one job of a Sigma Media Server match the given configuration, idempotently.
  - Every field of the API's C(start) function is an option, in snake_case; the module sends them in the API's
    spelling. O(extra) carries fields the module does not model.
  - The whole specification is checked before any request (profile ids unique, every C(select) refers to a
    profile, HDR only with hevc and a 10-bit pixel format, C(rc) and GPU presets only on a GPU, every documented
    range); each error names its field path, for example C(targets[1].select[0]), also for an unknown option or a
    value of the wrong type inside a list (C(targets[0]) for an unknown option in the first target). A refused
    specification sends no request at all.
  - A run that changes nothing sends exactly one request, C(progress) of the job's name. A run that changes the job
    reads C(progress) again under the server's write lock before writing (see the notes), then once more after
    writing, for example C(progress), C(progress), C(dump), C(start), C(progress) for a new job on a GPU.
  - To manage many jobs of one server in one task, use M(sigma.media_server.sigma_jobs), the same engine with one
    C(progress) for all of them.
author:
  - Sigma collection maintainers (@sigma-media)
extends_documentation_fragment:
  - sigma.media_server.connection
  - sigma.media_server.wait
  - sigma.media_server.record
  - sigma.media_server.job
  - sigma.media_server.attributes
attributes:
  check_mode:
    support: full
    details: The same decision is made (including the C(dump) for GPU placement); no C(start), C(stop) or C(update) is sent.
  diff_mode:
    support: full
    details:
      - Before and after of the normalised configuration, secrets masked.
      - Settings the server does not report show in the before as the desired value with a note saying the digest differs.
  idempotent:
    support: partial
    details:
      - Changes are detected from what C(progress) reports, from the record of what was applied and from a digest of
        the configuration kept in C(_id) (see the notes).
      - Without a record of the running job, its live settings are sent again (changed, without a restart), and on a
        server that echoes C(_id) empty only the reported fields can be compared (a warning says so).
options:
  state:
    description:
      - V(present), the job exists with this configuration and runs. A live job in state C(error), C(finished),
        C(stop) or C(stopped), and a VOD job in state C(error), C(stop) or C(stopped), is started again (a finished
        VOD job is present).
      - V(absent), the job is stopped (a stopped job is gone from the server).
      - V(restarted), the job is started again on every run (always changed).
    type: str
    choices: [present, absent, restarted]
    default: present
  force:
    description:
      - Start the job again with its configuration even when nothing seems to differ.
    type: bool
    default: false
  unverified:
    description:
      - What to do with a running job whose settings cannot be verified because it was not started by this
        collection (its C(_id) is empty, or is not the digest this collection writes) and nothing else tells what it
        runs. The settings C(progress) does not report (codecs, sizes, manifest, DRM, watermarks, options) may then
        differ unseen; the reported ones (inputs, profile ids, targets, weight) are still compared, and a difference
        there restarts the job whatever this option says.
      - V(warn) leaves the job running as it is, with a warning. A live channel is never restarted on a guess.
      - V(restart) adopts the job. It is started again once with this configuration (changed; the restart cuts the
        channel for its viewers). From then on its C(_id) carries the digest, and the next runs compare as for any
        job this collection started.
      - V(fail) makes the task fail before any change, naming the job.
      - On a server that does not echo C(_id), and with nothing else to tell what a job runs, every job is unverified,
        and V(restart) would then restart it on every run.
    type: str
    choices: [warn, restart, fail]
    default: warn
notes:
  - B(How changes are seen.) C(progress) reports only the inputs, profile ids, targets (format, url, select), weight
    and C(_id) of a job. The module compares those, and the rest with its record of what it applied (see the notes
    on the record). It also writes into C(_id) at start 12 hex of the digest of the part of the configuration that
    needs a restart, then 12 hex of the digest of the part a running live job can take through C(update).
  - B(Live updates.) When only watermark position or visibility (O(watermarks[].x), O(watermarks[].y),
    O(watermarks[].enable) of a watermark with an id), an audio O(profiles[].volume), the DRM settings (the same on
    every target that has DRM) or the manifest header (the same on every hls and dash target) changed, a running
    live job gets C(update) calls instead of a restart, so viewers see no interruption. As the server reports none
    of these settings, every one of them is sent (each watermark, each audio volume, the DRM and the header), not only
    the one that changed. Adding or removing such a setting restarts the job.
  - Secrets (DRM keys, key URIs and key servers, S3 keys given through O(extra), passwords in URLs) are masked in
    RV(job), RV(diff) and RV(actions) and hidden from all output.
  - Failures (server unreachable, timeout, HTTP error, C(ec) not 0) make the module fail with a message naming the
    server, the function and the job, and C(changed) tells whether anything was sent before.
  - B(Concurrent runs.) When a change is needed (not in check mode), the module takes an exclusive lock on a
    per-server file in E(SIGMA_STATE_DIR) (created with mode 0700), reads C(progress)
    again, decides again from that answer, sends its writes and releases the lock. So concurrent runs from one
    control node (forks of one play, overlapping playbooks, M(sigma.media_server.sigma_job) and
    M(sigma.media_server.sigma_jobs) alike) change the jobs of one server one after the other and see each other's
    results, and a job declared by many hosts is started once. Runs from two different control nodes are not
    serialised. A run waits at most 10 x O(timeout) x (O(retries) + 1) seconds for the lock (at least 120, 300 with the
    defaults), then fails naming the server and the lock file, with nothing changed. When the lock file cannot be
    created, the module warns and goes on without it. A run that changes nothing takes no lock.
  - B(How a server shapes its report.) A server may list every input of a job or only the one in use (the backup
    after a fail-over), in any order, and may mask or drop the credentials in URLs, add a trailing slash or change
    the case of a format or a hex profile id. The module compares past all of these, so an input is a difference only
    when it is none of the job's. When the digest in C(_id) says the job runs the desired configuration, the weight
    and mode a server reports are not compared either (a server may not keep them). What still differs was changed
    outside Ansible, and restarts the job.
seealso:
  - module: sigma.media_server.sigma_jobs
  - module: sigma.media_server.sigma_info
'''

EXAMPLES = r'''
- name: A live channel from UDP to HLS, on the least-loaded capable GPU
  sigma.media_server.sigma_job:
    api_url: http://sigma-01.example.com:9999
    name: vtv3
    gpu: auto
    input:
      main: udp://239.1.1.1:1234
      backup: udp://239.1.1.2:1234
    profiles:
      - {id: '0x100', type: video, codec: h264, width: 1280, height: 720, bitrate: 2500k, preset: llhq, rc: cbr_hq}
      - {id: '0x101', type: audio, codec: aac, bitrate: 128k, volume: +2dB}
    targets:
      - format: hls
        url: /data/mediahub/vtv3
        select: ['0x100', '0x101']
        manifest: {ts: 4, count: 6}
    watermarks:
      - {id: logo, url: /data/logo.png, x: 1700, y: 40, enable: true}
    wait: true
  delegate_to: localhost

- name: Hide the logo without interrupting viewers (sent as an update)
  sigma.media_server.sigma_job:
    api_url: http://sigma-01.example.com:9999
    name: vtv3
    gpu: auto
    input: {main: udp://239.1.1.1:1234, backup: udp://239.1.1.2:1234}
    profiles:
      - {id: '0x100', type: video, codec: h264, width: 1280, height: 720, bitrate: 2500k, preset: llhq, rc: cbr_hq}
      - {id: '0x101', type: audio, codec: aac, bitrate: 128k, volume: +2dB}
    targets:
      - {format: hls, url: /data/mediahub/vtv3, select: ['0x100', '0x101'], manifest: {ts: 4, count: 6}}
    watermarks:
      - {id: logo, url: /data/logo.png, x: 1700, y: 40, enable: false}
  delegate_to: localhost

- name: A VOD transcode with DRM, waiting until it is finished
  sigma.media_server.sigma_job:
    api_url: http://sigma-01.example.com:9999
    name: movie-42
    mode: vod
    gpu: 0
    input: /data/in/movie-42.mp4
    profiles:
      - {id: v1, codec: hevc, pixel_format: yuv420p10le, hdr: hdr10, width: 3840, height: 2160}
      - {id: a1, type: audio}
    targets:
      - format: dash
        url: /data/out/movie-42
        drm:
          type: SAMPLE_AES_CTR
          key: "{{ vault_movie_key }}"
          key_id: "{{ vault_movie_key_id }}"
    wait: true
    wait_timeout: 3600
  delegate_to: localhost

- name: Stop a job
  sigma.media_server.sigma_job:
    api_url: http://sigma-01.example.com:9999
    name: vtv3
    state: absent
  delegate_to: localhost
'''

RETURN = r'''
ansible_facts:
  description: The updated record of what the module applied, when it is kept as a fact (see the notes).
  returned: when a persistent fact cache is configured and the run changed the record
  type: dict
  contains:
    sigma_job_record:
      description:
        - The records of the servers the task's host manages, keyed by API URL; for each server its jobs, each with
          its start time, the C(_id) the server echoes, the digests of the configuration and of the live settings
          applied, the GPU card it was started on, and the applied configuration with every secret replaced by a
          keyed digest.
      type: dict
      sample:
        http://sigma-01.example.com:9999:
          v: 1
          digest_key: 3f1c0e5a9b7d2c4e6f8a0b1c2d3e4f50
          updated: '2024-03-02T15:12:35.120000Z'
          jobs:
            vtv3:
              started: '2024-03-02T15:12:33.018Z'
              id: 3f9c2a1b7d4e5a6b7c8d9e0f
              config: 3f9c2a1b7d4e
              live: 5a6b7c8d9e0f
              at: '2024-03-02T15:12:35.119000Z'
              applied: {name: vtv3, mode: live, gpu: auto, input: udp://239.1.1.1:1234}
job:
  description:
    - The job's progress entry after the run (normalised, secrets masked); C(null) when the job does not exist.
    - In check mode, the entry before the run.
  returned: always
  type: dict
  sample:
    name: vtv3
    state: started
    mode: null
    speed: 1
    uptime: 0h00m01s
    pts: 0h00m01s
    created: '2024-03-02 15:12:33'
    started: '2024-03-02 15:12:33'
    errors: []
    error_codes: []
    inputs: [{url: udp://239.1.1.1:1234, streams: [h264 1920x1080 25fps], bitrate: 5128}]
    profiles: [{id: '0x100', bitrate: 2500}]
    targets: [{format: hls, url: /data/mediahub/vtv3, select: ['0x100', '0x101'], bitrate: 2628}]
    weight: 1
    id: 3f9c2a1b7d4e5a6b7c8d9e0f@1
action:
  description: What the run did (in check mode, would do) to the job.
  returned: always
  type: str
  sample: update
  choices: [none, start, restart, update, stop]
reasons:
  description: Why the job was started, restarted, updated or stopped.
  returned: always
  type: list
  elements: str
  sample: [profile ids, settings progress does not report (the configuration digest in _id differs)]
gpu:
  description: The card index the job was started on when a GPU was chosen or checked, else C(null).
  returned: always
  type: int
  sample: 1
actions:
  description:
    - The C(start), C(stop) and C(update) calls sent (in check mode, that would be sent), secrets masked.
      Reads (C(progress), C(dump)) are not listed.
  returned: always
  type: list
  elements: dict
  sample:
    - {function: update, name: vtv3, filter: overlay, id: logo, changed: {x: 1700, y: 40, enable: 0}}
diff:
  description: Before and after of the normalised configuration (API spelling, secrets masked) when something changes.
  returned: always
  type: dict
  sample:
    before: {state: absent}
    after: {state: present, config: {name: vtv3, mode: live, gpu: auto, input: udp://239.1.1.1:1234}}
'''

from ansible_collections.sigma.media_server.plugins.module_utils._jobs import engine
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.options import argument_spec
from ansible_collections.sigma.media_server.plugins.module_utils._module import JobModule


def main():
    module = JobModule(argument_spec(single=True), supports_check_mode=True)
    module.run(lambda client, outcome: engine.run(module.params, client, outcome, single=True, check_mode=module.check_mode))


if __name__ == '__main__':
    main()
