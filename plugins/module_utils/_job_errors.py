# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server's job error codes and a job's health, from the vendor's monitoring guide.

One table (ERROR_TABLE) says what each documented code concerns (input, output,
processing, configuration) and whether it occurs only when a job is created:
such a job stays in `error` until it is started again; the server retries
every other failing job by itself until the cause goes away. The list is not
closed: an unknown code is kept as it is, with its category unknown.

Shared by sigma_info, the job engine's wait, the report role and the event
source, so they all read an error line the same way.
"""

from __future__ import annotations

import datetime
import re

CONCERNS = {'I': 'input', 'O': 'output', 'P': 'processing', 'C': 'configuration'}

# (codes, what they concern, only at creation), as the contract's table lists them.
ERROR_TABLE = (
    (('TIMEOUT', 'INPUT_TIMEOUT', 'GOP_INVALID', 'ASYNC_STREAM', 'ASYNC_PROFILE', 'INVALID_INPUT_DATA',
      'CANT_SYNC_INPUT', 'STREAM_MISSING', 'INPUT_PACKET_TOO_SMALL', 'AAC_PACKET_TOO_SHORT', 'PPS_ID_NOT_FOUND'),
     'I', False),
    (('STREAM_NOT_FOUND', 'NO_AUDIO_DATA', 'NO_VIDEO_DATA'), 'I', True),
    (('OUTPUT_TIMEOUT', 'UNABLE_TO_OPEN_RESOURCE', 'END_OF_FILE', 'FAILED_TO_RESOLVE_HOSTNAME'), 'O', False),
    (('INITIALIZING_OUTPUT_STREAM',), 'O', True),
    (('INPUT_OUTPUT_ERROR', 'IO_ERROR', 'CONNECTION_REFUSED', 'CONNECTION_TIMEOUT', 'CANNOT_OPEN_CONNECTION',
      'URL_READ_ERROR', 'CONNECTION_RESET_BY_PEER', 'BROKEN_PIPE', 'NO_SUCH_FILE_OR_DIRECTORY', 'OPEN_ERROR',
      'CLOSE_ERROR'), 'IO', False),
    (('NO_ROUTE_TO_HOST',), 'IO', True),
    (('PACKET_QUEUE_IS_FULL',), 'IOP', False),
    (('MEMORY_IS_FULL', 'TRANSCODE_TIMEOUT', 'SYNC_SEQUENCE'), 'P', False),
    (('FEATURE_NOT_ENABLED', 'CANT_START_OVERLAY'), 'C', False),
    (('OPTION_NOTFOUND', 'PROTOCOL_NOTFOUND', 'INVALID_ARGUMENT'), 'C', True),
)

ERROR_CODES = dict((code, {'concerns': [CONCERNS[c] for c in letters], 'creation_only': only})
                   for codes, letters, only in ERROR_TABLE for code in codes)
CREATION_ONLY = frozenset(code for code, info in ERROR_CODES.items() if info['creation_only'])

# Under this speed (1 = real time) the vendor's console flags a job as struggling.
SLOW_SPEED = 0.9
RUNNING_STATES = ('starting', 'preparing', 'started', 'running')

# `[MM-DD hh:mm:ss] Message (code: CODE)`; the time is UTC.
_LINE_RE = re.compile(r'^\s*(?:\[(?P<time>[^\]]*)\]\s*)?(?P<text>.*?)\s*(?:\(code:\s*(?P<code>[^)]*?)\s*\))?\s*$', re.S)
_TIME_RE = re.compile(r'^(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2}):(\d{2})$')


def describe_error(code):
    """What a code concerns, whether the job must be started again, and what to do.

    An unknown or missing code is described as unknown (`needs_restart` None),
    never an exception.
    """
    info = ERROR_CODES.get(code) if isinstance(code, str) else None
    if info is None:
        return {'code': code, 'known': False, 'concerns': ['unknown'], 'needs_restart': None,
                'meaning': 'a code the vendor does not document (kept as the server wrote it)',
                'remedy': 'read the job\'s error lines and the server log'}
    concerns = ' and '.join(info['concerns'])
    if info['creation_only']:
        return {'code': code, 'known': True, 'concerns': list(info['concerns']), 'needs_restart': True,
                'meaning': 'a problem with the job\'s %s found when the job was created; the server does not retry it'
                           % concerns,
                'remedy': 'correct the %s, then start the job again (state=restarted)' % concerns}
    return {'code': code, 'known': True, 'concerns': list(info['concerns']), 'needs_restart': False,
            'meaning': 'a problem with the job\'s %s; the server retries the job by itself until it goes away' % concerns,
            'remedy': 'check the %s; no restart is needed' % concerns}


def error_time(text, now=None):
    """`MM-DD hh:mm:ss` (UTC, no year) as ISO-8601 UTC, in the year that puts it not after `now`; None if unreadable."""
    match = _TIME_RE.match((text or '').strip())
    if not match:
        return None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    month, day, hour, minute, second = (int(g) for g in match.groups())
    for year in range(now.year, now.year - 5, -1):  # back to 4 years for a 29 February
        try:
            when = datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)
        except ValueError:
            continue
        if when <= now + datetime.timedelta(days=1):  # a server clock slightly ahead is still this year
            return when.strftime('%Y-%m-%dT%H:%M:%SZ')
    return None


def parse_error_line(line, now=None):
    """One `error` line of a progress entry, parsed; never raises.

    Returns {line, time (ISO-8601 UTC or None), message, code (None when the
    line has none), known, concerns, needs_restart, meaning, remedy}.
    """
    line = str(line)
    match = _LINE_RE.match(line)
    code = (match.group('code') or None) if match else None
    out = {'line': line, 'time': error_time(match.group('time'), now) if match else None,
           'message': (match.group('text') or None) if match else line}
    out.update(describe_error(code))
    out['code'] = code
    return out


def job_health(state, speed, details):
    """(verdict, reasons) of one job: ok, degraded (slow, or failing with errors the server retries) or failed.

    `details` are the job's parsed error lines (parse_error_line). A job in
    `error` is failed when one of its codes needs a restart or none is known
    (the safe reading), degraded when every code is one the server retries.
    """
    reasons = []
    if state == 'error':
        codes = [d for d in details if d.get('code')]
        restart = sorted(set(d['code'] for d in codes if d['needs_restart']))
        unknown = sorted(set(d['code'] for d in codes if d['needs_restart'] is None))
        if restart:
            return 'failed', ['error %s: the job must be started again' % ', '.join(restart)]
        if not codes:
            return 'failed', ['state error without an error code']
        if unknown:
            return 'failed', ['error %s: code(s) not documented, the server may not retry' % ', '.join(unknown)]
        return 'degraded', ['error %s: the server retries the job' % ', '.join(sorted(set(d['code'] for d in codes)))]
    if state in ('stop', 'stopped'):
        return 'failed', ['the job is stopped']
    try:
        slow = state in ('started', 'running') and speed is not None and float(speed) < SLOW_SPEED
    except (TypeError, ValueError):
        slow = False
    if slow:
        reasons.append('speed %s is under %s' % (speed, SLOW_SPEED))
    if state is None:
        reasons.append('the server reports no state')
    return ('degraded' if reasons else 'ok'), reasons


__all__ = ['CREATION_ONLY', 'ERROR_CODES', 'ERROR_TABLE', 'RUNNING_STATES', 'SLOW_SPEED', 'describe_error',
           'error_time', 'job_health', 'parse_error_line']
