# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the event source tests: the collection as ansible-rulebook sees it, an emulated fleet, pollers.

The event source file is loaded with runpy from a temporary ansible_collections tree whose
sigma/media_server is a symlink to this checkout, as ansible-rulebook loads it from an installed
collection.
"""

from __future__ import annotations

import runpy

import pytest

from eda_support import AUTH, FAST, REPO, SERVERS, SOURCE, Poller, testing


@pytest.fixture(scope='session')
def collections_path(tmp_path_factory):
    root = tmp_path_factory.mktemp('collections')
    namespace = root / 'ansible_collections' / 'sigma'
    namespace.mkdir(parents=True)
    (namespace / 'media_server').symlink_to(REPO, target_is_directory=True)
    return root


@pytest.fixture(scope='session')
def job_events(collections_path):
    """The event source module's globals, loaded as ansible-rulebook loads it (runpy.run_path)."""
    return runpy.run_path(str(collections_path / 'ansible_collections' / 'sigma' / 'media_server' / SOURCE))


@pytest.fixture(scope='session')
def job_watch(job_events):
    """The collection's _job_watch module (importable once the source has set up the collection loader)."""
    from ansible_collections.sigma.media_server.plugins.plugin_utils import _job_watch
    return _job_watch


@pytest.fixture(scope='session')
def emulator(tmp_path_factory):
    servers = [dict(FAST, name=name) for name in SERVERS if name != 'eda-auth']
    servers.append(dict(FAST, name='eda-auth', auth=AUTH))
    fleet = testing.start(servers, workdir=tmp_path_factory.mktemp('emulator'), dead_ports=1)
    yield fleet
    fleet.stop()


@pytest.fixture
def fleet(emulator):
    """The session's emulated fleet, every server reset (no jobs, no faults, listening)."""
    for name in SERVERS:
        emulator.reset(name)
    return emulator


@pytest.fixture
def poller(job_events):
    made = []

    def make(**args):
        made.append(Poller(job_events, args))
        return made[-1]

    yield make
    for one in made:
        one.close()
