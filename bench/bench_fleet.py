# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 4: a fleet of S emulated servers with J jobs each, applied by the lineup role with forks 10.

The inventory is the sigma inventory plugin over the fleet (no cache, so every run also sends one `dump` per
server); the lineup comes from group_vars/all next to it. The playbook runs the role
sigma.media_server.lineup on every host: converge (empty servers), then re-runs with nothing to change,
alternating with a play of the role's one sigma_jobs task alone, a play of one task that only takes the host's
lineup (the lineup floor: what Ansible costs to hand it to a task) and a play of one ansible.builtin.debug task
over the same hosts and inventory (the floor: what Ansible itself costs per host). The role's task runs
delegated to localhost: the engine runs in the worker (the controller path). Fleets: 5 servers (quick), 100 and 1000 servers (full).
"""

from __future__ import annotations

import json

from _harness import a10_servers, ansible_bin, count_by, emulator, log, run
from bench_lineup import lineup

FORKS = 10
# converge, then the no-op re-run of the role, the role's sigma_jobs task alone (a play of that one task), the
# lineup floor (a task that takes the host's lineup as its argument and does nothing else) and
# ansible.builtin.debug over the same hosts (the floor: Ansible itself), twice each, alternating, so a busy machine
# slows them alike.
# `unchecked` is the no-op role imported with rolespec_validate: false (no argument validation task; README of
# the role, "Fleet-wide runs").
RUNS = ('converge', 'no-op', 'unchecked', 'task', 'floor', 'debug', 'no-op', 'unchecked', 'task', 'floor', 'debug')

# The lineup floor's action plugin (next to its playbook, so only that play sees it): what Ansible alone costs to
# template a host's lineup into a task's arguments and run one task; no request, a one-key result.
FLOOR_ACTION = '''from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        return {'changed': False, 'jobs_given': len(self._task.args['jobs'])}
'''


# (servers, jobs per server) of each fleet; empty: the defaults of sizes(). run.py --fleet-sizes fills it.
SIZES = []


def sizes(quick):
    """The fleets: --fleet-sizes, else a small one in quick mode, 100 and 1000 servers in full mode."""
    if SIZES:
        return list(SIZES)
    return [(5, 4)] if quick else [(100, 20), (1000, 4)]


def bench(ws, quick, checks):
    out = []
    for servers, jobs in sizes(quick):
        out.append(fleet(ws, servers, jobs, checks))
    return {'forks': FORKS, 'fleets': out}


def fleet(ws, servers, jobs, checks):
    rows = []
    with emulator(ws, 'fleet', a10_servers('fleet', servers)) as emu:
        ws.dir('fleet-inventory', fresh=True)
        inventory = ws.file('fleet-inventory/fleet.sigma.yml', json.dumps({
            'plugin': 'sigma.media_server.sigma',
            'servers': [emu.url(i) for i in range(servers)],
            'compose': {'ansible_connection': "'local'"},
            # each server asked exactly once whatever the machine's load (a retry after a slow answer
            # would make the request counts below depend on it), as in bench_inventory
            'timeout': 60,
            'retries': 0,
        }, indent=1))
        ws.file('fleet-inventory/group_vars/all.json', {'sigma_lineup': lineup(jobs)})
        ws.dir('fleet-floor/action_plugins', fresh=True)
        ws.file('fleet-floor/action_plugins/sigma_bench_floor.py', FLOOR_ACTION)
        books = {
            'role': ws.file('fleet.yml', json.dumps([{
                'name': 'fleet lineup', 'hosts': 'all', 'gather_facts': False,
                'roles': [{'role': 'sigma.media_server.lineup'}]}], indent=1)),
            'unchecked': ws.file('fleet-unchecked.yml', json.dumps([{
                'name': 'fleet lineup, the role imported without its argument validation', 'hosts': 'all',
                'gather_facts': False,
                'tasks': [{'name': 'lineup', 'ansible.builtin.import_role': {
                    'name': 'sigma.media_server.lineup', 'rolespec_validate': False}}]}], indent=1)),
            'task': ws.file('fleet-task.yml', json.dumps([{
                'name': 'the sigma_jobs task alone', 'hosts': 'all', 'gather_facts': False,
                'tasks': [{'name': 'sigma_jobs', 'delegate_to': 'localhost',
                           'sigma.media_server.sigma_jobs': {'api_url': '{{ sigma_api_url }}',
                                                             'jobs': '{{ sigma_lineup }}'}}]}], indent=1)),
            'floor': ws.file('fleet-floor/fleet-floor.yml', json.dumps([{
                'name': 'the lineup floor: a task that takes the lineup and does nothing', 'hosts': 'all',
                'gather_facts': False,
                'tasks': [{'name': 'floor', 'sigma_bench_floor': {'jobs': '{{ sigma_lineup }}'}}]}], indent=1)),
            'debug': ws.file('fleet-debug.yml', json.dumps([{
                'name': 'the floor: one debug task per host', 'hosts': 'all', 'gather_facts': False,
                'tasks': [{'name': 'debug', 'ansible.builtin.debug': {'msg': '{{ inventory_hostname }}'}}]}], indent=1)),
        }
        for run_name in RUNS:
            mark = emu.log.mark()
            book = books.get(run_name, books['role'])
            result = run(ws, [ansible_bin('ansible-playbook'), '-i', inventory, '-f', FORKS, book], timeout=3600)
            entries = emu.log.since(mark)
            functions = count_by(entries, 'function')
            row = {'run': run_name, 'servers': servers, 'jobs': jobs, 'wall': result.wall, 'cpu': result.cpu,
                   'requests': len(entries), 'functions': functions,
                   # each task's wall over all hosts (task start to the next task start): where a run's time goes
                   'task_walls': [[t['name'], t['end'] - t['start']] for t in result.summaries]}
            label = 'fleet %d %s' % (servers, run_name)
            if run_name in ('debug', 'floor'):
                checks.equal('%s: requests (the inventory)' % label, functions, {'dump': servers})
                if run_name == 'floor':
                    floor_tasks = [t for t in result.summaries if t['action'].endswith('sigma_bench_floor')]
                    checks.equal('%s: hosts that ran the floor task' % label,
                                 sum(h.get('status') == 'ok' for h in (floor_tasks[-1]['hosts'] if floor_tasks else {}).values()),
                                 servers)
                rows.append(row)
                log('  fleet %4d %-8s wall %7.2f s  cpu %7.2f s' % (servers, run_name, row['wall'], row['cpu']))
                continue
            applied = [t for t in result.summaries if t['action'].endswith('sigma_jobs')]
            hosts = applied[-1]['hosts'] if applied else {}
            states = [emu.state(i) for i in range(servers)]
            row.update({
                'hosts_changed': sum(bool(h.get('changed')) for h in hosts.values()),
                'hosts_ok': sum(h.get('status') == 'ok' for h in hosts.values()),
                'jobs_running': sum(len(s['jobs']) for s in states),
                'restarts': sum(j['restarts'] for s in states for j in s['jobs'].values()),
            })
            rows.append(row)
            checks.equal('%s: hosts that applied the lineup' % label, row['hosts_ok'], servers)
            checks.equal('%s: jobs on the fleet' % label, row['jobs_running'], servers * jobs)
            checks.equal('%s: job restarts' % label, row['restarts'], 0)
            if run_name == 'converge':
                checks.equal('%s: start requests' % label, functions.get('start', 0), servers * jobs)
                checks.equal('%s: stop and update requests' % label,
                             functions.get('stop', 0) + functions.get('update', 0), 0)
                checks.equal('%s: hosts changed' % label, row['hosts_changed'], servers)
            else:
                checks.equal('%s: requests' % label, functions, {'dump': servers, 'progress': servers})
                checks.equal('%s: hosts changed' % label, row['hosts_changed'], 0)
            log('  fleet %4d %-8s wall %7.2f s  cpu %7.2f s  requests %5d %s  changed hosts %d'
                % (servers, run_name, row['wall'], row['cpu'], row['requests'], json.dumps(functions, sort_keys=True),
                   row['hosts_changed']))
    def total(run_name, key):
        return sum(r[key] for r in rows if r['run'] == run_name)

    return {'servers': servers, 'jobs': jobs, 'rows': rows,
            'ratio_wall': total('no-op', 'wall') / max(1e-9, total('debug', 'wall')),
            'ratio_cpu': total('no-op', 'cpu') / max(1e-9, total('debug', 'cpu')),
            'unchecked_ratio_wall': total('unchecked', 'wall') / max(1e-9, total('debug', 'wall')),
            'unchecked_ratio_cpu': total('unchecked', 'cpu') / max(1e-9, total('debug', 'cpu')),
            'task_ratio_wall': total('task', 'wall') / max(1e-9, total('debug', 'wall')),
            'task_ratio_cpu': total('task', 'cpu') / max(1e-9, total('debug', 'cpu')),
            'floor_ratio_wall': total('floor', 'wall') / max(1e-9, total('debug', 'wall')),
            'floor_ratio_cpu': total('floor', 'cpu') / max(1e-9, total('debug', 'cpu'))}
