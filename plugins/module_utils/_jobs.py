# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job reconcile engine behind sigma_job and sigma_jobs.

One server, a list of desired jobs: ONE `progress` (of the name, or `*`),
then a plan per job computed locally, then only the needed `stop`, `start`
and `update` calls (one `dump` when a start needs GPU placement or a
capability check), preceded by a second `progress` under the server's write
lock (see Concurrency below).

Change detection, per job:

* the fields `progress` reports (input URLs, profile ids, target
  format/url/select, weight, mode when reported) are compared with the
  desired ones: this sees changes made outside Ansible too;
* the rest of the configuration is only visible through the job's `_id`,
  which the module writes at start: 12 hex of the digest of the
  restart-requiring part of the normalised start body, then 12 hex of the
  digest of the part `update` can change on a running live job (watermark
  x/y/enable by watermark id, audio volume by profile id, the DRM settings
  and the manifest header when every target carries the same ones).
  Placeholders keep the live keys inside the restart part, so adding or
  removing such a key restarts; only a changed VALUE is updated in place.

`update` cannot rewrite `_id`, so after live updates the live half on the
server is stale. A small ledger on the machine that runs the module (one
JSON file per server, digests only, no secret) remembers the live digest
applied since the job's last start; see LiveLedger.

Concurrency: the first `progress` is read without a lock; when its plan has
no write, the run ends there (a no-op costs ONE request). When it needs
writes (not in check mode), the run takes an exclusive lock on a per-server
lock file next to the ledger (WriteLock), reads `progress` AGAIN, plans again
from that fresh answer, sends the writes and releases the lock. So a change
costs one more `progress`, and runs on one control node (forks, overlapping
playbooks) serialise their writes per server and see each other's results:
a job declared by 50 forks is started once. Runs from different control
nodes do not share the lock.
"""

from __future__ import annotations

import copy
import errno
import hashlib
import json
import os
import tempfile
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

from ansible_collections.sigma.media_server.plugins.module_utils._ci import MASK
from ansible_collections.sigma.media_server.plugins.module_utils._client import SigmaError
from ansible_collections.sigma.media_server.plugins.module_utils._dump import normalize_dump
from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import (
    body_size_error, check_job, effective_gpu, input_urls, job_argument_spec, mask, secrets_of, to_api, validate_job_item,
)
from ansible_collections.sigma.media_server.plugins.module_utils._module import SigmaModule
from ansible_collections.sigma.media_server.plugins.module_utils._progress import normalize_progress

LIVE = '(live)'  # placeholder of a live-updatable value inside the restart part
UNKNOWN = '(not reported by the server; the live-settings digest differs)'
STALE_LIVE_STATES = ('error', 'finished', 'stopped')
RUNNING = ('started', 'running')
STATE_DIR_ENV = 'SIGMA_STATE_DIR'
LOCK_WAIT_MIN = 120  # seconds; see lock_wait()
LOCK_POLL = 0.1


def control_argument_spec(single):
    """What a job takes besides its configuration (sigma_jobs items take state and force)."""
    spec = dict(state=dict(type='str', default='present', choices=['present', 'absent', 'restarted']),
                force=dict(type='bool', default=False))
    if single:
        spec.update(wait_argument_spec())
    return spec


def wait_argument_spec():
    return dict(wait=dict(type='bool', default=False), wait_timeout=dict(type='float', default=120),
                wait_interval=dict(type='float', default=1))


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=False, default=str)


def digest(obj):
    return hashlib.sha256(canonical(obj).encode('utf-8')).hexdigest()[:12]


def split_live(body):
    """(restart part, live part, update calls) of a start body; a VOD job has no live part."""
    restart = copy.deepcopy(body)
    live, ops = {}, []
    if body.get('mode') != 'live':
        return restart, live, ops

    def take(kind, ident, items, keys):
        """Move the values of `keys` (as in items[0]) to the live part; placeholders stay."""
        changed = dict((k, items[0][k]) for k in keys if k in items[0])
        if changed:
            live['%s:%s' % (kind, ident)] = changed
            ops.append((kind, ident, copy.deepcopy(changed)))
            for item in items:
                item.update((k, LIVE) for k in changed)

    for w in _dicts(restart.get('watermark')):
        if w.get('id') not in (None, ''):
            take('overlay', str(w['id']), [w], ('x', 'y', 'enable'))
    for p in _dicts(restart.get('profile')):
        if p.get('type') == 'audio' and p.get('id') not in (None, ''):
            take('volume', str(p['id']), [p], ('volume',))
    targets = _dicts(restart.get('target'))
    # drm and header updates reach every target that has them: live only when all agree.
    drms = [t['drm'] for t in targets if isinstance(t.get('drm'), dict) and t['drm']]
    if drms and all(d == drms[0] for d in drms):
        take('drm', '0', drms, sorted(drms[0]))
    headers = [(t.get('manifest') or {}).get('header') for t in targets if t.get('format') in ('hls', 'dash')]
    if headers and all(isinstance(h, dict) and h and h == headers[0] for h in headers):
        take('header', '0', headers, sorted(headers[0]))
    return restart, live, ops


def _dicts(value):
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [i for i in items if isinstance(i, dict)]


class Job(object):
    """One desired job: its start body, digests and live update calls."""

    def __init__(self, params, spec, state='present', force=False):
        self.name = params['name']
        self.mode = params['mode']
        self.state = state
        self.force = force
        self.gpu = effective_gpu(params)
        body = to_api(params, spec)
        self.user_id = body.pop('_id', None)
        restart, _live, self.ops = split_live(body)
        self.restart_digest = digest(restart)
        self.live_digest = digest(_live)
        self.body = body
        self.record_id = self.user_id if self.user_id is not None else self.restart_digest + self.live_digest

    def start_body(self, gpu=None):
        body = copy.deepcopy(self.body)
        if gpu is not None:
            if 'gpu' in (body.get('option') or {}):
                body['option']['gpu'] = gpu
            else:
                body['gpu'] = gpu
        body['_id'] = self.record_id
        return body

    def needs(self):
        """{codec@pixelFormat: profile id} a GPU must encode (enabled video profiles, not copy)."""
        out = {}
        for p in _dicts(self.body.get('profile')):
            if p.get('type', 'video') == 'video' and p.get('enable', 1) and p.get('codec', 'h264') != 'copy':
                out.setdefault('%s@%s' % (p.get('codec', 'h264'), p.get('pixelFormat', 'yuv420p')), str(p.get('id')))
        return out

    def observed(self):
        """The desired values of the fields progress reports."""
        targets = [t for t in _dicts(self.body.get('target')) if t.get('enable', 1)]
        return {
            'input': input_urls(self.body.get('input')),
            'profiles': sorted(str(p.get('id')) for p in _dicts(self.body.get('profile')) if p.get('enable', 1)),
            'targets': sorted(canonical([t.get('format'), t.get('url'), t.get('select') or []]) for t in targets),
        }


def _ids_text(select):
    if isinstance(select, list):
        return [_ids_text(s) for s in select]
    if isinstance(select, dict):
        return dict((k, _ids_text(v) if k == 'select' else v) for k, v in select.items())
    return str(select)


def observable_differences(job, entry):
    """Names of the reported fields where the server differs from `job`."""
    want = job.observed()
    reasons = []
    if entry.get('mode') and entry['mode'] != job.mode:
        reasons.append('mode (server: %s)' % entry['mode'])
    if [i.get('url') for i in entry['inputs']] != want['input']:
        reasons.append('input')
    if sorted(str(p.get('id')) for p in entry['profiles']) != want['profiles']:
        reasons.append('profile ids')
    have = sorted(canonical([t.get('format'), t.get('url'), _ids_text(t.get('select') or [])]) for t in entry['targets'])
    if have != want['targets']:
        reasons.append('targets (format, url or select)')
    weight = job.body.get('weight')
    if weight is not None and entry.get('weight') is not None:
        try:
            if float(entry['weight']) != float(weight):
                reasons.append('weight')
        except (TypeError, ValueError):
            reasons.append('weight')
    return reasons


def reported_config(job, entry, reasons):
    """The desired config with what the server reports where it differs (`reasons`): the diff's before."""
    before = copy.deepcopy(job.body)
    if 'input' in reasons:
        urls = [i.get('url') for i in entry['inputs']]
        before['input'] = urls[0] if len(urls) == 1 else urls
    if 'profile ids' in reasons:
        before['profile'] = [{'id': p.get('id')} for p in entry['profiles']]
    if 'targets (format, url or select)' in reasons:
        before['target'] = [dict(format=t.get('format'), url=t.get('url'), select=t.get('select')) for t in entry['targets']]
    if 'weight' in reasons:
        before['weight'] = entry['weight']
    before['_id'] = entry.get('id') or ''
    return before


def progress_config(entry):
    """What progress tells about a job we have no desired config for."""
    return {'input': [i.get('url') for i in entry['inputs']], 'profile': [{'id': p.get('id')} for p in entry['profiles']],
            'target': [dict(format=t.get('format'), url=t.get('url'), select=t.get('select')) for t in entry['targets']],
            'weight': entry.get('weight'), '_id': entry.get('id') or ''}


class Plan(object):
    """What one job needs: action in none | start | restart | update | stop."""

    def __init__(self, name, job=None, entry=None):
        self.name, self.job, self.entry = name, job, entry
        self.action, self.reasons = 'none', []
        self.blind = False
        self.before = self.after = None
        self.gpu = None
        self.actions = []
        self.done = False  # a write for this job succeeded (in check mode: would be sent)

    @property
    def starts(self):
        return self.action in ('start', 'restart')


def plan_job(job, entry, live_seen=None):
    """Decide what `job` needs given its normalised progress `entry` (None: absent).

    `live_seen` is the live digest the ledger says was applied by update since
    the job's last start (None: use the one in `_id`).
    """
    plan = Plan(job.name, job, entry)
    after = {'state': 'present', 'config': dict(job.body, _id=job.record_id)}
    if job.state == 'absent':
        if entry is not None:
            plan.action, plan.reasons = 'stop', ['state is absent and the job exists']
            plan.before, plan.after = {'state': 'present', 'config': progress_config(entry)}, {'state': 'absent'}
        return plan
    if entry is None:
        plan.action, plan.reasons = 'start', ['the job does not exist']
        plan.before, plan.after = {'state': 'absent'}, after
        return plan
    reasons = observable_differences(job, entry)
    before_config = reported_config(job, entry, reasons)
    if job.mode == 'live' and entry.get('state') in STALE_LIVE_STATES:
        reasons.append('the live job is %s, not running' % entry['state'])
    server_id = entry.get('id') or ''
    if job.user_id is not None:
        plan.blind = True
        if server_id and server_id != job.user_id:
            reasons.append('_id (set through extra)')
    elif not server_id:
        plan.blind = True
    elif server_id[:12] != job.restart_digest:
        reasons.append('settings progress does not report (the configuration digest in _id differs)')
        before_config['_note'] = ('the server does not report codecs, sizes, manifest, DRM, watermarks, thumbs or '
                                  'options; the configuration digest in _id differs from the desired one')
    elif (live_seen or server_id[12:]) != job.live_digest:
        if job.mode == 'live' and job.ops:
            for kind, ident, changed in job.ops:
                _mark_unknown(before_config, kind, ident, changed)
            before_config['_note'] = 'the live settings are not reported; their digest differs from the desired one'
            if not reasons and not job.force and job.state == 'present':
                plan.action, plan.reasons = 'update', ['live settings (overlay, volume, DRM or header)']
                plan.before, plan.after = {'state': 'present', 'config': before_config}, after
                return plan
        reasons.append('live settings (the live digest in _id differs)')
    if job.state == 'restarted':
        reasons.insert(0, 'state is restarted')
    elif job.force:
        reasons.insert(0, 'force is true')
    if reasons:
        plan.action, plan.reasons = 'restart', reasons
        plan.before, plan.after = {'state': 'present', 'config': before_config}, after
    return plan


def _mark_unknown(config, kind, ident, changed):
    if kind == 'overlay':
        items = [w for w in _dicts(config.get('watermark')) if str(w.get('id')) == ident]
    elif kind == 'volume':
        items = [p for p in _dicts(config.get('profile')) if str(p.get('id')) == ident]
    elif kind == 'drm':
        items = [t['drm'] for t in _dicts(config.get('target')) if isinstance(t.get('drm'), dict)]
    else:
        items = [t['manifest']['header'] for t in _dicts(config.get('target'))
                 if isinstance((t.get('manifest') or {}).get('header'), dict)]
    for item in items:
        item.update((k, UNKNOWN) for k in changed)


# ---------------------------------------------------------------------------------------------
# GPU placement


class PlacementError(Exception):
    pass


def place(job, facts, planned):
    """The card index a starting job goes to: `auto` picks the least-loaded capable card.

    `planned` counts the jobs this run already put on each card. Raises
    PlacementError naming the profile and the card when nothing fits.
    """
    needs = job.needs()
    cards = facts['gpus']

    def missing(card):
        have = set(card.get('encoders') or [])
        return [(cap, pid) for cap, pid in sorted(needs.items()) if cap not in have]

    def describe(card):
        return 'card %s (%s)' % (card.get('index'), card.get('model'))

    if job.gpu == 'auto':
        if not cards:
            raise PlacementError('job %s: gpu is auto but the server has no GPU' % job.name)
        fits = [c for c in cards if not missing(c)]
        if not fits:
            raise PlacementError('job %s: no GPU can encode every video profile: %s' % (job.name, '; '.join(
                '%s lacks %s' % (describe(c), ', '.join('%s (profile %s)' % m for m in missing(c))) for c in cards)))
        chosen = min(fits, key=lambda c: ((c.get('jobs') or 0) + planned.get(c.get('index'), 0),
                                          c.get('percent') or 0, c.get('encoder_load') or 0, c.get('index')))
    else:
        chosen = next((c for c in cards if c.get('index') == job.gpu), None)
        if chosen is None:
            raise PlacementError('job %s: gpu %s is not on the server (cards: %s)'
                                 % (job.name, job.gpu, ', '.join(describe(c) for c in cards) or 'none'))
        lack = missing(chosen)
        if lack:
            raise PlacementError('job %s: %s cannot encode %s' % (job.name, describe(chosen), ', '.join(
                '%s (profile %s)' % m for m in lack)))
    planned[chosen.get('index')] = planned.get(chosen.get('index'), 0) + 1
    return chosen.get('index')


# ---------------------------------------------------------------------------------------------
# The ledger of live updates


def state_dir(directory=None):
    """The directory of the ledger and the write locks: `directory`, $SIGMA_STATE_DIR or ~/.cache/sigma.media_server."""
    return directory or os.environ.get(STATE_DIR_ENV) or os.path.join(os.path.expanduser('~'), '.cache', 'sigma.media_server')


def server_key(server_url):
    """16 hex naming a server's files in the state directory."""
    return hashlib.sha256(server_url.encode('utf-8')).hexdigest()[:16]


def lock_wait(timeout, retries):
    """Seconds a run waits for a server's write lock: 10 request budgets, at least LOCK_WAIT_MIN (300 s by default)."""
    return max(LOCK_WAIT_MIN, 10.0 * timeout * (retries + 1))


class LockTimeout(Exception):
    pass


class WriteLock(object):
    """An exclusive fcntl lock on a per-server file in the state directory, taken around a run's writes.

    Runs on one control node (forks, overlapping playbooks) then read
    progress, decide and write one after the other per server. The wait is
    bounded: `acquire` polls a non-blocking lock until `wait` seconds have
    passed and raises LockTimeout. An OSError (directory not writable) is
    raised to the caller, which goes on without the lock and warns.
    """

    def __init__(self, server_url, directory=None, wait=LOCK_WAIT_MIN):
        self.directory = state_dir(directory)
        self.path = os.path.join(self.directory, 'writes-%s.lock' % server_key(server_url))
        self.wait = wait
        self._handle = None

    def acquire(self):
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        handle = open(self.path, 'a')
        if fcntl is None:  # pragma: no cover - not on POSIX
            self._handle = handle
            return
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._handle = handle
                return
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    handle.close()
                    raise
            if time.monotonic() >= deadline:
                handle.close()
                raise LockTimeout('another run on this control node held the write lock %s for more than %g s'
                                  % (self.path, self.wait))
            time.sleep(LOCK_POLL)

    def release(self):
        if self._handle is not None:
            try:
                if fcntl is not None:
                    fcntl.flock(self._handle, fcntl.LOCK_UN)
            finally:
                self._handle.close()
                self._handle = None


class LiveLedger(object):
    """The live digest applied by `update` since a job's last start, per server.

    `update` cannot rewrite `_id`, and progress reports none of the live
    settings, so without a record a second run could not tell "already
    updated" from "needs the update". One JSON file per server in
    $SIGMA_STATE_DIR (default ~/.cache/sigma.media_server) maps a job name
    to {id, started, live}: valid while the job keeps that `_id` and start
    time. Without the file (another machine, a fresh container), a run
    sends the (idempotent) updates once more and records them; it never
    restarts a job for that.
    """

    def __init__(self, server_url, directory=None):
        self.directory = state_dir(directory)
        self.key = server_key(server_url)
        self.path = os.path.join(self.directory, 'live-%s.json' % self.key)
        self._data = None
        self._changes = {}
        self.error = None

    def _load(self):
        if self._data is None:
            try:
                with open(self.path) as handle:
                    data = json.load(handle)
                self._data = data if isinstance(data, dict) else {}
            except (IOError, OSError, ValueError):
                self._data = {}
        return self._data

    def get(self, name, server_id, started):
        record = self._changes.get(name, self._load().get(name))
        if isinstance(record, dict) and record.get('id') == server_id and record.get('started') == started:
            return record.get('live')
        return None

    def set(self, name, server_id, started, live):
        self._changes[name] = {'id': server_id, 'started': started, 'live': live}

    def drop(self, name):
        if name in self._changes or name in self._load():
            self._changes[name] = None

    def save(self):
        """Merge this run's changes into the file (under a lock); returns an error text or None."""
        if not self._changes:
            return None
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            with open(self.path + '.lock', 'a') as lock:
                if fcntl:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                self._data = None
                data = dict(self._load())
                for name, record in self._changes.items():
                    if record is None:
                        data.pop(name, None)
                    else:
                        data[name] = record
                fd, tmp = tempfile.mkstemp(dir=os.path.dirname(self.path), prefix='.live-')
                with os.fdopen(fd, 'w') as handle:
                    json.dump(data, handle, sort_keys=True)
                os.replace(tmp, self.path)
            self._changes = {}
            return None
        except (IOError, OSError) as exc:
            return 'could not record live updates in %s: %s' % (self.path, os.strerror(exc.errno) if exc.errno else exc)


# ---------------------------------------------------------------------------------------------
# The module side


class JobModule(SigmaModule):
    """A SigmaModule that hides job secrets from the first moment.

    Secrets inside `extra`, URLs and (for sigma_jobs) the items of `jobs`
    have no `no_log` option of their own: they are collected from the raw
    arguments, before Ansible validates (and may refuse) them or logs the
    invocation.
    """

    def _load_params(self):
        super(JobModule, self)._load_params()
        self.no_log_values.update(secrets_of(self.params))


def job_spec_with_control(single):
    spec = job_argument_spec()
    spec.update(control_argument_spec(single))
    return spec


def load_jobs(module, items, spec, prefix):
    """Validated Job objects from raw items; fails (before any request) with every error."""
    errors, jobs, names = [], [], {}
    for n, item in enumerate(items):
        where = '%s[%d]' % (prefix, n) if prefix else ''
        if prefix:
            params, item_errors, no_log = validate_job_item(item, spec, where)
            module.no_log_values.update(no_log)
            if item_errors:
                errors.extend(item_errors)
                continue
        else:
            params = item
        label = '%s (%s): ' % (where, params['name']) if prefix else ''
        errors.extend(label + e for e in check_job(params, params['state']))
        if params['name'] in names:
            errors.append('%sname %r is already used by %s[%d]' % (label, params['name'], prefix, names[params['name']]))
        names.setdefault(params['name'], n)
        module.no_log_values.update(secrets_of(params))
        if not errors:
            job = Job(params, spec, params['state'], params['force'])
            too_big = body_size_error(job.name, job.start_body())
            if too_big:
                errors.append(label + too_big)
            else:
                jobs.append(job)
    if errors:
        module.fail_json(msg='invalid job specification: %s' % '; '.join(errors), errors=errors, changed=False)
    return jobs


class Engine(object):
    """Reconcile desired jobs with one server."""

    def __init__(self, module, client, ledger=None, single=False, lock=None):
        self.module = module
        self.client = client
        self.single = single  # sigma_job: progress of one name, results in the single-job shape
        self.check = module.check_mode
        self.ledger = ledger or LiveLedger(client.display_url)
        self.lock = lock or WriteLock(client.display_url, self.ledger.directory)
        self.written = False
        self.sent = []

    def _mask(self, obj):
        found = set()
        out = mask(obj, found)
        self.module.no_log_values.update(s for s in found if len(s) >= 3 and s not in (MASK, LIVE, UNKNOWN))
        return out

    def _fail(self, msg, plans, **extra):
        result = self.output(plans)
        result.update(extra, changed=self.written)
        self.module.fail_json(msg=msg, **result)

    def progress(self, name):
        try:
            return normalize_progress(self.client.progress(name))
        except SigmaError as err:
            self.module.fail_sigma(err, changed=self.written)

    def reconcile(self, jobs, exclusive=False):
        """Read, plan, and when something must change, read and plan again under the server's write lock, then write."""
        plans = self.plan(jobs, exclusive)
        if not self.check and any(p.action != 'none' for p in plans):
            locked = self.take_lock()
            try:
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
            self.module.fail_json(msg='%s: nothing was changed: %s; runs on one control node change the jobs of a server '
                                      'one after the other' % (self.client.display_url, exc),
                                  lock_file=self.lock.path, changed=False)
        except (IOError, OSError) as exc:
            cause = os.strerror(exc.errno) if exc.errno else exc
            self.module.warn('%s: could not take the write lock %s (%s); going on without it, so concurrent runs on this '
                             'control node are not serialised' % (self.client.display_url, self.lock.path, cause))
        return False

    def plan(self, jobs, exclusive):
        """One progress, then a plan per job (and a stop per unnamed job with `exclusive`)."""
        entries = self.progress(jobs[0].name if self.single else '*')
        plans = []
        for job in jobs:
            entry = entries.get(job.name)
            live_seen = None
            if entry is not None and entry.get('id') and job.user_id is None:
                live_seen = self.ledger.get(job.name, entry['id'], entry.get('started'))
            plans.append(plan_job(job, entry, live_seen))
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
        """Warn about blind jobs, place the starts, send the writes."""
        blind = [p.name for p in plans if p.blind]
        if blind:
            self.module.warn('%s: job(s) %s carry no digest in _id (the server echoes it empty, or _id is set through extra); '
                             'only input, profile ids, targets and weight are compared, so changes to other settings '
                             'cannot be seen: use force or state=restarted to apply them'
                             % (self.client.display_url, ', '.join(blind[:10]) + (' and %d more' % (len(blind) - 10) if len(blind) > 10 else '')))
        self.placements(plans)
        self.apply(plans)

    def placements(self, plans):
        starting = [p for p in plans if p.starts and p.job.gpu != -1]
        if not starting:
            return
        try:
            facts = normalize_dump(self.client.dump())
        except SigmaError as err:
            self.module.fail_sigma(err, changed=False)
        planned, errors = {}, []
        for plan in starting:
            try:
                plan.gpu = place(plan.job, facts, planned)
            except PlacementError as exc:
                errors.append(str(exc))
        if errors:
            self.module.fail_json(msg='%s: nothing was started: %s' % (self.client.display_url, '; '.join(errors)),
                                  errors=errors, changed=False)

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
        self._plans = plans
        order = [p for p in plans if p.action == 'stop'] + [p for p in plans if p.starts] + \
            [p for p in plans if p.action == 'update']
        try:
            for plan in order:
                if plan.action == 'stop':
                    mode = plan.entry.get('mode')  # progress may not say; stop then goes by name alone
                    record = dict(function='stop', name=plan.name)
                    if mode:
                        record['mode'] = mode
                    self._send(plan, record, self.client.stop, plan.name, mode)
                    self.ledger.drop(plan.name)
                elif plan.starts:
                    body = plan.job.start_body(plan.gpu)
                    self._send(plan, dict(function='start', name=plan.name, config=body), self.client.start, body)
                    self.ledger.drop(plan.name)
                else:
                    for kind, ident, changed in plan.job.ops:
                        self._send(plan, dict(function='update', name=plan.name, filter=kind, id=ident, changed=changed),
                                   self.client.update, plan.name, kind, ident, changed)
                    if not self.check:
                        self.ledger.set(plan.name, plan.entry['id'], plan.entry.get('started'), plan.job.live_digest)
        finally:
            if not self.check:
                problem = self.ledger.save()
                if problem:
                    self.module.warn(problem)

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
            read = True
            if not wait:
                return
            states = dict((p.name, (p.entry or {}).get('state')) for p in watched)
            failed = [p for p in watched if states[p.name] == 'error']
            if failed:
                self._fail('job(s) failed on %s: %s' % (self.client.display_url, '; '.join(
                    '%s: %s' % (p.name, ' | '.join(p.entry.get('errors') or ['state error, no error entries']))
                    for p in failed)), plans)
            pending = [p for p in watched if states[p.name] not in (RUNNING if p.job.mode == 'live' else ('finished',))]
            if not pending:
                return
            if time.monotonic() + interval > deadline:
                self._fail('timed out after %g s waiting for job(s) %s on %s (live: started, vod: finished); last states: %s'
                           % (timeout, ', '.join(p.name for p in pending), self.client.display_url,
                              ', '.join('%s=%s' % (p.name, states[p.name]) for p in pending)), plans)
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
                before[p.name], after[p.name] = self._mask(p.before), self._mask(p.after)
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


def run(module, items, single):
    """main() of sigma_job (single) and sigma_jobs."""
    p = module.params
    if single:
        jobs = load_jobs(module, items, None, None)
    else:
        jobs = load_jobs(module, items, job_spec_with_control(False), 'jobs')
    if p['wait'] and (p['wait_timeout'] <= 0 or p['wait_interval'] <= 0):
        module.fail_json(msg='wait_timeout and wait_interval must be greater than 0')
    client = module.client
    ledger = LiveLedger(client.display_url)
    engine = Engine(module, client, ledger, single=single,
                    lock=WriteLock(client.display_url, ledger.directory, lock_wait(p['timeout'], p['retries'])))
    plans = engine.reconcile(jobs, exclusive=not single and p['exclusive'])
    engine.refresh(plans, p['wait'], p['wait_timeout'], p['wait_interval'])
    module.exit_json(**engine.output(plans))
