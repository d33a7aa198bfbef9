#!/usr/bin/env python
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start a generated 1000-server emulated fleet, give it the problems a real fleet has, write down which.

    fleet1000.py OUT_DIR SEED

The fleet is the emulator's `--count 1000 --seed SEED`, started by its launcher
(sigma_emulator.testing, detached: `python -m sigma_emulator.testing stop OUT_DIR/emulator` ends
it) on its own loopback address, so that its 1000 ephemeral ports never meet another run's
127.0.0.1 ports. Through the emulator's API and control path (test scaffolding, not the
collection's client):
- licences: VALID everywhere but a few EXPIRED, INVALID and missing ones;
- servers down (not listening) and one whose `progress` hangs;
- jobs on every server that takes them, spread over its cards; some servers fill card 0 to
  its session capacity (a GPU near its limits); some have a broken input (jobs in error) and,
  when the emulator writes the documented error codes, an input gone for good (a job failed:
  STREAM_NOT_FOUND) and a run-time OUTPUT_TIMEOUT.
Writes OUT_DIR/inventory.yml (every server with its sigma_api_url, as the inventory plugin sets
it) and OUT_DIR/expected.json (what the report must show).
"""

from __future__ import annotations

import http.client
import json
import os
import sys

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from sigma_emulator import fleet as emulated  # the generator the emulator used: GPU layouts per server
from sigma_emulator import testing

try:  # an emulator that writes the documented error codes: creation-only errors and run-time faults too
    from sigma_emulator import errors as emulated_errors  # noqa: F401  pylint: disable=unused-import
    ERROR_CODES = True
except ImportError:  # one that fails broken inputs with INPUT_TIMEOUT only
    ERROR_CODES = False

COUNT = 1000
HOST = '127.77.15.1'                   # a loopback address of its own
DOWN_EVERY, DOWN_AT = 97, 13          # ~10 servers not listening
HANG_AT = 500                          # one server whose progress never answers
EXPIRED_AT, INVALID_AT, NOSTATUS_AT = (71, 5), (71, 40), (211, 100)
FULL_EVERY, FULL_AT = 37, 3            # card 0 filled to its session capacity
BROKEN_EVERY, BROKEN_AT = 23, 7        # a broken input: 2 jobs in error (and, with error codes, 1 failed)
BROKEN = 'udp://239.99.*'
GONE = 'udp://239.98.*'                # with error codes: STREAM_NOT_FOUND, the job must be started again
FAULT_EVERY, FAULT_AT = 41, 11         # with error codes: ch-01 fails at run time with OUTPUT_TIMEOUT


class Server(object):
    """One emulated server: its API on its own port, its control path on the emulator's control port."""

    def __init__(self, index, name, host, port, ident, control_port):
        self.index, self.name, self.host, self.port, self.ident = index, name, host, port, ident
        self.control_port = control_port
        self.conns = {}

    def _request(self, port, method, path, body=None):
        for attempt in (1, 2):
            conn = self.conns.get(port)
            if conn is None:
                conn = self.conns[port] = http.client.HTTPConnection(self.host, port, timeout=30)
            try:
                conn.request(method, path, body=json.dumps(body) if body is not None else None,
                             headers={'Content-Type': 'application/json'})
                resp = conn.getresponse()
                data = resp.read()
                if resp.status >= 300:
                    raise RuntimeError('%s %s on %s: HTTP %d %s' % (method, path, self.name, resp.status, data[:200]))
                return json.loads(data) if data else None
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                del self.conns[port]
                if attempt == 2:
                    raise
        return None

    def api(self, body):
        answer = self._request(self.port, 'POST', '/', body)
        if answer.get('ec') not in (0, None):
            raise RuntimeError('%s on %s: ec=%s %s' % (body.get('type'), self.name, answer.get('ec'), answer.get('msg')))
        return answer

    def control(self, method, what, body=None):
        """The emulator's control path for this server, through the control port."""
        return self._request(self.control_port, method, '/_emulator/servers/%d/%s' % (self.port, what), body)

    def close(self):
        for conn in self.conns.values():
            conn.close()
        self.conns = {}


def licence(i):
    for (every, at), status in ((EXPIRED_AT, 'EXPIRED'), (INVALID_AT, 'INVALID'), (NOSTATUS_AT, None)):
        if i % every == at:
            return status
    return 'VALID'


def job(name, url, gpu):
    return {'type': 'start', 'mode': 'live', 'name': name, 'input': url, 'gpu': gpu,
            'profile': [{'id': '0x100', 'type': 'video'}, {'id': '0x101', 'type': 'audio'}],
            'target': [{'format': 'hls', 'url': '/data/%s' % name, 'select': ['0x100', '0x101']}]}


def shape(server):
    """Shape one server; return what the report must show for it."""
    i = server.index
    status = licence(i)
    server.control('PATCH', 'config', {'license_status': status})
    out = {'name': server.name, 'license': status or 'UNKNOWN', 'down': False, 'jobs': 0, 'jobs_error': 0,
           'jobs_failed': 0, 'full_card': False, 'hang': False, 'cards': sum(g['count'] for g in server.ident['gpus'])}
    cards = sum(([g['model']] * g['count'] for g in server.ident['gpus']), [])
    if status == 'VALID':
        count = 1 + i % 6
        placed = [(n % len(cards)) if cards else -1 for n in range(count)]
        if cards and i % FULL_EVERY == FULL_AT:
            sessions = emulated.GPU_MODELS[cards[0]]['sessions']
            placed = [0] * sessions + [(n % len(cards)) for n in range(1, len(cards))]
            out['full_card'] = True
        for n, gpu in enumerate(placed):
            server.api(job('ch-%02d' % (n + 1), 'udp://239.%d.%d.%d:5000' % (1 + i // 250, i % 250, n), gpu))
        out['jobs'] = len(placed)
        if i % BROKEN_EVERY == BROKEN_AT:
            broken = [BROKEN] + ([{'url': GONE, 'code': 'STREAM_NOT_FOUND'}] if ERROR_CODES else [])
            server.control('PATCH', 'config', {'broken_inputs': broken})
            for n in range(2):
                server.api(job('feed-%d' % (n + 1), 'udp://239.99.%d.%d:5000' % (i % 250, n), placed[0]))
            out['jobs'] += 2
            out['jobs_error'] += 2
            if ERROR_CODES:
                server.api(job('feed-gone', 'udp://239.98.%d.0:5000' % (i % 250), placed[0]))
                out['jobs'] += 1
                out['jobs_failed'] += 1
        if ERROR_CODES and i % FAULT_EVERY == FAULT_AT:
            server.control('PUT', 'jobs/ch-01/fault', {'code': 'OUTPUT_TIMEOUT'})
            out['jobs_error'] += 1
    if i == HANG_AT:
        server.control('PUT', 'faults', {'hang': {'functions': ['progress']}})
        out['hang'] = True
    if i % DOWN_EVERY == DOWN_AT and i != HANG_AT:
        # last: the server stops listening (its own port refuses from now on)
        server.control('PUT', 'faults', {'refuse': True})
        out['down'] = True
    server.close()
    return out


def main(out_dir, seed):
    fleet = testing.start(count=COUNT, seed=seed, workdir=os.path.join(out_dir, 'emulator'), args=['--host', HOST],
                          detach=True, timeout=120)
    ready = fleet.ready
    listed = ready['servers']
    idents = dict((s['name'], s) for s in emulated.generate(len(listed), 0, seed))
    host = urlsplit(listed[0]['url']).hostname
    servers = [Server(i, s['name'], host, s['port'], idents[s['name']], ready['control_port'])
               for i, s in enumerate(sorted(listed, key=lambda s: s['name']))]
    with ThreadPoolExecutor(max_workers=8) as pool:
        shaped = list(pool.map(shape, servers))
    hosts = {}
    for server, facts in zip(servers, shaped):
        hosts[server.name] = {'sigma_api_url': 'http://%s:%d' % (server.host, server.port)}
        if facts['hang']:
            hosts[server.name]['sigma_timeout'] = 2  # the report gives up on its progress after 2 s
    with open(os.path.join(out_dir, 'inventory.yml'), 'w', encoding='utf-8') as handle:
        json.dump({'all': {'hosts': hosts}}, handle, indent=1)  # JSON is YAML
    expected = {'servers': shaped, 'ports': dict((s.name, s.port) for s in servers)}
    with open(os.path.join(out_dir, 'expected.json'), 'w', encoding='utf-8') as handle:
        json.dump(expected, handle, indent=1)
    down = [s for s in shaped if s['down']]
    print('shaped %d servers: %d down, %d licence not VALID, %d jobs (%d in error, %d failed), %d full cards%s'
          % (len(shaped), len(down), len([s for s in shaped if s['license'] != 'VALID' and not s['down']]),
             sum(s['jobs'] for s in shaped), sum(s['jobs_error'] for s in shaped),
             sum(s['jobs_failed'] for s in shaped), len([s for s in shaped if s['full_card']]),
             '' if ERROR_CODES else ' (this emulator fails inputs with INPUT_TIMEOUT only)'))


if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]))
