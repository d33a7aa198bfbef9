# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job spec (_job_spec.py): every validation rule, conversion to the API spelling, secrets."""

from __future__ import annotations

import copy
import json

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sigma.media_server.plugins.module_utils._ci import MASK
from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import (
    MAX_BODY, body_size_error, camel, check_job, check_name, job_argument_spec, mask, option_errors, parse_gpu, render,
    secrets_of, to_api, validate_job_item,
)

SPEC = job_argument_spec()

RAW = {
    'name': 'vtv3',
    'gpu': 0,
    'input': {'main': 'udp://239.1.1.1:1234', 'backup': 'udp://239.1.1.2:1234'},
    'profiles': [
        {'id': '0x100', 'codec': 'h264', 'width': 1280, 'height': 720, 'bitrate': '2500k', 'preset': 'llhq',
         'rc': 'cbr_hq', 'pixel_format': 'yuv420p', 'profile': 'high', 'level': '4.1', 'cq': 23, 'cbr': True},
        {'id': '0x101', 'type': 'audio', 'codec': 'aac', 'bitrate': '128k', 'volume': '+2dB', 'sample_rate': 48000},
        {'id': 'hdr', 'codec': 'hevc', 'pixel_format': 'yuv420p10le', 'hdr': 'hdr10'},
    ],
    'targets': [
        {'format': 'hls', 'url': '/data/vtv3', 'select': ['0x100', '0x101'], 'manifest': {'ts': 4, 'fmp4': False}},
        {'format': 'dash', 'url': '/data/vtv3-dash', 'select': [['hdr', '0x101']],
         'drm': {'type': 'SAMPLE_AES_CTR', 'key': 'S3CR3T-KEY', 'key_id': 'KEY-ID-1'}},
        {'format': 'udp', 'url': 'udp://239.2.2.2:5000', 'select': [{'title': 'p1', 'id': 1, 'select': ['0x100']}]},
    ],
    'watermarks': [{'id': 'logo', 'url': '/data/logo.png', 'x': 1700, 'y': 40}],
    'thumbs': [{'id': 't1', 'width': 320, 'delay': 10}],
    'options': {'timeout': 6, 'fix_aac': True, 's3_config': '/etc/sigma/s3.json'},
}


def validated(raw=None):
    result = ArgumentSpecValidator(SPEC).validate(copy.deepcopy(raw if raw is not None else RAW))
    assert not result.error_messages, result.error_messages
    return result.validated_parameters


def errors_of(change, state='present'):
    raw = copy.deepcopy(RAW)
    change(raw)
    return check_job(validated(raw), state)


def test_the_sample_is_valid():
    assert check_job(validated()) == []


def _set(path, value):
    def change(raw):
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _pop(path):
    def change(raw):
        node = raw
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


# Each rule: a change to the valid sample and a text its error must contain (the field path first).
RULES = [
    ('duplicate profile id', _set(['profiles', 1, 'id'], '0x100'), "profiles[1].id '0x100' is already used by profiles[0].id"),
    ('select of an undefined profile', _set(['targets', 0, 'select'], ['0x100', 'nope']), "targets[0].select[1] refers to profile 'nope'"),
    ('select group of an undefined profile', _set(['targets', 1, 'select'], [['hdr', 'gone']]), 'targets[1].select[0][1] refers to profile'),
    ('select object without select', _set(['targets', 2, 'select'], [{'title': 'x'}]), 'targets[2].select[0].select must be a non-empty list'),
    ('select object unknown key', _set(['targets', 2, 'select'], [{'select': ['0x100'], 'bogus': 1}]), 'targets[2].select[0] has unknown keys bogus'),
    ('select object bad id', _set(['targets', 2, 'select'], [{'select': ['zzz']}]), 'targets[2].select[0].select[0] refers to profile'),
    ('hdr with h264', _set(['profiles', 2, 'codec'], 'h264'), 'profiles[2].hdr hdr10 needs codec hevc and a 10-bit pixel_format'),
    ('hdr with 8-bit', _set(['profiles', 2, 'pixel_format'], 'yuv420p'), 'profiles[2].hdr hdr10 needs codec hevc'),
    ('hdr on a ts output', _set(['targets', 1, 'format'], 'udp'), 'targets[1] carries HDR profile(s) hdr'),
    ('rc on the CPU', _set(['gpu'], -1), 'profiles[0].rc is only valid on a GPU'),
    ('GPU preset on the CPU', _set(['options', 'gpu'], -1), 'profiles[0].preset llhq is a GPU preset'),
    ('CPU preset on a GPU', _set(['profiles', 0, 'preset'], 'veryfast'), 'profiles[0].preset veryfast is a CPU preset'),
    ('baseline on the CPU', lambda r: r.update(gpu=-1, profiles=[{'id': 'v', 'profile': 'baseline'}], targets=[]),
     'profiles[0].profile baseline is only available on a GPU'),
    ('level not of the profile', _set(['profiles', 0, 'level'], '3.0'), 'profiles[0].level 3.0 is not valid with profile high'),
    ('level without profile', _pop(['profiles', 0, 'profile']), 'profiles[0].level needs profile'),
    ('aac profile on video', _set(['profiles', 0, 'profile'], 'aac_he'), "profiles[0].profile 'aac_he' is an audio profile"),
    ('video profile on audio', _set(['profiles', 1, 'profile'], 'main'), "profiles[1].profile 'main' is a video profile"),
    ('aac profile with ac3', lambda r: r['profiles'][1].update(codec='ac3', profile='aac_he'), 'profiles[1].profile is only valid with codec aac'),
    ('cq above 51', _set(['profiles', 0, 'cq'], 52), 'profiles[0].cq must be between 0 and 51, got 52'),
    ('cq below 0', _set(['profiles', 0, 'cq'], -1), 'profiles[0].cq must be between 0 and 51'),
    ('vmaf below 90', _set(['profiles', 0, 'vmaf'], 89), 'profiles[0].vmaf must be between 90 and 92, got 89'),
    ('vmaf above 92', _set(['profiles', 0, 'vmaf'], 93), 'profiles[0].vmaf must be between 90 and 92'),
    ('iframe above 300', _set(['profiles', 0, 'iframe'], 301), 'profiles[0].iframe must be between -1 and 300'),
    ('negative width', _set(['profiles', 0, 'width'], -2), 'profiles[0].width must be between 0 and 8192'),
    ('hex id out of range', _set(['profiles', 0, 'id'], '0x2000'), 'profiles[0].id must be a hex value between 0x10 and 0x1ffe'),
    ('bad hex id', _set(['profiles', 0, 'id'], '0xzz'), "profiles[0].id '0xzz' starts with 0x but is not a hex number"),
    ('bad bitrate', _set(['profiles', 0, 'bitrate'], 'fast'), 'profiles[0].bitrate must be a number of bit/s'),
    ('bad volume', _set(['profiles', 1, 'volume'], 'loud'), 'profiles[1].volume must be like +5dB'),
    ('3-letter audio language', _set(['profiles', 1, 'language'], 'eng'), 'profiles[1].language must be a 2-letter code'),
    ('video field on audio', _set(['profiles', 1, 'fps'], 25.0), 'profiles[1].fps is only valid for video profiles'),
    ('audio field on video', _set(['profiles', 0, 'sample_rate'], 48000), 'profiles[0].sample_rate is only valid for audio profiles'),
    ('video codec on audio', _set(['profiles', 1, 'codec'], 'h264'), "profiles[1].codec 'h264' is not valid for a audio profile"),
    ('subtitle codec on live', lambda r: r['profiles'].append({'id': 's', 'type': 'data', 'codec': 'webvtt'}),
     "profiles[3].codec 'webvtt' is not valid for a data profile of a live job"),
    ('subtitle page on live', lambda r: r['profiles'].append({'id': 's', 'type': 'data', 'page': 778}),
     'profiles[3].page (subtitle page) is only valid for data profiles of a vod job'),
    ('ttml styling without ttml-text', lambda r: r['profiles'].append({'id': 's', 'type': 'data', 'cfg': {'size': 3}}),
     'profiles[3].cfg (subtitle styling) is only valid with codec ttml-text'),
    ('stream index out of range', _set(['profiles', 0, 'stream_index'], -1), 'profiles[0].stream_index must be between 0 and 1000'),
    ('manifest ts 1', _set(['targets', 0, 'manifest', 'ts'], 1), 'targets[0].manifest.ts must be between 2 and 10, got 1'),
    ('manifest ts 11', _set(['targets', 0, 'manifest', 'ts'], 11), 'targets[0].manifest.ts must be between 2 and 10'),
    ('manifest buffer 61', _set(['targets', 0, 'manifest', 'buffer'], 61), 'targets[0].manifest.buffer must be between 0 and 60'),
    ('manifest cache -2', _set(['targets', 0, 'manifest', 'cache'], -2), 'targets[0].manifest.cache must be -1 or more'),
    ('manifest count -1', _set(['targets', 0, 'manifest', 'count'], -1), 'targets[0].manifest.count must be 0 or more'),
    ('manifest chunked too small', _set(['targets', 0, 'manifest', 'chunked'], 0.001), 'targets[0].manifest.chunked must be at least 0.01'),
    ('manifest thumb undefined', _set(['targets', 0, 'manifest', 'thumb'], 't9'), "targets[0].manifest.thumb refers to thumb 't9'"),
    ('drm on udp', lambda r: r['targets'][2].update(drm={'key': 'k'}), 'targets[2].drm is only valid for hls and dash targets'),
    ('AES_128 on dash', _set(['targets', 1, 'drm', 'type'], 'AES_128'), 'targets[1].drm.type AES_128 is for hls targets only'),
    ('CTR on hls ts', lambda r: r['targets'][0].update(drm={'type': 'SAMPLE_AES_CTR', 'key': 'k'}),
     'targets[0].drm.type SAMPLE_AES_CTR needs a dash target or an hls target with manifest.fmp4'),
    ('drm keys and server', _set(['targets', 1, 'drm', 'server'], 'https://kms'), 'targets[1].drm: give either direct keys'),
    ('drm without keys', _set(['targets', 1, 'drm'], {'type': 'SAMPLE_AES_CTR'}), 'targets[1].drm needs direct keys'),
    ('drm body without server', _set(['targets', 1, 'drm', 'body'], {'a': 1}), 'targets[1].drm.body is only valid with drm.server'),
    ('cc on a live job', lambda r: r['targets'][1].update(cc={'type': 608, 'id': 1}), 'targets[1].cc (closed captions) is only valid for vod jobs'),
    ('608 channel 5', lambda r: r.update(mode='vod') or r['targets'][1].update(cc={'type': 608, 'id': 5}),
     'targets[1].cc.id must be between 1 and 4 for CEA-608, got 5'),
    ('708 channel 64', lambda r: r.update(mode='vod') or r['targets'][1].update(cc={'type': 708, 'id': 64}),
     'targets[1].cc.id must be between 1 and 63 for CEA-708, got 64'),
    ('cc language of 2 letters', lambda r: r.update(mode='vod') or r['targets'][1].update(cc={'type': 708, 'lang': 'en'}),
     'targets[1].cc.lang must be a 3-letter code'),
    ('join on a live job', lambda r: r['targets'][1].update(join={'clean': True}), 'targets[1].join is only valid for vod jobs'),
    ('join max_speed 0', lambda r: r.update(mode='vod') or r['targets'][1].update(join={'max_speed': 0}), 'targets[1].join.max_speed must be 1 or more'),
    ('watermark x', _set(['watermarks', 0, 'x'], 1921), 'watermarks[0].x must be between 0 and 1920, got 1921'),
    ('watermark y', _set(['watermarks', 0, 'y'], 1081), 'watermarks[0].y must be between 0 and 1080'),
    ('watermark scale', _set(['watermarks', 0, 'scale'], 3.5), 'watermarks[0].scale must be between 0.1 and 3.0'),
    ('watermark media_scale', _set(['watermarks', 0, 'media_scale'], 0.05), 'watermarks[0].media_scale must be between 0.1 and 3.0'),
    ('watermark delay', _set(['watermarks', 0, 'delay'], 121), 'watermarks[0].delay must be between 0 and 120'),
    ('duplicate watermark id', lambda r: r['watermarks'].append({'id': 'logo'}), "watermarks[1].id 'logo' is already used"),
    ('thumb width', _set(['thumbs', 0, 'width'], 99), 'thumbs[0].width must be between 100 and 1920'),
    ('thumb delay', _set(['thumbs', 0, 'delay'], 61), 'thumbs[0].delay must be between 1 and 60'),
    ('thumb col', _set(['thumbs', 0, 'col'], 11), 'thumbs[0].col must be between 0 and 10'),
    ('thumb row', _set(['thumbs', 0, 'row'], -1), 'thumbs[0].row must be between 0 and 10'),
    ('duplicate thumb id', lambda r: r['thumbs'].append({'id': 't1'}), "thumbs[1].id 't1' is already used"),
    ('options timeout', _set(['options', 'timeout'], 11), 'options.timeout must be between 2 and 10, got 11'),
    ('options sync_stream', _set(['options', 'sync_stream'], 0), 'options.sync_stream must be 1 or more'),
    ('options max_speed', _set(['options', 'max_speed'], 11.0), 'options.max_speed must be between 0.1 and 10'),
    ('options loop', _set(['options', 'loop'], -1), 'options.loop must be 0 or more'),
    ('options limit_input', _set(['options', 'limit_input'], 4096), 'options.limit_input must be between 256 and 2048'),
    ('options gpu', _set(['options', 'gpu'], -2), 'options.gpu must be -1 (CPU) or a card index'),
    ('options.gpu with auto', lambda r: r.update(gpu='auto') or r['options'].update(gpu=0), 'options.gpu cannot be combined with gpu: auto'),
    ('bad gpu', _set(['gpu'], 'fast'), "gpu must be -1 (CPU), a card index (0 or more) or 'auto'"),
    ('gpu below -1', _set(['gpu'], -2), "gpu must be -1 (CPU)"),
    ('negative weight', _set(['weight'], -1), 'weight must be 0 or more'),
    ('missing input', _pop(['input']), 'input is required when state is present'),
    ('empty input', _set(['input'], ' '), 'input must not be empty'),
    ('empty input list', _set(['input'], []), 'input must not be an empty list'),
    ('bad input list item', _set(['input'], ['udp://a', 3]), 'input[1] must be a non-empty URL string'),
    ('input without main', _set(['input'], {'backup': 'udp://b'}), 'input.main must be a non-empty URL string'),
    ('input unknown key', _set(['input'], {'main': 'udp://a', 'third': 'udp://c'}), 'input has unknown keys third'),
    ('input of a number', _set(['input'], 5), 'input must be a URL, a list of URLs or {main, backup}'),
    ('name *', _set(['name'], '*'), "name must be 1 to 128 characters, letters, digits and . _ : @ + -"),
    ('extra name', _set(['extra'], {'name': 'x'}), 'extra.name is not allowed: set the option name'),
    ('extra type', _set(['extra'], {'type': 'stop'}), 'extra.type is not allowed'),
]


@pytest.mark.parametrize('change, expected', [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_every_rule_refuses_naming_the_field(change, expected):
    errors = errors_of(change)
    assert any(expected in e for e in errors), errors


def test_errors_are_all_reported_at_once():
    def change(raw):
        raw['profiles'][0]['cq'] = 99
        raw['targets'][0]['select'] = ['nope']
        raw['watermarks'][0]['x'] = -1
    errors = errors_of(change)
    assert len(errors) == 3, errors


def test_absent_needs_no_input():
    assert check_job(validated({'name': 'x'}), 'absent') == []
    assert check_job(validated({'name': 'x'}), 'present') == ['input is required when state is present']


@pytest.mark.parametrize('value, expected', [('auto', 'auto'), ('AUTO', 'auto'), (-1, -1), ('2', 2), (0, 0)])
def test_parse_gpu(value, expected):
    assert parse_gpu(value) == expected


@pytest.mark.parametrize('value', [-2, 'x', True, None, 1.5])
def test_parse_gpu_refuses(value):
    with pytest.raises((TypeError, ValueError)):
        parse_gpu(value)


def test_camel():
    assert camel('pixel_format') == 'pixelFormat'
    assert camel('key_id') == 'keyId'
    assert camel('s3_config') == 's3Config'
    assert camel('use_thread') == 'useThread'
    assert camel('xerror') == 'xerror'


def test_to_api_spelling_booleans_and_select():
    raw = copy.deepcopy(RAW)
    raw['targets'][2]['select'] = [{'title': 'p1', 'id': 1, 'select': [256]}, 7]
    raw['profiles'].append({'id': '7', 'type': 'data'})
    raw['profiles'].append({'id': '256', 'type': 'data'})
    body = to_api(validated(raw))
    assert body['name'] == 'vtv3' and body['mode'] == 'live' and body['gpu'] == 0
    video = body['profile'][0]
    assert video['pixelFormat'] == 'yuv420p' and video['cbr'] == 1 and 'pixel_format' not in video
    assert body['profile'][1]['sampleRate'] == 48000
    assert body['target'][0]['manifest'] == {'ts': 4, 'fmp4': 0}
    assert body['target'][1]['drm'] == {'type': 'SAMPLE_AES_CTR', 'key': 'S3CR3T-KEY', 'keyId': 'KEY-ID-1'}
    assert body['target'][1]['select'] == [['hdr', '0x101']]
    assert body['target'][2]['select'] == [{'title': 'p1', 'id': 1, 'select': ['256']}, '7']
    assert body['option'] == {'timeout': 6, 'fixAac': 1, 's3Config': '/etc/sigma/s3.json'}
    assert body['watermark'] == [{'id': 'logo', 'url': '/data/logo.png', 'x': 1700, 'y': 40, 'enable': 1}]
    assert body['thumb'] == [{'id': 't1', 'width': 320, 'delay': 10}]
    assert 'weight' not in body and '_id' not in body
    # nothing None is sent
    assert 'None' not in repr(body)


def test_to_api_floats_and_extra_last():
    raw = copy.deepcopy(RAW)
    raw['profiles'][0]['fps'] = 25
    raw['profiles'][0]['width'] = 1280
    raw['weight'] = 3
    raw['extra'] = {'gpu': 1, 'newField': {'a': 1}, '_id': 'mine'}
    body = to_api(validated(raw))
    assert body['profile'][0]['fps'] == 25 and isinstance(body['profile'][0]['fps'], int)
    assert body['gpu'] == 1 and body['newField'] == {'a': 1} and body['_id'] == 'mine' and body['weight'] == 3


def test_to_api_inputs():
    for inp in ('udp://a', ['udp://a', 'udp://b'], {'main': 'udp://a'}):
        raw = dict(copy.deepcopy(RAW), input=inp)
        assert to_api(validated(raw))['input'] == inp
    assert to_api(validated({'name': 'gone'}))['gpu'] == -1


def test_mask_drm_extra_and_url_passwords():
    body = to_api(validated(dict(copy.deepcopy(RAW), input='rtmp://user:pa55word@src/live',
                                 extra={'s3': {'accessKeyId': 'AKIA1', 'secretAccessKey': 'SAK2'}})))
    found = set()
    out = mask(body, found)
    assert out['target'][1]['drm'] == {'type': 'SAMPLE_AES_CTR', 'key': MASK, 'keyId': MASK}
    assert out['input'] == 'rtmp://user:%s@src/live' % MASK
    assert out['s3'] == {'accessKeyId': MASK, 'secretAccessKey': MASK}
    assert found >= {'S3CR3T-KEY', 'KEY-ID-1', 'pa55word', 'AKIA1', 'SAK2'}
    assert 'S3CR3T-KEY' in repr(body)  # the original is untouched
    assert secrets_of(body) == found - {MASK}


def test_mask_collects_every_leaf_of_a_secret_dict():
    found = secrets_of({'drm': {'server': 'https://kms.example/k', 'body': {'token': 'T0K', 'nested': ['L1X', 'ab']}}})
    assert found == {'https://kms.example/k', 'T0K', 'L1X'}  # 1-2 character values are not masked


def test_validate_job_item_prefixes_errors_and_collects_no_log_values():
    spec = job_argument_spec()
    params, errors, no_log = validate_job_item({'name': 'a', 'input': 'udp://a', 'mode': 'tv',
                                                'targets': [{'format': 'hls', 'url': '/x', 'drm': {'key': 'K3Y'}}]},
                                               spec, 'jobs[3]')
    assert errors == ["jobs[3] (name 'a').mode must be one of: live, vod, got: tv"]
    assert 'K3Y' in no_log
    params, errors, no_log = validate_job_item('vtv3', spec, 'jobs[0]')
    assert params is None and errors == ['jobs[0] must be a dictionary of job options, got \'str\'']
    params, errors, _no_log = validate_job_item({'name': 'a', 'profiles': [{'id': 'v', 'bogus': 1}]}, spec, 'jobs[1]')
    assert any('bogus' in e for e in errors)


@pytest.mark.parametrize('name', ['vtv3', 'a', 'ch-1.hd_2:main@site+x', '0x100', 'n' * 128])
def test_valid_names(name):
    assert check_name(name) is None
    assert check_job(validated(dict(RAW, name=name))) == []


@pytest.mark.parametrize('name', [
    u'k\u00eanh-truy\u1ec1n-h\u00ecnh-\u2713', 'rel\nbad\tname', 'n' * 129, 'n' * 5000, '', ' ', 'a b', '*', 'ch*',
    'ch1\n', '-lead', '.hidden', 'a/b', 'caf\u00e9', 'x\x00y', 'tab\t',
])
def test_bad_names_are_refused_naming_the_field(name):
    error = check_name(name)
    assert error and error.startswith('name must be 1 to 128 characters'), error
    assert len(error) < 300  # a 5000-character name is not echoed whole
    assert check_job(validated(dict(RAW, name=name)), 'present') == [error]
    assert check_job(validated({'name': name}), 'absent') == [error]  # stop by name too


def test_body_size_limit():
    body = to_api(validated())
    assert body_size_error('vtv3', body) is None
    body['extra'] = ''
    body['extra'] = 'x' * (MAX_BODY - len(json.dumps(body, separators=(',', ':'))) + 1)
    size = len(json.dumps(body, separators=(',', ':')))
    error = body_size_error('vtv3', body)
    assert size == MAX_BODY + 1 and error.startswith('job vtv3: the start body is %d bytes' % size), error
    body['extra'] = body['extra'][:-1]
    assert body_size_error('vtv3', body) is None  # exactly 1 MiB is allowed
    big = to_api(validated(dict(RAW, extra={'comment': 'x' * (5 * 1024 * 1024)})))
    error = body_size_error('vtv3', big)
    assert 'job vtv3' in error and '(5.0 MB)' in error and 'more than the 1048576 bytes (1 MiB)' in error
    # counted in bytes of UTF-8, not characters
    wide = to_api(validated(dict(RAW, extra={'comment': u'\u2713' * (MAX_BODY // 3 + 10)})))
    assert body_size_error('vtv3', wide)


@pytest.mark.parametrize('obj', [
    RAW,
    {'input': 'srt://u:p4ss@h:9000', 'extra': {'s3': {'accessKeyId': 'AKIA-1', 'secretAccessKey': ['a', 'bcd', {'x': 'efg'}]}}},
    {'targets': [{'drm': {'key': None, 'iv': '', 'uri': 'https://k:Pw-9@keys/x'}}, 'rtmp://a:b@c/d'], 'password': 12345},
    [{'Token': 'T0K-1'}, 'udp://239.1.1.1:1234', {'nested': [{'SECRET': {'deep': 'D33P'}}]}],
])
def test_secrets_of_finds_what_mask_hides(obj):
    found = set()
    mask(obj, found)
    assert secrets_of(obj) == set(s for s in found if len(s) >= 3 and s != MASK)


def paths(spec, params, label=''):
    return [render(label, path, text) for path, text in option_errors(spec, params)]


def test_option_errors_name_the_list_item():
    raw = copy.deepcopy(RAW)
    raw['targets'][2]['selec'] = ['0x100']
    raw['profiles'][1]['fps'] = 31
    raw['profiles'][0]['width'] = 'wide'
    raw['targets'][0]['manifest']['count'] = [1]
    raw['targets'][1]['drm']['filter'] = ['widevine', 'netflix']
    raw['thumbs'].append('t2')
    raw['options']['gpux'] = 1
    assert paths(SPEC, raw, "jobs[2] (name 'vtv3')") == [
        "jobs[2] (name 'vtv3').profiles[0].width must be an integer, got str 'wide'",
        "jobs[2] (name 'vtv3').profiles[1].fps must be one of: 20.0, 25.0, 29.97, 30.0, 59.94, 60.0, got: 31",
        "jobs[2] (name 'vtv3').targets[0].manifest.count must be an integer, got list [1]",
        "jobs[2] (name 'vtv3').targets[1].drm.filter must be a list of: fairplay, widevine, playready, hls_widevine, "
        "hls_playready, dash_widevine, dash_playready, got list ['widevine', 'netflix']",
        "jobs[2] (name 'vtv3').targets[2]: unknown option 'selec' (did you mean select?)",
        "jobs[2] (name 'vtv3').thumbs[1] must be a dictionary, got str 't2'",
        "jobs[2] (name 'vtv3').options: unknown option 'gpux' (did you mean gpu?)",
    ]
    assert paths(SPEC, RAW) == []  # a valid job: nothing


def test_option_errors_at_the_top_and_without_a_label():
    assert paths(SPEC, {'input': 'udp://a', 'nmae': 'x'}) == [
        "unknown option 'nmae' (did you mean name?)", "missing required option 'name'"]
    assert paths(SPEC, {'name': 'a', 'profiles': 'v'}) == ["profiles must be a list of dictionaries, got str 'v'"]
    assert paths(SPEC, {'name': 'a', 'zzz': 1}, 'jobs[0]')[0].startswith("jobs[0]: unknown option 'zzz' (valid: extra, gpu")
    assert paths(SPEC, {'name': 'a', '_ansible_check_mode': True}) == []  # Ansible's own keys are not options


def test_option_errors_never_show_a_secret_value():
    spec = {'pin': {'type': 'int', 'no_log': True}, 'key': {'type': 'int'}, 'size': {'type': 'int'}}
    assert paths(spec, {'pin': 'S3CR3T', 'key': 'K3Y', 'size': 'big'}) == [
        'pin must be an integer, got a str (not shown: a secret)',
        'key must be an integer, got a str (not shown: a secret)',  # a secret by its name
        "size must be an integer, got str 'big'",
    ]


def test_validate_job_item_labels_with_the_name_when_it_is_valid():
    _params, errors, _no_log = validate_job_item({'name': 'news', 'targets': [{'format': 'hls', 'url': '/x', 'selec': []}]},
                                                 SPEC, 'jobs[2]')
    assert errors == ["jobs[2] (name 'news').targets[0]: unknown option 'selec' (did you mean select?)"]
    _params, errors, _no_log = validate_job_item({'name': 'bad name', 'mode': 'tv'}, SPEC, 'jobs[0]')
    assert errors == ['jobs[0].mode must be one of: live, vod, got: tv']
