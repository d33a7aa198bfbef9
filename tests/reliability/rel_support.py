# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the reliability suite: the emulator process, Ansible runs, figures.

Nothing here is part of the collection. The suite runs Ansible as users do
(`ansible-playbook`, `ansible-inventory` subprocesses) against ONE emulator
process, switches faults through the emulator's control port and reads task
results from the `sigma_recorder` callback (plugins/callback/), which also
gives the wall time of every task.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
try:
    from sigma_emulator import testing
except ImportError:  # not installed: the checkout's copy
    sys.path.insert(0, str(REPO / 'emulator'))
    from sigma_emulator import testing
PLUGINS = HERE / 'plugins'
DOC = REPO / 'docs' / 'reliability.md'

# One server per purpose, so tests never disturb each other's state; every port
# is ephemeral (the emulator's launcher allocates them), so runs never collide.
REPORT_DOWN_PASSWORD = 'Down-Pw-1212'
SERVERS = {
    'ok': {},
    'info': {},
    'job': {},
    'jobs': {},
    'inv': {},
    'inv-ok': {},
    'conc': {},
    'overlap': {},
    'tls': dict(tls=True),
    'auth': dict(auth=dict(username='relops', password='Auth-Pw-7q3Zx!'),
                 token=dict(header='X-Sigma-Token', value='Tok-9vW2kLq8')),
    'input': {},
    'untrusted': {},
    'secrets': {},
}
# one server per fault for the inventory, which meets them all in ONE run
INVENTORY_FAULT_CASES = ('refused', 'reset', 'hang', 'http500', 'html502', 'ec', 'slow-fail', 'slow-ok')
for _case in INVENTORY_FAULT_CASES:
    SERVERS['inv-%s' % _case] = {}
LICENSE_KEY = 'RELKY-7Q3ZX-SECRT-LIC00-KEY99'
LICENSE_KEYS = {'secrets': LICENSE_KEY, 'auth': 'AUTHK-4M8QP-SECRT-LIC11-KEY42'}


JOB_SECRETS = {
    'DRM key': 'S2V5LXNlY3JldC0xMjM0NTY3OA==',
    'DRM key id': 'S2V5SWQtc2VjcmV0LTg3NjU0MzIx',
    'DRM iv': 'SXYtc2VjcmV0LTExMjIzMzQ0',
    'DRM key URI': 'https://keys.example/k?token=Uri-Tok-998877',
    'DRM key (changed)': 'TmV3LUtleS1zZWNyZXQtNTU2Njc3',
    'DRM key server': 'https://kms.example/Srv-Tok-445566',
    'DRM server body': 'Body-Secret-7788',
    'widevine pssh': 'V2lkZXZpbmUtcHNzaC1zZWNyZXQ=',
    'S3 access key id': 'AKIARELSECRET00001',
    'S3 secret key': 'S3-Secret-Key-aabbccdd',
    'input URL password': 'In-Pw-5566aa',
    'target URL password': 'Rtmp-Pw-3344',
}


def secret_job(name='rel-secret-job', key=None, logo_x=10):
    return {
        'name': name,
        'watermarks': [{'id': 'logo', 'url': '/data/logo.png', 'x': logo_x, 'y': 10, 'enable': True}],
        'input': 'srt://ingest:%s@127.0.0.1:9000' % JOB_SECRETS['input URL password'],
        'profiles': [{'id': '0x100', 'type': 'video', 'width': 1280, 'height': 720}, {'id': '0x101', 'type': 'audio'}],
        'targets': [
            {'format': 'hls', 'url': '/data/rel/secret/hls', 'drm': {
                'type': 'AES_128', 'key': key or JOB_SECRETS['DRM key'], 'key_id': JOB_SECRETS['DRM key id'],
                'iv': JOB_SECRETS['DRM iv'], 'uri': JOB_SECRETS['DRM key URI'], 'widevine': JOB_SECRETS['widevine pssh']}},
            {'format': 'dash', 'url': '/data/rel/secret/dash', 'drm': {
                'type': 'SAMPLE_AES_CTR', 'server': JOB_SECRETS['DRM key server'],
                'body': {'content': 'rel', 'auth': JOB_SECRETS['DRM server body']}}},
            {'format': 'rtmp', 'url': 'rtmp://pub:%s@cdn.example/live/rel' % JOB_SECRETS['target URL password']},
        ],
        'extra': {'s3': {'accessKeyId': JOB_SECRETS['S3 access key id'], 'secretAccessKey': JOB_SECRETS['S3 secret key']}},
    }


ANSWER = '{{ 6 * 7 }}'


def sentinel_expr(path):
    return "{{ lookup('pipe', 'touch %s') }}" % path


def setup_untrusted(emulator, sentinel):
    """Make the 'untrusted' server report Jinja in its host name, version, branch, folders and job names."""
    evil = sentinel_expr(sentinel)
    emulator.reset('untrusted')
    emulator.control('untrusted', 'PATCH', 'config', {
        'hostname': ANSWER, 'version': evil, 'branch': ANSWER, 'broken_inputs': ['udp://broken*'],
        'storage': [{'name': '0', 'folder': [evil], 'skip': [], 'time': 60, 'delay': 1}]})
    for name, inp in ((evil, 'udp://%s' % ANSWER), (ANSWER, 'udp://broken-%s' % evil)):
        answer = emulator.api('untrusted', {'type': 'start', 'mode': 'live', 'name': name, 'input': inp,
                                            'profile': [{'id': '0x100', 'type': 'video'}],
                                            'target': [{'format': 'hls', 'url': '/x/' + ANSWER}]})
        assert answer['ec'] == 0, answer
    return evil


def fleet_servers():
    """The servers of the suite's emulator."""
    servers = []
    for n, (name, extra) in enumerate(SERVERS.items()):
        srv = dict(name='rel-%s' % name, license_key=LICENSE_KEYS.get(name, 'RELOK-%05d' % (21001 + n)),
                   host='127.0.0.1', vod_duration=30)
        srv.update(extra)
        servers.append(srv)
    return servers


EmulatorError = testing.EmulatorError


class Emulator(object):
    """ONE emulator process serving every server of the suite (the emulator's launcher).

    Servers are named by their SERVERS key ('ok', 'tls'...) or a port number.
    """

    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.fleet = None

    def start(self, timeout=20):
        self.fleet = testing.start(fleet_servers(), workdir=self.workdir, timeout=timeout)
        return self

    def stop(self):
        if self.fleet:
            self.fleet.stop()

    @property
    def control_url(self):
        return self.fleet.control_url

    @property
    def request_log(self):
        return self.fleet.log.path

    @property
    def ca_path(self):
        return self.fleet.ca

    @property
    def dead_port(self):
        return self.fleet.dead_ports[0]

    @staticmethod
    def _key(server):
        return server if isinstance(server, int) else 'rel-%s' % server

    def port(self, server):
        return self.fleet.port(self._key(server))

    def url(self, server):
        return self.fleet.url(self._key(server))

    def api(self, server, body):
        """POST one request to a server's API directly (not through the collection); returns the answer."""
        return self.fleet.api(self._key(server), body)

    def control(self, server, method, path, body=None):
        return self.fleet.control(self._key(server), method, path, body)

    def reset(self, server):
        return self.control(server, 'POST', 'reset')

    def faults(self, server, **faults):
        return self.control(server, 'PUT', 'faults', faults)

    def clear(self, server):
        return self.control(server, 'DELETE', 'faults')

    def restart(self, server):
        return self.control(server, 'POST', 'restart')

    def state(self, server):
        return self.control(server, 'GET', 'state')

    def jobs(self, server):
        return self.state(server)['jobs']

    def requests(self, server):
        return self.control(server, 'GET', 'requests')['requests']

    def forget_requests(self, server):
        return self.control(server, 'DELETE', 'requests')


# ----------------------------------------------------------------------------- Ansible runs

class Run(object):
    """The outcome of one ansible-playbook or ansible-inventory process."""

    def __init__(self, cmd, rc, stdout, stderr, wall, records, workdir):
        self.cmd, self.rc, self.stdout, self.stderr, self.wall = cmd, rc, stdout, stderr, wall
        self.records, self.workdir = records, workdir

    def __repr__(self):
        return '<Run rc=%s wall=%.1fs %s>' % (self.rc, self.wall, ' '.join(self.cmd[-3:]))

    def explain(self):
        return 'command: %s\nrc: %s\n--- stdout (tail)\n%s\n--- stderr (tail)\n%s' % (
            ' '.join(self.cmd), self.rc, self.stdout[-6000:], self.stderr[-3000:])

    def tasks(self, name, kind='task'):
        return [r for r in self.records if r['task'] == name and r['kind'] == kind]

    def task(self, name, host=None):
        found = [r for r in self.tasks(name) if host is None or r['host'] == host]
        if len(found) != 1:
            raise AssertionError('expected one result of task %r%s, found %d\n%s'
                                 % (name, '' if host is None else ' on %s' % host, len(found), self.explain()))
        return found[0]

    def items(self, name):
        return self.tasks(name, kind='item')


class Ansible(object):
    """Runs ansible-playbook / ansible-inventory with this checkout as sigma.media_server."""

    def __init__(self, collections_path, home, emulator):
        self.collections_path = str(collections_path)
        self.home = Path(home)
        self.emulator = emulator
        self.counter = 0

    def env(self, workdir, extra=None):
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'SIGMA_')))
        env.update(
            ANSIBLE_COLLECTIONS_PATH=self.collections_path,
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_CALLBACK_PLUGINS=str(PLUGINS / 'callback'),
            ANSIBLE_CALLBACKS_ENABLED='sigma_recorder',
            ANSIBLE_ACTION_PLUGINS=str(PLUGINS / 'action'),
            ANSIBLE_HOME=str(self.home),
            ANSIBLE_LOCAL_TEMP=str(workdir / 'tmp'),
            ANSIBLE_REMOTE_TEMP=str(workdir / 'tmp'),
            ANSIBLE_NOCOLOR='1',
            ANSIBLE_FORCE_COLOR='0',
            ANSIBLE_RETRY_FILES_ENABLED='false',
            ANSIBLE_LOCALHOST_WARNING='false',
            ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
            ANSIBLE_PIPELINING='true',
            ANSIBLE_HOST_KEY_CHECKING='false',
            SIGMA_STATE_DIR=str(self.home / 'sigma-state'),
            SIGMA_EMULATOR_CONTROL=self.emulator.control_url,
            SIGMA_RECORDER_FILE=str(workdir / 'records.jsonl'),
        )
        env.update(extra or {})
        return env

    def _workdir(self, label):
        self.counter += 1
        workdir = self.home / 'runs' / ('%03d-%s' % (self.counter, re.sub(r'[^A-Za-z0-9_.-]+', '_', label)))
        (workdir / 'tmp').mkdir(parents=True)
        return workdir

    def _exec(self, cmd, workdir, env, timeout):
        start = time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=str(workdir), env=env, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError('%s did not end within %s s (a hang):\n%s\n%s' % (
                ' '.join(cmd), timeout, (exc.stdout or b'')[-4000:], (exc.stderr or b'')[-2000:]))
        wall = time.monotonic() - start
        records = []
        rec = workdir / 'records.jsonl'
        if rec.exists():
            records = [json.loads(line) for line in rec.read_text(encoding='utf-8').splitlines() if line.strip()]
        stdout, stderr = proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')
        (workdir / 'stdout.txt').write_text(stdout, encoding='utf-8')
        (workdir / 'stderr.txt').write_text(stderr, encoding='utf-8')
        return Run(cmd, proc.returncode, stdout, stderr, wall, records, workdir)

    def playbook(self, plays, label='play', inventory=None, verbosity=0, env=None, timeout=180, forks=None, extra_args=()):
        """Run a playbook (a list of plays, or a task list for one localhost play)."""
        workdir = self._workdir(label)
        if plays and 'tasks' not in plays[0] and 'hosts' not in plays[0]:
            plays = [dict(name=label, hosts='localhost', connection='local', gather_facts=False, tasks=plays)]
        (workdir / 'playbook.yml').write_text(yaml.safe_dump(plays, sort_keys=False, allow_unicode=True), encoding='utf-8')
        if inventory is None:
            inventory = 'localhost,'
        elif isinstance(inventory, tuple):  # (file name, inventory source dict), e.g. a plugin configuration
            (workdir / inventory[0]).write_text(yaml.safe_dump(inventory[1], sort_keys=False, allow_unicode=True), encoding='utf-8')
            inventory = str(workdir / inventory[0])
        elif isinstance(inventory, dict):
            (workdir / 'hosts.yml').write_text(yaml.safe_dump(inventory, sort_keys=False), encoding='utf-8')
            inventory = str(workdir / 'hosts.yml')
        cmd = [sys.executable, '-m', 'ansible', 'playbook', '-i', inventory, 'playbook.yml']
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        if forks:
            cmd += ['--forks', str(forks)]
        cmd += list(extra_args)
        return self._exec(cmd, workdir, self.env(workdir, env), timeout)

    def playbook_async(self, plays, label='play', inventory=None, env=None, forks=None):
        """Start a playbook without waiting; returns (Popen, workdir, cmd). Finish with finish()."""
        workdir = self._workdir(label)
        if plays and 'tasks' not in plays[0] and 'hosts' not in plays[0]:
            plays = [dict(name=label, hosts='localhost', connection='local', gather_facts=False, tasks=plays)]
        (workdir / 'playbook.yml').write_text(yaml.safe_dump(plays, sort_keys=False, allow_unicode=True), encoding='utf-8')
        if isinstance(inventory, dict):
            (workdir / 'hosts.yml').write_text(yaml.safe_dump(inventory, sort_keys=False), encoding='utf-8')
            inventory = str(workdir / 'hosts.yml')
        cmd = [sys.executable, '-m', 'ansible', 'playbook', '-i', inventory or 'localhost,', 'playbook.yml']
        if forks:
            cmd += ['--forks', str(forks)]
        out = open(workdir / 'stdout.txt', 'wb')
        err = open(workdir / 'stderr.txt', 'wb')
        proc = subprocess.Popen(cmd, cwd=str(workdir), env=self.env(workdir, env), stdout=out, stderr=err)
        return dict(proc=proc, workdir=workdir, cmd=cmd, files=(out, err), start=time.monotonic())

    @staticmethod
    def finish(handle, timeout=180):
        proc = handle['proc']
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError('%s did not end within %s s' % (' '.join(handle['cmd']), timeout))
        wall = time.monotonic() - handle['start']
        for fh in handle['files']:
            fh.close()
        workdir = handle['workdir']
        rec = workdir / 'records.jsonl'
        records = [json.loads(line) for line in rec.read_text(encoding='utf-8').splitlines() if line.strip()] if rec.exists() else []
        return Run(handle['cmd'], proc.returncode, (workdir / 'stdout.txt').read_text(encoding='utf-8', errors='replace'),
                   (workdir / 'stderr.txt').read_text(encoding='utf-8', errors='replace'), wall, records, workdir)

    def inventory(self, config, label='inventory', filename='sigma.sigma.yml', verbosity=0, env=None, timeout=120, args=('--list',)):
        """Run ansible-inventory on an inventory source file holding `config` (a dict or text)."""
        workdir = self._workdir(label)
        path = workdir / filename
        text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding='utf-8')
        cmd = [sys.executable, '-m', 'ansible', 'inventory', '-i', str(path)] + list(args)
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        return self._exec(cmd, workdir, self.env(workdir, env), timeout)


def inventory_json(stdout):
    """The JSON document of ansible-inventory --list/--host output (after any -v chatter), unwrapped."""
    start = 0 if stdout.startswith('{') else stdout.find('\n{') + 1
    return unwrap(json.loads(stdout[start:]))


def unwrap(data):
    """ansible-inventory --list output with 2.19's {"__ansible_unsafe": value} wrappers removed."""
    if isinstance(data, dict):
        if set(data) == {'__ansible_unsafe'}:
            return unwrap(data['__ansible_unsafe'])
        return dict((k, unwrap(v)) for k, v in data.items())
    if isinstance(data, list):
        return [unwrap(v) for v in data]
    return data


# ----------------------------------------------------------------------------- figures

class Figures(object):
    """What the suite measured, for docs/reliability.md."""

    def __init__(self):
        self.sections = {}
        self.started = time.time()

    def add(self, section, **row):
        self.sections.setdefault(section, []).append(row)

    def rows(self, section):
        return self.sections.get(section, [])


FIGURES = Figures()


def excerpt(text, limit=110):
    text = ' '.join(str(text or '').split())
    return text if len(text) <= limit else text[:limit - 3] + '...'


def verdict(problems, limit=160):
    """'ok', or 'FAILED: ' and the problems, shortened, for a figures table."""
    return 'ok' if not problems else 'FAILED: ' + '; '.join(excerpt(p, limit) for p in problems)


def md_cell(value):
    return str(value).replace('|', '\\|').replace('\n', ' ')


def md_table(headers, rows):
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '|'.join(' --- ' for _header in headers) + '|']
    for row in rows:
        lines.append('| ' + ' | '.join(md_cell(c) for c in row) + ' |')
    return '\n'.join(lines)
