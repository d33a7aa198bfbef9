# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one client of the Sigma Media Server JSON API.

Private to this collection: modules, the inventory plugin and roles use it;
users should not build on it.

A `SigmaTransport` holds what is shared by every server of a run: the pooled
`requests` session, ONE SSL context per (validate_certs, ca_path), auth,
headers, timeout and retry policy. A transport made for one request per server
(the inventory's `dump` of every server of a fleet) sends it with the standard
library's http.client instead, the same request on the wire, with the same
errors (see SigmaTransport.send). A `SigmaClient` is one server URL on a
transport. Every failure is a `SigmaError` subclass whose text names the
server URL and the function.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import ssl
import threading
import time
import traceback
import warnings
import zlib

from collections.abc import Mapping
from urllib.parse import urlsplit, urlunsplit
from urllib.request import getproxies

try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import NewConnectionError, ProtocolError, ReadTimeoutError
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised through missing_required_lib
    requests = None
    HTTPAdapter = object
    NewConnectionError = ProtocolError = ReadTimeoutError = Exception
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()

from ansible.module_utils.common.validation import check_type_dict
from ansible_collections.sigma.media_server.plugins.module_utils._ci import get_ci

DEFAULT_API_URL = 'http://localhost:9999'
DEFAULT_PORT = 9999
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 2
BODY_EXCERPT = 200

# URLs that preparing a request leaves as they are (no user info, nothing to quote or encode).
_AS_PREPARED = re.compile(r'\Ahttps?://[A-Za-z0-9.:\[\]-]+/[A-Za-z0-9._~/-]*\Z')

# Functions that can be sent again without changing the outcome.
SAFE_FUNCTIONS = frozenset(('dump', 'progress', 'info', 'stop'))
RETRY_STATUSES = frozenset((500, 502, 503, 504))


class SigmaError(Exception):
    """A call to a Sigma server failed. `kind` says how."""

    kind = 'error'

    def __init__(self, url, function, message, status=None, ec=None, body=None, reached=True):
        self.url = url
        self.reached = reached  # False when the request never got to the server
        self.function = function
        self.message = message
        self.status = status
        self.ec = ec
        self.body = body
        super(SigmaError, self).__init__('Sigma server %s, function %s: %s' % (url, function, message))

    def note(self, text):
        """Add `text` to the message."""
        self.message = '%s; %s' % (self.message, text)
        self.args = ('Sigma server %s, function %s: %s' % (self.url, self.function, self.message),)

    def to_dict(self):
        return dict(kind=self.kind, url=self.url, function=self.function, message=self.message,
                    status=self.status, ec=self.ec)


class SigmaConnectionError(SigmaError):
    kind = 'connection'


class SigmaTimeoutError(SigmaError):
    kind = 'timeout'


class SigmaHTTPError(SigmaError):
    kind = 'http'


class SigmaBodyError(SigmaError):
    kind = 'body'


class SigmaAPIError(SigmaError):
    kind = 'api'


def excerpt(data):
    """The first BODY_EXCERPT characters of a body, for error messages."""
    if isinstance(data, bytes):
        data = data.decode('utf-8', 'replace')
    data = ' '.join(str(data).split())
    return data[:BODY_EXCERPT] + ('...' if len(data) > BODY_EXCERPT else '')


HEADERS_ERROR = ('headers must be a dictionary of header names and values (from the environment variable '
                 'SIGMA_HEADERS: a JSON object, or NAME=VALUE pairs separated by commas)')


def header_dict(value):
    """The headers setting as a dictionary of texts ({} when not set). From SIGMA_HEADERS it is a JSON object or
    NAME=VALUE pairs, as a module's dict option reads it. Raises ValueError (HEADERS_ERROR) for anything else."""
    if value is None or value == '':
        return {}
    try:
        value = check_type_dict(value)
    except TypeError:
        value = None
    if not isinstance(value, Mapping):
        raise ValueError(HEADERS_ERROR)
    return dict((str(k), str(v)) for k, v in value.items())


def normalize_url(url, default_port=DEFAULT_PORT):
    """Add a scheme and the default port when missing; drop a trailing slash.

    Raises ValueError for something that is not an http(s) URL.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError('an API URL must be a non-empty string')
    url = url.strip()
    if '://' not in url:
        url = 'http://' + url
    parts = urlsplit(url)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise ValueError('%r is not an http:// or https:// URL' % url)
    if any(char.isspace() or ord(char) < 32 for char in parts.netloc):
        raise ValueError('%r has a space or a control character in its host part' % url)
    try:
        port = parts.port
    except ValueError:
        raise ValueError('%r has an invalid port' % url)
    netloc = parts.netloc
    if port is None:
        netloc = '%s:%d' % (netloc, default_port)
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip('/'), parts.query, ''))


def redact_url(url):
    """The URL without its user:password part, for messages and results."""
    parts = urlsplit(url)
    if '@' not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rsplit('@', 1)[1], parts.path, parts.query, parts.fragment))


def url_password(url):
    """The password part of a URL's user info, or None."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


_SSL_CONTEXTS = {}
_SSL_LOCK = threading.Lock()


def shared_ssl_context(validate_certs=True, ca_path=None, check_hostname=False):
    """ONE SSL context per (validate_certs, ca_path, check_hostname) for the whole process.

    Building a context costs tens of milliseconds of CPU on OpenSSL 3; a fleet
    run must not pay that per request or per server. urllib3 (requests) matches
    the host name itself and gets a context that does not; `check_hostname` is
    the context of http.client (SigmaTransport.send), which leaves the match to
    OpenSSL (IP addresses too).
    """
    ca_path = os.path.expanduser(ca_path) if ca_path else None  # '' (a blank AWX field) is no CA file
    key = (bool(validate_certs), ca_path if validate_certs else None, bool(validate_certs and check_hostname))
    ctx = _SSL_CONTEXTS.get(key)
    if ctx is None:
        with _SSL_LOCK:
            ctx = _SSL_CONTEXTS.get(key)
            if ctx is None:
                if validate_certs:
                    ctx = ssl.create_default_context(cafile=ca_path)
                    # urllib3 matches the host name (and IP address) itself when the context does
                    # not: urllib3 1.26 gives the context no server_hostname for an IP address, which
                    # a context that checks host names refuses ("check_hostname requires server_hostname")
                    ctx.check_hostname = key[2]
                else:
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                    ctx.check_hostname = False
                    ctx.verify_mode = ssl.CERT_NONE
                _SSL_CONTEXTS[key] = ctx
    return ctx


# requests >= 2.32 asks an adapter for the attributes of a connection pool (where the SSL context goes).
_POOL_KEY_ATTRIBUTES = hasattr(HTTPAdapter, 'build_connection_pool_key_attributes')


class _SharedContextAdapter(HTTPAdapter):
    """An HTTPS adapter whose connections all use the one shared SSL context.

    requests would otherwise hand urllib3 a CA bundle path, which makes every
    new connection load the bundle again.
    """

    def __init__(self, validate_certs, ca_path, **kwargs):
        self._validate_certs = validate_certs
        self._ca_path = ca_path
        super(_SharedContextAdapter, self).__init__(**kwargs)

    def _context(self):
        return shared_ssl_context(self._validate_certs, self._ca_path)

    # requests < 2.32 builds pools from these keyword arguments only (it has no
    # build_connection_pool_key_attributes): the context goes in here too. Newer
    # requests get it per pool, only for https (building it costs ~100 ms of CPU).
    def init_poolmanager(self, *args, **kwargs):
        if not _POOL_KEY_ATTRIBUTES:
            kwargs['ssl_context'] = self._context()
        super(_SharedContextAdapter, self).init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        proxy_kwargs['ssl_context'] = self._context()
        return super(_SharedContextAdapter, self).proxy_manager_for(proxy, **proxy_kwargs)

    def build_connection_pool_key_attributes(self, request, verify, cert=None):
        host_params, _pool_kwargs = super(_SharedContextAdapter, self).build_connection_pool_key_attributes(request, verify, cert)
        ctx = self._context()
        return host_params, dict(ssl_context=ctx, cert_reqs=ctx.verify_mode)

    def cert_verify(self, conn, url, verify, cert):
        conn.cert_reqs = self._context().verify_mode
        conn.ca_certs = None
        conn.ca_cert_dir = None


class SigmaTransport(object):
    """What every server of a run shares: session, pools, TLS, auth, policy."""

    def __init__(self, validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT, retries=DEFAULT_RETRIES,
                 username=None, password=None, headers=None, pool_size=10, backoff=0.2, use_proxy=True,
                 per_server=None, one_request=False):
        """`one_request`: every server is sent one request (a fleet-wide dump); see send."""
        if not HAS_REQUESTS:
            raise RuntimeError('the Python library requests is required')
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.one_request = bool(one_request)
        self.session = requests.Session()
        # Nothing from the environment but the proxy variables (see proxies_for): no netrc
        # credentials, no REQUESTS_CA_BUNDLE replacing ca_path.
        self.session.trust_env = False
        self.use_proxy = bool(use_proxy)
        self._no_proxy_at_all = None  # found out at the first proxies_for
        self.session.verify = bool(validate_certs)
        if not validate_certs:
            # the caller says so once (a module warning); urllib3 would say it per request
            warnings.filterwarnings('ignore', message='Unverified HTTPS request')
        self.session.headers.update({'Accept': 'application/json', 'Content-Type': 'application/json'})
        if headers:
            self.session.headers.update(dict((str(k), str(v)) for k, v in headers.items()))
        if username:  # an empty SIGMA_USERNAME (AWX injects every field, blank or not) is no user
            self.session.auth = (username, password or '')
        # pool_size servers at a time, each with per_server kept-alive connections (a fleet-wide run
        # that asks each server once needs one: a bigger per-server pool costs every new server)
        per_server = pool_size if per_server is None else max(1, int(per_server))
        self.session.mount('http://', HTTPAdapter(pool_connections=pool_size, pool_maxsize=per_server))
        self.session.mount('https://', _SharedContextAdapter(validate_certs, ca_path,
                                                             pool_connections=pool_size, pool_maxsize=per_server))
        self._prepared = {}  # method -> a request prepared once with the session's headers and auth

    def client(self, api_url, environ=None):
        """The client of one server; `environ` (default os.environ) is where its proxy variables are read."""
        return SigmaClient(api_url, self, environ)

    def proxies_for(self, url, environ=None):
        """The proxies for `url` from HTTP_PROXY, HTTPS_PROXY, ALL_PROXY and NO_PROXY (any case), as curl
        and ansible.builtin.uri read them; none when use_proxy is false or NO_PROXY matches the host.

        `environ` replaces os.environ: an action plugin gives the task's environment (its `environment:`
        keyword), which a module on the target would see in its own process environment.
        """
        if not self.use_proxy:
            return {}
        if environ is not None:
            return environ_proxies(url, environ)
        if self._no_proxy_at_all is None:
            # get_environ_proxies reads the whole environment twice per URL (a fleet-wide run: 0.1-0.2 ms a
            # server); with no proxy configured at all its answer is {} for every URL
            self._no_proxy_at_all = not getproxies()
        if self._no_proxy_at_all:
            return {}
        return requests.utils.get_environ_proxies(url)

    def send(self, method, url, data, timeout, proxies=None):
        """One HTTP request through the session's adapters; returns the requests Response.

        Session.request prepares every request again (headers merged, cookies, hooks, auth, URL parsed
        and quoted) and then follows redirects: for a fleet of one-shot calls that is most of the
        controller's CPU per server. Here a request is prepared once per method and copied with this
        call's URL and body; proxies and TLS verification are settled as Session.request settles them.
        A URL that preparing would change (user info, characters to quote) is prepared in full. A
        redirect is not followed: the API answers on its own endpoint, and a POST turned into a GET on
        another page would not be the call that was meant.

        A transport for one request per server (`one_request`) sends a request that goes straight to
        the server (no proxy) with http.client (_send_direct): the same request line, headers and body,
        on a connection of its own closed after the answer; urllib3's pools, retry and response layers
        cost twice as much CPU per server as the request itself, and each server is asked once.
        """
        session = self.session
        cacheable = _AS_PREPARED.match(url) is not None
        template = self._prepared.get(method) if cacheable else None
        prepared = None
        if template is None:
            prepared = session.prepare_request(requests.Request(method, url, data=data))
            if cacheable and prepared.url == url:
                template = self._prepared[method] = prepared.copy()
        if self.one_request and template is not None and not proxies:
            return self._send_direct(method, url, data, timeout, template.headers)
        if prepared is None:
            prepared = template.copy()
            prepared.url = url
            prepared.prepare_body(data, None)
        settings = session.merge_environment_settings(url, proxies or {}, False, session.verify, None)
        return session.get_adapter(url).send(prepared, timeout=timeout, **settings)

    def _send_direct(self, method, url, data, timeout, headers):
        """send() with http.client: what requests would send, read whole; its failures as requests raises them.

        `headers` are the session's, prepared once (auth included); the body's length is this call's. A
        connection that cannot be made raises ConnectTimeout or ConnectionError(NewConnectionError), one
        that fails after the request may have reached the server ConnectionError(ProtocolError) or
        ReadTimeout, a TLS failure SSLError: SigmaClient._attempt reads them as it reads requests' own.
        """
        parts = urlsplit(url)
        body = data.encode('utf-8') if isinstance(data, str) else data
        headers = headers.copy()
        if body is not None:
            headers['Content-Length'] = str(len(body))
        elif method in ('GET', 'HEAD'):
            headers.pop('Content-Length', None)
        else:
            headers['Content-Length'] = '0'
        connect_timeout, read_timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        if parts.scheme == 'https':
            conn = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=connect_timeout,
                                               context=shared_ssl_context(self.validate_certs, self.ca_path,
                                                                          check_hostname=True))
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=connect_timeout)
        where = '%s://%s' % (parts.scheme, parts.netloc)
        try:
            try:
                conn.connect()  # TCP, and TLS with the certificate checked
            except (socket.timeout, TimeoutError) as exc:
                raise requests.exceptions.ConnectTimeout('%s: connection timed out (connect timeout=%s): %s'
                                                         % (where, connect_timeout, exc))
            except ssl.SSLError as exc:
                raise requests.exceptions.SSLError('%s: %s' % (where, exc))
            except OSError as exc:
                raise requests.exceptions.ConnectionError(NewConnectionError(
                    None, '%s: Failed to establish a new connection: %s' % (where, exc)))
            try:
                conn.sock.settimeout(read_timeout)
                conn.request(method, parts.path or '/', body, headers)
                resp = conn.getresponse()
                answer = _Answer(resp.status, resp.reason, resp.read())
                encoding = (resp.getheader('Content-Encoding') or '').strip().lower()
            except (socket.timeout, TimeoutError) as exc:
                raise requests.exceptions.ReadTimeout('%s: read timed out (read timeout=%s): %s'
                                                      % (where, read_timeout, exc))
            except ssl.SSLError as exc:
                raise requests.exceptions.SSLError('%s: %s' % (where, exc))
            except (http.client.HTTPException, OSError) as exc:
                raise requests.exceptions.ConnectionError(ProtocolError('Connection aborted.', exc))
        finally:
            conn.close()
        if encoding in ('gzip', 'deflate'):  # the session asks for them (Accept-Encoding), as requests does
            try:
                answer.content = zlib.decompress(answer.content, 16 + zlib.MAX_WBITS if encoding == 'gzip'
                                                 else zlib.MAX_WBITS)
            except zlib.error:
                try:
                    answer.content = zlib.decompress(answer.content, -zlib.MAX_WBITS)  # raw deflate
                except zlib.error as exc:
                    raise requests.exceptions.ContentDecodingError('%s: the %s answer cannot be decoded: %s'
                                                                   % (where, encoding, exc))
        return answer

    def close(self):
        self.session.close()


class _Answer(object):
    """What SigmaClient reads of an answer sent by _send_direct, by the names of a requests Response."""

    __slots__ = ('status_code', 'reason', 'content')

    def __init__(self, status_code, reason, content):
        self.status_code = status_code
        self.reason = reason
        self.content = content


def environ_proxies(url, environ):
    """requests.utils.get_environ_proxies(url) with the variables of `environ` instead of os.environ.

    As urllib reads them: any case, the lower-case spelling wins, empty values are ignored.
    """
    proxies = {}
    for lower_only in (False, True):
        for name, value in environ.items():
            lname = name.lower()
            if value and lname.endswith('_proxy') and (not lower_only or name == lname):
                proxies[lname[:-len('_proxy')]] = value
    no_proxy = proxies.get('no', '')  # requests keeps it in what it returns too
    if requests.utils.should_bypass_proxies(url, no_proxy=no_proxy):
        return {}
    return proxies


def _is_connect_failure(exc):
    """True when the request never reached the server (safe to send again)."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(exc, requests.exceptions.ConnectionError):
        reason = exc.args[0] if exc.args else None
        reason = getattr(reason, 'reason', reason)
        if isinstance(exc, requests.exceptions.ProxyError):
            # the proxy could not be reached: the request never left this machine
            return any(type(arg).__name__ in ('NewConnectionError', 'NameResolutionError')
                       for arg in getattr(reason, 'args', ()))
        return type(reason).__name__ in ('NewConnectionError', 'NameResolutionError')
    return False


def _describe_connection_error(exc):
    text = str(exc)
    lowered = text.lower()
    if isinstance(exc, requests.exceptions.ProxyError):
        return 'proxy error: %s (the proxy comes from the HTTP_PROXY/HTTPS_PROXY environment variables; ' \
               'set use_proxy=false, or list the server in NO_PROXY, to connect directly)' % excerpt(text)
    if 'certificate verify failed' in lowered or isinstance(exc, requests.exceptions.SSLError):
        found = re.search(r'certificate verify failed[^(\'")\]]*', text)
        return 'TLS error: %s (set ca_path to the CA that signed the server certificate, ' \
               'or validate_certs=false to skip verification)' % (found.group(0).strip() if found else excerpt(text))
    if 'connection refused' in lowered:
        return 'connection refused'
    if 'reset by peer' in lowered or 'remotedisconnected' in lowered or 'aborted' in lowered:
        return 'connection reset by the server before it answered'
    if 'name or service not known' in lowered or 'nodename nor servname' in lowered or 'resolution' in lowered:
        return 'host name could not be resolved'
    return 'connection failed: %s' % excerpt(text)


class SigmaClient(object):
    """One Sigma Media Server, reached through a transport."""

    def __init__(self, api_url, transport, environ=None):
        self.url = normalize_url(api_url)
        self.display_url = redact_url(self.url)
        self.transport = transport
        self.endpoint = self.url + '/'
        self.proxies = transport.proxies_for(self.endpoint, environ)

    def _attempt(self, function, method, data, timeout, nominal):
        try:
            resp = self.transport.send(method, self.endpoint, None if method == 'GET' else data, (timeout, timeout),
                                       self.proxies)
            body = resp.content  # read here: a body that stops coming is a timeout too
        except requests.exceptions.Timeout as exc:
            connecting = isinstance(exc, requests.exceptions.ConnectTimeout)
            raise SigmaTimeoutError(self.display_url, function, 'no %s within %.3g s (timeout)'
                                    % ('connection' if connecting else 'answer', nominal), reached=not connecting)
        except requests.exceptions.RequestException as exc:
            if exc.args and isinstance(exc.args[0], ReadTimeoutError):  # requests' way to say it of a body
                raise SigmaTimeoutError(self.display_url, function, 'no answer within %.3g s (timeout)' % nominal)
            raise SigmaConnectionError(self.display_url, function, _describe_connection_error(exc),
                                       reached=not _is_connect_failure(exc))
        if resp.status_code == 401 or resp.status_code == 403:
            raise SigmaHTTPError(self.display_url, function, 'HTTP %d %s: authentication refused (check username/password/headers): %s'
                                 % (resp.status_code, resp.reason, excerpt(body)), status=resp.status_code, body=excerpt(body))
        if not 200 <= resp.status_code < 300:
            raise SigmaHTTPError(self.display_url, function, 'HTTP %d %s: %s' % (resp.status_code, resp.reason, excerpt(body)),
                                 status=resp.status_code, body=excerpt(body))
        try:
            doc = json.loads(body)
        except ValueError:
            raise SigmaBodyError(self.display_url, function, 'the answer is not JSON: %s' % excerpt(body), body=excerpt(body))
        if not isinstance(doc, dict):
            raise SigmaBodyError(self.display_url, function, 'the answer is not a JSON object: %s' % excerpt(body), body=excerpt(body))
        return doc

    def call(self, function, payload=None, method='POST', timeout=None):
        """Send one function; return the decoded answer (a dict) when `ec` is 0.

        Safe functions are retried on connection failures, timeouts and 5xx;
        others only when the request never reached the server. The whole call
        ends within timeout x (retries + 1) plus the backoff pauses.
        """
        body = dict(payload or {})
        body['type'] = function
        data = json.dumps(body, separators=(',', ':'))
        transport = self.transport
        safe = function in SAFE_FUNCTIONS
        per_attempt = float(timeout or transport.timeout)
        started = time.monotonic()
        deadline = started + per_attempt * (transport.retries + 1)
        attempt = 0
        while True:
            try:
                doc = self._attempt(function, method, data, max(0.05, min(per_attempt, deadline - time.monotonic())),
                                    per_attempt)
                break
            except SigmaError as err:
                retryable = not err.reached or (safe and (
                    isinstance(err, (SigmaConnectionError, SigmaTimeoutError))
                    or (isinstance(err, SigmaHTTPError) and err.status in RETRY_STATUSES)))
                pause = transport.backoff * (2 ** attempt)
                if not retryable or attempt >= transport.retries or time.monotonic() + pause >= deadline:
                    if attempt:
                        err.note('gave up after %d attempts in %.1f s' % (attempt + 1, time.monotonic() - started))
                    raise
                attempt += 1
                time.sleep(pause)
        ec = get_ci(doc, 'ec', 0)
        if ec not in (0, '0', None):
            msg = get_ci(doc, 'msg') or 'no message'
            raise SigmaAPIError(self.display_url, function, 'the server answered ec=%s: %s' % (ec, excerpt(msg)), ec=ec)
        return doc

    # The documented functions the collection uses.

    def dump(self):
        return self.call('dump')

    def progress(self, name='*', mode=None):
        payload = {'name': name}
        if mode:
            payload['mode'] = mode
        return self.call('progress', payload)

    def start(self, job):
        return self.call('start', job)

    def stop(self, name, mode=None):
        payload = {'name': name}
        if mode:
            payload['mode'] = mode
        return self.call('stop', payload)

    def update(self, name, filter_name, item_id, changed, mode='live'):
        return self.call('update', {'name': name, 'mode': mode, 'filter': filter_name, 'id': item_id, 'changed': changed})

    def info(self, input_url, timeout=None, detect_keyframes=False):
        payload = {'input': input_url, 'detectKeyframe': 1 if detect_keyframes else 0}
        read_timeout = None
        if timeout is not None:
            payload['timeout'] = timeout
            # the server may probe for `timeout` seconds before it answers
            read_timeout = max(self.transport.timeout, float(timeout) + 2)
        return self.call('info', payload, timeout=read_timeout)
