# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the figures of a reliability run as docs/reliability.md."""

from __future__ import annotations

import datetime
import platform
import time

from rel_support import md_table

HEADER = """# Reliability and security figures

This file is written by the reliability suite (`tests/reliability`, part of
`make test`): `.venv/bin/python -m pytest tests/reliability -q` runs it and
rewrites this table from what it measured. Do not edit it by hand.

The suite starts one emulator process, switches faults on and off through
its control port, runs the modules and the inventory plugin as users do
(`ansible-playbook`, `ansible-inventory`) and checks every result against
the emulator's request log and job state.
"""


def _yesno(value):
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    return value


def render(figures, tests=0, failed=0):
    out = [HEADER]
    try:
        from ansible.release import __version__ as core
    except ImportError:  # pragma: no cover
        core = 'unknown'
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    out.append('Last run: %s, ansible-core %s, Python %s; %d tests, %d failed, %.0f s.\n'
               % (now, core, platform.python_version(), tests, failed, time.time() - figures.started))

    rows = figures.rows('faults')
    if rows:
        out.append('## Faults\n')
        out.append('Each fault is switched on through the emulator\'s control port, the subject runs, the fault is '
                   'switched off and the subject runs again. Module calls use `timeout: 1`, `retries: 1`; '
                   '"bound" = timeout x (retries + 1) + 1 s + the cost of a trivial call of the same module measured '
                   'in the same playbook (the larger of its baseline and the successful re-run right after the case). '
                   'The inventory meets all faults in ONE `ansible-inventory` run (one server per fault, next to a '
                   'healthy one), which must end within the bound of one call. "writes" counts start/stop/update '
                   'requests the server answered with ec 0 during the faulty run: `changed` must be true exactly when '
                   'it is not 0. "@start" faults hit only the `start` call (the read before it works); '
                   '"partial@start" is a lineup whose stop succeeds before its first start fails. "re-run" is the run '
                   'after the fault was cleared: it must succeed, the server must hold exactly the declared jobs, '
                   'none started twice, and (job modules) one more run must change nothing.\n')
        out.append(md_table(['subject', 'fault', 'outcome', 'message (excerpt)', 'time / bound', 'changed', 'writes',
                             're-run', 'result'],
                            [[r['subject'], r['fault'], r['outcome'], '`%s`' % r['message'] if r['message'] else '',
                              r['time'], _yesno(r['changed']), r['writes'], r['rerun'],
                              'ok' if not r['problems'] else 'FAILED: ' + '; '.join(r['problems'])] for r in rows]))
        out.append('')
    intros = {
        'bad_input': 'Each invalid input must be refused with a message naming the field, before any request reaches '
                     'a server (the request log of the server every case points at must stay empty). The cases are '
                     'in `tests/reliability/corpus/`.',
        'concurrency': 'The server answers every request after a delay (1 s for the forks, 0.3 s for the overlapping '
                       'runs), so that the read-decide-start windows of the runs overlap. "restarts" is the '
                       'emulator\'s count of `start` calls on a job that already existed: it must be 0.',
        'secrets': 'Every run is made at `-vvvv` (job modules with `--diff`). Every file the runs produced '
                   '(stdout, stderr, recorded task results, registered results written with `copy`, inventory cache, '
                   'live-update ledger, report) is searched for every secret verbatim, percent-encoded, and for the '
                   'base64 basic-auth header. Only the inputs the user wrote (playbook, inventory source) are not '
                   'searched.',
        'tls': 'Against the emulator\'s self-signed HTTPS endpoint.',
        'untrusted': 'The server reports a host name, version, branch, storage folder, job names, inputs and error '
                     'lines holding `{{ 6 * 7 }}` and a `lookup(\'pipe\', \'touch ...\')`. They must come back '
                     'verbatim, and the sentinel file must never appear.',
    }
    for section, title in (('bad_input', 'Bad input'), ('concurrency', 'Concurrency'), ('secrets', 'Secrets'),
                           ('tls', 'TLS'), ('untrusted', 'Untrusted data')):
        rows = figures.rows(section)
        if not rows:
            continue
        out.append('## %s\n' % title)
        out.append(intros[section] + '\n')
        headers = list(rows[0].keys())
        out.append(md_table([h.replace('_', ' ') for h in headers], [[_yesno(r.get(h, '')) for h in headers] for r in rows]))
        out.append('')
    return '\n'.join(out) + '\n'
