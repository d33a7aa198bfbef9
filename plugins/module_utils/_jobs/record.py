# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What outlives a run: the record of what the engine applied, and the per-server write lock.

The record of a server says, for each job the engine started or updated:
the instance (`started`, the start time `progress` reports, and `id`, the
`_id` it echoes, when it does), the digest of the restart part of the
configuration applied (`config`), the digest of the live settings applied
(`live`), and the applied configuration itself (`applied`) with every
secret replaced by a keyed digest (`ServerRecord.token`): a changed DRM key
shows as a changed token, the key never appears. With a record that matches
the running instance, the engine knows what runs without a restart-time
`_id`, and a `--diff` shows the field that changed with its old value.

Where it is kept:

* `FactRecord`: the fact `sigma_job_record` of the server's inventory host,
  kept by Ansible's fact cache (AWX "fact storage", jsonfile, redis...).
  The action plugins read it from the task's host and return the updated
  fact. One fact may hold the records of several servers (a play on
  localhost), keyed by API URL; its size is bounded (`bound`).
* `FileRecord`: one JSON file per server in the state directory of the
  machine that runs the engine, the fallback when no fact cache is
  configured.

The state directory is $SIGMA_STATE_DIR, default ~/.cache/sigma.media_server
(`state_dir`), also home of the write locks (`WriteLock`). The environment is
passed in (`environ`), so that an action plugin can give the task's
`environment:` and not only its own process environment.
"""

from __future__ import annotations

import copy
import datetime
import errno
import hashlib
import hmac
import json
import os
import re
import tempfile
import time

from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import TOKEN_RE, mask

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

STATE_DIR_ENV = 'SIGMA_STATE_DIR'
LOCK_WAIT_MIN = 120  # seconds; see lock_wait()
LOCK_POLL = 0.1

RECORD_FACT = 'sigma_job_record'
RECORD_VERSION = 1
MAX_SERVERS = 50  # servers in one fact (a play on localhost that manages several); the least recently written go
MAX_JOBS = 500  # jobs per server; the least recently written go
MAX_APPLIED = 64 * 1024  # bytes of one job's applied configuration; a larger one is recorded as digests only
MAX_APPLIED_TOTAL = 1024 * 1024  # bytes of applied configurations in one fact; the oldest keep their digests only


def state_dir(directory=None, environ=None):
    """The directory of the ledger and the write locks: `directory`, $SIGMA_STATE_DIR or ~/.cache/sigma.media_server.

    `environ` (default os.environ) is where SIGMA_STATE_DIR and HOME are read.
    """
    environ = os.environ if environ is None else environ
    if directory or environ.get(STATE_DIR_ENV):
        return directory or environ[STATE_DIR_ENV]
    home = environ.get('HOME') or os.path.expanduser('~')
    return os.path.join(home, '.cache', 'sigma.media_server')


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


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def _canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=False, default=str)


def _entry_ok(entry):
    return isinstance(entry, dict) and isinstance(entry.get('started'), str) and entry['started']


class ServerRecord(object):
    """The record of one server: {v, digest_key, updated, jobs: {name: {started, id, config, live, applied, at}}}.

    `digest_key` (32 hex) keys the digests of the secrets in `applied`; it is
    made at the first write. Changes are kept apart (`changes`) so that a file can
    merge them into what another run wrote meanwhile.
    """

    def __init__(self, url, data=None):
        data = data if isinstance(data, dict) and data.get('v') == RECORD_VERSION else {}
        self.url = url
        key = data.get('digest_key')
        self.key = key if isinstance(key, str) and re.match(r'^[0-9a-f]{32}$', key) else None
        jobs = data.get('jobs')
        self.jobs = dict((n, e) for n, e in jobs.items() if _entry_ok(e)) if isinstance(jobs, dict) else {}
        self.updated = data.get('updated')
        self.changes = {}

    def token(self, value):
        """The keyed digest that stands for a secret value in the record and in diffs."""
        if isinstance(value, str) and TOKEN_RE.match(value):
            return value
        return '********:' + hmac.new(bytes.fromhex(self.key), _canonical(value).encode('utf-8'),
                                      hashlib.sha256).hexdigest()[:16]

    def masker(self):
        """The mask of secrets in diffs: the keyed digest when the record has a key, else None (plain mask)."""
        return self.token if self.key else None

    def match(self, name, entry):
        """The record of job `name` when it is about the instance `entry` (a progress entry), else None."""
        rec = self.changes.get(name, self.jobs.get(name))
        if not rec or entry is None or not entry.get('started') or rec.get('started') != entry.get('started'):
            return None
        if entry.get('id') and rec.get('id') and rec['id'] != entry['id']:
            return None
        return rec

    def put(self, name, started, server_id, config, live, applied, card=None):
        """Record what runs as job `name` since `started`; `applied` is a start body (masked here), `card` the GPU
        it was started on (kept for a server that does not echo `_id`, whose `@N` tells it otherwise)."""
        if not started:
            return
        if self.key is None:
            self.key = os.urandom(16).hex()
        if applied is not None:
            applied = mask(applied, replace=self.token)
            if len(_canonical(applied)) > MAX_APPLIED:
                applied = None
        self.changes[name] = {'started': started, 'id': server_id, 'config': config, 'live': live,
                              'applied': applied, 'at': _now()}
        if isinstance(card, int) and not isinstance(card, bool) and card >= 0:
            self.changes[name]['card'] = card

    def drop(self, name):
        if self.jobs.get(name) or self.changes.get(name):
            self.changes[name] = None

    def keep_only(self, names):
        """Forget the jobs that are not in `names` (what a `progress` of every job listed)."""
        for name in list(self.jobs) + list(self.changes):
            if name not in names:
                self.drop(name)

    def reload(self):
        """See what another run wrote meanwhile (a file can; a fact is as the task started)."""

    @property
    def changed(self):
        return bool(self.changes)

    def merged(self, data=None):
        """The record as a dict: `data` (what is stored now; default: what was read) with the changes applied."""
        base = ServerRecord(self.url, data) if data is not None else self
        jobs = dict(base.jobs)
        for name, rec in self.changes.items():
            if rec is None:
                jobs.pop(name, None)
            else:
                jobs[name] = rec
        if len(jobs) > MAX_JOBS:
            jobs = dict(sorted(jobs.items(), key=lambda item: item[1].get('at') or '', reverse=True)[:MAX_JOBS])
        key = base.key or self.key
        if base.key and self.key and base.key != self.key:
            # another run made the key meanwhile: our tokens are of another key, keep our digests only
            for name in self.changes:
                if jobs.get(name):
                    jobs[name] = dict(jobs[name], applied=None)
        return {'v': RECORD_VERSION, 'digest_key': key, 'updated': _now(), 'jobs': jobs}


class FactRecord(ServerRecord):
    """The record of one server inside the fact sigma_job_record (a dict keyed by API URL)."""

    def __init__(self, url, fact):
        self.fact = fact if isinstance(fact, dict) else {}
        super(FactRecord, self).__init__(url, self.fact.get(url))

    def hint(self):
        """Where the record should have been, and how to keep it."""
        return ('the fact %s of the task\'s host has no record of it: keep facts between runs (AWX: enable fact storage '
                'on the job template; elsewhere a persistent fact cache such as jsonfile or redis) and run the task for '
                'the server\'s inventory host (delegate_to: localhost), not for an implicit localhost' % RECORD_FACT)

    def save(self):
        return None

    def updated_fact(self):
        """The whole fact with this server's record updated, bounded in size."""
        fact = dict((url, rec) for url, rec in self.fact.items() if url != self.url)
        fact[self.url] = self.merged()
        return bound(fact)


def bound(fact):
    """The fact with at most MAX_SERVERS servers and MAX_APPLIED_TOTAL bytes of applied configurations."""
    servers = [(url, rec) for url, rec in fact.items() if isinstance(rec, dict)]
    servers.sort(key=lambda item: item[1].get('updated') or '', reverse=True)
    out = dict(copy.deepcopy(servers[:MAX_SERVERS]))
    entries = [(rec.get('at') or '', url, name) for url, server in out.items()
               for name, rec in (server.get('jobs') or {}).items() if isinstance(rec, dict) and rec.get('applied')]
    entries.sort(reverse=True)
    total = 0
    for _at, url, name in entries:
        rec = out[url]['jobs'][name]
        total += len(_canonical(rec['applied']))
        if total > MAX_APPLIED_TOTAL:
            rec['applied'] = None
    return out


class FileRecord(ServerRecord):
    """The record of one server in a JSON file of the state directory (the fallback without a fact cache)."""

    def __init__(self, url, directory=None):
        self.directory = state_dir(directory)
        self.path = os.path.join(self.directory, 'record-%s.json' % server_key(url))
        super(FileRecord, self).__init__(url, self._read())

    def hint(self):
        """Where the record should have been, and how to keep it."""
        return ('no record of it is kept on this machine (%s): configure a persistent fact cache (AWX: enable fact '
                'storage on the job template; elsewhere jsonfile or redis), which keeps the record as the fact %s of '
                'the server\'s inventory host, or keep %s between runs' % (self.path, RECORD_FACT, STATE_DIR_ENV))

    def reload(self):
        """Read the file again (what a run that held the write lock wrote meanwhile); this run's changes stay."""
        fresh = ServerRecord(self.url, self._read())
        self.jobs = fresh.jobs
        self.key = self.key if self.changes and self.key else (fresh.key or self.key)

    def _read(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
            return data if isinstance(data, dict) else {}
        except (IOError, OSError, ValueError):
            return {}

    def save(self):
        """Merge this run's changes into the file (under a lock); returns an error text or None."""
        if not self.changes:
            return None
        try:
            os.makedirs(self.directory, mode=0o700, exist_ok=True)
            with open(self.path + '.lock', 'a') as lock:
                if fcntl:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                data = self.merged(self._read())
                fd, tmp = tempfile.mkstemp(dir=self.directory, prefix='.record-')
                with os.fdopen(fd, 'w') as handle:
                    json.dump(data, handle, sort_keys=True)
                os.replace(tmp, self.path)
            self.jobs, self.key, self.changes = data['jobs'], data['digest_key'], {}
            return None
        except (IOError, OSError) as exc:
            return 'could not keep the record of %s in %s: %s' % (
                self.url, self.path, os.strerror(exc.errno) if exc.errno else exc)
