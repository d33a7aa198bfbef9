# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper of the reliability suite (not part of the collection).

Appends one JSON line per task result (and per loop item) to the file named
by SIGMA_RECORDER_FILE, with the wall time the task took on that host, so the
suite reads results without parsing the human output (ansible-core ships no
JSON stdout callback).
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: sigma_recorder
type: aggregate
short_description: Record task results as JSON lines (reliability suite helper)
description:
  - Writes every task result to the file named by E(SIGMA_RECORDER_FILE).
requirements:
  - enable in configuration
'''

import json
import os
import threading
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'sigma_recorder'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get('SIGMA_RECORDER_FILE')
        self._lock = threading.Lock()
        self._started = {}
        self._last_item = {}

    def _key(self, host, task):
        return (host.get_name(), task._uuid)

    def _write(self, record):
        if not self._path:
            return
        line = json.dumps(record, default=str, sort_keys=True)
        with self._lock:
            with open(self._path, 'a', encoding='utf-8') as fh:
                fh.write(line + '\n')

    def v2_runner_on_start(self, host, task):
        now = time.time()
        self._started[self._key(host, task)] = now
        self._last_item[self._key(host, task)] = now

    def _record(self, result, status, item=False):
        now = time.time()
        key = self._key(result._host, result._task)
        start = self._last_item.get(key) if item else self._started.get(key)
        if item:
            self._last_item[key] = now
        self._write({
            'kind': 'item' if item else 'task',
            'status': status,
            'host': result._host.get_name(),
            'task': result._task.get_name(),
            'action': result._task.action,
            'start': start,
            'end': now,
            'duration': None if start is None else now - start,
            'result': result._result,
        })

    def v2_runner_on_ok(self, result):
        self._record(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, 'failed')

    def v2_runner_on_unreachable(self, result):
        self._record(result, 'unreachable')

    def v2_runner_on_skipped(self, result):
        self._record(result, 'skipped')

    def v2_runner_item_on_ok(self, result):
        self._record(result, 'ok', item=True)

    def v2_runner_item_on_failed(self, result):
        self._record(result, 'failed', item=True)

    def v2_runner_item_on_skipped(self, result):
        self._record(result, 'skipped', item=True)
