# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run things as AWX / Automation Platform does, without AWX.

What AWX does around a job, and what this module does the same way:

- Credentials: a custom credential type's injectors are rendered (the rules of AWX: blank
  string fields are left out of the namespace, so they render as ''; unset booleans are
  False; file templates are written to the private data dir's env/ and named through
  `tower.filename`) and reach the run ONLY as environment variables: `Awx.credential_env`.
- Inventory updates: `ansible-inventory -i SOURCE --list --export`, in a fresh private data
  dir with a fresh HOME; the JSON it prints is what AWX stores: `Awx.inventory_update`.
- Jobs: ansible-runner with a fresh private data dir and a fresh HOME for every run; the
  inventory is the stored JSON, handed back as an executable inventory script; the project
  holds the playbook; the collection comes from the BUILT TARBALL, installed once into the
  "execution environment" (a collections dir shared by the runs, as an EE image is).
  `Awx.job`.
- Fact storage (a job template option): AWX writes the stored facts of the INVENTORY hosts
  into ARTIFACTS/JOB/fact_cache before the run, runs with the jsonfile fact cache there, and
  afterwards keeps the facts of the inventory hosts only (not of an implicit localhost).
  `fact_storage=True`.
- Workflows: the set_stats data of a node (`artifact_data` of the playbook_on_stats event)
  becomes extra vars of the next node: `Awx.job(..., after=previous_job)`.

A drain -> restore workflow, for example, is two calls:

    drained = awx.job('drain.yml', limit='awx-t4', fact_storage=True)
    restored = awx.job('restore.yml', limit='awx-t4', fact_storage=True, after=drained)
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

from types import SimpleNamespace

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FILES = os.path.join(HERE, 'files')
CREDENTIAL_TYPE = os.path.join(ROOT, 'extras', 'awx', 'credential_type.yml')
UNSAFE_MARK = '__ansible_unsafe'


def _sandbox():
    from jinja2.sandbox import ImmutableSandboxedEnvironment  # pylint: disable=import-outside-toplevel
    return ImmutableSandboxedEnvironment()


def render_injectors(credential_type, inputs, env_dir):
    """The environment variables AWX sets for a credential of `credential_type` with `inputs`."""
    fields = credential_type['inputs'].get('fields', [])
    known = set(f['id'] for f in fields)
    unknown = set(inputs) - known
    if unknown:
        raise ValueError('inputs %s are not fields of the credential type' % sorted(unknown))
    namespace = {}
    for name, value in inputs.items():
        if isinstance(value, bool) or value:
            namespace[name] = value
    for field in fields:
        if field['type'] == 'boolean' and field['id'] not in inputs:
            namespace[field['id']] = False
    sandbox = _sandbox()
    injectors = credential_type.get('injectors', {})
    single, many = None, {}
    for label, template in injectors.get('file', {}).items():
        fd, path = tempfile.mkstemp(dir=env_dir)
        with os.fdopen(fd, 'w') as handle:
            handle.write(sandbox.from_string(template).render(**namespace))
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        if '.' in label:
            many[label.split('.', 1)[1]] = path
        else:
            single = path
    tower = SimpleNamespace(filename=single or SimpleNamespace(**many))
    env = {}
    for name, template in injectors.get('env', {}).items():
        env[name] = sandbox.from_string(template).render(tower=tower, **namespace)
    if injectors.get('extra_vars'):
        raise ValueError('this credential type injects extra_vars, which AWX does not give inventory updates')
    return env


def find_unsafe(value, path='$'):
    """JSON paths in `value` where a value is not plain JSON data (a dict with __ansible_unsafe)."""
    found = []
    if isinstance(value, dict):
        if UNSAFE_MARK in value:
            found.append(path)
        for key, item in value.items():
            found.extend(find_unsafe(item, '%s.%s' % (path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(find_unsafe(item, '%s[%d]' % (path, index)))
    return found


def install_ee(tarball, ee_collections, python=sys.executable):
    """Install the built tarball as an execution environment image holds it."""
    env = dict(os.environ, HOME=os.path.dirname(ee_collections))
    subprocess.run([os.path.join(os.path.dirname(python), 'ansible-galaxy'), 'collection', 'install', '--force',
                    '--no-deps', '-p', ee_collections, tarball],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    return ee_collections


class Awx(object):
    """One "AWX": its stored inventories and facts, its EE, its job counter."""

    def __init__(self, base, ee_collections, python=sys.executable):
        self.base = base
        self.python = python
        self.bin_dir = os.path.dirname(python)
        self.jobs = 0
        self.facts = {}  # host -> facts, as AWX keeps them for the hosts of an inventory
        self.ee_collections = ee_collections
        with open(CREDENTIAL_TYPE) as handle:
            self.credential_type = yaml.safe_load(handle)

    # ------------------------------------------------------------ building blocks

    def _base_env(self, home):
        """A minimal environment: no SIGMA_*, ANSIBLE_* or proxy variables of the machine leak in."""
        env = dict((k, v) for k, v in os.environ.items()
                   if k in ('PATH', 'LANG', 'LC_ALL', 'TMPDIR', 'TZ'))
        env['PATH'] = self.bin_dir + os.pathsep + env.get('PATH', '/usr/bin:/bin')
        env['HOME'] = home
        env['ANSIBLE_COLLECTIONS_PATH'] = self.ee_collections
        env['ANSIBLE_PYTHON_INTERPRETER'] = self.python
        env['ANSIBLE_NOCOLOR'] = '1'
        return env

    def _fresh(self, kind):
        self.jobs += 1
        pdd = os.path.join(self.base, '%s-%d' % (kind, self.jobs))
        for sub in ('env', 'inventory', 'project', 'home', 'artifacts'):
            os.makedirs(os.path.join(pdd, sub))
        return pdd

    def credential_env(self, inputs, pdd):
        return render_injectors(self.credential_type, inputs, os.path.join(pdd, 'env'))

    # ------------------------------------------------------------ inventory update

    def inventory_update(self, source, credential=None, files=(), extra_env=None):
        """Run the inventory update of `source` as AWX does; return (stored JSON, process).

        `extra_env`: AWX's "Extra Environment Variables" setting (AWX_TASK_ENV), e.g. a proxy."""
        pdd = self._fresh('inventory')
        project = os.path.join(pdd, 'project')
        for path in (source,) + tuple(files):
            if os.path.isdir(path):
                shutil.copytree(path, os.path.join(project, os.path.basename(path)))
            else:
                shutil.copy(path, project)
        env = self._base_env(os.path.join(pdd, 'home'))
        env['INVENTORY_UPDATE_ID'] = str(self.jobs)
        env.update(extra_env or {})
        if credential is not None:
            env.update(self.credential_env(credential, pdd))
        proc = subprocess.run([os.path.join(self.bin_dir, 'ansible-inventory'), '-i',
                               os.path.join(project, os.path.basename(source)), '--list', '--export'],
                              cwd=project, env=env, capture_output=True, text=True, timeout=120, check=False)
        stored = json.loads(proc.stdout) if proc.returncode == 0 else None
        return stored, proc

    # ------------------------------------------------------------ jobs

    def job(self, playbook_text, inventory, extra_vars=None, credential=None, fact_storage=False, after=None,
            limit=None, check=False, diff=False, extra_env=None):
        """Run a job template whose project playbook is `playbook_text`, on the stored `inventory`."""
        import ansible_runner  # pylint: disable=import-outside-toplevel

        pdd = self._fresh('job')
        job_id = str(self.jobs)
        with open(os.path.join(pdd, 'project', 'main.yml'), 'w') as handle:
            handle.write(playbook_text)
        script = os.path.join(pdd, 'inventory', 'hosts')
        with open(script, 'w') as handle:
            handle.write('#!%s\nimport sys\nsys.stdout.write(%r)\n' % (self.python, json.dumps(inventory)))
        os.chmod(script, 0o700)
        env = self._base_env(os.path.join(pdd, 'home'))
        env['JOB_ID'] = job_id
        env.update(extra_env or {})
        if credential is not None:
            env.update(self.credential_env(credential, pdd))
        hosts = set(inventory.get('_meta', {}).get('hostvars', {}))
        fact_dir = os.path.join(pdd, 'artifacts', job_id, 'fact_cache')
        written = None
        if fact_storage:
            # AWX's start_fact_cache: the stored facts of each inventory host, as plain JSON in a
            # file named after the host, whatever the ansible-core of the EE expects
            os.makedirs(fact_dir)
            for host in sorted(hosts & set(self.facts)):
                with open(os.path.join(fact_dir, host), 'w') as handle:
                    json.dump(self.facts[host], handle)
            written = time.time()
            env.update(ANSIBLE_CACHE_PLUGIN='jsonfile', ANSIBLE_CACHE_PLUGIN_CONNECTION=fact_dir,
                       ANSIBLE_CACHE_PLUGIN_TIMEOUT='0')
        variables = dict((after.artifacts if after is not None else None) or {})
        variables.update(extra_vars or {})
        cmdline = []
        if limit:
            cmdline += ['--limit', limit]
        if check:
            cmdline.append('--check')
        if diff:
            cmdline.append('--diff')
        with open(os.path.join(pdd, 'env', 'envvars'), 'w') as handle:
            yaml.safe_dump(env, handle)
        with open(os.path.join(pdd, 'env', 'extravars'), 'w') as handle:
            yaml.safe_dump(variables, handle)
        runner = ansible_runner.run(private_data_dir=pdd, playbook='main.yml', ident=job_id, quiet=True,
                                    cmdline=' '.join(cmdline) or None, envvars=env)
        result = JobResult(pdd, job_id, runner)
        if fact_storage:
            # AWX's finish_fact_cache: for each inventory host (never an implicit localhost), the
            # file named after the host, when it changed during the job; a file that is gone
            # clears the host's facts. Nothing else in the folder is read: ansible-core 2.19+
            # writes s1_HOST files AWX never sees (see docs/awx.md, "Fact storage and
            # ansible-core 2.19").
            for host in sorted(hosts):
                path = os.path.join(fact_dir, host)
                if not os.path.exists(path):
                    if host in self.facts:
                        self.facts[host] = {}
                    continue
                if os.path.getmtime(path) < written:
                    continue
                try:
                    with open(path) as handle:
                        self.facts[host] = json.load(handle)
                except ValueError:
                    continue
        return result


class JobResult(object):
    """What AWX knows of a finished job."""

    def __init__(self, pdd, job_id, runner):
        self.pdd = pdd
        self.job_id = job_id
        self.status = runner.status
        self.rc = runner.rc
        self.events = list(runner.events)
        with open(os.path.join(pdd, 'artifacts', job_id, 'stdout')) as handle:
            self.stdout = handle.read()
        stats = [e for e in self.events if e.get('event') == 'playbook_on_stats']
        self.stats = stats[-1]['event_data'] if stats else {}
        self.artifacts = self.stats.get('artifact_data') or {}

    def count(self, kind, host=None):
        """The play recap's `kind` (changed, failures, ok, ...) for `host`, or summed over hosts."""
        values = self.stats.get(kind) or {}
        return values.get(host, 0) if host else sum(values.values())

    def task_results(self, task_name):
        return [e['event_data'] for e in self.events
                if e.get('event') in ('runner_on_ok', 'runner_on_failed') and e['event_data'].get('task') == task_name]

    def describe(self):
        return 'job %s: status %s, rc %s\n%s' % (self.job_id, self.status, self.rc, self.stdout[-6000:])
