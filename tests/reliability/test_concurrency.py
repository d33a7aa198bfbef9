# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Concurrency: many forks and overlapping runs converging jobs on ONE server.

- 50 forks: an inventory of 50 hosts, all pointing at the same emulated
  server (host variable sigma_api_url), each converging its own job plus one
  job that all 50 declare. Every job must be started exactly once (the
  emulator's `restarts` counter stays 0), every job's final configuration is
  the declared one, and a second run changes nothing.
- Two overlapping playbook runs converging the same lineup at once: no job
  is started twice, the final state is the lineup.
"""

from __future__ import annotations

from rel_support import FIGURES, verdict

FORKS = 50
# Every answer of the server takes this long, so that the read-decide-start windows of the runs really overlap
# (forks that start within ~2 s of each other race; the overlapping runs' 10 starts take 3 s).
LATENCY_MS = 1000
OVERLAP_LATENCY_MS = 300


def job(name, n):
    return {'name': name, 'input': 'udp://239.0.30.%d:1234' % (n % 250),
            'profiles': [{'id': '0x100', 'type': 'video', 'width': 1280, 'height': 720, 'bitrate': '2500k'}, {'id': '0x101', 'type': 'audio'}],
            'targets': [{'format': 'hls', 'url': '/data/rel/conc/%s' % name}]}


SHARED = job('conc-shared', 200)


def fork_inventory(emulator):
    hosts = dict(('conc-%02d' % n, {'sigma_api_url': emulator.url('conc'), 'own_job': job('conc-own-%02d' % n, n)})
                 for n in range(1, FORKS + 1))
    return {'all': {'hosts': hosts, 'vars': {'ansible_connection': 'local'}}}


def fork_play(module):
    if module == 'sigma_job':
        tasks = [{'name': 'own', 'sigma.media_server.sigma_job': '{{ own_job | combine({"api_url": sigma_api_url}) }}'},
                 {'name': 'shared', 'sigma.media_server.sigma_job': dict(SHARED, api_url='{{ sigma_api_url }}')}]
    else:
        tasks = [{'name': 'lineup', 'sigma.media_server.sigma_jobs': {'api_url': '{{ sigma_api_url }}', 'jobs': ['{{ own_job }}', SHARED]}}]
    return [{'name': 'converge', 'hosts': 'all', 'gather_facts': False, 'tasks': tasks}]


def starts(requests):
    out = {}
    for entry in requests:
        if entry.get('function') == 'start' and entry.get('ec') == 0:
            out[entry['name']] = out.get(entry['name'], 0) + 1
    return out


def test_fifty_forks(ansible, emulator):
    emulator.reset('conc')
    emulator.faults('conc', latency_ms=LATENCY_MS)
    inventory = fork_inventory(emulator)
    run = ansible.playbook(fork_play('sigma_jobs'), label='conc-forks', inventory=inventory, forks=FORKS, timeout=300)
    assert run.rc == 0, run.explain()
    state = emulator.jobs('conc')
    log = emulator.requests('conc')
    again = ansible.playbook(fork_play('sigma_jobs'), label='conc-forks-again', inventory=inventory, forks=FORKS, timeout=300)
    assert again.rc == 0, again.explain()
    log_again = emulator.requests('conc')[len(log):]
    expected = dict((h['own_job']['name'], h['own_job']) for h in inventory['all']['hosts'].values())
    expected[SHARED['name']] = SHARED
    problems = []
    if sorted(state) != sorted(expected):
        problems.append('jobs on the server differ: missing %s, unexpected %s'
                        % (sorted(set(expected) - set(state)), sorted(set(state) - set(expected))))
    twice = dict((n, j['restarts']) for n, j in state.items() if j['restarts'])
    if twice:
        problems.append('started more than once (restarts): %s' % twice)
    for name, spec in expected.items():
        if name in state and state[name]['config'].get('input') != spec['input']:
            problems.append('%s has input %s' % (name, state[name]['config'].get('input')))
    changed_again = [r['host'] for r in again.records if r['kind'] == 'task' and r['result'].get('changed')]
    writes_again = [e for e in log_again if e.get('function') in ('start', 'stop', 'update')]
    if changed_again or writes_again:
        problems.append('the second run was not a no-op: changed on %s, %d write(s)' % (changed_again, len(writes_again)))
    start_counts = starts(log)
    FIGURES.add('concurrency', scenario='%d forks, one server, sigma_jobs [own job, shared job] per host' % FORKS,
                jobs=len(state), start_requests=sum(start_counts.values()),
                shared_job_starts=start_counts.get(SHARED['name'], 0), restarts=sum(j['restarts'] for j in state.values()),
                second_run_writes=len(writes_again), wall='%.1f s + %.1f s' % (run.wall, again.wall),
                result=verdict(problems, 200))
    assert not problems, '\n'.join(problems)


def test_overlapping_runs(ansible, emulator):
    emulator.reset('overlap')
    emulator.faults('overlap', latency_ms=OVERLAP_LATENCY_MS)
    lineup = [job('overlap-%02d' % n, 100 + n) for n in range(1, 11)]
    play = [{'name': 'converge', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
             'tasks': [{'name': 'lineup', 'sigma.media_server.sigma_jobs': {'api_url': emulator.url('overlap'), 'jobs': lineup}}]}]
    handles = [ansible.playbook_async(play, label='overlap-%d' % n) for n in (1, 2)]
    runs = [ansible.finish(h) for h in handles]
    for run in runs:
        assert run.rc == 0, run.explain()
    state = emulator.jobs('overlap')
    start_counts = starts(emulator.requests('overlap'))
    problems = []
    if sorted(state) != sorted(j['name'] for j in lineup):
        problems.append('jobs on the server: %s' % sorted(state))
    twice = dict((n, c) for n, c in start_counts.items() if c > 1)
    if twice:
        problems.append('started more than once: %s' % twice)
    overlap = min(r.records[-1]['end'] for r in runs) - max(r.records[-1]['start'] for r in runs)
    FIGURES.add('concurrency', scenario='2 overlapping ansible-playbook runs, same 10-job lineup',
                jobs=len(state), start_requests=sum(start_counts.values()), shared_job_starts='n/a',
                restarts=sum(j['restarts'] for j in state.values()), second_run_writes='n/a',
                wall='%.1f s / %.1f s (tasks overlapped %.1f s)' % (runs[0].wall, runs[1].wall, overlap),
                result=verdict(problems, 200))
    assert not problems, '\n'.join(problems)
