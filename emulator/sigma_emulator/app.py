"""The HTTP side: one aiohttp Application and one listening socket per emulated server.

A request's server is the one owning the local port of its connection. ``/`` is the Sigma API
(with auth, latency and faults applied and every request logged). The control API,
``/_emulator/servers`` and ``/_emulator/servers/{port or name}/...``, is never faulted,
authenticated, delayed or logged; it is served on the control port (when given) and on every
server's port. A server that is down keeps its port bound without listening (connections are
refused, no other process takes the port); so do the ``dead_ports``.
"""

import asyncio
import base64
import hmac
import json
import socket
import struct
import sys
import tempfile
import time

from aiohttp import web

from . import faults, fleet
from .server import ApiError, Server, english, iso
from .tls import write_certificates

HTML_401 = ("<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n"
            "<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>nginx</center>\r\n"
            "</body>\r\n</html>\r\n")
HTML_502 = ("<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
            "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.24.0</center>\r\n"
            "</body>\r\n</html>\r\n")
PATCHABLE = fleet.KEYS - {"name", "host", "port", "tls", "faults", "down"}


class Emulator:
    """Every emulated server of one process, served by one aiohttp application."""

    def __init__(self, identities, control_port=None, request_log=None, cert_dir=None,
                 control_host="127.0.0.1", dead_ports=0):
        self.servers = [Server(i) for i in identities]
        ports = [s.port for s in self.servers if s.port]
        if len(ports) != len(set(ports)):
            raise ValueError("two servers share a port")
        self.by_port, self.sites, self.timers, self.held = {}, {}, {}, {}
        self.dead_ports, self.dead_count, self.dead_socks = [], int(dead_ports), []
        self.control_host, self.control_port = control_host, control_port
        self.cert_dir, self.ssl = cert_dir, None
        self.log_file = open(request_log, "a", encoding="utf-8") if request_log else None
        self.closing = asyncio.Event()
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=1)

    # ----- life cycle ----------------------------------------------------------------------

    async def start(self):
        """Listen on every server's port (and the control port); return when all listen."""
        await self.runner.setup()
        if any(s.ident["tls"] for s in self.servers):
            self.cert_dir = self.cert_dir or tempfile.mkdtemp(prefix="sigma-emulator-certs-")
            hosts = {s.ident["host"] for s in self.servers} - {"0.0.0.0", "::", ""}
            self.ssl = write_certificates(self.cert_dir, hosts)
        for srv in self.servers:
            sock = None
            if not srv.port:  # ephemeral port: take one now; it stays this server's
                sock = self._bind(srv.ident["host"], 0)
                srv.port = srv.ident["port"] = sock.getsockname()[1]
            self.by_port[srv.port] = srv
            if "refuse" in srv.faults:
                self.held[srv.port] = sock or self._bind(srv.ident["host"], srv.port)
                await self._go_down(srv, srv.faults["refuse"].get("duration"))
            else:
                await self._listen(srv, sock)
        for _ in range(self.dead_count):  # bound, never listening: connections are refused
            sock = self._bind("127.0.0.1", 0)
            self.dead_socks.append(sock)
            self.dead_ports.append(sock.getsockname()[1])
        if self.control_port is not None:
            sock = self._bind(self.control_host, self.control_port)
            self.control_port = sock.getsockname()[1]
            await web.SockSite(self.runner, sock).start()

    async def stop(self):
        """Stop listening, end hanging requests and close the request log."""
        self.closing.set()
        for timer in self.timers.values():
            timer.cancel()
        await self.runner.cleanup()
        for sock in list(self.held.values()) + self.dead_socks:
            sock.close()
        if self.log_file:
            self.log_file.close()

    def ready_info(self):
        """What the ready file holds: every server's name, port, URL and whether it listens."""
        info = {"servers": [{"name": s.name, "port": s.port, "url": self.url(s),
                             "listening": s.port in self.sites} for s in self.servers]}
        if self.control_port is not None:
            info["control_port"] = self.control_port
        if self.dead_ports:
            info["dead_ports"] = list(self.dead_ports)
        if self.ssl:
            info["ca"] = f"{self.cert_dir}/ca.pem"
        return info

    def url(self, srv):
        host = srv.ident["host"]
        host = f"[{host}]" if ":" in host else host
        return f"{'https' if srv.ident['tls'] else 'http'}://{host}:{srv.port}/"

    # ----- listening -----------------------------------------------------------------------

    @staticmethod
    def _bind(host, port):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            sock.close()
            raise OSError(f"cannot listen on {host} port {port}: {exc.strerror}") from None
        sock.setblocking(False)
        return sock

    async def _listen(self, srv, sock=None):
        if srv.port in self.sites:
            return
        sock = sock or self.held.pop(srv.port, None) or self._bind(srv.ident["host"], srv.port)
        site = web.SockSite(self.runner, sock, ssl_context=self.ssl if srv.ident["tls"] else None,
                            backlog=128)
        await site.start()
        self.sites[srv.port] = site

    async def _go_down(self, srv, seconds=None):
        """Stop listening on ``srv``'s port (keeping it bound); listen again after ``seconds``."""
        site = self.sites.pop(srv.port, None)
        if site:
            await site.stop()
            try:
                self.held[srv.port] = self._bind(srv.ident["host"], srv.port)
            except OSError as exc:
                print(f"sigma-emulator: {srv.name}: cannot hold port {srv.port}: {exc}", file=sys.stderr)
        self._cancel_timer(srv)
        if seconds:
            self.timers[srv.port] = asyncio.get_running_loop().call_later(
                float(seconds), lambda: asyncio.ensure_future(self._go_up(srv)))

    async def _go_up(self, srv):
        self._cancel_timer(srv)
        srv.faults.pop("refuse", None)
        try:
            await self._listen(srv)
        except OSError as exc:
            print(f"sigma-emulator: {srv.name}: cannot listen on {srv.port}: {exc}", file=sys.stderr)

    def _cancel_timer(self, srv):
        timer = self.timers.pop(srv.port, None)
        if timer:
            timer.cancel()

    # ----- requests ------------------------------------------------------------------------

    async def _handle(self, request):
        transport = request.transport
        port = transport.get_extra_info("sockname")[1] if transport else None
        if request.path == "/_emulator" or request.path.startswith("/_emulator/"):
            return await self._control(request)
        srv = self.by_port.get(port)
        if srv is None:
            raise web.HTTPNotFound()
        entry = {"time": time.time(), "server": srv.name, "port": srv.port,
                 "method": request.method, "function": None, "name": None, "body": None,
                 "status": None, "ec": None, "fault": None}
        try:
            return await self._api(request, srv, entry)
        finally:
            srv.requests.append(entry)
            if self.log_file:
                self.log_file.write(json.dumps(entry) + "\n")
                self.log_file.flush()

    async def _api(self, request, srv, entry):
        t0 = time.monotonic()
        body = None
        if request.method == "GET":
            entry["function"] = "dump"
        elif request.method == "POST":
            raw = await request.text()
            try:
                body = json.loads(raw)
                entry["body"] = body
            except ValueError:
                entry["body"] = raw
            if isinstance(body, dict):
                entry["function"], entry["name"] = body.get("type"), body.get("name")
        if request.path != "/" or request.method not in ("GET", "POST"):
            entry["status"] = 404 if request.path != "/" else 405
            return web.Response(status=entry["status"], text=f"{entry['status']}: not the API\n")
        if not self._authorised(request, srv):
            entry["status"] = 401
            headers = {"WWW-Authenticate": 'Basic realm="sigma"'} if srv.ident["auth"] else {}
            return web.Response(status=401, text=HTML_401, content_type="text/html",
                                headers=headers)
        if srv.port not in self.sites:  # refusing: a kept-alive connection gets reset too
            entry["fault"] = "refuse"
            return self._reset(request)
        latency = srv.faults.get("latency_ms", srv.ident["latency_ms"])
        jitter = srv.faults.get("jitter_ms", srv.ident["jitter_ms"])
        if latency or jitter:
            await asyncio.sleep(max(0.0, latency + jitter * (2 * srv.rng.random() - 1)) / 1000)
        kind, spec = faults.pick(srv.faults, entry["function"], srv.rng)
        entry["fault"] = kind
        if kind == "restart":
            down = float(spec.get("down_seconds", 0))
            srv.restart(time.time() + down)
            if down:
                self._reset(request, raise_=False)
                await self._go_down(srv, down)
                raise asyncio.CancelledError
        elif kind == "reset":
            return self._reset(request)
        elif kind == "hang":
            while request.transport and not request.transport.is_closing() \
                    and not self.closing.is_set():
                await asyncio.sleep(0.1)
            return self._reset(request)
        elif kind == "http500":
            entry["status"] = 500
            return web.Response(status=500, text="500 Internal Server Error\n")
        elif kind == "html502":
            entry["status"] = 502
            return web.Response(status=502, text=HTML_502, content_type="text/html",
                                headers={"Server": "nginx/1.24.0"})
        if kind == "ec_rate":
            doc = {"ec": 9, "result": {}, "msg": "emulated failure (fault ec_rate)"}
        elif request.method == "GET":
            doc = srv.api_dump()
        elif not isinstance(body, dict):
            doc = {"ec": 1, "result": {}, "msg": "bad JSON: the body must be a JSON object"}
        else:
            try:
                doc = srv.call(body)
            except ApiError as exc:
                doc = {"ec": exc.ec, "result": {}, "msg": exc.msg}
        doc["dt"] = int((time.monotonic() - t0) * 1000)
        entry["status"], entry["ec"] = 200, doc["ec"]
        if srv.ident["spelling"] == "english":
            doc = english(doc)
        return web.json_response(doc)

    @staticmethod
    def _authorised(request, srv):
        auth, token = srv.ident["auth"], srv.ident["token"]
        if auth:
            expected = base64.b64encode(f"{auth['username']}:{auth['password']}".encode()).decode()
            if not hmac.compare_digest(request.headers.get("Authorization", ""), f"Basic {expected}"):
                return False
        return not token or hmac.compare_digest(request.headers.get(token["header"], ""),
                                                str(token["value"]))

    @staticmethod
    def _reset(request, raise_=True):
        """Abort the connection with a TCP RST; nothing is answered."""
        transport = request.transport
        if transport:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        if raise_:
            raise asyncio.CancelledError

    # ----- control path --------------------------------------------------------------------

    def _server(self, key):
        """A server by port number or name."""
        if key.isdigit() and int(key) in self.by_port:
            return self.by_port[int(key)]
        return next((s for s in self.servers if s.name == key), None)

    async def _control(self, request):
        parts = request.path.strip("/").split("/")[1:]
        if parts[:1] != ["servers"]:
            return _error(404, "the control API is /_emulator/servers/{port or name}/...")
        if len(parts) == 1:
            return web.json_response({"servers": self.ready_info()["servers"]})
        srv = self._server(parts[1])
        if srv is None:
            return _error(404, f"no server {parts[1]!r} (a port or a name)")
        action = (request.method, "/".join(parts[2:]))
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _error(400, "the body must be a JSON object")
        try:
            return await self._act(srv, action, body)
        except (ValueError, TypeError, KeyError) as exc:
            return _error(400, str(exc))

    async def _act(self, srv, action, body):
        if action == ("GET", "state"):
            now = time.time()
            jobs = {n: {"config": j.config, "state": srv.state(j, now), "restarts": j.restarts,
                        "updates": j.updates, "errors": list(j.errors),
                        "faults": sorted(j.faults) + ([j.fatal["code"]] if j.fatal else [])}
                    for n, j in srv.jobs.items()}
            return web.json_response({"name": srv.name, "port": srv.port, "start": iso(srv.start_time),
                                      "listening": srv.port in self.sites, "jobs": jobs,
                                      "faults": srv.faults, "identity": srv.ident})
        if action == ("GET", "requests"):
            return web.json_response({"requests": list(srv.requests)})
        if action == ("DELETE", "requests"):
            srv.requests.clear()
        elif action == ("PUT", "faults"):
            new = faults.normalise(body)
            for kind in set(body) - set(new):  # false / null removes a fault
                srv.faults.pop(kind, None)
            srv.faults.update(new)
            if "refuse" in new:
                await self._go_down(srv, new["refuse"].get("duration"))
            elif "refuse" in body:
                await self._go_up(srv)
        elif action == ("DELETE", "faults"):
            srv.faults.clear()
            await self._go_up(srv)
        elif action == ("POST", "restart"):
            down = float(body.get("down_seconds", 0))
            srv.restart(time.time() + down)
            if down:
                await self._go_down(srv, down)
        elif action == ("POST", "reset"):
            srv.reset()
            await self._go_up(srv)
        elif action == ("PATCH", "config"):
            bad = set(body) - PATCHABLE
            if bad:
                raise ValueError(f"cannot change {', '.join(sorted(bad))}")
            srv.reconfigure(fleet.identity(dict(srv.ident, **body)))
        elif action[1].startswith("jobs/") and action[1].endswith("/fault") and action[0] in ("PUT", "DELETE"):
            name = action[1][len("jobs/"):-len("/fault")]
            names = list(srv.jobs) if name == "*" else [name]
            if name not in srv.jobs and name != "*":
                return _error(404, f"no job {name!r} on {srv.name}")
            for job in names:
                if action[0] == "PUT":
                    srv.set_job_fault(job, body)
                else:
                    srv.clear_job_fault(job)
        elif action == ("POST", "up"):
            await self._go_up(srv)
        else:
            return _error(404, f"no control action {action[0]} {action[1]}")
        return web.json_response({"ok": True})


def _error(status, msg):
    return web.json_response({"error": msg}, status=status)
