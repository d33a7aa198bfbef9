# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the server reports is not the whole truth: report shapes, jobs in error, jobs started outside the collection."""

from __future__ import annotations

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils._jobs.plan import plan_job
from ansible_collections.sigma.media_server.plugins.module_utils._outcome import Failure
from ansible_collections.sigma.media_server.tests.unit.plugins.module_utils.test_jobs_engine import (
    DELETE, entry_of, job, run, started,
)
from ansible_collections.sigma.media_server.tests.unit.utils import FakeSigma

LIST = ['udp://239.1.1.1:1234', 'udp://239.1.1.2:1234', 'udp://239.1.1.3:1234']


# A job without live settings (no overlay id, volume, DRM or header): nothing for `update` to send.
PLAIN = dict(gpu=-1, watermarks=DELETE, profiles__1__volume=DELETE, targets__0__drm=DELETE, targets__1__drm=DELETE,
             targets__0__manifest__header=DELETE, targets__1__manifest__header=DELETE)


def plain(**change):
    return job(**dict(PLAIN, **change))


def policy(unverified, **change):
    """A job without live settings, with its `unverified` option."""
    out = plain(**change)
    out.unverified = unverified
    return out


# ------------------------------------------------------------------------------------------ report shapes


@pytest.mark.parametrize('inputs', ['all', 'active', 'failover', 'reversed'])
@pytest.mark.parametrize('ignore_id', [False, True])
@pytest.mark.parametrize('given', ['main_backup', 'list'])
def test_every_way_of_reporting_inputs_is_accepted(tmp_path, inputs, ignore_id, given):
    client = FakeSigma(inputs=inputs, ignore_id=ignore_id)
    jobs = [job(gpu=-1)] if given == 'main_backup' else [job(gpu=-1, input=LIST)]
    run(client, jobs, tmp_path)
    client.calls = []
    for _n in range(3):
        result, _m = run(client, jobs, tmp_path)
        assert not result['changed'] and client.writes() == [], (inputs, result['jobs'][0]['reasons'])


@pytest.mark.parametrize('ignore_id', [False, True])
def test_an_input_the_job_is_not_configured_with_is_still_a_change(tmp_path, ignore_id):
    client = FakeSigma(inputs='active', ignore_id=ignore_id)
    run(client, [job(gpu=-1)], tmp_path)
    result, _m = run(client, [job(gpu=-1, input={'main': 'udp://239.7.7.7:1234', 'backup': 'udp://239.1.1.2:1234'})],
                     tmp_path)
    assert result['jobs'][0]['action'] == 'restart' and 'input' in result['jobs'][0]['reasons']


def test_how_a_server_shapes_its_report_is_never_a_change():
    client = FakeSigma()
    secret = plain(weight=2, input={'main': 'udp://ingest:Pa55@239.1.1.1:1234', 'backup': 'udp://239.1.1.2:1234'})
    entry = started(client, secret)
    entry['inputs'] = [{'url': 'udp://ingest:********@239.1.1.1:1234'}]  # the password masked, the backup not listed
    entry['targets'][0]['url'] += '/'  # a folder with a trailing slash
    entry['targets'][1]['format'] = 'DASH'
    entry['profiles'][0]['id'] = '0X100'
    entry['targets'][0]['select'] = ['0X100', '0x101']
    entry['weight'], entry['mode'] = 1, 'LIVE'  # a server that ignores weight
    plan = plan_job(secret, entry)
    assert plan.action == 'none' and plan.reasons == [], plan.reasons
    # without the digest, the weight is the only word on it
    entry['id'] = None
    assert plan_job(secret, entry).reasons == ['weight']


@pytest.mark.parametrize('ignore_id', [False, True])
def test_a_reported_value_no_shape_explains_is_a_change(ignore_id):
    # someone changed the job outside Ansible (a console that sends the job back with its _id, for example)
    client = FakeSigma(ignore_id=ignore_id)
    entry = started(client, job())
    entry['targets'][0]['url'] = '/data/elsewhere'
    entry['inputs'] = [{'url': 'udp://239.9.9.9:1'}]
    plan = plan_job(job(), entry)
    assert plan.action == 'restart' and plan.reasons == ['input', 'targets (format, url or select)']
    assert plan.before['config']['input'] == 'udp://239.9.9.9:1'


# ------------------------------------------------------------------------------------------ jobs in error


@pytest.mark.parametrize('mode', ['live', 'vod'])
def test_a_job_in_error_is_started_again(tmp_path, mode):
    client = FakeSigma()
    run(client, [job(gpu=-1, mode=mode)], tmp_path)
    client.jobs['ch1']['state'] = 'error'
    client.jobs['ch1']['error'] = ['[01-01 00:00:06] Stream not found: udp://x (code: STREAM_NOT_FOUND)']
    client.calls = []
    result, _m = run(client, [job(gpu=-1, mode=mode)], tmp_path)
    assert result['jobs'][0]['action'] == 'restart' and [c[0] for c in client.writes()] == ['start']
    assert result['jobs'][0]['reasons'] == [{'live': 'the live job is error, not running',
                                             'vod': 'the VOD job is in state error'}[mode]]


@pytest.mark.parametrize('state, expected', [('starting', 'none'), ('preparing', 'none'), ('started', 'none'),
                                             ('finished', 'none'), ('error', 'restart'), ('stop', 'restart')])
def test_vod_states(state, expected):
    client = FakeSigma()
    started(client, job(mode='vod'))
    client.jobs['ch1']['state'] = state
    assert plan_job(job(mode='vod'), entry_of(client)).action == expected


# ------------------------------------------------------------------------------------------ jobs started outside


def outside(client, j, ident=''):
    """Someone starts `j` on the server with their own `_id` (none: empty)."""
    body = j.start_body(-1)
    body['_id'] = ident
    client.start(body)
    client.calls = []


@pytest.mark.parametrize('ident', ['', 'crm-7', '0123456789ab'])
def test_unverified_default_warns_and_never_restarts(tmp_path, ident):
    client = FakeSigma()
    outside(client, plain(), ident)
    result, module = run(client, [plain(profiles__0__width=1920)], tmp_path)
    assert not result['changed'] and client.writes() == []
    warning = [w for w in module.warnings if 'carry no digest' in w]
    assert len(warning) == 1 and 'unverified=restart' in warning[0]


def test_unverified_restart_adopts_the_job_once(tmp_path):
    client = FakeSigma()
    outside(client, plain())
    adopt = policy('restart')
    result, _m = run(client, [adopt], tmp_path, check=True)
    assert result['jobs'][0]['action'] == 'restart' and client.writes() == []
    assert result['jobs'][0]['reasons'][0].startswith('unverified is restart: the job was not started by this collection')
    result, module = run(client, [adopt], tmp_path)
    assert result['changed'] and [c[0] for c in client.writes()] == ['start']
    assert client.jobs['ch1']['config']['_id'] == adopt.record_id and not module.warnings
    client.calls = []
    result, _m = run(client, [adopt], tmp_path)  # now its own: verified through the digest
    assert not result['changed'] and client.calls == [('progress', '*')]


def test_unverified_fail_refuses_before_any_write(tmp_path):
    client = FakeSigma()
    outside(client, plain(name='a'))
    lineup = [policy('fail', name='a'), plain(name='b', targets__0__url='/b', targets__1__url='/c')]
    for check in (True, False):
        with pytest.raises(Failure) as exc:
            run(client, lineup, tmp_path, check=check)
        msg = exc.value.result['msg']
        assert client.writes() == [] and exc.value.result['changed'] is False
        assert 'nothing was changed: job(s) a run(s) on the server but was not started by this collection' in msg
        assert 'unverified=restart adopts such a job' in msg and client.display_url in msg
    # a job that is restarted anyway (an input changed) is verified afterwards: no refusal
    moved = policy('fail', name='a', input='udp://239.3.3.3:1')
    result, _m = run(client, [moved], tmp_path)
    assert result['jobs'][0]['action'] == 'restart'
    # and a job this collection started is never refused
    client.calls = []
    result, _m = run(client, [moved], tmp_path)
    assert not result['changed'] and client.writes() == []


def test_a_job_on_a_server_that_does_not_echo_id_is_unverified(tmp_path):
    # without the digest in _id nothing tells what the job runs (the record, where kept, does: see record.py)
    client = FakeSigma(ignore_id=True)
    run(client, [plain()], tmp_path)
    plan = plan_job(plain(), entry_of(client))
    assert plan.blind and plan.unverified and plan.action == 'none'
