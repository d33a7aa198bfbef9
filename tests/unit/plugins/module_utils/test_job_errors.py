# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The error-code table, error lines and job health (_job_errors.py)."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils._job_errors import (
    CREATION_ONLY, ERROR_CODES, describe_error, error_time, job_health, parse_error_line,
)

NOW = datetime.datetime(2026, 1, 2, 0, 30, 0, tzinfo=datetime.timezone.utc)


def test_the_table_holds_every_documented_code():
    # the 40 codes of the contract's table (sigma-api.md, Job states and errors); 8 only at creation
    assert len(ERROR_CODES) == 40
    assert CREATION_ONLY == {'STREAM_NOT_FOUND', 'NO_AUDIO_DATA', 'NO_VIDEO_DATA', 'INITIALIZING_OUTPUT_STREAM',
                             'NO_ROUTE_TO_HOST', 'OPTION_NOTFOUND', 'PROTOCOL_NOTFOUND', 'INVALID_ARGUMENT'}
    assert ERROR_CODES['PACKET_QUEUE_IS_FULL']['concerns'] == ['input', 'output', 'processing']
    assert ERROR_CODES['NO_ROUTE_TO_HOST'] == {'concerns': ['input', 'output'], 'creation_only': True}
    assert ERROR_CODES['CANT_START_OVERLAY'] == {'concerns': ['configuration'], 'creation_only': False}


@pytest.mark.parametrize('line, expected', [
    ('[03-02 15:19:58] Connection timed out: udp://x (code: INPUT_TIMEOUT)',
     dict(time='2025-03-02T15:19:58Z', message='Connection timed out: udp://x', code='INPUT_TIMEOUT',
          concerns=['input'], needs_restart=False, known=True)),
    ('[01-02 00:10:00] No such stream (code: STREAM_NOT_FOUND)',
     dict(time='2026-01-02T00:10:00Z', message='No such stream', code='STREAM_NOT_FOUND', concerns=['input'],
          needs_restart=True, known=True)),
    ('[12-31 23:59:59] Odd (code: BRAND_NEW_CODE)',
     dict(time='2025-12-31T23:59:59Z', message='Odd', code='BRAND_NEW_CODE', concerns=['unknown'], needs_restart=None,
          known=False)),
    ('plain text', dict(time=None, message='plain text', code=None, concerns=['unknown'], needs_restart=None)),
    ('[t] (code: C)', dict(time=None, message=None, code='C', known=False)),
])
def test_parse_error_line(line, expected):
    out = parse_error_line(line, NOW)
    assert out['line'] == line
    assert dict((k, out[k]) for k in expected) == expected
    assert out['meaning'] and out['remedy']


def test_a_creation_only_code_says_what_to_do():
    out = describe_error('INITIALIZING_OUTPUT_STREAM')
    assert out['needs_restart'] is True and 'start the job again' in out['remedy'] and 'output' in out['meaning']


@pytest.mark.parametrize('text, expected', [
    ('01-02 00:29:00', '2026-01-02T00:29:00Z'),
    ('01-03 00:29:00', '2026-01-03T00:29:00Z'),   # a server clock a little ahead
    ('01-04 00:29:00', '2025-01-04T00:29:00Z'),   # more than a day ahead: last year
    ('02-29 10:00:00', '2024-02-29T10:00:00Z'),   # the last 29 February
    ('13-01 00:00:00', None), ('x', None), ('', None), (None, None),
])
def test_error_time_has_no_year_and_takes_the_last_possible_one(text, expected):
    assert error_time(text, NOW) == expected


def details(*codes):
    return [parse_error_line('[01-01 00:00:00] m (code: %s)' % c, NOW) for c in codes]


@pytest.mark.parametrize('state, speed, codes, verdict', [
    ('started', 1, (), 'ok'),
    ('started', 0.95, ('INPUT_TIMEOUT',), 'ok'),          # history of a job that recovered
    ('started', 0.5, (), 'degraded'),
    ('started', 'x', (), 'ok'),
    ('starting', 0, (), 'ok'),
    ('finished', 0, (), 'ok'),
    ('error', 0, ('INPUT_TIMEOUT', 'OUTPUT_TIMEOUT'), 'degraded'),
    ('error', 0, ('INPUT_TIMEOUT', 'NO_VIDEO_DATA'), 'failed'),
    ('error', 0, ('SOMETHING_NEW',), 'failed'),
    ('error', 0, (), 'failed'),
    ('stop', 0, (), 'failed'),
    (None, None, (), 'degraded'),
])
def test_job_health(state, speed, codes, verdict):
    got, reasons = job_health(state, speed, details(*codes))
    assert got == verdict
    assert bool(reasons) == (verdict != 'ok')
