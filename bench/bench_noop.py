# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark 2: the cost of a no-op sigma_job task against a bare ansible.builtin.uri task.

One emulated server holds one running job. One playbook runs, after a setup task that creates the job and
one warm-up task of each kind, N rounds of four tasks in rotating order: sigma_job with the job's unchanged
configuration on the controller path (connection local: the action plugin runs the engine in the worker),
the same on the remote path (connection sigma_remote, a test-only copy of ansible.builtin.local that the
action plugin does not take for the controller, so it executes the module as on a remote host), the module
alone (its file under another name: no action plugin, as before the controller path), and uri POSTing the
same single `progress` request. The timing callback gives each task's wall time and the
request-log offsets around it, so requests are counted per task.
"""

from __future__ import annotations

import json

from _harness import ROOT, a10_servers, ansible_bin, emulator, log, median, run
from sigma_harness import REMOTE_CONNECTION

JOB = 'bench-noop'
KINDS = ('sigma_job', 'sigma_job remote', 'module alone', 'uri')
# `module alone`: the module file of sigma_job under another name (library/ next to the playbook), so that no
# action plugin of the collection is involved: Ansible executes it through AnsiballZ as it executed every
# sigma_job before the controller path (issue 13). The remote path should cost no more than that.
MODULE_ALONE = 'sigma_job_module_alone'


def job_spec():
    """The job, in sigma_job's options."""
    return {
        'name': JOB, 'mode': 'live', 'gpu': -1,
        'input': 'udp://239.1.1.1:1234',
        'profiles': [
            {'id': '0x100', 'type': 'video', 'codec': 'h264', 'width': 1280, 'height': 720, 'bitrate': '2500k'},
            {'id': '0x101', 'type': 'audio', 'codec': 'aac', 'bitrate': '128k'},
        ],
        'targets': [{'format': 'hls', 'url': '/data/mediahub/%s' % JOB, 'select': ['0x100', '0x101']}],
    }


def playbook(url, runs):
    sigma_job = dict(job_spec(), api_url=url)
    uri = {'url': url + '/', 'method': 'POST', 'body_format': 'json',
           'body': {'type': 'progress', 'name': JOB}, 'status_code': 200}
    task = {
        'sigma_job': {'sigma.media_server.sigma_job': sigma_job},
        'sigma_job remote': {'sigma.media_server.sigma_job': sigma_job, 'connection': 'sigma_remote'},
        'module alone': {MODULE_ALONE: sigma_job},
        'uri': {'ansible.builtin.uri': uri},
    }
    tasks = [dict(task['sigma_job'], name='setup: create the job')]
    tasks += [dict(task[kind], name='warmup | %s' % kind) for kind in KINDS]
    for i in range(runs):
        order = KINDS[i % len(KINDS):] + KINDS[:i % len(KINDS)]
        tasks += [dict(task[kind], name='run %d | %s' % (i, kind)) for kind in order]
    return [{'name': 'no-op task cost', 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
             'tasks': tasks}]


def bench(ws, quick, checks):
    runs = 5 if quick else 50
    with emulator(ws, 'noop', a10_servers('noop', 1)) as emu:
        book = ws.file('noop.yml', json.dumps(playbook(emu.url(0), runs), indent=1))
        ws.file('library/%s.py' % MODULE_ALONE, (ROOT / 'plugins' / 'modules' / 'sigma_job.py').read_text(encoding='utf-8'))
        result = run(ws, [ansible_bin('ansible-playbook'), '-i', 'localhost,', book],
                     env={'SIGMA_RECORDER_REQUEST_LOG': str(emu.log.path), 'ANSIBLE_CONNECTION_PLUGINS': str(REMOTE_CONNECTION)})
        state = emu.state(0)
        samples = dict((kind, []) for kind in KINDS)
        for task in result.summaries:
            if not task['name'].startswith('run '):
                continue
            kind = task['name'].split(' | ', 1)[1]
            host = task['hosts'].get('localhost', {})
            entries = emu.log.since(task['log_start'], task['log_end'])
            samples[kind].append({
                'wall': task['end'] - task['start'], 'requests': len(entries), 'changed': host.get('changed'),
                'status': host.get('status'), 'bodies': [json.dumps(e.get('body'), sort_keys=True) for e in entries],
            })
    out = {'runs': runs, 'playbook_wall': result.wall, 'playbook_cpu': result.cpu}
    for kind, rows in samples.items():
        checks.equal('noop: %s tasks measured' % kind, len(rows), runs)
        checks.equal('noop: %s tasks that failed' % kind, sum(r['status'] != 'ok' for r in rows), 0)
        checks.equal('noop: %s requests per task (every task)' % kind,
                     sorted(set(r['requests'] for r in rows)), [1])
        walls = [r['wall'] for r in rows]
        out[kind] = {'median': median(walls), 'mean': sum(walls) / max(1, len(walls)),
                     'min': min(walls, default=float('nan')), 'max': max(walls, default=float('nan')),
                     'requests': sum(r['requests'] for r in rows), 'tasks': len(rows),
                     'changed': sum(bool(r['changed']) for r in rows)}
    for kind in ('sigma_job', 'sigma_job remote', 'module alone'):
        checks.equal('noop: %s tasks reported changed' % kind, out[kind]['changed'], 0)
    bodies = set(b for rows in samples.values() for r in rows for b in r['bodies'])
    checks.equal('noop: distinct request bodies (sigma_job on both paths and uri send the same)', len(bodies), 1)
    checks.equal('noop: restarts of the job', state['jobs'].get(JOB, {}).get('restarts'), 0)
    out['ratio_median'] = out['sigma_job']['median'] / out['uri']['median']
    out['ratio_mean'] = out['sigma_job']['mean'] / out['uri']['mean']
    out['ratio_remote_median'] = out['sigma_job remote']['median'] / out['uri']['median']
    out['ratio_remote_mean'] = out['sigma_job remote']['mean'] / out['uri']['mean']
    out['ratio_module_median'] = out['module alone']['median'] / out['uri']['median']
    out['ratio_remote_to_module_median'] = out['sigma_job remote']['median'] / out['module alone']['median']
    out['body'] = sorted(bodies)[0] if len(bodies) == 1 else ' | '.join(sorted(bodies))
    log('  noop: medians sigma_job %.3f s, sigma_job remote %.3f s, uri %.3f s; ratios to uri %.2f and %.2f'
        % (out['sigma_job']['median'], out['sigma_job remote']['median'], out['uri']['median'], out['ratio_median'],
           out['ratio_remote_median']))
    return out
