# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets never appear in any artefact.

Every run here is made at -vvvv. Afterwards EVERY file the run produced
(stdout, stderr, the recorded results, cache files, --list output, reports)
is searched for every secret value and its usual encodings (base64 of the
basic-auth pair, percent-encoding). The inputs the user wrote (playbook,
inventory configuration) are the only files not searched: they hold the
secrets by design.
"""

from __future__ import annotations

import base64
import json
import urllib.parse

from pathlib import Path

import rel_support as support
from rel_support import FIGURES, JOB_SECRETS, secret_job

AUTH = support.SERVERS['auth']['auth']
TOKEN = support.SERVERS['auth']['token']
INPUT_FILES = {'playbook.yml', 'hosts.yml'}


def secret_forms(secrets):
    """Each secret with the forms it could leak in."""
    forms = {}
    for label, value in secrets.items():
        forms['%s' % label] = value
        quoted = urllib.parse.quote(value, safe='')
        if quoted != value:
            forms['%s (percent-encoded)' % label] = quoted
    pair = '%s:%s' % (AUTH['username'], AUTH['password'])
    forms['basic-auth header'] = base64.b64encode(pair.encode()).decode()
    return forms


BASE_SECRETS = {
    'licence key': support.LICENSE_KEYS['secrets'],
    'licence key (auth server)': support.LICENSE_KEYS['auth'],
    'auth password': AUTH['password'],
    'header token': TOKEN['value'],
}


def artefacts(paths):
    """Every output file under `paths` (files or directories), minus the user's inputs."""
    found = []
    for root in paths:
        root = Path(root)
        candidates = [root] if root.is_file() else [p for p in root.rglob('*') if p.is_file()]
        for path in candidates:
            if path.name in INPUT_FILES or path.name.endswith(('sigma.yml', 'sigma.yaml')):
                continue
            found.append(path)
    return found


def grep(paths, secrets):
    """{file: [secret labels found]} over every artefact; also returns the artefacts and bytes searched."""
    forms = secret_forms(secrets)
    hits, files, size = {}, artefacts(paths), 0
    for path in files:
        data = path.read_bytes()
        size += len(data)
        text = data.decode('utf-8', 'replace')
        found = [label for label, value in forms.items() if value and value in text]
        if found:
            hits[str(path)] = found
    return hits, files, size, len(forms)


def record_files(subject, kind, paths, secrets):
    """Grep, add a row to the figures; returns (hits, files searched)."""
    hits, files, size, nforms = grep(paths, secrets)
    FIGURES.add('secrets', subject=subject, artefacts=kind, files=len(files), bytes=size, secret_forms=nforms,
                hits=sum(len(v) for v in hits.values()),
                result='ok' if not hits else 'LEAK: ' + '; '.join('%s in %s' % (', '.join(v), Path(k).name) for k, v in sorted(hits.items())))
    return hits, files


def record(subject, kind, paths, secrets):
    return record_files(subject, kind, paths, secrets)[0]


def auth_url(emulator):
    return 'http://%s:%s@127.0.0.1:%d' % (AUTH['username'], urllib.parse.quote(AUTH['password'], safe=''), emulator.port('auth'))


def test_info_secrets(ansible, emulator):
    for server in ('secrets', 'auth'):
        emulator.reset(server)
    auth_port = emulator.port('auth')
    headers = {TOKEN['header']: TOKEN['value']}
    tasks = [
        {'name': 'licence', 'sigma.media_server.sigma_info': {'api_url': emulator.url('secrets'), 'gather_subset': ['all']},
         'register': 'r1'},
        {'name': 'auth options', 'sigma.media_server.sigma_info': {
            'api_url': emulator.url('auth'), 'username': AUTH['username'], 'password': AUTH['password'], 'headers': headers,
            'gather_subset': ['all']}, 'register': 'r2'},
        {'name': 'url password', 'sigma.media_server.sigma_info': {
            'api_url': auth_url(emulator), 'headers': headers, 'gather_subset': ['all']}, 'register': 'r3'},
        {'name': 'wrong password', 'sigma.media_server.sigma_info': {
            'api_url': emulator.url('auth'), 'username': AUTH['username'], 'password': AUTH['password'] + 'x', 'headers': headers},
         'ignore_errors': True},
        {'name': 'fault on', 'sigma_emu': {'port': auth_port, 'op': 'faults', 'body': {'html502': True}}},
        {'name': 'failing url password', 'sigma.media_server.sigma_info': {
            'api_url': auth_url(emulator), 'headers': headers, 'timeout': 1, 'retries': 0}, 'ignore_errors': True},
        {'name': 'fault off', 'sigma_emu': {'port': auth_port, 'op': 'clear'}},
        {'name': 'show everything', 'ansible.builtin.debug': {'var': 'vars'}},
        {'name': 'write results', 'ansible.builtin.copy': {
            'content': '{{ {"r1": r1, "r2": r2, "r3": r3} | to_nice_json }}', 'dest': '{{ playbook_dir }}/results.json'}},
    ]
    run = ansible.playbook(tasks, label='secrets-info', verbosity=4)
    assert run.rc == 0, run.explain()
    for name in ('licence', 'auth options', 'url password'):
        assert run.task(name)['status'] == 'ok', run.explain()
    assert run.task('failing url password')['status'] == 'failed'
    # the licence key was really read (masked), so its absence below means something
    assert run.task('licence')['result']['license']['key'] not in (None, support.LICENSE_KEY)
    hits, files = record_files('sigma_info', 'stdout/stderr -vvvv, recorded results, registered results file', [run.workdir], BASE_SECRETS)
    assert (run.workdir / 'results.json').exists() and len(files) >= 4
    assert not hits, 'secrets leaked: %s' % json.dumps(hits, indent=1)


def test_inventory_secrets(ansible, emulator, tmp_path):
    for server in ('secrets', 'auth'):
        emulator.reset(server)
    cache = tmp_path / 'cache'
    config = {
        'plugin': 'sigma.media_server.sigma',
        'servers': [{'url': emulator.url('secrets'), 'name': 'rel-secrets'}, {'url': auth_url(emulator), 'name': 'rel-auth'},
                    {'url': 'http://%s:%s@127.0.0.1:%d' % (AUTH['username'], AUTH['password'] + 'x', emulator.dead_port),
                     'name': 'rel-dead'}],
        'username': AUTH['username'], 'password': AUTH['password'], 'headers': {TOKEN['header']: TOKEN['value']},
        'include_dump': True, 'timeout': 2, 'retries': 0,
        'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile', 'cache_connection': str(cache),
        'compose': {'rel_url': 'sigma_api_url'},
    }
    secrets = dict(BASE_SECRETS, **{'wrong url password': AUTH['password'] + 'x'})
    runs = [ansible.inventory(config, label='secrets-inventory-list', verbosity=4),
            ansible.inventory(config, label='secrets-inventory-cached', verbosity=4),
            ansible.inventory(config, label='secrets-inventory-host', verbosity=4, args=('--host', 'rel-auth')),
            ansible.inventory(config, label='secrets-inventory-graph', verbosity=4, args=('--graph', '--vars'))]
    for run in runs:
        assert run.rc == 0, run.explain()
    inv = support.inventory_json(runs[0].stdout)
    hv = inv['_meta']['hostvars']
    # the servers really answered (with the auth) and the dead one really failed
    assert 'sigma_version' in hv['rel-auth'] and 'sigma_dump' in hv['rel-secrets'], runs[0].explain()
    assert 'rel-dead' in inv['sigma_unreachable']['hosts']
    assert list(cache.iterdir()), 'the cache was not written'
    play = [{'name': 'use the inventory', 'hosts': 'all', 'connection': 'local', 'gather_facts': False,
             'tasks': [{'name': 'show', 'ansible.builtin.debug': {'var': 'hostvars[inventory_hostname]'}}]}]
    prun = ansible.playbook(play, label='secrets-inventory-play', inventory=('rel.sigma.yml', config), verbosity=4)
    assert prun.rc == 0, prun.explain()
    paths = [r.workdir for r in runs] + [prun.workdir]
    hits = record('inventory', '--list/--host/--graph -vvvv (cold and cached), playbook hostvars', paths, secrets)
    chits = record('inventory', 'cache files', [cache], secrets)
    assert not hits and not chits, 'secrets leaked: %s %s' % (json.dumps(hits, indent=1), json.dumps(chits, indent=1))


def test_job_secrets(ansible, emulator):
    emulator.reset('secrets')
    url = emulator.url('secrets')
    conn = {'api_url': url}
    changed_key = JOB_SECRETS['DRM key (changed)']
    tasks = [
        {'name': 'create', 'sigma.media_server.sigma_job': dict(secret_job(), **conn), 'register': 'c1', 'diff': True},
        {'name': 'again', 'sigma.media_server.sigma_job': dict(secret_job(), **conn), 'register': 'c2', 'diff': True},
        {'name': 'check new key', 'sigma.media_server.sigma_job': dict(secret_job(key=changed_key), **conn),
         'check_mode': True, 'diff': True, 'register': 'c3'},
        {'name': 'new key', 'sigma.media_server.sigma_job': dict(secret_job(key=changed_key), **conn), 'diff': True, 'register': 'c4'},
        {'name': 'move logo (a live update)', 'sigma.media_server.sigma_job': dict(secret_job(key=changed_key, logo_x=200), **conn),
         'diff': True},
        {'name': 'lineup', 'sigma.media_server.sigma_jobs': dict(conn, jobs=[secret_job(key=changed_key, logo_x=200),
                                                                             secret_job('rel-secret-2')]),
         'diff': True, 'register': 'c5'},
        {'name': 'fault on', 'sigma_emu': {'port': emulator.port('secrets'), 'op': 'faults', 'body': {'http500': {'functions': ['start']}}}},
        {'name': 'failing start', 'sigma.media_server.sigma_job': dict(secret_job('rel-secret-3'), timeout=1, retries=0, **conn),
         'ignore_errors': True, 'diff': True},
        {'name': 'fault off', 'sigma_emu': {'port': emulator.port('secrets'), 'op': 'clear'}},
        {'name': 'bad spec with secrets', 'sigma.media_server.sigma_job': dict(secret_job('rel-secret-4'), weight=-1, **conn),
         'ignore_errors': True},
        {'name': 'show everything', 'ansible.builtin.debug': {'var': 'vars'}},
        {'name': 'write results', 'ansible.builtin.copy': {
            'content': '{{ {"c1": c1, "c2": c2, "c3": c3, "c4": c4, "c5": c5} | to_nice_json }}',
            'dest': '{{ playbook_dir }}/results.json'}},
    ]
    run = ansible.playbook(tasks, label='secrets-jobs', verbosity=4)
    assert run.rc == 0, run.explain()
    # the secrets were really used: the server received them
    got = [e['body'] for e in emulator.requests('secrets') if e.get('function') == 'start']
    assert any(JOB_SECRETS['DRM key'] in json.dumps(b) for b in got) and any(changed_key in json.dumps(b) for b in got)
    assert run.task('create')['result'].get('changed') and run.task('new key')['result'].get('changed')
    assert run.task('move logo (a live update)')['result'].get('action') == 'update', run.explain()
    assert run.task('failing start')['status'] == 'failed' and run.task('bad spec with secrets')['status'] == 'failed'
    state_dir = ansible.home / 'sigma-state'
    secrets = dict(BASE_SECRETS, **JOB_SECRETS)
    hits = record('sigma_job / sigma_jobs', 'stdout/stderr -vvvv with --diff (create, no-op, check, DRM update, '
                  'lineup, failures), recorded results, registered results file', [run.workdir], secrets)
    lhits = record('sigma_job / sigma_jobs', 'live-update ledger ($SIGMA_STATE_DIR)', [state_dir] if state_dir.exists() else [], secrets)
    assert not hits and not lhits, 'secrets leaked: %s %s' % (json.dumps(hits, indent=1), json.dumps(lhits, indent=1))


def test_info_job_secrets(ansible, emulator):
    """sigma_info reading jobs whose inputs and targets carry URL passwords (and DRM keys the server keeps)."""
    emulator.reset('secrets')
    url = emulator.url('secrets')
    tasks = [
        {'name': 'create', 'sigma.media_server.sigma_job': dict(secret_job(), api_url=url)},
        {'name': 'info jobs', 'sigma.media_server.sigma_info': {'api_url': url, 'gather_subset': ['all']}, 'register': 'info'},
        {'name': 'write results', 'ansible.builtin.copy': {'content': '{{ info | to_nice_json }}',
                                                           'dest': '{{ playbook_dir }}/results.json'}},
    ]
    run = ansible.playbook(tasks, label='secrets-info-jobs', verbosity=4)
    assert run.rc == 0, run.explain()
    jobs = run.task('info jobs')['result'].get('jobs') or {}
    assert 'rel-secret-job' in jobs, 'sigma_info did not return the job: %s' % sorted(jobs)
    hits = record('sigma_info', 'jobs subset of a server running a job with secrets: stdout/stderr -vvvv, results',
                  [run.workdir], dict(BASE_SECRETS, **JOB_SECRETS))
    assert not hits, 'secrets leaked: %s' % json.dumps(hits, indent=1)


def report_secrets():
    secrets = dict(BASE_SECRETS, **JOB_SECRETS)
    secrets['unreachable URL password'] = support.REPORT_DOWN_PASSWORD
    return secrets


def test_report_files_secrets(report_run):
    run, report_dir, _sentinel, _evil = report_run
    assert run.rc == 0, run.explain()
    html, data = report_dir / 'fleet.html', report_dir / 'fleet.json'
    assert html.exists() and data.exists(), run.explain()
    report = json.loads(data.read_text(encoding='utf-8'))
    servers = dict((s['name'], s) for s in report['servers'])
    # the report really covers the servers holding the secrets
    assert servers['rel-secrets']['reachable'] and servers['rel-auth']['reachable'] and not servers['rel-down']['reachable']
    assert any(j['errors'] for j in servers['rel-secrets']['jobs']), 'the secret job has no error lines to mask'
    hits = record('report role', 'HTML and JSON report', [report_dir], report_secrets())
    assert not hits, 'secrets leaked: %s' % json.dumps(hits, indent=1)


def test_report_run_output_secrets(report_run):
    run, _report_dir, _sentinel, _evil = report_run
    assert run.rc == 0, run.explain()
    hits = record('report role', 'its run: stdout/stderr -vvvv, recorded results', [run.workdir], report_secrets())
    assert not hits, 'secrets leaked: %s' % json.dumps(hits, indent=1)
