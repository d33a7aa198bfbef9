# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers of the event source tests (tests/eda): the emulator, job bodies, a poller.

`Poller` drives one source poll by poll on a private event loop, so a test decides when each
poll happens (no clock in the assertions).
"""

from __future__ import annotations

import asyncio
import base64
import sys
import time

from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SOURCE = Path('extensions', 'eda', 'plugins', 'event_source', 'job_events.py')
try:
    from sigma_emulator import testing
except ImportError:  # not installed: the checkout's copy
    sys.path.insert(0, str(REPO / 'emulator'))
    from sigma_emulator import testing

# jobs start at once (a real server takes seconds in starting and preparing)
FAST = {'starting_seconds': 0.02, 'preparing_seconds': 0.02}
SERVERS = ['eda-a', 'eda-b', 'eda-c', 'eda-auth']
AUTH = {'username': 'edaops', 'password': 'Eda-Pw-4242'}


def live_job(name, url=None, **more):
    """A `start` body of a live job (the API's spelling)."""
    body = {'type': 'start', 'name': name, 'mode': 'live', 'input': url or 'udp://239.10.0.1:5000',
            'profile': [{'id': '0x100', 'type': 'video'}, {'id': '0x101', 'type': 'audio'}],
            'target': [{'format': 'hls', 'url': '/data/mediahub/%s' % name, 'select': ['0x100', '0x101']}]}
    body.update(more)
    return body


def basic_auth(username, password):
    return {'Authorization': 'Basic ' + base64.b64encode(('%s:%s' % (username, password)).encode()).decode()}


def start_jobs(fleet, server, *bodies, **api):
    """Start jobs on an emulated server (`api`: more arguments of fleet.api) and wait until each is `started`."""
    for body in bodies:
        assert fleet.api(server, body, **api)['ec'] == 0
    deadline = time.monotonic() + 10
    while any(fleet.jobs(server)[b['name']]['state'] != 'started' for b in bodies):
        assert time.monotonic() < deadline, fleet.jobs(server)
        time.sleep(0.02)


class Poller(object):
    """One event source, polled when the test says, on a private event loop."""

    def __init__(self, module, args):
        self.loop = asyncio.new_event_loop()
        self.source = module['JobEvents'].from_args(args)
        self.loop.run_until_complete(self.source.start())
        self.polls = 0

    def poll(self):
        """One poll of every server; the events, in the order they were put on the queue."""
        queue = asyncio.Queue()
        self.loop.run_until_complete(self.source.poll(queue))
        self.polls += 1
        events = []
        while not queue.empty():
            events.append(queue.get_nowait())
        return events

    def polls_until(self, check, limit=50, pause=0.02):
        """Poll until `check(events of this poll)` is true; every event of every poll, in order."""
        seen = []
        for _poll in range(limit):
            events = self.poll()
            seen.extend(events)
            if check(events):
                return seen
            time.sleep(pause)
        raise AssertionError('not seen in %d polls; events: %r' % (limit, seen))

    def server(self, url):
        return next(s for s in self.source.servers if s.display_url == url)

    def close(self):
        self.source.close()
        self.loop.close()


def kinds(events):
    """(type, server, job) of each event."""
    return [(e['sigma']['type'], e['sigma']['server'], e['sigma']['job']) for e in events]


__all__ = ['AUTH', 'FAST', 'REPO', 'SERVERS', 'SOURCE', 'Poller', 'basic_auth', 'kinds', 'live_job', 'start_jobs',
           'testing']
