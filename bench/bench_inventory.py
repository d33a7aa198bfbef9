# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 1: `ansible-inventory --list` with the sigma inventory plugin over an emulated fleet.

For each protocol (http, https), latency (0, 50 ms) and fleet size (10, 100, 1000 servers), three modes
measured side by side in the same run, interleaved repetition by repetition:

* cold:   cache enabled, empty cache (the plugin's default pool of max_workers 32);
* warm:   the same configuration again, the cache now filled (must send no request);
* serial: no cache, max_workers 1 (the baseline a one-at-a-time plugin would give).
"""

from __future__ import annotations

import json

from _harness import ansible_bin, emulator, log, median, run

MODES = ('cold', 'warm', 'serial')


def plan(quick):
    if quick:
        return {'protocols': ['http'], 'latencies': [0], 'sizes': [10, 100]}
    return {'protocols': ['http', 'https'], 'latencies': [0, 50], 'sizes': [10, 100, 1000]}


def reps_for(quick, size, latency):
    """Repetitions of one cell: 3 (the median is shown) for the 10-server cells of the full run, else 1.

    One repetition of the larger cells keeps the full run near 15 minutes on a busy 2-core machine; their
    ratios (serial against cold) are large enough not to need more.
    """
    if quick:
        return 1
    return 3 if size <= 10 else 1


def _config(ws, emu, size, mode, cache_dir, proto):
    doc = {
        'plugin': 'sigma.media_server.sigma',
        'servers': [emu.url(i) for i in range(size)],
        # The plugin bounds the WHOLE fetch to timeout x (retries + 1) seconds; the serial baseline over 1000
        # servers at 50 ms needs more than the default, or the slowest servers land in sigma_unreachable.
        'timeout': 120,
    }
    if mode == 'serial':
        doc.update({'max_workers': 1, 'cache': False})
    else:
        doc.update({'cache': True, 'cache_plugin': 'ansible.builtin.jsonfile',
                    'cache_connection': str(cache_dir), 'cache_timeout': 3600})
    if proto == 'https':
        doc['ca_path'] = emu.ca
    # cold and warm must be the SAME file: the plugin caches under one key per configuration file.
    # The name ends with sigma.yml, as the plugin requires; JSON is YAML.
    kind = 'serial' if mode == 'serial' else 'cached'
    return ws.file('inventory/%s-%d-%s.sigma.yml' % (proto, size, kind), json.dumps(doc, indent=1))


def _measure(ws, emu, cfg, size, checks, label):
    mark = emu.log.mark()
    result = run(ws, [ansible_bin('ansible-inventory'), '-i', cfg, '--list'])
    requests = len(emu.log.since(mark))
    inventory = json.loads(result.stdout)
    hosts = len(inventory.get('_meta', {}).get('hostvars', {}))
    unreachable = len(inventory.get('sigma_unreachable', {}).get('hosts', []))
    checks.equal('%s: hosts in the inventory' % label, hosts, size)
    checks.equal('%s: unreachable hosts' % label, unreachable, 0)
    return result, requests


def bench(ws, quick, checks):
    p = plan(quick)
    rows = []
    biggest = max(p['sizes'])
    for proto in p['protocols']:
        for latency in p['latencies']:
            with emulator(ws, 'inventory-%s-%d' % (proto, latency), count=biggest, seed=1,
                          args=['--latency', latency], tls=proto == 'https') as emu:
                for size in p['sizes']:
                    reps = reps_for(quick, size, latency)
                    samples = {mode: [] for mode in MODES}
                    for rep in range(reps):
                        cache_dir = ws.dir('cache/%s-%d-%d-%d' % (proto, latency, size, rep), fresh=True)
                        for mode in MODES:
                            label = 'inventory %s %d ms %d servers %s' % (proto, latency, size, mode)
                            cfg = _config(ws, emu, size, mode, cache_dir, proto)
                            result, requests = _measure(ws, emu, cfg, size, checks, label)
                            expected = 0 if mode == 'warm' else size
                            checks.equal('%s: requests' % label, requests, expected)
                            samples[mode].append((result.wall, result.cpu, requests))
                    for mode in MODES:
                        walls = [s[0] for s in samples[mode]]
                        cpus = [s[1] for s in samples[mode]]
                        row = {
                            'protocol': proto, 'latency_ms': latency, 'servers': size, 'mode': mode,
                            'reps': reps, 'wall': median(walls), 'cpu': median(cpus),
                            'cpu_per_server_ms': median(cpus) * 1000.0 / size,
                            'requests': max(s[2] for s in samples[mode]),
                        }
                        rows.append(row)
                        log('  inventory %-5s %3d ms %5d servers %-6s wall %6.2f s  cpu %6.2f s  requests %d'
                            % (proto, latency, size, mode, row['wall'], row['cpu'], row['requests']))
    return {'rows': rows, 'plan': p}
