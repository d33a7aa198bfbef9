# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module glue: the shared connection options and a client built from them.

The options are documented once in the doc fragment
`sigma.media_server.connection`; validate-modules keeps both in step.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.sigma.media_server.plugins.module_utils._client import (
    DEFAULT_API_URL, DEFAULT_RETRIES, DEFAULT_TIMEOUT, HAS_REQUESTS, REQUESTS_IMPORT_ERROR,
    SigmaError, SigmaTransport, normalize_url, url_password,
)


def connection_argument_spec():
    return dict(
        api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['SIGMA_API_URL'])),
        validate_certs=dict(type='bool', default=True, fallback=(env_fallback, ['SIGMA_VALIDATE_CERTS'])),
        ca_path=dict(type='path', fallback=(env_fallback, ['SIGMA_CA_PATH'])),
        timeout=dict(type='float', default=DEFAULT_TIMEOUT, fallback=(env_fallback, ['SIGMA_TIMEOUT'])),
        retries=dict(type='int', default=DEFAULT_RETRIES, fallback=(env_fallback, ['SIGMA_RETRIES'])),
        username=dict(type='str', fallback=(env_fallback, ['SIGMA_USERNAME'])),
        password=dict(type='str', no_log=True, fallback=(env_fallback, ['SIGMA_PASSWORD'])),
        headers=dict(type='dict', no_log=True),
    )


class SigmaModule(AnsibleModule):
    """An AnsibleModule with the connection options and a lazily built client."""

    def __init__(self, argument_spec, **kwargs):
        spec = connection_argument_spec()
        spec.update(argument_spec)
        super(SigmaModule, self).__init__(argument_spec=spec, **kwargs)
        password = url_password(self.params['api_url'] or '')
        if password:
            self.no_log_values.add(password)
        if not HAS_REQUESTS:
            self.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        if self.params['timeout'] <= 0:
            self.fail_json(msg='timeout must be greater than 0, got %s' % self.params['timeout'])
        if self.params['retries'] < 0:
            self.fail_json(msg='retries must be 0 or more, got %s' % self.params['retries'])
        try:
            normalize_url(self.params['api_url'])
        except ValueError as exc:
            self.fail_json(msg='api_url: %s' % exc)
        self._client = None

    @property
    def client(self):
        if self._client is None:
            p = self.params
            transport = SigmaTransport(validate_certs=p['validate_certs'], ca_path=p['ca_path'], timeout=p['timeout'],
                                       retries=p['retries'], username=p['username'], password=p['password'],
                                       headers=p['headers'])
            self._client = transport.client(p['api_url'])
            if not p['validate_certs'] and self._client.url.startswith('https://'):
                self.warn('validate_certs is false: the TLS certificate of %s is not verified' % self._client.display_url)
        return self._client

    def fail_sigma(self, err, **result):
        """Fail with a SigmaError's message (it names the server and the function)."""
        result.setdefault('changed', False)
        self.fail_json(msg=str(err), sigma_error=err.to_dict(), **result)


__all__ = ['SigmaError', 'SigmaModule', 'connection_argument_spec']
