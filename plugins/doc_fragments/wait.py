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
        C(finished). C(starting) and C(preparing) (and C(started) for a VOD job) are progress.
      - A job in state C(error) whose newest error line has a code that occurs only when a job is created (in the
        contract's table C(STREAM_NOT_FOUND), C(NO_AUDIO_DATA), C(NO_VIDEO_DATA), C(INITIALIZING_OUTPUT_STREAM),
        C(NO_ROUTE_TO_HOST), C(OPTION_NOTFOUND), C(PROTOCOL_NOTFOUND), C(INVALID_ARGUMENT)) makes the module fail at
        once, with the code, what it means and what to do, as the server does not retry such a job.
      - Any other error (a code the server retries by itself, such as C(INPUT_TIMEOUT), a code the vendor does not
        document, or a line without a code) is waited out until O(wait_timeout), as the server is retrying. A job that
        recovers in time is a success.
      - On timeout the module fails with the last state of each job that is not there yet (with its newest error line
        and what the code means) and returns the last progress entries.
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
