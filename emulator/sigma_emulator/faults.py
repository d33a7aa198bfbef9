"""Faults a server can be told to show, how they are written and which one a request meets.

A fault set is a dict. ``latency_ms`` and ``jitter_ms`` are numbers applied to every API request.
Every other fault is ``true`` or an object with optional ``functions`` (list of function names
it is limited to; ``dump`` for GET) and ``count`` (requests it applies to, then it is gone):

- ``restart``: forget every job and move ``start``; with ``down_seconds`` the server also stops
  listening that long and the triggering connection is reset, else the request is then answered;
- ``reset``: abort the connection without answering (TCP RST);
- ``hang``: never answer, until the client goes away;
- ``http500``: HTTP 500; ``html502``: HTTP 502 with nginx's HTML page;
- ``ec_rate`` (a number 0..1, or an object with ``rate``): that share of requests answers ``ec`` 9,
  drawn from an RNG seeded per server;
- ``refuse``: stop listening now (connections refused), for ``duration`` seconds if given, else
  until ``POST /_emulator/servers/{port}/up``; requests on open keep-alive connections are reset.
"""

NUMBERS = ("latency_ms", "jitter_ms")
ORDER = ("restart", "reset", "hang", "http500", "html502", "ec_rate")
KINDS = frozenset(NUMBERS + ORDER + ("refuse",))


def normalise(spec):
    """Validate a fault set and write every fault as an object; raise ValueError if bad."""
    if not isinstance(spec, dict):
        raise ValueError("faults must be an object")
    out = {}
    for kind, value in spec.items():
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(sorted(KINDS))}")
        if kind in NUMBERS:
            out[kind] = float(value)
        elif value is True or (kind == "ec_rate" and isinstance(value, (int, float))):
            out[kind] = {} if value is True else {"rate": float(value)}
        elif isinstance(value, dict):
            out[kind] = dict(value)
        elif value not in (False, None):
            raise ValueError(f"fault {kind!r} must be true, false or an object")
    return out


def pick(faults, function, rng):
    """Return (kind, spec) of the fault this request meets, consuming one of its ``count``."""
    for kind in ORDER:
        spec = faults.get(kind)
        if spec is None or (spec.get("functions") is not None and function not in spec["functions"]):
            continue
        if kind == "ec_rate" and rng.random() >= float(spec.get("rate", 1)):
            continue
        if "count" in spec:
            spec["count"] = int(spec["count"]) - 1
            if spec["count"] <= 0:
                del faults[kind]
        return kind, spec
    return None, None
