# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults x subjects: what a module does when the server misbehaves.

For every subject ONE playbook walks through every fault: reset the server,
switch the fault on (through the emulator's control port, `sigma_emu`), run
the module, read the server's request log and state, switch the fault off,
run again. The tests then check, per fault, from the recorded results:

- the task failed, with a message naming the server URL and the cause;
- it failed within timeout x (retries + 1) + 1 s + the cost of a trivial
  task of the same module measured in the same playbook (baseline);
- it reported `changed` exactly when a change reached the server (a start or
  stop that the server answered with ec 0), and the server's jobs agree;
- once the fault is gone, a re-run converges with nothing lost.
"""

from __future__ import annotations

import re

import pytest

import rel_support as support
from rel_support import FIGURES, excerpt

TIMEOUT = 1.0
RETRIES = 1
SLOW_OK_MS = 700      # an answer that takes 70 % of the timeout must still succeed
SLOW_FAIL_MS = 1500   # one that takes 150 % must fail as a timeout
MUTATING = ('start', 'stop', 'update')

# name -> (fault set, regex the failure message must match, or None: must succeed)
FAULTS = [
    ('refused', {'refuse': True}, r'connection refused'),
    ('reset', {'reset': True}, r'reset'),
    ('hang', {'hang': True}, r'timed out|timeout'),
    ('http500', {'http500': True}, r'HTTP 500'),
    ('html502', {'html502': True}, r'HTTP 502'),
    ('ec', {'ec_rate': 1.0}, r'ec=9'),
    ('slow-fail', {'latency_ms': SLOW_FAIL_MS}, r'timed out|timeout'),
    ('slow-ok', {'latency_ms': SLOW_OK_MS}, None),
    ('restart', None, None),
]
# the same faults limited to the write (`start`): the read before it works
WRITE_FAULTS = [
    ('reset@start', {'reset': {'functions': ['start']}}, r'reset'),
    ('hang@start', {'hang': {'functions': ['start']}}, r'timed out|timeout'),
    ('http500@start', {'http500': {'functions': ['start']}}, r'HTTP 500'),
    ('html502@start', {'html502': {'functions': ['start']}}, r'HTTP 502'),
    ('ec@start', {'ec_rate': {'rate': 1.0, 'functions': ['start']}}, r'ec=9'),
]


class Subject(object):
    """A module under test: its name, its arguments, and what 'converged' means."""

    mutating = False

    def __init__(self, name, server):
        self.name = name
        self.server = server

    def args(self, emulator):
        return dict(api_url=emulator.url(self.server), timeout=TIMEOUT, retries=RETRIES)

    def task(self, emulator, name):
        return {'name': name, self.module: self.args(emulator), 'ignore_errors': True}

    def check_rerun(self, case, run, emulator):
        """Return a list of problems of the re-run after the fault was cleared."""
        return []


class InfoSubject(Subject):
    module = 'sigma.media_server.sigma_info'

    def args(self, emulator):
        args = super(InfoSubject, self).args(emulator)
        args['gather_subset'] = ['all']
        return args

    def check_rerun(self, case, run, emulator):
        base = run.task('baseline:run2')['result']
        res = run.task('%s:rerun' % case)['result']
        problems = []
        for key in ('server', 'gpus', 'license'):
            if key not in res:
                problems.append('re-run result lacks %s' % key)
        if not problems:
            if res['server']['name'] != base['server']['name'] or len(res['gpus']) != len(base['gpus']) \
                    or res['license']['status'] != base['license']['status']:
                problems.append('re-run result differs from the baseline')
        return problems

    def check_restart(self, run):
        before = run.task('restart:first')['result'].get('server', {}).get('started')
        after = run.task('restart:run')['result'].get('server', {}).get('started')
        if not before or before == after:
            return ['the start time did not move across the restart (%s -> %s)' % (before, after)]
        return []


def live_job(name, n):
    return {
        'name': name,
        'input': 'udp://239.0.10.%d:1234' % n,
        'profiles': [{'id': '0x100', 'type': 'video', 'codec': 'h264', 'width': 1280, 'height': 720, 'bitrate': '2500k'},
                     {'id': '0x101', 'type': 'audio'}],
        'targets': [{'format': 'hls', 'url': '/data/rel/%s' % name, 'select': ['0x100', '0x101']}],
    }


class JobSubjectBase(Subject):
    mutating = True
    write_faults = [c[0] for c in WRITE_FAULTS]

    def expected(self):
        """{job name: input} of the jobs that must exist once converged."""
        raise NotImplementedError

    def check_rerun(self, case, run, emulator):
        problems = []
        again = run.task('%s:again' % case)
        if again['status'] != 'ok' or again['result'].get('changed'):
            problems.append('the run after the re-run is not a no-op: %s changed=%s %s' % (
                again['status'], again['result'].get('changed'), excerpt(again['result'].get('msg'), 200)))
        jobs = run.task('%s:final' % case)['result']['answer']['jobs']
        expected = self.expected()
        if sorted(jobs) != sorted(expected):
            problems.append('jobs on the server: %s, expected %s' % (sorted(jobs), sorted(expected)))
        for name, inp in expected.items():
            job = jobs.get(name)
            if not job:
                continue
            if job['config'].get('input') != inp:
                problems.append('job %s has input %r, expected %r' % (name, job['config'].get('input'), inp))
            if job['restarts']:
                problems.append('job %s was started %d more time(s) than needed' % (name, job['restarts']))
        return problems

    def check_restart(self, run):
        problems = []
        first = run.task('restart:first')['result']
        after = run.task('restart:run')['result']
        if not run.task('restart:state0')['result']['answer']['jobs']:
            problems.append('the first run created no job')
        if not first.get('changed') or not after.get('changed'):
            problems.append('a run that had to start the job(s) reports changed=%s/%s' % (first.get('changed'), after.get('changed')))
        return problems


class JobSubject(JobSubjectBase):
    module = 'sigma.media_server.sigma_job'
    job = live_job('rel-live-1', 1)

    def args(self, emulator):
        args = super(JobSubject, self).args(emulator)
        args.update(self.job)
        return args

    def expected(self):
        return {self.job['name']: self.job['input']}


class JobsSubject(JobSubjectBase):
    module = 'sigma.media_server.sigma_jobs'
    # the same engine as sigma_job, which meets every write fault; here the ones where one call of a lineup
    # fails among others
    write_faults = ['reset@start', 'hang@start']
    lineup = [live_job('rel-lineup-%d' % n, 10 + n) for n in (1, 2, 3)]
    # a job that must not exist: in the case 'partial@start' it does, and its stop is the write that succeeds
    # before the first start fails
    old = {'name': 'rel-old', 'state': 'absent'}

    def args(self, emulator):
        args = super(JobsSubject, self).args(emulator)
        args['jobs'] = [self.old] + self.lineup
        return args

    def expected(self):
        return dict((j['name'], j['input']) for j in self.lineup)

    def setup(self, emulator, case):
        if case != 'partial@start':
            return []
        args = Subject.args(self, emulator)
        args['jobs'] = [live_job('rel-old', 99)]
        return [{'name': '%s:setup' % case, self.module: args}]


SUBJECTS = {
    'sigma_info': InfoSubject('sigma_info', 'info'),
    'sigma_job': JobSubject('sigma_job', 'job'),
    'sigma_jobs': JobsSubject('sigma_jobs', 'jobs'),
}
EXTRA_CASES = {
    # a stop succeeds, then the first start fails: the task fails AND reports changed
    'sigma_jobs': [('partial@start', {'ec_rate': {'rate': 1.0, 'functions': ['start']}}, r'ec=9')],
}


def cases(subject):
    return FAULTS + [c for c in WRITE_FAULTS if subject.mutating and c[0] in subject.write_faults] + EXTRA_CASES.get(subject.name, [])


def emu(port, op, name, body=None):
    task = {'name': name, 'sigma_emu': {'port': port, 'op': op}}
    if body is not None:
        task['sigma_emu']['body'] = body
    return task


def playbook(subject, emulator):
    port = emulator.port(subject.server)
    tasks = [emu(port, 'reset', 'baseline:reset'),
             subject.task(emulator, 'baseline:run1'),
             subject.task(emulator, 'baseline:run2')]
    for case, fault, _match in cases(subject):
        tasks.append(emu(port, 'reset', '%s:reset' % case))
        tasks.extend(subject.setup(emulator, case) if hasattr(subject, 'setup') else [])
        if case == 'restart':
            tasks.append(subject.task(emulator, '%s:first' % case))
            tasks.append(emu(port, 'state', '%s:state0' % case))
            tasks.append(emu(port, 'forget_requests', '%s:forget' % case))
            tasks.append(emu(port, 'restart', '%s:fault' % case))
        else:
            tasks.append(emu(port, 'faults', '%s:fault' % case, fault))
        tasks.append(subject.task(emulator, '%s:run' % case))
        tasks.append(emu(port, 'requests', '%s:log' % case))
        tasks.append(emu(port, 'state', '%s:state' % case))
        tasks.append(emu(port, 'clear', '%s:clear' % case))
        tasks.append(subject.task(emulator, '%s:rerun' % case))
        if subject.mutating:
            tasks.append(subject.task(emulator, '%s:again' % case))
            tasks.append(emu(port, 'state', '%s:final' % case))
    return tasks


_RUNS = {}


@pytest.fixture(scope='module')
def fault_runs(ansible, emulator):
    """The fault playbooks of every subject, run at the same time (each subject has its own server).

    The machine is busier while they run, which the time bound absorbs: the cost of a trivial call is
    re-measured right after every case (see test_fault).
    """
    if not _RUNS:
        handles = {}
        for name, subject in SUBJECTS.items():
            emulator.reset(subject.server)
            handles[name] = ansible.playbook_async(playbook(subject, emulator), label='faults-%s' % name)
        for name, handle in handles.items():
            run = ansible.finish(handle, timeout=300)
            _RUNS[name] = run

    def get(name):
        run = _RUNS[name]
        assert run.rc in (0, 2), run.explain()
        base = [run.task('baseline:run1'), run.task('baseline:run2')]
        assert all(b['status'] == 'ok' for b in base), run.explain()
        return SUBJECTS[name], run, max(b['duration'] for b in base)
    return get


def successful_writes(log):
    return [e for e in log if e.get('function') in MUTATING and e.get('status') == 200 and e.get('ec') == 0]


def matrix():
    for name, subject in SUBJECTS.items():
        for case, fault, match in cases(subject):
            yield pytest.param(name, case, fault, match, id='%s-%s' % (name, case))


@pytest.mark.parametrize('name, case, fault, match', list(matrix()))
def test_fault(fault_runs, emulator, name, case, fault, match):
    subject, run, baseline = fault_runs(name)
    res = run.task('%s:run' % case)
    result = res['result']
    # requests of this run only: a request of the previous case that the client gave up on may end (and be
    # logged) after the reset
    log = [e for e in run.task('%s:log' % case)['result']['answer']['requests'] if e['time'] >= res['start'] - 0.05]
    url = emulator.url(subject.server)
    rerun = run.task('%s:rerun' % case)
    # the machine may be busy: the cost of a trivial call is the larger of the playbook's baseline and the
    # successful re-run right after this case (same module, same work, no fault)
    baseline = max(baseline, rerun['duration'])
    problems = []
    changed = bool(result.get('changed'))
    writes = successful_writes(log)
    # never a changed that did not happen, never a change that is not reported
    if changed != bool(writes):
        problems.append('changed=%s but %d write(s) reached the server with ec 0' % (changed, len(writes)))
    if match is not None:
        bound = TIMEOUT * (RETRIES + 1) + 1.0 + baseline
        msg = str(result.get('msg', ''))
        if res['status'] != 'failed':
            problems.append('the task did not fail: %s' % excerpt(result, 300))
        if url.split('://')[1] not in msg:
            problems.append('message does not name the server %s: %s' % (url, msg))
        if not re.search(match, msg, re.I):
            problems.append('message does not name the cause /%s/: %s' % (match, msg))
        if '<html' in msg.lower() and len(msg) > 600:
            problems.append('message carries a whole HTML page')
        if res['duration'] > bound:
            problems.append('took %.2f s, bound %.2f s' % (res['duration'], bound))
        attempts = [e for e in log if e.get('fault')]
        unsafe = [e for e in attempts if e.get('function') in MUTATING]
        if len(unsafe) > 1:
            problems.append('a write was sent %d times: %s' % (len(unsafe), unsafe))
        if len(attempts) > RETRIES + 1 and case != 'refused':
            problems.append('%d attempts for %d retries' % (len(attempts), RETRIES))
        outcome = 'failed' if res['status'] == 'failed' else res['status']
        time_text = '%.2f / %.2f s' % (res['duration'], bound)
    elif case == 'slow-ok':
        calls = len(log)
        bound = calls * SLOW_OK_MS / 1000.0 + 1.0 + baseline
        if res['status'] != 'ok':
            problems.append('a slow answer within the timeout failed: %s' % excerpt(result.get('msg'), 300))
        if res['duration'] < calls * SLOW_OK_MS / 1000.0:
            problems.append('faster than the latency: the fault was not applied')
        if res['duration'] > bound:
            problems.append('took %.2f s, bound %.2f s' % (res['duration'], bound))
        msg = result.get('msg', '') or 'ok (%d request(s) of %d ms)' % (calls, SLOW_OK_MS)
        outcome = res['status']
        time_text = '%.2f / %.2f s' % (res['duration'], bound)
    else:  # restart between two runs
        first = run.task('%s:first' % case)
        if first['status'] != 'ok' or res['status'] != 'ok':
            problems.append('a run around the restart failed: %s' % excerpt(result.get('msg'), 300))
        problems.extend(subject.check_restart(run) if hasattr(subject, 'check_restart') else [])
        msg = result.get('msg', '') or 'ok after the restart'
        outcome = res['status']
        time_text = '%.2f s' % res['duration']
    if rerun['status'] != 'ok':
        problems.append('re-run after clearing the fault failed: %s' % excerpt(rerun['result'].get('msg'), 300))
    else:
        problems.extend(subject.check_rerun(case, run, emulator))
    FIGURES.add('faults', subject=name, fault=case, outcome=outcome, message=excerpt(msg, 120), time=time_text,
                changed=changed, writes=len(writes), rerun='ok' if rerun['status'] == 'ok' and not problems else 'PROBLEM',
                problems=problems)
    assert not problems, '%s / %s:\n- %s' % (name, case, '\n- '.join(problems))


# ----------------------------------------------------------------------------- inventory
#
# The inventory meets every fault in ONE ansible-inventory run: one server per fault (support.SERVERS
# 'inv-<fault>') plus a healthy one. The plugin promises that the whole fetch ends within
# timeout x (retries + 1), whatever the number of servers, so the run's wall time is bounded like one call.

INVENTORY_FAULTS = [(c, f, m) for c, f, m in FAULTS if c != 'restart']


def inventory_config(emulator, servers, **extra):
    config = {
        'plugin': 'sigma.media_server.sigma',
        'servers': [{'url': emulator.url(s), 'name': 'rel-%s' % s} for s in servers],
        'timeout': TIMEOUT,
        'retries': RETRIES,
    }
    config.update(extra)
    return config


def listed(run):
    assert run.rc == 0, run.explain()
    return support.inventory_json(run.stdout)


def groups_of(inv, host):
    return sorted(g for g, v in inv.items() if g != '_meta' and host in (v.get('hosts') or []))


_INV = {}


@pytest.fixture(scope='module')
def inventory_fault_run(ansible, emulator):
    """baseline run, run with every fault on, re-run with every fault off."""
    if not _INV:
        servers = ['inv-ok'] + ['inv-%s' % c for c, _f, _m in INVENTORY_FAULTS]
        for server in servers:
            emulator.reset(server)
        config = inventory_config(emulator, servers)
        base = ansible.inventory(config, label='inv-baseline')
        for case, fault, _match in INVENTORY_FAULTS:
            emulator.faults('inv-%s' % case, **fault)
        run = ansible.inventory(config, label='inv-faults')
        logs = dict((case, emulator.requests('inv-%s' % case)) for case, _f, _m in INVENTORY_FAULTS)
        for case, _f, _m in INVENTORY_FAULTS:
            emulator.clear('inv-%s' % case)
        rerun = ansible.inventory(config, label='inv-rerun')
        _INV.update(base=listed(base), run=run, inv=listed(run), logs=logs, rerun=listed(rerun),
                    baseline=max(base.wall, rerun.wall))
    return _INV


@pytest.mark.parametrize('case, fault, match', [pytest.param(c, f, m, id='inventory-%s' % c) for c, f, m in INVENTORY_FAULTS])
def test_inventory_fault(emulator, inventory_fault_run, case, fault, match):
    data = inventory_fault_run
    base, inv, rerun, run = data['base'], data['inv'], data['rerun'], data['run']
    host, url = 'rel-inv-%s' % case, emulator.url('inv-%s' % case)
    hostvars = inv['_meta']['hostvars']
    problems = []
    if groups_of(inv, 'rel-inv-ok') != groups_of(base, 'rel-inv-ok') or 'sigma_error' in hostvars.get('rel-inv-ok', {}):
        problems.append('the healthy server lost its host or groups: %s' % groups_of(inv, 'rel-inv-ok'))
    if match is not None:
        error = str(hostvars.get(host, {}).get('sigma_error', ''))
        if groups_of(inv, host) != ['sigma_unreachable']:
            problems.append('the faulty server is not (only) in sigma_unreachable: %s' % groups_of(inv, host))
        if url.split('://')[1] not in error or not re.search(match, error, re.I):
            problems.append('sigma_error does not name the server and the cause /%s/: %r' % (match, error))
        if not re.search(r'%s\b.*%s' % (re.escape(host), re.escape(url.split('://')[1])), run.stderr):
            problems.append('no warning names the unreachable server: %s' % excerpt(run.stderr, 400))
        if len([e for e in data['logs'][case] if e.get('fault')]) > RETRIES + 1 and case != 'refused':
            problems.append('%d attempts for %d retries' % (len(data['logs'][case]), RETRIES))
        msg, outcome = error, 'host in sigma_unreachable'
    else:  # slow-ok
        if groups_of(inv, host) != groups_of(base, host) or 'sigma_error' in hostvars.get(host, {}):
            problems.append('a slow answer within the timeout lost the host: %s' % groups_of(inv, host))
        if run.wall < SLOW_OK_MS / 1000.0:
            problems.append('faster than the latency: the fault was not applied')
        msg, outcome = 'all hosts and groups as without the fault', 'ok'
    # the whole run (every fault at once) must end within the bound of one call
    bound = TIMEOUT * (RETRIES + 1) + 1.0 + data['baseline']
    if run.wall > bound:
        problems.append('the run took %.2f s, bound %.2f s' % (run.wall, bound))
    if rerun['_meta']['hostvars'].get(host) != base['_meta']['hostvars'][host] or groups_of(rerun, host) != groups_of(base, host):
        problems.append('the re-run after the fault did not give the baseline host back: %s %s'
                        % (groups_of(rerun, host), excerpt(rerun['_meta']['hostvars'].get(host), 300)))
    FIGURES.add('faults', subject='inventory', fault=case, outcome=outcome, message=excerpt(msg, 120),
                time='%.2f / %.2f s (one run, all faults)' % (run.wall, bound), changed='n/a', writes=0,
                rerun='ok' if not problems else 'PROBLEM', problems=problems)
    assert not problems, 'inventory / %s:\n- %s' % (case, '\n- '.join(problems))


def test_inventory_restart(ansible, emulator):
    emulator.reset('inv')
    config = inventory_config(emulator, ['inv'])
    first = ansible.inventory(config, label='inv-restart-first')
    emulator.restart('inv')
    second = ansible.inventory(config, label='inv-restart-second')
    a, b = listed(first), listed(second)
    problems = []
    if a['_meta']['hostvars']['rel-inv'] != b['_meta']['hostvars']['rel-inv'] or groups_of(a, 'rel-inv') != groups_of(b, 'rel-inv'):
        problems.append('hosts, groups or variables changed across a restart: %s' % excerpt(b['_meta']['hostvars']['rel-inv'], 300))
    FIGURES.add('faults', subject='inventory', fault='restart', outcome='ok', message='same hosts, groups and variables after the restart',
                time='%.2f s' % second.wall, changed='n/a', writes=0, rerun='ok' if not problems else 'PROBLEM', problems=problems)
    assert not problems, '\n'.join(problems)
