# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What changed on one Sigma server since its last poll, as events, with bounded memory.

Private to this collection: the engine of the event source
sigma.media_server.job_events (extensions/eda/plugins/event_source/job_events.py),
kept apart from the polling so it can be tested without a server or a clock.

A `ServerWatch` is fed the outcome of each poll of one server (`answered` with the
`dump` and `progress` answers, or `failed` with the error text) and returns the
events for what is NEW since the previous poll:

- `server_down` / `server_up`: the server stops answering / answers again;
- `server_restarted`: the `start` time in dump moved (or, when dump reports no
  `start`, every job vanished while the server kept answering): the contract says
  a restart forgets every job, so the event lists the jobs lost;
- `job_error`: a job entered the `error` state, with the error lines that came with it;
- `error_line`: a new error line of a job that did not just enter `error` (a job
  already failing, or one whose error came and went between two polls);
- `job_recovered`: a job left `error` (the server's retry, or a new start);
- `job_slow`: a running job's speed stayed under the threshold for N polls in a row;
- `job_gone`: a job disappeared (stopped) while the server kept running.

Error lines are remembered per job in a window of the newest `max_lines` lines of
the job's list, so a line is never reported twice while the server lists it and
the memory per job is bounded; a job that disappears, or every job of a server
that restarted, is forgotten. At the first answer of a server (the source just
started) the lines already there are the baseline, not news; a job found in
`error` then still gets its `job_error` (with its newest line), so a source
started after a failure still sees it.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.sigma.media_server.plugins.module_utils._ci import MASK, get_ci
from ansible_collections.sigma.media_server.plugins.module_utils._job_errors import SLOW_SPEED
from ansible_collections.sigma.media_server.plugins.module_utils._progress import normalize_progress

EVENT_TYPES = ('server_down', 'server_up', 'server_restarted', 'job_error', 'error_line', 'job_recovered',
               'job_slow', 'job_gone')
DEFAULT_SLOW_POLLS = 3
DEFAULT_MAX_LINES = 100
# A job in one of these states is running again (or about to): it left `error`.
_BACK_STATES = ('starting', 'preparing', 'started', 'running', 'finished')
_SPEED_STATES = ('started', 'running')
# the password of a URL written inside a text (an error line naming its input)
_URL_PASSWORD = re.compile(r'(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s/@]+@')


def utc_text(when):
    """A datetime as ISO-8601 UTC text with a Z (second resolution)."""
    return when.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def needs_restart(details):
    """True when one of the parsed lines needs a new start, None when one cannot tell (no line, an
    unknown code or a line without a code), else False: the server retries by itself."""
    flags = [d.get('needs_restart') for d in details]
    if True in flags:
        return True
    if not flags or None in flags:
        return None
    return False


def mask_text(text, secrets=()):
    """`text` without URL passwords (`srt://u:pw@h` -> `srt://u:********@h`) nor any of `secrets`."""
    text = _URL_PASSWORD.sub(lambda match: match.group('head') + MASK + '@', text)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


def _masked(value, secrets):
    if isinstance(value, str):
        return mask_text(value, secrets)
    if isinstance(value, dict):
        return dict((k, _masked(v, secrets)) for k, v in value.items())
    if isinstance(value, list):
        return [_masked(v, secrets) for v in value]
    return value


def _advice(flag):
    if flag is True:
        return 'only a new start clears it'
    if flag is False:
        return 'the server retries the job by itself'
    return 'no documented code: nobody can tell whether a new start helps'


def summary(body):
    """One sentence for a person about an event's body."""
    kind, job = body['type'], body.get('job')
    codes = ', '.join(body.get('codes') or ()) or 'no code'
    if kind == 'job_error':
        return 'job %s entered error (%s): %s' % (job, codes, _advice(body['needs_restart']))
    if kind == 'error_line':
        return 'job %s (%s) has a new error line (%s): %s' % (job, body['state'], codes, _advice(body['needs_restart']))
    if kind == 'job_recovered':
        return 'job %s left error, it is %s' % (job, body['state'])
    if kind == 'job_slow':
        return 'job %s runs at speed %s, under %s for %d polls' % (job, body['speed'], body['threshold'], body['polls'])
    if kind == 'job_gone':
        return 'job %s is gone (it was %s)' % (job, body['previous_state'])
    if kind == 'server_down':
        return 'the server does not answer: %s' % body['error']
    if kind == 'server_up':
        return 'the server answers again, after %s s' % body['down_seconds']
    return 'the server restarted (%s) and forgot %d job(s)' % (body['reason'], len(body['jobs_lost']))


def _speed(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class _Job(object):
    """What is remembered of one job: its state, the window of its error lines, its slow polls."""

    __slots__ = ('state', 'lines', 'slow_polls')

    def __init__(self, state, lines):
        self.state = state
        self.lines = lines          # set of the lines of the window last seen
        self.slow_polls = 0


class ServerWatch(object):
    """The events of one server, poll after poll. Not thread-safe: one poll at a time."""

    def __init__(self, host, url, slow_speed=SLOW_SPEED, slow_polls=DEFAULT_SLOW_POLLS,
                 max_lines=DEFAULT_MAX_LINES, secrets=()):
        self.host = host            # the inventory host name (may change when the inventory renames it)
        self.url = url              # the API URL without a password
        # masked in every text of an event, as URL passwords are: auth a proxy may echo in an error
        self.secrets = sorted(set(s for s in secrets if s and len(s) >= 3), key=len, reverse=True)
        self.slow_speed = float(slow_speed)
        self.slow_polls = int(slow_polls)
        self.max_lines = int(max_lines)
        self.answering = None       # None until the first poll
        self.down_since = None
        self.last_error = None
        self.start = None           # dump's `start` at the last answer
        self.jobs = None            # {name: _Job}; None until the first answer (the baseline)

    # events

    def _event(self, kind, now, job=None, **fields):
        body = {'type': kind, 'server': self.host, 'url': self.url, 'job': job, 'seen': utc_text(now)}
        body.update(_masked(fields, self.secrets))
        body['summary'] = summary(body)
        return {'sigma': body, 'meta': {'hosts': self.host}}

    def _job_event(self, kind, now, name, facts, previous_state, details, **fields):
        codes = []
        for detail in details:
            if detail.get('code') and detail['code'] not in codes:
                codes.append(detail['code'])
        return self._event(kind, now, name, state=facts['state'], previous_state=previous_state,
                           speed=facts['speed'], code=codes[0] if codes else None, codes=codes,
                           needs_restart=needs_restart(details), errors=details, **fields)

    # polls

    def failed(self, error, now):
        """The server did not answer this poll (`error`: the client's message, without secrets)."""
        self.last_error = error
        if self.answering is False:
            return []
        previous = self.answering
        self.answering = False
        self.down_since = now
        return [self._event('server_down', now, error=error,
                            previous='unknown' if previous is None else 'answering')]

    def answered(self, dump, progress, now):
        """The server answered `progress` then `dump` (decoded JSON): the events since the last poll.

        progress must be asked first: a restart between the two requests then shows as a moved start time.
        """
        events = []
        if self.answering is False:
            events.append(self._event('server_up', now, down_since=utc_text(self.down_since),
                                      down_seconds=round((now - self.down_since).total_seconds(), 3),
                                      error=self.last_error))
        self.answering = True
        self.down_since = self.last_error = None
        jobs = normalize_progress(progress, now)
        start = get_ci(dump, 'start')
        start = str(start) if start not in (None, '') else None
        baseline = self.jobs is None
        known = {} if baseline else self.jobs
        restarted = None
        if not baseline:
            if start is not None and self.start is not None and start != self.start:
                restarted = 'the start time in dump moved'
            elif start is None and known and not jobs:
                restarted = 'every job vanished while the server kept answering (dump reports no start time)'
        previous_start, self.start = self.start, start
        if restarted:
            events.append(self._event('server_restarted', now, reason=restarted, start=start,
                                      previous_start=previous_start, jobs_lost=sorted(known)))
            # progress is asked before dump: the restart may have come between the two, so this answer's jobs may
            # be the ones the server forgot. They are not taken; the next poll sees the jobs the server has.
            self.jobs = {}
            return events

        current = {}
        for name in sorted(jobs):
            facts = jobs[name]
            job, job_events = self._job(name, facts, known.get(name), baseline, now)
            current[name] = job
            events.extend(job_events)
        for name in sorted(set(known) - set(current)):
            events.append(self._event('job_gone', now, name, previous_state=known[name].state))
        self.jobs = current
        return events

    def _job(self, name, facts, old, baseline, now):
        """The remembered job and its events, from its progress facts and what was remembered."""
        state = facts['state']
        lines = facts['errors']
        details = facts['error_details']
        start = max(0, len(lines) - self.max_lines)   # the window: the newest max_lines lines
        window = set(lines[start:])
        seen = old.lines if old is not None else (window if baseline else set())
        new = [details[i] for i in range(start, len(lines)) if lines[i] not in seen]
        # a line listed twice in one answer is one line
        unique, taken = [], set()
        for detail in new:
            if detail['line'] not in taken:
                taken.add(detail['line'])
                unique.append(detail)
        previous_state = old.state if old is not None else None
        events = []
        if state == 'error' and previous_state != 'error':
            # entering error: one event, with the lines that came with it (at the baseline: the newest line)
            shown = unique if unique else details[-1:]
            events.append(self._job_event('job_error', now, name, facts, previous_state, shown))
        else:
            for detail in unique:
                events.append(self._job_event('error_line', now, name, facts, previous_state, [detail],
                                              line=detail['line']))
            if previous_state == 'error' and state in _BACK_STATES:
                events.append(self._job_event('job_recovered', now, name, facts, previous_state, []))
        job = _Job(state, window)
        speed = _speed(facts['speed'])
        if state in _SPEED_STATES and speed is not None and speed < self.slow_speed:
            job.slow_polls = (old.slow_polls if old is not None else 0) + 1
            if job.slow_polls == self.slow_polls:
                events.append(self._job_event('job_slow', now, name, facts, previous_state, [],
                                              threshold=self.slow_speed, polls=job.slow_polls))
        return job, events


__all__ = ['DEFAULT_MAX_LINES', 'DEFAULT_SLOW_POLLS', 'EVENT_TYPES', 'ServerWatch', 'mask_text', 'needs_restart', 'summary',
           'utc_text']
