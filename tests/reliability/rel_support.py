# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the reliability suite: its servers, secrets and figures.

Nothing here is part of the collection. The suite runs Ansible as users do
(`ansible-playbook`, `ansible-inventory` subprocesses, in the shared harness's
clean workspace: tests/harness/sigma_harness.py) against ONE emulator process,
switches faults through the emulator's control API and reads task results
from the harness's `sigma_recorder` callback, which also gives the wall time
of every task.
"""

from __future__ import annotations

import json
import os
import sys
import time

from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / 'tests' / 'harness'))

import sigma_harness  # noqa: E402  pylint: disable=wrong-import-position
from sigma_harness import testing  # noqa: E402  pylint: disable=wrong-import-position
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

def workspace(path, emulator):
    """The shared harness's clean Ansible workspace; `sigma_emu` tasks reach this suite's emulator.

    SIGMA_RELIABILITY_CONNECTION=sigma_remote runs every play on the path of a remote host: the test-only
    connection (ansible.builtin.local under another name) makes the action plugins execute the modules.
    """
    return sigma_harness.Workspace(path=path, env={'SIGMA_EMULATOR_CONTROL': emulator.control_url},
                                   connection=os.environ.get('SIGMA_RELIABILITY_CONNECTION') or None)


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


md_table = sigma_harness.md_table
