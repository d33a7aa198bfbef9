# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared client against a local fake server: errors, retries, TLS context, auth.

Every test runs on both ways a transport sends: through requests (modules, plugins) and, for a transport of
one request per server (the inventory's dumps), with http.client (SigmaTransport._send_direct).
"""

from __future__ import annotations

import os
import socket
import time

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils import _client
from ansible_collections.sigma.media_server.plugins.module_utils._client import (
    SigmaAPIError, SigmaBodyError, SigmaConnectionError, SigmaHTTPError, SigmaTimeoutError, SigmaTransport,
    normalize_url, redact_url, shared_ssl_context, url_password,
)
from ansible_collections.sigma.media_server.tests.unit.utils import FakeSigma


pytestmark = pytest.mark.usefixtures('both_send_paths')


@pytest.fixture
def server():
    srv = FakeSigma().serve()
    yield srv
    srv.close()


def make_client(url, **kwargs):
    kwargs.setdefault('timeout', 0.5)
    kwargs.setdefault('retries', 2)
    kwargs.setdefault('backoff', 0.01)
    return SigmaTransport(**kwargs).client(url)


def test_call_sends_type_and_returns_answer(server):
    server.queue.append((200, 'application/json', {'ec': 0, 'result': {'vtv3': 'done'}, 'dt': 3}))
    answer = make_client(server.url).start({'name': 'vtv3', 'mode': 'live'})
    assert answer['result'] == {'vtv3': 'done'}
    assert server.requests[0]['body'] == {'name': 'vtv3', 'mode': 'live', 'type': 'start'}


def test_ec_error_names_server_and_function(server):
    server.queue.append((200, 'application/json', {'EC': 7, 'Msg': 'license not valid'}))
    with pytest.raises(SigmaAPIError) as err:
        make_client(server.url).start({'name': 'a', 'mode': 'live'})
    text = str(err.value)
    assert server.url in text and 'start' in text and 'ec=7' in text and 'license not valid' in text
    assert len(server.requests) == 1


def test_html_from_proxy_is_http_error_with_excerpt(server):
    page = b'<html><head><title>502 Bad Gateway</title></head><body>' + b'x' * 500 + b'</body></html>'
    server.queue.extend([(502, 'text/html', page)] * 3)
    with pytest.raises(SigmaHTTPError) as err:
        make_client(server.url).dump()
    assert err.value.status == 502
    assert '502 Bad Gateway' in str(err.value)
    assert len(err.value.body) <= _client.BODY_EXCERPT + 3
    # dump is safe to repeat: first try + 2 retries
    assert len(server.requests) == 3


def test_unsafe_call_is_not_repeated_after_it_reached_the_server(server):
    server.queue.extend([(500, 'text/plain', b'boom')] * 3)
    with pytest.raises(SigmaHTTPError):
        make_client(server.url).start({'name': 'a', 'mode': 'live'})
    assert len(server.requests) == 1


def test_retry_recovers_a_safe_call(server):
    server.queue.extend([(503, 'text/plain', b'busy'), (200, 'application/json', {'ec': 0, 'result': {}, 'total': 0})])
    answer = make_client(server.url).progress('*')
    assert answer['total'] == 0
    assert len(server.requests) == 2


def test_body_that_is_not_json(server):
    server.queue.append((200, 'text/plain', b'hello, not json'))
    with pytest.raises(SigmaBodyError) as err:
        make_client(server.url, retries=0).dump()
    assert 'not JSON' in str(err.value) and 'hello, not json' in str(err.value)


def test_timeout_is_bounded(server):
    server.queue.extend(['hang', 'hang'])
    client = make_client(server.url, timeout=0.3, retries=1)
    started = time.monotonic()
    with pytest.raises(SigmaTimeoutError) as err:
        client.dump()
    elapsed = time.monotonic() - started
    assert elapsed < 0.3 * 2 + 1
    assert 'no answer within' in str(err.value) and 'gave up after 2 attempts' in str(err.value)
    assert server.url in str(err.value)


def test_connection_refused_names_the_server():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    url = 'http://127.0.0.1:%d' % port
    with pytest.raises(SigmaConnectionError) as err:
        make_client(url, retries=1).start({'name': 'a', 'mode': 'live'})
    assert 'connection refused' in str(err.value) and url in str(err.value)
    assert err.value.reached is False


def test_connection_reset(server):
    server.queue.extend(['reset'] * 3)
    with pytest.raises(SigmaConnectionError) as err:
        make_client(server.url, retries=0).dump()
    assert server.url in str(err.value)


def test_auth_and_headers_are_sent(server):
    make_client(server.url, username='sigma', password='s3cret', headers={'X-Token': 'abc'}).dump()
    headers = server.requests[0]['headers']
    assert headers['Authorization'].startswith('Basic ')
    assert headers['X-Token'] == 'abc'


def test_ssl_context_is_shared():
    first = shared_ssl_context(False, None)
    assert shared_ssl_context(False, None) is first
    assert shared_ssl_context(False, '/ignored/when/not/validating') is first
    verified = shared_ssl_context(True, None)
    assert verified is not first and shared_ssl_context(True, None) is verified
    t1 = SigmaTransport(validate_certs=False)
    t2 = SigmaTransport(validate_certs=False)
    assert t1.session.get_adapter('https://a:1/')._context() is t2.session.get_adapter('https://b:2/')._context()


@pytest.mark.parametrize('given, expected', [
    ('10.0.0.5', 'http://10.0.0.5:9999'),
    ('https://sigma.example.com/', 'https://sigma.example.com:9999'),
    ('http://h:8080', 'http://h:8080'),
    ('http://u:p@h', 'http://u:p@h:9999'),
])
def test_normalize_url(given, expected):
    assert normalize_url(given) == expected


@pytest.mark.parametrize('bad', ['', 'ftp://h', 'http://', 'http://h:99999', 'http://bad host:1', 'http://h\x01x:1'])
def test_normalize_url_refuses(bad):
    with pytest.raises(ValueError):
        normalize_url(bad)


def test_redaction_of_user_info():
    assert redact_url('http://u:pw@h:9999/x') == 'http://h:9999/x'
    assert url_password('http://u:pw@h:9999') == 'pw'
    assert url_password('http://h:9999') is None
    client = make_client('http://u:pw@127.0.0.1:1', retries=0)
    with pytest.raises(SigmaConnectionError) as err:
        client.dump()
    assert 'pw' not in str(err.value)


@pytest.mark.parametrize('environ', [
    {},
    {'HTTPS_PROXY': 'http://proxy:3128'},
    {'https_proxy': 'http://lower:3128', 'HTTPS_PROXY': 'http://upper:3128', 'HTTP_PROXY': 'http://p:1'},
    {'ALL_PROXY': 'http://all:1', 'NO_PROXY': 'sigma.example.com'},
    {'HTTPS_PROXY': 'http://proxy:3128', 'no_proxy': '.example.com'},
    {'HTTPS_PROXY': 'http://proxy:3128', 'NO_PROXY': '10.0.0.0/8'},
    {'HTTPS_PROXY': '', 'HTTP_PROXY': 'http://p:1'},
])
@pytest.mark.parametrize('url', ['https://sigma.example.com:9999/', 'http://10.1.2.3:9999/', 'http://other.test:9999/'])
def test_proxies_from_a_task_environment_are_those_requests_reads(monkeypatch, environ, url):
    for name in list(os.environ):
        if name.lower().endswith('_proxy'):
            monkeypatch.delenv(name)
    expected_transport = SigmaTransport()
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    expected = expected_transport.proxies_for(url)
    for name in environ:
        monkeypatch.delenv(name)
    assert _client.environ_proxies(url, environ) == expected
    assert SigmaTransport().client(url, environ).proxies == expected
    assert SigmaTransport(use_proxy=False).client(url, environ).proxies == {}


def test_a_transport_builds_no_ssl_context_until_an_https_pool_needs_it(monkeypatch, server):
    built = []
    monkeypatch.setattr(_client, '_SSL_CONTEXTS', {})
    real = _client.ssl.create_default_context
    monkeypatch.setattr(_client.ssl, 'create_default_context', lambda *a, **k: built.append(a) or real(*a, **k))
    transport = SigmaTransport(validate_certs=True)
    transport.client(server.url).dump()  # an http server: no TLS
    if not _client._POOL_KEY_ATTRIBUTES:  # requests < 2.32: the pool manager needs it from the start
        assert len(built) == 1
        return
    assert built == []
    transport.session.get_adapter('https://h:1/').build_connection_pool_key_attributes(
        _client.requests.Request('GET', 'https://h:1/').prepare(), True)
    assert len(built) == 1
