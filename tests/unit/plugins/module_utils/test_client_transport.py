# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client's transport against real local servers: TLS with a CA of our own, and an HTTP proxy.

These run on every requests/urllib3 pair the collection supports (the `.venv-floor` CI leg runs them
at the floor of requirements.txt): ca_path must verify a server named by IP address and by host name,
a certificate for another name must be refused, and the proxy variables must be honoured, and only them.
"""

from __future__ import annotations

import os
import select
import shutil
import socket
import ssl
import subprocess

from http.client import HTTPConnection
from urllib.parse import urlsplit

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils._client import (
    SigmaConnectionError, SigmaTransport,
)

PROXY_VARIABLES = ('http_proxy', 'https_proxy', 'all_proxy', 'no_proxy')

# each test on both ways a transport sends: through requests, and with http.client (one request per server)
pytestmark = pytest.mark.usefixtures('both_send_paths')


def openssl(*args, cwd):
    subprocess.run(('openssl',) + args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture(scope='module')
def pki(tmp_path_factory):
    """A CA and two server certificates it signed: one for localhost/127.0.0.1, one for another name."""
    if shutil.which('openssl') is None:
        pytest.fail('the openssl command is needed to make the test certificates')
    d = str(tmp_path_factory.mktemp('pki'))
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
            '-subj', '/CN=sigma test CA', cwd=d)
    for name, san in (('good', 'DNS:localhost,IP:127.0.0.1'), ('other', 'DNS:sigma.invalid')):
        openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', name + '.key', '-out', name + '.csr',
                '-subj', '/CN=%s' % san.split(',', maxsplit=1)[0].split(':')[1], cwd=d)
        with open(os.path.join(d, name + '.ext'), 'w') as ext:
            ext.write('subjectAltName=%s\n' % san)
        openssl('x509', '-req', '-in', name + '.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
                '-out', name + '.pem', '-days', '2', '-extfile', name + '.ext', cwd=d)
    return d


def tls(pki_dir, cert='good'):
    """A server TLS context with one of the pki's certificates."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(pki_dir, cert + '.pem'), os.path.join(pki_dir, cert + '.key'))
    return ctx


def relay(handler):
    """A tiny forward proxy's answer (for a RecordingServer): an absolute-URI request for http:// sent on to
    its server, a CONNECT tunnel for https://."""
    if handler.command == 'CONNECT':
        tunnel(handler)
        return None
    target = urlsplit(handler.path)
    upstream = HTTPConnection(target.hostname, target.port, timeout=5)
    try:
        headers = dict((k, v) for k, v in handler.headers.items() if not k.lower().startswith('proxy-'))
        upstream.request(handler.command, target.path or '/', body=handler.body, headers=headers)
        answer = upstream.getresponse()
        return answer.status, {'Content-Type': answer.getheader('Content-Type', 'application/json')}, answer.read()
    finally:
        upstream.close()


def tunnel(handler):
    host, port = handler.path.rsplit(':', 1)
    upstream = socket.create_connection((host, int(port)), timeout=5)
    handler.send_response(200, 'Connection established')
    handler.end_headers()
    sockets = [handler.connection, upstream]
    try:
        while True:
            readable, _w, _x = select.select(sockets, [], [], 5)
            if not readable:
                break
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is handler.connection else handler.connection).sendall(data)
    finally:
        upstream.close()
        handler.close_connection = True


def seen(proxy):
    """What reached the proxy: (method, target) per request."""
    return [(r['method'], r['path']) for r in proxy.requests]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No proxy, netrc or CA bundle from the machine running the tests."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name in ('REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'NETRC'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv('HOME', str(tmp_path))


@pytest.fixture
def http_server(recorders):
    """A Sigma-like endpoint; records the requests that reach it (RecordingServer, tests/unit/utils.py)."""
    return recorders()


@pytest.fixture
def https_server(recorders, pki):
    return recorders(tls=tls(pki))


@pytest.fixture
def proxy(recorders):
    return recorders(relay)


def dump(url, **kwargs):
    kwargs.setdefault('timeout', 5)
    kwargs.setdefault('retries', 0)
    transport = SigmaTransport(**kwargs)
    try:
        return transport.client(url).dump()
    finally:
        transport.close()


# ---------------------------------------------------------------- TLS

@pytest.mark.parametrize('host', ['127.0.0.1', 'localhost'])
def test_ca_path_verifies_a_server_named_by_ip_address_or_host_name(pki, https_server, host):
    answer = dump('https://%s:%d' % (host, https_server.port), ca_path=os.path.join(pki, 'ca.pem'))
    assert answer['port'] == https_server.port
    assert len(https_server.requests) == 1


def test_without_ca_path_the_certificate_is_refused(https_server):
    with pytest.raises(SigmaConnectionError) as err:
        dump(https_server.url)
    assert 'certificate verify failed' in str(err.value)
    assert https_server.requests == []


def test_a_certificate_for_another_name_is_refused_even_from_the_right_ca(pki, recorders):
    srv = recorders(tls=tls(pki, cert='other'))
    with pytest.raises(SigmaConnectionError) as err:
        dump(srv.url, ca_path=os.path.join(pki, 'ca.pem'))
    text = str(err.value).lower()
    assert 'mismatch' in text or "doesn't match" in text or 'does not match' in text, text
    assert srv.requests == []
    # without verification the same server answers
    assert dump(srv.url, validate_certs=False)['ec'] == 0


def test_a_ca_bundle_from_the_environment_does_not_replace_ca_path(https_server, pki, monkeypatch):
    monkeypatch.setenv('REQUESTS_CA_BUNDLE', os.path.join(pki, 'ca.pem'))
    monkeypatch.setenv('CURL_CA_BUNDLE', os.path.join(pki, 'ca.pem'))
    with pytest.raises(SigmaConnectionError, match='certificate verify failed'):
        dump(https_server.url)


# ---------------------------------------------------------------- proxy

@pytest.mark.parametrize('variable', ['HTTP_PROXY', 'http_proxy', 'ALL_PROXY'])
def test_http_goes_through_the_proxy_from_the_environment(http_server, proxy, monkeypatch, variable):
    monkeypatch.setenv(variable, proxy.url)
    assert dump(http_server.url)['ec'] == 0
    assert seen(proxy) == [('POST', http_server.url + '/')]
    assert len(http_server.requests) == 1


def test_https_is_tunnelled_through_the_proxy_and_still_verified(https_server, proxy, pki, monkeypatch):
    monkeypatch.setenv('HTTPS_PROXY', proxy.url)
    assert dump(https_server.url, ca_path=os.path.join(pki, 'ca.pem'))['ec'] == 0
    assert seen(proxy) == [('CONNECT', '127.0.0.1:%d' % https_server.port)]
    with pytest.raises(SigmaConnectionError, match='certificate verify failed'):
        dump(https_server.url)
    assert len(https_server.requests) == 1


def test_use_proxy_false_connects_directly(http_server, proxy, monkeypatch):
    monkeypatch.setenv('HTTP_PROXY', proxy.url)
    assert dump(http_server.url, use_proxy=False)['ec'] == 0
    assert seen(proxy) == []
    assert len(http_server.requests) == 1


@pytest.mark.parametrize('no_proxy', ['127.0.0.1', 'localhost,127.0.0.1', '127.0.0.0/8', '*'])
def test_no_proxy_connects_directly(http_server, proxy, monkeypatch, no_proxy):
    monkeypatch.setenv('HTTP_PROXY', proxy.url)
    monkeypatch.setenv('NO_PROXY', no_proxy)
    assert dump(http_server.url)['ec'] == 0
    assert seen(proxy) == []
    assert len(http_server.requests) == 1


def test_a_proxy_that_is_down_is_named_with_the_way_around_it(http_server, monkeypatch):
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    dead = 'http://127.0.0.1:%d' % sock.getsockname()[1]
    sock.close()  # nothing listens there
    monkeypatch.setenv('HTTP_PROXY', dead)
    with pytest.raises(SigmaConnectionError) as err:
        dump(http_server.url, retries=1)
    assert 'proxy' in err.value.message and 'use_proxy=false' in err.value.message
    assert err.value.reached is False  # never left this machine: safe to send again
    assert http_server.requests == []


def test_netrc_credentials_are_not_sent(http_server, tmp_path, monkeypatch):
    netrc = tmp_path / '.netrc'
    netrc.write_text('machine 127.0.0.1 login someone password not-for-sigma\n')
    netrc.chmod(0o600)
    monkeypatch.setenv('NETRC', str(netrc))
    assert dump(http_server.url)['ec'] == 0
    assert 'authorization' not in http_server.requests[0]['headers']


@pytest.mark.parametrize('username, sent', [('', False), (None, False), ('sigma', True)])
def test_an_empty_username_sends_no_authorization(http_server, username, sent):
    """AWX injects every field of a credential as an environment variable, an empty one as ''."""
    assert dump(http_server.url, username=username, password='')['ec'] == 0
    assert ('authorization' in http_server.requests[0]['headers']) is sent
