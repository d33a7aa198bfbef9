# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The test harness shared by the benchmarks (bench/) and the reliability suite (tests/reliability/).

Nothing here is part of the collection. It gives:

- `Workspace`: a clean Ansible workspace (a temporary ansible_collections tree
  whose sigma/media_server is this checkout, its own ANSIBLE_HOME and empty
  ansible.cfg, nothing of the user's configuration) in which `ansible-playbook`
  and `ansible-inventory` run as users run them, each run in its own folder,
  measured (wall and CPU time) and recorded by the `sigma_recorder` callback
  (plugins/callback/): every task result and a per-task summary with the
  emulator's request-log offsets;
- the emulator: `emulator()` starts a fleet with the emulator's own launcher
  (sigma_emulator.testing, ephemeral ports); the `sigma_emu` action
  (plugins/action/) drives its control API from inside a playbook;
- `md_table()`, `median()`, `machine_info()` for the figures both write.
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

from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
PLUGINS = HERE / 'plugins'
BIN = Path(sys.executable).parent
# The test-only connection `sigma_remote` (ansible.builtin.local under another name): the collection's action
# plugins do not take it for the controller, so they execute the modules as on a remote host (the remote path).
REMOTE_CONNECTION = REPO / 'tests' / 'integration' / 'targets' / 'setup_sigma_remote' / 'connection_plugins'

sys.path.insert(0, str(REPO / 'emulator'))  # this checkout's emulator, before any installed copy
from sigma_emulator import testing  # noqa: E402  pylint: disable=wrong-import-position

EmulatorError = testing.EmulatorError


def emulator(workdir, servers=None, **kwargs):
    """Start an emulated fleet in `workdir` with the emulator's launcher; a context manager."""
    return testing.start(servers, workdir=workdir, **kwargs)


# ----------------------------------------------------------------------------- runs

class Run(object):
    """The outcome of one command: exit status, output, wall and CPU time, recorder lines."""

    def __init__(self, cmd, rc, stdout, stderr, wall, cpu, records, workdir):
        self.cmd, self.rc, self.stdout, self.stderr = cmd, rc, stdout, stderr
        self.wall, self.cpu, self.workdir = wall, cpu, workdir
        self.records = [r for r in records if r['kind'] != 'summary']  # task results and loop items
        self.summaries = [r for r in records if r['kind'] == 'summary']  # one per task: timing, request-log offsets

    def __repr__(self):
        return '<Run rc=%s wall=%.1fs %s>' % (self.rc, self.wall, ' '.join(self.cmd[-3:]))

    def explain(self):
        return 'command: %s\nrc: %s\n--- stdout (tail)\n%s\n--- stderr (tail)\n%s' % (
            ' '.join(self.cmd), self.rc, self.stdout[-6000:], self.stderr[-3000:])

    def tasks(self, name, kind='task'):
        return [r for r in self.records if r.get('task') == name and r['kind'] == kind]

    def task(self, name, host=None):
        found = [r for r in self.tasks(name) if host is None or r['host'] == host]
        if len(found) != 1:
            raise AssertionError('expected one result of task %r%s, found %d\n%s'
                                 % (name, '' if host is None else ' on %s' % host, len(found), self.explain()))
        return found[0]

    def items(self, name):
        return self.tasks(name, kind='item')


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _records(path):
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding='utf-8').splitlines() if line.strip()]


def ansible_bin(name):
    """An ansible-* command next to the running Python (the dev venv's)."""
    path = BIN / name
    if not path.exists():
        raise RuntimeError('%s not found next to %s: run with the dev venv (.venv/bin/python)' % (name, sys.executable))
    return str(path)


# ----------------------------------------------------------------------------- workspace

class Workspace(object):
    """A clean Ansible workspace in which each command runs in a folder of its own (runs/NNN-label)."""

    def __init__(self, path=None, prefix='sigma-harness-', keep=False, env=None, results=True, connection=None):
        self.keep = keep
        # connection='sigma_remote': every playbook runs with -e ansible_connection=sigma_remote (the remote path)
        self.connection = connection
        self.path = Path(path) if path else Path(tempfile.mkdtemp(prefix=prefix))
        self.path.mkdir(parents=True, exist_ok=True)
        self.collections_path = self.path / 'collections'
        namespace = self.collections_path / 'ansible_collections' / 'sigma'
        namespace.mkdir(parents=True, exist_ok=True)
        link = namespace / 'media_server'
        if not link.exists():
            link.symlink_to(REPO, target_is_directory=True)
        self.home = self.path / 'ansible-home'
        self.home.mkdir(exist_ok=True)
        self.file('ansible.cfg', '# empty: the settings come from the environment\n')
        self.extra_env = dict(env or {})
        self.results = results
        self.counter = 0

    def env(self, workdir, extra=None):
        """The environment of a run: this workspace's Ansible settings, the recorder, nothing of the user's."""
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('ANSIBLE_', 'SIGMA_')))
        env.update(
            PATH='%s%s%s' % (BIN, os.pathsep, env.get('PATH', '')),
            ANSIBLE_CONFIG=str(self.path / 'ansible.cfg'),
            ANSIBLE_HOME=str(self.home),
            ANSIBLE_COLLECTIONS_PATH=str(self.collections_path),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH='false',
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
            ANSIBLE_CALLBACK_PLUGINS=str(PLUGINS / 'callback'),
            ANSIBLE_CALLBACKS_ENABLED='sigma_recorder',
            ANSIBLE_ACTION_PLUGINS=str(PLUGINS / 'action'),
            ANSIBLE_LOCAL_TEMP=str(Path(workdir) / 'tmp'),
            ANSIBLE_REMOTE_TEMP=str(Path(workdir) / 'tmp'),
            ANSIBLE_NOCOLOR='1',
            ANSIBLE_FORCE_COLOR='0',
            ANSIBLE_RETRY_FILES_ENABLED='false',
            ANSIBLE_LOCALHOST_WARNING='false',
            ANSIBLE_INVENTORY_UNPARSED_WARNING='false',
            ANSIBLE_PIPELINING='true',
            ANSIBLE_HOST_KEY_CHECKING='false',
            SIGMA_STATE_DIR=str(self.home / 'sigma-state'),
            SIGMA_RECORDER_FILE=str(Path(workdir) / 'records.jsonl'),
            SIGMA_RECORDER_RESULTS='1' if self.results else '0',
            PYTHONDONTWRITEBYTECODE='1',
            ANSIBLE_CONNECTION_PLUGINS=str(REMOTE_CONNECTION),
        )
        env.update(self.extra_env)
        env.update(extra or {})
        return env

    def file(self, name, content):
        """Write `content` (text, or an object dumped as JSON) to a file of the workspace."""
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
            print('harness: workspace kept in %s' % self.path, file=sys.stderr)
        else:
            shutil.rmtree(self.path, ignore_errors=True)

    def _workdir(self, label):
        self.counter += 1
        workdir = self.path / 'runs' / ('%03d-%s' % (self.counter, re.sub(r'[^A-Za-z0-9_.-]+', '_', label)[:60]))
        (workdir / 'tmp').mkdir(parents=True)
        return workdir

    # ----- commands

    def command(self, cmd, label='command', env=None, timeout=600, check=False, workdir=None):
        """Run `cmd` in a run folder of its own; wall time, CPU time (the command and its children) and records."""
        workdir = workdir or self._workdir(label)
        cmd = [str(c) for c in cmd]
        cpu0, start = _children_cpu(), time.monotonic()
        try:
            proc = subprocess.run(cmd, cwd=str(workdir), env=self.env(workdir, env), stdin=subprocess.DEVNULL,
                                  capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError('%s did not end within %s s (a hang):\n%s\n%s' % (
                ' '.join(cmd), timeout, (exc.stdout or b'')[-4000:], (exc.stderr or b'')[-2000:]))
        wall, cpu = time.monotonic() - start, _children_cpu() - cpu0
        stdout, stderr = proc.stdout.decode('utf-8', 'replace'), proc.stderr.decode('utf-8', 'replace')
        (workdir / 'stdout.txt').write_text(stdout, encoding='utf-8')
        (workdir / 'stderr.txt').write_text(stderr, encoding='utf-8')
        run = Run(cmd, proc.returncode, stdout, stderr, wall, cpu, _records(workdir / 'records.jsonl'), workdir)
        if check and run.rc != 0:
            raise RuntimeError('command failed (rc %d): %s\n--- stdout (end)\n%s\n--- stderr (end)\n%s'
                               % (run.rc, ' '.join(cmd), stdout[-3000:], stderr[-3000:]))
        return run

    def _connection_args(self):
        return ['-e', 'ansible_connection=%s' % self.connection] if self.connection else []

    def _playbook_files(self, workdir, plays, label, inventory):
        if plays and 'tasks' not in plays[0] and 'hosts' not in plays[0] and 'roles' not in plays[0]:
            plays = [dict(name=label, hosts='localhost', connection='local', gather_facts=False, tasks=plays)]
        (workdir / 'playbook.yml').write_text(yaml.safe_dump(plays, sort_keys=False, allow_unicode=True), encoding='utf-8')
        if inventory is None:
            return 'localhost,'
        if isinstance(inventory, tuple):  # (file name, inventory source dict), e.g. a plugin configuration
            (workdir / inventory[0]).write_text(yaml.safe_dump(inventory[1], sort_keys=False, allow_unicode=True),
                                                encoding='utf-8')
            return str(workdir / inventory[0])
        if isinstance(inventory, dict):
            (workdir / 'hosts.yml').write_text(yaml.safe_dump(inventory, sort_keys=False), encoding='utf-8')
            return str(workdir / 'hosts.yml')
        return str(inventory)

    def playbook(self, plays, label='play', inventory=None, verbosity=0, env=None, timeout=180, forks=None,
                 extra_args=()):
        """Run a playbook: a list of plays, or a task list for one localhost play."""
        workdir = self._workdir(label)
        inventory = self._playbook_files(workdir, plays, label, inventory)
        cmd = [sys.executable, '-m', 'ansible', 'playbook', '-i', inventory, str(workdir / 'playbook.yml')]
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        if forks:
            cmd += ['--forks', str(forks)]
        cmd += list(extra_args) + self._connection_args()
        return self.command(cmd, label, env, timeout, workdir=workdir)

    def playbook_async(self, plays, label='play', inventory=None, env=None, forks=None):
        """Start a playbook without waiting; finish it with finish()."""
        workdir = self._workdir(label)
        inventory = self._playbook_files(workdir, plays, label, inventory)
        cmd = [sys.executable, '-m', 'ansible', 'playbook', '-i', inventory, str(workdir / 'playbook.yml')]
        if forks:
            cmd += ['--forks', str(forks)]
        cmd += self._connection_args()
        out = open(workdir / 'stdout.txt', 'wb')
        err = open(workdir / 'stderr.txt', 'wb')
        proc = subprocess.Popen(cmd, cwd=str(workdir), env=self.env(workdir, env), stdout=out, stderr=err)
        return dict(proc=proc, workdir=workdir, cmd=cmd, files=(out, err), start=time.monotonic())

    @staticmethod
    def finish(handle, timeout=180):
        proc = handle['proc']
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError('%s did not end within %s s' % (' '.join(handle['cmd']), timeout))
        wall = time.monotonic() - handle['start']
        for fh in handle['files']:
            fh.close()
        workdir = handle['workdir']
        return Run(handle['cmd'], proc.returncode, (workdir / 'stdout.txt').read_text(encoding='utf-8', errors='replace'),
                   (workdir / 'stderr.txt').read_text(encoding='utf-8', errors='replace'), wall, None,
                   _records(workdir / 'records.jsonl'), workdir)

    def inventory(self, config, label='inventory', filename='sigma.sigma.yml', verbosity=0, env=None, timeout=120,
                  args=('--list',)):
        """Run ansible-inventory on an inventory source file holding `config` (a dict or text)."""
        workdir = self._workdir(label)
        path = workdir / filename
        text = config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
        path.write_text(text, encoding='utf-8')
        cmd = [sys.executable, '-m', 'ansible', 'inventory', '-i', str(path)] + list(args)
        if verbosity:
            cmd.append('-' + 'v' * verbosity)
        return self.command(cmd, label, env, timeout, workdir=workdir)


# ----------------------------------------------------------------------------- figures

def median(values):
    values = sorted(values)
    if not values:
        return float('nan')
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def md_cell(value):
    return str(value).replace('|', '\\|').replace('\n', ' ')


def md_table(headers, rows, align=None):
    """A markdown table; `align` is one marker per column (default: '---' for all)."""
    align = align or ['---'] * len(headers)
    lines = ['| ' + ' | '.join(headers) + ' |', '| ' + ' | '.join(align) + ' |']
    lines += ['| ' + ' | '.join(md_cell(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def _uname():
    try:
        return subprocess.run(['uname', '-a'], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ' '.join(platform.uname())


def machine_info():
    """The machine a run measured on: CPU, cores, Python, ansible-core, date, load."""
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
        from ansible.release import __version__ as ansible_version
    except ImportError:
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
