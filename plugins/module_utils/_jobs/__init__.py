# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job engine behind sigma_job and sigma_jobs, one room per concern.

Plain parameters in, a plain result out: the engine does not know
AnsibleModule. Warnings and no_log values go to an `_outcome.Outcome`, a
failure is an `_outcome.Failure` carrying the partial result. The module
faces (plugins/modules) and the action plugins call `engine.run`.

* `options`    the argument specs of the two modules (job, control, wait) and the wait ranges;
* `model`      a desired job: its start body, the digests of its restart and live parts, its `update` calls;
* `plan`       what one job needs given its `progress` entry: none | start | restart | update | stop;
* `placement`  the GPU a starting job goes to;
* `record`     what survives a run: the record of what was applied (a fact, or a file) and the write lock;
* `engine`     the executor: read, plan, lock, read and plan again, write, refresh, wait, result.

One server, a list of desired jobs: ONE `progress` (of the name, or `*`),
then a plan per job computed locally, then only the needed `stop`, `start`
and `update` calls (one `dump` when a start needs GPU placement or a
capability check), preceded by a second `progress` under the server's write
lock (see `engine`).

Change detection, per job:

* the fields `progress` reports (input URLs, profile ids, target
  format/url/select, weight, mode when reported) are compared with the
  desired ones, past how a server may shape its report (only the active
  input, credentials masked...): this sees changes made outside Ansible too;
* the rest of the configuration is only visible through the job's `_id`,
  which the engine writes at start: 12 hex of the digest of the
  restart-requiring part of the normalised start body, then 12 hex of the
  digest of the part `update` can change on a running live job (watermark
  x/y/enable by watermark id, audio volume by profile id, the DRM settings
  and the manifest header when every target carries the same ones), then,
  for a job on a GPU, `@N`: its card, where a restart keeps it (`placement`).
  Placeholders keep the live keys inside the restart part, so adding or
  removing such a key restarts; only a changed VALUE is updated in place.

`update` cannot rewrite `_id`, and a real server may not echo `_id` at all:
the record (`record`) keeps, per job instance, the digests of what was
applied and the applied configuration (secrets as keyed digests). Without
it, the live settings are sent again (never assumed) and, without `_id`
either, the settings progress does not report cannot be compared.
"""

from __future__ import annotations
