# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin face of the modules (controller-only code).

Two paths, one engine, one result:

* On the controller (a `local` connection: `delegate_to: localhost`,
  `connection: local`, `hosts: localhost`), the action plugin validates the
  task's arguments with the module's own argument spec, runs the engine in
  the worker process and returns what the module would: the same keys
  (`invocation` included), warnings, failures, masking of no_log values,
  check and diff mode. No AnsiballZ payload, no Python start-up, one HTTP
  client per worker process (reused by the items of a loop).
* Anywhere else (an API reachable only from a bastion), with `become` or
  `async`, or when the controller's Python lacks `requests`, it executes the
  module on the target as usual.

sigma_job and sigma_jobs keep a record of what they applied (see
module_utils/_jobs/record.py). When a persistent fact cache is configured,
the record is the fact `sigma_job_record` of the task's host: the action
plugin reads it from the task's variables (with `delegate_to: localhost`
they are the server host's, and Ansible stores the returned facts on that
host unless `delegate_facts` is set) and hands it to the engine (on the
module path, through the module's `record` option); the updated fact comes
back in `ansible_facts`. Without a persistent fact cache (the `memory` cache
plugin), facts die with the run: the engine keeps the record in a file of
$SIGMA_STATE_DIR on the machine that runs it instead.

On both paths, a connection option the task leaves out (not in its arguments
nor in `module_defaults`) comes from the host variable sigma_<option> of the
task's host when it is defined (the inventory plugin sets sigma_api_url for
every server), before the environment variable SIGMA_<OPTION> and the
default: a play over the fleet needs no connection boilerplate.
"""

from __future__ import annotations

import os
import re

from collections.abc import Mapping

from ansible import constants as C
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import AnsibleFallbackNotFound, UnsupportedError
from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.sigma.media_server.plugins.module_utils._client import HAS_REQUESTS, SigmaTransport
from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import refusal, secrets_of
from ansible_collections.sigma.media_server.plugins.module_utils._jobs import engine
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.options import argument_spec as job_argument_spec
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.record import RECORD_FACT
from ansible_collections.sigma.media_server.plugins.module_utils._module import (
    connection_argument_spec, connection_errors, connection_secrets, make_client, transport_settings,
)
from ansible_collections.sigma.media_server.plugins.module_utils._outcome import Failure, Outcome

# The newest record a worker process saw for a (host, task): the items of a loop run one after the other in one
# worker with the task variables of before the task, and Ansible sets the facts of all items only after the last one.
_LATEST_RECORD = {}

# The host variable each connection option falls back to when a task leaves the option out: sigma_<option>.
HOST_VARIABLES = dict((option, 'sigma_' + option) for option in connection_argument_spec())

# One HTTP transport (session, pools, TLS context) per worker process and connection settings: the items of a loop
# reuse it and its kept-alive connections.
_TRANSPORTS = {}


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
    if isinstance(value, bytes):
        return value.decode('utf-8', 'surrogateescape')
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def with_environment(spec, environ):
    """A copy of an argument spec whose env_fallback options read `environ` (the task's environment)."""
    def fallback(*names, **_kwargs):
        for name in names:
            if name in environ:
                return environ[name]
        raise AnsibleFallbackNotFound

    out = {}
    for name, option in spec.items():
        option = dict(option)
        if option.get('fallback'):
            option['fallback'] = (fallback, option['fallback'][1])
        if isinstance(option.get('options'), dict):
            option['options'] = with_environment(option['options'], environ)
        out[name] = option
    return out


def shared_transport(params):
    """The transport of this worker process for these connection settings (made at the first use)."""
    settings = transport_settings(params)
    key = repr(sorted((k, sorted(v.items()) if isinstance(v, dict) else v) for k, v in settings.items()))
    transport = _TRANSPORTS.get(key)
    if transport is None:
        transport = _TRANSPORTS[key] = SigmaTransport(**settings)
    return transport


def name_host_variables(msg, options):
    """A failure's message, with where each option it names came from when that was a host variable."""
    named = [option for option in options if re.search(r'(?<![\w.])%s(?!\w)' % option, msg)]
    if not named:
        return msg
    return '%s (%s)' % (msg, '; '.join('%s is the host variable %s' % (option, HOST_VARIABLES[option])
                                       for option in named))


class SigmaAction(ActionBase):
    """Runs the engine on the controller for a local connection, else the module on the target.

    A subclass names its engine (`run_engine`) and its argument spec
    (`argument_spec`); sigma_job and sigma_jobs set `RECORD` (the record travels
    as the fact sigma_job_record) and `JOB_SECRETS` (secrets inside job options
    are hidden before validation, as the module's JobModule does).
    """

    _supports_check_mode = True
    _supports_async = True

    RECORD = False
    JOB_SECRETS = False

    def argument_spec(self):
        """The module's options, without the connection options."""
        raise NotImplementedError

    def run_engine(self, params, client, outcome, check_mode, environ):
        """The module's work: a result dict, or Failure."""
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        result = super(SigmaAction, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        args = plain(self._task.args)
        from_host = self.host_variables(args, task_vars)
        latest = None
        if self.RECORD:
            latest = (task_vars.get('inventory_hostname'), self._task._uuid)
            record = self._task_record(task_vars, latest)
            if record is not None:
                args['record'] = record
        if self.on_controller():
            task_result = self.run_here(args)
        else:
            task_result = self.run_module(args, task_vars)
        if self.RECORD:
            self._returned(task_result, latest)
        if from_host and task_result.get('failed') and isinstance(task_result.get('msg'), str):
            task_result['msg'] = name_host_variables(task_result['msg'], from_host)
        return merge_hash(result, task_result)

    def host_variables(self, args, task_vars):
        """Fill in `args` the connection options the task leaves out from the host's sigma_<option> variables.

        Returns the options so filled. An option given in the task or its module_defaults wins; a variable whose
        value is None is not set; a templated value is rendered with the task's variables.
        """
        filled = []
        for option, variable in HOST_VARIABLES.items():
            if option in args or variable not in task_vars:
                continue
            value = self._templar.template(task_vars[variable])
            if value is not None:
                args[option] = plain(value)
                filled.append(option)
        return filled

    def on_controller(self):
        """Whether the engine runs here: a local connection, no become, no async, requests importable."""
        return (getattr(self._connection, 'transport', None) == 'local' and not self._play_context.become
                and not self._task.async_val and HAS_REQUESTS)

    def run_module(self, args, task_vars):
        """Execute the module on the task's host, as the `normal` action does."""
        wrap_async = bool(self._task.async_val) and not getattr(self._connection, 'has_native_async', False)
        module_result = self._execute_module(module_name=self._task.action, module_args=args, task_vars=task_vars,
                                             wrap_async=wrap_async)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return module_result

    def run_here(self, args):
        """Validate with the module's spec, run the engine in this process; the result the module would return."""
        environ = dict(os.environ)
        task_environment = {}
        self._compute_environment_string(task_environment)
        environ.update((str(k), str(v)) for k, v in task_environment.items())
        outcome = Outcome()
        if self.JOB_SECRETS:
            # as JobModule: secrets inside job options are hidden before Ansible validates (and may quote) them
            outcome.hide(secrets_of(dict((k, v) for k, v in args.items() if k != 'record')))
        spec = connection_argument_spec()
        spec.update(self.argument_spec())
        validation = ArgumentSpecValidator(with_environment(spec, environ)).validate(args)
        params = validation.validated_parameters
        outcome.hide(validation._no_log_values)
        for text in getattr(validation, '_warnings', []):
            outcome.warn('Both option %s and its alias %s are set.' % (text['option'], text['alias'])
                         if isinstance(text, dict) else str(text))
        # AnsibleModule.params: the arguments as given, updated with the validated ones (defaults, conversions)
        module_args = dict(args, **params)
        if validation.error_messages:
            # AnsibleModule fails on these before anything else, with no `changed`
            msg = validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError):
                msg = 'Unsupported parameters for (%s) module: %s' % (self._task.action, msg)
            failed = dict(msg=msg, failed=True)
            found = refusal(spec, args) if self.JOB_SECRETS else None  # as JobModule: every bad option by its path
            if found:
                failed['msg'], failed['errors'] = found
            return self.module_result(failed, module_args, outcome)
        outcome.hide(connection_secrets(params))
        error = connection_errors(params)
        if error:
            return self.module_result(dict(msg=error, failed=True), module_args, outcome)
        try:
            client = make_client(params, outcome, shared_transport(params), environ)
            result = self.run_engine(params, client, outcome, bool(self._task.check_mode), environ)
        except Failure as exc:
            result = dict(exc.result, failed=True)
        return self.module_result(result, module_args, outcome)

    def module_result(self, result, module_args, outcome):
        """What AnsibleModule's exit_json/fail_json return: invocation, warnings, no_log values removed."""
        result = dict(result)
        if 'invocation' not in result:
            result['invocation'] = {'module_args': dict((k, v) for k, v in module_args.items() if k != 'record')}
        if outcome.warnings:
            result['warnings'] = list(outcome.warnings)
        if outcome.no_log_values:  # nothing to hide: the result is already made of plain values (a test checks)
            result = remove_values(result, outcome.no_log_values)
        result['_ansible_parsed'] = True
        return result

    @staticmethod
    def _task_record(task_vars, latest):
        """The record to hand to the engine: the host's fact, {} for none yet, None for the file fallback."""
        if not fact_cache_persists():
            return None
        if latest in _LATEST_RECORD:
            return _LATEST_RECORD[latest]
        fact = (task_vars.get('ansible_facts') or {}).get(RECORD_FACT)
        return plain(fact) if isinstance(fact, Mapping) else {}

    @staticmethod
    def _returned(task_result, latest):
        """Keep the returned record for the next loop item; keep the (large) record out of `invocation`."""
        fact = (task_result.get('ansible_facts') or {}).get(RECORD_FACT)
        if isinstance(fact, Mapping):
            _LATEST_RECORD[latest] = fact
        module_args = (task_result.get('invocation') or {}).get('module_args')
        if isinstance(module_args, dict):
            module_args.pop('record', None)


class JobAction(SigmaAction):
    """The action of sigma_job (`SINGLE`) and sigma_jobs: the job engine, the record as a fact."""

    RECORD = True
    JOB_SECRETS = True
    SINGLE = True

    def argument_spec(self):
        return job_argument_spec(single=self.SINGLE)

    def run_engine(self, params, client, outcome, check_mode, environ):
        return engine.run(params, client, outcome, single=self.SINGLE, check_mode=check_mode, environ=environ)
