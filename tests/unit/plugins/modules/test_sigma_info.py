# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""sigma_info against a local fake server: subsets, request counts, licence masking, probes, failures."""

from __future__ import annotations

import copy
import json
import os
import re
import time

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils import _info
from ansible_collections.sigma.media_server.plugins.modules import sigma_info
from ansible_collections.sigma.media_server.tests.unit.utils import FakeSigma, dead_url, patch_module_args

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures')
SEED_KEY = 'Y7KI4-HHQX5-0N9QN-X8TLN-VOPE7'
MASK = '********'


def seed_dump():
    with open(os.path.join(FIXTURES, 'seed_begin_vi.txt'), encoding='utf-8') as handle:
        return json.loads(re.search(r'```json\n(.*?)```', handle.read(), re.S).group(1))


PROGRESS = {'total': 1, 'ec': 0, 'dt': 2, 'result': {'VTV3': {
    'speed': 1, 'created': '2024-03-02 15:12:33', 'startup': '2024-03-02 15:12:33', 'state': 'error',
    'life': '0h01m00s', 'pts': '0h00m00s',
    'error': ['[03-02 15:12:39] Connection timed out: udp://239.1.1.1:1234 (code: INPUT_TIMEOUT)'],
    'input': [{'url': 'udp://239.1.1.1:1234', 'profile': [], 'bitrate': 0}],
    'profile': [{'id': '0x100', 'bitrate': 0}],
    'target': [{'format': 'hls', 'url': '/data/vtv3', 'select': ['0x100'], 'bitrate': 0}],
    'weight': 1, '_id': ''}}}

INFO_URL = 'udp://239.1.1.1:1234'
INFO = {'ec': 0, 'dt': 40, 'result': {INFO_URL: [
    {'type': 'video', 'codec': 'h264', 'bitrate': 4500, 'width': 1920, 'height': 1080, 'fps': 25, 'interlaced': 1,
     'pixelFormat': 'yuv420p', 'profile': 'High', 'level': 40, 'kf': '0,2000,4000'},
    {'type': 'audio', 'codec': 'aac', 'bitrate': 128, 'channel': 2, 'sampleRate': 48000, 'profile': 'LC'}]}}


@pytest.fixture
def server():
    fake = FakeSigma(answers={'dump': seed_dump(), 'progress': PROGRESS, 'info': INFO}).serve()
    yield fake
    fake.close()


def run(capsys, **args):
    """Run the module; return (failed, result, raw stdout)."""
    args.setdefault('retries', 0)
    with patch_module_args(args):
        with pytest.raises(SystemExit) as exc:
            sigma_info.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result.pop('invocation', None)
    assert bool(result.get('failed')) == (exc.value.code != 0)
    return bool(result.get('failed')), result, out


# ----- gather_subset --------------------------------------------------------------------------

@pytest.mark.parametrize('requested, expected', [
    (['server', 'gpus', 'load', 'apps', 'license'], {'server', 'gpus', 'load', 'apps', 'license'}),
    (['all'], {'server', 'gpus', 'load', 'apps', 'license', 'jobs'}),
    (['all', '!apps'], {'server', 'gpus', 'load', 'license', 'jobs'}),
    (['!apps'], {'server', 'gpus', 'load', 'license'}),
    (['!all'], set()),
    (['!all', 'jobs'], {'jobs'}),
    (['jobs'], {'jobs'}),
    (['license', 'license'], {'license'}),
    (['all', '!jobs', '!gpus'], {'server', 'load', 'apps', 'license'}),
    ([' server '], {'server'}),
    ([], set()),
])
def test_resolve_subsets(requested, expected):
    assert _info.resolve_subsets(requested) == expected


@pytest.mark.parametrize('bad', ['nope', '!nope', 'min', 'Server', ''])
def test_resolve_subsets_rejects_unknown(bad):
    with pytest.raises(ValueError, match='gather_subset: unknown subset'):
        _info.resolve_subsets(['server', bad])


def test_unknown_subset_fails_before_any_request(server, capsys):
    failed, result, _out = run(capsys, api_url=server.url, gather_subset=['server', 'hardware'])
    assert failed and "'hardware'" in result['msg'] and 'gather_subset' in result['msg']
    assert server.requests == []


# ----- results ---------------------------------------------------------------------------------

def test_default_is_one_dump_and_everything_but_jobs(server, capsys):
    failed, result, out = run(capsys, api_url=server.url)
    assert not failed and result['changed'] is False
    assert server.functions() == ['dump']
    assert result['gather_subset'] == ['apps', 'gpus', 'license', 'load', 'server']
    assert set(result) >= {'server', 'gpus', 'models', 'load', 'apps', 'license', 'dump'}
    assert 'jobs' not in result and 'inputs' not in result
    assert result['server']['name'] == 'sigma-server-01' and result['server']['port'] == 9999
    assert result['gpus'][0]['model'] == 'NVIDIA A10' and result['gpus'][0]['jobs'] == 3
    assert 'hevc@yuv420p10le' in result['gpus'][0]['decoders']
    assert result['models']['NVIDIA A10']['encoders'] == result['gpus'][0]['encoders']
    assert result['load']['ram_total_mb'] == 128347 and result['load']['threads'] == 39
    assert [a['name'] for a in result['apps']][:2] == ['portal-local', 'nginx']
    assert result['apps'][1]['uptime'] == '7h00m50s'
    assert result['license'] == {'status': 'VALID', 'valid': True, 'key': MASK, 'connected': 1,
                                 'node_id': seed_dump()['nats']['id']}
    assert result['dump']['nats']['license'] == MASK
    assert result['dump']['licenseStatus'] == 'VALID' and result['dump']['system']['gpu'][0]['mem'] == 3
    assert SEED_KEY not in out


def test_show_license_key(server, capsys):
    failed, result, out = run(capsys, api_url=server.url, gather_subset=['license'], show_license_key=True)
    assert not failed
    assert result['license']['key'] == SEED_KEY
    assert result['dump']['nats']['license'] == MASK
    assert set(result) == {'changed', 'gather_subset', 'license', 'dump'}


def test_no_key_reported_is_null(server, capsys):
    server.answers['dump']['nats']['license'] = ''
    failed, result, _out = run(capsys, api_url=server.url, gather_subset=['license'])
    assert not failed and result['license']['key'] is None


@pytest.mark.parametrize('subset, keys', [
    ('server', {'server'}), ('gpus', {'gpus', 'models'}), ('load', {'load'}), ('apps', {'apps'}),
    ('license', {'license'}),
])
def test_each_dump_subset_alone(server, capsys, subset, keys):
    failed, result, _out = run(capsys, api_url=server.url, gather_subset=[subset])
    assert not failed
    assert set(result) == {'changed', 'gather_subset', 'dump'} | keys
    assert server.functions() == ['dump']


def test_jobs_only_sends_one_progress_and_no_dump(server, capsys):
    failed, result, _out = run(capsys, api_url=server.url, gather_subset=['jobs'])
    assert not failed
    assert server.functions() == ['progress']
    assert server.requests[0][2] == {'type': 'progress', 'name': '*'}
    assert set(result) == {'changed', 'gather_subset', 'jobs'}
    job = result['jobs']['VTV3']
    assert job['state'] == 'error' and job['mode'] is None and job['uptime'] == '0h01m00s'
    assert job['error_codes'] == ['INPUT_TIMEOUT'] and job['id'] is None
    assert job['targets'] == [{'format': 'hls', 'url': '/data/vtv3', 'select': ['0x100'], 'bitrate': 0}]


def test_all_but_apps_is_one_dump_and_one_progress(server, capsys):
    failed, result, _out = run(capsys, api_url=server.url, gather_subset=['all', '!apps'])
    assert not failed
    assert sorted(server.functions()) == ['dump', 'progress']
    assert 'apps' not in result and 'jobs' in result and 'server' in result


def test_nothing_selected_sends_nothing(server, capsys):
    failed, result, _out = run(capsys, api_url=server.url, gather_subset=['!all'])
    assert not failed and server.requests == []
    assert result == {'changed': False, 'gather_subset': []}


def test_english_spelling_gives_the_same_result(server, capsys):
    _failed, canonical, _out = run(capsys, api_url=server.url, gather_subset=['all'])
    server.spelling = 'english'
    failed, damaged, out = run(capsys, api_url=server.url, gather_subset=['all'])
    assert not failed
    assert 'System' in damaged['dump'] and damaged['dump']['nats']['license'] == MASK
    assert SEED_KEY not in out
    for key in ('server', 'gpus', 'models', 'load', 'apps', 'license', 'jobs'):
        assert damaged[key] == canonical[key], key
    assert damaged['gpus'][0]['memory_utilization'] == 3  # `soft` in the English spelling


def test_check_mode_gives_the_same_result(server, capsys):
    _failed, normal, _out = run(capsys, api_url=server.url)
    failed, checked, _out = run(capsys, api_url=server.url, _ansible_check_mode=True)
    assert not failed and checked['changed'] is False
    assert checked['server'] == normal['server'] and server.functions() == ['dump', 'dump']


# ----- probes ----------------------------------------------------------------------------------

def test_probe_inputs(server, capsys):
    failed, result, _out = run(capsys, api_url=server.url, gather_subset=['!all'], probe_inputs=[INFO_URL],
                               probe_timeout=7, detect_keyframes=True)
    assert not failed
    assert server.requests[0][2] == {'type': 'info', 'input': INFO_URL, 'timeout': 7, 'detectKeyframe': 1}
    assert len(server.requests) == 1
    video, audio = result['inputs'][INFO_URL]
    assert video['keyframes'] == [0, 2000, 4000] and video['pixel_format'] == 'yuv420p' and video['interlaced'] is True
    assert audio['sample_rate'] == 48000 and audio['channel'] == 2 and audio['keyframes'] is None


def test_probe_defaults(server, capsys):
    failed, _result, _out = run(capsys, api_url=server.url, gather_subset=['server'], probe_inputs=[INFO_URL])
    assert not failed
    assert server.functions() == ['dump', 'info']
    assert server.requests[1][2] == {'type': 'info', 'input': INFO_URL, 'timeout': 20, 'detectKeyframe': 0}


def test_probe_failure_names_the_input_and_the_server(server, capsys):
    server.fault = 'info_ec'
    failed, result, _out = run(capsys, api_url=server.url, gather_subset=['server'], probe_inputs=[INFO_URL])
    assert failed and result['changed'] is False
    assert INFO_URL in result['msg'] and server.url in result['msg'] and 'ec=7' in result['msg']
    assert result['server']['name'] == 'sigma-server-01'  # what was read before the failure


@pytest.mark.parametrize('args, text', [
    ({'probe_timeout': 0, 'probe_inputs': ['udp://x']}, 'probe_timeout'),
    ({'probe_inputs': ['  ']}, 'probe_inputs'),
])
def test_bad_probe_options_fail_before_any_request(server, capsys, args, text):
    failed, result, _out = run(capsys, api_url=server.url, **args)
    assert failed and text in result['msg'] and server.requests == []


# ----- failures --------------------------------------------------------------------------------

def test_refused(capsys):
    url = dead_url()
    failed, result, _out = run(capsys, api_url=url, timeout=1)
    assert failed and result['changed'] is False
    assert url in result['msg'] and 'connection refused' in result['msg']
    assert result['sigma_error']['kind'] == 'connection'


def test_timeout_within_budget(server, capsys):
    server.fault = 'hang'
    started = time.monotonic()
    failed, result, _out = run(capsys, api_url=server.url, timeout=1, retries=1)
    elapsed = time.monotonic() - started
    assert failed and result['changed'] is False
    assert server.url in result['msg'] and 'no answer within' in result['msg']
    assert elapsed < 1 * (1 + 1) + 1
    assert len(server.requests) == 2


def test_html_from_a_proxy(server, capsys):
    server.fault = 'html502'
    failed, result, _out = run(capsys, api_url=server.url)
    assert failed and result['changed'] is False
    assert server.url in result['msg'] and 'HTTP 502' in result['msg'] and 'Bad Gateway' in result['msg']


def test_ec_not_zero(server, capsys):
    server.fault = 'ec'
    failed, result, _out = run(capsys, api_url=server.url, gather_subset=['jobs'])
    assert failed and result['changed'] is False
    assert server.url in result['msg'] and 'progress' in result['msg'] and 'ec=7' in result['msg']
    assert result['sigma_error']['ec'] == 7


def test_answer_that_is_not_an_object(server, capsys):
    server.answers['dump'] = ['not', 'an', 'object']
    failed, result, _out = run(capsys, api_url=server.url)
    assert failed and result['changed'] is False
    assert server.url in result['msg'] and 'not a JSON object' in result['msg']


def test_passwords_in_job_urls_are_masked_and_kept_out_of_output(server, capsys):
    progress = copy.deepcopy(PROGRESS)
    job = progress['result']['VTV3']
    job['input'][0]['url'] = 'srt://ingest:In-Pw-5566aa@127.0.0.1:9000'
    job['target'][0] = {'format': 'rtmp', 'url': 'rtmp://pub:Out-Pw-7788bb@cdn.example/live', 'select': ['0x100'], 'bitrate': 0}
    server.answers['progress'] = progress
    failed, result, out = run(capsys, api_url=server.url, gather_subset=['jobs'])
    assert not failed
    entry = result['jobs']['VTV3']
    assert entry['inputs'][0]['url'] == 'srt://ingest:********@127.0.0.1:9000'
    assert entry['targets'][0]['url'] == 'rtmp://pub:********@cdn.example/live'
    assert 'In-Pw-5566aa' not in out and 'Out-Pw-7788bb' not in out


def test_password_in_a_probed_url_stays_out_of_output(server, capsys):
    url = 'rtsp://cam:Cam-Pw-9911@10.0.0.9/stream'
    server.answers['info'] = {'ec': 0, 'result': {url: INFO['result'][INFO_URL]}}
    failed, result, out = run(capsys, api_url=server.url, gather_subset=['!all'], probe_inputs=[url])
    assert not failed and len(result['inputs']) == 1
    assert 'Cam-Pw-9911' not in out
