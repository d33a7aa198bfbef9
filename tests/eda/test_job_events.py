# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The event source sigma.media_server.job_events against the emulator: faults injected at run time."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time

import pytest

from eda_support import AUTH, REPO, SOURCE, basic_auth, kinds, live_job, start_jobs


def only(events):
    assert len(events) == 1, events
    return events[0]['sigma']


def watching(fleet, poller, *jobs, **options):
    """The source (`options`: more of its arguments) polling eda-a, which runs `jobs`, past its first poll: healthy
    jobs, nothing new."""
    start_jobs(fleet, 'eda-a', *jobs)
    source = poller(servers=[fleet.url('eda-a')], **options)
    assert source.poll() == []
    return source


def test_broken_input_gives_one_event_with_its_code(fleet, poller):
    source = watching(fleet, poller, live_job('ch1', 'udp://239.10.0.1:5000'), live_job('ch2', 'udp://239.10.0.2:5000'))

    fleet.config('eda-a', broken_inputs=['udp://239.10.0.1:5000'])
    events = source.poll()
    assert kinds(events) == [('job_error', 'eda-a', 'ch1')]
    assert events[0]['meta'] == {'hosts': 'eda-a'}
    event = events[0]['sigma']
    assert (event['state'], event['previous_state']) == ('error', 'started')
    assert (event['code'], event['codes'], event['needs_restart']) == ('INPUT_TIMEOUT', ['INPUT_TIMEOUT'], False)
    assert event['url'] == fleet.url('eda-a')
    [line] = event['errors']
    assert line['code'] == 'INPUT_TIMEOUT' and line['concerns'] == ['input'] and line['needs_restart'] is False
    assert 'udp://239.10.0.1:5000' in line['message'] and line['time'].endswith('Z')
    for _poll in range(5):  # the server keeps the job in error (it retries): nothing new
        assert source.poll() == []

    fleet.config('eda-a', broken_inputs=[])
    event = only(source.poll())
    assert (event['type'], event['job'], event['state'], event['previous_state']) == \
        ('job_recovered', 'ch1', 'started', 'error')
    assert source.poll() == []


def test_creation_only_error_needs_a_restart(fleet, poller):
    source = watching(fleet, poller, live_job('ch1'))
    fleet.job_fault('eda-a', 'ch1', 'STREAM_NOT_FOUND')
    event = only(source.poll())
    assert (event['type'], event['code'], event['needs_restart']) == ('job_error', 'STREAM_NOT_FOUND', True)
    assert event['errors'][0]['remedy'].startswith('correct the input')
    assert source.poll() == []  # the server does not retry it: it stays in error, nothing new

    assert fleet.api('eda-a', live_job('ch1'))['ec'] == 0  # started again
    event = only(source.poll())
    assert (event['type'], event['previous_state']) == ('job_recovered', 'error')
    assert event['state'] in ('starting', 'preparing', 'started')
    assert source.polls_until(lambda events: fleet.jobs('eda-a')['ch1']['state'] == 'started') == []


def test_new_lines_of_a_failing_job_and_an_error_between_two_polls(fleet, poller):
    source = watching(fleet, poller, live_job('ch1'), live_job('ch2', 'udp://239.10.0.2:5000'))
    fleet.job_fault('eda-a', 'ch1', 'OUTPUT_TIMEOUT')
    assert kinds(source.poll()) == [('job_error', 'eda-a', 'ch1')]

    # more errors of a job already in error: one error_line each, with the job's state
    fleet.job_fault('eda-a', 'ch1', 'PACKET_QUEUE_IS_FULL')
    event = only(source.poll())
    assert (event['type'], event['state'], event['previous_state'], event['code'], event['needs_restart']) == \
        ('error_line', 'error', 'error', 'PACKET_QUEUE_IS_FULL', False)
    assert event['line'] == event['errors'][0]['line'] and '(code: PACKET_QUEUE_IS_FULL)' in event['line']
    fleet.job_fault('eda-a', 'ch1', 'NO_VIDEO_DATA')
    event = only(source.poll())
    assert (event['type'], event['state'], event['code'], event['needs_restart']) == \
        ('error_line', 'error', 'NO_VIDEO_DATA', True)
    assert source.poll() == []

    # an error that came and went between two polls: its line, on a job that runs again
    fleet.job_fault('eda-a', 'ch2', 'TRANSCODE_TIMEOUT', duration=0.05)
    time.sleep(0.2)
    event = only(source.poll())
    assert (event['type'], event['job'], event['state'], event['code']) == \
        ('error_line', 'ch2', 'started', 'TRANSCODE_TIMEOUT')
    assert source.poll() == []


def test_unknown_code_is_kept_and_nobody_can_tell(fleet, poller):
    source = watching(fleet, poller, live_job('ch1'))
    fleet.job_fault('eda-a', 'ch1', 'GPU_ON_FIRE')
    event = only(source.poll())
    assert (event['type'], event['code'], event['needs_restart']) == ('job_error', 'GPU_ON_FIRE', None)
    assert event['errors'][0]['concerns'] == ['unknown'] and event['errors'][0]['known'] is False


def test_a_dead_server_and_one_that_stops_answering_and_comes_back(fleet, poller):
    start_jobs(fleet, 'eda-a', live_job('ch1'))
    source = poller(servers=[fleet.url('eda-a'), fleet.dead_url], retries=0)
    dead = '127.0.0.1_%d' % fleet.dead_ports[0]   # named by its URL, as the inventory names an unreachable server
    event = only(source.poll())
    assert (event['type'], event['server'], event['url'], event['previous']) == \
        ('server_down', dead, fleet.dead_url, 'unknown')
    assert fleet.dead_url in event['error'] and 'connection refused' in event['error']
    for _poll in range(3):
        assert source.poll() == []  # still dead: said once

    fleet.faults('eda-a', refuse={})
    event = only(source.poll())
    assert (event['type'], event['server'], event['previous']) == ('server_down', 'eda-a', 'answering')
    assert source.poll() == []
    fleet.up('eda-a')
    event = only(source.poll())
    assert (event['type'], event['server']) == ('server_up', 'eda-a')
    assert event['down_seconds'] > 0 and 'connection refused' in event['error']
    assert source.poll() == []  # same start time, same job: no restart, no job event
    fleet.job_fault('eda-a', 'ch1', 'INPUT_TIMEOUT')
    assert kinds(source.poll()) == [('job_error', 'eda-a', 'ch1')]  # the dead server does not hold it back


def test_a_restarted_server_forgot_its_jobs(fleet, poller):
    start_jobs(fleet, 'eda-a', live_job('ch1'), live_job('ch2'))
    start_jobs(fleet, 'eda-b', live_job('news1'))
    source = poller(servers=[fleet.url('eda-a'), fleet.url('eda-b')])
    assert source.poll() == []
    fleet.restart('eda-a')
    event = only(source.poll())  # one event, no job_gone for its jobs; eda-b is untouched
    assert (event['type'], event['server'], event['jobs_lost']) == ('server_restarted', 'eda-a', ['ch1', 'ch2'])
    assert event['reason'] == 'the start time in dump moved' and event['start'] != event['previous_start']
    assert source.poll() == []

    # a restart with the server down for a while: down, then back and restarted
    start_jobs(fleet, 'eda-a', live_job('ch1'))
    assert source.poll() == []  # a new healthy job is not news
    fleet.restart('eda-a', down_seconds=0.3)
    assert kinds(source.poll()) == [('server_down', 'eda-a', None)]
    seen = source.polls_until(lambda events: events)
    assert kinds(seen) == [('server_up', 'eda-a', None), ('server_restarted', 'eda-a', None)]
    assert seen[1]['sigma']['jobs_lost'] == ['ch1']


def test_stopped_jobs_are_gone_not_a_restart(fleet, poller):
    source = watching(fleet, poller, live_job('ch1'), live_job('ch2'), live_job('ch3'))
    fleet.api('eda-a', {'type': 'stop', 'name': 'ch2'})
    event = only(source.poll())
    assert (event['type'], event['job'], event['previous_state']) == ('job_gone', 'ch2', 'started')
    # every job stopped (a drain) while dump's start stays: each job is gone, the server did not restart
    fleet.api('eda-a', {'type': 'stop', 'name': '*'})
    assert kinds(source.poll()) == [('job_gone', 'eda-a', 'ch1'), ('job_gone', 'eda-a', 'ch3')]
    assert source.poll() == []


def wait_started(fleet, server, job, timeout=10):
    """Until the emulator runs the job (past starting and preparing); read on the control port,
    so the source under test sees nothing of it."""
    deadline = time.monotonic() + timeout
    while fleet.jobs(server)[job]['state'] != 'started':
        assert time.monotonic() < deadline, '%s on %s did not start within %d s' % (job, server, timeout)
        time.sleep(0.02)


def test_no_event_lost_or_repeated_over_many_polls(fleet, poller):
    """A scripted run over 30 polls of two servers: every change gives its event at the next poll, once."""
    start_jobs(fleet, 'eda-a', live_job('ch1', 'udp://239.10.0.1:5000'), live_job('ch2', 'udp://239.10.0.2:5000'))
    start_jobs(fleet, 'eda-b', live_job('news1'), live_job('news2'))
    source = poller(servers=[fleet.url('eda-a'), fleet.url('eda-b')])
    script = {
        3: (lambda: fleet.config('eda-a', broken_inputs=['udp://239.10.0.1:5000']),
            [('job_error', 'eda-a', 'ch1', 'INPUT_TIMEOUT')]),
        6: (lambda: fleet.job_fault('eda-b', 'news1', 'OUTPUT_TIMEOUT'),
            [('job_error', 'eda-b', 'news1', 'OUTPUT_TIMEOUT')]),
        9: (lambda: fleet.config('eda-a', broken_inputs=[]),
            [('job_recovered', 'eda-a', 'ch1', None)]),
        12: (lambda: (fleet.clear_job_fault('eda-b', 'news1'), fleet.job_fault('eda-b', 'news2', 'NO_AUDIO_DATA')),
             [('job_recovered', 'eda-b', 'news1', None), ('job_error', 'eda-b', 'news2', 'NO_AUDIO_DATA')]),
        15: (lambda: fleet.restart('eda-a'),
             [('server_restarted', 'eda-a', None, None)]),
        18: (lambda: fleet.api('eda-a', live_job('ch1')), []),
        21: (lambda: fleet.api('eda-b', live_job('news2')),
             [('job_recovered', 'eda-b', 'news2', None)]),
        24: (lambda: fleet.api('eda-b', {'type': 'stop', 'name': 'news1'}),
             [('job_gone', 'eda-b', 'news1', None)]),
        # a run-time fault acts on a running job: ch1, started again at 18, may still be starting
        27: (lambda: (wait_started(fleet, 'eda-a', 'ch1'),
                      fleet.job_fault('eda-a', 'ch1', 'CONNECTION_REFUSED', duration=0.05)), None),
    }
    expected, seen = [], []
    for number in range(30):
        if number in script:
            change, events = script[number]
            change()
            if events is None:  # an error that ends before the poll: its line, on a job that runs again
                time.sleep(0.15)
                events = [('error_line', 'eda-a', 'ch1', 'CONNECTION_REFUSED')]
            expected.extend((number,) + e for e in events)
        for event in source.poll():
            body = event['sigma']
            seen.append((number, body['type'], body['server'], body['job'], body.get('code')))
    assert sorted(seen) == sorted(expected)
    assert source.polls == 30


def test_memory_is_bounded(fleet, poller, job_watch):
    source = watching(fleet, poller, live_job('ch1'), max_lines=5)

    def new_lines(count, first):
        for n in range(first, first + count):  # a transient error that begins and ends: one line each
            fleet.job_fault('eda-a', 'ch1', 'INPUT_TIMEOUT', message='drop %d' % n)
            fleet.clear_job_fault('eda-a', 'ch1')

    new_lines(20, 0)
    events = source.poll()  # 20 new lines since the last poll: the newest 5 are reported, once
    assert [e['sigma']['errors'][0]['message'] for e in events] == ['drop %d' % n for n in range(15, 20)]
    assert source.poll() == []
    new_lines(3, 20)
    assert [e['sigma']['errors'][0]['message'] for e in source.poll()] == ['drop 20', 'drop 21', 'drop 22']
    for first in range(23, 83, 6):
        new_lines(6, first)
        assert len(source.poll()) == 5
    watch = source.server(fleet.url('eda-a')).watch
    assert isinstance(watch, job_watch.ServerWatch)
    assert len(fleet.jobs('eda-a')['ch1']['errors']) == 50  # the server keeps its last 50 lines
    assert len(watch.jobs['ch1'].lines) == 5               # the source remembers 5
    fleet.api('eda-a', {'type': 'stop', 'name': 'ch1'})
    assert kinds(source.poll()) == [('job_gone', 'eda-a', 'ch1')]
    assert watch.jobs == {}                                  # a gone job is forgotten


def test_requests_per_poll(fleet, poller):
    source = poller(servers=[fleet.url('eda-a'), fleet.url('eda-b')])
    mark = fleet.log.mark()
    for _poll in range(3):
        source.poll()
    calls = fleet.log.since(mark)
    for server in ('eda-a', 'eda-b'):  # progress first: a restart between the two shows in dump's start
        assert [r['function'] for r in calls if r['server'] == server] == ['progress', 'dump'] * 3
    assert len(calls) == 12
    # the inventory's transport asks each server once on a connection of its own; the source's keeps them
    assert source.source.transport.one_request is False


def test_no_secret_in_events(fleet, poller):
    port = fleet.port('eda-auth')
    url = 'http://%s:%s@127.0.0.1:%d' % (AUTH['username'], AUTH['password'], port)
    secret_input = 'srt://feed:In-Pw-7781@10.9.9.9:9000'
    start_jobs(fleet, 'eda-auth', live_job('ch1', secret_input), headers=basic_auth(**AUTH))
    source = poller(servers=[url])
    assert source.poll() == []
    fleet.config('eda-auth', broken_inputs=[secret_input])
    event = only(source.poll())
    assert event['url'] == 'http://127.0.0.1:%d' % port
    assert 'srt://feed:********@10.9.9.9:9000' in event['errors'][0]['line']
    # a wrong password: the server refuses, the event says so without the password
    other = poller(servers=['http://127.0.0.1:%d' % port], username='edaops', password='Wrong-Pw-1313',
                   headers={'X-Trace': 'Hdr-Secret-5150'})
    down = only(other.poll())
    assert down['type'] == 'server_down' and 'authentication refused' in down['error']
    text = json.dumps([event, down])
    for secret in (AUTH['password'], 'In-Pw-7781', 'Wrong-Pw-1313', 'Hdr-Secret-5150'):
        assert secret not in text


def test_inventory_names_the_hosts(fleet, poller, tmp_path):
    fleet.faults('eda-c', refuse={})  # not answering when the source starts
    inventory = tmp_path / 'fleet.sigma.yml'
    inventory.write_text('plugin: sigma.media_server.sigma\nservers:\n  - %s\n  - {url: "%s", name: bee}\n  - %s\n'
                         'timeout: 2\nretries: 0\n' % (fleet.url('eda-a'), fleet.url('eda-b'), fleet.url('eda-c')))
    start_jobs(fleet, 'eda-b', live_job('news1'))
    source = poller(inventory=str(tmp_path))  # a directory holding one *.sigma.yml
    assert [s.host for s in source.source.servers] == ['eda-a', 'bee', '127.0.0.1_%d' % fleet.port('eda-c')]
    assert source.source.transport.retries == 0  # the inventory's connection settings
    event = only(source.poll())
    assert (event['type'], event['server']) == ('server_down', '127.0.0.1_%d' % fleet.port('eda-c'))
    assert 'gave up after' not in event['error']  # retries: 0, from the inventory file

    fleet.job_fault('eda-b', 'news1', 'OUTPUT_TIMEOUT')
    fleet.up('eda-c')
    events = source.poll()
    # back: the inventory is read again, and names it as it now does
    assert sorted(kinds(events)) == [('job_error', 'bee', 'news1'), ('server_up', 'eda-c', None)]
    assert [e['meta']['hosts'] for e in events if e['sigma']['type'] == 'server_up'] == ['eda-c']
    assert source.source.servers[2].host == 'eda-c'


@pytest.mark.parametrize('args, message', [
    ({}, 'set exactly one of servers'),
    ({'servers': ['http://127.0.0.1:1'], 'inventory': '/etc/hosts'}, 'set exactly one of servers'),
    ({'servers': []}, 'servers is empty'),
    ({'servers': ['http://127.0.0.1:1'], 'intervall': 5}, 'intervall'),
    ({'servers': ['http://127.0.0.1:1'], 'interval': 0}, 'interval must be greater than 0'),
    ({'servers': ['http://127.0.0.1:1'], 'slow_polls': 'many'}, 'slow_polls'),
    ({'servers': ['http://127.0.0.1:1'], 'max_lines': 0}, 'max_lines must be 1 or more'),
    ({'inventory': '/nonexistent/fleet.sigma.yml'}, 'inventory /nonexistent/fleet.sigma.yml'),
    ('servers', 'must be a dictionary'),
])
def test_bad_options_stop_the_source_before_any_request(job_events, args, message):
    with pytest.raises(ValueError, match=message):
        asyncio.run(job_events['main'](asyncio.Queue(), args))


def test_bad_server_url_names_the_entry(job_events, fleet):
    mark = fleet.log.mark()
    with pytest.raises(Exception, match=r'servers\[1\]'):
        asyncio.run(job_events['main'](asyncio.Queue(), {'servers': [fleet.url('eda-a'), 'ftp://nowhere']}))
    assert fleet.log.since(mark) == []  # refused before any request


def test_main_runs_until_cancelled_whatever_the_servers_do(fleet, job_events):
    """main() polls every interval, never returns because a server fails, and a hung server holds no other back."""
    start_jobs(fleet, 'eda-a', live_job('ch1'))
    fleet.faults('eda-b', hang={'functions': ['progress']})

    async def scenario():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(job_events['main'](queue, {
            'servers': [fleet.url('eda-a'), fleet.url('eda-b'), fleet.dead_url],
            'interval': 0.05, 'timeout': 1.5, 'retries': 0}))
        mark = fleet.log.mark()
        await asyncio.sleep(0.6)  # eda-b hangs for 1.5 s meanwhile
        polls_a = [r for r in fleet.log.since(mark) if r['server'] == 'eda-a' and r['function'] == 'progress']
        assert len(polls_a) >= 4, polls_a
        fleet.job_fault('eda-a', 'ch1', 'INPUT_TIMEOUT')
        events = []
        while len(events) < 3:
            events.append((await asyncio.wait_for(queue.get(), 10))['sigma'])
        assert not task.done()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return events

    events = asyncio.run(scenario())
    assert sorted((e['type'], e['url']) for e in events) == sorted([
        ('server_down', fleet.dead_url), ('job_error', fleet.url('eda-a')), ('server_down', fleet.url('eda-b'))])
    assert [e['error'] for e in events if e['url'] == fleet.url('eda-b')][0].endswith('(timeout)')


def test_an_unexpected_failure_is_logged_and_polling_goes_on(fleet, poller, caplog):
    source = watching(fleet, poller, live_job('ch1'))
    watch = source.server(fleet.url('eda-a')).watch
    real = watch.answered
    watch.answered = lambda *args: 1 / 0
    assert source.poll() == []
    assert 'polling %s failed' % fleet.url('eda-a') in caplog.text and 'ZeroDivisionError' in caplog.text
    watch.answered = real
    fleet.job_fault('eda-a', 'ch1', 'INPUT_TIMEOUT')
    assert kinds(source.poll()) == [('job_error', 'eda-a', 'ch1')]


def test_runnable_by_itself_from_a_checkout(fleet):
    """python job_events.py URL... prints the events, one JSON object a line (the collection from this checkout)."""
    start_jobs(fleet, 'eda-a', live_job('ch1'))
    fleet.job_fault('eda-a', 'ch1', 'NO_AUDIO_DATA')
    process = subprocess.Popen([sys.executable, str(REPO / SOURCE), fleet.url('eda-a'), fleet.dead_url,
                                '--interval', '0.2'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        events = [json.loads(process.stdout.readline())['sigma'] for _event in range(2)]
    finally:
        process.terminate()
        process.wait(20)
    assert sorted((e['type'], e['server'], e['job'], e.get('code')) for e in events) == [
        ('job_error', 'eda-a', 'ch1', 'NO_AUDIO_DATA'), ('server_down', '127.0.0.1_%d' % fleet.dead_ports[0], None, None)]
    assert process.returncode == 0  # SIGTERM ends it as Ctrl-C does
