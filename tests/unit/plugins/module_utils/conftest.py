# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils import _client
from ansible_collections.sigma.media_server.tests.unit.utils import RecordingServer


@pytest.fixture(params=[False, True], ids=['requests', 'one_request'])
def both_send_paths(request, monkeypatch):
    """Run a test on both ways a transport sends: through requests, and with http.client for a transport of
    one request per server (SigmaTransport(one_request=True), the inventory's): the same behaviour is expected."""
    real = _client.SigmaTransport.__init__

    def init(self, *args, **kwargs):
        kwargs.setdefault('one_request', request.param)
        real(self, *args, **kwargs)
    monkeypatch.setattr(_client.SigmaTransport, '__init__', init)
    return request.param


@pytest.fixture
def recorders():
    """recorders(answer=None, tls=None): a RecordingServer (tests/unit/utils.py), closed after the test."""
    made = []

    def make(answer=None, tls=None):
        recorder = RecordingServer(answer, tls)
        made.append(recorder)
        return recorder
    yield make
    for recorder in made:
        recorder.close()
