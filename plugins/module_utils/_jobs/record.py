# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What outlives a run: the record of live updates (LiveLedger) and the per-server write lock (WriteLock).

Both live in the state directory of the machine that runs the engine:
$SIGMA_STATE_DIR, default ~/.cache/sigma.media_server (`state_dir`). The
environment is passed in (`environ`), so that an action plugin can give the
task's `environment:` and not only its own process environment.
"""

from __future__ import annotations

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

STATE_DIR_ENV = 'SIGMA_STATE_DIR'
LOCK_WAIT_MIN = 120  # seconds; see lock_wait()
LOCK_POLL = 0.1


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
