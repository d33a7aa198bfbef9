# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: write a run's set_stats data to a JSON file, the way AWX gets it.

ansible-runner (in every AWX job) reads `stats.custom['_run']` (the set_stats
data that is not per host) at the end of the run and AWX stores it as the
job's artifacts, which it passes to the next jobs of a workflow as extra
vars. This callback writes the same dict to $SIGMA_TEST_ARTIFACTS, so that a
test can pass it on with `-e @FILE`.
"""

from __future__ import annotations

import json
import os

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r'''
name: artifacts
short_description: Write the run's set_stats data to $SIGMA_TEST_ARTIFACTS (tests only)
description:
  - At the end of the run, writes the set_stats data that is not per host as JSON to the file named by
    E(SIGMA_TEST_ARTIFACTS), as ansible-runner hands it to AWX.
type: aggregate
requirements:
  - enabled in callbacks_enabled
'''


class CallbackModule(CallbackBase):
    """Dump stats.custom['_run'] at the end of the run."""

    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'artifacts'
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get('SIGMA_TEST_ARTIFACTS')
        if not path:
            return
        with open(path, 'w', encoding='utf-8') as handle:
            json.dump(stats.custom.get('_run', {}), handle, indent=1, sort_keys=True)
