# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the unit tests share: ONE fake Sigma server, the English spelling, patch_module_args.

`FakeSigma` is an in-memory Sigma server with the emulator's job semantics
(start, stop, update, progress, dump; a server that echoes `_id` empty,
`ignore_id=True`, or not at all, `ignore_id='omit'`; an expired licence,
GPU models and loads). Used directly it is a client (the
engine's tests call its methods); `serve()` puts it behind HTTP on
127.0.0.1 for the real client, where canned answers per function
(`answers`), raw answers served first (`queue`), faults (`fault`) and the
English spelling (`spelling`) can replace the semantics. Every call is
logged in `calls`, every HTTP request in `requests`.

`RecordingServer` is ONE local HTTP(S) server for the transport's tests: it
records what reaches it on the wire and answers what a test gives it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import socket
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ansible.module_utils import basic

from ansible_collections.sigma.media_server.plugins.module_utils._client import SigmaAPIError

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from unittest import mock

    from ansible.module_utils.common.text.converters import to_bytes

    @contextlib.contextmanager
    def patch_module_args(args=None):
        with mock.patch.object(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}))):
            yield

__all__ = ['ENCODERS', 'FakeSigma', 'RecordingServer', 'Request', 'dead_url', 'fake_transport', 'english', 'patch_module_args',
           'as_a_module_process', 'warning_texts']


# The English translation's damaged spelling (sigma-api.md, "Key spelling"): canonical key (lower case), or
# key@parent, -> the damaged key. The emulator's `english` servers apply the same rules (emulator/sigma_emulator).
ENGLISH = {'system': 'System', 'encoder': 'Encoder', 'storage': 'Storage', 'apps': 'APPS', 'child': 'Child',
           'life': 'Life', 'id': 'ID', 'dt': 'Tel', 'cpu@process': 'CPU', 'mem@gpu': 'soft',
           'licensestatus': 'LicenseStatus'}
DATA_KEYS = ('result', 'task')  # their keys are job names, URLs or states: data, never renamed


def english(doc, parent=None):
    """A copy of an API answer with the keys renamed to the English translation's damaged spelling."""
    if isinstance(doc, list):
        return [english(x, parent) for x in doc]
    if not isinstance(doc, dict):
        return doc
    if parent in DATA_KEYS:
        return dict((k, english(v)) for k, v in doc.items())
    out = {}
    for key, value in doc.items():
        lkey = key.lower()
        out[ENGLISH.get('%s@%s' % (lkey, parent), ENGLISH.get(lkey, key))] = english(value, lkey)
    return out


ENCODERS = {'Tesla T4': ['h264@yuv420p', 'h264@yuv444p', 'hevc@yuv420p', 'hevc@yuv420p10le'],
            'NVIDIA A10': ['h264@yuv420p', 'h264@yuv444p', 'hevc@yuv420p', 'hevc@yuv420p10le', 'hevc@yuv444p10le'],
            'GTX 1080': ['h264@yuv420p', 'hevc@yuv420p']}
# With `loads`, dump reports each card's figures as the emulator does (emulator/sigma_emulator): memory (MB), and
# the job sessions that make `percent` reach 100 (a consumer card takes 3).
MODELS = {'Tesla T4': {'memory': 15360, 'sessions': 8}, 'NVIDIA A10': {'memory': 22731, 'sessions': 12},
          'GTX 1080': {'memory': 8192, 'sessions': 3}}


class Request(dict):
    """One HTTP request: method, function, body, headers; r[0], r[1], r[2] are method, function, body."""

    def __getitem__(self, key):
        if isinstance(key, int):
            return (self['method'], self['function'], self['body'])[key]
        return dict.__getitem__(self, key)


class FakeSigma(object):
    """ONE fake Sigma server: in memory with the emulator's job semantics, or served over HTTP (`serve`)."""

    def __init__(self, gpus=('Tesla T4', 'Tesla T4'), ignore_id=False, valid=True, counts=None, answers=None,
                 loads=False, inputs='all'):
        self.url = self.display_url = 'http://fake:9999'
        self.gpus, self.ignore_id, self.valid = list(gpus), ignore_id, valid
        self.counts = counts or {}  # jobs on each card besides the fake's own (started by others)
        self.loads = loads  # dump reports percent, enc, dec, used and total per card
        self.inputs = inputs  # how progress lists inputs: all, active (main only), failover (backup only), reversed
        self.jobs, self.calls, self.clock = {}, [], 0
        self.answers = dict(answers or {})  # function -> canned answer, instead of the job semantics (HTTP)
        self.queue = []  # raw answers served first (HTTP): (status, content type, body) | 'hang' | 'reset'
        self.fault = None  # 'html502' | 'hang' | 'ec' | 'info_ec' (HTTP)
        self.spelling = 'canonical'  # or 'english' (HTTP)
        self.requests = []
        self.httpd = None

    # ------------------------------------------------------------------ the log

    def functions(self):
        return [c[0] for c in self.calls]

    def writes(self):
        return [c for c in self.calls if c[0] in ('start', 'stop', 'update')]

    # ------------------------------------------------------------------ the job semantics (a client's methods)

    def _entry(self, job):
        cfg = job['config']
        inp = cfg.get('input')
        urls = [inp[k] for k in ('main', 'backup') if inp.get(k)] if isinstance(inp, dict) else inp if isinstance(inp, list) else [inp]
        if self.inputs == 'reversed':
            urls = urls[::-1]
        elif self.inputs in ('active', 'failover') and len(urls) > 1:
            urls = urls[-1:] if self.inputs == 'failover' else urls[:1]
        entry = {'state': job.get('state', 'started'), 'startup': 'T%d' % job['at'], 'error': job.get('error', []),
                 'input': [{'url': u, 'profile': [], 'bitrate': 1} for u in urls],
                 'profile': [{'id': p['id'], 'bitrate': 1} for p in cfg.get('profile', []) if p.get('enable', 1)],
                 'target': [{'format': t['format'], 'url': t['url'], 'select': t.get('select', []), 'bitrate': 1}
                            for t in cfg.get('target', []) if t.get('enable', 1)],
                 'weight': cfg.get('weight', 1), '_id': '' if self.ignore_id else cfg.get('_id', '')}
        if self.ignore_id == 'omit':  # a server that does not keep _id at all
            del entry['_id']
        return entry

    def progress(self, name='*', mode=None):
        self.calls.append(('progress', name))
        names = list(self.jobs) if name == '*' else [n for n in (name,) if n in self.jobs]
        return {'ec': 0, 'total': len(names), 'result': dict((n, self._entry(self.jobs[n])) for n in names)}

    def card_counts(self):
        """{card index: jobs}: the fake's own jobs on each card, plus `counts`."""
        out = dict(self.counts)
        for job in self.jobs.values():
            cfg = job['config']
            gpu = (cfg.get('option') or {}).get('gpu', cfg.get('gpu', -1))
            if isinstance(gpu, int) and gpu >= 0:
                out[gpu] = out.get(gpu, 0) + 1
        return out

    def dump(self):
        self.calls.append(('dump',))
        models = sorted(set(self.gpus))
        counts, cards = self.card_counts(), []
        for i, m in enumerate(self.gpus):
            card, c = {'index': i, 'name': m, 'count': counts.get(i, 0)}, counts.get(i, 0)
            if self.loads:
                spec = MODELS[m]
                card.update(total=spec['memory'], used=min(spec['memory'], 105 + 200 * c), enc=min(100, round(c * 8 / 3)),
                            dec=min(100, round(c * 2 / 3)), percent=min(100, round(c * 100 / spec['sessions'])))
            cards.append(card)
        return {'supported': [{'name': m, 'encoder': ENCODERS[m], 'decoder': []} for m in models],
                'system': {'gpu': cards}}

    def start(self, body):
        self.calls.append(('start', body['name'], copy.deepcopy(body)))
        if not self.valid:
            raise SigmaAPIError(self.display_url, 'start', 'the server answered ec=5: license is not valid (EXPIRED)', ec=5)
        self.clock += 1
        self.jobs[body['name']] = {'config': copy.deepcopy(body), 'at': self.clock}
        return {'ec': 0, 'result': {body['name']: 'done'}}

    def stop(self, name, mode=None):
        self.calls.append(('stop', name))
        self.jobs.pop(name, None)
        return {'ec': 0, 'result': {}}

    def update(self, name, filter_name, item_id, changed, mode='live'):
        self.calls.append(('update', name, filter_name, item_id, copy.deepcopy(changed)))
        return {'ec': 0, 'result': {}}

    def info(self, input_url, timeout=None, detect_keyframes=False):
        self.calls.append(('info', input_url))
        return {'ec': 0, 'result': {input_url: []}}

    def _semantics(self, body):
        """The answer of the job semantics to an API body (HTTP); an API error as an `ec` answer."""
        function = body.get('type')
        try:
            if function == 'progress':
                return self.progress(body.get('name', '*'), body.get('mode'))
            if function == 'dump':
                return self.dump()
            if function == 'start':
                return self.start(dict((k, v) for k, v in body.items() if k != 'type'))
            if function == 'stop':
                return self.stop(body.get('name'), body.get('mode'))
            if function == 'update':
                return self.update(body.get('name'), body.get('filter'), body.get('id'), body.get('changed'), body.get('mode'))
            if function == 'info':
                return self.info(body.get('input'), body.get('timeout'), body.get('detectKeyframe'))
        except SigmaAPIError as err:
            return {'ec': err.ec, 'msg': err.message}
        return {'ec': 1, 'msg': 'unknown function %s' % function}

    # ------------------------------------------------------------------ HTTP

    def _http_answer(self, handler, body):
        """(status, content type, bytes) for one HTTP request, or 'hang' / 'reset'."""
        function = body.get('type') if isinstance(body, dict) else None
        self.requests.append(Request(method=handler.command, function=function, body=body, headers=dict(handler.headers)))
        faulty = self.fault in ('hang', 'html502', 'ec') or (self.fault == 'info_ec' and function == 'info')
        semantics = not self.queue and not faulty and function not in self.answers
        if not semantics:
            self.calls.append((function,))  # the job semantics log their own calls
        if self.queue:
            answer = self.queue.pop(0)
            if answer in ('hang', 'reset'):
                return answer
            status, ctype, data = answer
            return status, ctype, data if isinstance(data, bytes) else json.dumps(data).encode()
        if self.fault == 'hang':
            return 'hang'
        if self.fault == 'html502':
            return 502, 'text/html', b'<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>'
        if faulty:
            answer = {'ec': 7, 'msg': 'Cannot open input: Connection timed out', 'result': {}}
        elif function in self.answers:
            answer = copy.deepcopy(self.answers[function])
        else:
            answer = self._semantics(body if isinstance(body, dict) else {})
        if self.spelling == 'english':
            answer = english(answer)
        return 200, 'application/json', json.dumps(answer).encode()

    def serve(self):
        """Serve on 127.0.0.1 (a free port); `url` becomes its URL. Returns self."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _answer(self, body):
                answer = fake._http_answer(self, body)
                if answer == 'hang':
                    time.sleep(1.5)
                    return
                if answer == 'reset':
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                status, ctype, data = answer
                self.send_response(status)
                self.send_header('Content-Type', ctype)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._answer({'type': 'dump'})

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get('Content-Length') or 0))
                self._answer(json.loads(raw) if raw else None)

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.url = self.display_url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
        return self

    def close(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client that refuses our certificate, or gives up on a stalled answer: expected here


class RecordingServer(object):
    """A local HTTP server (HTTPS with `tls`, a server ssl.SSLContext) that records every request it receives in
    `requests`: method, path, body (bytes) and headers (names in lower case), one dict per request.

    `answer(handler)` gives the answer, (status, headers, body bytes), or None when it wrote one itself
    (`handler.body` is the request's body); without it, a JSON ec=0 that names the server's port.
    """

    def __init__(self, answer=None, tls=None):
        self.requests = []
        self.lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get('Content-Length') or 0)
                self.body = self.rfile.read(length) if length else b''
                with recorder.lock:
                    recorder.requests.append({'method': self.command, 'path': self.path, 'body': self.body,
                                              'headers': dict((k.lower(), v) for k, v in self.headers.items())})
                reply = answer(self) if answer else (200, {}, b'{"ec": 0, "port": %d}' % recorder.port)
                if reply is None:
                    return
                status, headers, data = reply
                self.send_response(status)
                for name, value in dict({'Content-Type': 'application/json'}, **headers).items():
                    self.send_header(name, value)
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_CONNECT = _handle

        self.httpd = _QuietServer(('127.0.0.1', 0), Handler)
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_port
        self.url = '%s://127.0.0.1:%d' % ('https' if tls is not None else 'http', self.port)
        threading.Thread(target=self.httpd.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def dead_url():
    """The URL of a local port nothing listens on."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return 'http://127.0.0.1:%d' % port


def warning_texts(result):
    """The warnings of a module result as texts (ansible-core 2.19 modules return WarningSummary dicts)."""
    return [w['event']['msg'] if isinstance(w, dict) else w for w in result.get('warnings') or []]


@contextlib.contextmanager
def as_a_module_process():
    """Run a module's main() as in a process of its own.

    AnsibleModule keeps warnings process-wide (one run per process), and once
    controller code is imported (the action plugins' tests) ansible-core sends
    module warnings to the controller's display instead of the result.
    """
    try:
        from ansible.module_utils import _internal  # ansible-core 2.19+
    except ImportError:  # older cores (the floor, 2.17) have no controller switch
        _internal = None
    from ansible.module_utils.common import warnings
    for name in ('_global_warnings', '_global_deprecations'):
        getattr(warnings, name, {}).clear()
    was = getattr(_internal, 'is_controller', None)
    if was is not None:
        _internal.is_controller = False
    try:
        yield
    finally:
        if was is not None:
            _internal.is_controller = was


def fake_transport(fake, made=None):
    """A SigmaTransport stand-in whose clients are all `fake` (at the URL asked); `made` collects its settings."""
    from ansible_collections.sigma.media_server.plugins.module_utils._client import normalize_url

    class Transport(object):
        def __init__(self, **kwargs):
            if made is not None:
                made.append(kwargs)

        def client(self, url, environ=None):
            fake.url = fake.display_url = normalize_url(url)
            return fake

    return Transport
