# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark helper: one JSON line per task with its wall time, results and request-log offsets."""

from __future__ import annotations

DOCUMENTATION = r'''
name: bench_timer
type: aggregate
short_description: Per-task timing for bench/run.py
description:
  - Writes one JSON line per task to the file named by E(BENCH_TIMER_FILE) - the task's name and action, its
    start and end (time.monotonic and time.time), per-host results (changed, failed, skipped, loop items and
    changed items) and, when E(BENCH_REQUEST_LOG) is set, the size of that file at the task's start and end.
  - Used by the benchmarks in bench/; not part of the collection.
requirements:
  - enable it in callbacks_enabled
'''

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timer'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._path = os.environ.get('BENCH_TIMER_FILE')
        self._log = os.environ.get('BENCH_REQUEST_LOG')
        self._task = None

    def _log_size(self):
        if not self._log:
            return None
        try:
            return os.path.getsize(self._log)
        except OSError:
            return 0

    def _flush(self):
        task, self._task = self._task, None
        if task is None or not self._path:
            return
        task['log_end'] = self._log_size()
        task['end'] = time.monotonic()
        task['end_time'] = time.time()
        with open(self._path, 'a', encoding='utf-8') as fh:
            fh.write(json.dumps(task) + '\n')

    def _start(self, task, kind):
        self._flush()
        self._task = {
            'name': task.get_name(), 'action': task.action, 'kind': kind,
            'start': time.monotonic(), 'start_time': time.time(), 'log_start': self._log_size(),
            'hosts': {},
        }

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task, 'task')

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task, 'handler')

    def _host(self, result):
        if self._task is None:
            return None
        return self._task['hosts'].setdefault(result._host.get_name(), {
            'status': None, 'changed': False, 'items': 0, 'items_changed': 0, 'end': None})

    def _result(self, result, status):
        host = self._host(result)
        if host is None:
            return
        host['status'] = status
        host['changed'] = bool(result._result.get('changed', False))
        host['end'] = time.monotonic()
        if status == 'failed':
            host['msg'] = str(result._result.get('msg', ''))[:500]

    def _item(self, result):
        host = self._host(result)
        if host is None:
            return
        host['items'] += 1
        if result._result.get('changed', False):
            host['items_changed'] += 1

    def v2_runner_on_ok(self, result):
        self._result(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, 'failed')

    def v2_runner_on_skipped(self, result):
        self._result(result, 'skipped')

    def v2_runner_on_unreachable(self, result):
        self._result(result, 'failed')

    def v2_runner_item_on_ok(self, result):
        self._item(result)

    def v2_runner_item_on_failed(self, result):
        self._item(result)

    def v2_runner_item_on_skipped(self, result):
        self._item(result)

    def v2_playbook_on_play_start(self, play):
        self._flush()

    def v2_playbook_on_stats(self, stats):
        self._flush()
