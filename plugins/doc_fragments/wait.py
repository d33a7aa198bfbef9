# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # The wait options of sigma_job and sigma_jobs (plugins/module_utils/_jobs/options.py, wait_argument_spec
    # and WAIT_RANGES).
    DOCUMENTATION = r'''
options:
  wait:
    description:
      - Wait until every job of the task that is not to be absent runs, a live job C(started), a VOD job
        C(finished).
      - A job in state C(error) makes the module fail with the job's error entries; on timeout the module fails and
        returns the last progress entries.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait with O(wait), for all jobs of the task together. Must be greater than 0.
    type: float
    default: 120
  wait_interval:
    description:
      - Seconds between two C(progress) requests with O(wait). Must be greater than 0.
    type: float
    default: 1
'''
