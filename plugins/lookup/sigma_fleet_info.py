# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
name: sigma_fleet_info
short_description: Read many Sigma Media Servers at once, from the control node
version_added: 0.1.0
description:
  - Reads every server given, in parallel, from the control node, and returns one entry per server in the order given.
    A bounded pool of O(max_workers) threads shares one connection pool per set of connection settings.
  - Each server gets one C(dump) request and, with O(jobs=true), one C(progress) request for all its jobs (C(name=*)).
    Nothing changes on any server.
  - The facts are those of M(sigma.media_server.sigma_info) with C(gather_subset=[all, '!apps']), read by the same
    code; the raw C(dump) and the licence key are never returned, and a password in a URL is masked, in the jobs'
    error lines too.
  - A server that cannot be read does not fail the lookup; its entry has RV(_list[].reachable=false) and
    RV(_list[].error) names the server URL, the function and the cause.
  - The read is bounded whatever the size of the fleet; a server whose turn has not come within O(timeout) x
    (O(retries) + 1) seconds per request it gets (two with O(jobs=true)) is reported as not read, so the whole read
    ends within about twice that.
  - Use it to read a whole fleet in ONE task, as the role P(sigma.media_server.report#role) does. 1000 servers take a
    few seconds, where a M(sigma.media_server.sigma_info) task per host costs a module run per host.
author:
  - Sigma collection maintainers (@sigma-media)
extends_documentation_fragment:
  - sigma.media_server.connection.plugins
options:
  _terms:
    description:
      - The servers. Each is either an API URL (C(http://HOST:9999), C(https://HOST:PORT)), or a dictionary with the
        key C(api_url) (required), C(name) (returned as given) and any of C(validate_certs), C(ca_path), C(username),
        C(password), C(headers), C(timeout), C(retries), C(use_proxy) for that server, which win over the options
        of the lookup.
      - A key that is V(null) counts as not set.
      - A URL without a port gets C(9999); a URL without a scheme gets C(http://).
    type: list
    elements: raw
    required: true
  retries:
    description:
      - How many times a C(dump) or C(progress) request that failed to connect, timed out or got an HTTP 5xx answer
        is sent again.
    type: int
    default: 1
    env:
      - name: SIGMA_RETRIES
  jobs:
    description: Whether to read the jobs too (one C(progress) request per server).
    type: bool
    default: true
  max_workers:
    description: How many servers are read at the same time.
    type: int
    default: 32
notes:
  - Bad input (an entry that is not a URL or a dictionary, an unknown key, a value of the wrong type, a malformed URL)
    fails the lookup before any request, naming the entry.
  - Values that come from the servers are data; like every lookup result they are never templated again.
seealso:
  - module: sigma.media_server.sigma_info
  - plugin: sigma.media_server.sigma
    plugin_type: inventory
'''

EXAMPLES = r'''
- name: Read every server of the inventory in one task
  ansible.builtin.set_fact:
    fleet: >-
      {{ query('sigma.media_server.sigma_fleet_info',
               groups['all'] | map('extract', hostvars, 'sigma_api_url') | select('defined') | list,
               timeout=5) }}
  run_once: true

- name: Servers that cannot be read, and why
  ansible.builtin.debug:
    msg: "{{ fleet | rejectattr('reachable') | map(attribute='error') | list }}"
  run_once: true

- name: Per-server names and settings (a proxy password for one of them), no jobs
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.license.status | default('unreachable') }}"
  loop: >-
    {{ query('sigma.media_server.sigma_fleet_info',
             {'api_url': 'http://10.0.1.11', 'name': 'hanoi-1'},
             {'api_url': 'https://edge.example.net:8443', 'name': 'edge', 'username': 'ops',
              'password': vault_edge_password},
             jobs=false) }}
'''

RETURN = r'''
_list:
  description: One entry per server, in the order given.
  type: list
  elements: dict
  contains:
    name:
      description: The C(name) given for the server, else its URL without a password.
      type: str
    api_url:
      description: The server's URL, without a password.
      type: str
    reachable:
      description: Whether the server answered C(dump).
      type: bool
    error:
      description: Why the server could not be read (it names the URL, the function and the cause); V(null) when it was.
      type: str
    server:
      description: Identity (as RV(sigma.media_server.sigma_info#module:server)); only when reachable.
      type: dict
    gpus:
      description: GPU cards (as RV(sigma.media_server.sigma_info#module:gpus)); only when reachable.
      type: list
      elements: dict
    models:
      description: Encoders and decoders per GPU model (as RV(sigma.media_server.sigma_info#module:models)).
      type: dict
    load:
      description: CPU, memory and job load (as RV(sigma.media_server.sigma_info#module:load)).
      type: dict
    license:
      description: The licence's C(status), C(valid), C(connected) and C(node_id); never its key.
      type: dict
    jobs:
      description:
        - Job name to the job's facts (as RV(sigma.media_server.sigma_info#module:jobs), with C(error_details),
          C(health) and C(health_reasons)).
        - V(null) when O(jobs=false), when the server is unreachable or when C(progress) failed (see RV(_list[].jobs_error)).
      type: dict
    jobs_error:
      description: Why the jobs of a reachable server could not be read; V(null) otherwise.
      type: str
'''

import base64
import time

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.lookup import LookupBase

from ansible_collections.sigma.media_server.plugins.module_utils._ci import MASK
from ansible_collections.sigma.media_server.plugins.module_utils._client import (
    HAS_REQUESTS, SigmaTransport, header_dict, normalize_url, redact_url, url_password,
)
from ansible_collections.sigma.media_server.plugins.module_utils._info import gather
from ansible_collections.sigma.media_server.plugins.module_utils._outcome import Failure, Outcome
# the masking the event source applies to what it reports (URL passwords, given secrets), on texts and data
from ansible_collections.sigma.media_server.plugins.plugin_utils._job_watch import _masked as mask_strings
from ansible_collections.sigma.media_server.plugins.plugin_utils._job_watch import mask_text

SETTINGS = ('validate_certs', 'ca_path', 'username', 'password', 'headers', 'timeout', 'retries', 'use_proxy')
TERM_SPEC = dict(
    api_url=dict(type='str', required=True),
    name=dict(type='str'),
    validate_certs=dict(type='bool'),
    ca_path=dict(type='path'),
    username=dict(type='str'),
    password=dict(type='str', no_log=True),
    headers=dict(type='dict', no_log=True),
    timeout=dict(type='float'),
    retries=dict(type='int'),
    use_proxy=dict(type='bool'),
)
MIN_ATTEMPT = 0.05  # seconds; below this a request is not worth sending
# what sigma_info gathers for each server: everything but the apps, no probe
GATHER = {'gather_subset': ['all', '!apps'], 'show_license_key': False, 'probe_inputs': [], 'probe_timeout': 20,
          'detect_keyframes': False}
FACTS = ('server', 'gpus', 'models', 'load', 'license')


class _Server(object):
    """One server to read: its URL, the name to return, its connection settings."""

    __slots__ = ('index', 'url', 'display_url', 'name', 'settings', 'secrets')

    def __init__(self, index, url, name, settings):
        self.index = index
        self.url = url
        self.display_url = redact_url(url)
        self.name = name if name else self.display_url
        self.settings = settings
        # what an error message may echo (a proxy's error page): never returned
        headers = settings['headers'] or {}
        secrets = [url_password(url), settings['password']] + list(headers.values())
        secrets += [word for value in headers.values() for word in value.split() if len(word) >= 6]  # Bearer TOKEN
        for user, password in ((settings['username'], settings['password']), (url_user(url), url_password(url))):
            if user is not None:
                secrets.append(base64.b64encode(('%s:%s' % (user, password or '')).encode('utf-8')).decode('ascii'))
        self.secrets = sorted(set(v for v in secrets if v and len(v) >= 3), key=len, reverse=True)

    def scrub(self, text):
        """`text` without the server's URL password or any other of its secrets."""
        text = text.replace(self.url, self.display_url)
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text


def url_user(url):
    try:
        return urlsplit(url).username
    except ValueError:
        return None


def _headers(value, where):
    try:
        return header_dict(value) or None
    except ValueError as exc:
        raise AnsibleError('%s%s' % (where, exc))


class LookupModule(LookupBase):

    def _terms(self, terms):
        flat = []
        for term in terms:
            if isinstance(term, (list, tuple)):
                flat.extend(term)
            else:
                flat.append(term)
        return flat

    def _defaults(self):
        settings = dict((key, self.get_option(key)) for key in SETTINGS)
        settings['headers'] = _headers(settings['headers'], '')
        for key, minimum in (('timeout', None), ('retries', 0)):
            value = settings[key]
            if value is None or (minimum is None and value <= 0) or (minimum is not None and value < minimum):
                raise AnsibleError('%s must be %s, got %s' % (key, 'greater than 0' if minimum is None else '0 or more',
                                                              value))
        return settings

    def _server(self, index, term, defaults):
        where = '_terms[%d]' % index
        if isinstance(term, dict) and isinstance(term.get('name'), str):
            where = '%s (%s)' % (where, term['name'])
        if isinstance(term, str):
            fields = {'api_url': term}
        elif isinstance(term, dict):
            fields = dict((k, v) for k, v in term.items() if v is not None)
            unknown = sorted(str(k) for k in fields if k not in TERM_SPEC)
            if unknown:
                raise AnsibleError('%s: unknown key(s) %s; a server takes %s' % (where, ', '.join(unknown),
                                                                                 ', '.join(TERM_SPEC)))
            result = ArgumentSpecValidator(TERM_SPEC).validate(fields)
            if result.error_messages:
                raise AnsibleError('%s: %s' % (where, '; '.join(result.error_messages)))
            fields = result.validated_parameters
        else:
            raise AnsibleError('%s must be an API URL or a dictionary with api_url, got %s'
                               % (where, type(term).__name__))
        try:
            url = normalize_url(fields['api_url'])
        except ValueError as exc:
            raise AnsibleError('%s.api_url: %s' % (where, exc))
        settings = dict(defaults)
        settings.update((k, fields[k]) for k in SETTINGS if fields.get(k) is not None)
        settings['headers'] = _headers(settings['headers'], '%s.' % where)
        if settings['timeout'] <= 0:
            raise AnsibleError('%s.timeout must be greater than 0, got %s' % (where, settings['timeout']))
        if settings['retries'] < 0:
            raise AnsibleError('%s.retries must be 0 or more, got %s' % (where, settings['retries']))
        name = fields.get('name')
        return _Server(index, url, str(name) if name is not None else None, settings)

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        defaults = self._defaults()
        read_jobs = self.get_option('jobs')
        max_workers = self.get_option('max_workers')
        if max_workers is None or max_workers < 1:
            raise AnsibleError('max_workers must be 1 or more, got %s' % max_workers)
        servers = [self._server(i, t, defaults) for i, t in enumerate(self._terms(terms))]
        if not servers:
            return []
        if not HAS_REQUESTS:
            raise AnsibleError('the sigma.media_server.sigma_fleet_info lookup requires the Python library requests')
        return self._read(servers, read_jobs, max_workers)

    def _read(self, servers, read_jobs, max_workers):
        calls = 2 if read_jobs else 1
        groups = {}
        for server in servers:
            s = server.settings
            key = (bool(s['validate_certs']), s['ca_path'], float(s['timeout']), int(s['retries']), s['username'],
                   s['password'], tuple(sorted((s['headers'] or {}).items())), bool(s['use_proxy']))
            groups.setdefault(key, []).append(server)
        workers = min(max_workers, len(servers))
        transports = {}
        for key, members in groups.items():
            s = members[0].settings
            transports[key] = SigmaTransport(validate_certs=s['validate_certs'], ca_path=s['ca_path'],
                                             timeout=s['timeout'], retries=s['retries'], username=s['username'],
                                             password=s['password'], headers=s['headers'],
                                             pool_size=min(workers, len(members)), use_proxy=s['use_proxy'])
            if not s['validate_certs'] and any(m.url.startswith('https://') for m in members):
                self._display.warning('validate_certs is false: the TLS certificates of %d Sigma server(s) are not '
                                      'verified' % len([m for m in members if m.url.startswith('https://')]))
        client_of = dict((server.index, transports[key].client(server.url))
                         for key, members in groups.items() for server in members)
        budget = max(s.settings['timeout'] * (s.settings['retries'] + 1) for s in servers) * calls
        deadline = time.monotonic() + budget

        def read_one(server):
            try:
                return self._read_one(server, client_of[server.index], read_jobs, deadline, budget, workers)
            except Exception as err:  # pylint: disable=broad-except
                # a worker must never lose a server: the unexpected becomes its error
                return self._entry(server, error=server.scrub('Sigma server %s: unexpected error: %s: %s'
                                                              % (server.display_url, type(err).__name__, err)))

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix='sigma-fleet') if workers > 1 else None
        try:
            if pool is None:
                return [read_one(s) for s in servers]
            return list(pool.map(read_one, servers))
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
            for transport in transports.values():
                transport.close()

    @staticmethod
    def _entry(server, error=None):
        entry = {'name': server.name, 'api_url': server.display_url, 'reachable': False, 'error': error,
                 'jobs': None, 'jobs_error': None}
        entry.update((key, None) for key in FACTS)
        return entry

    def _read_one(self, server, client, read_jobs, deadline, budget, workers):
        """One server, read by sigma_info's own code (_info.gather): an entry, never an exception."""
        if time.monotonic() > deadline - MIN_ATTEMPT:
            return self._entry(server, 'Sigma server %s, function dump: not read: the lookup reached its time limit of '
                                       '%g s while all %d workers were busy with slower servers'
                               % (server.display_url, budget, workers))
        outcome = Outcome()
        params = dict(GATHER, gather_subset=GATHER['gather_subset'] + ([] if read_jobs else ['!jobs']))
        error = None
        try:
            result = gather(params, client, outcome)
        except Failure as failure:
            result, error = failure.result, failure.msg
        # what sigma_info would hide from all output (the licence key, URL passwords): masked wherever it shows
        hidden = sorted((v for v in outcome.no_log_values | set(server.secrets) if len(v) >= 3), key=len, reverse=True)
        entry = self._entry(server)
        if 'server' not in result:
            entry['error'] = server.scrub(mask_text(error or 'no answer', hidden))
            return entry
        entry['reachable'] = True
        for key in FACTS:
            entry[key] = result.get(key)
        entry['license'] = dict((k, v) for k, v in (entry['license'] or {}).items() if k != 'key')
        if read_jobs:
            if error:
                entry['jobs_error'] = server.scrub(mask_text(error, hidden))
            else:
                entry['jobs'] = mask_strings(result.get('jobs') or {}, hidden)
        return entry
