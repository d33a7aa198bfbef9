# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The argument specs of sigma_job and sigma_jobs (without the connection options).

Documented once: the job options in the doc fragment sigma.media_server.job,
the wait options in sigma.media_server.wait (beside `wait_argument_spec`),
the record in sigma.media_server.record;
validate-modules keeps spec and documentation in step.
"""

from __future__ import annotations

from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import job_argument_spec
from ansible_collections.sigma.media_server.plugins.module_utils._ranges import Range, check

# The documented ranges of the wait options (doc fragment sigma.media_server.wait).
WAIT_RANGES = {
    'wait_timeout': Range(0, above=True),
    'wait_interval': Range(0, above=True),
}


def wait_argument_spec():
    """The options of the doc fragment sigma.media_server.wait."""
    return dict(wait=dict(type='bool', default=False), wait_timeout=dict(type='float', default=120),
                wait_interval=dict(type='float', default=1))


def wait_errors(params):
    """Range errors of the wait options (checked only when `wait` is true)."""
    errors = []
    if params.get('wait'):
        for key, rng in WAIT_RANGES.items():
            check(errors, key, params.get(key), rng)
    return errors


def record_argument_spec():
    """The option of the doc fragment sigma.media_server.record (set by the action plugin)."""
    return dict(record=dict(type='dict', no_log=False))


def control_argument_spec(single):
    """What a job takes besides its configuration (sigma_jobs items take state, force and unverified)."""
    spec = dict(state=dict(type='str', default='present', choices=['present', 'absent', 'restarted']),
                force=dict(type='bool', default=False),
                unverified=dict(type='str', default='warn', choices=['warn', 'restart', 'fail']))
    if single:
        spec.update(wait_argument_spec())
        spec.update(record_argument_spec())
    return spec


def job_spec_with_control(single):
    """sigma_job's options (single), or the spec of one item of sigma_jobs' `jobs`."""
    spec = job_argument_spec()
    spec.update(control_argument_spec(single))
    return spec


def jobs_argument_spec():
    """sigma_jobs' options."""
    spec = dict(jobs=dict(type='list', elements='dict', required=True), exclusive=dict(type='bool', default=False))
    spec.update(wait_argument_spec())
    spec.update(record_argument_spec())
    return spec


def argument_spec(single):
    """The options of sigma_job (single) or sigma_jobs, without the connection options."""
    return job_spec_with_control(True) if single else jobs_argument_spec()
