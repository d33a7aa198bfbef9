# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module glue: the shared connection options, a client built from them, and the module face of the engine.

The options are documented once in the doc fragment
`sigma.media_server.connection`; validate-modules keeps both in step.
`connection_errors` and `make_client` take plain parameters, so that the
action plugins (which run the engine on the controller) use them too.
"""

from __future__ import annotations

import copy

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.sigma.media_server.plugins.module_utils._client import (
    DEFAULT_API_URL, DEFAULT_RETRIES, DEFAULT_TIMEOUT, HAS_REQUESTS, REQUESTS_IMPORT_ERROR,
    SigmaError, SigmaTransport, header_dict, normalize_url, url_password,
)
from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import refusal, secrets_of
from ansible_collections.sigma.media_server.plugins.module_utils._outcome import Failure, Outcome
from ansible_collections.sigma.media_server.plugins.module_utils._ranges import Range

# The documented ranges of the connection options (doc fragment sigma.media_server.connection).
CONNECTION_RANGES = {
    'timeout': Range(0, above=True),
    'retries': Range(0),
}


def connection_argument_spec():
    return dict(
        api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['SIGMA_API_URL'])),
        validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['SIGMA_VALIDATE_CERTS'])),
        ca_path=dict(type='path', fallback=(env_fallback, ['SIGMA_CA_PATH'])),
        timeout=dict(type='float', default=DEFAULT_TIMEOUT, fallback=(env_fallback, ['SIGMA_TIMEOUT'])),
        retries=dict(type='int', default=DEFAULT_RETRIES, fallback=(env_fallback, ['SIGMA_RETRIES'])),
        username=dict(type='str', fallback=(env_fallback, ['SIGMA_USERNAME'])),
        password=dict(type='str', no_log=True, fallback=(env_fallback, ['SIGMA_PASSWORD'])),
        # raw: a dictionary, or from SIGMA_HEADERS a JSON object or NAME=VALUE pairs, read by header_dict as the
        # inventory plugin, the lookup and the event source read it; '' (AWX injects blank fields so) is none
        headers=dict(type='raw', no_log=True, fallback=(env_fallback, ['SIGMA_HEADERS'])),
        use_proxy=dict(type='bool', default=True, fallback=(env_fallback, ['SIGMA_USE_PROXY'])),
    )


def connection_secrets(params):
    """The secrets inside the validated connection options that no_log does not see whole: the password in the
    API URL, each header value of a headers string (SIGMA_HEADERS as NAME=VALUE pairs or JSON)."""
    found = [url_password(params['api_url'] or '')]
    try:
        found.extend(header_dict(params['headers']).values())
    except ValueError:
        pass
    return [value for value in found if value]


def connection_errors(params):
    """The first error of the validated connection options (ranges, API URL), or None."""
    for key, rng in CONNECTION_RANGES.items():
        error = rng.error(key, params[key])
        if error:
            return error
    try:
        normalize_url(params['api_url'])
    except ValueError as exc:
        return 'api_url: %s' % exc
    try:
        header_dict(params['headers'])
    except ValueError as exc:
        return str(exc)
    return None


def transport_settings(params):
    """The keyword arguments of SigmaTransport from the validated connection options."""
    return dict(validate_certs=params['validate_certs'], ca_path=params['ca_path'], timeout=params['timeout'],
                retries=params['retries'], username=params['username'], password=params['password'],
                headers=header_dict(params['headers']) or None, use_proxy=params['use_proxy'])


def make_client(params, outcome, transport=None, environ=None):
    """The client of params['api_url'] on `transport` (default: a new one from the options); warns through `outcome`.

    `environ` (default os.environ) is the environment the proxy variables are read from.
    """
    if transport is None:
        transport = SigmaTransport(**transport_settings(params))
    client = transport.client(params['api_url'], environ)
    if not params['validate_certs'] and client.url.startswith('https://'):
        outcome.warn('validate_certs is false: the TLS certificate of %s is not verified' % client.display_url)
    return client


class SigmaModule(AnsibleModule):
    """An AnsibleModule with the connection options and a lazily built client."""

    def __init__(self, argument_spec, **kwargs):
        spec = connection_argument_spec()
        spec.update(argument_spec)
        super(SigmaModule, self).__init__(argument_spec=spec, **kwargs)
        self.no_log_values.update(connection_secrets(self.params))
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        error = connection_errors(self.params)
        if error:
            self.fail_json(msg=error)
        self._client = None

    @property
    def client(self):
        if self._client is None:
            outcome = Outcome()
            self._client = make_client(self.params, outcome)
            for text in outcome.warnings:
                self.warn(text)
        return self._client

    def fail_sigma(self, err, **result):
        """Fail with a SigmaError's message (it names the server and the function)."""
        result.setdefault('changed', False)
        self.fail_json(msg=str(err), sigma_error=err.to_dict(), **result)

    def run(self, work):
        """Run `work(client, outcome)` -> result dict; hand its warnings and secrets over; exit or fail.

        `work` is the engine: it raises Failure with the partial result.
        """
        outcome = Outcome()
        failure = None
        try:
            result = work(self.client, outcome)
        except Failure as exc:
            failure = exc
        self.no_log_values.update(outcome.no_log_values)
        for text in outcome.warnings:
            self.warn(text)
        if failure is not None:
            # outside the except block: fail_json would add the engine's traceback to the result
            self.fail_json(**failure.result)
        self.exit_json(**result)


class JobModule(SigmaModule):
    """A SigmaModule that hides job secrets from the first moment and names the path of every bad option.

    Secrets inside `extra`, URLs and (for sigma_jobs) the items of `jobs`
    have no `no_log` option of their own: they are collected from the raw
    arguments, before Ansible validates (and may refuse) them or logs the
    invocation. When Ansible refuses the arguments, its message (which does
    not say which list item) is replaced by `refusal`'s paths:
    `targets[0]: unknown option 'selec'`.
    """

    def __init__(self, argument_spec, **kwargs):
        self._raw_params = None
        super(JobModule, self).__init__(argument_spec, **kwargs)
        self._raw_params = None

    def _load_params(self):
        super(JobModule, self)._load_params()
        # `record` (set by the action plugin) holds keyed digests, no secret
        self.no_log_values.update(secrets_of(dict((k, v) for k, v in self.params.items() if k != 'record')))
        self._raw_params = copy.deepcopy(self.params)

    def fail_json(self, msg, **kwargs):
        raw, self._raw_params = self._raw_params, None
        found = refusal(self.argument_spec, raw) if raw is not None else None  # Ansible refused the arguments
        if found:
            msg, kwargs['errors'] = found
        super(JobModule, self).fail_json(msg=msg, **kwargs)


__all__ = ['SigmaError', 'SigmaModule', 'JobModule', 'connection_argument_spec', 'connection_errors', 'connection_secrets',
           'make_client']
