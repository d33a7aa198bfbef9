# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 3: a lineup of N jobs on one server, three ways.

* sigma_jobs: ONE task with the whole lineup;
* sigma_job loop: a loop of N sigma_job tasks;
* uri loop: a loop of N ansible.builtin.uri tasks POSTing `start` (what a playbook without the
  collection does; not idempotent: every run restarts every job).

Each way has its own emulated server (one emulator process), so requests are counted per server from the
request log. Each way runs twice, as separate ansible-playbook processes (so controller CPU is attributed):
a cold create on an empty server, then a re-run with nothing to change. The runs are interleaved: cold for
each way, then the re-run for each way.
"""

from __future__ import annotations

import json

from _harness import a10_servers, ansible_bin, count_by, emulator, log, run

WAYS = ('sigma_jobs', 'sigma_job loop', 'uri loop')
RUNS = ('cold', 'no-op')


def lineup(n, prefix='ch'):
    """N jobs in sigma_job's options: one live HLS channel each, from its own multicast input."""
    jobs = []
    for i in range(1, n + 1):
        name = '%s%03d' % (prefix, i)
        jobs.append({
            'name': name, 'mode': 'live', 'gpu': -1,
            'input': 'udp://239.1.%d.%d:1234' % (i // 250, i % 250 + 1),
            'profiles': [
                {'id': '0x100', 'type': 'video', 'codec': 'h264', 'width': 1280, 'height': 720,
                 'bitrate': '2500k'},
                {'id': '0x101', 'type': 'audio', 'codec': 'aac', 'bitrate': '128k'},
            ],
            'targets': [{'format': 'hls', 'url': '/data/mediahub/%s' % name, 'select': ['0x100', '0x101']}],
        })
    return jobs


def api_body(job):
    """The same job as the API's `start` body (what a uri task sends)."""
    return {'type': 'start', 'name': job['name'], 'mode': job['mode'], 'gpu': job['gpu'], 'input': job['input'],
            'profile': job['profiles'], 'target': job['targets']}


def playbook(way, url, vars_file):
    if way == 'sigma_jobs':
        task = {'name': 'lineup with sigma_jobs',
                'sigma.media_server.sigma_jobs': {'api_url': url, 'jobs': '{{ lineup }}'}}
    elif way == 'sigma_job loop':
        task = {'name': 'lineup with a sigma_job loop',
                'sigma.media_server.sigma_job': {
                    'api_url': url, 'name': '{{ item.name }}', 'mode': '{{ item.mode }}', 'gpu': '{{ item.gpu }}',
                    'input': '{{ item.input }}', 'profiles': '{{ item.profiles }}', 'targets': '{{ item.targets }}'},
                'loop': '{{ lineup }}', 'loop_control': {'label': '{{ item.name }}'}}
    else:
        task = {'name': 'lineup with a uri loop',
                'ansible.builtin.uri': {'url': url + '/', 'method': 'POST', 'body_format': 'json',
                                        'body': '{{ item }}', 'status_code': 200},
                'loop': '{{ bodies }}', 'loop_control': {'label': '{{ item.name }}'}}
    return [{'name': 'lineup: %s' % way, 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
             'vars_files': [str(vars_file)], 'tasks': [task]}]


def bench(ws, quick, checks):
    n = 10 if quick else 100
    jobs = lineup(n)
    vars_file = ws.file('lineup-vars.json', {'lineup': jobs, 'bodies': [api_body(j) for j in jobs]})
    rows = []
    with emulator(ws, 'lineup', a10_servers('lineup', len(WAYS))) as emu:
        books = {}
        for index, way in enumerate(WAYS):
            books[way] = ws.file('lineup-%d.yml' % index, json.dumps(playbook(way, emu.url(index), vars_file)))
        restarts_before = {way: 0 for way in WAYS}
        for run_name in RUNS:
            for index, way in enumerate(WAYS):
                server_port = emu.servers[index]['port']
                mark = emu.log.mark()
                result = run(ws, [ansible_bin('ansible-playbook'), '-i', 'localhost,', books[way]])
                entries = [e for e in emu.log.since(mark) if e.get('port') == server_port]
                others = [e for e in emu.log.since(mark) if e.get('port') != server_port]
                task = result.summaries[-1]
                host = task['hosts'].get('localhost', {})
                state = emu.state(index)
                restarts = sum(job['restarts'] for job in state['jobs'].values())
                functions = count_by(entries, 'function')
                row = {
                    'way': way, 'run': run_name, 'jobs': n, 'wall': result.wall,
                    'task_wall': task['end'] - task['start'], 'cpu': result.cpu,
                    'requests': len(entries), 'functions': functions,
                    'changed': host.get('items_changed', 0) if way != 'sigma_jobs' else int(bool(host.get('changed'))),
                    'restarted': restarts - restarts_before[way], 'jobs_on_server': len(state['jobs']),
                }
                restarts_before[way] = restarts
                rows.append(row)
                label = 'lineup %s %s' % (way, run_name)
                checks.equal('%s: requests to other servers' % label, len(others), 0)
                checks.equal('%s: jobs on the server' % label, row['jobs_on_server'], n)
                if way == 'uri loop':
                    checks.equal('%s: requests' % label, functions, {'start': n})
                    checks.equal('%s: jobs restarted' % label, row['restarted'], 0 if run_name == 'cold' else n)
                elif run_name == 'cold':
                    # Each job started once; how many progress reads surround the writes (before, under the
                    # write lock, after) is the engine's business: reported, not asserted.
                    checks.equal('%s: start requests' % label, functions.get('start', 0), n)
                    checks.equal('%s: requests other than start and progress' % label,
                                 len(entries) - functions.get('start', 0) - functions.get('progress', 0), 0)
                else:
                    checks.equal('%s: requests' % label, functions, {'progress': 1 if way == 'sigma_jobs' else n})
                    checks.equal('%s: jobs restarted' % label, row['restarted'], 0)
                    checks.equal('%s: reported changed' % label, row['changed'], 0)
                log('  lineup %-15s %-6s wall %6.2f s (task %6.2f s)  cpu %6.2f s  requests %4d %s'
                    % (way, run_name, row['wall'], row['task_wall'], row['cpu'], row['requests'],
                       json.dumps(functions, sort_keys=True)))
    return {'jobs': n, 'rows': rows}
