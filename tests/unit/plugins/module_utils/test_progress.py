# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""progress and info normalisation (_progress.py), in both key spellings."""

from __future__ import annotations

import copy
import datetime

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils._job_errors import parse_error_line
from ansible_collections.sigma.media_server.plugins.module_utils._progress import (
    info_streams, keyframes, normalize_progress, normalize_progress_entry, normalize_stream,
)

NOW = datetime.datetime(2024, 3, 3, 12, 0, 0, tzinfo=datetime.timezone.utc)

ENTRY = {
    'speed': 1,
    'created': '2024-03-02 15:12:33',
    'startup': '2024-03-02 15:20:00',
    'state': 'started',
    'life': '1h41m18s',
    'pts': '1h41m10s',
    'error': ['[03-02 15:19:58] Connection timed out: udp://239.1.1.1:1234 (code: INPUT_TIMEOUT)',
              '[03-02 15:19:59] Connection timed out: udp://239.1.1.2:1234 (code: INPUT_TIMEOUT)',
              '[03-02 15:20:00] Something else (code: DECODE_ERROR)'],
    'input': [{'url': 'udp://239.1.1.1:1234', 'profile': ['h264 1920x1080 25fps', 'aac 48000Hz 2ch'], 'bitrate': 5128}],
    'profile': [{'id': '0x100', 'bitrate': 2000}, {'id': '0x101', 'bitrate': 128}],
    'target': [{'format': 'hls', 'url': '/data/mediahub/vtv3', 'select': ['0x100', '0x101'], 'bitrate': 2128}],
    'weight': 2,
    '_id': 'rec-42',
}

# The translation's spelling as the emulator's `english` servers apply it.
ENTRY_EN = {
    'Speed': 1, 'CREATED': '2024-03-02 15:12:33', 'startup': '2024-03-02 15:20:00', 'State': 'started',
    'Life': '1h41m18s', 'PTS': '1h41m10s', 'Error': copy.deepcopy(ENTRY['error']),
    'Input': [{'URL': 'udp://239.1.1.1:1234', 'Profile': ['h264 1920x1080 25fps', 'aac 48000Hz 2ch'], 'Bitrate': 5128}],
    'profile': [{'ID': '0x100', 'bitrate': 2000}, {'ID': '0x101', 'bitrate': 128}],
    'Target': [{'Format': 'hls', 'url': '/data/mediahub/vtv3', 'Select': ['0x100', '0x101'], 'bitrate': 2128}],
    'Weight': 2, '_ID': 'rec-42',
}

EXPECTED = {
    'name': 'vtv3', 'state': 'started', 'mode': None, 'speed': 1, 'uptime': '1h41m18s', 'pts': '1h41m10s',
    'created': '2024-03-02 15:12:33', 'started': '2024-03-02 15:20:00',
    'errors': ENTRY['error'], 'error_codes': ['DECODE_ERROR', 'INPUT_TIMEOUT'],
    'error_details': [parse_error_line(e, NOW) for e in ENTRY['error']], 'health': 'ok', 'health_reasons': [],
    'inputs': [{'url': 'udp://239.1.1.1:1234', 'streams': ['h264 1920x1080 25fps', 'aac 48000Hz 2ch'], 'bitrate': 5128}],
    'profiles': [{'id': '0x100', 'bitrate': 2000}, {'id': '0x101', 'bitrate': 128}],
    'targets': [{'format': 'hls', 'url': '/data/mediahub/vtv3', 'select': ['0x100', '0x101'], 'bitrate': 2128}],
    'weight': 2, 'id': 'rec-42',
}


@pytest.mark.parametrize('entry', [ENTRY, ENTRY_EN], ids=['canonical', 'english'])
def test_normalize_progress_entry(entry):
    assert normalize_progress_entry(entry, 'vtv3', NOW) == EXPECTED


def test_error_details_and_health_of_a_failing_job():
    out = normalize_progress_entry({'state': 'error', 'speed': 0, 'error': [
        '[03-02 15:19:58] Stream not found (code: STREAM_NOT_FOUND)']}, 'j', NOW)
    assert out['error_details'][0]['time'] == '2024-03-02T15:19:58Z'
    assert out['error_details'][0]['needs_restart'] is True
    assert out['health'] == 'failed' and 'STREAM_NOT_FOUND' in out['health_reasons'][0]


def test_mode_only_when_reported():
    assert normalize_progress_entry(dict(ENTRY, mode='vod'), 'x')['mode'] == 'vod'
    assert normalize_progress_entry(dict(ENTRY, Mode='live'), 'x')['mode'] == 'live'
    assert normalize_progress_entry(dict(ENTRY, mode=''), 'x')['mode'] is None


def test_empty_record_id_is_none():
    assert normalize_progress_entry(dict(ENTRY, _id=''), 'x')['id'] is None


def test_name_from_the_entry_when_not_given():
    assert normalize_progress_entry({'Name': 'n1'})['name'] == 'n1'


@pytest.mark.parametrize('entry', [None, {}, 'x', [], {'input': 'x', 'profile': [None, 'x'], 'target': {}, 'error': None}])
def test_damaged_entries_never_raise(entry):
    out = normalize_progress_entry(entry, 'j')
    assert out['name'] == 'j' and out['state'] is None
    assert out['errors'] == [] and out['error_codes'] == [] and out['targets'] == []


def test_a_single_error_string_is_a_list_of_one():
    out = normalize_progress_entry({'error': 'boom (code: X)'}, 'j')
    assert out['errors'] == ['boom (code: X)'] and out['error_codes'] == ['X']


def test_normalize_progress_keeps_job_name_case():
    answer = {'total': 2, 'EC': 0, 'Result': {'VTV3': ENTRY, 'news': ENTRY_EN}, 'Tel': 2}
    jobs = normalize_progress(answer, NOW)
    assert sorted(jobs) == ['VTV3', 'news']
    assert jobs['VTV3'] == dict(EXPECTED, name='VTV3')
    assert jobs['news'] == dict(EXPECTED, name='news')


@pytest.mark.parametrize('answer', [{}, None, {'result': []}, {'result': {}}])
def test_normalize_progress_empty(answer):
    assert normalize_progress(answer) == {}


@pytest.mark.parametrize('value, expected', [
    ('0,2000,4000', [0, 2000, 4000]), ('0, 2000 ,', [0, 2000]), ([0, '40.0'], [0, 40]), ('', None), (None, None),
    ('x,5', [5]),
])
def test_keyframes(value, expected):
    assert keyframes(value) == expected


VIDEO = {'type': 'video', 'codec': 'h264', 'bitrate': 4500, 'width': 1920, 'height': 1080, 'fps': 25,
         'interlaced': 0, 'pixelFormat': 'yuv420p', 'profile': 'High', 'level': 40, 'kf': '0,2000,4000'}
AUDIO = {'Type': 'audio', 'CODEC': 'aac', 'bitrate': 128, 'Channel': 2, 'SAMPLERATE': 48000, 'profile': 'LC'}


def test_normalize_stream_video_and_audio():
    assert normalize_stream(VIDEO) == {
        'type': 'video', 'codec': 'h264', 'bitrate': 4500, 'width': 1920, 'height': 1080, 'fps': 25,
        'interlaced': False, 'pixel_format': 'yuv420p', 'profile': 'High', 'level': 40, 'channel': None,
        'sample_rate': None, 'keyframes': [0, 2000, 4000]}
    assert normalize_stream(AUDIO) == {
        'type': 'audio', 'codec': 'aac', 'bitrate': 128, 'width': None, 'height': None, 'fps': None,
        'interlaced': None, 'pixel_format': None, 'profile': 'LC', 'level': None, 'channel': 2,
        'sample_rate': 48000, 'keyframes': None}


@pytest.mark.parametrize('value, expected', [(1, True), (0, False), ('1', True), ('no', False), (True, True), ('?', None)])
def test_interlaced_flag(value, expected):
    assert normalize_stream({'interlaced': value})['interlaced'] is expected


def test_info_streams_by_url_and_rewritten_url():
    url = 'udp://239.1.1.1:1234'
    assert [s['type'] for s in info_streams({'ec': 0, 'result': {url: [VIDEO, AUDIO]}}, url)] == ['video', 'audio']
    # a server that answers under a rewritten URL (one key only) is tolerated
    assert len(info_streams({'Result': {url + '/': [VIDEO]}}, url)) == 1


@pytest.mark.parametrize('answer', [{}, {'result': {}}, {'result': {'a': [], 'b': []}}, {'result': {'u': 'x'}}])
def test_info_streams_without_streams_raises(answer):
    with pytest.raises(ValueError, match='udp://u'):
        info_streams(answer, 'udp://u')
