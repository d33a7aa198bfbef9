# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's data (filter fleet_report) and its page body (filter fleet_report_html).

The servers are built the way sigma_fleet_info builds them: dumps and progress answers go
through the collection's own normalize_dump / normalize_progress, so job health and error
details are the real ones, not hand-written.
"""

from __future__ import annotations

import datetime
import re

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.sigma.media_server.plugins.filter.fleet_report import (
    fleet_report, natural_key, sessions_per_card,
)
from ansible_collections.sigma.media_server.plugins.filter.fleet_report_html import fleet_report_html
from ansible_collections.sigma.media_server.plugins.module_utils._dump import normalize_dump
from ansible_collections.sigma.media_server.plugins.module_utils._progress import normalize_progress

NOW = datetime.datetime(2026, 3, 2, 16, 0, 0, tzinfo=datetime.timezone.utc)


def card(index, model='NVIDIA A10', count=0, sessions=12, enc=None, temp=40, mem_used=None, total=22731):
    percent = min(100, int(round(count * 100.0 / sessions)))
    return {'index': index, 'name': model, 'total': total, 'used': mem_used if mem_used is not None else 105 + 200 * count,
            'gpu': count, 'mem': 1, 'enc': enc if enc is not None else min(100, count * 3), 'dec': 1, 'temp': temp,
            'speed': 1, 'percent': percent, 'count': count}


def server(name, cards=(), licence='VALID', jobs=None, version='3.0.12', cpu=10, jobs_error=None):
    dump = {'name': name, 'hostname': name + '.example', 'version': version, 'branch': 'Commercial',
            'licenseStatus': licence, 'nats': {'license': 'SECRET-KEY-1234'},
            'supported': [{'name': m, 'encoder': ['h264@yuv420p'], 'decoder': []} for m in set(c['name'] for c in cards)],
            'system': {'cpu': cpu, 'ramTotal': 64000, 'ramUsed': 8000, 'gpu': list(cards)}, 'total': len(jobs or {})}
    facts = normalize_dump(dump)
    entry = {'name': name, 'api_url': 'http://%s:9999' % name, 'reachable': True, 'error': None,
             'jobs': normalize_progress({'result': jobs or {}}, NOW) if jobs_error is None else None,
             'jobs_error': jobs_error}
    for key in ('server', 'gpus', 'models', 'load', 'apps', 'license', 'network', 'storage'):
        entry[key] = facts[key]
    return entry


def down(name, error='Sigma server http://%s:9999, function dump: connection refused; gave up after 2 attempts in 0.2 s'):
    return {'name': name, 'api_url': 'http://%s:9999' % name, 'reachable': False, 'error': error % name
            if '%s' in error else error}


def job(state='started', speed=1, errors=()):
    return {'state': state, 'speed': speed, 'life': '1h', 'error': list(errors),
            'input': [{'url': 'udp://239.1.1.1:5000'}]}


FLEET = [
    server('edge-10', [card(0, count=3)], jobs={'a': job(), 'b': job(), 'c': job()}),
    server('edge-9', [card(0, count=12, temp=70), card(1, count=1)], jobs=dict(('j%d' % i, job()) for i in range(13))),
    server('edge-2', [card(0, 'Tesla T4', count=2, sessions=8)], jobs={
        'news': job('error', 0, ['[03-02 15:00:00] Connection timed out: rtmp://u:hunter2@ingest/x (code: INPUT_TIMEOUT)']),
        'film': job('error', 0, ['[03-02 15:10:00] Stream missing (code: STREAM_NOT_FOUND)']),
        'slow': job('started', 0.5),
        'odd': job(None, 1),
    }),
    server('edge-1', [card(0, 'Tesla T4', count=0, sessions=8)], licence='EXPIRED'),
    server('cpu-1', [], jobs={'cpu': job()}),
    server('hung-1', [card(0, count=1)],
           jobs_error='Sigma server http://hung-1:9999, function progress: no answer within 2 s (timeout)'),
    down('dead-1'),
    {'name': 'nourl-1', 'reachable': False, 'error': 'no API URL: sigma_api_url is not set for this host'},
]


@pytest.fixture(scope='module')
def report():
    return fleet_report(FLEET, title='Test fleet', generated='2026-03-02T16:00:00Z')


def group(report, kind):
    return [g for g in report['problems'] if g['kind'] == kind][0]


def test_servers_by_name_digits_as_numbers(report):
    assert [s['name'] for s in report['servers']] == ['cpu-1', 'dead-1', 'edge-1', 'edge-2', 'edge-9', 'edge-10',
                                                      'hung-1', 'nourl-1']
    assert [s['anchor'] for s in report['servers']] == ['s%d' % i for i in range(1, 9)]
    assert natural_key('a-9') < natural_key('a-10') < natural_key('b-1')


def test_problem_groups_worst_first(report):
    assert [g['kind'] for g in report['problems']] == ['unreachable', 'license', 'job_failed', 'jobs_unreadable',
                                                       'job_error', 'job_slow', 'job_degraded', 'gpu_limit']
    assert [g['severity'] for g in report['problems']] == ['critical'] * 3 + ['warning'] * 5
    counts = dict((g['kind'], g['count']) for g in report['problems'])
    assert counts == {'unreachable': 2, 'license': 1, 'job_failed': 1, 'jobs_unreadable': 1, 'job_error': 1,
                      'job_slow': 1, 'job_degraded': 1, 'gpu_limit': 1}


def test_unreachable_servers_with_their_cause(report):
    items = group(report, 'unreachable')['items']
    assert [(i['server'], i['summary']) for i in items] == [
        ('dead-1', 'connection refused'), ('nourl-1', 'no API URL: sigma_api_url is not set for this host')]
    assert items[0]['anchor'] == 's2'


def test_licence_not_valid(report):
    assert [(i['server'], i['summary']) for i in group(report, 'license')['items']] == [('edge-1', 'licence EXPIRED')]
    assert report['summary']['license_not_valid'] == ['edge-1']


def test_jobs_by_health_with_code_and_what_it_concerns(report):
    failed = group(report, 'job_failed')['items']
    assert [(i['server'], i['job'], i['code'], i['concerns'], i['needs_restart']) for i in failed] == [
        ('edge-2', 'film', 'STREAM_NOT_FOUND', ['input'], True)]
    assert 'start the job again' in failed[0]['remedy'] or 'started again' in failed[0]['summary']
    assert failed[0]['since'] == '2026-03-02T15:10:00Z'
    retried = group(report, 'job_error')['items']
    assert [(i['job'], i['code'], i['needs_restart']) for i in retried] == [('news', 'INPUT_TIMEOUT', False)]
    assert [(i['job'], i['speed']) for i in group(report, 'job_slow')['items']] == [('slow', 0.5)]
    assert [i['job'] for i in group(report, 'job_degraded')['items']] == ['odd']
    assert [i['server'] for i in group(report, 'jobs_unreadable')['items']] == ['hung-1']
    assert group(report, 'jobs_unreadable')['items'][0]['summary'] == 'no answer within 2 s (timeout)'
    assert report['summary']['jobs_by_health'] == {'ok': 17, 'degraded': 3, 'failed': 1}
    assert report['summary']['jobs_by_state'] == {'started': 18, 'error': 2, 'unknown': 1}
    assert report['summary']['jobs_slow'] == 1


def test_passwords_in_error_lines_are_masked(report):
    edge2 = [s for s in report['servers'] if s['name'] == 'edge-2'][0]
    news = [j for j in edge2['jobs'] if j['name'] == 'news'][0]
    assert 'hunter2' not in repr(report)
    assert 'rtmp://u:********@ingest/x' in news['errors'][0]
    assert 'SECRET-KEY' not in repr(report)


def test_gpu_near_limits(report):
    items = group(report, 'gpu_limit')['items']
    assert [(i['server'], i['gpu'], i['summary']) for i in items] == [('edge-9', 0, 'sessions 100%')]
    hot = fleet_report([server('hot', [card(0, count=1, temp=91, mem_used=21000)])])
    assert group(hot, 'gpu_limit')['items'][0]['summary'] == 'memory 92%, temperature 91 \u00b0C'
    lax = fleet_report([server('hot', [card(0, count=1, temp=91, mem_used=21000)])], gpu_limit=95, temperature_limit=95)
    assert group(lax, 'gpu_limit')['count'] == 0


def test_server_severity_and_labels(report):
    by_name = dict((s['name'], s) for s in report['servers'])
    assert by_name['dead-1']['severity'] == 'critical' and by_name['dead-1']['problems'] == ['unreachable']
    assert by_name['edge-2']['severity'] == 'critical'
    assert by_name['edge-2']['problems'] == ['1 job failed', '1 job in error', '1 job slow', '1 job unknown state']
    assert by_name['edge-9']['severity'] == 'warning' and by_name['edge-9']['problems'] == ['1 GPU near limit']
    assert by_name['edge-10']['severity'] == 'ok' and by_name['edge-10']['problems'] == []
    assert by_name['cpu-1']['gpu_summary'] == '' and by_name['edge-9']['gpu_summary'] == '2\u00d7 NVIDIA A10'
    assert report['summary']['servers_with_problems'] == 6
    assert report['summary']['problems'] == {'critical': 4, 'warning': 5}


def test_capacity_per_model(report):
    models = dict((m['model'], m) for m in report['capacity'])
    assert list(models) == ['NVIDIA A10', 'Tesla T4']  # most cards first
    a10 = models['NVIDIA A10']
    assert (a10['cards'], a10['servers'], a10['sessions_used']) == (4, 3, 17)
    assert a10['sessions_per_card'] == 12 and a10['sessions_capacity'] == 48
    assert a10['sessions_free'] == 9 + 0 + 11 + 11 and a10['sessions_over'] == 0
    t4 = models['Tesla T4']
    assert (t4['sessions_per_card'], t4['sessions_free'], t4['memory_total_mb']) == (8, 6 + 8, 2 * 22731)
    edge9 = [s for s in report['servers'] if s['name'] == 'edge-9'][0]
    assert [(c['sessions_capacity'], c['sessions_free']) for c in edge9['gpus']] == [(12, 0), (12, 11)]


def test_capacity_unknown_when_no_card_tells(report):
    idle = fleet_report([server('idle', [card(0, 'NVIDIA L4', count=0, sessions=16)])])
    assert idle['capacity'][0]['sessions_per_card'] is None
    assert idle['capacity'][0]['sessions_free'] is None and idle['capacity'][0]['sessions_capacity'] is None
    full = fleet_report([server('full', [card(0, 'NVIDIA L4', count=20, sessions=16)])])
    assert full['capacity'][0]['sessions_per_card'] is None  # a full card hides its capacity


def test_jobs_over_capacity():
    over = fleet_report([server('a', [card(0, 'GTX', count=1, sessions=3), card(1, 'GTX', count=5, sessions=3)])])
    model = over['capacity'][0]
    assert (model['sessions_per_card'], model['sessions_used'], model['sessions_free'], model['sessions_over']) == \
        (3, 6, 2, 2)


@pytest.mark.parametrize('size', [3, 8, 12, 16, 24, 40])
def test_sessions_per_card_from_rounded_percents(size):
    share = [(n, int(round(n * 100.0 / size))) for n in range(1, size)]
    assert sessions_per_card(share) == size
    # a few cards are enough when one of them runs several jobs
    assert sessions_per_card([(1, int(round(100.0 / size))), (size // 2, int(round(size // 2 * 100.0 / size)))]) == size


def test_bad_input_is_refused():
    with pytest.raises(AnsibleFilterError, match='the input must be the list'):
        fleet_report({'servers': []})
    with pytest.raises(AnsibleFilterError, match='max_errors must be a number of 0 or more'):
        fleet_report([], max_errors=-1)
    with pytest.raises(AnsibleFilterError, match='gpu_limit'):
        fleet_report([], gpu_limit='high')


def test_max_errors_keeps_the_newest_lines():
    lines = ['[03-02 15:%02d:00] Timed out (code: INPUT_TIMEOUT)' % i for i in range(8)]
    data = fleet_report([server('a', jobs={'x': job('error', 0, lines)})], max_errors=3)
    x = data['servers'][0]['jobs'][0]
    assert x['error_count'] == 8 and x['errors'] == lines[-3:]
    assert x['last_error']['time'] == '2026-03-02T15:07:00Z'


def test_empty_fleet():
    data = fleet_report([])
    assert data['summary']['servers'] == 0 and data['capacity'] == [] and all(g['count'] == 0 for g in data['problems'])
    assert 'Nothing: every server answered' in fleet_report_html(data)


# ---------------------------------------------------------------- the page body

EVIL = '<img src=x onerror="alert(1)">{{ lookup(\'pipe\', \'id\') }}'


def test_page_order_links_and_escaping(report):
    page = fleet_report_html(report)
    assert page.index('id="problems"') < page.index('id="capacity"') < page.index('id="overview"') \
        < page.index('id="details"')
    assert '<li><a href="#s2">dead-1</a> <span class="c">connection refused</span></li>' in page
    assert '<code>STREAM_NOT_FOUND</code> <small>input</small>' in page
    evil = fleet_report_html(fleet_report([server(EVIL, jobs={EVIL: job('error', 0, ['[03-02 15:00:00] %s' % EVIL])},
                                                  version=EVIL)]))
    assert '<img' not in evil
    assert '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;{{ lookup(&#x27;pipe&#x27;, &#x27;id&#x27;) }}' in evil


def test_overview_unreachable_first_then_by_severity(report):
    page = fleet_report_html(report)
    rows = re.findall(r'<tr class="(\w+)(?: down)?" data-sev="(\d)"><td><a href="#s\d+">([^<]+)</a>', page)
    assert [r[2] for r in rows] == ['dead-1', 'nourl-1', 'edge-2', 'edge-1', 'edge-9', 'hung-1', 'cpu-1', 'edge-10']
    assert [r[1] for r in rows] == ['2', '2', '2', '2', '1', '1', '0', '0']


def test_details_open_for_small_fleets_and_problem_lists_cut(report):
    small = fleet_report_html(report, collapse_above=20)
    assert small.count('" open><summary>') == 8 and 'id="expand-all"' not in small
    large = fleet_report_html(report, collapse_above=5, problems_shown=1)
    assert '" open><summary>' not in large and 'id="expand-all"' in large
    assert '<details class="more"><summary>1 more</summary>' in large  # 2 unreachable, 1 shown


def test_capacity_pictures_stay_in_their_box():
    data = fleet_report([server('a', [card(0, count=6, enc=250, mem_used=90000)])])
    page = fleet_report_html(data)
    widths = [float(w) for w in re.findall(r'<rect x="0" y="\d+" width="([\d.]+)"', page)]
    assert widths and max(widths) <= 300
    assert '<tspan font-weight="600">6 in use</tspan>, <tspan font-weight="600" fill="#1b5e20">6 free</tspan> of 12' in page


def test_page_refuses_what_is_not_a_report():
    with pytest.raises(AnsibleFilterError, match='the data the fleet_report filter returns'):
        fleet_report_html([])
    with pytest.raises(AnsibleFilterError, match='collapse_above must be an integer'):
        fleet_report_html(fleet_report([]), collapse_above='many')
