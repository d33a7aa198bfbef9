# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The benchmark harness: a throw-away Ansible environment, the emulator (started by its
launcher, sigma_emulator.testing), timed and CPU-accounted commands.

Nothing here is part of the collection; bench/run.py is the entry point.
"""

from __future__ import annotations

import json
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent
CALLBACK_DIR = BENCH / 'callback_plugins'
EMULATOR_DIR = ROOT / 'emulator'

try:
    from sigma_emulator import testing
except ImportError:  # not installed: the checkout's copy
    sys.path.insert(0, str(EMULATOR_DIR))
    from sigma_emulator import testing

class BenchError(Exception):
    """A benchmark could not run (a command failed, the emulator did not start...)."""


class CheckFailed(Exception):
    """A count the benchmark asserts was wrong."""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- workspace

class Workspace:
    """A temporary directory with an ansible_collections tree pointing at the checkout.

    Ansible runs with this tree as its only collection path, the dev venv's
    Python as interpreter, the timing callback enabled and nothing of the
    user's configuration (its own ANSIBLE_HOME, no ansible.cfg).
    """

    def __init__(self, keep=False):
        self.keep = keep
        self.path = Path(tempfile.mkdtemp(prefix='sigma-bench-'))
        coll = self.path / 'collections' / 'ansible_collections' / 'sigma'
        coll.mkdir(parents=True)
        (coll / 'media_server').symlink_to(ROOT)
        self.home = self.path / 'ansible-home'
        self.home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'SIGMA_'))}
        env.update({
            'PATH': '%s%s%s' % (BIN, os.pathsep, env.get('PATH', '')),
            'ANSIBLE_HOME': str(self.home),
            'ANSIBLE_CONFIG': str(self.path / 'ansible.cfg'),
            'ANSIBLE_COLLECTIONS_PATH': str(self.path / 'collections'),
            'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
            'ANSIBLE_LOCAL_TEMP': str(self.home / 'tmp'),
            'ANSIBLE_REMOTE_TMP': str(self.home / 'remote-tmp'),
            'ANSIBLE_CALLBACK_PLUGINS': str(CALLBACK_DIR),
            'ANSIBLE_CALLBACKS_ENABLED': 'bench_timer',
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': '0',
            'ANSIBLE_HOST_KEY_CHECKING': '0',
            'ANSIBLE_LOCALHOST_WARNING': '0',
            'ANSIBLE_INVENTORY_UNPARSED_WARNING': '0',
            'ANSIBLE_DEPRECATION_WARNINGS': '0',
            'ANSIBLE_SHOW_CUSTOM_STATS': '0',
            'SIGMA_STATE_DIR': str(self.path / 'sigma-state'),
            'PYTHONDONTWRITEBYTECODE': '1',
        })
        self.env = env
        self.file('ansible.cfg', '# empty: the settings come from the environment\n')

    def file(self, name, content):
        """Write ``content`` (str, or an object dumped as JSON) to a file of the workspace."""
        path = self.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not isinstance(content, str):
            content = json.dumps(content, indent=1)
        path.write_text(content, encoding='utf-8')
        return path

    def dir(self, name, fresh=False):
        path = self.path / name
        if fresh and path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def close(self):
        if self.keep:
            log('bench: workspace kept in %s' % self.path)
        else:
            shutil.rmtree(self.path, ignore_errors=True)


# ----------------------------------------------------------------------------- commands

@dataclass
class Run:
    """One measured command."""
    cmd: list
    rc: int
    wall: float          # seconds, time.monotonic
    cpu: float           # seconds of user+sys of the command and its waited-for descendants
    stdout: str
    stderr: str
    tasks: list = field(default_factory=list)   # bench_timer records (ansible-playbook only)


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(ws, cmd, timeout=1800, check=True, env=None):
    """Run ``cmd`` in the workspace, measuring wall time and CPU time (RUSAGE_CHILDREN delta).

    The only children that terminate during the call are the command and its
    descendants (the emulator keeps running), so the CPU delta is the controller's.
    """
    timer_file = ws.path / 'timer.jsonl'
    if timer_file.exists():
        timer_file.unlink()
    full_env = dict(ws.env, BENCH_TIMER_FILE=str(timer_file), **(env or {}))
    cmd = [str(c) for c in cmd]
    cpu0 = _children_cpu()
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ws.path, env=full_env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise BenchError('%s did not finish within %d s' % (' '.join(cmd[:3]), timeout)) from exc
    wall = time.monotonic() - t0
    cpu = _children_cpu() - cpu0
    tasks = []
    if timer_file.exists():
        tasks = [json.loads(line) for line in timer_file.read_text(encoding='utf-8').splitlines() if line.strip()]
    result = Run(cmd, proc.returncode, wall, cpu, proc.stdout, proc.stderr, tasks)
    if check and proc.returncode != 0:
        raise BenchError('command failed (rc %d): %s\n--- stdout (end)\n%s\n--- stderr (end)\n%s' % (
            proc.returncode, ' '.join(cmd), proc.stdout[-3000:], proc.stderr[-3000:]))
    return result


def ansible_bin(name):
    path = BIN / name
    if not path.exists():
        raise BenchError('%s not found next to %s: run with the dev venv (.venv/bin/python bench/run.py)'
                         % (name, sys.executable))
    return str(path)


# ----------------------------------------------------------------------------- emulator

def emulator(ws, label, servers=None, count=None, seed=0, args=(), tls=False):
    """A fleet started by the emulator's launcher (ephemeral ports), stopped when the ``with`` ends."""
    try:
        return testing.start(servers, count=count, seed=seed, args=[str(a) for a in args], tls=tls,
                             workdir=ws.dir('emulator-%s' % label, fresh=True), timeout=120)
    except testing.EmulatorError as exc:
        raise BenchError('the emulator (%s) did not start: %s' % (label, exc)) from exc


def a10_servers(name, count):
    """``count`` identical VALID servers with one NVIDIA A10 each."""
    return [{'name': '%s-%03d' % (name, i + 1), 'gpus': [{'model': 'NVIDIA A10', 'count': 1}],
             'license_status': 'VALID'} for i in range(count)]


# ----------------------------------------------------------------------------- statistics and checks

def median(values):
    values = sorted(values)
    if not values:
        return float('nan')
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


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


# ----------------------------------------------------------------------------- machine

def _uname():
    try:
        return subprocess.run(['uname', '-a'], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ' '.join(platform.uname())


def machine_info():
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as fh:
            for line in fh:
                if line.lower().startswith('model name'):
                    cpu = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        ansible_version = subprocess.run([ansible_bin('ansible'), '--version'], capture_output=True, text=True,
                                         check=False).stdout
        match = re.search(r'core ([0-9][^\]\s]*)', ansible_version)
        ansible_version = match.group(1) if match else ansible_version.splitlines()[0]
    except (OSError, IndexError, BenchError):
        ansible_version = 'unknown'
    load = os.getloadavg() if hasattr(os, 'getloadavg') else None
    return {
        'uname': _uname(),
        'cpu': cpu,
        'cores': os.cpu_count(),
        'python': platform.python_version(),
        'ansible_core': ansible_version,
        'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        'load': ' / '.join('%.2f' % x for x in load) if load else 'unknown',
    }
