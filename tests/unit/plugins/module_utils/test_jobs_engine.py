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

from ansible_collections.sigma.media_server.plugins.module_utils._dump import normalize_dump
from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import job_argument_spec
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.engine import Engine
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.model import Job, digest, split_live
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.placement import PlacementError, place
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.plan import plan_job
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.record import LiveLedger, WriteLock, lock_wait
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


def test_plan_absent_job_starts_then_same_is_noop():
    client = FakeSigma()
    j = job()
    plan = plan_job(j, None)
    assert plan.action == 'start' and plan.before == {'state': 'absent'} and plan.after['config']['_id'] == j.record_id
    entry = started(client, j)
    assert plan_job(job(), entry).action == 'none'


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
    entry = started(client, job(weight=2))
    assert plan_job(job(weight=2), entry).action == 'none'
    assert 'weight' in plan_job(job(weight=3), entry).reasons


def test_hidden_change_is_seen_through_the_digest_and_the_diff_says_so():
    client = FakeSigma()
    entry = started(client, job())
    plan = plan_job(job(profiles__0__width=1920), entry)
    assert plan.action == 'restart'
    assert plan.reasons == ['settings progress does not report (the configuration digest in _id differs)']
    assert 'digest in _id differs' in plan.before['config']['_note']
    assert plan.before['config']['_id'] == job().record_id
    # the old width is not reported: the before shows the desired config, the note and the old _id
    assert plan.before['config']['profile'][0]['width'] == 1920 == plan.after['config']['profile'][0]['width']


def test_hidden_change_is_invisible_without_id():
    client = FakeSigma(ignore_id=True)
    entry = started(client, job())
    plan = plan_job(job(profiles__0__width=1920), entry)
    assert plan.action == 'none' and plan.blind


def test_user_id_through_extra_wins_and_falls_back():
    client = FakeSigma()
    j = job(extra={'_id': 'crm-42'})
    assert j.record_id == 'crm-42' and j.start_body(0)['_id'] == 'crm-42'
    entry = started(client, j)
    plan = plan_job(job(extra={'_id': 'crm-42'}, profiles__0__width=1920), entry)
    assert plan.action == 'none' and plan.blind
    assert plan_job(job(extra={'_id': 'crm-43'}), entry).reasons == ['_id (set through extra)']


def test_live_change_is_an_update_and_the_ledger_makes_it_a_noop():
    client = FakeSigma()
    entry = started(client, job())
    moved = job(watermarks__0__x=500)
    plan = plan_job(moved, entry)
    assert plan.action == 'update' and plan.job.ops[0] == ('overlay', 'logo', {'x': 500, 'y': 20, 'enable': 1})
    assert plan.before['config']['watermark'][0]['x'].startswith('(not reported')
    assert plan.after['config']['watermark'][0]['x'] == 500
    # the ledger says the update was applied since this start: nothing to do
    assert plan_job(job(watermarks__0__x=500), entry, live_seen=moved.live_digest).action == 'none'
    # back to the start-time value: the job now runs with 500, so it needs an update again
    assert plan_job(job(), entry, live_seen=moved.live_digest).action == 'update'


def test_live_change_with_force_or_other_change_restarts():
    client = FakeSigma()
    entry = started(client, job())
    assert plan_job(job(force=True, watermarks__0__x=500), entry).action == 'restart'
    plan = plan_job(job(watermarks__0__x=500, input='udp://x'), entry)
    assert plan.action == 'restart' and 'input' in plan.reasons


@pytest.mark.parametrize('state, expected', [('error', 'restart'), ('finished', 'restart'), ('started', 'none')])
def test_a_live_job_must_run(state, expected):
    client = FakeSigma()
    started(client, job())
    client.jobs['ch1']['state'] = state
    assert plan_job(job(), entry_of(client)).action == expected


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


# ------------------------------------------------------------------------------------------ placement


def facts(gpus, counts=None):
    return normalize_dump(FakeSigma(gpus=gpus, counts=counts).dump())


def test_auto_picks_the_least_loaded_capable_card_and_spreads():
    f = facts(('Tesla T4', 'Tesla T4'), counts={0: 3, 1: 1})
    planned = {}
    assert place(job(), f, planned) == 1
    assert place(job(), f, planned) == 1
    assert place(job(), f, planned) == 0  # 3 jobs on each now; lower index wins
    assert planned == {1: 2, 0: 1}


def test_auto_skips_cards_that_cannot_encode():
    f = facts(('GTX 1080', 'Tesla T4'))
    hdr = job(profiles__0__codec='hevc', profiles__0__pixel_format='yuv420p10le')
    assert place(hdr, f, {}) == 1


def test_auto_refusal_names_the_profile_and_every_card():
    f = facts(('GTX 1080', 'Tesla T4'))
    j = job(profiles__0__codec='hevc', profiles__0__pixel_format='yuv444p10le')
    with pytest.raises(PlacementError) as exc:
        place(j, f, {})
    text = str(exc.value)
    assert 'hevc@yuv444p10le (profile 0x100)' in text
    assert 'card 0 (GTX 1080)' in text and 'card 1 (Tesla T4)' in text


def test_explicit_index_is_checked():
    f = facts(('GTX 1080', 'Tesla T4'))
    j = job(gpu=0, profiles__0__codec='hevc', profiles__0__pixel_format='yuv420p10le')
    with pytest.raises(PlacementError, match=r'card 0 \(GTX 1080\) cannot encode hevc@yuv420p10le \(profile 0x100\)'):
        place(j, f, {})
    assert place(job(gpu=1), f, {}) == 1
    with pytest.raises(PlacementError, match='gpu 5 is not on the server'):
        place(job(gpu=5), f, {})
    with pytest.raises(PlacementError, match='no GPU'):
        place(job(), facts(()), {})


def test_copy_profiles_need_no_encoder():
    f = facts(('GTX 1080',))
    assert place(job(profiles__0__codec='copy', profiles__0__pixel_format='yuv444p10le'), f, {}) == 0


# ------------------------------------------------------------------------------------------ ledger


def test_ledger_round_trip_and_validity(tmp_path):
    ledger = LiveLedger('http://srv:9999', str(tmp_path))
    ledger.set('ch1', 'ID', 'T1', 'abc')
    assert ledger.save() is None
    again = LiveLedger('http://srv:9999', str(tmp_path))
    assert again.get('ch1', 'ID', 'T1') == 'abc'
    assert again.get('ch1', 'ID', 'T2') is None      # restarted since
    assert again.get('ch1', 'OTHER', 'T1') is None   # started with another config
    assert LiveLedger('http://other:9999', str(tmp_path)).get('ch1', 'ID', 'T1') is None
    again.drop('ch1')
    again.save()
    assert LiveLedger('http://srv:9999', str(tmp_path)).get('ch1', 'ID', 'T1') is None
    content = ''.join(open(os.path.join(str(tmp_path), f)).read() for f in os.listdir(str(tmp_path)) if f.endswith('.json'))
    assert 'K3Y' not in content


def test_ledger_reports_an_unwritable_directory(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    ledger = LiveLedger('http://srv:9999', str(blocker / 'sub'))
    ledger.set('ch1', 'ID', 'T1', 'abc')
    assert 'could not record live updates' in ledger.save()


# ------------------------------------------------------------------------------------------ the engine


def run(client, jobs, tmp_path, check=False, exclusive=False, single=False):
    module = Outcome()
    engine = Engine(client, module, check, LiveLedger(client.display_url, str(tmp_path)), single=single)
    plans = engine.reconcile(jobs, exclusive=exclusive)
    engine.refresh(plans, False, 1, 0.01)
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
    run(client, [job(name='a', gpu=-1), job(name='b', gpu=-1)], tmp_path)
    _result, module = run(client, [job(name='a', gpu=-1), job(name='b', gpu=-1)], tmp_path)
    assert len(module.warnings) == 1 and 'a, b' in module.warnings[0]


def test_engine_wait_fails_with_error_entries(tmp_path):
    client = FakeSigma()
    module = Outcome()
    engine = Engine(client, module, False, LiveLedger(client.display_url, str(tmp_path)))
    plans = engine.reconcile([job(gpu=-1, mode='vod')])
    client.jobs['ch1']['state'] = 'error'
    client.jobs['ch1']['error'] = ['[01-01 00:00:06] Connection timed out: udp://x (code: INPUT_TIMEOUT)']
    with pytest.raises(Failure) as exc:
        engine.refresh(plans, True, 1, 0.01)
    assert 'INPUT_TIMEOUT' in exc.value.result['msg']


def test_engine_wait_times_out_with_the_last_entry(tmp_path):
    client = FakeSigma()
    module = Outcome()
    engine = Engine(client, module, False, LiveLedger(client.display_url, str(tmp_path)), single=True)
    plans = engine.reconcile([job(gpu=-1, mode='vod')])
    with pytest.raises(Failure) as exc:
        engine.refresh(plans, True, 0.05, 0.01)
    result = exc.value.result
    assert 'timed out' in result['msg'] and result['job']['state'] == 'started' and result['action'] == 'start'
    assert result['changed'] is True
    assert json.dumps(result).count('K3Y') == 0


# ------------------------------------------------------------------------------------------ the write lock


class RacingClient(FakeSigma):
    """Another run starts `racer` right after this run's first progress (the read-decide-start window)."""

    def __init__(self, racer, **kwargs):
        super(RacingClient, self).__init__(**kwargs)
        self.racer = racer

    def progress(self, name='*', mode=None):
        answer = super(RacingClient, self).progress(name, mode)
        if self.racer is not None:
            body, self.racer = self.racer, None
            self.clock += 1
            self.jobs[body['name']] = {'config': copy.deepcopy(body), 'at': self.clock}
        return answer


def test_engine_replans_under_the_lock_and_does_not_start_twice(tmp_path):
    j = job(gpu=-1)
    client = RacingClient(j.start_body(-1))
    result, _m = run(client, [j], tmp_path, single=True)
    assert client.functions() == ['progress', 'progress'] and client.writes() == []
    assert not result['changed'] and result['jobs'][0]['action'] == 'none'
    # a lineup: only the job nobody else started is started
    client = RacingClient(j.start_body(-1))
    result, _m = run(client, [j, job(name='own', gpu=-1, targets__0__url='/o', targets__1__url='/p')], tmp_path)
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
    client.start(j.start_body(-1))  # the run holding the lock starts the job
    holder.release()
    thread.join(10)
    assert not thread.is_alive()
    assert [c[0] for c in client.writes()] == ['start'] and client.functions() == ['progress', 'start', 'progress']
    assert not out['result']['changed']


def test_engine_lock_wait_is_bounded_and_names_server_and_file(tmp_path):
    client = FakeSigma()
    holder = WriteLock(client.display_url, str(tmp_path), 0)
    holder.acquire()
    try:
        engine = Engine(client, Outcome(), False, LiveLedger(client.display_url, str(tmp_path)),
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
    assert os.path.dirname(a.path) == os.path.dirname(LiveLedger('http://a:9999', str(state)).path)


def test_engine_goes_on_with_a_warning_when_the_lock_cannot_be_made(tmp_path):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    client = FakeSigma()
    module = Outcome()
    engine = Engine(client, module, False, LiveLedger(client.display_url, str(blocker / 'sub')))
    engine.reconcile([job(gpu=-1)])
    assert [c[0] for c in client.writes()] == ['start']
    assert any('could not take the write lock' in w and client.display_url in w for w in module.warnings)


def test_lock_wait_budget():
    assert lock_wait(10, 2) == 300
    assert lock_wait(1, 0) == 120
    assert lock_wait(30, 3) == 1200
