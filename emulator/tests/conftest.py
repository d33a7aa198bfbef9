"""Fixtures: emulators started in-process on ephemeral ports, served from a background loop."""

import asyncio
import threading

import pytest
import requests

from sigma_emulator import fleet
from sigma_emulator.app import Emulator


# Jobs run at once unless a test asks for the starting/preparing phases (test_states.py).
INSTANT = {"starting_seconds": 0, "preparing_seconds": 0}


class Running:
    """An Emulator running on its own event loop thread, driven from synchronous tests."""

    def __init__(self, servers, **kwargs):
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        idents = [fleet.identity({"port": 0, **INSTANT, **s}) for s in servers]
        self.emulator = Emulator(idents, **kwargs)
        self.run(self.emulator.start())
        self.servers = self.emulator.servers

    def run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def url(self, i=0, path="/"):
        return self.emulator.url(self.servers[i]).rstrip("/") + path

    def call(self, body, i=0, **kwargs):
        """POST ``body`` to server ``i`` and return the decoded answer."""
        reply = requests.post(self.url(i), json=body, timeout=5, **kwargs)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def answer(self, body, i=0):
        """Like call(), without ``dt`` (checked to be a whole number of ms) for exact comparisons."""
        reply = self.call(body, i)
        assert isinstance(reply.pop("dt"), int)
        return reply

    def control(self, method, action, i=0, **kwargs):
        reply = requests.request(method, self.url(i, "/_emulator/" + action), timeout=5, **kwargs)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def close(self):
        self.run(self.emulator.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def start_emulator():
    """Return a function starting an emulator with the given server dicts (port 0 = ephemeral)."""
    running = []

    def start(*servers, **kwargs):
        running.append(Running(servers or [{}], **kwargs))
        return running[-1]

    yield start
    for r in running:
        r.close()


@pytest.fixture
def emu(start_emulator):
    """One server with the seed's identity on an ephemeral port."""
    return start_emulator({})
