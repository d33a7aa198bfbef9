# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper of the shared harness (tests/harness; not part of the collection).

Writes JSON lines to the file named by SIGMA_RECORDER_FILE, so that the
benchmarks and the reliability suite read what happened without parsing the
human output (ansible-core ships no JSON stdout callback):

- one line per task result and per loop item (kind task / item): status,
  host, task, action, wall time on that host and, unless
  SIGMA_RECORDER_RESULTS=0, the whole result;
- one line per task (kind summary): its start and end (time.monotonic and
  time.time; a task ends when the next one starts), per-host status, changed,
  loop items and, when SIGMA_RECORDER_REQUEST_LOG names the emulator's
  request log, that file's size at the task's start and end (the requests the
  task sent).
"""

from __future__ import annotations

DOCUMENTATION = r'''
name: sigma_recorder
type: aggregate
short_description: Record task results and per-task timing as JSON lines (test harness helper)
description:
  - Writes every task result, and a summary of every task, to the file named by E(SIGMA_RECORDER_FILE).
  - E(SIGMA_RECORDER_RESULTS=0) leaves the results out; E(SIGMA_RECORDER_REQUEST_LOG) adds request-log offsets.
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
        self._results = os.environ.get('SIGMA_RECORDER_RESULTS', '1') != '0'
        self._log = os.environ.get('SIGMA_RECORDER_REQUEST_LOG')
        self._lock = threading.Lock()
        self._started = {}
        self._last_item = {}
        self._task = None

    def _write(self, record):
        if not self._path:
            return
        line = json.dumps(record, default=str, sort_keys=True)
        with self._lock:
            with open(self._path, 'a', encoding='utf-8') as fh:
                fh.write(line + '\n')

    # ----- per-task summaries

    def _log_size(self):
        if not self._log:
            return None
        try:
            return os.path.getsize(self._log)
        except OSError:
            return 0

    def _flush(self):
        task, self._task = self._task, None
        if task is None:
            return
        task.update(log_end=self._log_size(), end=time.monotonic(), end_time=time.time())
        self._write(task)

    def _task_start(self, task, kind):
        self._flush()
        self._task = {'kind': 'summary', 'task_kind': kind, 'name': task.get_name(), 'action': task.action,
                      'start': time.monotonic(), 'start_time': time.time(), 'log_start': self._log_size(), 'hosts': {}}

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task, 'task')

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task, 'handler')

    def v2_playbook_on_play_start(self, play):
        self._flush()

    def v2_playbook_on_stats(self, stats):
        self._flush()

    def _summary_host(self, result):
        if self._task is None:
            return None
        return self._task['hosts'].setdefault(result._host.get_name(), {
            'status': None, 'changed': False, 'items': 0, 'items_changed': 0, 'end': None})

    # ----- per-host results

    def _key(self, host, task):
        return (host.get_name(), task._uuid)

    def v2_runner_on_start(self, host, task):
        now = time.time()
        self._started[self._key(host, task)] = now
        self._last_item[self._key(host, task)] = now

    @staticmethod
    def _changed(result):
        """Whether the result changed something, without `_result`: on ansible-core 2.19 each reading of it
        converts the whole result (for every callback), a cost the benchmarks would otherwise count as the
        collection's."""
        is_changed = getattr(result, 'is_changed', None)
        return bool(is_changed()) if is_changed is not None else bool(result._result.get('changed', False))

    def _record(self, result, status, item=False):
        now = time.time()
        host = self._summary_host(result)
        if host is not None and item:
            host['items'] += 1
            host['items_changed'] += int(self._changed(result))
        elif host is not None:
            host.update(status=status, changed=self._changed(result), end=time.monotonic())
            if status in ('failed', 'unreachable'):
                host['msg'] = str(result._result.get('msg', ''))[:500]
        key = self._key(result._host, result._task)
        start = self._last_item.get(key) if item else self._started.get(key)
        if item:
            self._last_item[key] = now
        record = {
            'kind': 'item' if item else 'task',
            'status': status,
            'host': result._host.get_name(),
            'task': result._task.get_name(),
            'action': result._task.action,
            'start': start,
            'end': now,
            'duration': None if start is None else now - start,
        }
        if self._results:
            record['result'] = result._result
        self._write(record)

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
