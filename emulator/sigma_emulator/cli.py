"""The ``sigma-emulator`` command line: build the fleet, serve it until SIGTERM or SIGINT."""

import argparse
import asyncio
import json
import os
import resource
import signal
import sys

from . import fleet
from .app import Emulator


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="sigma-emulator", description=__doc__)
    src = p.add_argument_group("which servers (default: one server with the seed's identity)")
    src.add_argument("--fleet", metavar="FILE", help="fleet YAML file")
    src.add_argument("--count", type=int, metavar="N", help="generate N varied servers")
    src.add_argument("--base-port", type=int, default=20000, metavar="P",
                     help="first port of a generated fleet (0: ephemeral ports; default 20000)")
    src.add_argument("--seed", type=int, default=0, metavar="S", help="generator seed (default 0)")
    src.add_argument("--port", type=int, default=9999, help="port of the single server (default 9999)")
    src.add_argument("--name", help="name of the single server")
    src.add_argument("--gpus", metavar="MODEL:N,...",
                     help='GPUs of the single server, e.g. "Tesla T4:2,NVIDIA A10:1"; "none" = CPU-only')
    src.add_argument("--license-status", help="licenseStatus of the single server")
    common = p.add_argument_group("applied to every server")
    common.add_argument("--host", help="listen address (default 127.0.0.1)")
    common.add_argument("--latency", type=float, metavar="MS", help="latency of every answer")
    common.add_argument("--jitter", type=float, metavar="MS", help="random +/- on the latency")
    common.add_argument("--vod-duration", type=float, metavar="S",
                        help="seconds a VOD job runs until it is finished (default 10)")
    common.add_argument("--starting-seconds", type=float, metavar="S",
                        help="seconds a new job is starting (default 0.2)")
    common.add_argument("--preparing-seconds", type=float, metavar="S",
                        help="then seconds it is preparing before it is started (default 0.3)")
    common.add_argument("--tls", action="store_true", help="serve HTTPS")
    common.add_argument("--username", help="require HTTP basic auth with this user")
    common.add_argument("--password", help="... and this password")
    common.add_argument("--token-header", metavar="NAME", help="require this header ...")
    common.add_argument("--token", metavar="VALUE", help="... with this value")
    out = p.add_argument_group("process")
    out.add_argument("--cert-dir", metavar="DIR", help="where --tls writes ca.pem, cert.pem, key.pem")
    out.add_argument("--control-port", type=int, metavar="P",
                     help="a port serving only the control API /_emulator/servers/... (0: ephemeral)")
    out.add_argument("--dead-ports", type=int, default=0, metavar="N",
                     help="hold N more ports where nothing listens (connection refused), for tests")
    out.add_argument("--request-log", metavar="FILE", help="append every API request as a JSON line")
    out.add_argument("--ready-file", metavar="FILE", help="written (JSON) once every server listens")
    out.add_argument("--pid-file", metavar="FILE", help="write the process id here")
    out.add_argument("--quiet", action="store_true", help="print only the summary, not one line per server")
    return p.parse_args(argv)


def identities(args):
    """The identities the arguments ask for, with the process-wide options applied."""
    if args.fleet:
        servers = fleet.load_fleet(args.fleet)
    elif args.count:
        servers = fleet.generate(args.count, args.base_port, args.seed)
    else:
        single = {"port": args.port}
        if args.name:
            single["name"] = args.name
        if args.license_status:
            single["license_status"] = args.license_status
        if args.gpus:
            single["gpus"] = [] if args.gpus == "none" else [
                {"model": m.strip(), "count": int(n or 1)}
                for m, _, n in (g.rpartition(":") if ":" in g else (g, "", "1")
                                for g in args.gpus.split(","))]
        servers = [fleet.identity(single)]
    common = {"host": args.host, "latency_ms": args.latency, "jitter_ms": args.jitter,
              "vod_duration": args.vod_duration, "tls": args.tls or None,
              "starting_seconds": args.starting_seconds, "preparing_seconds": args.preparing_seconds,
              "auth": {"username": args.username, "password": args.password or ""}
              if args.username else None,
              "token": {"header": args.token_header, "value": args.token} if args.token_header else None}
    for ident in servers:
        ident.update({k: v for k, v in common.items() if v is not None})
    return servers


async def serve(args):
    """Start the emulator, announce it, and run until SIGTERM or SIGINT."""
    emulator = Emulator(identities(args), control_port=args.control_port,
                        request_log=args.request_log, cert_dir=args.cert_dir,
                        control_host=args.host or "127.0.0.1", dead_ports=args.dead_ports)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await emulator.start()
    info = emulator.ready_info()
    if not args.quiet:
        for s in info["servers"]:
            print(f"{s['name']} {s['url']}{'' if s['listening'] else ' (down)'}")
    extra = f", control port {info['control_port']}" if "control_port" in info else ""
    extra += f", dead ports {' '.join(map(str, info['dead_ports']))}" if "dead_ports" in info else ""
    extra += f", CA {info['ca']}" if "ca" in info else ""
    print(f"sigma-emulator: {len(info['servers'])} server(s){extra}")
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=1)
        os.replace(args.ready_file + ".tmp", args.ready_file)
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        await emulator.stop()
        for path in (args.ready_file, args.pid_file):
            if path and os.path.exists(path):
                os.remove(path)


def main(argv=None):
    """Entry point of the ``sigma-emulator`` console script."""
    args = parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.pid_file:
        with open(args.pid_file, "w", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
    try:
        asyncio.run(serve(args))
    except (ValueError, OSError) as exc:
        sys.exit(f"sigma-emulator: {exc}")
