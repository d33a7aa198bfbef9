# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job engine (_jobs.py): digests, live split, comparison, plans, GPU placement, ledger, Engine runs."""

from __future__ import annotations

import copy
import json
import os
import threading
import time

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import job_argument_spec
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.engine import Engine
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.model import Job, digest, split_live
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.plan import desired_config, plan_job
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.record import (
    MAX_APPLIED_TOTAL, MAX_JOBS, MAX_SERVERS, TOKEN_RE, FactRecord, FileRecord, ServerRecord, WriteLock,
    bound, lock_wait,
)
from ansible_collections.sigma.media_server.plugins.module_utils._outcome import Failure, Outcome
from ansible_collections.sigma.media_server.plugins.module_utils._progress import normalize_progress_entry
from ansible_collections.sigma.media_server.tests.unit.utils import FakeSigma

SPEC = job_argument_spec()


def params(**change):
    raw = {
        'name': 'ch1', 'gpu': 'auto',
        'input': {'main': 'udp://239.1.1.1:1234', 'backup': 'udp://239.1.1.2:1234'},
        'profiles': [{'id': '0x100', 'codec': 'h264', 'width': 1280, 'height': 720, 'bitrate': '2500k'},
                     {'id': '0x101', 'type': 'audio', 'volume': '+2dB'}],
        'targets': [{'format': 'hls', 'url': '/data/ch1', 'select': ['0x100', '0x101'],
                     'manifest': {'ts': 4, 'header': {'X-A': '1'}}, 'drm': {'type': 'AES_128', 'key': 'K3Y', 'key_id': 'KID'}},
                    {'format': 'dash', 'url': '/data/ch1d', 'manifest': {'header': {'X-A': '1'}},
                     'drm': {'type': 'AES_128', 'key': 'K3Y', 'key_id': 'KID'}}],
        'watermarks': [{'id': 'logo', 'url': '/l.png', 'x': 10, 'y': 20}],
    }
    for path, value in change.items():
        node = raw
        keys = path.split('__')
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is DELETE:
            del node[keys[-1]]
        else:
            node[int(keys[-1]) if isinstance(node, list) else keys[-1]] = value
    result = ArgumentSpecValidator(SPEC).validate(raw)
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


DELETE = object()


def job(state='present', force=False, **change):
    return Job(params(**change), SPEC, state, force)


def entry_of(client, name='ch1'):
    answer = client.progress(name)
    client.calls.pop()
    raw = answer['result'].get(name)
    return normalize_progress_entry(raw, name) if raw else None


# ------------------------------------------------------------------------------------------ digests


def test_record_id_is_two_12_hex_digests_and_stable():
    a, b = job(), job()
    assert len(a.record_id) == 24 and int(a.record_id, 16) >= 0
    assert a.record_id == b.record_id
    assert a.record_id == a.restart_digest + a.live_digest
    assert digest({'a': 1, 'b': [1, 2]}) == digest(dict([('b', [1, 2]), ('a', 1)]))


@pytest.mark.parametrize('change', [
    {'watermarks__0__x': 11}, {'watermarks__0__enable': False}, {'profiles__1__volume': '-3dB'},
    {'targets__0__drm__key': 'NEW', 'targets__1__drm__key': 'NEW'},
    {'targets__0__manifest__header': {'X-A': '2'}, 'targets__1__manifest__header': {'X-A': '2'}},
])
def test_live_values_change_only_the_live_digest(change):
    base, changed = job(), job(**change)
    assert changed.restart_digest == base.restart_digest
    assert changed.live_digest != base.live_digest


@pytest.mark.parametrize('change', [
    {'profiles__0__width': 1920},            # a restart field
    {'watermarks__0__url': '/other.png'},    # watermark, but not position/enable
    {'profiles__1__volume': DELETE},         # a live key removed: structure
    {'targets__0__drm__key': 'NEW'},         # DRM differs between targets: an update cannot express it
    {'targets__0__manifest__header': {'X-A': '2'}},
    {'gpu': 0}, {'weight': 2},
])
def test_other_changes_change_the_restart_digest(change):
    assert job(**change).restart_digest != job().restart_digest


def test_vod_has_no_live_part():
    vod = job(mode='vod')
    assert vod.ops == []
    assert job(mode='vod', watermarks__0__x=11).restart_digest != vod.restart_digest


def test_split_live_ops_match_the_update_contract():
    _restart, live, ops = split_live(job().body)
    assert ops == [('overlay', 'logo', {'x': 10, 'y': 20, 'enable': 1}), ('volume', '0x101', {'volume': '+2dB'}),
                   ('drm', '0', {'key': 'K3Y', 'keyId': 'KID', 'type': 'AES_128'}), ('header', '0', {'X-A': '1'})]
    assert set(live) == {'overlay:logo', 'volume:0x101', 'drm:0', 'header:0'}


# ------------------------------------------------------------------------------------------ plans


def started(client, j):
    client.start(j.start_body(0))
    client.calls.pop()
    return entry_of(client)


def recorded(client, j, live=None):
    """Start `j` on `client`; its progress entry and the record the engine writes for that start."""
    entry = started(client, j)
    rec = ServerRecord(client.display_url)
    rec.put(j.name, entry['started'], entry['id'], j.restart_digest, live or j.live_digest, desired_config(j))
    return entry, rec


def plan_with(j, entry, rec):
    return plan_job(j, entry, rec.match(j.name, entry), rec.masker())


def test_plan_absent_job_starts_then_same_is_noop():
    client = FakeSigma()
    j = job()
    plan = plan_job(j, None)
    assert plan.action == 'start' and plan.before == {'state': 'absent'} and plan.after['config']['_id'] == j.record_id
    entry, rec = recorded(client, j)
    assert plan_with(job(), entry, rec).action == 'none'


def test_without_a_record_the_live_settings_are_sent_never_assumed():
    # the digest in _id says the restart part is unchanged, but not which live settings run now (another runner
    # may have changed them and set them back): they are sent again, without a restart
    client = FakeSigma()
    entry = started(client, job())
    plan = plan_job(job(), entry)
    assert plan.action == 'update' and plan.live_unknown and not plan.blind
    assert plan.reasons == ['live settings (overlay, volume, DRM or header): not recorded since the job started, sent again']
    assert plan.before['config']['watermark'][0]['x'] == '(not reported by the server, not in the record)'
    # a VOD job, or a live job without live settings, has nothing to send
    assert plan_job(job(mode='vod'), started(FakeSigma(), job(mode='vod'))).action == 'none'
    # a record of another instance (the job was started again since) is no record
    _other, rec = recorded(FakeSigma(), job())
    rec.jobs, rec.changes = {}, {'ch1': dict(rec.changes['ch1'], started='T0')}
    assert plan_with(job(), entry, rec).action == 'update'


@pytest.mark.parametrize('change, reason', [
    ({'input': 'udp://other'}, 'input'),
    ({'profiles__0__id': '0x200', 'targets__0__select': ['0x200', '0x101']}, 'profile ids'),
    ({'targets__0__url': '/data/else'}, 'targets (format, url or select)'),
    ({'targets__0__select': ['0x100']}, 'targets (format, url or select)'),
])
def test_observable_changes_restart_even_without_digest(change, reason):
    client = FakeSigma(ignore_id=True)
    entry = started(client, job())
    plan = plan_job(job(**change), entry)
    assert plan.action == 'restart' and reason in plan.reasons and plan.blind


def test_weight_is_compared_when_set():
    client = FakeSigma(ignore_id=True)
    entry, rec = recorded(client, job(weight=2))
    assert plan_with(job(weight=2), entry, rec).action == 'none'
    assert 'weight' in plan_with(job(weight=3), entry, rec).reasons


def test_hidden_change_is_seen_through_the_digest_and_the_diff_says_so():
    client = FakeSigma()
    entry = started(client, job())
    plan = plan_job(job(profiles__0__width=1920), entry)
    assert plan.action == 'restart'
    assert plan.reasons == ['settings progress does not report (the configuration digest in _id differs)']
    assert 'digest in _id differs' in plan.before['config']['_note']
    assert plan.before['config']['_id'] == job().start_body(0)['_id']  # the digests, then the card
    # the old width is not reported: the before shows the desired config, the note and the old _id
    assert plan.before['config']['profile'][0]['width'] == 1920 == plan.after['config']['profile'][0]['width']


def test_hidden_change_with_a_record_names_the_field_and_its_old_value():
    client = FakeSigma()
    entry, rec = recorded(client, job())
    plan = plan_with(job(profiles__0__width=1920), entry, rec)
    assert plan.action == 'restart' and plan.reasons == ['settings progress does not report: profile[0].width']
    assert plan.before['config']['profile'][0]['width'] == 1280 and plan.after['config']['profile'][0]['width'] == 1920
    assert '_note' not in plan.before['config']


def test_a_changed_secret_shows_as_a_changed_digest_never_as_itself():
    client = FakeSigma()
    entry, rec = recorded(client, job())
    plan = plan_with(job(targets__0__drm__key='N3W-K3Y'), entry, rec)  # one target only: not a live update
    assert plan.action == 'restart' and plan.reasons == ['settings progress does not report: target[0].drm.key']
    old = plan.before['config']['target'][0]['drm']['key']
    assert TOKEN_RE.match(old) and old == rec.token('K3Y') != rec.token('N3W-K3Y')
    assert 'K3Y' not in json.dumps(rec.changes) and 'KID' not in json.dumps(rec.changes)


def test_hidden_change_without_id_is_seen_through_the_record_only():
    client = FakeSigma(ignore_id=True)
    entry, rec = recorded(client, job())
    assert plan_with(job(), entry, rec).action == 'none'
    plan = plan_with(job(profiles__0__width=1920), entry, rec)
    assert plan.action == 'restart' and plan.reasons == ['settings progress does not report: profile[0].width']
    # no record and no _id: the hidden change cannot be seen (a warning says so), the live settings are sent
    plan = plan_job(job(profiles__0__width=1920), entry)
    assert plan.action == 'update' and plan.blind and plan.live_unknown


def test_user_id_through_extra_wins_and_falls_back():
    client = FakeSigma()
    j = job(extra={'_id': 'crm-42'})
    assert j.record_id == 'crm-42' and j.start_body(0)['_id'] == 'crm-42'
    entry, rec = recorded(client, j)
    plan = plan_job(job(extra={'_id': 'crm-42'}, profiles__0__width=1920), entry)
    assert plan.action == 'update' and plan.blind
    assert plan_with(job(extra={'_id': 'crm-42'}, profiles__0__width=1920), entry, rec).action == 'restart'
    assert plan_with(job(extra={'_id': 'crm-42'}), entry, rec).action == 'none'
    assert plan_job(job(extra={'_id': 'crm-43'}), entry).reasons == ['_id (set through extra)']


def test_live_change_is_an_update_and_the_record_makes_it_a_noop():
    client = FakeSigma()
    entry, rec = recorded(client, job())
    moved = job(watermarks__0__x=500)
    plan = plan_with(moved, entry, rec)
    assert plan.action == 'update' and plan.job.ops[0] == ('overlay', 'logo', {'x': 500, 'y': 20, 'enable': 1})
    assert plan.reasons == ['live settings (overlay, volume, DRM or header)'] and not plan.live_unknown
    assert plan.before['config']['watermark'][0]['x'] == 10  # the value applied, from the record
    assert plan.after['config']['watermark'][0]['x'] == 500
    # the record says the update was applied since this start: nothing to do
    rec.put('ch1', entry['started'], entry['id'], moved.restart_digest, moved.live_digest, desired_config(moved))
    assert plan_with(job(watermarks__0__x=500), entry, rec).action == 'none'
    # back to the start-time value: the job now runs with 500, so it needs an update again
    plan = plan_with(job(), entry, rec)
    assert plan.action == 'update' and plan.before['config']['watermark'][0]['x'] == 500


def test_live_change_with_force_or_other_change_restarts():
    client = FakeSigma()
    entry = started(client, job())
    assert plan_job(job(force=True, watermarks__0__x=500), entry).action == 'restart'
    plan = plan_job(job(watermarks__0__x=500, input='udp://x'), entry)
    assert plan.action == 'restart' and 'input' in plan.reasons


@pytest.mark.parametrize('state, expected', [('error', 'restart'), ('finished', 'restart'), ('started', 'none')])
def test_a_live_job_must_run(state, expected):
    client = FakeSigma()
    _entry, rec = recorded(client, job())
    client.jobs['ch1']['state'] = state
    assert plan_with(job(), entry_of(client), rec).action == expected


def test_vod_finished_is_present():
    client = FakeSigma()
    entry = started(client, job(mode='vod'))
    client.jobs['ch1']['state'] = 'finished'
    assert plan_job(job(mode='vod'), entry_of(client)).action == 'none'


def test_states_restarted_and_absent():
    client = FakeSigma()
    entry = started(client, job())
    assert plan_job(job(state='restarted'), entry).reasons == ['state is restarted']
    assert plan_job(job(state='restarted'), None).action == 'start'
    assert plan_job(job(state='absent'), entry).action == 'stop'
    assert plan_job(job(state='absent'), None).action == 'none'


# ------------------------------------------------------------------------------------------ the record


def entry(started='T1', ident='ID'):
    return {'started': started, 'id': ident}


def test_file_record_round_trip_and_validity(tmp_path):
    record = FileRecord('http://srv:9999', str(tmp_path))
    j = job()
    record.put('ch1', 'T1', 'ID', j.restart_digest, j.live_digest, desired_config(j))
    assert record.save() is None
    again = FileRecord('http://srv:9999', str(tmp_path))
    rec = again.match('ch1', entry())
    assert rec['config'] == j.restart_digest and rec['live'] == j.live_digest and rec['applied']['name'] == 'ch1'
    assert again.match('ch1', entry(started='T2')) is None      # started again since
    assert again.match('ch1', entry(ident='OTHER')) is None     # started with another _id
    assert again.match('ch1', entry(ident=None))['live'] == j.live_digest  # a server that does not echo _id
    assert FileRecord('http://other:9999', str(tmp_path)).match('ch1', entry()) is None
    content = ''.join(open(os.path.join(str(tmp_path), f)).read() for f in os.listdir(str(tmp_path)) if f.endswith('.json'))
    assert 'K3Y' not in content and 'KID' not in content and '********:' in content
    again.drop('ch1')
    again.save()
    assert FileRecord('http://srv:9999', str(tmp_path)).match('ch1', entry()) is None


def test_file_record_merges_what_another_run_wrote(tmp_path):
    first, second = FileRecord('http://srv:9999', str(tmp_path)), FileRecord('http://srv:9999', str(tmp_path))
    first.put('a', 'T1', None, 'c', 'l', None)
    second.put('b', 'T2', None, 'c', 'l', None)
    assert first.save() is None and second.save() is None
    assert sorted(FileRecord('http://srv:9999', str(tmp_path)).jobs) == ['a', 'b']


def test_file_record_reports_an_unwritable_directory(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    record = FileRecord('http://srv:9999', str(blocker / 'sub'))
    record.put('ch1', 'T1', 'ID', 'c', 'l', None)
    problem = record.save()
    assert 'could not keep the record of http://srv:9999' in problem and str(blocker) in problem


def test_tokens_are_keyed_per_record_and_idempotent():
    a, b = ServerRecord('http://a:9999'), ServerRecord('http://b:9999')
    a.put('x', 'T', None, None, None, None)
    b.put('x', 'T', None, None, None, None)
    assert a.token('s3cret') == a.token('s3cret') != b.token('s3cret')
    assert TOKEN_RE.match(a.token('s3cret')) and a.token(a.token('s3cret')) == a.token('s3cret')
    assert a.token({'k': 'v'}) != a.token({'k': 'w'})
    assert ServerRecord('http://c:9999').masker() is None  # no key before the first write: plain masks


def test_fact_record_keeps_other_servers_and_is_bounded():
    fact = {'http://other:9999': {'v': 1, 'digest_key': '00' * 16, 'updated': '2000', 'jobs': {}}}
    record = FactRecord('http://srv:9999', fact)
    j = job()
    record.put('ch1', 'T1', None, j.restart_digest, j.live_digest, desired_config(j))
    out = record.updated_fact()
    assert sorted(out) == ['http://other:9999', 'http://srv:9999'] and 'ch1' in out['http://srv:9999']['jobs']
    assert FactRecord('http://srv:9999', out).match('ch1', entry(ident=None))['config'] == j.restart_digest
    assert 'K3Y' not in json.dumps(out)
    many = dict(('http://s%d:9999' % n, {'v': 1, 'updated': '%05d' % n, 'jobs': {}}) for n in range(MAX_SERVERS + 5))
    assert sorted(bound(many)) == sorted('http://s%d:9999' % n for n in range(5, MAX_SERVERS + 5))
    big = {'name': 'x' * 60000}
    heavy = {'http://h:9999': {'v': 1, 'jobs': dict(('j%d' % n, {'started': 'T', 'at': '%05d' % n, 'applied': big})
                                                    for n in range(40))}}
    kept = [n for n, rec in bound(heavy)['http://h:9999']['jobs'].items() if rec['applied']]
    assert len(kept) == MAX_APPLIED_TOTAL // 60010 and 'j39' in kept and 'j0' not in kept
    crowded = FactRecord('http://h:9999', {})
    for n in range(MAX_JOBS + 3):
        crowded.put('j%04d' % n, 'T', None, 'c', 'l', None)
    assert len(crowded.updated_fact()['http://h:9999']['jobs']) == MAX_JOBS


# ------------------------------------------------------------------------------------------ the engine


def run(client, jobs, tmp_path, check=False, exclusive=False, single=False, record=None):
    module = Outcome()
    engine = Engine(client, module, check, record or FileRecord(client.display_url, str(tmp_path)), single=single)
    plans = engine.converge(jobs, exclusive, False, 1, 0.01)
    return engine.result(plans), module


def test_engine_noop_sends_one_request(tmp_path):
    client = FakeSigma()
    result, _m = run(client, [job()], tmp_path, single=True)
    # a change: progress, progress again under the write lock, dump (placement), start, progress after writing
    assert result['changed'] and client.functions() == ['progress', 'progress', 'dump', 'start', 'progress']
    client.calls = []
    result, _m = run(client, [job()], tmp_path, single=True)
    assert not result['changed'] and client.calls == [('progress', 'ch1')]
    assert result['jobs'][0]['job']['state'] == 'started'


def test_engine_cpu_job_sends_no_dump(tmp_path):
    client = FakeSigma()
    run(client, [job(gpu=-1)], tmp_path, single=True)
    assert 'dump' not in client.functions()


def test_engine_check_mode_sends_no_write(tmp_path):
    client = FakeSigma()
    result, _m = run(client, [job()], tmp_path, check=True, single=True)
    assert result['changed'] and client.functions() == ['progress', 'dump']
    assert result['actions'][0]['function'] == 'start' and result['actions'][0]['config']['gpu'] == 0
    assert client.jobs == {}


def test_engine_live_update_then_noop_then_restart(tmp_path):
    client = FakeSigma()
    run(client, [job()], tmp_path)
    client.calls = []
    result, module = run(client, [job(watermarks__0__x=500)], tmp_path)
    assert [c[2] for c in client.writes()] == ['overlay', 'volume', 'drm', 'header']
    assert result['jobs'][0]['action'] == 'update'
    drm = [a for a in result['actions'] if a['filter'] == 'drm'][0]
    assert drm['changed']['key'] == '********' and 'K3Y' in module.no_log_values
    client.calls = []
    result, _m = run(client, [job(watermarks__0__x=500)], tmp_path)
    assert not result['changed'] and client.calls == [('progress', '*')]
    # a restart (another change) drops the record: the new _id carries the live digest
    run(client, [job(watermarks__0__x=500, profiles__0__width=1920)], tmp_path)
    client.calls = []
    result, _m = run(client, [job(watermarks__0__x=500, profiles__0__width=1920)], tmp_path)
    assert not result['changed'] and len(client.calls) == 1


def test_engine_update_in_check_mode_records_nothing(tmp_path):
    client = FakeSigma()
    run(client, [job()], tmp_path)
    run(client, [job(watermarks__0__x=500)], tmp_path, check=True)
    client.calls = []
    result, _m = run(client, [job(watermarks__0__x=500)], tmp_path, check=True)
    assert result['jobs'][0]['action'] == 'update' and client.writes() == []


def test_engine_exclusive_stops_unnamed_jobs(tmp_path):
    client = FakeSigma()
    run(client, [job(name='a', gpu=-1), job(name='b', gpu=-1), job(name='c', gpu=-1)], tmp_path)
    client.calls = []
    result, _m = run(client, [job(name='a', gpu=-1)], tmp_path, exclusive=True, check=True)
    assert client.writes() == [] and [j['action'] for j in result['jobs']] == ['none', 'stop', 'stop']
    assert result['diff']['after'] == {'b': {'state': 'absent'}, 'c': {'state': 'absent'}}
    result, _m = run(client, [job(name='a', gpu=-1)], tmp_path, exclusive=True)
    assert sorted(client.jobs) == ['a']
    result, _m = run(client, [job(name='a', gpu=-1)], tmp_path)
    assert not result['changed']


def test_engine_many_jobs_one_progress_and_spread(tmp_path):
    client = FakeSigma(gpus=('Tesla T4',) * 4)
    jobs = [job(name='ch%03d' % i, targets__0__url='/d/%d' % i, targets__1__url='/e/%d' % i) for i in range(100)]
    result, _m = run(client, jobs, tmp_path)
    assert client.functions().count('progress') == 3 and client.functions().count('dump') == 1
    assert sorted(j['gpu'] for j in result['jobs']).count(0) == 25
    client.calls = []
    result, _m = run(client, jobs, tmp_path)
    assert not result['changed'] and client.calls == [('progress', '*')]


def test_engine_placement_refusal_starts_nothing(tmp_path):
    client = FakeSigma(gpus=('GTX 1080',))
    bad = job(name='hdr', profiles__0__codec='hevc', profiles__0__pixel_format='yuv420p10le')
    with pytest.raises(Failure) as exc:
        run(client, [job(name='ok'), bad], tmp_path)
    assert 'nothing was started' in exc.value.result['msg'] and 'profile 0x100' in exc.value.result['msg']
    assert client.writes() == []


def test_engine_write_failure_is_not_a_false_change(tmp_path):
    client = FakeSigma(valid=False)
    with pytest.raises(Failure) as exc:
        run(client, [job(gpu=-1)], tmp_path)
    result = exc.value.result
    assert result['changed'] is False and 'job ch1' in result['msg'] and 'license is not valid' in result['msg']


def test_engine_warns_once_when_the_server_ignores_id(tmp_path):
    client = FakeSigma(ignore_id=True)
    jobs = [job(name='a', gpu=-1), job(name='b', gpu=-1)]
    run(client, jobs, tmp_path)
    client.calls = []
    result, module = run(client, jobs, tmp_path)  # the record stands in for the _id the server does not echo
    assert not result['changed'] and client.calls == [('progress', '*')] and module.warnings == []
    # a fresh runner without the record: the hidden settings cannot be seen (one warning), the live ones are sent
    result, module = run(client, jobs, tmp_path / 'fresh')
    assert [j['action'] for j in result['jobs']] == ['update', 'update']
    blind = [w for w in module.warnings if 'carry no digest' in w]
    assert len(blind) == 1 and 'a, b' in blind[0]
    unknown = [w for w in module.warnings if 'are not known' in w]
    assert len(unknown) == 1 and 'a, b' in unknown[0] and 'SIGMA_STATE_DIR' in unknown[0] and 'fact' in unknown[0]


def test_a_fresh_runner_never_reports_a_false_ok(tmp_path):
    # issue 18: a live setting changed and set back by another runner; this runner has no record
    client = FakeSigma()
    run(client, [job()], tmp_path / 'runner1')
    run(client, [job(watermarks__0__enable=False)], tmp_path / 'runner1')  # hidden by runner 1 (an update)
    client.calls = []
    result, module = run(client, [job()], tmp_path / 'runner2')  # shown again by runner 2
    assert result['changed'] and result['jobs'][0]['action'] == 'update'
    assert [c[2] for c in client.writes()] == ['overlay', 'volume', 'drm', 'header']
    assert [c for c in client.writes() if c[2] == 'overlay'][0][4] == {'x': 10, 'y': 20, 'enable': 1}
    assert any('are not known' in w for w in module.warnings)


def test_engine_wait_fails_with_error_entries(tmp_path):
    client = FakeSigma()
    module = Outcome()
    engine = Engine(client, module, False, FileRecord(client.display_url, str(tmp_path)))
    plans = engine.reconcile([job(gpu=-1, mode='vod')])
    client.jobs['ch1']['state'] = 'error'
    client.jobs['ch1']['error'] = ['[01-01 00:00:06] Connection timed out: udp://x (code: INPUT_TIMEOUT)']
    with pytest.raises(Failure) as exc:
        engine.refresh(plans, True, 1, 0.01)
    assert 'INPUT_TIMEOUT' in exc.value.result['msg']


def test_engine_wait_times_out_with_the_last_entry(tmp_path):
    client = FakeSigma()
    module = Outcome()
    engine = Engine(client, module, False, FileRecord(client.display_url, str(tmp_path)), single=True)
    plans = engine.reconcile([job(gpu=-1, mode='vod')])
    with pytest.raises(Failure) as exc:
        engine.refresh(plans, True, 0.05, 0.01)
    result = exc.value.result
    assert 'timed out' in result['msg'] and result['job']['state'] == 'started' and result['action'] == 'start'
    assert result['changed'] is True
    assert json.dumps(result).count('K3Y') == 0


# ------------------------------------------------------------------------------------------ the write lock


def other_run_starts(client, j, tmp_path):
    """What another run on this control node does: start `j` and record it in the shared state directory."""
    body = j.start_body(-1)
    client.clock += 1
    client.jobs[body['name']] = {'config': copy.deepcopy(body), 'at': client.clock}
    record = FileRecord(client.display_url, str(tmp_path))
    record.put(j.name, 'T%d' % client.clock, body['_id'], j.restart_digest, j.live_digest, desired_config(j))
    assert record.save() is None


class RacingClient(FakeSigma):
    """Another run starts `racer` right after this run's first progress (the read-decide-start window)."""

    def __init__(self, racer, tmp_path, **kwargs):
        super(RacingClient, self).__init__(**kwargs)
        self.racer, self.tmp_path = racer, tmp_path

    def progress(self, name='*', mode=None):
        answer = super(RacingClient, self).progress(name, mode)
        if self.racer is not None:
            racer, self.racer = self.racer, None
            other_run_starts(self, racer, self.tmp_path)
        return answer


def test_engine_replans_under_the_lock_and_does_not_start_twice(tmp_path):
    j = job(gpu=-1)
    client = RacingClient(j, tmp_path)
    result, _m = run(client, [j], tmp_path, single=True)
    assert client.functions() == ['progress', 'progress'] and client.writes() == []
    assert not result['changed'] and result['jobs'][0]['action'] == 'none'
    # a lineup: only the job nobody else started is started
    client = RacingClient(j, tmp_path / 'lineup')
    result, _m = run(client, [j, job(name='own', gpu=-1, targets__0__url='/o', targets__1__url='/p')], tmp_path / 'lineup')
    assert [c[1] for c in client.writes()] == ['own']
    assert [x['action'] for x in result['jobs']] == ['none', 'start']


def test_engine_noop_takes_no_lock(tmp_path):
    client = FakeSigma()
    run(client, [job(gpu=-1)], tmp_path)
    holder = WriteLock(client.display_url, str(tmp_path), 0)
    holder.acquire()
    try:
        client.calls = []
        result, _m = run(client, [job(gpu=-1)], tmp_path)  # would time out if it waited for the lock
        assert not result['changed'] and client.calls == [('progress', '*')]
    finally:
        holder.release()


def test_engine_waits_for_the_lock_and_sees_the_other_runs_result(tmp_path):
    client = FakeSigma()
    j = job(gpu=-1)
    holder = WriteLock(client.display_url, str(tmp_path), 0)
    holder.acquire()
    out = {}

    def second():
        out['result'] = run(client, [j], tmp_path, single=True)[0]

    thread = threading.Thread(target=second)
    thread.start()
    deadline = time.monotonic() + 5
    while client.functions().count('progress') < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert client.functions() == ['progress']  # planned a start, now waiting for the lock
    other_run_starts(client, j, tmp_path)  # the run holding the lock starts the job
    holder.release()
    thread.join(10)
    assert not thread.is_alive()
    assert client.writes() == [] and client.functions() == ['progress', 'progress']
    assert not out['result']['changed']


def test_engine_lock_wait_is_bounded_and_names_server_and_file(tmp_path):
    client = FakeSigma()
    holder = WriteLock(client.display_url, str(tmp_path), 0)
    holder.acquire()
    try:
        engine = Engine(client, Outcome(), False, FileRecord(client.display_url, str(tmp_path)),
                        lock=WriteLock(client.display_url, str(tmp_path), 0.3))
        started = time.monotonic()
        with pytest.raises(Failure) as exc:
            engine.reconcile([job(gpu=-1)])
        assert time.monotonic() - started < 3
    finally:
        holder.release()
    result = exc.value.result
    assert client.display_url in result['msg'] and holder.path in result['msg'] and '0.3 s' in result['msg']
    assert result['changed'] is False and result['lock_file'] == holder.path
    assert client.writes() == [] and client.functions() == ['progress']


def test_write_lock_file_is_per_server_in_a_private_state_dir(tmp_path):
    state = tmp_path / 'state'
    a, b = WriteLock('http://a:9999', str(state), 0), WriteLock('http://b:9999', str(state), 0)
    a.acquire()
    b.acquire()  # another server: not blocked
    a.release()
    b.release()
    assert a.path != b.path and os.path.dirname(a.path) == str(state)
    assert oct(os.stat(str(state)).st_mode & 0o777) == oct(0o700)
    assert os.path.dirname(a.path) == os.path.dirname(FileRecord('http://a:9999', str(state)).path)


def test_engine_goes_on_with_a_warning_when_the_lock_cannot_be_made(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    client = FakeSigma()
    module = Outcome()
    engine = Engine(client, module, False, FileRecord(client.display_url, str(blocker / 'sub')))
    engine.reconcile([job(gpu=-1)])
    assert [c[0] for c in client.writes()] == ['start']
    assert any('could not take the write lock' in w and client.display_url in w for w in module.warnings)


def test_lock_wait_budget():
    assert lock_wait(10, 2) == 300
    assert lock_wait(1, 0) == 120
    assert lock_wait(30, 3) == 1200


def test_a_reported_change_is_named_once_with_a_record():
    client = FakeSigma(ignore_id=True)
    entry, rec = recorded(client, job())
    assert plan_with(job(input='udp://239.9.9.9:1234'), entry, rec).reasons == ['input']
    plan = plan_with(job(input='udp://239.9.9.9:1234', profiles__0__width=1920), entry, rec)
    assert plan.reasons == ['input', 'settings progress does not report: profile[0].width']
    assert plan_with(job(targets__0__url='/else'), entry, rec).reasons == ['targets (format, url or select)']
