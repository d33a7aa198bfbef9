# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Markdown tables, the reading of the results, and the inventory plot, from the results of bench/run.py."""

from __future__ import annotations

import os

from _harness import md_table, median

TITLE = {
    'inventory': '1. Inventory: `ansible-inventory --list` over an emulated fleet',
    'noop': '2. No-op task cost: `sigma_job` against `ansible.builtin.uri`',
    'lineup': '3. Lineup: many jobs on one server',
    'fleet': '4. Fleet: the lineup role over many servers',
}


def table(header, rows, align=None):
    """A markdown table (the shared harness's), numbers right-aligned by default."""
    return md_table(header, rows, align or ['---'] + ['--:'] * (len(header) - 1))


def s(x, digits=2):
    return '%.*f' % (digits, x)


def ratio(a, b):
    return a / b if b else float('nan')


def functions(counts):
    return ', '.join('%s %d' % (k, v) for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))) or '-'


# ----------------------------------------------------------------------------- inventory

def _inv_index(rows):
    return dict(((r['protocol'], r['latency_ms'], r['servers'], r['mode']), r) for r in rows)


def inventory_md(res, plot_name=None):
    """The inventory section: bench_inventory.py renders what it measures."""
    import bench_inventory  # pylint: disable=import-outside-toplevel
    return bench_inventory.markdown(res, plot_name)


def inventory_reading(res):
    import bench_inventory  # pylint: disable=import-outside-toplevel
    return bench_inventory.reading(res)


def inventory_plot(res, path):
    """Wall time against fleet size, cold / warm / serial, one panel per latency; http solid, https dashed."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib import ticker

    p = res['plan']
    idx = _inv_index(res['rows'])
    sizes = sorted(set(r['servers'] for r in res['rows']))  # with the larger fleets of some cells
    fig, axes = plt.subplots(1, len(p['latencies']), figsize=(5.2 * len(p['latencies']), 4.2), squeeze=False)
    colors = {'cold': '#1f77b4', 'warm': '#2ca02c', 'serial': '#d62728'}
    for ax, latency in zip(axes[0], p['latencies']):
        for proto in p['protocols']:
            for mode in ('cold', 'warm', 'serial'):
                pts = [(size, idx[(proto, latency, size, mode)]['wall']) for size in sizes
                       if (proto, latency, size, mode) in idx]
                if not pts:
                    continue
                ax.plot([x for x, _ in pts], [y for _, y in pts], marker='o' if proto == 'http' else 's',
                        color=colors[mode], markerfacecolor=colors[mode] if proto == 'http' else 'white',
                        linestyle='-' if proto == 'http' else '--', label='%s (%s)' % (mode, proto))
        ax.set_xscale('log')
        ax.set_yscale('log')
        plain = ticker.FuncFormatter(lambda value, _pos: '%g' % value)
        ax.yaxis.set_major_formatter(plain)
        ax.yaxis.set_minor_locator(ticker.LogLocator(base=10, subs=(2, 5)))
        ax.yaxis.set_minor_formatter(plain)
        ax.tick_params(axis='y', which='minor', labelsize=7)
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(x) for x in sizes])
        ax.set_xlabel('servers')
        ax.set_ylabel('ansible-inventory --list wall time (s)')
        ax.set_title('%d ms latency' % latency)
        ax.grid(True, which='both', alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle('sigma inventory plugin: wall time against fleet size')
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ----------------------------------------------------------------------------- noop

NOOP_KINDS = ('sigma_job', 'sigma_job remote', 'module alone', 'uri')
NOOP_REMOTE_BEFORE = 1.03  # sigma_job / uri before the controller path (issue 13), for results without `module alone`


def noop_md(res):
    header = ['task', 'runs', 'median wall s', 'mean wall s', 'min s', 'max s', 'requests per task', 'changed',
              'median / uri']
    body = []
    for kind in NOOP_KINDS:
        r = res.get(kind)
        if not r:
            continue
        body.append(['`%s`' % kind, r['tasks'], s(r['median'], 3), s(r['mean'], 3), s(r['min'], 3), s(r['max'], 3),
                     s(ratio(r['requests'], r['tasks'])), r['changed'], s(ratio(r['median'], res['uri']['median']))])
    goal_wall = 'met' if round(res['ratio_median'], 2) <= 0.5 else 'not met'
    per_task = ratio(res['sigma_job']['requests'], res['sigma_job']['tasks'])
    lines = [
        'One playbook: a setup task creates the job, one warm-up task of each kind, then %d rounds of four tasks in '
        'rotating order: `sigma_job` on the controller path (`connection: local`: the action plugin runs the engine '
        'in the worker), `sigma_job remote` (the test-only connection `sigma_remote`, `ansible.builtin.local` under '
        'another name: the action plugin executes the module as on a remote host), `module alone` (the module file '
        'of `sigma_job` under another name, so no action plugin of the collection is involved: Ansible executes it '
        'as it executed every `sigma_job` before the controller path) and `uri`. Each task\'s wall time '
        'comes from a timing callback (task start to the next task start); its requests from the request-log '
        'offsets at those two moments. All send the same body: `%s`.' % (res['runs'], res['body']),
        '',
        table(header, body),
        '',
        '- wall ratio `sigma_job` / `uri`: **%s** (medians; means: %s). Goal <= 0.5: %s.'
        % (s(res['ratio_median']), s(res['ratio_mean']), goal_wall),
    ]
    if 'ratio_remote_to_module_median' in res:
        lines.append('- wall ratio `sigma_job remote` / `uri`: **%s** (medians; means: %s); `module alone` / `uri`: %s. '
                     'The remote path over the module alone, side by side: **%s** (goal: the remote path costs no '
                     'more than the module cost before the controller path; within 5%%, the spread of these medians '
                     'from run to run: %s).'
                     % (s(res['ratio_remote_median']), s(res['ratio_remote_mean']), s(res['ratio_module_median']),
                        s(res['ratio_remote_to_module_median']),
                        'met' if round(res['ratio_remote_to_module_median'], 2) <= 1.05 else 'not met'))
    elif 'ratio_remote_median' in res:
        lines.append('- wall ratio `sigma_job remote` / `uri`: **%s** (medians; means: %s). Before the controller path '
                     'every no-op `sigma_job` took this path and cost %sx `uri` (an earlier run of this benchmark, '
                     'so the comparison is across runs; goal: the remote path costs no more: %s).'
                     % (s(res['ratio_remote_median']), s(res['ratio_remote_mean']), s(NOOP_REMOTE_BEFORE),
                        'met' if round(res['ratio_remote_median'], 2) <= NOOP_REMOTE_BEFORE else 'not met'))
    lines += ['- requests per no-op `sigma_job` task: **%s** on both paths (goal exactly 1: %s).'
              % (s(per_task), 'met' if per_task == 1 else 'not met'), '']
    return '\n'.join(lines)


def noop_reading(res):
    out = ['- No-op task: a no-op `sigma_job` on the controller path costs %sx a bare `uri` call (median of %d each) '
           'and sends exactly the one `progress` request the `uri` task sends.' % (s(res['ratio_median']), res['runs'])]
    if 'ratio_remote_to_module_median' in res:
        out.append('- On the path of a remote host (the module executed through AnsiballZ) it costs %sx `uri`, %sx '
                   'the module executed alone as before the controller path (side by side).'
                   % (s(res['ratio_remote_median']), s(res['ratio_remote_to_module_median'])))
    elif 'ratio_remote_median' in res:
        out.append('- On the path of a remote host (the module executed through AnsiballZ) it costs %sx `uri` '
                   '(%sx before the controller path).' % (s(res['ratio_remote_median']), s(NOOP_REMOTE_BEFORE)))
    return out


# ----------------------------------------------------------------------------- lineup

def _lineup_index(rows):
    return dict(((r['way'], r['run']), r) for r in rows)


def lineup_md(res):
    header = ['way', 'run', 'task wall s', 'process wall s', 'CPU s', 'requests', 'by function', 'changed',
              'jobs restarted', 'task wall / sigma_jobs']
    idx = _lineup_index(res['rows'])
    body = []
    for r in res['rows']:
        base = idx.get(('sigma_jobs', r['run']))
        body.append(['`%s`' % r['way'], r['run'], s(r['task_wall']), s(r['wall']), s(r['cpu']), r['requests'],
                     functions(r['functions']), r['changed'], r['restarted'],
                     s(ratio(r['task_wall'], base['task_wall']), 1) + 'x' if base else '-'])
    return '\n'.join([
        '%d jobs (live, CPU, one video and one audio profile, one HLS target) on one server. Each way has its own '
        'emulated server and runs as its own `ansible-playbook` process: first a cold create on the empty server, '
        'then a re-run with nothing to change. `changed` counts changed loop items (for `sigma_jobs`: 1 = the task '
        'changed); `jobs restarted` is read from the emulator\'s state after the run (`start` on an existing job).'
        % res['jobs'],
        '',
        table(header, body, ['---', '---'] + ['--:'] * 4 + ['---'] + ['--:'] * 3),
        '',
    ])


def lineup_reading(res):
    idx = _lineup_index(res['rows'])
    lines = []
    jobs_noop, loop_noop, uri_noop = (idx.get((w, 'no-op')) for w in ('sigma_jobs', 'sigma_job loop', 'uri loop'))
    jobs_cold, loop_cold, uri_cold = (idx.get((w, 'cold')) for w in ('sigma_jobs', 'sigma_job loop', 'uri loop'))
    if jobs_cold and loop_cold and uri_cold:
        lines.append('- Lineup, cold create of %d jobs: one `sigma_jobs` task takes %s s, a `sigma_job` loop %s s '
                     '(%sx), a `uri` loop %s s (%sx).'
                     % (res['jobs'], s(jobs_cold['task_wall']), s(loop_cold['task_wall']),
                        s(ratio(loop_cold['task_wall'], jobs_cold['task_wall']), 1), s(uri_cold['task_wall']),
                        s(ratio(uri_cold['task_wall'], jobs_cold['task_wall']), 1)))
    if jobs_noop and loop_noop and uri_noop:
        lines.append('- Lineup, re-run with nothing to change: `sigma_jobs` sends %d request in %s s; the `sigma_job` '
                     'loop sends %d in %s s; the `uri` loop sends %d `start` calls and restarts %d running jobs - '
                     'it is not idempotent.'
                     % (jobs_noop['requests'], s(jobs_noop['task_wall']), loop_noop['requests'],
                        s(loop_noop['task_wall']), uri_noop['requests'], uri_noop['restarted']))
    return lines


# ----------------------------------------------------------------------------- fleet

def _fleets(res):
    """The fleets of a result: a list (since the debug baseline), or the one fleet of an older result."""
    if 'fleets' in res:
        return res['fleets']
    return [dict(res, ratio_wall=None, ratio_cpu=None)]


def fleet_md(res):
    header = ['servers x jobs', 'run', 'wall s', 'CPU s', 'CPU ms / server', 'requests', 'by function',
              'hosts changed', 'jobs running', 'restarts']
    body = []
    for fleet in _fleets(res):
        for r in fleet['rows']:
            body.append(['%d x %d' % (r['servers'], r['jobs']), r['run'], s(r['wall']), s(r['cpu']),
                         s(r['cpu'] * 1000.0 / r['servers'], 0), r['requests'], functions(r['functions']),
                         r.get('hosts_changed', '-'), r.get('jobs_running', '-'), r.get('restarts', '-')])
    goals = []
    for fleet in _fleets(res):
        if fleet.get('ratio_wall') is not None:
            goals.append('- %d servers: the no-op role over the `debug` floor, wall **%s** (CPU %s)%s; the role\'s '
                         '`sigma_jobs` task alone over the floor, wall **%s** (CPU %s)%s.'
                         % (fleet['servers'], s(fleet['ratio_wall']), s(fleet['ratio_cpu']),
                            '; goal <= 1.3: %s' % ('met' if round(fleet['ratio_wall'], 2) <= 1.3 else 'not met')
                            if fleet['servers'] == 100 else '', s(fleet.get('task_ratio_wall', float('nan'))),
                            s(fleet.get('task_ratio_cpu', float('nan'))),
                            '; the lineup floor (a task that only takes the host\'s lineup) over `debug`, wall **%s** '
                            '(CPU %s)' % (s(fleet['floor_ratio_wall']), s(fleet['floor_ratio_cpu']))
                            if fleet.get('floor_ratio_wall') else ''))
            if fleet.get('unchecked_ratio_wall'):
                goals.append('- %d servers: the no-op role imported with `rolespec_validate: false` (no argument '
                             'validation task) over `debug`, wall **%s** (CPU %s).'
                             % (fleet['servers'], s(fleet['unchecked_ratio_wall']), s(fleet['unchecked_ratio_cpu'])))
    for fleet in _fleets(res):
        cpu = {}
        for r in fleet['rows']:
            cpu.setdefault(r['run'], []).append(r['cpu'] * 1000.0 / r['servers'])
        if all(k in cpu for k in ('debug', 'floor', 'task', 'unchecked', 'no-op')):
            per = dict((k, median(v)) for k, v in cpu.items())
            goals.append('- %d servers x %d jobs, where the controller CPU of a no-op run goes, per server (medians): '
                         '`debug` %s ms (Ansible itself: start-up, inventory, one task); handing the lineup to a task '
                         '+%s ms (`floor` - `debug`: Ansible templates %d jobs into the task\'s arguments); the '
                         '`sigma_jobs` task\'s own work +%s ms (`task` - `floor`: validation, the request, planning, '
                         'the per-job result Ansible carries back); the role\'s task around it +%s ms (`unchecked` - '
                         '`task`: the role\'s defaults in every host\'s variables, its templated API URL check, '
                         '`delegate_to`, `when` and `register`); the role\'s argument '
                         'validation task +%s ms (`no-op` - `unchecked`: one more task per host, which templates the '
                         'lineup and the documented options again).'
                         % (fleet['servers'], fleet['jobs'], s(per['debug'], 0), s(per['floor'] - per['debug'], 0),
                            fleet['jobs'], s(per['task'] - per['floor'], 0), s(per['unchecked'] - per['task'], 0),
                            s(per['no-op'] - per['unchecked'], 0)))
    measured = set(fleet['servers'] for fleet in _fleets(res))
    if 1000 not in measured:
        goals.append('- 1000 servers: not measured in this run (`run.py --fleet-sizes` left the long fleet out); '
                     'the goal at 100 servers is the one this section checks.')
    for fleet in _fleets(res):
        noops = [r for r in fleet['rows'] if r['run'] == 'no-op' and r.get('task_walls')]
        if noops:
            walls = {}
            for r in noops:
                for name, wall in r['task_walls']:
                    walls.setdefault(name, []).append(wall)
            goals.append('- %d servers, where a no-op run of the role spends its time (each task over all hosts, '
                         'median of the no-op runs): %s.' % (fleet['servers'], '; '.join(
                             '`%s` %s s' % (name, s(median(w))) for name, w in walls.items())))
    return '\n'.join([
        '`ansible-playbook -f %d` of a play that applies the role `sigma.media_server.lineup` to every host; the '
        'inventory is the `sigma` inventory plugin over the fleet without cache (so each run also sends one '
        '`dump` per server), the lineup comes from `group_vars/all`. The role\'s `sigma_jobs` task runs delegated to '
        '`localhost`, so its action plugin runs the engine in the worker (the controller path). In the converge '
        'run, the module also reads `progress` around its writes. `task` is a play of the role\'s `sigma_jobs` task '
        'alone (delegated to `localhost`, the lineup from the same `group_vars`); `unchecked` the no-op role '
        'imported with `rolespec_validate: false` (no argument validation task); `floor` a play of one task of a '
        'benchmark-only action plugin that takes the host\'s lineup as its argument (`jobs: "{{ sigma_lineup }}"`) '
        'and returns at once: what Ansible itself costs to hand a lineup of that size to any task; `debug` a play of '
        'one `ansible.builtin.debug` task over the same hosts and inventory: the floor, what Ansible itself costs per '
        'host. The no-op re-runs, `unchecked`, `task`, `floor` and `debug` alternate.' % res['forks'],
        '',
        table(header, body, ['---', '---'] + ['--:'] * 4 + ['---'] + ['--:'] * 3),
        '',
    ] + goals + [''])


def fleet_reading(res):
    out = []
    for fleet in _fleets(res):
        idx = dict((r['run'], r) for r in fleet['rows'])
        conv, noop = idx.get('converge'), idx.get('no-op')
        if not (conv and noop):
            continue
        line = ('- Fleet, %d servers x %d jobs: converge %s s with %d requests; the no-op re-run %s s with %d '
                'requests - one `dump` (inventory) and one `progress` (role) per server, nothing restarted'
                % (fleet['servers'], fleet['jobs'], s(conv['wall']), conv['requests'], s(noop['wall']),
                   noop['requests']))
        if fleet.get('ratio_wall') is not None:
            line += ('; %sx the wall time of one `debug` task over the same hosts (the `sigma_jobs` task alone: %sx%s)'
                     % (s(fleet['ratio_wall']), s(fleet.get('task_ratio_wall', float('nan'))),
                        '; a task that only takes the lineup: %sx' % s(fleet['floor_ratio_wall'])
                        if fleet.get('floor_ratio_wall') else ''))
        out.append(line + '.')
    return out


# ----------------------------------------------------------------------------- document

SECTIONS = {
    'inventory': (inventory_md, inventory_reading),
    'noop': (noop_md, noop_reading),
    'lineup': (lineup_md, lineup_reading),
    'fleet': (fleet_md, fleet_reading),
}
ORDER = ('inventory', 'noop', 'lineup', 'fleet')


MACHINE_KEYS = ('uname', 'cpu', 'cores', 'python', 'ansible_core')


def machine_md(machine):
    return table(['', ''], [
        ['machine (`uname -a`)', '`%s`' % machine['uname']],
        ['CPU', '%s, %s cores' % (machine['cpu'], machine['cores'])],
        ['Python', machine['python']],
        ['ansible-core', machine['ansible_core']],
    ], ['---', '---'])


def section_md(name, entry, plot_name=None):
    """One benchmark's section (entry: {'result', 'machine', 'quick', 'seconds', 'checks'})."""
    md_fn, _ = SECTIONS[name]
    res = entry['result']
    out = ['## %s' % TITLE[name], '',
           '_Measured %s%s in %.0f s (load average at the start of the run: %s); %d count checks passed._'
           % (entry.get('date', entry['machine']['date']), ' (quick mode)' if entry.get('quick') else '',
              entry['seconds'], entry['machine']['load'], entry['checks']), '']
    out.append(md_fn(res, plot_name) if name == 'inventory' else md_fn(res))
    return '\n'.join(out)


def document(results, plot_name=None, quick=False):
    """The whole docs/performance.md from {benchmark: entry}."""
    machines = []
    for name in ORDER:
        if name in results:
            machine = dict((k, results[name]['machine'].get(k)) for k in MACHINE_KEYS)
            if machine not in machines:
                machines.append(machine)
    out = [
        '# Performance',
        '',
        '<!-- Generated by bench/run.py (`make bench`); do not edit by hand: run it again. -->',
        '',
        'What the collection costs the controller and the servers, measured with the scripts in `bench/` '
        '(`make bench`; `make bench-quick` runs a short version inside `make test`) against the emulator '
        '(`emulator/`), whose request log counts every request a server received.',
        '',
        'Every figure that compares is a **ratio or a count measured side by side in the same run**: the '
        'alternatives run interleaved against the same emulator, so a busy machine slows all of them alike. '
        '**The absolute times below were measured on a shared 2-core machine, where other work (test suites) '
        'may have run at the same time** (each section gives the load average when the run started); read the '
        'ratios and counts, not the seconds. Every count shown is also asserted by the benchmark (a wrong count '
        'fails the run, and `make bench-quick` fails `make test`).',
        '',
    ]
    if quick:
        out += ['**Quick mode** (`--quick`): small sizes, for checking that the benchmarks run and count right.', '']
    out += ['## Machine', '']
    for machine in machines:
        out += [machine_md(machine), '']
    out += ['## Reading', '']
    for name in ORDER:
        if name in results:
            out += SECTIONS[name][1](results[name]['result'])
    out.append('')
    for name in ORDER:
        if name in results:
            out += [section_md(name, results[name], plot_name), '']
        else:
            out += ['## %s' % TITLE[name], '', '_Not measured in this run._', '']
    out += ['## Running them', '', '```sh',
            'make bench                                   # everything; rewrites docs/performance.md and the plot',
            'make bench-quick                             # small sizes, asserts the counts, writes nothing in docs/',
            '.venv/bin/python bench/run.py --only noop,lineup   # some of them (the other sections are kept)',
            '```', '', 'See `bench/README.md`.', '']
    return '\n'.join(out)


def write_plot(results, path):
    """Render the inventory plot; returns None or the reason it was not rendered."""
    if 'inventory' not in results:
        return 'no inventory results'
    try:
        inventory_plot(results['inventory']['result'], path)
    except ImportError as exc:
        return 'matplotlib is not installed (%s)' % exc
    return None if os.path.exists(path) else 'not written'
