# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # The record of what the job engine applied (plugins/module_utils/_jobs/record.py, record_argument_spec in
    # plugins/module_utils/_jobs/options.py), shared by sigma_job and sigma_jobs.
    DOCUMENTATION = r'''
options:
  record:
    description:
      - Set by the collection's action plugin, not by you. The record of what the module applied to the servers,
        as kept in the fact C(sigma_job_record) of the task's host (see the notes).
      - When not set, the module keeps the record in a file of E(SIGMA_STATE_DIR) on the machine that runs it.
    type: dict
notes:
  - B(The record.) C(progress) reports neither the live settings (overlay, volume, DRM, header) nor codecs, sizes,
    manifest, watermarks, thumbs or options, and a server may not echo C(_id) at all, so the module keeps a record of
    what it applied. For each job, it holds the start time that identifies the running instance, the C(_id) the
    server echoes, a digest of the configuration applied, a digest of the live settings applied, the GPU card it was started on, and the applied
    configuration itself with every secret (DRM keys, key servers, passwords in URLs, S3 keys) replaced by a keyed
    digest, so a changed key shows as changed in C(--diff) but never appears. A start, a restart and an update write
    it; a stop removes the job's entry.
  - B(Where the record is kept.) When a persistent fact cache is configured (any cache plugin but C(memory), for
    example C(fact_caching=jsonfile) in C(ansible.cfg), or "Enable Fact Storage" on an AWX / Automation Platform job
    template), the record is the fact C(sigma_job_record) of the task's host, read from the fact cache at the start
    of the task and returned updated in C(ansible_facts). Run the task for the server's inventory host, delegated to
    C(localhost) with C(delegate_to), as the role C(sigma.media_server.lineup) does, so that the record stays with
    that host (AWX keeps facts only for hosts of its inventory, not for an implicit C(localhost)); a play whose
    C(hosts) is C(localhost) keeps the records of all the servers it manages in the facts of C(localhost), keyed by API URL. Set
    C(fact_caching_timeout) to C(0) (no expiry) or longer than the time between two runs. The fact holds at most 50
    servers and 500 jobs per server, and 1 MiB of applied configurations (the oldest keep their digests only). A task
    that fails does not update the fact (Ansible keeps no facts of a failed task); the next run then works as without
    a record for the jobs it changed.
  - Without a persistent fact cache, the record is a JSON file per server in E(SIGMA_STATE_DIR) (default
    C(~/.cache/sigma.media_server)) on the machine that runs the module, the directory of the write locks.
  - B(Without a record) of the running instance (a fresh runner without a fact cache, a job started by someone else),
    the module never assumes. The live settings of a running live job are sent again with C(update) (C(changed), no
    restart) with a warning that says how to keep the record. The other settings are compared through the digest
    the module writes into C(_id) at start. A server that echoes C(_id) empty gives no digest either; then only the
    reported fields (inputs, profile ids, targets, weight) are compared and the module warns that other changes
    cannot be seen (use O(sigma.media_server.sigma_job#module:force) or
    O(sigma.media_server.sigma_job#module:state=restarted)). A live channel is never restarted on a guess.
'''
