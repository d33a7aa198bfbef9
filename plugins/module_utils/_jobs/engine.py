# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The executor: reconcile desired jobs with one server; `run` is the entry of both modules.

Concurrency: the first `progress` is read without a lock; when its plan has
no write, the run ends there (a no-op costs ONE request). When it needs
writes (not in check mode), the run takes an exclusive lock on a per-server
lock file in the state directory (record.WriteLock), reads `progress` AGAIN,
plans again from that fresh answer, sends the writes and releases the lock.
So a change costs one more `progress`, and runs on one control node (forks,
overlapping playbooks) serialise their writes per server and see each
other's results: a job declared by 50 forks is started once. Runs from
different control nodes do not share the lock.
"""

from __future__ import annotations

import os
import time

from ansible_collections.sigma.media_server.plugins.module_utils._ci import MASK
from ansible_collections.sigma.media_server.plugins.module_utils._client import SigmaError
from ansible_collections.sigma.media_server.plugins.module_utils._dump import normalize_dump
from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import mask
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.model import LIVE, card_of, load_jobs
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.options import job_spec_with_control, wait_errors
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.placement import Cards, PlacementError
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.plan import (
    UNKNOWN, Plan, desired_config, plan_job, progress_config,
)
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.record import (
    RECORD_FACT, TOKEN_RE, FactRecord, FileRecord, LockTimeout, WriteLock, lock_wait, state_dir,
)
from ansible_collections.sigma.media_server.plugins.module_utils._outcome import Failure
from ansible_collections.sigma.media_server.plugins.module_utils._progress import normalize_progress

RUNNING = ('started', 'running')


class Engine(object):
    """Reconcile desired jobs with one server.

    `outcome` collects warnings and no_log values; failures raise Failure with
    the partial result. `record` is the record of the server (a FactRecord or
    a FileRecord, default the FileRecord of the state directory).
    """

    def __init__(self, client, outcome, check_mode=False, record=None, single=False, lock=None):
        self.client = client
        self.outcome = outcome
        self.single = single  # sigma_job: progress of one name, results in the single-job shape
        self.check = check_mode
        self.record = record if record is not None else FileRecord(client.display_url)
        self.lock = lock or WriteLock(client.display_url, getattr(self.record, 'directory', None))
        self.written = False
        self._plans = []
        self.fact = None
        self._token = None

    def _mask(self, obj, keyed=False):
        """A masked copy of `obj`; `keyed`: secrets as the record's keyed digests (diffs), else as ********.

        The keyed digests are those of the record as the run found it (`_token`), so that a run and its check
        mode show the same diff.
        """
        found = set()
        out = mask(obj, found, (keyed and self._token) or MASK)
        self.outcome.hide(s for s in found if len(s) >= 3 and s not in (MASK, LIVE, UNKNOWN) and not TOKEN_RE.match(s))
        return out

    def _fail(self, msg, plans, **extra):
        result = self.output(plans)
        result.update(extra, changed=self.written)
        raise Failure(msg, **result)

    def progress(self, name):
        try:
            return normalize_progress(self.client.progress(name))
        except SigmaError as err:
            raise Failure.sigma(err, changed=self.written)

    def converge(self, jobs, exclusive=False, wait=False, timeout=120, interval=1):
        """Reconcile, refresh (and wait), then keep the record, also when a step fails; returns the plans.

        `fact` is then the updated fact sigma_job_record (FactRecord) when the record changed, else None.
        """
        plans = []
        try:
            plans = self.reconcile(jobs, exclusive)
            self.refresh(plans, wait, timeout, interval)
        finally:
            self.fact = self.keep_record(self._plans or plans)
        return plans

    def reconcile(self, jobs, exclusive=False):
        """Read, plan, and when something must change, read and plan again under the server's write lock, then write."""
        plans = self.plan(jobs, exclusive)
        if not self.check and any(p.action != 'none' for p in plans):
            locked = self.take_lock()
            try:
                self.record.reload()
                plans = self.plan(jobs, exclusive)  # what another run changed meanwhile is seen now
                self.execute(plans)
            finally:
                if locked:
                    self.lock.release()
        else:
            self.execute(plans)
        return plans

    def take_lock(self):
        """Take the write lock; True when held. Fails after the bounded wait; warns and goes on when it cannot be made."""
        try:
            self.lock.acquire()
            return True
        except LockTimeout as exc:
            raise Failure('%s: nothing was changed: %s; runs on one control node change the jobs of a server '
                          'one after the other' % (self.client.display_url, exc), lock_file=self.lock.path)
        except (IOError, OSError) as exc:
            cause = os.strerror(exc.errno) if exc.errno else exc
            self.outcome.warn('%s: could not take the write lock %s (%s); going on without it, so concurrent runs on '
                              'this control node are not serialised' % (self.client.display_url, self.lock.path, cause))
        return False

    def plan(self, jobs, exclusive):
        """One progress, then a plan per job (and a stop per unnamed job with `exclusive`)."""
        entries = self.progress(jobs[0].name if self.single else '*')
        self._token = self.record.masker()
        if not self.single:
            self.record.keep_only(entries)  # jobs gone from the server leave the record
        plans = []
        for job in jobs:
            entry = entries.get(job.name)
            if entry is None:
                self.record.drop(job.name)
            plans.append(plan_job(job, entry, self.record.match(job.name, entry), self._token))
        if exclusive:
            named = set(job.name for job in jobs)
            for name in sorted(set(entries) - named):
                plan = Plan(name, None, entries[name])
                plan.action, plan.reasons = 'stop', ['not in the list and exclusive is true']
                plan.before = {'state': 'present', 'config': progress_config(entries[name])}
                plan.after = {'state': 'absent'}
                plans.append(plan)
        return plans

    def execute(self, plans):
        """Refuse or warn about what cannot be verified or known, place the starts, send the writes."""
        url = self.client.display_url
        refused = [p.name for p in plans if p.unverified and not p.starts and p.job.unverified == 'fail']
        if refused:
            self._fail('%s: nothing was changed: job(s) %s run(s) on the server but %s not started by this collection '
                       '(_id holds no digest of ours, and no record tells what it runs), so the settings progress does '
                       'not report cannot be verified; unverified=restart adopts such a job by starting it again with '
                       'this configuration, unverified=warn leaves it running as it is'
                       % (url, _names(refused), 'was' if len(refused) == 1 else 'were'), plans)
        blind = [p.name for p in plans if p.blind and not p.starts]
        if blind:
            self.outcome.warn('%s: job(s) %s carry no digest in _id (started outside this collection, the server '
                              'echoes it empty, or _id is set through extra) and have no record of what was applied '
                              '(%s); only input, profile ids, targets and weight are compared, so changes to other '
                              'settings cannot be seen: use force or state=restarted to apply them, or '
                              'unverified=restart to adopt jobs started outside this collection'
                              % (url, _names(blind), RECORD_FACT))
        unknown = [p.name for p in plans if p.live_unknown and p.action == 'update']
        if unknown:
            self.outcome.warn('%s: the live settings (overlay, volume, DRM, header) applied to job(s) %s since they '
                              'started are not known, so they %s sent again with update, without a restart: %s'
                              % (url, _names(unknown), 'would be' if self.check else 'were', self.record.hint()))
        self.placements(plans)
        self.apply(plans)

    def placements(self, plans):
        starting = [p for p in plans if p.starts and p.job.gpu != -1]
        if not starting:
            return
        try:
            facts = normalize_dump(self.client.dump())
        except SigmaError as err:
            raise Failure.sigma(err)
        cards, errors = Cards(facts), []
        for plan in plans:  # the jobs that leave their card in this run free it before any choice
            if plan.entry is not None and (plan.starts or plan.action == 'stop'):
                cards.free(plan.card if plan.card is not None else card_of(plan.entry))
        for plan in starting:  # one after another, each seeing the previous
            try:
                plan.gpu = cards.place(plan.job, plan.card if plan.card is not None else card_of(plan.entry))
            except PlacementError as exc:
                errors.append(str(exc))
        if errors:
            raise Failure('%s: nothing was started: %s' % (self.client.display_url, '; '.join(errors)), errors=errors)

    def _send(self, plan, record, call, *args):
        """Send one write (not in check mode) and record it, masked, in the plan's actions."""
        plan.actions.append(self._mask(record))
        if not self.check:
            try:
                call(*args)
            except SigmaError as err:
                msg = 'job %s: %s' % (plan.name, err)
                if self.written:
                    msg += ' (earlier changes of this run were applied; later ones were not attempted)'
                self._fail(msg, self._plans, sigma_error=err.to_dict())
            self.written = True
        plan.done = True

    def apply(self, plans):
        """Send the writes: stops, then starts, then updates. The record follows (see `keep_record`)."""
        self._plans = plans
        order = [p for p in plans if p.action == 'stop'] + [p for p in plans if p.starts] + \
            [p for p in plans if p.action == 'update']
        for plan in order:
            if plan.action == 'stop':
                mode = plan.entry.get('mode')  # progress may not say; stop then goes by name alone
                record = dict(function='stop', name=plan.name)
                if mode:
                    record['mode'] = mode
                self._send(plan, record, self.client.stop, plan.name, mode)
                if not self.check:
                    self.record.drop(plan.name)
            elif plan.starts:
                body = plan.job.start_body(plan.gpu)
                self._send(plan, dict(function='start', name=plan.name, config=body), self.client.start, body)
                if not self.check:
                    self.record.drop(plan.name)  # recorded again from the progress read after the writes
            else:
                for kind, ident, changed in plan.job.ops:
                    self._send(plan, dict(function='update', name=plan.name, filter=kind, id=ident, changed=changed),
                               self.client.update, plan.name, kind, ident, changed)
                if not self.check:
                    job = plan.job
                    self.record.put(plan.name, plan.entry.get('started'), plan.entry.get('id'), plan.config_digest,
                                    job.live_digest, desired_config(job) if plan.config_digest else None, plan.card)

    def keep_record(self, plans):
        """Record the jobs started by this run, from the progress read after the writes, and save the record.

        Runs after the writes, also when the run fails (what was done is kept).
        Returns the updated fact (FactRecord) when the record changed, else None.
        """
        if self.check:
            return None
        for plan in plans:
            if plan.starts and plan.done and plan.refreshed and plan.entry is not None:
                job = plan.job
                self.record.put(plan.name, plan.entry.get('started'), plan.entry.get('id'), job.restart_digest,
                                job.live_digest, desired_config(job), plan.gpu)
        problem = self.record.save()
        if problem:
            self.outcome.warn(problem)
        if isinstance(self.record, FactRecord) and self.record.changed:
            return self.record.updated_fact()
        return None

    def refresh(self, plans, wait, timeout, interval):
        """Re-read progress after writes; with `wait`, poll until live jobs run and VOD jobs finish."""
        watched = [p for p in plans if p.job and p.job.state != 'absent']
        if self.check or not (self.written or wait and watched):
            return
        deadline = time.monotonic() + timeout
        read = self.written
        while True:
            if read:
                entries = self.progress(plans[0].name if self.single else '*')
                for p in plans:
                    p.entry = entries.get(p.name)
                    p.refreshed = True
            read = True
            if not wait:
                return
            verdicts = dict((p.name, wait_verdict(p.job.mode, p.entry)) for p in watched)
            failed = [p for p in watched if verdicts[p.name][0] == 'failed']
            if failed:
                self._fail('job(s) failed on %s, and the server does not retry them: %s' % (
                    self.client.display_url, '; '.join('%s: %s' % (p.name, verdicts[p.name][1]) for p in failed)), plans)
            pending = [p for p in watched if verdicts[p.name][0] != 'done']
            if not pending:
                return
            if time.monotonic() + interval > deadline:
                self._fail('timed out after %g s waiting for job(s) %s on %s (live: started, vod: finished); last states: %s'
                           % (timeout, ', '.join(p.name for p in pending), self.client.display_url,
                              '; '.join('%s=%s' % (p.name, verdicts[p.name][1]) for p in pending)), plans)
            time.sleep(interval)

    def result(self, plans):
        jobs, actions = [], []
        before, after = {}, {}
        for p in plans:
            changed = p.action != 'none' and p.done
            jobs.append(dict(name=p.name, state=p.job.state if p.job else 'absent', action=p.action, changed=changed,
                             reasons=p.reasons, gpu=p.gpu, job=self._mask(p.entry) if p.entry else None,
                             actions=p.actions))
            actions.extend(p.actions)
            if changed:
                before[p.name], after[p.name] = self._mask(p.before, keyed=True), self._mask(p.after, keyed=True)
        return dict(jobs=jobs, actions=actions, diff=dict(before=before, after=after),
                    changed=any(j['changed'] for j in jobs))

    def output(self, plans):
        """The module result: per-job list (sigma_jobs) or the one job's fields (sigma_job)."""
        result = self.result(plans)
        if not self.single:
            return result
        job, diff = result['jobs'][0], result['diff']
        return dict(changed=result['changed'], job=job['job'], action=job['action'], reasons=job['reasons'],
                    gpu=job['gpu'], actions=result['actions'],
                    diff=dict(before=diff['before'].get(job['name'], {}), after=diff['after'].get(job['name'], {})))


def newest_error(details):
    """The newest of a job's parsed error lines (by their UTC time, then by position), or None."""
    if not details:
        return None
    return max(enumerate(details), key=lambda item: (item[1].get('time') or '', item[0]))[1]


def wait_verdict(mode, entry):
    """(done | waiting | failed, text) of one job for `wait`, from its normalised progress entry.

    `starting` and `preparing` are progress; a live job is done when it runs,
    a VOD job when it is finished. A job in `error` has failed for good when
    its newest error needs the job to be started again (a creation-only code):
    the server does not retry it. Any other error (a code the server retries,
    an unknown code, no code) is waited out: the server is retrying.
    """
    if entry is None:
        return 'waiting', 'not listed by progress'
    state = entry.get('state')
    if state in (RUNNING if mode == 'live' else ('finished',)):
        return 'done', state
    if state != 'error':
        return 'waiting', str(state)
    newest = newest_error(entry.get('error_details'))
    if newest is None:
        return 'waiting', 'error, no error line'
    if not newest.get('code'):
        return 'waiting', 'error (%s)' % newest['line']
    if newest.get('needs_restart'):
        return 'failed', 'error %s, %s (%s); %s' % (newest['code'], newest['meaning'], newest['line'], newest['remedy'])
    return 'waiting', 'error %s, %s (%s)' % (newest['code'], newest['meaning'], newest['line'])


def _names(names):
    return ', '.join(names[:10]) + (' and %d more' % (len(names) - 10) if len(names) > 10 else '')


def run(params, client, outcome, single, check_mode=False, environ=None):
    """What sigma_job (single) and sigma_jobs do, from their validated options; returns the result dict.

    The record is params['record'] (the fact sigma_job_record, given by the
    action plugin) when set, else the file of the state directory. `environ`
    (default os.environ) is the environment of the task, where the state
    directory is looked up. Raises Failure with the partial result. With the
    fact, the result carries the updated fact in `ansible_facts`.
    """
    if single:
        jobs = load_jobs([params], None, None, outcome)
    else:
        jobs = load_jobs(params['jobs'], job_spec_with_control(False), 'jobs', outcome)
    errors = wait_errors(params)
    if errors:
        raise Failure('; '.join(errors))
    if not single and not jobs and not params['exclusive']:
        # an empty list that stops nothing declares nothing: no request, no record, the task is skipped
        return dict(changed=False, skipped=True, msg='nothing to apply: jobs is empty and exclusive is false',
                    jobs=[], actions=[])
    directory = state_dir(environ=environ)
    url = client.display_url
    if params.get('record') is not None:
        record = FactRecord(url, params['record'])
    else:
        record = FileRecord(url, directory)
    engine = Engine(client, outcome, check_mode, record, single=single,
                    lock=WriteLock(url, directory, lock_wait(params['timeout'], params['retries'])))
    plans = engine.converge(jobs, not single and params['exclusive'], params['wait'], params['wait_timeout'],
                            params['wait_interval'])
    result = engine.output(plans)
    if engine.fact is not None:
        result['ansible_facts'] = {RECORD_FACT: engine.fact}
    return result
