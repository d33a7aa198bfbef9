"""Server identities: the GPU model table, the seed identity, fleet files and the fleet generator.

GPU model table (``GPU_MODELS``): what ``dump`` reports in ``supported`` and
``system.gpu`` for each model.

=========================  ======  =========================================================
model                      MB      encoder (decoder)
=========================  ======  =========================================================
NVIDIA A10                 22731   h264@yuv420p h264@yuv444p hevc@yuv420p hevc@yuv444p
                                   hevc@yuv420p10le hevc@yuv444p10le h264@bframe hevc@bframe
                                   (h264@yuv420p hevc@yuv420p hevc@yuv420p10le) -- as the seed
Tesla T4                   15360   same encoders as the A10 (Turing NVENC)
                                   (h264@yuv420p hevc@yuv420p hevc@yuv420p10le hevc@yuv444p)
NVIDIA L4                  23034   A10 encoders + av1@yuv420p av1@yuv420p10le av1@bframe
                                   (A10 decoders + hevc@yuv444p av1@yuv420p av1@yuv420p10le)
NVIDIA GeForce GTX 1080    8192    h264@yuv420p h264@yuv444p hevc@yuv420p hevc@yuv420p10le
                                   (h264@yuv420p hevc@yuv420p) -- Pascal: no yuv444p10le, no
                                   bframe for hevc, no 10-bit decode
=========================  ======  =========================================================

``sessions`` is the number of jobs that makes a card's ``percent`` reach 100.
"""

import copy
import random
import uuid

import yaml

from . import errors

_A10_ENC = ["h264@yuv420p", "h264@yuv444p", "hevc@yuv420p", "hevc@yuv444p",
            "hevc@yuv420p10le", "hevc@yuv444p10le", "h264@bframe", "hevc@bframe"]
_A10_DEC = ["h264@yuv420p", "hevc@yuv420p", "hevc@yuv420p10le"]

GPU_MODELS = {
    "NVIDIA A10": {"memory": 22731, "sessions": 12, "encoder": _A10_ENC, "decoder": _A10_DEC},
    "Tesla T4": {"memory": 15360, "sessions": 8, "encoder": _A10_ENC,
                 "decoder": _A10_DEC + ["hevc@yuv444p"]},
    "NVIDIA L4": {"memory": 23034, "sessions": 16,
                  "encoder": _A10_ENC + ["av1@yuv420p", "av1@yuv420p10le", "av1@bframe"],
                  "decoder": _A10_DEC + ["hevc@yuv444p", "av1@yuv420p", "av1@yuv420p10le"]},
    "NVIDIA GeForce GTX 1080": {"memory": 8192, "sessions": 3,
                                "encoder": ["h264@yuv420p", "h264@yuv444p", "hevc@yuv420p",
                                            "hevc@yuv420p10le"],
                                "decoder": ["h264@yuv420p", "hevc@yuv420p"]},
}
GPU_ALIASES = {"NVIDIA T4": "Tesla T4", "T4": "Tesla T4", "A10": "NVIDIA A10", "L4": "NVIDIA L4",
               "GTX 1080": "NVIDIA GeForce GTX 1080"}

SEED_IDENTITY = {
    "name": "sigma-server-01",
    "host": "127.0.0.1",
    "port": 9999,
    "hostname": "sigma-media-server-01",
    "version": "3.0.12",
    "branch": "Commercial",
    "build": "2024-02-29T06:30:09.650Z",
    "timezone": "Asia/Ho_Chi_Minh",
    "os": "Ubuntu 22.04.4 LTS",
    "license_status": "VALID",
    "license_key": "Y7KI4-HHQX5-0N9QN-X8TLN-VOPE7",
    "gpus": [{"model": "NVIDIA A10", "count": 1}],
    "cores": 64,
    "ram": 128347,
    "swap": 16383,
    "network": [{"name": "bond1.901", "ip": "172.16.10.15", "netmask": "172.16.10.0/24"},
                {"name": "bond2.35", "ip": "172.16.35.15", "netmask": "172.16.35.0/24"}],
    "storage": [{"name": "0", "folder": ["/data/mediahub"], "skip": [], "time": 604800,
                 "delay": 360}],
    "broken_inputs": [],
    "vod_duration": 10,
    "starting_seconds": 0.2,
    "preparing_seconds": 0.3,
    "probe": {},
    "spelling": "canonical",
    "ignore_id": False,
    "progress_inputs": "all",
    "latency_ms": 0,
    "jitter_ms": 0,
    "tls": False,
    "auth": None,
    "token": None,
    "faults": {},
    "down": False,
}
KEYS = frozenset(SEED_IDENTITY)


def gpu_model(name):
    """Return the canonical model name for ``name`` or raise ValueError."""
    name = GPU_ALIASES.get(name, name)
    if name not in GPU_MODELS:
        raise ValueError(f"unknown GPU model {name!r}; known: {', '.join(GPU_MODELS)}")
    return name


def identity(fields, defaults=None):
    """Build a complete server identity from ``defaults`` and ``fields`` over the seed identity."""
    ident = copy.deepcopy(SEED_IDENTITY)
    for source in (defaults or {}, fields):
        unknown = set(source) - KEYS
        if unknown:
            raise ValueError(f"unknown server key(s): {', '.join(sorted(unknown))}")
        ident.update(copy.deepcopy(source))
    try:
        ident["gpus"] = [{"model": gpu_model(g["model"]), "count": int(g.get("count", 1))}
                         for g in ident["gpus"] or []]
    except (KeyError, TypeError, AttributeError):
        raise ValueError(f"gpus must be a list of {{model, count}}, not {ident['gpus']!r}") from None
    if "hostname" not in fields and ident["name"] != SEED_IDENTITY["name"]:
        ident["hostname"] = ident["name"]
    if ident["spelling"] not in ("canonical", "english"):
        raise ValueError(f"spelling must be canonical or english, not {ident['spelling']!r}")
    if ident["ignore_id"] not in (False, True, "omit"):
        raise ValueError(f"ignore_id must be false, true or omit, not {ident['ignore_id']!r}")
    if ident["progress_inputs"] not in ("all", "active"):
        raise ValueError(f"progress_inputs must be all or active, not {ident['progress_inputs']!r}")
    for key in ("starting_seconds", "preparing_seconds", "vod_duration"):
        try:
            ident[key] = float(ident[key])
        except (TypeError, ValueError):
            ident[key] = -1
        if ident[key] < 0:
            raise ValueError(f"{key} must be a number of seconds >= 0")
    ident["broken_inputs"] = [_broken_input(b) for b in ident["broken_inputs"] or []]
    return ident


def _broken_input(entry):
    """A broken input: a URL or glob (fails with INPUT_TIMEOUT), or {url, code}."""
    if isinstance(entry, str):
        return entry
    if not isinstance(entry, dict) or not isinstance(entry.get("url"), str) or set(entry) - {"url", "code"}:
        raise ValueError(f"a broken input is a URL (glob) or {{url, code}}, not {entry!r}")
    return {"url": entry["url"], "code": errors.check_code(entry.get("code", "INPUT_TIMEOUT"))}


def load_fleet(path):
    """Read a fleet YAML file ({defaults: {...}, servers: [...]}) into a list of identities."""
    with open(path, encoding="utf-8") as fh:
        try:
            doc = yaml.safe_load(fh) or {}
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: {exc}") from None
    return [identity(s, doc.get("defaults")) for s in doc.get("servers") or []]


_LAYOUTS = [
    [{"model": "NVIDIA A10", "count": 1}],
    [],
    [{"model": "Tesla T4", "count": 2}],
    [{"model": "NVIDIA L4", "count": 1}],
    [{"model": "NVIDIA A10", "count": 1}, {"model": "Tesla T4", "count": 1}],
    [{"model": "NVIDIA GeForce GTX 1080", "count": 1}],
    [{"model": "NVIDIA A10", "count": 4}],
    [{"model": "NVIDIA L4", "count": 2}, {"model": "Tesla T4", "count": 2}],
]
_LICENCES = ["VALID"] * 6 + ["EXPIRED", "INVALID", None]
_VERSIONS = ["3.0.12", "3.0.12", "3.0.11", "3.0.10", "2.9.8", "3.1.0"]


def _pick(choices, i, rng):
    return choices[i % len(choices)] if i < 3 * len(_LICENCES) else rng.choice(choices)


def generate(count, base_port, seed=0):
    """Generate ``count`` varied identities deterministically from ``seed``.

    The first servers walk through every GPU layout, licence state and version so that even a
    small fleet is mixed; ports are ``base_port + i`` (all 0, i.e. ephemeral, when it is 0).
    """
    rng = random.Random(seed)
    width = max(2, len(str(count)))
    servers = []
    for i in range(count):
        name = f"sigma-{i + 1:0{width}d}"
        net = 10 + i // 250
        servers.append(identity({
            "name": name,
            "port": base_port + i if base_port else 0,
            "hostname": f"{name}.sigma.test",
            "version": _pick(_VERSIONS, i, rng),
            "build": f"2024-0{rng.randint(1, 9)}-{rng.randint(10, 28)}T06:30:09.650Z",
            "license_status": _pick(_LICENCES, i, rng),
            "license_key": "-".join(f"{rng.getrandbits(25):05X}"[:5] for _ in range(5)),
            "gpus": copy.deepcopy(_pick(_LAYOUTS, i, rng)),
            "cores": rng.choice([8, 16, 32, 64, 96]),
            "ram": rng.choice([32109, 64216, 128347, 257000]),
            "network": [{"name": "eth0", "ip": f"172.16.{net}.{i % 250 + 2}",
                         "netmask": f"172.16.{net}.0/24"}],
        }))
    return servers


def nats_id(ident):
    """A stable NATS client id for a server, shaped like the seed's."""
    u = uuid.uuid5(uuid.NAMESPACE_DNS, ident["name"])
    return f"{u}.{ident['hostname']}-{uuid.uuid5(u, 'nats')}"
