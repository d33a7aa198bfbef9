# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input is refused, with a message naming the field, before any request.

The corpus (corpus/*.yml) holds the invalid module arguments and inventory
configurations. Every case points at the suite's "input" server, whose
request log must be empty afterwards. Module cases run as one playbook per
module (one task per case, ignore_errors); inventory cases as ONE
ansible-inventory process with one source file per case.
"""

from __future__ import annotations

import copy
import re

from pathlib import Path

import pytest
import yaml

from rel_support import FIGURES, excerpt, verdict

CORPUS = Path(__file__).resolve().parent / 'corpus'
DELETE = '__delete__'


def load(name):
    with open(CORPUS / name, encoding='utf-8') as fh:
        return yaml.safe_load(fh)


def substitute(value, urls):
    if isinstance(value, str):
        for key, url in urls.items():
            value = value.replace(key, url)
        return value
    if isinstance(value, list):
        return [substitute(v, urls) for v in value]
    if isinstance(value, dict):
        return dict((k, substitute(v, urls)) for k, v in value.items())
    return value


def merged(base, over, urls):
    out = copy.deepcopy(base)
    for key, value in over.items():
        if value == DELETE:
            out.pop(key, None)
        else:
            out[key] = value
    return substitute(out, urls)


_TOKEN = re.compile(r'([^.\[\]]+)|\[(\d+)\]')


def set_path(doc, path, value):
    """Set (or with DELETE remove) `path` such as 'targets[0].manifest' in the nested `doc`."""
    keys = [name if name else int(index) for name, index in _TOKEN.findall(path)]
    node = doc
    for key in keys[:-1]:
        node = node[key]
    if value == DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = copy.deepcopy(value)


def job_case(base, case, urls_=None):
    spec = copy.deepcopy(base)
    spec['name'] = 'rel-bad-%s' % case['id']
    for path, value in case['set'].items():
        set_path(spec, path, value)
    return substitute(spec, urls_ or {})


def urls(emulator):
    return {'@URL@': emulator.url('input'), '@URL2@': emulator.url('input') + '/second'}


def connection(emulator):
    """The connection arguments of a task to the input server: one attempt, 2 seconds."""
    return {'api_url': emulator.url('input'), 'timeout': 2, 'retries': 0}


def check_refusals(refusals, cases):
    """refusals: {case id: message or None (accepted)} -> list of problems."""
    problems = []
    for case in cases:
        msg = refusals.get(case['id'])
        if msg is None:
            problems.append('%s: accepted (not refused)' % case['id'])
        elif not re.search(case['field'], msg):
            problems.append('%s: the message does not name the field /%s/: %s' % (case['id'], case['field'], excerpt(msg, 300)))
    return problems


def reached(requests, sent=None):
    """The problem of requests that reached the server (`sent` describes them), as a list: empty when none did."""
    if not requests:
        return []
    return ['%d request(s) reached the server: %s' % (len(requests), sent or excerpt(requests, 400))]


def judge(category, via, cases, refusals, requests, sent=None):
    """Every case refused naming its field, and no request sent: recorded in the figures, then asserted."""
    problems = check_refusals(refusals, cases) + reached(requests, sent)
    named = len(cases) - len([p for p in problems if 'does not name' in p or 'accepted' in p])
    FIGURES.add('bad_input', category=category, cases=len(cases),
                refused=len([v for v in refusals.values() if v is not None]), field_named=named,
                requests_sent=len(requests), via=via, result=verdict(problems))
    assert not problems, '\n'.join(problems)


def task_refusals(ansible, emulator, module, cases, args, label):
    """Every case as its own task (ignore_errors) of ONE playbook; `args(case)` gives its module arguments.
    Returns ({case id: the failure message, or None when the task did not fail}, the requests that reached
    the input server)."""
    emulator.reset('input')
    tasks = [{'name': 'bad:%s' % case['id'], 'sigma.media_server.%s' % module: args(case), 'ignore_errors': True}
             for case in cases]
    run = ansible.playbook(tasks, label=label)
    requests = emulator.requests('input')
    refusals = {}
    for case in cases:
        res = run.task('bad:%s' % case['id'])
        refusals[case['id']] = str(res['result'].get('msg', '')) if res['status'] == 'failed' else None
    return refusals, requests


ONE_TASK_PER_CASE = 'playbook, one task per case'
MODULES = ['sigma_info']


@pytest.mark.parametrize('module', MODULES)
def test_module_bad_args(ansible, emulator, module):
    corpus = load('module_args.yml')[module]
    cases = corpus['cases']
    refusals, requests = task_refusals(ansible, emulator, module, cases,
                                       lambda case: merged(corpus['base'], case['args'], urls(emulator)), 'bad-%s' % module)
    judge('%s arguments' % module, ONE_TASK_PER_CASE, cases, refusals, requests)


def inventory_refusals(ansible, emulator, cases, label):
    """Parse every case as its own source in ONE ansible-inventory run; returns (refusals, requests)."""
    corpus = load('inventory_configs.yml')
    emulator.reset('input')
    sources = {}
    workdir = ansible.home / label
    workdir.mkdir(exist_ok=True)
    for case in cases:
        path = workdir / ('%s.sigma.yml' % case['id'])
        path.write_text(yaml.safe_dump(merged(corpus['base'], case['config'], urls(emulator)), sort_keys=False), encoding='utf-8')
        sources[str(path)] = case['id']
    args = []
    for path in sources:
        args += ['-i', path]
    # a source the plugin refuses is reported and skipped; the run goes on with the next one
    run = ansible.inventory('plugin: sigma.media_server.sigma\nservers: []\n', label=label, filename='00-empty.sigma.yml',
                            env={'ANSIBLE_INVENTORY_ENABLED': 'sigma.media_server.sigma'}, args=tuple(args) + ('--list',))
    requests = emulator.requests('input')
    refusals = {}
    # each refused source ends with "Unable to parse <path> as an inventory source"; its message comes before
    chunk = []
    for line in run.stderr.splitlines():
        found = re.search(r'Unable to parse (\S+) as an inventory source', line)
        if found:
            if found.group(1) in sources:
                refusals[sources[found.group(1)]] = '\n'.join(chunk)
            chunk = []
        else:
            chunk.append(line)
    return refusals, requests


def inventory_check(ansible, emulator, cases, label, category):
    refusals, requests = inventory_refusals(ansible, emulator, cases, label)
    judge(category, 'one ansible-inventory run, one source per case', cases, refusals, requests)


def test_inventory_bad_configs(ansible, emulator):
    inventory_check(ansible, emulator, load('inventory_configs.yml')['cases'], 'bad-inventory', 'inventory configurations')


def test_inventory_strict_configs(ansible, emulator):
    """Texts where booleans belong and unknown keys: Ansible's option handling lets them through silently."""
    inventory_check(ansible, emulator, load('inventory_configs.yml')['strict_cases'], 'bad-inventory-strict',
                    'inventory configurations: non-boolean text for booleans, unknown keys')


# ----------------------------------------------------------------------------- job specifications

def item_errors(errors, index):
    prefix = re.compile(r'^jobs\[%d\][ :.]' % index)  # jobs[2] (name 'x').path, jobs[2].path, jobs[2]: ...
    return [e for e in errors if prefix.match(e)]


def test_job_specs_in_one_task(ansible, emulator):
    """Every job-spec case as one item of ONE sigma_jobs task: every item must be refused, naming its field."""
    corpus = load('job_specs.yml')
    cases = corpus['cases']
    emulator.reset('input')
    items = [job_case(corpus['base'], c) for c in cases]
    args = dict(connection(emulator), jobs=items)
    task = {'name': 'all', 'sigma.media_server.sigma_jobs': args, 'ignore_errors': True}
    run = ansible.playbook([task], label='bad-job-specs')
    res = run.task('all')
    requests = emulator.requests('input')
    assert res['status'] == 'failed', run.explain()
    errors = [str(e) for e in res['result'].get('errors') or []]
    msg = str(res['result'].get('msg', ''))
    refusals = {}
    for n, case in enumerate(cases):
        found = item_errors(errors, n)
        refusals[case['id']] = '\n'.join(found) if found else None
    problems = check_refusals(refusals, cases)
    if not errors:
        problems.append('no per-item errors returned: %s' % excerpt(msg, 300))
    problems += reached(requests)
    for kind in sorted(set(c['kind'] for c in cases)):
        these = [c for c in cases if c['kind'] == kind]
        bad = [p for p in problems if p.split(':')[0] in set(c['id'] for c in these)]
        FIGURES.add('bad_input', category='job specs: %s' % kind, cases=len(these),
                    refused=len([c for c in these if refusals[c['id']] is not None]), field_named=len(these) - len(bad),
                    requests_sent=len(requests), via='ONE sigma_jobs task holding every case as an item',
                    result=verdict(bad + reached(requests)))
    assert not problems, '\n'.join(problems)


def test_job_specs_sigma_job(ansible, emulator):
    """Every 10th case of each kind through sigma_job itself, one task per case."""
    corpus = load('job_specs.yml')
    by_kind = {}
    for case in corpus['cases']:
        by_kind.setdefault(case['kind'], []).append(case)
    cases = [c for kind in sorted(by_kind) for c in by_kind[kind][::10]]
    refusals, requests = task_refusals(ansible, emulator, 'sigma_job', cases,
                                       lambda case: dict(job_case(corpus['base'], case), **connection(emulator)), 'bad-sigma_job')
    judge('job specs through sigma_job (every 10th case of each kind)', ONE_TASK_PER_CASE, cases, refusals, requests)


def test_sigma_jobs_arguments(ansible, emulator):
    """The task-level arguments of sigma_jobs."""
    corpus = load('job_specs.yml')
    good = [job_case(corpus['base'], {'id': 'a', 'set': {}}), job_case(corpus['base'], {'id': 'b', 'set': {}})]
    cases = [
        {'id': 'jobs-missing', 'field': 'jobs', 'args': {}},
        {'id': 'jobs-text', 'field': r'jobs', 'args': {'jobs': 'rel-a'}},
        {'id': 'jobs-item-list', 'field': r'jobs', 'args': {'jobs': [good[0], [good[1]]]}},
        {'id': 'duplicate-names', 'field': r'jobs\[1\].*name|name.*jobs\[1\]', 'args': {'jobs': [good[0], dict(good[1], name=good[0]['name'])]}},
        {'id': 'exclusive-text', 'field': 'exclusive', 'args': {'jobs': good, 'exclusive': 'maybe'}},
        {'id': 'wait-timeout-text', 'field': 'wait_timeout', 'args': {'jobs': good, 'wait_timeout': 'long'}},
        {'id': 'unknown-option', 'field': 'bogus_option', 'args': {'jobs': good, 'bogus_option': 1}},
    ]
    refusals, requests = task_refusals(ansible, emulator, 'sigma_jobs', cases,
                                       lambda case: dict(case['args'], **connection(emulator)), 'bad-sigma_jobs-args')
    judge('sigma_jobs task arguments', ONE_TASK_PER_CASE, cases, refusals, requests)


def test_job_names_and_size(ansible, emulator):
    """Unicode and very long job names, and a 5 MB specification, are refused before any request."""
    corpus = load('job_specs.yml')
    cases = [
        {'id': 'name-unicode', 'field': 'name', 'set': {'name': u'k\u00eanh-truy\u1ec1n-h\u00ecnh-\u2713'}},
        {'id': 'name-control-chars', 'field': 'name', 'set': {'name': 'rel\nbad\tname'}},
        {'id': 'name-5000-chars', 'field': 'name', 'set': {'name': 'n' * 5000}},
        {'id': 'spec-5-MB', 'field': r'(?i)size|too (large|long|big)|MB|bytes',
         'set': {'extra': {'comment': 'x' * (5 * 1024 * 1024)}}},
    ]
    refusals, requests = task_refusals(ansible, emulator, 'sigma_job', cases,
                                       lambda case: dict(job_case(corpus['base'], case), **connection(emulator)), 'bad-names-size')
    # a request of a 5 MB spec: its function and job name say enough
    judge('job names (unicode, control characters, 5000 characters) and a 5 MB spec', ONE_TASK_PER_CASE, cases,
          refusals, requests, sent=', '.join('%s %s' % (e.get('function'), excerpt(e.get('name'), 40)) for e in requests))
