# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Session fixtures of the reliability suite.

ONE emulator process serves every server the suite needs (support.SERVERS,
on ephemeral ports); every test resets the servers it uses first. Ansible runs
as subprocesses in the shared harness's workspace (tests/harness), in which
ansible_collections/sigma/media_server is a symlink to this checkout.

A complete run (`python -m pytest tests/reliability`) rewrites
docs/reliability.md from the figures the tests recorded; a partial run (a file,
a node id, -k or -m) writes its table to the session's temp dir instead, so a
partial table never replaces the committed one. SIGMA_RELIABILITY_DOC=path
overrides where it goes.
"""

from __future__ import annotations

import os

import pytest

import rel_report as report
import rel_support as support


@pytest.fixture(scope='session')
def emulator(tmp_path_factory):
    emu = support.Emulator(tmp_path_factory.mktemp('emulator')).start()
    yield emu
    emu.stop()


@pytest.fixture(scope='session')
def ansible(emulator, tmp_path_factory):
    """The shared harness's workspace: this checkout as sigma.media_server, each run in a folder of its own."""
    ws = support.workspace(tmp_path_factory.mktemp('ansible'), emulator)
    assert (ws.collections_path / 'ansible_collections' / 'sigma' / 'media_server' / 'galaxy.yml').exists()
    return ws


@pytest.fixture(scope='session')
def figures():
    return support.FIGURES


def _complete_run(config):
    """True when the whole suite was selected: no -k/-m, no file or node-id arguments."""
    if config.option.keyword or config.option.markexpr:
        return False
    here = support.HERE
    for arg in config.args:
        path = os.path.abspath(str(arg).split('::', maxsplit=1)[0])
        if path != str(here) and not str(here).startswith(path + os.sep):
            return False
        if '::' in str(arg):
            return False
    return True


def pytest_sessionfinish(session, exitstatus):
    figures = support.FIGURES
    if not figures.sections:
        return
    target = os.environ.get('SIGMA_RELIABILITY_DOC')
    if not target:
        if _complete_run(session.config):
            target = str(support.DOC)
        else:
            target = os.path.join(str(session.config._tmp_path_factory.getbasetemp()), 'reliability.md')
    failed = session.testsfailed
    text = report.render(figures, tests=session.testscollected, failed=failed)
    with open(target, 'w', encoding='utf-8') as fh:
        fh.write(text)
    session.config._sigma_doc = target


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    target = getattr(config, '_sigma_doc', None)
    if target:
        terminalreporter.write_line('reliability figures written to %s' % target)


@pytest.fixture(scope='session')
def report_run(ansible, emulator, tmp_path_factory):
    """ONE run of the report role (at -vvvv) over servers holding secrets and Jinja-laden strings.

    Hosts: rel-secrets (licence key; a job with DRM keys, S3 keys and URL passwords whose input is broken, so its
    error lines carry the input URL), rel-auth (basic auth given as a password in the URL, a header token),
    rel-untrusted (host name, version, job names and error lines holding Jinja), rel-down (nothing listens; its
    URL carries a password). Returns (run, report dir, sentinel path, evil string).
    """
    base = tmp_path_factory.mktemp('report')
    sentinel = base / 'templated.sentinel'
    evil = support.setup_untrusted(emulator, sentinel)
    for server in ('secrets', 'auth'):
        emulator.reset(server)
    emulator.control('secrets', 'PATCH', 'config', {'broken_inputs': ['srt://*']})
    auth = support.SERVERS['auth']
    hosts = {
        'rel-secrets': {'sigma_api_url': emulator.url('secrets')},
        'rel-auth': {'sigma_api_url': 'http://%s:%s@127.0.0.1:%d' % (auth['auth']['username'], auth['auth']['password'],
                                                                     emulator.port('auth')),
                     'sigma_headers': {auth['token']['header']: auth['token']['value']}},
        'rel-untrusted': {'sigma_api_url': emulator.url('untrusted')},
        'rel-down': {'sigma_api_url': 'http://relops:%s@127.0.0.1:%d' % (support.REPORT_DOWN_PASSWORD, emulator.dead_port)},
    }
    inventory = {'all': {'hosts': hosts, 'vars': {'ansible_connection': 'local', 'sigma_timeout': 2, 'sigma_retries': 0}}}
    report_dir = base / 'out'
    plays = [
        {'name': 'a job with every kind of secret', 'hosts': 'localhost', 'gather_facts': False,
         'tasks': [{'name': 'secret job', 'sigma.media_server.sigma_job': dict(support.secret_job(), api_url=emulator.url('secrets'))},
                   # the server fails the broken input after its starting and preparing phases: the report must
                   # see the error lines (on the controller path the report may otherwise come first)
                   {'name': 'secret job error lines', 'sigma.media_server.sigma_info': {
                       'api_url': emulator.url('secrets'), 'gather_subset': ['jobs']}, 'register': 'secret_info',
                    'until': "secret_info.jobs.values() | map(attribute='errors') | select | list | length > 0",
                    'retries': 30, 'delay': 1}]},
        {'name': 'report', 'hosts': 'all', 'gather_facts': False,
         'vars': {'sigma_report_dir': str(report_dir), 'sigma_report_name': 'fleet'},
         'roles': ['sigma.media_server.report']},
    ]
    inventory['all']['hosts']['localhost'] = {'ansible_connection': 'local'}
    plays[1]['hosts'] = 'all:!localhost'
    run = ansible.playbook(plays, label='report', inventory=inventory, verbosity=4)
    return run, report_dir, sentinel, evil
