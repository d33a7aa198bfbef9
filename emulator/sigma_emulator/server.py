"""One emulated Sigma Media Server: its identity, its jobs and the API functions (no HTTP here).

Error codes (``ec``) the emulator answers with: 1 bad request (bad JSON, missing or wrong
field), 2 unknown function, 3 function not implemented by the emulator, 4 job not found or not
updatable, 5 licence not VALID, 6 GPU index not in dump, 7 input cannot be opened, 9 fault
``ec_rate``.
"""

import collections
import copy
import datetime
import fnmatch
import hashlib
import random
import time
import zlib
import zoneinfo

from . import errors, faults
from .fleet import GPU_MODELS, nats_id

NOT_IMPLEMENTED = frozenset([
    "apps", "log", "file", "read", "write", "awt", "pin id3", "preload", "event", "ads", "scte35",
    "mixer", "stream", "queue", "decklink", "subtitle", "trick", "cc", "pte", "join"])
UPDATE_FILTERS = ("overlay", "volume", "drm", "header")
REQUEST_LOG_SIZE = 10000
ERROR_LINES = 50  # a job keeps its last error lines

# English translation's damaged spelling: key -> damaged key, (parent key, key) -> damaged key.
_ENGLISH = {"system": "System", "encoder": "Encoder", "storage": "Storage", "apps": "APPS",
            "child": "Child", "life": "Life", "id": "ID", "dt": "Tel",
            ("process", "cpu"): "CPU", ("gpu", "mem"): "soft"}
_DATA_KEYS = ("result", "task")  # their keys are job names, URLs or states: never renamed

_APPS = [("portal-local", 839, "0.0%", "28MB", None), ("nginx", 479316, "0.0%", "346MB", 64),
         ("prometheus-nginxlog-exporter", 823, "0.1%", "22MB", None),
         ("origin", 842, "0.5%", "38MB", None), ("plugin-manager", 830, "0.0%", "30MB", None),
         ("victoria-metrics", 825, "0.3%", "110MB", None)]


class ApiError(Exception):
    """An application error: answered with HTTP 200, ``ec`` and ``msg``."""

    def __init__(self, ec, msg):
        super().__init__(msg)
        self.ec, self.msg = ec, msg


def iso(t):
    """Epoch seconds as the server's ISO-8601 UTC text (``2024-03-01T07:22:30.669Z``)."""
    d = datetime.datetime.fromtimestamp(t, datetime.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}Z"


def duration(seconds):
    """Seconds as the server's duration text: ``1h41m18s``, ``1d09h31m20s``."""
    s = max(0, int(seconds))
    d, h, m, s = s // 86400, s // 3600 % 24, s // 60 % 60, s % 60
    return f"{d}d{h:02d}h{m:02d}m{s:02d}s" if d else f"{h}h{m:02d}m{s:02d}s"


def english(doc, parent=None):
    """Rename the keys of an answer to the English seed's damaged spelling."""
    if isinstance(doc, list):
        return [english(x, parent) for x in doc]
    if not isinstance(doc, dict):
        return doc
    if parent in _DATA_KEYS:
        return {k: english(v) for k, v in doc.items()}
    return {_ENGLISH.get((parent, k), _ENGLISH.get(k, k)): english(v, k) for k, v in doc.items()}


def _kbps(value, default):
    """A configured bitrate (2000, "2000k", "2M", 2000000) in kbit/s."""
    try:
        text = str(value).strip().lower()
        factor = {"k": 1, "m": 1000}.get(text[-1:])
        number = float(text[:-1]) * factor if factor else float(text)
        return int(number / 1000 if not factor and number > 100000 else number)
    except (ValueError, TypeError):
        return default


def _ids(select):
    """Flatten a target's ``select`` (ids, lists of ids, {select: ...} objects) to id strings."""
    if isinstance(select, list):
        return [i for s in select for i in _ids(s)]
    if isinstance(select, dict):
        return _ids(select.get("select", select.get("id", [])))
    return [str(select)]


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


class Job:
    """A job as the server holds it: its whole ``start`` body, its times and its error lines.

    It is ``starting`` from ``startup`` to ``preparing_at``, ``preparing`` until ``running_at``,
    then ``started`` (or ``error``, or ``finished`` for VOD). ``errors`` holds its error lines,
    ``open`` the transient errors acting on it now (key -> whether they make it fail),
    ``fatal`` a creation-only error (the job stays in ``error`` until it is started again) and
    ``faults`` the run-time faults set through the control path.
    """

    def __init__(self, config, now, starting=0.0, preparing=0.0):
        self.config, self.created, self.startup = config, now, now
        self.preparing_at = now + float(starting)
        self.running_at = self.preparing_at + float(preparing)
        self.restarts, self.updates = 0, []
        self.errors = collections.deque(maxlen=ERROR_LINES)
        self.open, self.faults = {}, {}
        self.fatal, self.fatal_logged = None, False

    @property
    def gpu(self):
        option = self.config.get("option")
        gpu = option.get("gpu") if isinstance(option, dict) and "gpu" in option else None
        return int(self.config.get("gpu", -1) if gpu is None else gpu)

    @property
    def input_groups(self):
        """Input URLs grouped by alternatives: a main/backup pair is one group of two."""
        inp = self.config.get("input")
        if isinstance(inp, dict):
            return [[str(inp[k]) for k in ("main", "backup") if inp.get(k)]]
        return [[str(i.get("url") if isinstance(i, dict) else i)] for i in _as_list(inp)]

    @property
    def target_urls(self):
        return [str(t.get("url", "")) for t in _as_list(self.config.get("target")) if isinstance(t, dict)]


class Server:
    """One emulated server: configured identity, run-time identity, jobs, faults, request log."""

    def __init__(self, ident):
        self.configured = copy.deepcopy(ident)
        self.port = ident["port"]
        self.start_time = time.time()
        self.requests = collections.deque(maxlen=REQUEST_LOG_SIZE)
        self.reset()
        self.faults = faults.normalise(dict(ident["faults"], **({"refuse": {}} if ident["down"] else {})))

    def reset(self):
        """Back to the configured identity: no jobs, no faults, empty request log, fresh RNG."""
        self.ident = copy.deepcopy(self.configured)
        self.ident["port"] = self.port
        self.jobs, self.faults = {}, {}
        self.requests.clear()
        self.rng = random.Random(f"{self.name}:{self.port}")
        self.broken_since = {p: time.time() for p in self._patterns()}

    def restart(self, at=None):
        """Forget every job and move ``start``, as a restarted server does."""
        self.jobs = {}
        self.start_time = at or time.time()

    def reconfigure(self, ident):
        """Take a new identity at run time; errors its jobs meet from now on start now."""
        now = time.time()
        self.refresh_all(now)
        self.ident = ident
        self.broken_since = {p: self.broken_since.get(p, now) for p in self._patterns()}
        self.refresh_all(now)

    @property
    def name(self):
        return self.ident["name"]

    # ----- helpers -------------------------------------------------------------------------

    def _local(self, t, fmt):
        try:
            tz = zoneinfo.ZoneInfo(self.ident["timezone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = datetime.UTC
        return datetime.datetime.fromtimestamp(t, tz).strftime(fmt)

    def cards(self):
        """The GPU cards as (index, model name), in dump order."""
        models = [g["model"] for g in self.ident["gpus"] for _ in range(g["count"])]
        return list(enumerate(models))

    def _patterns(self):
        """The broken inputs as (glob, code): a text is a glob failing with INPUT_TIMEOUT."""
        return [(b, "INPUT_TIMEOUT") if isinstance(b, str) else (b["url"], b.get("code", "INPUT_TIMEOUT"))
                for b in self.ident["broken_inputs"]]

    def broken(self, url):
        """The (glob, code) of the first broken-input pattern ``url`` matches, else None."""
        return next(((p, c) for p, c in self._patterns() if url == p or fnmatch.fnmatchcase(url, p)), None)

    def probe(self, url, keyframes=False):
        """The streams ``info`` reports for ``url``: configured, else derived from its hash."""
        if url in self.ident["probe"]:
            return copy.deepcopy(self.ident["probe"][url])
        h = hashlib.sha256(url.encode()).digest()
        codec, profile, level, pix = [("h264", "High", 40, "yuv420p"), ("h264", "Main", 31, "yuv420p"),
                                      ("hevc", "Main", 120, "yuv420p"),
                                      ("hevc", "Main 10", 153, "yuv420p10le")][h[0] % 4]
        width, height = [(1920, 1080), (1280, 720), (3840, 2160), (720, 576)][h[1] % 4]
        fps = [25, 30, 29.97, 50][h[2] % 4]
        video = {"type": "video", "codec": codec, "bitrate": 1500 + 250 * (h[3] % 24),
                 "width": width, "height": height, "fps": fps, "interlaced": int(h[4] % 5 == 0),
                 "pixelFormat": pix, "profile": profile, "level": level}
        if keyframes:
            gop = 1000 * (1 + h[5] % 4)
            video["kf"] = ",".join(str(i * gop) for i in range(10))
        acodec, aprofile = [("aac", "LC"), ("aac", "HE-AAC"), ("mp2", ""), ("ac3", "")][h[6] % 4]
        audio = {"type": "audio", "codec": acodec, "bitrate": [96, 128, 192, 256][h[7] % 4],
                 "channel": [2, 2, 6, 1][h[8] % 4], "sampleRate": [48000, 44100][h[9] % 2],
                 "profile": aprofile}
        return [video, audio]

    def _input_errors(self, job):
        """(pattern, url, code, failing) for each broken input of ``job``; failing when every
        alternative of its group (a main/backup pair) is broken."""
        out = []
        for group in job.input_groups:
            found = [(u, self.broken(u)) for u in group]
            failing = bool(group) and all(b for _u, b in found)
            out += [(b, u, b[1], failing) for u, b in found if b]
        return out

    def refresh(self, job, now):
        """Bring a job's error lines up to ``now``: a line for each error that began acting on it.

        Nothing acts before the job runs. A creation-only error is written once and the job
        stays failed; a transient one (a broken input, a run-time fault) writes one line when it
        begins and stops acting when its cause is gone: the server's own retry recovers the job.
        """
        if now < job.running_at:
            return
        if job.fatal:
            if not job.fatal_logged:
                job.errors.append(errors.line(job.fatal["time"], job.fatal["message"], job.fatal["code"]))
                job.fatal_logged = True
            return
        acting = {}
        for pattern, url, code, failing in self._input_errors(job):
            since = max(self.broken_since.get(pattern, now), job.running_at)
            acting[("input", url, code)] = (since, errors.message(code, url), code, failing)
        for fid, fault in list(job.faults.items()):
            if fault["until"] is not None and now >= fault["until"]:
                del job.faults[fid]
                continue
            acting[("fault", fid)] = (max(fault["since"], job.running_at), fault["message"], fault["code"], True)
        for key, (since, text, code, _failing) in acting.items():
            if key not in job.open:
                job.errors.append(errors.line(since, text, code))
        job.open = {key: value[3] for key, value in acting.items()}

    def refresh_all(self, now):
        for job in self.jobs.values():
            self.refresh(job, now)

    def state(self, job, now):
        """A job's state: starting, preparing, then error, finished (VOD done) or started.

        The emulator never queues a job, so dump's ``queue`` is always 0.
        """
        if now < job.preparing_at:
            return "starting"
        if now < job.running_at:
            return "preparing"
        self.refresh(job, now)
        if job.fatal or any(job.open.values()):
            return "error"
        if job.config.get("mode") == "vod" and now - job.running_at >= self.ident["vod_duration"]:
            return "finished"
        return "started"

    def set_job_fault(self, name, spec):
        """Make a job fail with ``spec["code"]`` from now on (a run-time fault, control path).

        ``message`` and ``url`` change the line's text; ``duration`` (seconds) ends a transient
        fault by itself. A creation-only code fails the job until it is started again.
        """
        job = self.jobs.get(name)
        if job is None:
            raise KeyError(f"no job {name!r}")
        if not isinstance(spec, dict):
            raise ValueError("a job fault must be an object")
        unknown = set(spec) - {"code", "message", "url", "duration"}
        if unknown:
            raise ValueError(f"unknown job fault key(s): {', '.join(sorted(unknown))}")
        code = errors.check_code(spec.get("code"))
        now = time.time()
        self.refresh(job, now)
        concerns = errors.CODES.get(code, ("",))[0]
        url = spec.get("url")
        if url is None:
            urls = job.target_urls if concerns == "O" else [u for g in job.input_groups for u in g]
            url = urls[0] if urls else None
        text = str(spec.get("message") or errors.message(code, url))
        if errors.creation_only(code):
            job.fatal = {"code": code, "message": text, "time": max(now, job.running_at)}
            job.fatal_logged = False
        else:
            duration = spec.get("duration")
            job.faults[code] = {"code": code, "message": text, "since": now,
                                "until": None if duration is None else now + float(duration)}
        self.refresh(job, now)

    def clear_job_fault(self, name):
        """End the run-time faults of a job (a creation-only error stays until a new start)."""
        job = self.jobs.get(name)
        if job is None:
            raise KeyError(f"no job {name!r}")
        now = time.time()
        self.refresh(job, now)
        job.faults.clear()
        self.refresh(job, now)

    # ----- API -----------------------------------------------------------------------------

    def call(self, body):
        """Run one API request body (a dict); return the answer without ``dt`` or raise ApiError."""
        func = body.get("type")
        if not isinstance(func, str) or not func:
            raise ApiError(1, "missing type")
        handler = getattr(self, "api_" + func, None) if func in (
            "dump", "start", "stop", "progress", "info", "update") else None
        if handler:
            return handler(body)
        if func in NOT_IMPLEMENTED:
            raise ApiError(3, f"function {func!r} is not implemented by the emulator")
        raise ApiError(2, f"unknown function {func!r}")

    @staticmethod
    def _name(body):
        name = body.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(1, "missing name")
        return name

    def api_dump(self, body=None):
        now = time.time()
        ident, total = self.ident, len(self.jobs)
        task, per_card = collections.Counter(), collections.Counter()
        for job in self.jobs.values():
            task[self.state(job, now)] += 1
            per_card[job.gpu] += 1
        base_pid = 1000000 + zlib.crc32(ident["name"].encode()) % 2000000
        seen, supported, gpus = set(), [], []
        for index, model in self.cards():
            spec, c = GPU_MODELS[model], per_card[index]
            if model not in seen:
                seen.add(model)
                supported.append({"name": model, "encoder": list(spec["encoder"]),
                                  "decoder": list(spec["decoder"])})
            used = min(spec["memory"], 105 + 200 * c)
            gpus.append({"index": index, "name": model, "total": spec["memory"], "used": used,
                         "gpu": min(100, round(c * 2 / 3)), "mem": round(used * 100 / spec["memory"]),
                         "enc": min(100, round(c * 8 / 3)), "dec": min(100, round(c * 2 / 3)),
                         "temp": 36 + min(50, 2 * c), "speed": 1,
                         "percent": min(100, round(c * 100 / spec["sessions"])), "count": c})
        life = duration(now - self.start_time)
        apps = []
        for name, pid, cpu, ram, child in _APPS:
            proc = {"pid": base_pid + pid, "cpu": cpu, "ram": ram}
            if child is not None:
                proc["child"] = child
            apps.append({"name": name, "state": "running", "life": life, "process": proc})
        doc = {
            "name": ident["name"], "version": ident["version"], "branch": ident["branch"],
            "speed": 1, "build": ident["build"], "start": iso(self.start_time), "local": iso(now),
            "timezone": ident["timezone"], "hostname": ident["hostname"], "port": self.port,
            "queue": 0, "total": total, "task": dict(task),
            "supported": supported,
            "system": {
                "os": ident["os"], "cores": ident["cores"],
                "cpu": min(100, 12 * per_card[-1] + total), "thread": 27 + 2 * total,
                "ramTotal": ident["ram"], "ramUsed": min(ident["ram"], 7000 + 1100 * total),
                "swapTotal": ident["swap"], "swapUsed": 0, "updateTime": iso(int(now)),
                "network": copy.deepcopy(ident["network"]),
                "storage": copy.deepcopy(ident["storage"]),
                "log": {"folder": "/var/log/sigma-machine/", "used": 255},
                "gpu": gpus,
                "process": {"pid": base_pid, "cpu": f"{min(99.9, 0.5 + 9.8 * total):.1f}%",
                            "ram": f"{400 + 480 * total}MB", "child": 2 + 2 * total},
            },
            "apps": apps,
            "nats": {"id": nats_id(ident), "license": ident["license_key"] or "", "hook": 5000,
                     "startup": iso(self.start_time + 0.136), "connected": 1},
            "licenseStatus": ident["license_status"],
            "ec": 0, "result": {}, "dt": 0, "now": iso(now),
        }
        if ident["license_status"] is None:
            del doc["licenseStatus"]
        return doc

    def api_start(self, body):
        name, mode = self._name(body), body.get("mode")
        if mode not in ("live", "vod"):
            raise ApiError(1, "missing mode" if mode is None else f"bad mode {mode!r}")
        if self.ident["license_status"] != "VALID":
            raise ApiError(5, f"license is not valid ({self.ident['license_status'] or 'missing'})")
        job = Job(copy.deepcopy(body), time.time(), self.ident["starting_seconds"],
                  self.ident["preparing_seconds"])
        try:
            gpu = job.gpu
        except (TypeError, ValueError):
            raise ApiError(1, "gpu must be an integer") from None
        if gpu != -1 and gpu not in dict(self.cards()):
            raise ApiError(6, f"gpu {gpu} not found")
        old = self.jobs.get(name)
        if old:
            job.created, job.restarts, job.updates = old.created, old.restarts + 1, old.updates
        self.jobs[name] = job
        fatal = [(url, code) for _p, url, code, failing in self._input_errors(job)
                 if failing and errors.creation_only(code)]
        if fatal:  # found while preparing: the job fails when it would have run
            url, code = fatal[0]
            job.fatal = {"code": code, "message": errors.message(code, url), "time": job.running_at}
        return {"ec": 0, "result": {name: "done"}}

    def api_stop(self, body):
        name = body.get("name")
        names = list(self.jobs) if name == "*" else [n for n in _as_list(name) if isinstance(n, str)]
        if not names and not name:
            raise ApiError(1, "missing name")
        stopped = [n for n in names if self.jobs.pop(n, None)]
        msg = f'Stop {len(stopped)} task(s) "{",".join(stopped)}"' if stopped else "Stop 0 task(s)"
        return {"ec": 0, "result": {n: "OK" for n in stopped}, "dt": 0, "msg": msg}

    def api_progress(self, body):
        """Progress of one job, of a list of jobs, or of every job (name missing, "" or "*")."""
        name, now = body.get("name"), time.time()
        if name in (None, "", "*"):
            names = list(self.jobs)
        elif isinstance(name, (str, list)):
            names = [n for n in _as_list(name) if isinstance(n, str) and n in self.jobs]
        else:
            raise ApiError(1, "name must be a job name, a list of names or *")
        result = {n: self._progress(self.jobs[n], now) for n in names}
        return {"total": len(result), "ec": 0, "result": result}

    def _progress(self, job, now):
        cfg, state = job.config, self.state(job, now)
        running = state == "started"
        life, pts = now - job.startup, now - job.running_at
        if state == "finished":
            life, pts = job.running_at - job.startup + self.ident["vod_duration"], self.ident["vod_duration"]
        inputs = []
        for group in job.input_groups:
            if self.ident["progress_inputs"] == "active" and len(group) > 1:
                group = [next((u for u in group if not self.broken(u)), group[0])]
            for url in group:
                streams = [] if self.broken(url) else self.probe(url)
                inputs.append({"url": url, "profile": [self._describe(s) for s in streams],
                               "bitrate": sum(s.get("bitrate", 0) for s in streams) if running else 0})
        profiles, rates = [], {}
        for i, p in enumerate(_as_list(cfg.get("profile"))):
            if not isinstance(p, dict) or not p.get("enable", 1):
                continue
            pid = str(p.get("id", i))
            default = {"video": 2000, "audio": 128}.get(p.get("type", "video"), 0)
            rates[pid] = _kbps(p.get("bitrate"), default) if running else 0
            profiles.append({"id": pid, "bitrate": rates[pid]})
        targets = []
        for t in _as_list(cfg.get("target")):
            if not isinstance(t, dict) or not t.get("enable", 1):
                continue
            select = t.get("select", [])
            chosen = _ids(select) or list(rates)
            targets.append({"format": t.get("format", ""), "url": t.get("url", ""), "select": select,
                            "bitrate": sum(rates.get(i, 0) for i in chosen)})
        entry = {
            "speed": 1 if running else 0,
            "created": self._local(job.created, "%Y-%m-%d %H:%M:%S"),
            "startup": self._local(job.startup, "%Y-%m-%d %H:%M:%S"),
            "state": state, "life": duration(life), "pts": duration(pts if state in ("started", "finished") else 0),
            "error": list(job.errors), "input": inputs, "profile": profiles, "target": targets,
            "weight": cfg.get("weight", 1),
            "_id": "" if self.ident["ignore_id"] else cfg.get("_id", ""),
        }
        if self.ident["ignore_id"] == "omit":
            del entry["_id"]
        return entry

    @staticmethod
    def _describe(stream):
        """A probed stream as progress shows it: ``h264 1920x1080 25fps``, ``aac 48000Hz 2ch``."""
        s = stream.get
        if s("type") == "video":
            fps = f" {s('fps'):g}fps" if isinstance(s("fps"), (int, float)) else ""
            return f"{s('codec')} {s('width')}x{s('height')}{fps}"
        return f"{s('codec')} {s('sampleRate')}Hz {s('channel')}ch"

    def api_info(self, body):
        url = body.get("input")
        if not isinstance(url, str) or not url:
            raise ApiError(1, "missing input")
        broken = self.broken(url)
        if broken:
            raise ApiError(7, f"Cannot open input {url}: {errors.message(broken[1])}")
        return {"ec": 0, "result": {url: self.probe(url, bool(body.get("detectKeyframe")))}}

    def api_update(self, body):
        name = self._name(body)
        job = self.jobs.get(name)
        if job is None:
            raise ApiError(4, f"job {name!r} not found")
        if job.config.get("mode") != "live":
            raise ApiError(4, f"job {name!r} is not a live job")
        kind, changed, ident = body.get("filter"), body.get("changed"), str(body.get("id", ""))
        if kind not in UPDATE_FILTERS:
            raise ApiError(1, f"bad filter {kind!r}; expected one of {', '.join(UPDATE_FILTERS)}")
        if not isinstance(changed, dict):
            raise ApiError(1, "changed must be an object")
        cfg = job.config
        if kind == "overlay":
            found = [w for w in _as_list(cfg.get("watermark"))
                     if isinstance(w, dict) and str(w.get("id")) == ident]
        elif kind == "volume":
            found = [p for p in _as_list(cfg.get("profile")) if isinstance(p, dict)
                     and p.get("type") == "audio" and str(p.get("id")) == ident]
        elif kind == "drm":
            found = [t["drm"] for t in _as_list(cfg.get("target"))
                     if isinstance(t, dict) and isinstance(t.get("drm"), dict)]
        else:
            found = [t.setdefault("manifest", {}).setdefault("header", {})
                     for t in _as_list(cfg.get("target"))
                     if isinstance(t, dict) and t.get("format") in ("hls", "dash")]
        if not found:
            what = f"with id {ident!r}" if kind in ("overlay", "volume") else "to change"
            raise ApiError(4, f"{kind}: nothing {what} in job {name!r}")
        for item in found:
            item.update(copy.deepcopy(changed))
        job.updates.append({"filter": kind, "id": ident, "changed": changed})
        return {"ec": 0, "result": {}}
