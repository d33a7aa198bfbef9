# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`wait` (issue 17): starting and preparing are progress, a creation-only error fails at once, the rest is waited out."""

from __future__ import annotations

import time

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils._jobs.engine import Engine, newest_error, wait_verdict
from ansible_collections.sigma.media_server.plugins.module_utils._outcome import Failure, Outcome
from ansible_collections.sigma.media_server.plugins.module_utils._progress import normalize_progress_entry
from ansible_collections.sigma.media_server.tests.unit.plugins.module_utils.test_jobs_engine import job
from ansible_collections.sigma.media_server.tests.unit.utils import FakeSigma

TIMEOUT = '[03-02 08:00:01] Connection timed out: udp://239.1.1.1:1234 (code: INPUT_TIMEOUT)'
NOT_FOUND = '[03-02 08:00:02] Stream not found: udp://239.1.1.1:1234 (code: STREAM_NOT_FOUND)'
ODD = '[03-02 08:00:03] Something new (code: FLUX_CAPACITOR)'


class Scripted(FakeSigma):
    """A server whose jobs pass through `script`: one (state, error lines) per progress read after the start."""

    def __init__(self, script, **kwargs):
        super(Scripted, self).__init__(**kwargs)
        self.script = list(script)

    def progress(self, name='*', mode=None):
        if self.jobs and self.script:
            state, errors = self.script.pop(0)
            for j in self.jobs.values():
                j['state'], j['error'] = state, list(errors)
        return super(Scripted, self).progress(name, mode)


@pytest.fixture(autouse=True)
def state_dir(monkeypatch, tmp_path):
    monkeypatch.setenv('SIGMA_STATE_DIR', str(tmp_path))


def converge(client, tmp_path, timeout=30, mode='live'):
    """Start one CPU job and wait for it; (result or Failure, seconds, progress reads after the start)."""
    engine = Engine(client, Outcome(), single=True)
    begun = time.monotonic()
    plans = engine.reconcile([job(gpu=-1, mode=mode)])
    reads = client.functions().count('progress')
    try:
        engine.refresh(plans, True, timeout, 0.01)
        outcome = engine.output(plans)
    except Failure as exc:
        outcome = exc
    return outcome, time.monotonic() - begun, client.functions().count('progress') - reads


def test_starting_and_preparing_are_progress(tmp_path):
    client = Scripted([('starting', []), ('preparing', []), ('preparing', []), ('started', [])])
    result, _seconds, reads = converge(client, tmp_path)
    assert isinstance(result, dict) and result['job']['state'] == 'started' and reads == 4


def test_a_vod_job_waits_through_started_until_finished(tmp_path):
    client = Scripted([('starting', []), ('started', []), ('started', []), ('finished', [])])
    result, _seconds, reads = converge(client, tmp_path, mode='vod')
    assert isinstance(result, dict) and result['job']['state'] == 'finished' and reads == 4


def test_a_creation_only_error_fails_at_once_saying_what_to_do(tmp_path):
    client = Scripted([('preparing', []), ('error', [NOT_FOUND])] + [('error', [NOT_FOUND])] * 1000)
    failure, seconds, reads = converge(client, tmp_path, timeout=30)
    assert isinstance(failure, Failure) and reads == 2 and seconds < 5
    msg = failure.result['msg']
    assert msg.startswith('job(s) failed on %s, and the server does not retry them: ch1: error STREAM_NOT_FOUND'
                          % client.display_url)
    assert "a problem with the job's input found when the job was created; the server does not retry it" in msg
    assert NOT_FOUND in msg and 'correct the input, then start the job again (state=restarted)' in msg
    assert failure.result['changed'] is True and failure.result['job']['health'] == 'failed'
    assert failure.result['job']['error_details'][0]['needs_restart'] is True


def test_a_transient_error_is_waited_out(tmp_path):
    client = Scripted([('preparing', []), ('error', [TIMEOUT]), ('error', [TIMEOUT]), ('started', [TIMEOUT])])
    result, _seconds, reads = converge(client, tmp_path)
    assert isinstance(result, dict) and result['job']['state'] == 'started' and reads == 4


@pytest.mark.parametrize('lines, expected', [
    ([TIMEOUT], "error INPUT_TIMEOUT, a problem with the job's input; the server retries the job by itself"),
    ([ODD], 'error FLUX_CAPACITOR, a code the vendor does not document'),
    (['no format at all'], 'error (no format at all)'),
    ([], 'error, no error line'),
])
def test_an_error_the_server_retries_fails_only_at_the_timeout_with_the_last_errors(tmp_path, lines, expected):
    client = Scripted([('error', lines)] * 10000)
    failure, seconds, reads = converge(client, tmp_path, timeout=0.3)
    assert isinstance(failure, Failure) and seconds >= 0.25 and reads > 3
    msg = failure.result['msg']
    assert msg.startswith('timed out after 0.3 s waiting for job(s) ch1 on %s' % client.display_url)
    assert 'last states: ch1=' + expected in msg
    if lines:
        assert lines[0] in msg


def test_the_newest_error_line_decides():
    old_fatal = normalize_progress_entry({'state': 'error', 'error': [NOT_FOUND.replace('08:00:02', '07:00:00'), TIMEOUT]})
    assert newest_error(old_fatal['error_details'])['code'] == 'INPUT_TIMEOUT'
    assert wait_verdict('live', old_fatal)[0] == 'waiting'
    new_fatal = normalize_progress_entry({'state': 'error', 'error': [NOT_FOUND, TIMEOUT.replace('08:00:01', '07:00:00')]})
    assert wait_verdict('live', new_fatal)[0] == 'failed'
    undated = normalize_progress_entry({'state': 'error', 'error': ['Stream gone (code: STREAM_NOT_FOUND)', 'x (code: TIMEOUT)']})
    assert newest_error(undated['error_details'])['code'] == 'TIMEOUT'  # no times: the last line
    assert newest_error([]) is None


@pytest.mark.parametrize('mode, state, verdict', [
    ('live', 'started', 'done'), ('live', 'running', 'done'), ('live', 'starting', 'waiting'),
    ('live', 'preparing', 'waiting'), ('live', 'finished', 'waiting'), ('live', None, 'waiting'),
    ('vod', 'started', 'waiting'), ('vod', 'finished', 'done'), ('vod', 'preparing', 'waiting'),
])
def test_wait_verdicts(mode, state, verdict):
    assert wait_verdict(mode, normalize_progress_entry({'state': state}))[0] == verdict
    assert wait_verdict(mode, None) == ('waiting', 'not listed by progress')
