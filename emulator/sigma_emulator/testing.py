"""The one launcher of the emulator for tests, benchmarks and scripts.

Start a fleet, wait until it is ready, know its URLs, drive its control API, read its request
log, stop it::

    from sigma_emulator import testing

    with testing.start([{"name": "a"}, {"name": "b", "tls": True}], workdir=tmp) as fleet:
        fleet.url("a")                            # http://127.0.0.1:PORT (an ephemeral port)
        fleet.api("a", {"type": "dump"})          # one API request, straight to the server
        fleet.faults("b", http500={"count": 1})   # the control API (never faulted or logged)
        fleet.job_fault("a", "ch1", "INPUT_TIMEOUT")
        mark = fleet.log.mark(); ...; fleet.log.since(mark)   # the request log

``start()`` gives every server an ephemeral port unless ``ephemeral=False`` keeps the ports a
fleet file names (ports other files name, such as an inventory source); the command line keeps
them unless ``--ephemeral-ports``. A server without a port always gets an ephemeral one. The control port is always
allocated: it is the one control surface (``/_emulator/servers/{port or name}/...``), and it
stays reachable while a server refuses connections. ``dead_ports`` reserves ports on which
nothing ever listens (connections are refused), for tests of unreachable servers.

By default the emulator runs as a subprocess (``python -m sigma_emulator``) that dies with its
parent; ``in_process=True`` runs it on a thread of this process (tests that move ``time.time``)
and ``detach=True`` leaves it running after this process (``python -m sigma_emulator.testing
start DIR``, for shell scripts; ``stop DIR`` ends it).

The command line::

    python -m sigma_emulator.testing start DIR [--fleet FILE] [--ephemeral-ports] [--config OUT]...
    python -m sigma_emulator.testing stop DIR

``start`` writes DIR/ready.json, DIR/requests.jsonl, DIR/certs/, DIR/emulator.log, DIR/pid and,
with ``--config``, an Ansible variables file ``{sigma_emulator: {servers, control, control_url,
ca_path, request_log, dead_url, auth}}`` (see ``Fleet.ansible_vars``).
"""

import argparse
import json
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import yaml

PACKAGE_ROOT = Path(__file__).resolve().parent.parent


class EmulatorError(RuntimeError):
    """The emulator did not start, or a control request failed."""


class RequestLog:
    """The emulator's JSON-lines request log, read by byte offset (``mark`` / ``since``)."""

    def __init__(self, path):
        self.path = Path(path)

    def mark(self):
        return self.path.stat().st_size if self.path.exists() else 0

    def since(self, mark=0, end=None):
        if not self.path.exists():
            return []
        with open(self.path, "rb") as fh:
            fh.seek(mark)
            data = fh.read() if end is None else fh.read(max(0, end - mark))
        return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]

    def entries(self):
        return self.since(0)


class Fleet:
    """A running emulated fleet: its servers, URLs, control API and request log."""

    def __init__(self, workdir, ready, stop=None, servers_config=None):
        self.workdir = Path(workdir)
        self.ready = ready
        self.servers = ready["servers"]
        self.control_url = f"http://127.0.0.1:{ready['control_port']}"
        self.ca = ready.get("ca")
        self.dead_ports = ready.get("dead_ports", [])
        self.log = RequestLog(self.workdir / "requests.jsonl")
        self._stop = stop
        self._config = servers_config or {}

    # ----- life cycle ------------------------------------------------------------------------

    def stop(self):
        if self._stop:
            self._stop()
            self._stop = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ----- servers ---------------------------------------------------------------------------

    def server(self, server):
        """A server's ready entry ({name, port, url, listening}) by name, port or index."""
        if isinstance(server, dict):
            return server
        for srv in self.servers:
            if server in (srv["name"], srv["port"]):
                return srv
        if isinstance(server, int) and 0 <= server < len(self.servers):
            return self.servers[server]
        raise KeyError(f"no emulated server {server!r}")

    def port(self, server):
        return self.server(server)["port"]

    def url(self, server=0):
        """The API URL of a server, without the trailing slash."""
        return self.server(server)["url"].rstrip("/")

    @property
    def names(self):
        return [s["name"] for s in self.servers]

    @property
    def dead_url(self):
        """A URL where nothing listens (a port the emulator holds without listening)."""
        if not self.dead_ports:
            raise EmulatorError("the fleet was started without dead ports")
        return f"http://127.0.0.1:{self.dead_ports[0]}"

    def control_base(self, server):
        return f"{self.control_url}/_emulator/servers/{self.port(server)}"

    # ----- requests --------------------------------------------------------------------------

    def _context(self, url):
        return ssl.create_default_context(cafile=self.ca) if url.startswith("https") else None

    def api(self, server, body, timeout=10, headers=None):
        """POST one API request straight to a server (not through the collection); the answer."""
        url = self.url(server) + "/"
        req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers=dict({"Content-Type": "application/json"}, **(headers or {})))
        with urllib.request.urlopen(req, timeout=timeout, context=self._context(url)) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def control(self, server, method, action, body=None, timeout=10):
        """One control request (``GET state``, ``PUT faults``...) for a server, on the control port."""
        url = f"{self.control_base(server)}/{action}"
        data = json.dumps(body or {}).encode() if method in ("PUT", "POST", "PATCH") else None
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise EmulatorError(f"control {method} {action} on {server}: HTTP {exc.code} "
                                f"{exc.read()[:300]!r}") from None
        return json.loads(raw) if raw.strip() else None

    def state(self, server):
        return self.control(server, "GET", "state")

    def jobs(self, server):
        return self.state(server)["jobs"]

    def requests(self, server):
        return self.control(server, "GET", "requests")["requests"]

    def forget_requests(self, server):
        return self.control(server, "DELETE", "requests")

    def faults(self, server, faults=None, **more):
        return self.control(server, "PUT", "faults", dict(faults or {}, **more))

    def clear(self, server):
        return self.control(server, "DELETE", "faults")

    def restart(self, server, down_seconds=0):
        return self.control(server, "POST", "restart", {"down_seconds": down_seconds} if down_seconds else {})

    def reset(self, server):
        return self.control(server, "POST", "reset")

    def up(self, server):
        return self.control(server, "POST", "up")

    def config(self, server, **identity):
        """Change a server's identity at run time (licence, GPUs, broken inputs, timings...)."""
        return self.control(server, "PATCH", "config", identity)

    def job_fault(self, server, job, code, **spec):
        """Make a running job (or ``*``: every job) fail with ``code`` (message, url, duration)."""
        return self.control(server, "PUT", f"jobs/{urllib.parse.quote(job, safe='*')}/fault",
                            dict(spec, code=code))

    def clear_job_fault(self, server, job):
        return self.control(server, "DELETE", f"jobs/{urllib.parse.quote(job, safe='*')}/fault")

    def wait_listening(self, timeout=10):
        """Wait until every server listens (after ``refuse`` or ``restart`` with down time)."""
        deadline = time.monotonic() + timeout
        while True:
            listing = json.loads(urllib.request.urlopen(f"{self.control_url}/_emulator/servers",
                                                        timeout=5).read())["servers"]
            if all(s["listening"] for s in listing) or time.monotonic() > deadline:
                return all(s["listening"] for s in listing)
            time.sleep(0.05)

    # ----- Ansible ---------------------------------------------------------------------------

    def ansible_vars(self):
        """What integration tests read: ``{sigma_emulator: {servers, control, ...}}`` by name, and
        where the emulator is (``emulator_path`` for PYTHONPATH, ``python`` that runs it)."""
        auth = {}
        for srv in self.servers:
            conf = self._config.get(srv["name"]) or {}
            if conf.get("auth"):
                auth[srv["name"]] = conf["auth"]
        return {"sigma_emulator": {
            "servers": {s["name"]: s["url"].rstrip("/") for s in self.servers},
            "control": {s["name"]: self.control_base(s) for s in self.servers},
            "control_url": self.control_url,
            "ca_path": self.ca or str(self.workdir / "certs" / "ca.pem"),
            "request_log": str(self.log.path),
            "dead_url": self.dead_url if self.dead_ports else None,
            "auth": auth,
            "emulator_path": str(PACKAGE_ROOT),  # for scripts that start fleets of their own
            "python": sys.executable,
        }}

    def write_ansible_vars(self, *paths):
        text = ("---\n# written by sigma_emulator.testing for a running emulated fleet: do not edit, "
                "do not commit\n" + yaml.safe_dump(self.ansible_vars(), default_flow_style=False, sort_keys=True))
        for path in paths:
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


# ----- starting ------------------------------------------------------------------------------

def _fleet_doc(servers, fleet, ephemeral):
    """The fleet document to run: ``servers`` (dicts) or a fleet file, ports 0 if ephemeral."""
    if fleet is not None:
        with open(fleet, encoding="utf-8") as fh:
            doc = yaml.safe_load(fh) or {}
    else:
        doc = {"servers": [dict(s) for s in servers or [{}]]}
    doc = dict(doc, servers=[dict(s) for s in doc.get("servers") or []])
    for srv in doc["servers"]:
        if ephemeral or "port" not in srv:
            srv["port"] = 0
    return doc


def _die_with_parent():
    """In the emulator's process: SIGTERM when the process that started it dies (Linux)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def start(servers=None, *, fleet=None, count=None, seed=0, workdir=None, ephemeral=True, tls=False,
          dead_ports=1, args=(), python=None, env=None, timeout=60, detach=False, in_process=False):
    """Start an emulated fleet and return a ready ``Fleet`` (a context manager that stops it).

    ``servers`` is a list of server dicts (the fleet file's keys), or ``fleet`` a fleet file, or
    ``count`` the size of a generated, varied fleet (``seed`` chooses it).
    ``workdir`` receives fleet.yml, ready.json, requests.jsonl, certs/, emulator.log (a
    temporary directory by default, removed at stop). ``tls`` serves every server over HTTPS.
    ``args`` are more ``sigma-emulator`` options (``--latency 50``, ``--count`` is not one).
    """
    own_dir = workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="sigma-emulator-") if own_dir else workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    fleet_file = workdir / "fleet.yml"
    if count is not None:  # the emulator generates the fleet itself (1000 servers load fast)
        source, config = ["--count", str(count), "--base-port", "0", "--seed", str(seed)], {}
        source += ["--tls"] if tls else []
        if fleet_file.exists():
            fleet_file.unlink()
    else:
        doc = _fleet_doc(servers, fleet, ephemeral)
        if tls:
            doc["defaults"] = dict(doc.get("defaults") or {}, tls=True)
        defaults = doc.get("defaults") or {}
        config = {s.get("name"): dict(defaults, **s) for s in doc["servers"]}
        fleet_file.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
        source = ["--fleet", str(fleet_file)]
    ready_file = workdir / "ready.json"
    for stale in (ready_file, workdir / "pid"):  # (paths are absolute: the emulator runs in workdir)
        if stale.exists():
            stale.unlink()
    if in_process:
        if count is not None:
            raise ValueError("count is for a subprocess fleet")
        return _start_in_process(workdir, fleet_file, dead_ports, own_dir, config)
    cmd = [python or sys.executable, "-m", "sigma_emulator", *source,
           "--request-log", str(workdir / "requests.jsonl"), "--ready-file", str(ready_file),
           "--cert-dir", str(workdir / "certs"), "--control-port", "0", "--dead-ports", str(dead_ports),
           "--pid-file", str(workdir / "pid"), "--quiet", *[str(a) for a in args]]
    run_env = dict(os.environ if env is None else env)
    run_env["PYTHONPATH"] = os.pathsep.join(
        [str(PACKAGE_ROOT)] + ([run_env["PYTHONPATH"]] if run_env.get("PYTHONPATH") else []))
    with open(workdir / "emulator.log", "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, cwd=str(workdir), env=run_env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=detach,
                                preexec_fn=None if detach else _die_with_parent)

    def stop():
        _terminate(proc.pid, proc.wait)
        if own_dir:
            _rmtree(workdir)

    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        if proc.poll() is not None:
            raise EmulatorError(f"the emulator exited with {proc.returncode}:\n"
                                + (workdir / "emulator.log").read_text(errors="replace")[-3000:])
        if time.monotonic() > deadline:
            stop()
            raise EmulatorError(f"the emulator was not ready within {timeout} s")
        time.sleep(0.05)
    ready = json.loads(ready_file.read_text(encoding="utf-8"))
    return Fleet(workdir, ready, None if detach else stop, config)


def _terminate(pid, wait):
    """SIGTERM, then SIGKILL after 10 s; ``wait(timeout)`` waits for the process."""
    try:
        os.kill(pid, signal.SIGTERM)
        wait(10)
    except ProcessLookupError:
        return
    except subprocess.TimeoutExpired:
        os.kill(pid, signal.SIGKILL)
        wait(10)


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def _start_in_process(workdir, fleet_file, dead_ports, own_dir, config):
    """The emulator on an event loop thread of this process."""
    import asyncio
    import threading

    from . import fleet as fleet_mod
    from .app import Emulator

    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, daemon=True).start()
    emulator = Emulator(fleet_mod.load_fleet(fleet_file), control_port=0,
                        request_log=str(workdir / "requests.jsonl"), cert_dir=str(workdir / "certs"),
                        dead_ports=dead_ports)
    asyncio.run_coroutine_threadsafe(emulator.start(), loop).result(30)

    def stop():
        asyncio.run_coroutine_threadsafe(emulator.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        if own_dir:
            _rmtree(workdir)

    fleet = Fleet(workdir, emulator.ready_info(), stop, config)
    fleet.emulator, fleet.loop = emulator, loop
    return fleet


def attach(workdir):
    """The ``Fleet`` of a detached emulator started with ``workdir`` (``start DIR``)."""
    workdir = Path(workdir)
    ready = json.loads((workdir / "ready.json").read_text(encoding="utf-8"))
    config = {}
    fleet_file = workdir / "fleet.yml"
    if fleet_file.exists():
        doc = yaml.safe_load(fleet_file.read_text(encoding="utf-8")) or {}
        config = {s.get("name"): dict(doc.get("defaults") or {}, **s) for s in doc.get("servers") or []}
    return Fleet(workdir, ready, None, config)


def stop_detached(workdir):
    """Stop the detached emulator of ``workdir``; True if one was running."""
    pid_file = Path(workdir) / "pid"
    if not pid_file.exists():
        return False
    try:
        pid = int(pid_file.read_text().strip())
    except ValueError:
        pid_file.unlink()
        return False

    def wait(timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise subprocess.TimeoutExpired(str(pid), timeout)

    _terminate(pid, wait)
    if pid_file.exists():
        pid_file.unlink()
    return True


# ----- command line --------------------------------------------------------------------------

def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m sigma_emulator.testing",
                                description="Start or stop an emulated fleet in the background.")
    sub = p.add_subparsers(dest="command", required=True)
    st = sub.add_parser("start", help="start a fleet in DIR and return once it is ready")
    st.add_argument("dir")
    st.add_argument("--fleet", help="fleet file (default: one server with the seed identity)")
    st.add_argument("--ephemeral-ports", action="store_true",
                    help="ephemeral ports even for servers the fleet file gives a port (default: keep them)")
    st.add_argument("--config", action="append", default=[], metavar="OUT",
                    help="write the Ansible variables file {sigma_emulator: ...} here (repeatable)")
    st.add_argument("--timeout", type=float, default=60)
    stp = sub.add_parser("stop", help="stop the fleet of DIR")
    stp.add_argument("dir")
    args, extra = p.parse_known_args(argv)
    if args.command == "stop":
        if extra:
            p.error(f"unknown arguments {' '.join(extra)}")
        print("stopped" if stop_detached(args.dir) else "no emulator running in " + args.dir)
        return 0
    stop_detached(args.dir)
    try:
        fleet = start(fleet=args.fleet, workdir=args.dir, ephemeral=args.ephemeral_ports, args=extra,
                      timeout=args.timeout, detach=True)
    except (EmulatorError, OSError, ValueError) as exc:
        sys.exit(f"sigma_emulator.testing: {exc}")
    fleet.write_ansible_vars(*args.config)
    for srv in fleet.servers:
        print(f"{srv['name']} {srv['url']}{'' if srv['listening'] else ' (down)'}")
    print(f"control {fleet.control_url}; request log {fleet.log.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
