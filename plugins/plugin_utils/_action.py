# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin face of the modules (controller-only code).

sigma_job and sigma_jobs keep a record of what they applied (see
module_utils/_jobs/record.py). When a persistent fact cache is configured,
the record is the fact `sigma_job_record` of the task's host: the action
plugin reads it from the task's variables (with `delegate_to: localhost`
they are the server host's, and Ansible stores the returned facts on that
host unless `delegate_facts` is set) and hands it to the module through its
`record` option; the module returns the updated fact in `ansible_facts`.
Without a persistent fact cache (the `memory` cache plugin), facts die with
the run: the module keeps the record in a file of $SIGMA_STATE_DIR instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible import constants as C
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.sigma.media_server.plugins.module_utils._jobs.record import RECORD_FACT

# The newest record a worker process saw for a (host, task): the items of a loop run one after the other in one
# worker with the task variables of before the task, and Ansible sets the facts of all items only after the last one.
_LATEST_RECORD = {}


def fact_cache_persists():
    """Whether facts outlive the run: any cache plugin but `memory` (jsonfile, redis, AWX's fact storage...)."""
    plugin = str(C.config.get_config_value('CACHE_PLUGIN') or 'memory')
    return plugin.rsplit('.', 1)[-1] != 'memory'


def plain(value):
    """A copy of a variable made of plain dicts, lists and scalars (no templating wrappers or tags)."""
    if isinstance(value, Mapping):
        return dict((str(k), plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


class SigmaAction(ActionBase):
    """Runs the module of the task's name; sigma_job and sigma_jobs (`RECORD`) carry the record through facts."""

    _supports_check_mode = True
    _supports_async = True

    RECORD = False

    def run(self, tmp=None, task_vars=None):
        result = super(SigmaAction, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = dict(self._task.args)
        latest = None
        if self.RECORD:
            latest = (task_vars.get('inventory_hostname'), self._task._uuid)
            record = self._task_record(task_vars, latest)
            if record is not None:
                args['record'] = record
        wrap_async = bool(self._task.async_val) and not getattr(self._connection, 'has_native_async', False)
        module_result = self._execute_module(module_name=self._task.action, module_args=args, task_vars=task_vars,
                                             wrap_async=wrap_async)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        if self.RECORD:
            self._returned(module_result, latest)
        return merge_hash(result, module_result)

    @staticmethod
    def _task_record(task_vars, latest):
        """The record to hand to the module: the host's fact, {} for none yet, None for the file fallback."""
        if not fact_cache_persists():
            return None
        if latest in _LATEST_RECORD:
            return _LATEST_RECORD[latest]
        fact = (task_vars.get('ansible_facts') or {}).get(RECORD_FACT)
        return plain(fact) if isinstance(fact, Mapping) else {}

    @staticmethod
    def _returned(module_result, latest):
        """Keep the returned record for the next loop item; keep the (large) record out of `invocation`."""
        fact = (module_result.get('ansible_facts') or {}).get(RECORD_FACT)
        if isinstance(fact, Mapping):
            _LATEST_RECORD[latest] = fact
        module_args = (module_result.get('invocation') or {}).get('module_args')
        if isinstance(module_args, dict):
            module_args.pop('record', None)
