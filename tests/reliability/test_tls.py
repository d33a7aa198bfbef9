# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS against the emulator's self-signed endpoint.

validate_certs left at its default must fail with a message that says the
certificate could not be verified and what to do; ca_path (the emulator's CA)
must succeed; validate_certs: false must work and say that it does not verify.
"""

from __future__ import annotations

import re

import pytest

import rel_support as support
from rel_support import FIGURES, excerpt

CLEAR_TLS_MESSAGE = re.compile(r'certificate verify failed.*(ca_path|validate_certs)', re.I | re.S)
UNVERIFIED_WARNING = re.compile(r'validate_certs is false.*not verified', re.I | re.S)

MODULE_CASES = {
    'sigma_info': ('sigma.media_server.sigma_info', {'gather_subset': ['server']}),
    'sigma_job': ('sigma.media_server.sigma_job', {'name': 'rel-tls-job', 'input': 'udp://239.0.40.1:1234',
                                                   'profiles': [{'id': '0x100'}], 'targets': [{'format': 'hls', 'url': '/data/rel/tls'}]}),
    'sigma_jobs': ('sigma.media_server.sigma_jobs', {'jobs': [{'name': 'rel-tls-jobs', 'input': 'udp://239.0.40.2:1234',
                                                               'profiles': [{'id': '0x100'}],
                                                               'targets': [{'format': 'hls', 'url': '/data/rel/tls2'}]}]}),
}


def module_tasks(emulator, module, extra):
    url = emulator.url('tls')
    base = dict(extra, api_url=url, timeout=5, retries=0)
    return [
        {'name': 'default', module: dict(base), 'ignore_errors': True},
        {'name': 'ca_path', module: dict(base, ca_path=emulator.ca_path), 'ignore_errors': True},
        {'name': 'no-validate', module: dict(base, validate_certs=False), 'ignore_errors': True},
    ]


@pytest.mark.parametrize('subject', sorted(MODULE_CASES))
def test_module_tls(ansible, emulator, subject):
    module, extra = MODULE_CASES[subject]
    emulator.reset('tls')
    run = ansible.playbook(module_tasks(emulator, module, extra), label='tls-%s' % subject)
    default, ca, novalidate = run.task('default'), run.task('ca_path'), run.task('no-validate')
    host = emulator.url('tls').split('://')[1]
    problems = []
    msg = str(default['result'].get('msg', ''))
    if default['status'] != 'failed' or not CLEAR_TLS_MESSAGE.search(msg) or host not in msg:
        problems.append('default validate_certs: expected a clear verification failure naming %s, got %s: %s'
                        % (host, default['status'], msg))
    if default['result'].get('changed'):
        problems.append('the failed TLS run reports changed')
    if ca['status'] != 'ok':
        problems.append('ca_path: %s' % excerpt(ca['result'].get('msg'), 300))
    warnings = ' '.join(novalidate['result'].get('warnings') or [])
    if novalidate['status'] != 'ok':
        problems.append('validate_certs=false: %s' % excerpt(novalidate['result'].get('msg'), 300))
    if not UNVERIFIED_WARNING.search(warnings) or host not in warnings:
        problems.append('validate_certs=false does not say so: warnings=%r' % warnings)
    FIGURES.add('tls', subject=subject, default='%s: `%s`' % (default['status'], excerpt(msg, 140)), ca_path=ca['status'],
                validate_certs_false='%s, warns: `%s`' % (novalidate['status'], excerpt(warnings, 100)),
                result='ok' if not problems else 'PROBLEM')
    assert not problems, '\n'.join(problems)


def test_inventory_tls(ansible, emulator):
    emulator.reset('tls')
    host = emulator.url('tls').split('://')[1]

    def config(**extra):
        conf = {'plugin': 'sigma.media_server.sigma', 'servers': [{'url': emulator.url('tls'), 'name': 'rel-tls'}],
                'timeout': 5, 'retries': 0}
        conf.update(extra)
        return conf

    runs = {}
    for case, extra in (('default', {}), ('ca_path', {'ca_path': emulator.ca_path}), ('no-validate', {'validate_certs': False})):
        run = ansible.inventory(config(**extra), label='tls-inventory-%s' % case)
        assert run.rc == 0, run.explain()
        runs[case] = (run, support.inventory_json(run.stdout))
    problems = []
    run, inv = runs['default']
    error = str(inv['_meta']['hostvars']['rel-tls'].get('sigma_error', ''))
    if 'rel-tls' not in inv.get('sigma_unreachable', {}).get('hosts', []) or not CLEAR_TLS_MESSAGE.search(error) \
            or host not in error:
        problems.append('default: expected rel-tls unreachable with a clear TLS message, got %r' % error)
    for case in ('ca_path', 'no-validate'):
        run, inv = runs[case]
        hv = inv['_meta']['hostvars']['rel-tls']
        if 'sigma_error' in hv or 'sigma_version' not in hv:
            problems.append('%s: the server did not answer: %s' % (case, excerpt(hv, 300)))
    warn = runs['no-validate'][0].stderr
    if not UNVERIFIED_WARNING.search(warn):
        problems.append('validate_certs=false does not say so: %s' % excerpt(warn, 300))
    FIGURES.add('tls', subject='inventory', default='host in sigma_unreachable: `%s`' % excerpt(error, 120),
                ca_path='ok' if 'ca_path' not in str(problems) else 'PROBLEM',
                validate_certs_false='ok, warns: `%s`' % excerpt(' '.join(l for l in warn.splitlines() if 'validate_certs' in l), 100),
                result='ok' if not problems else 'PROBLEM')
    assert not problems, '\n'.join(problems)
