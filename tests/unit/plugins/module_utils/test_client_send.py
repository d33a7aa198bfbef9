# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SigmaTransport.send: a request prepared once and copied per call, as Session.request would send it.

Local HTTP servers record what they receive: method, path, headers, body, one request per call
(`recorders`, module_utils/conftest.py).
"""

from __future__ import annotations

import base64
import json

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from ansible_collections.sigma.media_server.plugins.module_utils._client import SigmaHTTPError, SigmaTimeoutError, SigmaTransport


def test_every_call_sends_one_request_with_the_session_headers_auth_and_its_own_body(recorders, monkeypatch):
    servers = [recorders() for _count in range(5)]
    transport = SigmaTransport(timeout=5, retries=0, username='ops', password='pw', headers={'X-Token': 't1'},
                               pool_size=4, per_server=1)
    prepared = []
    real_prepare = transport.session.prepare_request
    monkeypatch.setattr(transport.session, 'prepare_request', lambda request: prepared.append(request) or
                        real_prepare(request))
    for index, server in enumerate(servers):
        answer = transport.client(server.url).call('progress', {'name': 'ch-%d' % index})
        assert answer['port'] == server.port
    transport.client(servers[0].url).call('dump', method='GET')
    assert len(prepared) == 2, 'a request is prepared once per method, then copied'
    for index, server in enumerate(servers):
        first = server.requests[0]
        assert first['method'] == 'POST' and first['path'] == '/'
        assert json.loads(first['body']) == {'name': 'ch-%d' % index, 'type': 'progress'}
        assert first['headers']['content-length'] == str(len(first['body']))
        assert first['headers']['content-type'] == 'application/json'
        assert first['headers']['accept'] == 'application/json'
        assert first['headers']['x-token'] == 't1'
        assert first['headers']['authorization'] == 'Basic ' + base64.b64encode(b'ops:pw').decode()
        assert first['headers']['host'] == '127.0.0.1:%d' % server.port
    assert [len(s.requests) for s in servers] == [2, 1, 1, 1, 1]
    get = servers[0].requests[1]
    assert get['method'] == 'GET' and get['body'] == b'' and 'content-length' not in get['headers']


def test_a_url_with_user_info_is_prepared_in_full(recorders):
    server = recorders()
    transport = SigmaTransport(timeout=5, retries=0)
    transport.client('http://u1:p%%401@127.0.0.1:%d' % server.port).call('dump')
    transport.client(server.url).call('dump')
    assert server.requests[0]['headers']['authorization'] == 'Basic ' + base64.b64encode(b'u1:p@1').decode()
    assert 'authorization' not in server.requests[1]['headers']  # nothing of the first call stuck


def test_a_redirect_is_an_error_and_not_followed(recorders):
    target = recorders()
    redirecting = recorders(lambda handler: (302, {'Location': target.url + '/login'}, b'moved'))
    with pytest.raises(SigmaHTTPError) as err:
        SigmaTransport(timeout=5, retries=0).client(redirecting.url).call('dump')
    assert 'HTTP 302' in str(err.value)
    assert len(redirecting.requests) == 1 and target.requests == []


def test_cookies_of_an_answer_are_not_sent_back(recorders):
    server = recorders(lambda handler: (200, {'Set-Cookie': 'session=abc; Path=/'}, b'{"ec": 0}'))
    client = SigmaTransport(timeout=5, retries=0).client(server.url)
    client.call('dump')
    client.call('dump')
    assert [r['headers'].get('cookie') for r in server.requests] == [None, None]


def test_proxies_from_the_environment_with_use_proxy(recorders, monkeypatch):
    """The proxy settings reach the request as Session.request would pass them (use_proxy, NO_PROXY)."""
    proxy = recorders()
    server = recorders()
    monkeypatch.setenv('HTTP_PROXY', proxy.url)
    monkeypatch.delenv('NO_PROXY', raising=False)
    monkeypatch.delenv('no_proxy', raising=False)
    SigmaTransport(timeout=5, retries=0, use_proxy=False).client(server.url).call('dump')
    assert len(server.requests) == 1 and proxy.requests == []

    SigmaTransport(timeout=5, retries=0).client(server.url).call('dump')
    assert proxy.requests[0]['path'] == server.url + '/'  # through the proxy, absolute URL
    monkeypatch.setenv('NO_PROXY', '127.0.0.1')
    SigmaTransport(timeout=5, retries=0).client(server.url).call('dump')
    assert len(proxy.requests) == 1 and len(server.requests) == 2


@pytest.mark.parametrize('path', ['/a%20b', '/sigma/ä', '/x?y=1'])
def test_a_url_that_preparing_would_change_is_prepared_in_full(path):
    """What goes on the wire is what requests would send: the fast copy is only taken for URLs prepared as they are."""
    transport = SigmaTransport(timeout=5, retries=0)
    url = 'http://127.0.0.1:1' + path
    sent = {}

    class Adapter(requests.adapters.HTTPAdapter):
        def send(self, request, **kwargs):
            sent['url'] = request.url
            raise requests.exceptions.ConnectionError('not sent')

    transport.session.mount('http://', Adapter())
    with pytest.raises(requests.exceptions.ConnectionError):
        transport.send('POST', url, '{}', (1, 1))
    assert sent['url'] == requests.Request('POST', url, data='{}').prepare().url


def test_many_threads_many_servers(recorders):
    servers = [recorders() for _count in range(12)]
    transport = SigmaTransport(timeout=5, retries=0, pool_size=4, per_server=1)

    def call(index):
        server = servers[index % len(servers)]
        return server.port, transport.client(server.url).call('progress', {'name': 'n%d' % index})['port']
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(call, range(96)))
    assert all(asked == answered for asked, answered in answers)
    assert sorted(json.loads(r['body'])['name'] for s in servers for r in s.requests) == \
        sorted('n%d' % i for i in range(96))


def test_without_any_proxy_variable_no_url_reads_the_environment(monkeypatch):
    """get_environ_proxies reads the whole environment for every URL: with no proxy set at all, it is not asked."""
    import urllib.request
    for name in list(urllib.request.getproxies_environment()):
        for variable in (name + '_proxy', (name + '_proxy').upper()):
            monkeypatch.delenv(variable, raising=False)
    asked = []
    real = requests.utils.get_environ_proxies
    monkeypatch.setattr(requests.utils, 'get_environ_proxies', lambda url, *a, **k: asked.append(url) or real(url, *a, **k))
    transport = SigmaTransport(timeout=5, retries=0)
    assert [transport.client('http://10.0.0.%d' % i).proxies for i in range(1, 4)] == [{}, {}, {}]
    assert asked == []
    monkeypatch.setenv('HTTPS_PROXY', 'http://proxy.example.net:3128')
    monkeypatch.setenv('NO_PROXY', '10.0.0.2')
    transport = SigmaTransport(timeout=5, retries=0)
    assert transport.client('https://10.0.0.1').proxies['https'] == 'http://proxy.example.net:3128'
    assert transport.client('https://10.0.0.2').proxies == {}
    assert len(asked) == 2


# ---------------------------------------------------------------- one request per server (http.client)

def _sent(server, one_request, **kwargs):
    transport = SigmaTransport(timeout=5, retries=0, one_request=one_request, **kwargs)
    client = transport.client(server.url)
    client.call('progress', {'name': 'ch-1'})
    client.call('dump', method='GET')
    return server.requests[-2:]


def test_one_request_sends_what_requests_sends(recorders):
    """The same request line, headers (the session's, auth included) and body on both ways of sending."""
    server = recorders()
    settings = dict(username='ops', password='pw', headers={'X-Token': 't1', 'User-Agent': 'fleet-tool'})
    through_requests = _sent(server, False, **settings)
    direct = _sent(server, True, **settings)
    assert direct == through_requests
    assert direct[0]['headers']['authorization'] == 'Basic ' + base64.b64encode(b'ops:pw').decode()
    assert direct[0]['headers']['user-agent'] == 'fleet-tool'
    assert 'content-length' not in direct[1]['headers']


def test_one_request_goes_around_requests_adapters_unless_a_proxy_is_set(recorders, monkeypatch):
    server = recorders()
    proxy = recorders()
    for name in ('HTTP_PROXY', 'http_proxy', 'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy'):
        monkeypatch.delenv(name, raising=False)
    transport = SigmaTransport(timeout=5, retries=0, one_request=True)

    def no_adapter(url):
        raise AssertionError('requests adapter asked for %s' % url)
    monkeypatch.setattr(transport.session, 'get_adapter', no_adapter)
    assert transport.client(server.url).call('dump')['port'] == server.port
    # a proxy is requests' business: the request goes through it, as on the other way
    monkeypatch.setenv('HTTP_PROXY', proxy.url)
    transport = SigmaTransport(timeout=5, retries=0, one_request=True)
    transport.client(server.url).call('dump')
    assert [r['path'] for r in proxy.requests] == [server.url + '/'] and len(server.requests) == 1


@pytest.mark.parametrize('encoding', ['gzip', 'deflate'])
def test_one_request_reads_a_compressed_answer(recorders, encoding):
    """The session asks for gzip and deflate (Accept-Encoding), as requests does: an answer so encoded is read."""
    import zlib
    body = b'{"ec": 0, "result": {"name": "sigma-1"}}'
    compressor = zlib.compressobj(wbits=16 + zlib.MAX_WBITS if encoding == 'gzip' else zlib.MAX_WBITS)
    data = compressor.compress(body) + compressor.flush()
    server = recorders(lambda handler: (200, {'Content-Encoding': encoding}, data))
    for one_request in (False, True):
        assert SigmaTransport(timeout=5, retries=0, one_request=one_request).client(server.url).call('dump') == \
            {'ec': 0, 'result': {'name': 'sigma-1'}}


@pytest.mark.parametrize('one_request', [False, True])
def test_a_body_that_stops_coming_is_a_timeout(recorders, one_request):
    """An answer whose body stalls after the headers: a timeout naming the server, within the timeout (requests
    raised its ConnectionError of a read timeout from reading the body, past the client's error handling)."""
    import time

    def stall(handler):
        handler.send_response(200)
        handler.send_header('Content-Length', '100')
        handler.end_headers()
        handler.wfile.write(b'{"ec": 0,')
        handler.wfile.flush()
        time.sleep(1.5)
    server = recorders(stall)
    started = time.monotonic()
    with pytest.raises(SigmaTimeoutError) as err:
        SigmaTransport(timeout=0.3, retries=0, one_request=one_request).client(server.url).call('dump')
    assert time.monotonic() - started < 1.2
    assert 'no answer within' in str(err.value) and server.url in str(err.value)
