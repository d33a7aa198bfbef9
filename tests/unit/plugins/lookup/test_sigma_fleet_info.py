# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lookup sigma_fleet_info with the real client, against the unit tests' fake Sigma server over HTTP."""

from __future__ import annotations

import base64
import json

import pytest

from ansible.errors import AnsibleError
from ansible.plugins.loader import lookup_loader

from ansible_collections.sigma.media_server.tests.unit.utils import FakeSigma, dead_url

LOOKUP = 'sigma.media_server.sigma_fleet_info'
KEY = 'KEY-SECRET-1234'


def dump(name, licence='VALID'):
    return {'name': name, 'version': '3.0.12', 'licenseStatus': licence, 'total': 1,
            'nats': {'license': KEY, 'id': 'node'},
            'supported': [{'name': 'NVIDIA A10', 'encoder': ['h264@yuv420p'], 'decoder': []}],
            'system': {'cpu': 5, 'gpu': [{'index': 0, 'name': 'NVIDIA A10', 'total': 22731, 'used': 305, 'percent': 8,
                                          'count': 1, 'enc': 3}]},
            'ec': 0, 'result': {}}


PROGRESS = {'ec': 0, 'total': 1, 'result': {'news': {
    'state': 'error', 'speed': 0, 'life': '1m',
    'error': ['[03-02 15:00:00] Connection timed out: srt://ops:s3cretpw@10.0.0.9:9000 (code: INPUT_TIMEOUT)'],
    'input': [{'url': 'srt://ops:s3cretpw@10.0.0.9:9000'}]}}}
AS_JSON = 'application/json'


@pytest.fixture
def serve():
    fakes = []

    def start(name='a', progress=None, fault=None, queue=()):
        fake = FakeSigma(answers={'dump': dump(name), 'progress': progress or PROGRESS})
        fake.fault = fault
        fake.queue = list(queue)
        fakes.append(fake.serve())
        return fake

    yield start
    for fake in fakes:
        fake.close()


def run(terms, **options):
    return lookup_loader.get(LOOKUP).run(terms, variables={}, **options)


def functions(fake):
    return [r['function'] for r in fake.requests]


def test_reads_every_server_in_order_and_never_fails_for_one(serve):
    good, proxy, dead = serve('good'), serve(fault='html502'), dead_url()
    out = run([good.url, {'api_url': proxy.url, 'name': 'proxy'}, {'api_url': dead, 'name': 'dead'}], retries=0)
    assert [e['name'] for e in out] == [good.url, 'proxy', 'dead']
    assert [e['reachable'] for e in out] == [True, False, False]
    assert out[0]['server']['name'] == 'good'
    assert out[0]['license'] == {'status': 'VALID', 'valid': True, 'connected': None, 'node_id': 'node'}
    assert out[0]['gpus'][0]['jobs'] == 1 and out[0]['gpus'][0]['percent'] == 8
    assert out[1]['error'].startswith('Sigma server %s, function dump: HTTP 502 Bad Gateway: <html>' % proxy.url)
    assert out[2]['error'] == 'Sigma server %s, function dump: connection refused' % dead
    assert functions(good) == ['dump', 'progress']
    assert set(out[0]) == {'name', 'api_url', 'reachable', 'error', 'server', 'gpus', 'models', 'load', 'license',
                           'jobs', 'jobs_error'}  # no raw dump, no apps


def test_jobs_carry_health_and_no_secret(serve):
    out = run([serve().url])
    news = out[0]['jobs']['news']
    assert news['health'] == 'degraded' and news['error_details'][0]['code'] == 'INPUT_TIMEOUT'
    assert news['inputs'][0]['url'] == 'srt://ops:********@10.0.0.9:9000'
    assert news['errors'] == ['[03-02 15:00:00] Connection timed out: srt://ops:********@10.0.0.9:9000 '
                              '(code: INPUT_TIMEOUT)']
    text = json.dumps(out)
    assert 's3cretpw' not in text and KEY not in text


def test_jobs_false_sends_only_dump(serve):
    fake = serve()
    out = run([fake.url], jobs=False)
    assert out[0]['reachable'] and out[0]['jobs'] is None and functions(fake) == ['dump']


def test_progress_failure_keeps_the_server(serve):
    out = run([serve(progress={'ec': 4, 'msg': 'busy', 'result': {}}).url], retries=0)
    assert out[0]['reachable'] and out[0]['jobs'] is None
    assert out[0]['jobs_error'].endswith('function progress: the server answered ec=4: busy')


def test_per_server_settings_win(serve):
    fake = serve()
    out = run([fake.url, {'api_url': fake.url, 'username': 'ops', 'password': 'pw', 'headers': {'X-Token': 't1'},
                          'name': 'with-auth'}], retries=0, max_workers=1)
    assert [e['reachable'] for e in out] == [True, True] and out[1]['name'] == 'with-auth'
    headers = [r['headers'] for r in fake.requests]
    assert 'Authorization' not in headers[0] and 'X-Token' not in headers[0]
    assert headers[2]['Authorization'] == 'Basic ' + base64.b64encode(b'ops:pw').decode() and headers[2]['X-Token'] == 't1'
    # a password in the URL is used, never shown
    out = run([fake.url.replace('http://', 'http://ops:urlpw9@')], retries=0)
    assert out[0]['reachable'] and out[0]['api_url'] == fake.url and 'urlpw9' not in json.dumps(out)


def test_secrets_a_proxy_echoes_are_never_returned(serve):
    # a proxy's error page that shows the request's headers
    url_b64 = base64.b64encode(b'ops:urlpass1').decode()
    basic_b64 = base64.b64encode(b'ops:basicpass2').decode()
    first = ('<html>bad gateway: Authorization: Basic %s X-Token: Bearer tok-98765</html>' % url_b64).encode()
    second = ('<html>bad gateway: Authorization: Basic %s</html>' % basic_b64).encode()
    fake = serve(queue=[(502, 'text/html', first), (502, 'text/html', second)])
    out = run([{'api_url': fake.url.replace('http://', 'http://ops:urlpass1@'), 'headers': {'X-Token': 'Bearer tok-98765'}},
               {'api_url': fake.url, 'username': 'ops', 'password': 'basicpass2'}], retries=0, max_workers=1)
    assert all(e['error'].startswith('Sigma server %s, function dump: HTTP 502' % fake.url) for e in out)
    text = json.dumps(out)
    for secret in ('urlpass1', 'tok-98765', 'basicpass2', url_b64, basic_b64):
        assert secret not in text, secret


def test_headers_from_the_environment(serve, monkeypatch):
    fake = serve()
    monkeypatch.setenv('SIGMA_HEADERS', 'X-Token=tok-123456')
    assert run([fake.url], retries=0, jobs=False)[0]['reachable']
    assert fake.requests[0]['headers']['X-Token'] == 'tok-123456'
    monkeypatch.setenv('SIGMA_HEADERS', '["not", "a", "dict"]')
    with pytest.raises(AnsibleError, match='headers must be a dictionary'):
        run([fake.url])


def test_time_limit_bounds_the_whole_read(serve):
    fakes = [serve('h%d' % i, fault='hang') for i in range(4)]
    out = run([f.url for f in fakes], timeout=0.3, retries=0, max_workers=1)
    assert all(not e['reachable'] for e in out)
    # one worker, servers that never answer: the turns within 2 x 0.3 s (dump, progress) are read, the others not
    assert out[0]['error'] == 'Sigma server %s, function dump: no answer within 0.3 s (timeout)' % fakes[0].url
    assert out[-1]['error'] == ('Sigma server %s, function dump: not read: the lookup reached its time limit of 0.6 s '
                                'while all 1 workers were busy with slower servers' % fakes[-1].url)
    assert functions(fakes[-1]) == []


def test_hung_progress_is_a_jobs_error(serve):
    fake = serve(queue=[(200, AS_JSON, dump('a')), 'hang'])
    out = run([fake.url], timeout=0.5, retries=0)
    assert out[0]['reachable'] and out[0]['jobs'] is None
    assert out[0]['jobs_error'] == 'Sigma server %s, function progress: no answer within 0.5 s (timeout)' % fake.url


@pytest.mark.parametrize('terms, options, message', [
    ([42], {}, r'_terms\[1\] must be an API URL or a dictionary with api_url, got int'),
    ([{'api_url': 'http://a', 'pasword': 'x'}], {}, r'_terms\[1\]: unknown key\(s\) pasword'),
    (['http://a', {'name': 'b'}], {}, r'_terms\[2\] \(b\): missing required arguments: api_url'),
    ([{'api_url': 'http://a', 'timeout': 'soon'}], {}, r"_terms\[1\]: .*timeout.*float"),
    ([{'api_url': 'http://a', 'retries': -1}], {}, r'_terms\[1\]\.retries must be 0 or more'),
    (['ftp://a'], {}, r"_terms\[1\]\.api_url: 'ftp://a' is not an http:// or https:// URL"),
    (['http://a'], {'timeout': 0}, r'timeout must be greater than 0'),
    (['http://a'], {'max_workers': 0}, r'max_workers must be 1 or more'),
])
def test_bad_input_fails_before_any_request(serve, terms, options, message):
    fake = serve()
    with pytest.raises(AnsibleError, match=message):
        run([fake.url] + terms, **options)
    assert fake.requests == []


def test_nothing_to_read():
    assert run([]) == []
