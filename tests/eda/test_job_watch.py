# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The engine of the event source (plugins/plugin_utils/_job_watch.py) on answers written by hand.

What the emulator cannot do: slow jobs, a dump without `start`, damaged key spelling, a line
without a code, the same line twice in one answer.
"""

from __future__ import annotations

import datetime

import pytest

NOW = datetime.datetime(2026, 11, 30, 12, 0, 0, tzinfo=datetime.timezone.utc)
DUMP = {'name': 'srv', 'start': '2026-11-30T08:00:00.000Z'}


def line(second, code, text='Connection timed out: udp://239.1.1.1:5000'):
    return '[11-30 11:59:%02d] %s (code: %s)' % (second, text, code) if code else '[11-30 11:59:%02d] %s' % (second, text)


def progress(**jobs):
    """A progress answer: job name -> (state, speed, error lines)."""
    return {'ec': 0, 'total': len(jobs), 'result': dict(
        (name, {'state': state, 'speed': speed, 'error': list(errors)}) for name, (state, speed, errors) in jobs.items())}


@pytest.fixture
def watch(job_watch):
    def make(**options):
        return job_watch.ServerWatch('srv', 'http://10.0.0.1:9999', **options)
    return make


def types(events):
    return [(e['sigma']['type'], e['sigma']['job']) for e in events]


def test_a_job_found_in_error_at_the_first_answer(watch):
    w = watch()
    events = w.answered(DUMP, progress(ch1=('error', 0, [line(1, 'INPUT_TIMEOUT'), line(2, 'STREAM_NOT_FOUND')]),
                                       ch2=('started', 1, [line(3, 'INPUT_TIMEOUT')])), NOW)
    # old lines are the baseline; the failing job still gets its event, with its newest line
    assert types(events) == [('job_error', 'ch1')]
    event = events[0]['sigma']
    assert (event['previous_state'], event['codes'], event['needs_restart']) == (None, ['STREAM_NOT_FOUND'], True)
    assert event['seen'] == '2026-11-30T12:00:00Z' and event['errors'][0]['time'] == '2026-11-30T11:59:02Z'
    assert w.answered(DUMP, progress(ch1=('error', 0, [line(1, 'INPUT_TIMEOUT'), line(2, 'STREAM_NOT_FOUND')]),
                                     ch2=('started', 1, [line(3, 'INPUT_TIMEOUT')])), NOW) == []


def test_slow_job_after_n_polls_once_until_it_recovers(watch):
    w = watch(slow_polls=3, slow_speed=0.9)
    speeds = [1, 0.5, 0.6, 0.7, 0.5, 0.5, 1.0, 0.8, 0.8, 0.8, 0.95]
    slow = []
    for number, speed in enumerate(speeds):
        for event in w.answered(DUMP, progress(ch1=('started', speed, [])), NOW):
            slow.append((number, event['sigma']['type'], event['sigma']['speed'], event['sigma']['polls']))
    assert slow == [(3, 'job_slow', 0.7, 3), (9, 'job_slow', 0.8, 3)]
    # a job that is not running is not slow: a starting job reports speed 0
    w = watch(slow_polls=1)
    assert w.answered(DUMP, progress(ch1=('starting', 0, [])), NOW) == []
    assert w.answered(DUMP, progress(ch1=('error', 0, [])), NOW)[0]['sigma']['type'] == 'job_error'


def test_restart_without_a_start_time_and_a_drain_with_one(watch):
    w = watch()
    no_start = {'name': 'srv'}
    w.answered(no_start, progress(ch1=('started', 1, []), ch2=('started', 1, [])), NOW)
    [event] = w.answered(no_start, progress(), NOW)
    assert event['sigma']['type'] == 'server_restarted' and event['sigma']['jobs_lost'] == ['ch1', 'ch2']
    assert 'no start time' in event['sigma']['reason']
    assert w.answered(no_start, progress(), NOW) == []  # no jobs before either: nothing vanished

    w = watch()
    w.answered(DUMP, progress(ch1=('started', 1, []), ch2=('started', 1, [])), NOW)
    assert types(w.answered(DUMP, progress(), NOW)) == [('job_gone', 'ch1'), ('job_gone', 'ch2')]


def test_a_restart_between_progress_and_dump(watch):
    w = watch()
    w.answered(DUMP, progress(ch1=('started', 1, []), ch2=('started', 1, [])), NOW)
    moved = dict(DUMP, start='2026-11-30T11:59:59.000Z')
    # progress still listed the jobs, dump already has the new start: the jobs are lost, this job list is not taken
    [event] = w.answered(moved, progress(ch1=('started', 1, []), ch2=('error', 0, [line(1, 'NO_VIDEO_DATA')])), NOW)
    assert (event['sigma']['type'], event['sigma']['jobs_lost']) == ('server_restarted', ['ch1', 'ch2'])
    assert event['sigma']['previous_start'] == DUMP['start'] and event['sigma']['start'] == moved['start']
    assert w.jobs == {}
    # the next poll: no job_gone for what the restart took; a job started since, failing, is news
    events = w.answered(moved, progress(ch2=('error', 0, [line(3, 'NO_VIDEO_DATA')])), NOW)
    assert types(events) == [('job_error', 'ch2')] and events[0]['sigma']['previous_state'] is None


def test_codes_needs_restart_and_odd_lines(watch):
    w = watch()
    w.answered(DUMP, progress(ch1=('started', 1, [])), NOW)
    events = w.answered(DUMP, progress(ch1=('error', 0, [line(1, 'INPUT_TIMEOUT'), line(1, 'INPUT_TIMEOUT'),
                                                         line(2, None), line(3, 'NO_AUDIO_DATA')])), NOW)
    [event] = events  # entering error: one event with its lines, a line listed twice counted once
    assert event['sigma']['codes'] == ['INPUT_TIMEOUT', 'NO_AUDIO_DATA'] and event['sigma']['needs_restart'] is True
    assert len(event['sigma']['errors']) == 3
    # a line without a code on a failing job: nobody can tell whether the server retries
    [event] = w.answered(DUMP, progress(ch1=('error', 0, [line(4, None, 'Something odd')])), NOW)
    assert (event['sigma']['type'], event['sigma']['code'], event['sigma']['needs_restart']) == ('error_line', None, None)


def test_damaged_key_spelling(watch):
    w = watch()
    w.answered({'Start': 'a'}, {'Result': {'ch1': {'State': 'started', 'Speed': 1, 'Error': []}}}, NOW)
    events = w.answered({'Start': 'a'}, {'Result': {'ch1': {'State': 'error', 'Speed': 0,
                                                            'Error': [line(5, 'OUTPUT_TIMEOUT')]}}}, NOW)
    assert types(events) == [('job_error', 'ch1')] and events[0]['sigma']['code'] == 'OUTPUT_TIMEOUT'
    assert types(w.answered({'Start': 'b'}, {'Result': {}}, NOW)) == [('server_restarted', None)]


def test_only_the_window_of_newest_lines_is_read(watch):
    w = watch(max_lines=3)
    w.answered(DUMP, progress(ch1=('started', 1, [])), NOW)
    lines = [line(n, 'INPUT_TIMEOUT', 'drop %d' % n) for n in range(10)]
    events = w.answered(DUMP, progress(ch1=('started', 1, lines)), NOW)
    assert [e['sigma']['errors'][0]['message'] for e in events] == ['drop 7', 'drop 8', 'drop 9']
    assert len(w.jobs['ch1'].lines) == 3
    assert w.answered(DUMP, progress(ch1=('started', 1, lines)), NOW) == []


def test_down_and_up_once_and_no_secret(watch):
    w = watch(secrets=['Tok-123456', 'pw'])
    [down] = w.answered(DUMP, progress(), NOW) + w.failed('HTTP 502 Bad Gateway: <p>token Tok-123456</p>', NOW)
    assert down['sigma']['type'] == 'server_down' and down['sigma']['previous'] == 'answering'
    assert 'Tok-123456' not in down['sigma']['error'] and '********' in down['sigma']['error']
    assert w.failed('again', NOW) == []
    later = NOW + datetime.timedelta(seconds=42)
    refused = 'Connection refused: rtmp://u:Pass-99@cdn/live'
    [up] = w.answered(DUMP, progress(ch1=('error', 0, [line(1, 'CONNECTION_REFUSED', refused)])), later)[:1]
    assert (up['sigma']['type'], up['sigma']['down_seconds'], up['sigma']['down_since']) == \
        ('server_up', 42.0, '2026-11-30T12:00:00Z')
    [job] = w.answered(DUMP, progress(ch1=('error', 0, [line(1, 'CONNECTION_REFUSED', refused),
                                                        line(2, 'CONNECTION_REFUSED', refused)])), later)
    assert 'Pass-99' not in str(job) and 'rtmp://u:********@cdn/live' in job['sigma']['line']


def test_event_shape(watch, job_watch):
    w = watch()
    w.answered(DUMP, progress(ch1=('started', 1, [])), NOW)
    [event] = w.answered(DUMP, progress(ch1=('error', 0, [line(1, 'OUTPUT_TIMEOUT')])), NOW)
    assert set(event) == {'sigma', 'meta'} and event['meta'] == {'hosts': 'srv'}
    assert set(event['sigma']) == {'type', 'server', 'url', 'job', 'seen', 'state', 'previous_state', 'speed', 'code',
                                   'codes', 'needs_restart', 'errors', 'summary'}
    assert event['sigma']['summary'] == 'job ch1 entered error (OUTPUT_TIMEOUT): the server retries the job by itself'
    assert set(event['sigma']['errors'][0]) == {'line', 'time', 'message', 'code', 'known', 'concerns',
                                                'needs_restart', 'meaning', 'remedy'}
    assert event['sigma']['type'] in job_watch.EVENT_TYPES
