# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the benchmarks add to the shared test harness (tests/harness/sigma_harness.py): their
workspace settings, measured commands that fail loudly, count checks.

Nothing here is part of the collection; bench/run.py is the entry point.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / 'tests' / 'harness'))

import sigma_harness  # noqa: E402  pylint: disable=wrong-import-position
from sigma_harness import machine_info, md_table, median  # noqa: E402,F401  pylint: disable=wrong-import-position


class BenchError(Exception):
    """A benchmark could not run (a command failed, the emulator did not start...)."""


class CheckFailed(Exception):
    """A count the benchmark asserts was wrong."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Workspace(sigma_harness.Workspace):
    """The shared clean workspace; the recorder writes only per-task summaries (no results: their
    JSON would cost the controller CPU the benchmarks measure)."""

    def __init__(self, keep=False):
        super().__init__(prefix='sigma-bench-', keep=keep, results=False,
                         env={'ANSIBLE_DEPRECATION_WARNINGS': '0', 'ANSIBLE_SHOW_CUSTOM_STATS': '0'})


def run(ws, cmd, timeout=1800, check=True, env=None):
    """Run ``cmd`` (wall time, controller CPU time, per-task summaries in ``.summaries``)."""
    try:
        return ws.command(cmd, label=Path(str(cmd[0])).name, env=env, timeout=timeout, check=check)
    except (RuntimeError, AssertionError) as exc:
        raise BenchError(str(exc)) from exc


def ansible_bin(name):
    try:
        return sigma_harness.ansible_bin(name)
    except RuntimeError as exc:
        raise BenchError(str(exc)) from exc


def emulator(ws, label, servers=None, count=None, seed=0, args=(), tls=False):
    """A fleet started by the emulator's launcher (ephemeral ports), stopped when the ``with`` ends."""
    try:
        return sigma_harness.emulator(ws.dir('emulator-%s' % label, fresh=True), servers, count=count, seed=seed,
                                      args=[str(a) for a in args], tls=tls, timeout=120)
    except sigma_harness.EmulatorError as exc:
        raise BenchError('the emulator (%s) did not start: %s' % (label, exc)) from exc


def a10_servers(name, count):
    """``count`` identical VALID servers with one NVIDIA A10 each."""
    return [{'name': '%s-%03d' % (name, i + 1), 'gpus': [{'model': 'NVIDIA A10', 'count': 1}],
             'license_status': 'VALID'} for i in range(count)]


def count_by(entries, key):
    out = {}
    for entry in entries:
        out[entry.get(key)] = out.get(entry.get(key), 0) + 1
    return out


class Checks:
    """Count assertions of one benchmark run: every one is reported; a wrong one fails --quick."""

    def __init__(self):
        self.items = []

    def equal(self, what, got, expected):
        self.items.append((what, got, expected, got == expected))
        return got == expected

    def failed(self):
        return [item for item in self.items if not item[3]]
