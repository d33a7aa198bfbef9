# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugins: on a local connection the engine runs in the worker and returns what the module would."""

from __future__ import annotations

import json
import os
import shutil

from unittest import mock

import pytest

from ansible.module_utils import basic
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:  # ansible-core 2.19+: only strings marked as trusted are templated, as Ansible marks those of inventory files
    from ansible.template import trust_as_template
except ImportError:  # earlier: every string is
    def trust_as_template(value):
        return value

from ansible_collections.sigma.media_server.plugins.action import sigma_info as info_action
from ansible_collections.sigma.media_server.plugins.action import sigma_job as job_action
from ansible_collections.sigma.media_server.plugins.action import sigma_jobs as jobs_action
from ansible_collections.sigma.media_server.plugins.module_utils import _module
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.plan import changed_fields
from ansible_collections.sigma.media_server.plugins.modules import sigma_info, sigma_job, sigma_jobs
from ansible_collections.sigma.media_server.plugins.plugin_utils import _action
from ansible_collections.sigma.media_server.tests.unit.utils import (
    FakeSigma, as_a_module_process, fake_transport, patch_module_args, warning_texts,
)

SECRETS = ('DRMK3Y-0001', 'Pa55-w0rd', 'H3ADER-T0KEN')
FACES = {'sigma_job': (job_action, sigma_job), 'sigma_jobs': (jobs_action, sigma_jobs), 'sigma_info': (info_action, sigma_info)}


@pytest.fixture
def server(monkeypatch, tmp_path):
    fake = FakeSigma(gpus=('Tesla T4',))
    made = []
    Transport = fake_transport(fake, made)
    monkeypatch.setattr(_module, 'SigmaTransport', Transport)
    monkeypatch.setattr(_action, 'SigmaTransport', Transport)
    monkeypatch.setattr(_action, '_TRANSPORTS', {})
    monkeypatch.setattr(_action, '_LATEST_RECORD', {})
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: None)
    monkeypatch.setenv('SIGMA_STATE_DIR', str(tmp_path / 'state'))
    fake.transports = made
    return fake


def action_run(name, args, check=False, diff=False, environment=None, transport='local', task_vars=None, uuid='task-1'):
    """The action plugin of `name` on a connection of `transport`; its result."""
    action_module = FACES[name][0]
    task = mock.Mock(args=args, action='sigma.media_server.%s' % name, check_mode=check, diff=diff, async_val=0,
                     environment=None, _uuid=uuid)
    connection = mock.Mock(transport=transport)
    connection._shell.tmpdir = None
    task_vars = task_vars or {'inventory_hostname': 'srv'}
    action = action_module.ActionModule(task, connection, mock.Mock(become=False), None,
                                        Templar(loader=DataLoader(), variables=task_vars), None)

    def environment_string(raw=None):
        raw.clear()
        raw.update(environment or {})
        return ''

    action._compute_environment_string = environment_string
    action._early_needs_tmp_path = lambda: False
    return action.run(task_vars=task_vars)


def module_run(name, args, capsys, check=False, diff=False, environment=None, monkeypatch=None):
    """The module of `name` itself (what the remote path executes); its result."""
    for key, value in (environment or {}).items():
        monkeypatch.setenv(key, value)
    with as_a_module_process(), patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff,
                                                       _ansible_module_name='sigma.media_server.%s' % name)):
        with pytest.raises(SystemExit):
            FACES[name][1].main()
    for key in environment or {}:
        monkeypatch.delenv(key)
    result = json.loads(capsys.readouterr().out)
    _action.SigmaAction._returned(result, ('module', name))  # what the action plugin does with a module's result
    return result


def comparable(result):
    out = dict(result)
    out.pop('_ansible_parsed', None)
    out['warnings'] = warning_texts(result)
    return json.loads(json.dumps(out, sort_keys=True))


def job(**extra):
    args = {
        'api_url': 'http://fake:9999', 'name': 'ch1', 'input': 'rtmp://in:Pa55-w0rd@src.example/live',
        'profiles': [{'id': 'v', 'codec': 'h264'}, {'id': 'a', 'type': 'audio', 'volume': '+1dB'}],
        'targets': [{'format': 'hls', 'url': '/data/ch1', 'drm': {'type': 'AES_128', 'key': 'DRMK3Y-0001', 'key_id': 'KID-42'}}],
        'watermarks': [{'id': 'logo', 'url': '/l.png', 'x': 1, 'y': 2}],
        'headers': {'X-Token': 'H3ADER-T0KEN'},
    }
    args.update(extra)
    return args


def _lookup(value, path):
    for part in path.replace('[', '.').replace(']', '').split('.'):
        if part and isinstance(value, dict):
            value = value.get(part, '<missing>')
        elif part and isinstance(value, list):
            value = value[int(part)] if int(part) < len(value) else '<missing>'
    return value


def same_on_both_paths(server, capsys, monkeypatch, name, args, **kwargs):
    """Run the action plugin (controller) and the module from the same server and state directory; one result."""
    snapshot, clock = json.dumps(server.jobs), server.clock
    state = (kwargs.get('environment') or {}).get('SIGMA_STATE_DIR') or os.environ['SIGMA_STATE_DIR']
    saved = state + '.saved'
    if os.path.isdir(state):
        shutil.copytree(state, saved)
    here = action_run(name, args, **kwargs)
    calls_here, server.calls = server.calls, []
    server.jobs, server.clock = json.loads(snapshot), clock
    shutil.rmtree(state, ignore_errors=True)
    if os.path.isdir(saved):
        shutil.move(saved, state)
    there = module_run(name, args, capsys, monkeypatch=monkeypatch, **kwargs)
    calls_there, server.calls = server.calls, []
    assert calls_here == calls_there
    a, b = comparable(here), comparable(there)
    for key in sorted(set(a) | set(b)):
        assert a.get(key) == b.get(key), '%s differs at %s' % (key, [
            (path, _lookup(a.get(key), path), _lookup(b.get(key), path)) for path in changed_fields(a.get(key), b.get(key))])
    for secret in SECRETS:
        assert secret not in json.dumps(here), secret
    return here


def test_start_noop_and_live_update_are_the_same_on_both_paths(server, capsys, monkeypatch, tmp_path):
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', job())
    assert result['action'] == 'start' and result['invocation']['module_args']['headers'] == {'X-Token': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}
    server.jobs = {}
    action_run('sigma_job', job())  # create once for real
    server.calls = []
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', job())
    assert result['action'] == 'none' and not result['changed']
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', job(watermarks=[{'id': 'logo', 'url': '/l.png', 'x': 5, 'y': 2}]),
                                check=True, diff=True)
    assert result['action'] == 'update' and result['diff']['before']['config']['watermark'][0]['x'] == 1


def test_failures_warnings_and_refusals_are_the_same(server, capsys, monkeypatch):
    bad = job(profiles=[{'id': 'v', 'cq': 99}])
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', bad)
    assert result['failed'] and 'profiles[0].cq must be between 0 and 51' in result['msg'] and server.calls == []
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', job(colour='red'))
    assert result['failed'] and result['msg'].startswith("invalid options: unknown option 'colour' (valid: api_url, ")
    # an error inside a list names the item on both paths (issue 14)
    selec = job()
    selec['targets'] = [dict(selec['targets'][0], selec=['v'])] + selec['targets'][1:]
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', selec)
    assert result['failed'] and server.calls == []
    assert result['errors'] == ["targets[0]: unknown option 'selec' (did you mean select?)"]
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', job(timeout=0))
    assert result['msg'] == 'timeout must be greater than 0, got 0.0'
    item = dict((k, v) for k, v in job().items() if k not in ('api_url', 'headers'))
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_jobs', {'api_url': 'http://fake:9999', 'jobs': [item, 'x']})
    assert result['failed'] and result['msg'] == "invalid options: jobs[1] must be a dictionary, got str 'x'"
    server.valid = False
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', job(gpu=-1))
    assert result['failed'] and 'license is not valid' in result['msg'] and result['changed'] is False
    server.valid = True
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', job(validate_certs=False, api_url='https://fake:9999'))
    assert any('validate_certs is false' in w for w in warning_texts(result))


def test_the_task_environment_feeds_env_fallback_and_the_state_dir(server, capsys, monkeypatch, tmp_path):
    env = {'SIGMA_API_URL': 'http://from-env:9999', 'SIGMA_STATE_DIR': str(tmp_path / 'task-state')}
    args = dict(job())
    del args['api_url']
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', args, environment=env)
    assert result['invocation']['module_args']['api_url'] == 'http://from-env:9999'
    assert server.display_url == 'http://from-env:9999'
    assert (tmp_path / 'task-state').is_dir()


def test_sigma_info_is_the_same(server, capsys, monkeypatch):
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_info', {'api_url': 'http://fake:9999', 'gather_subset': ['all']})
    assert result['gpus'][0]['model'] == 'Tesla T4' and 'jobs' in result


def test_a_remote_connection_executes_the_module(server):
    with mock.patch.object(_action.SigmaAction, 'run_module', return_value={'changed': False, 'from': 'module'}) as run_module:
        result = action_run('sigma_job', job(), transport='ssh')
    assert result == {'changed': False, 'from': 'module'} and run_module.called and server.calls == []
    with mock.patch.object(_action.SigmaAction, 'run_module', return_value={'from': 'module'}):
        assert action_run('sigma_job', job(), transport='sigma_remote') == {'from': 'module'}


def test_one_transport_per_worker_and_settings(server):
    for n in range(3):
        action_run('sigma_job', job(name='ch%d' % n))
    action_run('sigma_job', job(name='other', timeout=3))
    assert len(server.transports) == 2


def test_the_record_travels_as_a_fact_with_a_persistent_cache(server, monkeypatch):
    monkeypatch.setattr(_action, 'fact_cache_persists', lambda: True)
    result = action_run('sigma_job', job())
    fact = result['ansible_facts']['sigma_job_record']
    assert list(fact) == ['http://fake:9999'] and 'record' not in result['invocation']['module_args']
    # a loop: the next item of the same task starts from the record the previous one returned
    result = action_run('sigma_job', job(name='ch2'))
    assert sorted(result['ansible_facts']['sigma_job_record']['http://fake:9999']['jobs']) == ['ch1', 'ch2']
    # another task reads the host's fact
    server.calls = []
    result = action_run('sigma_job', job(), uuid='task-2',
                        task_vars={'inventory_hostname': 'srv', 'ansible_facts': {'sigma_job_record': fact}})
    assert not result['changed'] and server.calls == [('progress', 'ch1')]


def test_without_a_persistent_cache_the_state_dir_keeps_the_record(server, monkeypatch):
    monkeypatch.setattr(_action, 'fact_cache_persists', lambda: False)
    result = action_run('sigma_job', job())
    assert 'ansible_facts' not in result
    server.calls = []
    assert not action_run('sigma_job', job(), uuid='task-2')['changed'] and server.calls == [('progress', 'ch1')]


def test_fact_cache_persists_follows_the_cache_plugin(monkeypatch):
    for plugin, persists in (('memory', False), ('ansible.builtin.memory', False), ('jsonfile', True), ('redis', True)):
        monkeypatch.setattr(_action.C.config, 'get_config_value', lambda name, *args, **kwargs: plugin)
        assert _action.fact_cache_persists() is persists


def test_plain_and_with_environment():
    assert _action.plain({'a': (1, 2.5, True, None, b'x')}) == {'a': [1, 2.5, True, None, 'x']}
    spec = _action.with_environment(_module.connection_argument_spec(), {'SIGMA_TIMEOUT': '3'})
    fallback, names = spec['timeout']['fallback']
    assert names == ['SIGMA_TIMEOUT'] and fallback(*names) == '3'
    with pytest.raises(_action.AnsibleFallbackNotFound):
        fallback('SIGMA_NOT_SET')


def test_with_nothing_to_hide_the_result_is_plain_json_values(server, capsys, monkeypatch):
    """Without secrets the action plugin skips Ansible's remove_values (a deep copy of the result): what it returns
    must already be what remove_values and the module's JSON would give, made of dicts, lists and scalars only."""
    plain_job = dict((k, v) for k, v in job(input='udp://239.1.1.1:5000').items()
                     if k not in ('api_url', 'headers', 'targets'))
    plain_job['targets'] = [{'format': 'hls', 'url': '/data/ch1'}]
    args = {'api_url': 'http://fake:9999', 'jobs': [plain_job]}
    started = same_on_both_paths(server, capsys, monkeypatch, 'sigma_jobs', args, diff=True)
    server.jobs = {}
    action_run('sigma_jobs', args)  # create once for real
    server.calls = []
    noop = same_on_both_paths(server, capsys, monkeypatch, 'sigma_jobs', args, diff=True)
    assert started['changed'] and not noop['changed'] and noop['jobs'][0]['action'] == 'none'
    for result in (started, noop):
        assert result == json.loads(json.dumps(result)), 'a tuple, set or other non-JSON value in the result'
    info = action_run('sigma_info', {'api_url': 'http://fake:9999'})
    assert not info.get('failed') and info == json.loads(json.dumps(info))


def test_an_empty_lineup_is_skipped_the_same_on_both_paths(server, capsys, monkeypatch):
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_jobs', {'api_url': 'http://fake:9999', 'jobs': []})
    assert result['skipped'] and not result['changed'] and server.calls == []


def remote_run(capsys, monkeypatch, name, args, task_vars, **kwargs):
    """The action plugin on a remote connection, executing the module (in this process) with the arguments it
    would send to the task's host; (result, the module's arguments)."""
    sent = {}

    def run_module(self, module_args, task_vars):
        sent.update(module_args)
        return module_run(name, module_args, capsys, monkeypatch=monkeypatch, **kwargs)

    with mock.patch.object(_action.SigmaAction, 'run_module', run_module):
        return action_run(name, args, transport='ssh', task_vars=task_vars, **kwargs), sent


def test_connection_options_left_out_come_from_the_host_variables_on_both_paths(server, capsys, monkeypatch, tmp_path):
    """A task without connection options takes the host's sigma_<option> variables (the inventory plugin sets
    sigma_api_url), templated with the task's variables, before the environment's SIGMA_* and the defaults."""
    args = dict((k, v) for k, v in job().items() if k not in ('api_url', 'headers'))
    task_vars = {'inventory_hostname': 'srv', 'sigma_api_url': 'http://from-host:9999',
                 'sigma_headers': {'X-Token': trust_as_template('{{ token }}')}, 'token': 'H3ADER-T0KEN',
                 'sigma_timeout': trust_as_template('{{ 3 + 4 }}'), 'sigma_username': None}
    env = {'SIGMA_API_URL': 'http://from-env:9999', 'SIGMA_RETRIES': '0'}
    snapshot, clock = json.dumps(server.jobs), server.clock
    here = action_run('sigma_job', args, task_vars=task_vars, environment=dict(env, SIGMA_STATE_DIR=str(tmp_path / 'a')))
    calls_here, server.calls, server.jobs, server.clock = server.calls, [], json.loads(snapshot), clock
    assert server.display_url == 'http://from-host:9999' and here['action'] == 'start'
    given = here['invocation']['module_args']
    assert (given['api_url'], given['timeout'], given['retries'], given['username']) == ('http://from-host:9999', 7.0, 0, None)
    assert given['headers'] == {'X-Token': 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'}
    there, sent = remote_run(capsys, monkeypatch, 'sigma_job', args, task_vars,
                             environment=dict(env, SIGMA_STATE_DIR=str(tmp_path / 'b')))
    # a templated number is 7 on ansible-core 2.19 and '7' before (no native types): the module converts either
    assert (sent['api_url'], float(sent['timeout']), sent['headers']) == ('http://from-host:9999', 7.0, {'X-Token': 'H3ADER-T0KEN'})
    assert 'username' not in sent and 'retries' not in sent  # None is not a value; the environment still applies
    assert server.calls == calls_here and comparable(there) == comparable(here)
    for secret in SECRETS:
        assert secret not in json.dumps(here) and secret not in json.dumps(there), secret


def test_a_task_argument_or_module_default_wins_over_the_host_variable(server):
    task_vars = {'inventory_hostname': 'srv', 'sigma_api_url': 'http://from-host:9999', 'sigma_timeout': 0}
    result = action_run('sigma_info', {'api_url': 'http://fake:9999', 'timeout': 5}, task_vars=task_vars)
    assert not result.get('failed') and server.display_url == 'http://fake:9999'
    assert result['invocation']['module_args']['timeout'] == 5.0


def test_a_bad_host_variable_is_named_on_both_paths(server, capsys, monkeypatch):
    task_vars = {'inventory_hostname': 'srv', 'sigma_api_url': 'http://fake:9999', 'sigma_timeout': 0}
    here = action_run('sigma_info', {}, task_vars=task_vars)
    there, sent = remote_run(capsys, monkeypatch, 'sigma_info', {}, task_vars)
    assert sent == {'api_url': 'http://fake:9999', 'timeout': 0}
    for result in (here, there):
        assert result['failed'] and server.calls == []
        assert result['msg'] == 'timeout must be greater than 0, got 0.0 (timeout is the host variable sigma_timeout)'
    task_vars = {'inventory_hostname': 'srv', 'sigma_api_url': 'ftp://fake'}
    result = action_run('sigma_info', {}, task_vars=task_vars)
    assert result['failed'] and result['msg'].endswith('(api_url is the host variable sigma_api_url)'), result['msg']
    # an option given in the task is not attributed to a host variable
    result = action_run('sigma_info', {'timeout': 0}, task_vars={'inventory_hostname': 'srv', 'sigma_timeout': 5})
    assert result['msg'] == 'timeout must be greater than 0, got 0.0'


@pytest.mark.parametrize('value, sent', [
    ('X-Token=H3ADER-T0KEN', {'X-Token': 'H3ADER-T0KEN'}),
    ('{"X-Token": "H3ADER-T0KEN", "X-Site": "hanoi"}', {'X-Token': 'H3ADER-T0KEN', 'X-Site': 'hanoi'}),
    ('', None),  # what AWX injects for a blank credential field: no header
])
def test_headers_come_from_sigma_headers_as_the_inventory_reads_it(server, capsys, monkeypatch, value, sent):
    """SIGMA_HEADERS (what the credential type injects) is read as the inventory plugin, the lookup and the event
    source read it, on both paths; its values are secrets."""
    args = dict((k, v) for k, v in job().items() if k != 'headers')
    result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_job', args, environment={'SIGMA_HEADERS': value})
    assert not result.get('failed') and result['action'] == 'start'
    assert [made['headers'] for made in server.transports] == [sent, sent]  # the action plugin's, the module's
    assert 'H3ADER-T0KEN' not in json.dumps(result)


def test_bad_headers_are_refused_naming_the_option_before_any_request(server, capsys, monkeypatch):
    for environment, args in (({'SIGMA_HEADERS': '["X-Token"]'}, {}), ({}, {'headers': 'no pairs here'}),
                              ({}, {'headers': ['X-Token']})):
        result = same_on_both_paths(server, capsys, monkeypatch, 'sigma_info', dict(args, api_url='http://fake:9999'),
                                    environment=environment)
        assert result['failed'] and server.calls == [] and server.transports == []
        assert result['msg'].startswith('headers must be a dictionary of header names and values'), result['msg']
