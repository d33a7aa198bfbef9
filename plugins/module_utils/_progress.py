# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn `progress` and `info` answers into snake_case facts, tolerating damaged spelling.

Shared by sigma_info, the job engine and the report role, so they always
agree on what a job and an input look like.

The keys of a progress `result` are job NAMES and the keys of an info
`result` are input URLS: they are never lower-cased; only what is inside an
entry is read case-insensitively.
"""

from __future__ import annotations

from ansible_collections.sigma.media_server.plugins.module_utils._ci import get_ci, lower_keys
from ansible_collections.sigma.media_server.plugins.module_utils._job_errors import job_health, parse_error_line


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def normalize_progress_entry(entry, name=None, now=None):
    """Facts of ONE job from a progress answer's `result[name]` (any key spelling).

    Returns a dict with: name, state, mode (only when the entry carries one,
    else None: progress does not report it), speed, uptime (`life`), pts,
    created, started (`startup`), errors (the raw strings), error_codes
    (sorted, unique), error_details (each line parsed by
    _job_errors.parse_error_line: UTC time, message, code, what it concerns,
    whether the job needs a restart), health (ok, degraded, failed) and
    health_reasons, inputs [{url, streams (the probed profile strings),
    bitrate}], profiles [{id, bitrate}], targets [{format, url, select,
    bitrate}], weight and id (`_id`, None when empty). Never raises; absent
    values are None (lists are empty). `now` (UTC) dates the error lines,
    which carry no year.
    """
    doc = lower_keys(entry) if isinstance(entry, dict) else {}
    if name is None:
        name = doc.get('name')
    errors = [str(e) for e in _list(doc.get('error')) if e not in (None, '')]
    if isinstance(doc.get('error'), str) and doc['error']:
        errors = [doc['error']]
    details = [parse_error_line(e, now) for e in errors]
    codes = sorted(set(d['code'] for d in details if d['code']))
    health, health_reasons = job_health(doc.get('state'), doc.get('speed'), details)
    mode = doc.get('mode')
    record_id = doc.get('_id')
    return {
        'name': name,
        'state': doc.get('state'),
        'mode': mode if isinstance(mode, str) and mode else None,
        'speed': doc.get('speed'),
        'uptime': doc.get('life'),
        'pts': doc.get('pts'),
        'created': doc.get('created'),
        'started': doc.get('startup'),
        'errors': errors,
        'error_codes': codes,
        'error_details': details,
        'health': health,
        'health_reasons': health_reasons,
        'inputs': [{
            'url': i.get('url'),
            'streams': [str(p) for p in _list(i.get('profile'))],
            'bitrate': i.get('bitrate'),
        } for i in (_dict(x) for x in _list(doc.get('input')))],
        'profiles': [{'id': p.get('id'), 'bitrate': p.get('bitrate')}
                     for p in (_dict(x) for x in _list(doc.get('profile')))],
        'targets': [{
            'format': t.get('format'),
            'url': t.get('url'),
            'select': t.get('select'),
            'bitrate': t.get('bitrate'),
        } for t in (_dict(x) for x in _list(doc.get('target')))],
        'weight': doc.get('weight'),
        'id': record_id if record_id not in (None, '') else None,
    }


def normalize_progress(answer, now=None):
    """{job name: normalize_progress_entry(...)} from a whole progress answer."""
    result = _dict(get_ci(answer, 'result'))
    return dict((str(name), normalize_progress_entry(entry, str(name), now)) for name, entry in result.items())


def _int(value):
    try:
        return int(round(float(value)))
    except (TypeError, ValueError):
        return None


def keyframes(value):
    """`kf` (comma-separated ms, or a list) as a list of ints; None when absent."""
    if value is None or value == '':
        return None
    items = value if isinstance(value, list) else str(value).split(',')
    out = []
    for item in items:
        number = _int(str(item).strip()) if str(item).strip() else None
        if number is not None:
            out.append(number)
    return out


def _flag(value):
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ('0', '1', 'true', 'false', 'yes', 'no'):
        return value.strip().lower() in ('1', 'true', 'yes')
    return None


def normalize_stream(stream):
    """One stream of an `info` answer in snake_case (any key spelling)."""
    doc = lower_keys(stream) if isinstance(stream, dict) else {}
    return {
        'type': doc.get('type'),
        'codec': doc.get('codec'),
        'bitrate': doc.get('bitrate'),
        'width': doc.get('width'),
        'height': doc.get('height'),
        'fps': doc.get('fps'),
        'interlaced': _flag(doc.get('interlaced')),
        'pixel_format': doc.get('pixelformat'),
        'profile': doc.get('profile'),
        'level': doc.get('level'),
        'channel': doc.get('channel'),
        'sample_rate': doc.get('samplerate'),
        'keyframes': keyframes(doc.get('kf')),
    }


def info_streams(answer, url):
    """The normalised streams of `url` from an info answer.

    The result is keyed by the URL; a server that rewrote the URL (one key
    only) is tolerated. Raises ValueError when the answer holds no stream list.
    """
    result = _dict(get_ci(answer, 'result'))
    streams = result.get(url)
    if streams is None and len(result) == 1:
        streams = list(result.values())[0]
    if not isinstance(streams, list):
        raise ValueError('the info answer has no stream list for %s' % url)
    return [normalize_stream(s) for s in streams]


__all__ = ['info_streams', 'keyframes', 'normalize_progress', 'normalize_progress_entry', 'normalize_stream']
