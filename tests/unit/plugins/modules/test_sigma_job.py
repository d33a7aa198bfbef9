# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sigma_job and sigma_jobs main(): refusals send nothing, request counts, secrets hidden everywhere."""

from __future__ import annotations

import json
import os

import pytest

from ansible.module_utils import basic

from ansible_collections.sigma.media_server.plugins.module_utils import _module
from ansible_collections.sigma.media_server.plugins.modules import sigma_job, sigma_jobs
from ansible_collections.sigma.media_server.tests.unit.utils import (
    FakeSigma, as_a_module_process, fake_transport, patch_module_args, warning_texts,
)

SECRETS = ('DRMK3Y-0001', 'KEYID-0002', 'Pa55-w0rd', 'AKIA-0003', 'SECRET-0004', 'https://kms.example/secret-path')


@pytest.fixture
def server(monkeypatch, tmp_path):
    client = FakeSigma(gpus=('Tesla T4',))
    logged = []
    monkeypatch.setattr(_module, 'SigmaTransport', fake_transport(client))
    monkeypatch.setattr(basic.AnsibleModule, 'log', lambda self, msg, log_args=None: logged.append(msg))
    monkeypatch.setenv('SIGMA_STATE_DIR', str(tmp_path))
    client.logged = logged
    return client


def run(module, args, capsys):
    with as_a_module_process(), patch_module_args(dict(args, api_url='http://fake:9999')):
        with pytest.raises(SystemExit):
            module.main()
    out = capsys.readouterr().out
    return json.loads(out), out


def one_job(**extra):
    job = {
        'name': 'ch1',
        'input': 'rtmp://ingest:Pa55-w0rd@src.example/live/ch1',
        'profiles': [{'id': 'v', 'codec': 'h264'}, {'id': 'a', 'type': 'audio', 'volume': '+1dB'}],
        'targets': [{'format': 'hls', 'url': '/data/ch1', 'select': ['v', 'a'],
                     'drm': {'type': 'AES_128', 'key': 'DRMK3Y-0001', 'key_id': 'KEYID-0002'}},
                    {'format': 'dash', 'url': '/data/ch1d', 'drm': {'server': 'https://kms.example/secret-path'}}],
        'extra': {'s3': {'accessKeyId': 'AKIA-0003', 'secretAccessKey': 'SECRET-0004'}},
    }
    job.update(extra)
    return job


def test_sigma_job_creates_then_noop_with_one_request(server, capsys, tmp_path):
    result, _out = run(sigma_job, one_job(), capsys)
    assert result['changed'] and result['action'] == 'start' and result['job']['state'] == 'started'
    # a change reads progress again under the server's write lock (a file in the state dir), then writes
    assert [c[0] for c in server.calls] == ['progress', 'progress', 'start', 'progress']
    assert [f for f in os.listdir(str(tmp_path)) if f.startswith('writes-') and f.endswith('.lock')]
    server.calls = []
    result, _out = run(sigma_job, one_job(), capsys)
    assert not result['changed'] and server.calls == [('progress', 'ch1')]
    assert result['diff'] == {'before': {}, 'after': {}} and result['actions'] == []


def test_sigma_job_hides_every_secret(server, capsys):
    result, out = run(sigma_job, one_job(), capsys)
    for secret in SECRETS:
        assert secret not in out, secret
        assert all(secret not in line for line in server.logged), secret
    assert result['actions'][0]['config']['target'][0]['drm']['key'] == '********'
    # the server got the real values
    assert server.jobs['ch1']['config']['target'][0]['drm']['key'] == 'DRMK3Y-0001'


def test_sigma_job_refusal_sends_nothing(server, capsys):
    bad = one_job(profiles=[{'id': 'v', 'cq': 60}], gpu='auto')
    bad['targets'][0]['select'] = ['v', 'missing']
    result, _out = run(sigma_job, bad, capsys)
    assert result['failed'] and server.calls == []
    assert 'profiles[0].cq must be between 0 and 51' in result['msg']
    assert "targets[0].select[1] refers to profile 'missing'" in result['msg']
    assert len(result['errors']) == 2


def test_sigma_job_check_mode_sends_no_write(server, capsys):
    result, _out = run(sigma_job, dict(one_job(), _ansible_check_mode=True, gpu='auto'), capsys)
    assert result['changed'] and [c[0] for c in server.calls] == ['progress', 'dump']
    assert result['diff']['before'] == {'state': 'absent'} and result['gpu'] == 0


def test_sigma_jobs_items_hide_secrets_too(server, capsys):
    jobs = [one_job(), one_job(name='ch2')]
    result, out = run(sigma_jobs, {'jobs': jobs}, capsys)
    assert result['changed'] and [j['action'] for j in result['jobs']] == ['start', 'start']
    for secret in SECRETS:
        assert secret not in out, secret
        assert all(secret not in line for line in server.logged), secret
    assert server.calls[0] == ('progress', '*')
    server.calls = []
    result, _out = run(sigma_jobs, {'jobs': jobs}, capsys)
    assert not result['changed'] and server.calls == [('progress', '*')]


def test_sigma_jobs_item_errors_name_the_item_and_send_nothing(server, capsys):
    bad = one_job(name='ch2', mode='tv')
    worse = one_job(name='ch3')
    worse['targets'][0]['select'] = ['zz']
    result, out = run(sigma_jobs, {'jobs': [one_job(), bad, worse, one_job()]}, capsys)
    assert result['failed'] and server.calls == []
    msg = result['msg']
    assert "jobs[1] (name 'ch2').mode must be one of: live, vod, got: tv" in msg
    assert "jobs[2] (name 'ch3').targets[0].select[0] refers to profile 'zz'" in msg
    assert "jobs[3] (name 'ch1'): name 'ch1' is already used by jobs[0]" in msg
    for secret in SECRETS:
        assert secret not in out, secret


def test_sigma_jobs_exclusive(server, capsys):
    run(sigma_jobs, {'jobs': [one_job(), one_job(name='ch2'), one_job(name='ch3')]}, capsys)
    result, _out = run(sigma_jobs, {'jobs': [one_job(name='ch2', state='absent'), one_job()], 'exclusive': True}, capsys)
    assert [(j['name'], j['action']) for j in result['jobs']] == [('ch2', 'stop'), ('ch1', 'none'), ('ch3', 'stop')]
    assert sorted(server.jobs) == ['ch1']
    assert sorted(result['diff']['after']) == ['ch2', 'ch3']


def test_sigma_jobs_empty_and_not_exclusive_is_skipped_without_a_request(server, capsys):
    run(sigma_jobs, {'jobs': [one_job()]}, capsys)
    server.calls = []
    result, _out = run(sigma_jobs, {'jobs': []}, capsys)
    assert result['skipped'] and not result['changed'] and result['jobs'] == [] and server.calls == []
    assert result['msg'] == 'nothing to apply: jobs is empty and exclusive is false'
    # exclusive with an empty list still stops every job (it declares an empty server)
    result, _out = run(sigma_jobs, {'jobs': [], 'exclusive': True}, capsys)
    assert not result.get('skipped') and [(j['name'], j['action']) for j in result['jobs']] == [('ch1', 'stop')]
    assert server.jobs == {}


def test_sigma_jobs_refused_by_ansible_itself_hides_secrets(server, capsys):
    result, out = run(sigma_jobs, {'jobs': [one_job(), 'not a dict']}, capsys)
    assert result['failed'] and server.calls == []
    for secret in SECRETS:
        assert secret not in out, secret


@pytest.mark.parametrize('name', [u'k\u00eanh-truy\u1ec1n-h\u00ecnh-\u2713', 'rel\nbad\tname', 'n' * 5000, '*'])
def test_bad_names_are_refused_before_any_request(server, capsys, name):
    result, _out = run(sigma_job, one_job(name=name), capsys)
    assert result['failed'] and server.calls == [] and not result['changed']
    assert 'name must be 1 to 128 characters' in result['msg']
    result, _out = run(sigma_job, {'name': name, 'state': 'absent'}, capsys)
    assert result['failed'] and server.calls == [] and 'name must be' in result['msg']
    result, _out = run(sigma_jobs, {'jobs': [one_job(), one_job(name=name)]}, capsys)
    assert result['failed'] and server.calls == [] and 'jobs[1].name must be' in result['msg']


def test_a_start_body_over_1_mib_is_refused_before_any_request(server, capsys):
    big = one_job(extra={'comment': 'x' * (5 * 1024 * 1024)})
    result, out = run(sigma_job, big, capsys)
    assert result['failed'] and server.calls == [] and not result['changed']
    assert 'job ch1: the start body is' in result['msg'] and '(5.0 MB)' in result['msg']
    assert 'more than the 1048576 bytes (1 MiB) allowed' in result['msg']
    result, _out = run(sigma_jobs, {'jobs': [one_job(name='ok'), dict(big, name='big')]}, capsys)
    assert result['failed'] and server.calls == [] and "jobs[1] (name 'big'): job big: the start body is" in result['msg']


@pytest.mark.parametrize('ignore_id', [False, True, 'omit'], ids=['echoes _id', 'echoes _id empty', 'no _id at all'])
def test_the_record_as_a_fact_makes_every_run_right_on_a_fresh_runner(server, capsys, tmp_path, monkeypatch, ignore_id):
    """Issue 18: nothing kept between runs but the fact sigma_job_record (each run: a fresh SIGMA_STATE_DIR)."""
    server.ignore_id = ignore_id
    fact = {}

    def fresh_run(job, **extra):
        nonlocal fact
        monkeypatch.setenv('SIGMA_STATE_DIR', str(tmp_path / ('run%d' % len(os.listdir(str(tmp_path))))))
        server.calls = []
        result, out = run(sigma_job, dict(job, record=fact, **extra), capsys)
        assert not result.get('failed'), result
        if 'ansible_facts' in result:
            fact = result['ansible_facts']['sigma_job_record']
        for secret in SECRETS:
            assert secret not in out, secret
        return result

    live = one_job(watermarks=[{'id': 'logo', 'url': '/l.png', 'x': 10, 'y': 20}])
    hidden = dict(live, watermarks=[{'id': 'logo', 'url': '/l.png', 'x': 10, 'y': 20, 'enable': False}])
    assert fresh_run(live)['action'] == 'start'
    assert list(fact) == ['http://fake:9999'] and 'ch1' in fact['http://fake:9999']['jobs']
    result = fresh_run(hidden)
    assert result['action'] == 'update' and not warning_texts(result)  # the record knows what runs
    assert [c[2] for c in server.writes()][:1] == ['overlay']
    # the same again: changed=0 with exactly one progress
    result = fresh_run(hidden)
    assert not result['changed'] and server.calls == [('progress', 'ch1')] and 'ansible_facts' not in result
    # set back: the update is sent
    result = fresh_run(live)
    assert result['changed'] and result['action'] == 'update'
    assert [c for c in server.writes() if c[2] == 'overlay'][0][4] == {'x': 10, 'y': 20, 'enable': 1}
    # a restart-worthy change in check mode with diff: the field, its old and its new value, secrets masked
    changed = dict(live, profiles=[{'id': 'v', 'codec': 'h264', 'width': 1280}, live['profiles'][1]])
    changed['targets'] = [dict(live['targets'][0], drm=dict(live['targets'][0]['drm'], key='N3W-DRM-K3Y'))] + live['targets'][1:]
    result = fresh_run(changed, _ansible_check_mode=True, _ansible_diff=True)
    assert result['action'] == 'restart' and server.writes() == []
    assert result['reasons'] == ['settings progress does not report: profile[0].width, target[0].drm.key']
    before, after = result['diff']['before']['config'], result['diff']['after']['config']
    assert 'width' not in before['profile'][0] and after['profile'][0]['width'] == 1280
    old_key, new_key = before['target'][0]['drm']['key'], after['target'][0]['drm']['key']
    assert old_key.startswith('********:') and new_key.startswith('********:') and old_key != new_key
    assert before['target'][0]['drm']['keyId'] == after['target'][0]['drm']['keyId']
    # without any record: never a false ok, and the warning names the fix
    fact = {}
    result = fresh_run(live)
    assert result['changed'] and result['action'] == 'update'
    assert any('fact storage' in w and 'are not known' in w for w in warning_texts(result))


@pytest.mark.parametrize('change, expected', [
    (lambda j: j['targets'][0].update(selec=['v']), "targets[0]: unknown option 'selec' (did you mean select?)"),
    (lambda j: j['targets'][1]['drm'].update(keyy='x'), "targets[1].drm: unknown option 'keyy' (did you mean key?)"),
    (lambda j: j['profiles'][1].update(sample_rate='fast'), "profiles[1].sample_rate must be an integer, got str 'fast'"),
    (lambda j: j['profiles'].append({'type': 'audio'}), "profiles[2]: missing required option 'id'"),
    (lambda j: j['targets'].append('hls'), 'targets[2] must be a dictionary, got str'),
    (lambda j: j.update(bogus=1), "unknown option 'bogus' (valid: api_url, ca_path, extra, force, gpu, headers, input"),
])
def test_type_and_unknown_key_errors_carry_the_path(server, capsys, change, expected):
    bad = one_job()
    change(bad)
    result, out = run(sigma_job, bad, capsys)
    assert result['failed'] and server.calls == []
    assert result['msg'].startswith('invalid options: ') and expected in result['msg'], result['msg']
    assert len(result['errors']) == 1
    for secret in SECRETS:
        assert secret not in out, secret
    items = [one_job(name='ok'), one_job(name='news')]
    change(items[1])
    result, out = run(sigma_jobs, {'jobs': items}, capsys)
    assert result['failed'] and server.calls == []
    if 'api_url' not in expected:  # the connection options are sigma_jobs' own, not an item's
        assert "jobs[1] (name 'news')%s%s" % ('' if expected.startswith('unknown') else '.', expected) \
            in result['msg'].replace("(name 'news'): unknown", "(name 'news')unknown"), result['msg']
    for secret in SECRETS:
        assert secret not in out, secret
