# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report's data, from what sigma_fleet_info read: one pass in Python, no per-host Jinja.

Documented in fleet_report.yml next to this file. The role sigma.media_server.report renders
its HTML page and writes its JSON twin from this data.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var

try:
    from ansible.template import trust_as_template  # noqa: F401  pylint: disable=unused-import
    SERVER_DATA_IS_SAFE = True  # ansible-core 2.19+: a template result is never templated again
except ImportError:
    SERVER_DATA_IS_SAFE = False  # older cores template strings again unless they are marked unsafe

from ansible_collections.sigma.media_server.plugins.module_utils._job_errors import RUNNING_STATES, SLOW_SPEED
from ansible_collections.sigma.media_server.plugins.plugin_utils._job_watch import mask_text

# "Sigma server URL, function F: cause; gave up after 2 attempts in 0.2 s" (the client's messages) -> cause
_CAUSE = re.compile(r'^Sigma server \S+?,? (?:function \S+: )?')
_GAVE_UP = re.compile(r'; gave up after \d+ attempts in [\d.]+ s$')

SEVERITY_ORDER = ('critical', 'warning')
# (kind, severity, title): the problem groups, in the order the page shows them
KINDS = (
    ('unreachable', 'critical', 'Unreachable servers'),
    ('license', 'critical', 'Licence not valid'),
    ('job_failed', 'critical', 'Jobs failed: they must be started again'),
    ('jobs_unreadable', 'warning', 'Jobs that could not be read'),
    ('job_error', 'warning', 'Jobs in error: the server retries them'),
    ('job_slow', 'warning', 'Jobs running slow (speed under %g)' % SLOW_SPEED),
    ('job_degraded', 'warning', 'Jobs in an unknown state'),
    ('gpu_limit', 'warning', 'GPUs near their limits'),
)
KIND_INFO = dict((kind, (severity, title)) for kind, severity, title in KINDS)


def _mask(text):
    return mask_text(text) if isinstance(text, str) else text


def number(value):
    """A number from a server value (int, float or numeric text); None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return value
    try:
        return float(str(value).strip().rstrip('%'))
    except ValueError:
        return None


def _pct(part, whole):
    part, whole = number(part), number(whole)
    if part is None or not whole or whole <= 0:
        return None
    return round(100.0 * part / whole, 1)


def _round(value, digits=1):
    return None if value is None else round(value, digits)


def natural_key(name):
    """'sigma-10' after 'sigma-9': digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r'(\d+)', str(name))]


def _cause(message):
    """The cause of a client error message, without the server URL and function it starts with."""
    if not isinstance(message, str):
        return message
    return _GAVE_UP.sub('', _CAUSE.sub('', message, count=1)) or message


def _check_options(max_errors, gpu_limit, temperature_limit):
    for name, value in (('max_errors', max_errors), ('gpu_limit', gpu_limit),
                        ('temperature_limit', temperature_limit)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise AnsibleFilterError('fleet_report: %s must be a number of 0 or more, got %r' % (name, value))


def _job(server_name, name, job, max_errors):
    job = job if isinstance(job, dict) else {}
    errors = [_mask(str(e)) for e in job.get('errors') or []]
    details = [d for d in job.get('error_details') or [] if isinstance(d, dict)]
    last = details[-1] if details else None
    state = job.get('state') or 'unknown'
    speed = number(job.get('speed'))
    health = job.get('health') or 'ok'
    slow = state in RUNNING_STATES and speed is not None and speed < SLOW_SPEED
    return {
        'server': server_name,
        'name': name,
        'state': state,
        'health': health,
        'health_reasons': [_mask(str(r)) for r in job.get('health_reasons') or []],
        'speed': job.get('speed'),
        'slow': slow,
        'uptime': job.get('uptime'),
        'error_count': len(errors),
        'errors': errors[-max_errors:] if max_errors else [],
        'error_codes': list(job.get('error_codes') or []),
        'last_error': {
            'time': last.get('time'),
            'message': _mask(last.get('message')),
            'code': last.get('code'),
            'concerns': list(last.get('concerns') or []),
            'needs_restart': last.get('needs_restart'),
            'meaning': last.get('meaning'),
            'remedy': last.get('remedy'),
        } if last else None,
    }


def _job_problem(job):
    """(kind, summary) of a job that is not ok, else None."""
    if job['health'] == 'ok':
        return None
    reasons = '; '.join(job['health_reasons'])
    if job['health'] == 'failed':
        return 'job_failed', reasons or 'failed'
    if job['state'] == 'error':
        return 'job_error', reasons or 'in error'
    if job['slow']:
        return 'job_slow', 'speed %s' % job['speed']
    return 'job_degraded', reasons or job['state']


def _card(card, gpu_limit, temperature_limit):
    card = card if isinstance(card, dict) else {}
    memory_percent = _pct(card.get('memory_used_mb'), card.get('memory_total_mb'))
    figures = (
        ('sessions', number(card.get('percent')), gpu_limit, '%'),
        ('memory', memory_percent, gpu_limit, '%'),
        ('encoder', number(card.get('encoder_load')), gpu_limit, '%'),
        ('decoder', number(card.get('decoder_load')), gpu_limit, '%'),
        ('GPU', number(card.get('utilization')), gpu_limit, '%'),
        ('temperature', number(card.get('temperature')), temperature_limit, ' \u00b0C'),
    )
    limits = ['%s %g%s' % (label, round(value), unit) for label, value, limit, unit in figures
              if value is not None and value >= limit]
    return {
        'index': card.get('index'),
        'model': card.get('model'),
        'memory_total_mb': card.get('memory_total_mb'),
        'memory_used_mb': card.get('memory_used_mb'),
        'memory_percent': memory_percent,
        'utilization': card.get('utilization'),
        'encoder_load': card.get('encoder_load'),
        'decoder_load': card.get('decoder_load'),
        'temperature': card.get('temperature'),
        'jobs': card.get('jobs'),
        'sessions_percent': card.get('percent'),
        'sessions_capacity': None,
        'sessions_free': None,
        'near_limit': limits,
    }


def sessions_per_card(share):
    """The session capacity S of one card of a model, from its cards' (count, percent) pairs; None if unknown.

    A card's percent is count x 100 / S, rounded by the server. Only cards that run jobs without being
    full tell something (at 100 % the server stops counting). S is the whole number that explains the
    most of them (ties: the closest to the plain ratio), which beats the plain ratio when percents are
    small and rounding weighs: 1 job on a 16-session card is 6 %, and 100 / 6 rounds to 17.
    """
    measured = [(n, p) for n, p in share if n and p is not None and 0 < p < 100]
    if not measured:
        return None
    ratio = 100.0 * sum(n for n, _p in measured) / sum(p for _n, p in measured)
    floor = max(int(max(n for n, _p in measured)) + 1, 1)  # a card under 100 % runs fewer jobs than S
    candidates = range(max(floor, int(ratio * 0.6)), max(floor, int(ratio * 1.5) + 2) + 1)

    def explained(size):
        return sum(1 for n, p in measured if abs(100.0 * n / size - p) <= 0.5 + 1e-9)

    return max(candidates, key=lambda size: (explained(size), -abs(size - ratio)))


def _capacity(servers):
    """Capacity per GPU model; also fills each card's sessions_capacity and sessions_free.

    A card's `count` is the sessions (jobs) it runs and `percent` the share of its session capacity
    they use, so a model's capacity per card is sum(count) x 100 / sum(percent) over its cards that
    run jobs without being full (percent under 100: a full card's percent hides how far over it is).
    When no card of a model gives that, its capacity is unknown (None), not guessed.
    """
    models = {}
    for server in servers:
        for card in server['gpus']:
            model = card['model'] if isinstance(card['model'], str) and card['model'] else 'unknown model'
            models.setdefault(model, {'servers': set(), 'cards': []})
            models[model]['servers'].add(server['name'])
            models[model]['cards'].append(card)
    out = []
    for model, entry in models.items():
        cards = entry['cards']
        used = [number(c['jobs']) for c in cards]
        share = [(number(c['jobs']), number(c['sessions_percent'])) for c in cards]
        per_card = sessions_per_card(share)
        free_total = over_total = None
        if per_card is not None:
            free_total = over_total = 0
            for card, (count, percent) in zip(cards, share):
                count = int(count or 0)
                free = 0 if percent is not None and percent >= 100 else max(0, per_card - count)
                card['sessions_capacity'] = per_card
                card['sessions_free'] = free
                free_total += free
                over_total += max(0, count - per_card)
        memory_total = sum(number(c['memory_total_mb']) or 0 for c in cards)
        memory_used = sum(number(c['memory_used_mb']) or 0 for c in cards)
        encoder = [v for v in (number(c['encoder_load']) for c in cards) if v is not None]
        decoder = [v for v in (number(c['decoder_load']) for c in cards) if v is not None]
        out.append({
            'model': model,
            'servers': len(entry['servers']),
            'cards': len(cards),
            'sessions_used': int(sum(n or 0 for n in used)),
            'sessions_per_card': per_card,
            'sessions_capacity': per_card * len(cards) if per_card is not None else None,
            'sessions_free': free_total,
            'sessions_over': over_total,
            'memory_total_mb': memory_total,
            'memory_used_mb': memory_used,
            'memory_percent': _pct(memory_used, memory_total),
            'encoder_load_avg': _round(sum(encoder) / len(encoder)) if encoder else None,
            'encoder_load_max': max(encoder) if encoder else None,
            'decoder_load_avg': _round(sum(decoder) / len(decoder)) if decoder else None,
            'cards_near_limit': len([c for c in cards if c['near_limit']]),
        })
    out.sort(key=lambda m: (-m['cards'], m['model']))
    return out


def _server(entry, anchor, max_errors, gpu_limit, temperature_limit):
    entry = entry if isinstance(entry, dict) else {}
    name = str(entry.get('name') if entry.get('name') is not None else entry.get('api_url'))
    reachable = bool(entry.get('reachable'))
    info = dict((k, entry.get(k) if isinstance(entry.get(k), dict) else {}) for k in ('server', 'load', 'license'))
    gpus = [_card(c, gpu_limit, temperature_limit) for c in (entry.get('gpus') or [])] if reachable else []
    jobs_in = entry.get('jobs') if reachable and isinstance(entry.get('jobs'), dict) else {}
    jobs = [_job(name, job_name, jobs_in[job_name], max_errors) for job_name in sorted(jobs_in, key=natural_key)]
    load = info['load']
    models = []
    for card in gpus:
        if card['model'] not in models:
            models.append(card['model'])
    counts = [(m, len([c for c in gpus if c['model'] == m])) for m in models]
    license_status = info['license'].get('status') if reachable else None
    return {
        'name': name,
        'anchor': anchor,
        'api_url': _mask(entry.get('api_url')),
        'reachable': reachable,
        'error': _mask(entry.get('error')) if not reachable else None,
        'jobs_error': _mask(entry.get('jobs_error')) if reachable else None,
        'hostname': info['server'].get('hostname'),
        'version': info['server'].get('version'),
        'branch': info['server'].get('branch'),
        'license': {'status': license_status or 'UNKNOWN', 'valid': bool(reachable and info['license'].get('valid'))},
        'gpu_models': [m for m in models if m is not None],
        'gpu_summary': ', '.join('%d\u00d7 %s' % (n, m) if n > 1 else str(m) for m, n in counts),
        'gpus': gpus,
        'load': {
            'cpu_percent': load.get('cpu_percent'),
            'ram_total_mb': load.get('ram_total_mb'),
            'ram_used_mb': load.get('ram_used_mb'),
            'ram_percent': _pct(load.get('ram_used_mb'), load.get('ram_total_mb')),
            'jobs_total': load.get('jobs_total'),
            'gpu_sessions_percent': max([p for p in (number(c['sessions_percent']) for c in gpus) if p is not None],
                                        default=None),
        },
        'jobs': jobs,
    }


def fleet_report(servers, title='Sigma Media Server fleet', generated=None, max_errors=5, gpu_limit=90,
                 temperature_limit=85):
    """The report's data: summary, problems (grouped, worst first), capacity per GPU model, servers by name."""
    if not isinstance(servers, (list, tuple)):
        raise AnsibleFilterError('fleet_report: the input must be the list sigma_fleet_info returns, got %s'
                                 % type(servers).__name__)
    _check_options(max_errors, gpu_limit, temperature_limit)
    max_errors = int(max_errors)
    entries = sorted(servers, key=lambda e: natural_key(e.get('name') if isinstance(e, dict) else ''))
    rows = [_server(e, 's%d' % (i + 1), max_errors, gpu_limit, temperature_limit) for i, e in enumerate(entries)]
    capacity = _capacity(rows)

    groups = dict((kind, []) for kind, _severity, _title in KINDS)

    def add(kind, server, summary, **more):
        item = {'kind': kind, 'severity': KIND_INFO[kind][0], 'server': server['name'], 'anchor': server['anchor'],
                'summary': summary}
        item.update(more)
        groups[kind].append(item)

    jobs_by_state, jobs_by_health = {}, {'ok': 0, 'degraded': 0, 'failed': 0}
    for server in rows:
        if not server['reachable']:
            add('unreachable', server, _cause(server['error']) or 'no answer')
        elif not server['license']['valid']:
            add('license', server, 'licence %s' % server['license']['status'])
        if server['jobs_error']:
            add('jobs_unreadable', server, _cause(server['jobs_error']))
        for job in server['jobs']:
            jobs_by_state[job['state']] = jobs_by_state.get(job['state'], 0) + 1
            jobs_by_health[job['health']] = jobs_by_health.get(job['health'], 0) + 1
            problem = _job_problem(job)
            if problem:
                last = job['last_error'] or {}
                add(problem[0], server, problem[1], job=job['name'], state=job['state'], speed=job['speed'],
                    code=last.get('code'), concerns=last.get('concerns') or [], needs_restart=last.get('needs_restart'),
                    remedy=last.get('remedy'), since=last.get('time'), message=last.get('message'))
        for card in server['gpus']:
            if card['near_limit']:
                add('gpu_limit', server, ', '.join(card['near_limit']), gpu=card['index'], model=card['model'])

    severity_of = {}
    for kind, items in groups.items():
        for item in items:
            worst = severity_of.get(item['server'])
            if worst != 'critical':
                severity_of[item['server']] = item['severity']
    per_server = {}
    for kind, items in groups.items():
        for item in items:
            per_server.setdefault(item['server'], []).append(item)
    for server in rows:
        items = per_server.get(server['name'], [])
        server['severity'] = severity_of.get(server['name'], 'ok')
        server['problem_count'] = len(items)
        kinds = {}
        for item in items:
            kinds[item['kind']] = kinds.get(item['kind'], 0) + 1
        server['problems'] = [_problem_label(kind, kinds[kind], server) for kind, _s, _t in KINDS if kind in kinds]
        server['jobs_by_health'] = dict((h, len([j for j in server['jobs'] if j['health'] == h]))
                                        for h in ('ok', 'degraded', 'failed'))

    problems = [{'kind': kind, 'severity': severity, 'title': title_, 'count': len(groups[kind]),
                 'servers': len(set(i['server'] for i in groups[kind])), 'items': groups[kind]}
                for kind, severity, title_ in KINDS]
    all_jobs = [job for server in rows for job in server['jobs']]
    reachable = [s for s in rows if s['reachable']]
    summary = {
        'servers': len(rows),
        'reachable': len(reachable),
        'unreachable': [s['name'] for s in rows if not s['reachable']],
        'license_not_valid': [s['name'] for s in reachable if not s['license']['valid']],
        'gpus': sum(len(s['gpus']) for s in rows),
        'gpus_near_limit': len(groups['gpu_limit']),
        'jobs': len(all_jobs),
        'jobs_by_state': jobs_by_state,
        'jobs_by_health': jobs_by_health,
        'jobs_with_errors': len([j for j in all_jobs if j['error_count']]),
        'jobs_slow': len([j for j in all_jobs if j['slow']]),
        'servers_with_problems': len(severity_of),
        'problems': dict((sev, sum(p['count'] for p in problems if p['severity'] == sev)) for sev in SEVERITY_ORDER),
    }
    report = {
        'title': title,
        'generated': generated,
        'limits': {'gpu_percent': gpu_limit, 'temperature': temperature_limit, 'slow_speed': SLOW_SPEED},
        'summary': summary,
        'problems': problems,
        'capacity': capacity,
        'servers': rows,
    }
    return report if SERVER_DATA_IS_SAFE else wrap_var(report)


def _problem_label(kind, count, server):
    if kind == 'unreachable':
        return 'unreachable'
    if kind == 'license':
        return 'licence %s' % server['license']['status']
    if kind == 'jobs_unreadable':
        return 'jobs not read'
    if kind == 'gpu_limit':
        return '%d GPU%s near limit' % (count, '' if count == 1 else 's')
    word = {'job_failed': 'failed', 'job_error': 'in error', 'job_slow': 'slow', 'job_degraded': 'unknown state'}[kind]
    return '%d job%s %s' % (count, '' if count == 1 else 's', word)


class FilterModule(object):
    """sigma.media_server filters."""

    def filters(self):
        return {'fleet_report': fleet_report}
