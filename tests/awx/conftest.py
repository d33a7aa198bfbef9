# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session fixtures of the AWX suite: the built tarball, the "EE", the emulated fleet.

The fleet (files/fleet.yml: 127.0.0.1:19661-19663, control port 19669) is started with
the project's scripts/fleet.sh; `make test` holds the port lock around this suite.
SIGMA_AWX_TARBALL=path uses a tarball built already (the `awx` CI step, scripts/ci.py awx, passes its own).
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import urllib.request

import pytest

import awx_support as support

CONTROL_PORT = '19669'


@pytest.fixture(scope='session', autouse=True)
def clean_environment():
    """Nothing of the machine's Sigma, Ansible or proxy settings reaches the runs."""
    for name in list(os.environ):
        proxy = name.lower() in ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy')
        if proxy or name.startswith(('SIGMA_', 'ANSIBLE_')):
            del os.environ[name]


@pytest.fixture(scope='session')
def tarball(tmp_path_factory):
    given = os.environ.get('SIGMA_AWX_TARBALL')
    if given:
        return given
    out = str(tmp_path_factory.mktemp('dist'))
    subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-galaxy'), 'collection', 'build',
                    '--output-path', out, support.ROOT], check=True, stdout=subprocess.DEVNULL)
    return glob.glob(os.path.join(out, 'sigma-media_server-*.tar.gz'))[0]


@pytest.fixture(scope='session')
def ee_collections(tarball, tmp_path_factory):
    return support.install_ee(tarball, str(tmp_path_factory.mktemp('ee') / 'collections'))


@pytest.fixture(scope='session')
def fleet(tmp_path_factory):
    state = str(tmp_path_factory.mktemp('fleet'))
    shim = tmp_path_factory.mktemp('venv') / 'bin'
    shim.mkdir()
    (shim / 'python').write_text('#!/bin/sh\nexec %s "$@"\n' % sys.executable)
    (shim / 'python').chmod(0o755)
    env = dict(os.environ, VENV=str(shim.parent), SIGMA_CONTROL_PORT=CONTROL_PORT)
    script = os.path.join(support.ROOT, 'scripts', 'fleet.sh')
    subprocess.run(['bash', script, 'start', state, os.path.join(support.FILES, 'fleet.yml')], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    try:
        yield Fleet()
    finally:
        subprocess.run(['bash', script, 'stop', state], env=env, stdout=subprocess.DEVNULL, check=False)


class Fleet(object):
    PORTS = {'awx-a10': 19661, 'awx-t4': 19662, 'awx-auth': 19663}

    def state(self, host):
        url = 'http://127.0.0.1:%d/_emulator/servers/%d/state' % (self.PORTS[host], self.PORTS[host])
        with urllib.request.urlopen(url, timeout=10) as answer:
            return json.load(answer)

    def _control(self, host, method, action):
        port = self.PORTS[host]
        request = urllib.request.Request('http://127.0.0.1:%d/_emulator/servers/%d/%s' % (port, port, action),
                                         method=method)
        with urllib.request.urlopen(request, timeout=10) as answer:
            raw = answer.read()
        return json.loads(raw) if raw.strip() else None

    def requests(self, host):
        """The API functions the server was sent since the last forget_requests."""
        return [r['function'] for r in self._control(host, 'GET', 'requests')['requests']]

    def forget_requests(self, host):
        self._control(host, 'DELETE', 'requests')

    def reset(self):
        for port in self.PORTS.values():
            request = urllib.request.Request('http://127.0.0.1:%d/_emulator/servers/%d/reset' % (port, port), data=b'{}',
                                             method='POST')
            urllib.request.urlopen(request, timeout=10).close()


# The EE's Python: what AWX's own EE (awx-ee) runs, ansible-core 2.18 (.venv-awx-ee, passed by the
# noxfile); without it, this Python.
EE_PYTHON = os.environ.get('SIGMA_AWX_EE_PYTHON') or sys.executable


@pytest.fixture
def awx(tmp_path, ee_collections, fleet):
    fleet.reset()
    return support.Awx(str(tmp_path), ee_collections, python=EE_PYTHON)


@pytest.fixture
def awx_core_219(tmp_path, ee_collections, fleet):
    """An EE that runs ansible-core 2.19 or later (this Python's, the development venv)."""
    fleet.reset()
    return support.Awx(str(tmp_path), ee_collections, python=sys.executable)
