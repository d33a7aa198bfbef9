# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Untrusted data: strings from a server that hold `{{ ... }}` are never templated.

The server 'rel-untrusted' reports a host name, a version, a storage folder
and job names that are Jinja expressions: one would render as 42, another
would create a sentinel file through a pipe lookup. Whatever path the data
takes (a registered module result, inventory host variables, compose, the
whole dump), it must arrive verbatim and the sentinel must never appear.
"""

from __future__ import annotations

import json

import pytest

import rel_support as support
from rel_support import FIGURES

ANSWER = support.ANSWER


@pytest.fixture
def untrusted(emulator, tmp_path):
    sentinel = tmp_path / 'templated.sentinel'
    evil = support.setup_untrusted(emulator, sentinel)
    return dict(sentinel=sentinel, evil=evil)


def test_info_result_not_templated(ansible, emulator, untrusted):
    evil = untrusted['evil']
    tasks = [
        {'name': 'info', 'sigma.media_server.sigma_info': {'api_url': emulator.url('untrusted'), 'gather_subset': ['all']},
         'register': 'r'},
        {'name': 'use', 'ansible.builtin.set_fact': {
            'seen_hostname': '{{ r.server.hostname }}', 'seen_version': '{{ r.server.version }}',
            'seen_jobs': '{{ r.jobs.keys() | sort }}', 'seen_folder': '{{ r.dump.system.storage[0].folder[0] }}',
            'seen_inputs': '{{ r.jobs.values() | map(attribute="inputs") | flatten | map(attribute="url") | sort }}'}},
        {'name': 'show', 'ansible.builtin.debug': {'msg': '{{ r.server.hostname }} {{ r.server.version }}'}},
    ]
    run = ansible.playbook(tasks, label='untrusted-info')
    assert run.rc == 0, run.explain()
    facts = run.task('use')['result']['ansible_facts']
    problems = []
    expected = {'seen_hostname': ANSWER, 'seen_version': evil, 'seen_jobs': sorted([evil, ANSWER]), 'seen_folder': evil,
                'seen_inputs': sorted(['udp://' + ANSWER, 'udp://broken-' + evil])}
    for key, value in expected.items():
        if facts.get(key) != value:
            problems.append('%s: expected %r verbatim, got %r' % (key, value, facts.get(key)))
    if run.task('show')['result'].get('msg') != '%s %s' % (ANSWER, evil):
        problems.append('debug rendered server data: %r' % run.task('show')['result'].get('msg'))
    if untrusted['sentinel'].exists():
        problems.append('the pipe lookup in server data ran')
    FIGURES.add('untrusted', path='sigma_info result -> set_fact / debug', strings_checked=len(expected) + 1,
                rendered=len(problems), sentinel_created=untrusted['sentinel'].exists(), result='ok' if not problems else 'PROBLEM')
    assert not problems, '\n'.join(problems)


def test_inventory_not_templated(ansible, emulator, untrusted):
    evil = untrusted['evil']
    config = {'plugin': 'sigma.media_server.sigma', 'servers': [{'url': emulator.url('untrusted'), 'name': 'rel-untrusted'}],
              'include_dump': True, 'compose': {'rel_version': 'sigma_version', 'rel_host': 'sigma_dump.hostname'},
              'keyed_groups': [{'key': 'sigma_dump.branch', 'prefix': 'branch'}]}
    listing = ansible.inventory(config, label='untrusted-inventory')
    assert listing.rc == 0, listing.explain()
    inv = support.inventory_json(listing.stdout)
    hv = inv['_meta']['hostvars']['rel-untrusted']
    play = [{'name': 'use inventory', 'hosts': 'all', 'connection': 'local', 'gather_facts': False, 'tasks': [
        {'name': 'use', 'ansible.builtin.set_fact': {
            'seen_version': '{{ sigma_version }}', 'seen_compose': '{{ rel_version }}', 'seen_host': '{{ rel_host }}',
            'seen_folder': '{{ sigma_dump.system.storage[0].folder[0] }}'}},
        {'name': 'show', 'ansible.builtin.debug': {'msg': '{{ sigma_version }}|{{ rel_host }}'}},
    ]}]
    run = ansible.playbook(play, label='untrusted-inventory-play', inventory=('rel.sigma.yml', config))
    assert run.rc == 0, run.explain()
    facts = run.task('use', host='rel-untrusted')['result']['ansible_facts']
    problems = []
    for key, value in (('sigma_version', evil), ('rel_version', evil), ('rel_host', ANSWER)):
        if hv.get(key) != value:
            problems.append('--list %s: expected %r, got %r' % (key, value, hv.get(key)))
    expected = {'seen_version': evil, 'seen_compose': evil, 'seen_host': ANSWER, 'seen_folder': evil}
    for key, value in expected.items():
        if facts.get(key) != value:
            problems.append('%s: expected %r verbatim, got %r' % (key, value, facts.get(key)))
    if run.task('show', host='rel-untrusted')['result'].get('msg') != '%s|%s' % (evil, ANSWER):
        problems.append('debug rendered server data: %r' % run.task('show', host='rel-untrusted')['result'].get('msg'))
    rendered_groups = [g for g in inv if g.startswith('branch') and '42' in g]
    if rendered_groups:
        problems.append('keyed_groups rendered server data: %s' % rendered_groups)
    if untrusted['sentinel'].exists():
        problems.append('the pipe lookup in server data ran')
    FIGURES.add('untrusted', path='inventory --list, compose, keyed_groups, playbook vars', strings_checked=len(expected) + 4,
                rendered=len(problems), sentinel_created=untrusted['sentinel'].exists(), result='ok' if not problems else 'PROBLEM')
    assert not problems, '\n'.join(problems)


def test_report_not_templated(report_run):
    run, report_dir, sentinel, evil = report_run
    assert run.rc == 0, run.explain()
    report = json.loads((report_dir / 'fleet.json').read_text(encoding='utf-8'))
    html = (report_dir / 'fleet.html').read_text(encoding='utf-8')
    server = [s for s in report['servers'] if s['name'] == 'rel-untrusted'][0]
    problems = []
    if server['hostname'] != ANSWER or server['version'] != evil:
        problems.append('JSON report: hostname %r, version %r' % (server['hostname'], server['version']))
    names = sorted(j['name'] for j in server['jobs'])
    if names != sorted([ANSWER, evil]):
        problems.append('JSON report: job names %r' % names)
    errors = [e for j in server['jobs'] for e in j['errors']]
    if not any(evil in e for e in errors):
        problems.append('JSON report: the error line holding Jinja is not there verbatim: %r' % errors)
    if ANSWER not in html:
        problems.append('HTML report: %r not shown verbatim' % ANSWER)
    if sentinel.exists():
        problems.append('the pipe lookup in server data ran')
    FIGURES.add('untrusted', path='report role (HTML + JSON)', strings_checked=5, rendered=len(problems),
                sentinel_created=sentinel.exists(), result='ok' if not problems else 'PROBLEM')
    assert not problems, '\n'.join(problems)
