#!/usr/bin/env python
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check the 1000-server report against what fleet1000.py did to the fleet.

    check_fleet.py REPORT_JSON EXPECTED_JSON REQUEST_LOG LOG_OFFSET STATS_JSON RUN_LOG

- every server is in the report, the down ones unreachable, the licences, jobs and jobs in error
  as fleet1000.py set them, every full card near its limits, the hung server's jobs unread;
- the capacity per model: the session capacity per card found from count and percent is the
  emulator's own figure for the model;
- requests (emulator request log from LOG_OFFSET on): the run sent, per server that answers,
  exactly one dump and one progress, and nothing else;
- the set_stats data counts the same and holds no URL; the run printed its summary.
"""

from __future__ import annotations

import collections
import json
import sys

from sigma_emulator import fleet as emulated


def main(report_path, expected_path, log_path, offset, stats_path, run_log_path):
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    report = json.load(open(report_path, encoding='utf-8'))
    expected = json.load(open(expected_path, encoding='utf-8'))
    stats = json.load(open(stats_path, encoding='utf-8'))['sigma_report']
    summary = report['summary']
    shaped = expected['servers']
    down = sorted(s['name'] for s in shaped if s['down'])
    up = [s for s in shaped if not s['down']]
    hung = [s['name'] for s in shaped if s['hang']]
    readable = [s for s in up if not s['hang']]
    bad_licence = sorted(s['name'] for s in up if s['license'] != 'VALID')
    jobs = sum(s['jobs'] for s in readable)
    jobs_error = sum(s['jobs_error'] for s in readable)
    jobs_failed = sum(s['jobs_failed'] for s in readable)
    groups = dict((g['kind'], g) for g in report['problems'])
    names = [s['name'] for s in report['servers']]

    check(names == sorted(s['name'] for s in shaped), 'the servers are not all there, by name')
    check(len(set(s['anchor'] for s in report['servers'])) == len(names), 'anchors are not unique')
    check(summary['servers'] == len(shaped), 'summary.servers %s' % summary['servers'])
    check(summary['unreachable'] == down, 'unreachable %s, expected %s' % (summary['unreachable'], down))
    check(summary['reachable'] == len(up), 'reachable %s' % summary['reachable'])
    check(summary['license_not_valid'] == bad_licence, 'licence not valid %s, expected %s'
          % (summary['license_not_valid'], bad_licence))
    check(summary['jobs'] == jobs, 'jobs %s, expected %d' % (summary['jobs'], jobs))
    check(summary['jobs_by_state'].get('error', 0) == jobs_error + jobs_failed, 'jobs in error %s, expected %d'
          % (summary['jobs_by_state'], jobs_error + jobs_failed))
    check(summary['jobs_by_health'] == {'ok': jobs - jobs_error - jobs_failed, 'degraded': jobs_error,
                                        'failed': jobs_failed}, 'jobs by health %s' % summary['jobs_by_health'])
    check([g['kind'] for g in report['problems']][:2] == ['unreachable', 'license'], 'problem order')
    check(groups['unreachable']['count'] == len(down), 'unreachable group %s' % groups['unreachable']['count'])
    check(all(i['summary'] == 'connection refused' for i in groups['unreachable']['items']),
          'unreachable causes %s' % set(i['summary'] for i in groups['unreachable']['items']))
    check([i['server'] for i in groups['jobs_unreadable']['items']] == hung
          and all('timeout' in i['summary'] for i in groups['jobs_unreadable']['items']),
          'jobs not read: %s' % groups['jobs_unreadable']['items'])
    retried = collections.Counter((i['code'], tuple(i['concerns'])) for i in groups['job_error']['items'])
    check(groups['job_error']['count'] == jobs_error and set(retried) <= {('INPUT_TIMEOUT', ('input',)),
                                                                          ('OUTPUT_TIMEOUT', ('output',))}
          and all(i['needs_restart'] is False for i in groups['job_error']['items']),
          'jobs in error: %d, by code %s' % (groups['job_error']['count'], retried))
    check(groups['job_failed']['count'] == jobs_failed
          and all(i['code'] == 'STREAM_NOT_FOUND' and i['needs_restart'] for i in groups['job_failed']['items']),
          'jobs failed: %d, expected %d' % (groups['job_failed']['count'], jobs_failed))
    near = set((i['server'], i['gpu']) for i in groups['gpu_limit']['items'] if 'sessions 100%' in i['summary'])
    full = set((s['name'], 0) for s in up if s['full_card'])
    check(full <= near, 'full cards not near their limits: %s' % sorted(full - near))

    # capacity: the sessions per card found from count and percent are the emulator's own figures
    cards = collections.Counter()
    idents = dict((i['name'], i) for i in emulated.generate(len(shaped), 0, 15))
    for server in up:
        for gpu in idents[server['name']]['gpus']:
            cards[gpu['model']] += gpu['count']
    for model in report['capacity']:
        name = model['model']
        check(model['cards'] == cards[name], '%s: %s cards, expected %d' % (name, model['cards'], cards[name]))
        check(model['sessions_per_card'] == emulated.GPU_MODELS[name]['sessions'], '%s: %s sessions per card, the '
              'emulator gives %d' % (name, model['sessions_per_card'], emulated.GPU_MODELS[name]['sessions']))
        check(0 <= model['sessions_free'] <= model['sessions_capacity'], '%s: free %s' % (name, model))

    # requests since the report run started
    seen = collections.defaultdict(collections.Counter)
    with open(log_path, 'rb') as handle:
        handle.seek(int(offset))
        for line in handle:
            entry = json.loads(line)
            seen[entry['server']][entry['function']] += 1
    for server in shaped:
        got = dict(seen.get(server['name'], {}))
        if server['down']:
            check(got == {}, '%s (down) got %s' % (server['name'], got))
        elif server['hang']:
            check(got.get('dump') == 1 and got.get('progress', 0) >= 1 and set(got) == {'dump', 'progress'},
                  '%s (hung progress) got %s' % (server['name'], got))
        else:
            check(got == {'dump': 1, 'progress': 1}, '%s got %s, expected 1 dump and 1 progress'
                  % (server['name'], got))

    # the set_stats data and the printed summary
    for key in ('servers', 'reachable', 'jobs', 'jobs_by_health', 'servers_with_problems', 'problems'):
        check(stats[key] == summary[key], 'set_stats %s: %s, the report %s' % (key, stats[key], summary[key]))
    check(stats['unreachable'] == len(down) and stats['license_not_valid'] == len(bad_licence), 'set_stats counts')
    check([m['model'] for m in stats['capacity']] == [m['model'] for m in report['capacity']], 'set_stats capacity')
    check('://' not in json.dumps(stats), 'a URL in the set_stats data')
    run_log = open(run_log_path, encoding='utf-8').read()
    check('unreachable: %s' % ', '.join(down[:10]) in run_log, 'the run did not print the unreachable servers')
    check('HTML report: %s' % report_path.replace('.json', '.html') in run_log, 'the run did not print the path')

    print('check_fleet: %d servers, %d unreachable, %d licences not valid, %d jobs (%d in error, %d failed), '
          '%d GPU models; %d requests checked' % (len(names), len(down), len(bad_licence), jobs, jobs_error, jobs_failed,
                                                  len(report['capacity']), sum(sum(c.values()) for c in seen.values())))
    if failures:
        print('FAILED checks:\n- ' + '\n- '.join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:7]))
