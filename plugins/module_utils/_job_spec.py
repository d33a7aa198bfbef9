# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job specification: declared ONCE, validated, converted to the API's spelling.

`job_argument_spec()` is the argument spec of one job (sigma_job's options;
each item of sigma_jobs' `jobs` is validated against the same spec with
`validate_job_item`). `check_job` applies the cross-field rules and the
documented ranges and returns every error, each naming its field path
(`targets[1].select[0]`). `to_api` turns validated options into the body of
a `start` call. `secrets_of` / `mask` find and hide DRM keys, S3 keys and
URL passwords.
"""

from __future__ import annotations

import copy
import difflib
import json
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sigma.media_server.plugins.module_utils._ci import MASK, mask_keys, mask_url_passwords
from ansible_collections.sigma.media_server.plugins.module_utils._ranges import Range, check

VIDEO_CODECS = ('h264', 'hevc', 'copy')
AUDIO_CODECS = ('copy', 'aac', 'ac3', 'eac3', 'mp2')
SUBTITLE_CODECS = ('webvtt', 'ttml-text', 'ttml-image')
AAC_PROFILES = ('aac_low', 'aac_he', 'aac_he_v2', 'aac_main', 'aac_ld', 'aac_eld')
VIDEO_PROFILES = ('baseline', 'main', 'high')
LEVELS = {'main': ('3.0', '4.0'), 'high': ('4.0', '4.1', '4.2'), 'baseline': None}
CPU_PRESETS = ('veryfast', 'superfast')
GPU_PRESETS = ('llhp', 'llhq')
FORMATS = ('rtmp', 'udp', 'hls', 'dash', 'mss', 'hds', 'mp3', 'mp4', 'srt', 'aac', 'wav', 'webvtt')
MP4_BASED = ('dash', 'mss', 'mp4')

# Keys whose values are secrets, in the API's and in our spelling (compared lower-case).
SECRET_KEYS = frozenset((
    'key', 'keyid', 'key_id', 'iv', 'uri', 'pssh', 'widevine', 'playready', 'server', 'body',
    'accesskeyid', 'access_key_id', 'secretaccesskey', 'secret_access_key', 'sessiontoken', 'session_token',
    'password', 'passwd', 'token', 'secret', 'license',
))

_VIDEO_ONLY = ('fps', 'pixel_format', 'width', 'height', 'scale_type', 'cbr', 'cq', 'vmaf', 'interlaced',
               'watermark', 'level', 'preset', 'rc', 'iframe', 'hdr', 'minrate', 'maxrate', 'bufsize')
_AUDIO_ONLY = ('sample_rate', 'channel', 'volume', 'group', 'label')
_RATE_RE = re.compile(r'^\d+(\.\d+)?[kKmM]?$')
_VOLUME_RE = re.compile(r'^([+-]?\d+(\.\d+)?dB|loudnorm|\d+(\.\d+)?)$')
# A job name: 1 to 128 printable ASCII characters, no whitespace, no control character, no `*` (all jobs to
# progress and stop); it starts with a letter or a digit.
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$')
NAME_RULE = ('1 to 128 characters, letters, digits and . _ : @ + - (ASCII, no whitespace, no control character, '
             'no *), starting with a letter or a digit')
MAX_BODY = 1024 * 1024  # bytes of a start body (JSON)


def _opt(kind, **kwargs):
    kwargs['type'] = kind
    return kwargs


def _bools(*names):
    return dict((n, _opt('bool')) for n in names)


def _strs(*names):
    return dict((n, _opt('str')) for n in names)


def _secrets(*names):
    return dict((n, _opt('str', no_log=True)) for n in names)


def job_argument_spec():
    """The argument spec of one job (a fresh copy: callers may change it)."""
    profile = dict(
        id=_opt('str', required=True),
        type=_opt('str', choices=['video', 'audio', 'data'], default='video'),
        enable=_opt('bool'),
        codec=_opt('str', choices=list(VIDEO_CODECS + AUDIO_CODECS[1:] + SUBTITLE_CODECS)),
        stream_index=_opt('int'),
        source_index=_opt('int'),
        bitrate=_opt('raw'), minrate=_opt('raw'), maxrate=_opt('raw'), bufsize=_opt('raw'),
        sample_rate=_opt('int', choices=[44100, 48000]),
        channel=_opt('int', choices=[1, 2, 6]),
        profile=_opt('str', choices=list(AAC_PROFILES + VIDEO_PROFILES)),
        volume=_opt('str'),
        language=_opt('str'), group=_opt('str'), label=_opt('str'),
        fps=_opt('float', choices=[20.0, 25.0, 29.97, 30.0, 59.94, 60.0]),
        pixel_format=_opt('str', choices=['yuv420p', 'yuv444p', 'yuv420p10le', 'yuv444p10le']),
        width=_opt('int'), height=_opt('int'),
        scale_type=_opt('str', choices=['fitWidth', 'fitHeight', 'fitInside', 'fitCrop', 'fitBoth', 'source']),
        cbr=_opt('bool'), cq=_opt('int'), vmaf=_opt('int'), interlaced=_opt('bool'),
        watermark=_opt('dict'),
        level=_opt('str', choices=['3.0', '4.0', '4.1', '4.2']),
        preset=_opt('str', choices=list(CPU_PRESETS + GPU_PRESETS)),
        rc=_opt('str', choices=['cbr_hq', 'cbr_hp', 'vbr_hq', 'vbr_hp']),
        iframe=_opt('int'),
        hdr=_opt('str', choices=['copy', 'none', 'hdr10', 'hlg10', 'pq10']),
        page=_opt('int'),
        cfg=_opt('dict', options=dict(size=_opt('int'), out_size=_opt('int'), **_strs('font', 'color', 'out_color', 'bgr'))),
    )
    drm = dict(
        type=_opt('str', choices=['AES_128', 'SAMPLE_AES', 'SAMPLE_AES_CTR', 'SAMPLE_AES_CBC']),
        filter=_opt('list', elements='str', choices=['fairplay', 'widevine', 'playready', 'hls_widevine',
                                                     'hls_playready', 'dash_widevine', 'dash_playready']),
        systems=_opt('list', elements='dict', options=dict(id=_opt('str'), **_secrets('uri', 'pssh'))),
        expire_time=_opt('raw'),
        body=_opt('raw', no_log=True),
        **_secrets('uri', 'key', 'key_id', 'iv', 'widevine', 'playready', 'server')
    )
    manifest = dict(
        ts=_opt('int'), cache=_opt('int'), count=_opt('int'),
        chunked=_opt('float'), chunked_type=_opt('str', choices=['fragment', 'range', 'combine']),
        target_latency=_opt('float'), min_latency=_opt('float'), max_latency=_opt('float'),
        segment=_opt('float'), header=_opt('dict'), buffer=_opt('int'), thumb=_opt('str'),
        **dict(_bools('enable_time', 'append_list', 'end_list', 'single_file', 'fmp4', 'persistent', 'use_thread',
                      'iframe'),
               **_strs('master_name', 'master_path', 'master_extra', 'ts_name', 'ts_prefix', 'init_name',
                       'init_prefix', 'init_path', 'index_name', 'index_path', 'index_prefix'))
    )
    target = dict(
        enable=_opt('bool'),
        format=_opt('str', required=True, choices=list(FORMATS)),
        url=_opt('str', required=True),
        select=_opt('list', elements='raw'),
        drm=_opt('dict', options=drm),
        manifest=_opt('dict', options=manifest),
        cc=_opt('dict', options=dict(name=_opt('str'), type=_opt('int', required=True, choices=[608, 708]),
                                     id=_opt('int'), lang=_opt('str'))),
        join=_opt('dict', options=dict(callback=_opt('str'), max_speed=_opt('int'), clean=_opt('bool'))),
    )
    watermark = dict(id=_opt('str'), url=_opt('str'), x=_opt('int'), y=_opt('int'), scale=_opt('float'),
                     media_scale=_opt('float'), delay=_opt('int'), enable=_opt('bool'))
    thumb = dict(id=_opt('str'), enable=_opt('bool'), width=_opt('int'), delay=_opt('int'), col=_opt('int'),
                 row=_opt('int'), name=_opt('str'), url=_opt('str'))
    options = dict(
        sync_copy=_opt('int', choices=[0, 1, 2]), timeout=_opt('int'), sync_stream=_opt('int'), gpu=_opt('int'),
        filter_complex=_opt('str'), max_speed=_opt('float'), loop=_opt('int'), limit_input=_opt('int'),
        sound=_opt('str'), s3_config=_opt('str'),
        blackout=_opt('dict', options=dict(input=_opt('str'))),
        **_bools('xerror', 'copyts', 'fix_aac', 'preload', 'id3', 'cc')
    )
    return dict(
        name=_opt('str', required=True),
        mode=_opt('str', choices=['live', 'vod'], default='live'),
        gpu=_opt('raw', default=-1),
        input=_opt('raw'),
        profiles=_opt('list', elements='dict', options=profile),
        targets=_opt('list', elements='dict', options=target),
        watermarks=_opt('list', elements='dict', options=watermark),
        thumbs=_opt('list', elements='dict', options=thumb),
        options=_opt('dict', options=options),
        weight=_opt('int'),
        extra=_opt('dict'),
    )


# ---------------------------------------------------------------------------------------------
# Cross-field validation


def parse_gpu(value):
    """'auto', or an int >= -1; raises ValueError."""
    if isinstance(value, str) and value.strip().lower() == 'auto':
        return 'auto'
    if isinstance(value, bool):
        raise ValueError(value)
    number = int(str(value).strip())
    if number < -1:
        raise ValueError(value)
    return number


# Every documented range of a job option, keyed by its documentation path (`[]` for list items). The checks
# below read it; tests/unit/plugins/module_utils/test_jobs_spec.py checks that the documentation (the doc fragment
# sigma.media_server.job) states every bound.
RANGES = {
    'profiles[].id': Range(0x10, 0x1ffe, wording='a hex value between 0x10 and 0x1ffe', shown=('0x10', '0x1ffe')),
    'profiles[].stream_index': Range(0, 1000),
    'profiles[].source_index': Range(0, 1000),
    'profiles[].cq': Range(0, 51),
    'profiles[].vmaf': Range(90, 92),
    'profiles[].width': Range(0, 8192),
    'profiles[].height': Range(0, 8192),
    'profiles[].iframe': Range(
        -1, 300, wording='between -1 and 300 (-1 follow manifest.ts, 0 follow source, 1-16 seconds, 17-300 frames)'),
    'targets[].manifest.ts': Range(2, 10),
    'targets[].manifest.buffer': Range(0, 60),
    'targets[].manifest.cache': Range(-1, 10 ** 6, wording='-1 or more (at most 1000000)'),
    'targets[].manifest.count': Range(0, 10 ** 6, wording='0 or more (at most 1000000)'),
    'targets[].manifest.chunked': Range(0.01, 3600, wording='at least 0.01 seconds (at most 3600)'),
    'targets[].cc.id': {608: Range(1, 4, wording='between 1 and 4 for CEA-608'),
                        708: Range(1, 63, wording='between 1 and 63 for CEA-708')},
    'targets[].join.max_speed': Range(1, 10 ** 6, wording='1 or more (at most 1000000)'),
    'watermarks[].x': Range(0, 1920),
    'watermarks[].y': Range(0, 1080),
    'watermarks[].scale': Range(0.1, 3.0),
    'watermarks[].media_scale': Range(0.1, 3.0),
    'watermarks[].delay': Range(0, 120),
    'thumbs[].width': Range(100, 1920),
    'thumbs[].delay': Range(1, 60),
    'thumbs[].col': Range(0, 10),
    'thumbs[].row': Range(0, 10),
    'options.gpu': Range(-1, 64, wording='-1 (CPU) or a card index from 0 to 64'),
    'options.timeout': Range(2, 10),
    'options.sync_stream': Range(1, 10 ** 6, wording='1 or more (at most 1000000)'),
    'options.max_speed': Range(0.1, 10),
    'options.loop': Range(0, 10 ** 9, wording='0 or more (at most 1000000000)'),
    'options.limit_input': Range(256, 2048),
    'weight': Range(0, 10 ** 9, wording='0 or more (at most 1000000000)'),
}


def _ranges(errors, path, item, prefix, keys):
    """Check the fields `keys` of `item` (at `path`) against RANGES[prefix + key]."""
    for key in keys:
        check(errors, '%s.%s' % (path, key), item.get(key), RANGES[prefix + key])


def _rate(errors, path, value):
    if value is None:
        return
    if isinstance(value, bool) or not (isinstance(value, int) and value >= 0 or _RATE_RE.match(str(value))):
        errors.append('%s must be a number of bit/s or a text such as 2000k or 2M, got %r' % (path, value))


def effective_gpu(job):
    """The device the job runs on: options.gpu overrides gpu. 'auto', -1 or an index."""
    opt_gpu = (job.get('options') or {}).get('gpu')
    if opt_gpu is not None:
        return opt_gpu
    try:
        return parse_gpu(job.get('gpu', -1))
    except (TypeError, ValueError):
        return -1


def _select_ids(errors, path, select, ids, depth=0):
    for n, item in enumerate(select or []):
        here = '%s[%d]' % (path, n)
        if isinstance(item, dict):
            extra = sorted(set(item) - set(('title', 'id', 'drm', 'select')))
            if extra:
                errors.append('%s has unknown keys %s (expected title, id, drm, select)' % (here, ', '.join(extra)))
            if not isinstance(item.get('select'), list) or not item.get('select'):
                errors.append('%s.select must be a non-empty list of profile ids' % here)
            else:
                _select_ids(errors, here + '.select', item['select'], ids, depth + 1)
        elif isinstance(item, list) and depth == 0:
            _select_ids(errors, here, item, ids, depth + 1)
        elif isinstance(item, (str, int)) and not isinstance(item, bool):
            if str(item) not in ids:
                errors.append('%s refers to profile %r, which no profile defines (profiles: %s)'
                              % (here, str(item), ', '.join(sorted(ids)) or 'none'))
        else:
            errors.append('%s must be a profile id, a list of ids or {title, id, drm, select}, got %r' % (here, item))


def _flat_select(select):
    out = []
    for item in select or []:
        if isinstance(item, dict):
            out.extend(_flat_select(item.get('select')))
        elif isinstance(item, list):
            out.extend(_flat_select(item))
        else:
            out.append(str(item))
    return out


def _check_input(errors, value):
    if isinstance(value, str):
        if not value.strip():
            errors.append('input must not be empty')
    elif isinstance(value, list):
        if not value:
            errors.append('input must not be an empty list')
        for n, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                errors.append('input[%d] must be a non-empty URL string, got %r' % (n, item))
    elif isinstance(value, dict):
        unknown = sorted(set(value) - set(('main', 'backup')))
        if unknown:
            errors.append('input has unknown keys %s (expected main and backup)' % ', '.join(unknown))
        for key in ('main', 'backup'):
            item = value.get(key)
            if (key == 'main' or item is not None) and (not isinstance(item, str) or not item.strip()):
                errors.append('input.%s must be a non-empty URL string, got %r' % (key, item))
    else:
        errors.append('input must be a URL, a list of URLs or {main, backup}, got %r' % (value,))


def _check_profile(errors, path, p, mode, device):
    kind = p['type']
    codec = p.get('codec')
    allowed = {'video': VIDEO_CODECS, 'audio': AUDIO_CODECS, 'data': ('copy',) + (SUBTITLE_CODECS if mode == 'vod' else ())}[kind]
    if codec is not None and codec not in allowed:
        errors.append('%s.codec %r is not valid for a %s profile%s (choose from %s)'
                      % (path, codec, kind, ' of a %s job' % mode if kind == 'data' else '', ', '.join(allowed)))
    for key in _VIDEO_ONLY if kind != 'video' else _AUDIO_ONLY if kind != 'audio' else ():
        if p.get(key) is not None:
            errors.append('%s.%s is only valid for %s profiles' % (path, key, 'video' if key in _VIDEO_ONLY else 'audio'))
    for key in ('bitrate', 'minrate', 'maxrate', 'bufsize'):
        _rate(errors, '%s.%s' % (path, key), p.get(key))
    pid = p['id']
    if pid.lower().startswith('0x'):
        try:
            check(errors, '%s.id' % path, int(pid, 16), RANGES['profiles[].id'])
        except ValueError:
            errors.append('%s.id %r starts with 0x but is not a hex number' % (path, pid))
    _ranges(errors, path, p, 'profiles[].', ('stream_index', 'source_index'))
    if kind == 'audio':
        if p.get('profile') is not None and p['profile'] not in AAC_PROFILES:
            errors.append('%s.profile %r is a video profile; audio profiles take %s' % (path, p['profile'], ', '.join(AAC_PROFILES)))
        if p.get('profile') is not None and (codec or 'aac') != 'aac':
            errors.append('%s.profile is only valid with codec aac, got codec %s' % (path, codec))
        if p.get('volume') is not None and not _VOLUME_RE.match(str(p['volume']).strip()):
            errors.append('%s.volume must be like +5dB, -10dB, a factor such as 0.5, or loudnorm, got %r' % (path, p['volume']))
        if p.get('language') is not None and not re.match(r'^[A-Za-z]{2}$', p['language']):
            errors.append('%s.language must be a 2-letter code, got %r' % (path, p['language']))
    if kind == 'video':
        gpu = device != -1
        vcodec, pix = codec or 'h264', p.get('pixel_format') or 'yuv420p'
        _ranges(errors, path, p, 'profiles[].', ('cq', 'vmaf', 'width', 'height', 'iframe'))
        if p.get('hdr') not in (None, 'none') and (vcodec != 'hevc' or not pix.endswith('10le')):
            errors.append('%s.hdr %s needs codec hevc and a 10-bit pixel_format (yuv420p10le or yuv444p10le), got %s and %s'
                          % (path, p['hdr'], vcodec, pix))
        if p.get('rc') is not None and not gpu:
            errors.append('%s.rc is only valid on a GPU, but the job runs on the CPU (gpu -1)' % path)
        preset = p.get('preset')
        if preset in GPU_PRESETS and not gpu:
            errors.append('%s.preset %s is a GPU preset, but the job runs on the CPU (gpu -1); use %s'
                          % (path, preset, ' or '.join(CPU_PRESETS)))
        if preset in CPU_PRESETS and gpu:
            errors.append('%s.preset %s is a CPU preset, but the job runs on a GPU; use %s' % (path, preset, ' or '.join(GPU_PRESETS)))
        vprof, level = p.get('profile'), p.get('level')
        if vprof is not None and vprof not in VIDEO_PROFILES:
            errors.append('%s.profile %r is an audio profile; video profiles take %s' % (path, vprof, ', '.join(VIDEO_PROFILES)))
        elif vprof == 'baseline' and not gpu:
            errors.append('%s.profile baseline is only available on a GPU' % path)
        elif vprof is not None and level is not None and LEVELS[vprof] and level not in LEVELS[vprof]:
            errors.append('%s.level %s is not valid with profile %s (choose from %s)' % (path, level, vprof, ', '.join(LEVELS[vprof])))
        if level is not None and vprof is None:
            errors.append('%s.level needs profile (main or high)' % path)
    if p.get('page') is not None and (kind != 'data' or mode != 'vod'):
        errors.append('%s.page (subtitle page) is only valid for data profiles of a vod job' % path)
    if p.get('cfg') is not None and codec != 'ttml-text':
        errors.append('%s.cfg (subtitle styling) is only valid with codec ttml-text' % path)


def _check_target(errors, path, t, job, ids, hdr_ids, thumb_ids):
    fmt, mode = t['format'], job['mode']
    select = t.get('select') or []
    _select_ids(errors, path + '.select', select, ids)
    manifest = t.get('manifest') or {}
    chosen = set(_flat_select(select)) or ids
    if hdr_ids & chosen and not (fmt in MP4_BASED or fmt == 'hls' and manifest.get('fmp4')):
        errors.append('%s carries HDR profile(s) %s, but HDR needs an mp4-based output (dash, mss, mp4, or hls with manifest.fmp4)'
                      % (path, ', '.join(sorted(hdr_ids & chosen))))
    _ranges(errors, path + '.manifest', manifest, 'targets[].manifest.', ('ts', 'buffer', 'cache', 'count', 'chunked'))
    if manifest.get('thumb') is not None and manifest['thumb'] not in thumb_ids:
        errors.append('%s.manifest.thumb refers to thumb %r, which no thumb defines' % (path, manifest['thumb']))
    drm = t.get('drm')
    if drm:
        if fmt not in ('hls', 'dash'):
            errors.append('%s.drm is only valid for hls and dash targets, not %s' % (path, fmt))
        kind = drm.get('type')
        if kind in ('AES_128', 'SAMPLE_AES') and fmt != 'hls':
            errors.append('%s.drm.type %s is for hls targets only' % (path, kind))
        if kind in ('SAMPLE_AES_CTR', 'SAMPLE_AES_CBC') and not (fmt == 'dash' or fmt == 'hls' and manifest.get('fmp4')):
            errors.append('%s.drm.type %s needs a dash target or an hls target with manifest.fmp4' % (path, kind))
        direct = [k for k in ('uri', 'key', 'key_id', 'iv', 'widevine', 'playready', 'systems') if drm.get(k)]
        if drm.get('server') and direct:
            errors.append('%s.drm: give either direct keys (%s) or a key server (server, body), not both' % (path, ', '.join(direct)))
        if not drm.get('server') and not direct:
            errors.append('%s.drm needs direct keys (key, key_id, ...) or a key server (server)' % path)
        if drm.get('body') is not None and not drm.get('server'):
            errors.append('%s.drm.body is only valid with drm.server' % path)
    cc = t.get('cc')
    if cc:
        if mode != 'vod':
            errors.append('%s.cc (closed captions) is only valid for vod jobs' % path)
        check(errors, path + '.cc.id', cc.get('id'), RANGES['targets[].cc.id'][cc['type']])
        if cc.get('lang') is not None and not re.match(r'^[A-Za-z]{3}$', cc['lang']):
            errors.append('%s.cc.lang must be a 3-letter code, got %r' % (path, cc['lang']))
    join = t.get('join')
    if join:
        if mode != 'vod':
            errors.append('%s.join is only valid for vod jobs' % path)
        _ranges(errors, path + '.join', join, 'targets[].join.', ('max_speed',))


def _unique(errors, items, key, what):
    seen = {}
    for n, item in enumerate(items):
        value = item.get(key)
        if value is None:
            continue
        if value in seen:
            errors.append('%s[%d].%s %r is already used by %s[%d].%s; %s ids must be unique'
                          % (what, n, key, value, what, seen[value], key, what[:-1]))
        else:
            seen[value] = n


def check_job(job, state='present'):
    """Every cross-field and range error of one validated job, each naming its field path."""
    errors = []
    try:
        parse_gpu(job.get('gpu', -1))
    except (TypeError, ValueError):
        errors.append("gpu must be -1 (CPU), a card index (0 or more) or 'auto', got %r" % (job.get('gpu'),))
    name_error = check_name(job['name'])
    if name_error:
        errors.append(name_error)
    if state == 'absent':
        return errors
    if job.get('input') is None:
        errors.append('input is required when state is %s' % state)
    else:
        _check_input(errors, job['input'])
    options = job.get('options') or {}
    if options.get('gpu') is not None and str(job.get('gpu', -1)).strip().lower() == 'auto':
        errors.append("options.gpu cannot be combined with gpu: auto (options.gpu overrides gpu)")
    _ranges(errors, 'options', options, 'options.', ('gpu', 'timeout', 'sync_stream', 'max_speed', 'loop', 'limit_input'))
    check(errors, 'weight', job.get('weight'), RANGES['weight'])
    device = effective_gpu(job)
    profiles = job.get('profiles') or []
    _unique(errors, profiles, 'id', 'profiles')
    for n, p in enumerate(profiles):
        _check_profile(errors, 'profiles[%d]' % n, p, job['mode'], device)
    ids = set(p['id'] for p in profiles)
    hdr_ids = set(p['id'] for p in profiles if p['type'] == 'video' and p.get('hdr') not in (None, 'none'))
    thumbs = job.get('thumbs') or []
    _unique(errors, thumbs, 'id', 'thumbs')
    for n, t in enumerate(thumbs):
        _ranges(errors, 'thumbs[%d]' % n, t, 'thumbs[].', ('width', 'delay', 'col', 'row'))
    thumb_ids = set(t['id'] for t in thumbs if t.get('id') is not None)
    for n, t in enumerate(job.get('targets') or []):
        _check_target(errors, 'targets[%d]' % n, t, job, ids, hdr_ids, thumb_ids)
    watermarks = job.get('watermarks') or []
    _unique(errors, watermarks, 'id', 'watermarks')
    for n, w in enumerate(watermarks):
        _ranges(errors, 'watermarks[%d]' % n, w, 'watermarks[].', ('x', 'y', 'scale', 'media_scale', 'delay'))
    for key in ('name', 'mode', 'type'):
        if key in (job.get('extra') or {}):
            errors.append('extra.%s is not allowed: %s' % (key, 'set the option %s' % key if key != 'type' else 'the module sends type'))
    return errors


def check_name(name):
    """An error text when `name` is not a valid job name (see NAME_RE), else None."""
    if isinstance(name, str) and NAME_RE.fullmatch(name):
        return None
    shown = repr(name[:40]) + ('... (%d characters)' % len(name) if len(name) > 40 else '')
    return 'name must be %s, got %s' % (NAME_RULE, shown)


def body_size_error(name, body):
    """An error text when the JSON of the start body `body` exceeds MAX_BODY bytes, else None."""
    size = len(json.dumps(body, separators=(',', ':'), default=str).encode('utf-8'))
    if size <= MAX_BODY:
        return None
    return ('job %s: the start body is %d bytes (%.1f MB), more than the %d bytes (1 MiB) allowed; '
            'look for large values in extra, watermarks or inputs' % (name, size, size / 1048576.0, MAX_BODY))


def item_label(prefix, name):
    """`jobs[2] (name 'news')`: the item and, when it is a valid job name, its name."""
    if isinstance(name, str) and NAME_RE.fullmatch(name):
        return '%s (name %r)' % (prefix, str(name))
    return prefix


def render(label, path, text):
    """One error: `label.path text` (`jobs[2] (name 'news').targets[0]: unknown option 'selec'`), or `label: text`."""
    if path:
        return '%s.%s%s' % (label, path, text) if label else path + text
    text = text[2:] if text.startswith(': ') else text.lstrip()
    return '%s: %s' % (label, text) if label else text


def validate_job_item(item, spec, prefix):
    """Validate one raw item (sigma_jobs) against `spec` (or its ArgumentSpecValidator, made once for many items);
    (validated params, errors, no_log values).

    Errors are named `prefix (name 'x').path`, as option_errors finds them.
    """
    if not isinstance(item, dict):
        return None, ['%s must be a dictionary of job options, got %r' % (prefix, type(item).__name__)], set()
    validator = spec if isinstance(spec, ArgumentSpecValidator) else ArgumentSpecValidator(spec)
    result = validator.validate(item)  # it validates a deep copy
    errors = []
    if result.error_messages:
        label = item_label(prefix, item.get('name'))
        found = option_errors(validator.argument_spec, item) or [('', ': ' + m) for m in result.error_messages]
        errors = [render(label, path, text) for path, text in found]
    return result.validated_parameters, errors, result._no_log_values


# ---------------------------------------------------------------------------------------------
# Type and unknown-key errors with their path (Ansible's validator does not say which list item)

_KINDS = {'str': 'a string', 'int': 'an integer', 'float': 'a number', 'bool': 'a boolean', 'dict': 'a dictionary',
          'list': 'a list', 'path': 'a path', 'raw': 'a value'}
_PLURALS = {'str': 'strings', 'int': 'integers', 'float': 'numbers', 'bool': 'booleans', 'dict': 'dictionaries',
            'raw': 'values'}


def _shown(value, secret):
    if secret:
        return 'a %s (not shown: a secret)' % type(value).__name__
    text = repr(value)
    return '%s %s' % (type(value).__name__, text if len(text) <= 60 else text[:57] + '...')


def _check_one(key, option, value, secret):
    """(converted value, error text or None) of ONE option, with Ansible's conversion rules."""
    shallow = dict((k, v) for k, v in option.items() if k in ('type', 'elements', 'choices'))
    result = ArgumentSpecValidator({key: shallow}).validate({key: copy.deepcopy(value)})
    if not result.error_messages:
        return result.validated_parameters[key], None
    kind = option.get('type', 'str')
    if option.get('choices') is not None and not any(type(e).__name__ == 'ArgumentTypeError' for e in result.errors):
        choices = ', '.join(str(c) for c in option['choices'])
        if kind == 'list':
            return None, ' must be a list of: %s, got %s' % (choices, _shown(value, secret))
        return None, ' must be one of: %s, got: %s' % (choices, '(not shown: a secret)' if secret else value)
    if kind == 'list' and option.get('elements'):
        if isinstance(value, list):
            for n, element in enumerate(value):
                _converted, error = _check_one(key, {'type': option['elements']}, element, secret)
                if error:
                    return None, '[%d]%s' % (n, error)
        return None, ' must be a list of %s, got %s' % (_PLURALS.get(option['elements'], option['elements']),
                                                        _shown(value, secret))
    return None, ' must be %s, got %s' % (_KINDS.get(kind, kind), _shown(value, secret))


def refusal(spec, raw):
    """(msg, errors) naming by its path every option `raw` gets wrong against `spec`; None when none is found.

    For the faces that let Ansible validate first (the module's JobModule, an action plugin): when Ansible refuses
    the arguments, this message replaces Ansible's, which does not say which list item is wrong.
    """
    errors = [render('', path, text) for path, text in option_errors(spec, raw)]
    return ('invalid options: %s' % '; '.join(errors), errors) if errors else None


def option_errors(spec, params, path=''):
    """[(path, text)] of every unknown option, missing required option and type or choice error in `params`.

    Rendered (`render`) as `targets[0]: unknown option 'selec' (did you mean select?)` or `profiles[1].width must
    be an integer, got str 'wide'`. Values of secret options are never shown. Ansible's validator finds the same
    errors but does not say in which list item; this walk runs only when it found some.
    """
    errors = []
    known = set(spec)
    for option in spec.values():
        known.update(option.get('aliases') or ())
    for key in sorted((k for k in params if k not in known and not (not path and str(k).startswith('_ansible_'))),
                      key=str):
        close = difflib.get_close_matches(str(key), sorted(spec), 1, 0.75)
        hint = 'did you mean %s?' % close[0] if close else 'valid: %s' % ', '.join(sorted(spec))
        errors.append((path, ': unknown option %r (%s)' % (key, hint)))
    for key, option in spec.items():
        here = '%s.%s' % (path, key) if path else key
        value = params.get(key)
        if value is None:
            if option.get('required') and key not in params:
                errors.append((path, ': missing required option %r' % key))
            continue
        secret = option.get('no_log') or key.lower() in SECRET_KEYS
        value, error = _check_one(key, option, value, secret)
        if error:
            errors.append((here, error))
        elif option.get('options'):
            many = option.get('type') == 'list'
            for n, item in enumerate(value if many else [value]):
                errors.extend(option_errors(option['options'], item, '%s[%d]' % (here, n) if many else here))
    return errors


# ---------------------------------------------------------------------------------------------
# Conversion to the API's spelling


def camel(name):
    head, _sep, tail = name.partition('_')
    return head + ''.join(part[:1].upper() + part[1:] for part in tail.split('_')) if tail else head


def _number(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _convert(spec, values):
    """Options (validated against `spec`) in the API's spelling: camelCase keys, bools as 0/1, None dropped."""
    out = {}
    for key, value in values.items():
        if value is None:
            continue
        option = spec.get(key, {})
        sub = option.get('options')
        if sub and option.get('type') == 'list':
            value = [_convert(sub, item) for item in value]
        elif sub:
            value = _convert(sub, value)
        elif option.get('type') == 'bool':
            value = int(value)
        else:
            value = _number(value)
        out[camel(key)] = value
    return out


def to_api(job, spec=None):
    """The `start` body (without `type` and `_id`) of a validated job; `gpu` may still be 'auto'."""
    spec = spec or job_argument_spec()
    body = {'name': job['name'], 'mode': job['mode'], 'gpu': parse_gpu(job.get('gpu', -1))}
    inp = job.get('input')
    if isinstance(inp, dict):
        inp = dict((k, v) for k, v in inp.items() if v is not None)
    if inp is not None:
        body['input'] = inp
    for option, key in (('profiles', 'profile'), ('targets', 'target'), ('watermarks', 'watermark'), ('thumbs', 'thumb')):
        if job.get(option):
            body[key] = [_convert(spec[option]['options'], item) for item in job[option]]
    for watermark in body.get('watermark', []):
        if watermark.get('id') is not None:
            watermark.setdefault('enable', 1)  # explicit, so that toggling it is a live update
    for target in body.get('target', []):
        if 'select' in target:
            target['select'] = _canon_select(target['select'])
    if job.get('options'):
        body['option'] = _convert(spec['options']['options'], job['options'])
    if job.get('weight') is not None:
        body['weight'] = job['weight']
    body.update(copy.deepcopy(job.get('extra') or {}))
    return body


def _canon_select(select):
    out = []
    for item in select:
        if isinstance(item, dict):
            item = dict(item)
            if isinstance(item.get('select'), list):
                item['select'] = _canon_select(item['select'])
            out.append(item)
        elif isinstance(item, list):
            out.append([str(i) for i in item])
        else:
            out.append(str(item))
    return out


def input_urls(inp):
    """The input URLs in the order progress lists them."""
    if isinstance(inp, dict):
        return [inp[k] for k in ('main', 'backup') if inp.get(k)]
    if isinstance(inp, list):
        return list(inp)
    return [inp] if inp else []


# ---------------------------------------------------------------------------------------------
# Secrets


def mask(obj, found=None, replace=MASK):
    """A copy of `obj` (job options, an API body, a progress entry) with secrets masked.

    Secret values (DRM keys, key servers, S3 keys, URL passwords) are added to
    `found`. `replace` is the mask, or a function of the secret value (the
    record's keyed digest).
    """
    found = set() if found is None else found
    return mask_url_passwords(mask_keys(obj, SECRET_KEYS, replace, found=found), found, replace)


# A keyed digest that stands for a secret (the job record's; see _jobs/record.py): not a secret itself.
TOKEN_RE = re.compile(r'^\*{8}:[0-9a-f]{16}$')


def secrets_of(obj):
    """The secret values in `obj`, for `no_log_values` (like _ci's, 3 characters or more; not masks or tokens).

    The values `mask` would hide, found without building the masked copy.
    """
    found = set()
    _collect_secrets(obj, found)
    return set(s for s in found if len(s) >= 3 and s != MASK and not TOKEN_RE.match(s))


def _collect_secrets(obj, found):
    if isinstance(obj, dict):
        for key, value in obj.items():
            if value is None:  # most options of a validated job (Ansible sets every option it knows)
                continue
            if isinstance(key, str) and key.lower() in SECRET_KEYS:
                if value != '':
                    mask_keys({key: value}, SECRET_KEYS, found=found)  # its leaves, as mask() collects them
            elif isinstance(value, (dict, list, str)):
                _collect_secrets(value, found)
    elif isinstance(obj, list):
        for item in obj:
            _collect_secrets(item, found)
    elif isinstance(obj, str) and '@' in obj and '://' in obj:
        mask_url_passwords(obj, found)
