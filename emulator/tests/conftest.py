"""Fixtures: emulated fleets started in-process (sigma_emulator.testing) on ephemeral ports."""

import pytest
import requests

from sigma_emulator import testing

# Jobs run at once unless a test asks for the starting/preparing phases (test_states.py).
INSTANT = {"starting_seconds": 0, "preparing_seconds": 0}


class Running:
    """A fleet started by the launcher, in this process, with helpers for synchronous tests."""

    def __init__(self, servers, workdir, dead_ports=0):
        self.fleet = testing.start([dict(INSTANT, **s) for s in servers], workdir=workdir,
                                   in_process=True, dead_ports=dead_ports)
        self.emulator = self.fleet.emulator
        self.servers = self.emulator.servers

    def url(self, i=0, path="/"):
        return self.fleet.url(i) + path

    def ctl(self, i=0, action=""):
        """The control API URL of server ``i`` (on the control port)."""
        return f"{self.fleet.control_base(i)}/{action}"

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
        reply = requests.request(method, self.ctl(i, action), timeout=5, **kwargs)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def close(self):
        self.fleet.stop()


@pytest.fixture
def start_emulator(tmp_path):
    """Return a function starting a fleet of the given server dicts on ephemeral ports."""
    running = []

    def start(*servers, dead_ports=0):
        running.append(Running(servers or [{}], tmp_path / f"fleet-{len(running)}", dead_ports))
        return running[-1]

    yield start
    for r in running:
        r.close()


@pytest.fixture
def emu(start_emulator):
    """One server with the seed's identity on an ephemeral port."""
    return start_emulator({})
