#!/usr/bin/env python
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the CI steps declared in noxfile.py and print a summary of results and seconds.

    scripts/ci.py                  # every step (`make test`): two lanes side by side on 2+ cores
    scripts/ci.py units lint       # these steps, one after the other
    scripts/ci.py --list           # the steps and their lanes

Each step is one `nox -s STEP` run. With every step and 2+ cores, the steps tagged lane-a run in
order in the foreground while those tagged lane-b run in order beside them (their output goes to
build/ci/lane-b.log and is printed when the lane ends). A failed step stops its lane unless
KEEP_GOING=1; the exit status is 1 when any step failed. SIGMA_CI_LANES=1 runs everything in one
lane. Options after `--` go to every step; SANITY_ARGS, UNITS_ARGS and INTEGRATION_ARGS add
ansible-test options to those steps (e.g. SANITY_ARGS="--test pylint").
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOX = Path(os.environ.get('VENVNOX', ROOT / '.venv-nox')) / 'bin' / 'nox'
WORK = Path(os.environ.get('SIGMA_CI_WORK', ROOT / 'build' / 'ci'))
SKIPPED = 'skipped'
RUN = uuid.uuid4().hex  # steps of one run share what they build once (the collection tarball)
# ansible-test options for some steps, from the environment (e.g. INTEGRATION_ARGS=sigma_info)
STEP_ARGS = {'sanity': 'SANITY_ARGS', 'units': 'UNITS_ARGS', 'integration': 'INTEGRATION_ARGS'}


def nox_cmd(*args):
    return [str(NOX), '--noxfile', str(ROOT / 'noxfile.py'), *args]


def declared_steps():
    """[(name, lane)] in the noxfile's order (a step without a lane tag goes to lane b), and the
    names of the steps tagged fixed-ports (they run under the machine-wide fleet lock)."""
    out = subprocess.run(nox_cmd('--list', '--json'), capture_output=True, text=True, check=True, cwd=ROOT).stdout
    steps, fixed = [], set()
    for entry in json.loads(out):
        tags = entry.get('tags') or []
        steps.append((entry['name'], 'a' if 'lane-a' in tags else 'b'))
        if 'fixed-ports' in tags:
            fixed.add(entry['name'])
    return steps, fixed


class FleetLock:
    """The machine-wide lock of the fixed fleet ports, held from the first step tagged fixed-ports
    to the end of the last one (both lanes' such steps share it; the noxfile sees
    SIGMA_FLEET_LOCK_HELD=1 and does not take it again)."""

    PATH = os.path.join(os.environ.get('TMPDIR', '/tmp'), 'sigma-media-server-fleet.lock')

    def __init__(self, steps, fixed):
        self.fixed = fixed
        self.remaining = sum(1 for s in steps if s in fixed)
        self.mutex, self.fh = threading.Lock(), None

    def acquire(self, log):
        import fcntl
        with self.mutex:
            if self.fh is None:
                self.fh = open(self.PATH, 'w', encoding='utf-8')
                try:
                    fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    log.write('-- another run uses the fixed fleet ports; waiting for it\n')
                    log.flush()
                    fcntl.flock(self.fh, fcntl.LOCK_EX)

    def done(self):
        with self.mutex:
            self.remaining -= 1
            if self.remaining <= 0 and self.fh is not None:
                self.fh.close()
                self.fh = None


class Lane:
    """Steps run one after the other; results as (step, result, seconds)."""

    def __init__(self, name, steps, posargs, lock, log=None):
        self.name, self.steps, self.posargs, self.lock, self.log = name, steps, posargs, lock, log
        self.results, self.proc, self.stopped = [], None, False

    def run(self):
        out = open(self.log, 'w', encoding='utf-8') if self.log else None
        try:
            for step in self.steps:
                if self.stopped:
                    break
                if any(r[1] == 'FAILED' for r in self.results) and not os.environ.get('KEEP_GOING'):
                    self.results.append((step, 'not run', 0.0))
                    if step in self.lock.fixed:
                        self.lock.done()
                    continue
                banner = '\n%s\n== %s%s\n%s\n' % ('=' * 78, step, '' if self.name == 'a' else ' (lane b)', '=' * 78)
                (out or sys.stdout).write(banner)
                (out or sys.stdout).flush()
                if step in self.lock.fixed:
                    self.lock.acquire(out or sys.stdout)
                start = time.monotonic()
                report = WORK / ('report-%s.json' % step)
                if report.exists():
                    report.unlink()
                posargs = self.posargs + shlex.split(os.environ.get(STEP_ARGS.get(step.split('-')[0], ''), ''))
                cmd = nox_cmd('--report', str(report), '-s', step, *(['--', *posargs] if posargs else []))
                self.proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out or None,
                                             stderr=subprocess.STDOUT if out else None, start_new_session=True,
                                             env=dict(os.environ, SIGMA_FLEET_LOCK_HELD='1', SIGMA_CI_RUN=RUN))
                rc = self.proc.wait()
                if step in self.lock.fixed:
                    self.lock.done()
                seconds = time.monotonic() - start
                result = 'passed' if rc == 0 else 'FAILED'
                if rc == 0 and _skipped(step):
                    result = SKIPPED
                self.results.append((step, result, seconds))
                (out or sys.stdout).write('-- %s: %s (%.0fs)\n' % (step, result, seconds))
                (out or sys.stdout).flush()
        finally:
            self.proc = None
            if out:
                out.close()

    def stop(self):
        self.stopped = True
        proc = self.proc
        if proc and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _skipped(step):
    """nox exits 0 for a skipped session; it says so in its report."""
    report = WORK / ('report-%s.json' % step)
    return report.exists() and 'skipped' in report.read_text(encoding='utf-8')


def main(argv):
    posargs = []
    if '--' in argv:
        posargs = argv[argv.index('--') + 1:]
        argv = argv[:argv.index('--')]
    if not NOX.exists():
        sys.exit('%s is missing: run make venv' % NOX)
    steps, fixed = declared_steps()
    if argv in (['--list'], ['-l']):
        for name, lane in steps:
            print('%-14s lane %s' % (name, lane))
        return 0
    known = [name for name, _lane in steps]
    unknown = [a for a in argv if a not in known and a != 'sanity']
    if unknown:
        sys.exit('unknown step(s): %s (known: %s)' % (' '.join(unknown), ' '.join(known)))
    wanted = []
    for a in argv:
        wanted += ['sanity-2.19', 'sanity-2.21'] if a == 'sanity' else [a]
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if not wanted and os.environ.get('SIGMA_CI_LANES', '2') != '1' and (os.cpu_count() or 1) >= 2:
        lock = FleetLock(known, fixed)
        lanes = [Lane('a', [n for n, lane in steps if lane == 'a'], posargs, lock),
                 Lane('b', [n for n, lane in steps if lane == 'b'], posargs, lock, log=WORK / 'lane-b.log')]
    else:
        lanes = [Lane('a', wanted or known, posargs, FleetLock(wanted or known, fixed))]
    threads = [threading.Thread(target=lane.run, daemon=True) for lane in lanes]

    def interrupted(signum, _frame):
        for lane in lanes:
            lane.stop()
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    for thread in threads:
        thread.start()
    for thread, lane in zip(threads, lanes):
        while thread.is_alive():
            thread.join(0.5)
        if lane.log:
            print('\n%s\n== lane b (it ran beside lane a): %s\n%s' % ('=' * 78, lane.log, '=' * 78))
            print(Path(lane.log).read_text(encoding='utf-8', errors='replace'))
    wall = time.monotonic() - started
    results = [r for lane in lanes for r in lane.results]
    print('\n%-14s %-5s %-8s %s' % ('STEP', 'LANE', 'RESULT', 'SECONDS'))
    for lane in lanes:
        for step, result, seconds in lane.results:
            print('%-14s %-5s %-8s %.0f' % (step, lane.name, result, seconds))
    counts = {k: sum(1 for r in results if r[1] == k) for k in ('passed', 'FAILED', SKIPPED)}
    print('\nwall time %.0f s (%d lane%s)' % (wall, len(lanes), 's' if len(lanes) > 1 else ''))
    print('summary: %d passed, %d failed, %d skipped' % (counts['passed'], counts['FAILED'], counts[SKIPPED]))
    return 1 if counts['FAILED'] or any(r[1] == 'not run' for r in results) else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
