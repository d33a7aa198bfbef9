# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The body of the fleet report page, from the fleet_report filter's data.

Documented in fleet_report_html.yml next to this file. Written in Python rather than
in the role's Jinja template because the page has dozens of values per server: at
1000 servers a Jinja loop costs seconds of controller CPU on ansible-core 2.19, this
costs a fraction of one. Every value is escaped with html.escape; numbers that size
an SVG shape are computed here and clamped to 0-100 %.
"""

from __future__ import annotations

from html import escape

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.sigma.media_server.plugins.filter.fleet_report import SERVER_DATA_IS_SAFE
from ansible_collections.sigma.media_server.plugins.filter.fleet_report import number as num

DASH = '<span class="n">&ndash;</span>'
SEV = {'critical': 'crit', 'warning': 'warn'}
RANK = {'critical': 2, 'warning': 1}
TILES = (('unreachable', 'unreachable', 'crit'), ('license', 'licence not valid', 'crit'),
         ('job_failed', 'jobs failed', 'crit'), ('job_error', 'jobs in error', 'warn'),
         ('job_slow', 'jobs slow', 'warn'), ('gpu_limit', 'GPUs near limits', 'warn'))
CHIP_KINDS = ('unreachable', 'license', 'jobs_unreadable')


def e(value):
    """`value` as escaped HTML text ('' for None)."""
    return '' if value is None else escape(str(value), quote=True)


def t(value):
    """`value` as escaped text, or a dash when there is none."""
    return DASH if value is None or value == '' else e(value)


def pc(value):
    n = num(value)
    return DASH if n is None else '%.0f%%' % n


def unknown(text):
    return 'unknown' if text == DASH else text


def gb(mb):
    return '%.1f' % ((num(mb) or 0) / 1024.0)


def hi(value, limit):
    n = num(value)
    return ' class="hi"' if n is not None and n >= limit else ''


def frac(value, whole=100.0):
    """value / whole clamped to 0..1."""
    n = num(value)
    if n is None or not whole:
        return 0.0
    return max(0.0, min(1.0, n / float(whole)))


def server_cell(item):
    """A table cell linking to the server of a problem."""
    return '<td><a href="#%s">%s</a></td>' % (e(item.get('anchor')), e(item.get('server')))


class _Page(object):

    def __init__(self, report, problems_shown, collapse_above):
        self.r = report
        self.s = report.get('summary') or {}
        self.limits = report.get('limits') or {}
        self.gpu_limit = num(self.limits.get('gpu_percent'))
        self.gpu_limit = 90 if self.gpu_limit is None else self.gpu_limit
        self.temp_limit = num(self.limits.get('temperature'))
        self.temp_limit = 85 if self.temp_limit is None else self.temp_limit
        self.shown = problems_shown
        self.collapsed = len(report.get('servers') or []) > collapse_above
        self.out = []

    def w(self, *parts):
        self.out.extend(parts)

    # ---------------------------------------------------------------- header

    def header(self):
        s = self.s
        counts = dict((g.get('kind'), g.get('count', 0)) for g in self.r.get('problems') or [])
        self.w('<header>\n<h1>', e(self.r.get('title')), '</h1>\n<p class="meta">Generated ', t(self.r.get('generated')),
               ' · %s server(s), %s reachable · %s GPU card(s) · %s job(s)</p>\n'
               % (e(s.get('servers', 0)), e(s.get('reachable', 0)), e(s.get('gpus', 0)), e(s.get('jobs', 0))),
               '<nav class="tiles" aria-label="Problems at a glance">\n')
        for kind, label, severity in TILES:
            count = counts.get(kind, 0)
            self.w('<a class="tile %s" id="tile-%s" href="#p-%s"><b>%d</b>%s</a>\n'
                   % (severity if count else 'zero', kind, kind, count, label))
        healthy = (s.get('servers') or 0) - (s.get('servers_with_problems') or 0)
        self.w('<a class="tile ok" href="#servers"><b>%d</b>servers without problem</a>\n</nav>\n</header>\n' % healthy)

    # ---------------------------------------------------------------- problems

    def chips(self, items):
        self.w('<ul class="chips">')
        for item in items:
            self.w('<li><a href="#', e(item.get('anchor')), '">', e(item.get('server')), '</a> <span class="c">',
                   e(item.get('summary')), '</span></li>')
        self.w('</ul>')

    def problem_table(self, kind, items):
        link = server_cell
        if kind == 'gpu_limit':
            self.w('<table class="pt rt g4"><thead><tr><th>Server</th><th>Card</th><th>Model</th><th>Near its limits</th>'
                   '</tr></thead><tbody>')
            for item in items:
                self.w('<tr>', link(item), '<td>', t(item.get('gpu')), '</td><td>', t(item.get('model')), '</td><td>',
                       e(item.get('summary')), '</td></tr>')
        elif kind in ('job_failed', 'job_error'):
            self.w('<table class="pt rt j5"><thead><tr><th>Server</th><th>Job</th><th>Code</th><th>Since (UTC)</th>'
                   '<th>What to do</th></tr></thead><tbody>')
            for item in items:
                since = item.get('since')
                since = since.replace('T', ' ').replace('Z', '') if isinstance(since, str) else since
                concerns = item.get('concerns') or []
                self.w('<tr>', link(item), '<td>', e(item.get('job')), '</td><td><code>', t(item.get('code')), '</code>',
                       ' <small>%s</small>' % e(', '.join(str(c) for c in concerns)) if concerns else '',
                       '</td><td>', t(since), '</td><td>', t(item.get('remedy') or item.get('summary')), '</td></tr>')
        else:
            self.w('<table class="pt rt s5"><thead><tr><th>Server</th><th>Job</th><th>State</th><th>Speed</th>'
                   '<th>Why</th></tr></thead><tbody>')
            for item in items:
                self.w('<tr>', link(item), '<td>', e(item.get('job')), '</td><td>', t(item.get('state')), '</td><td>',
                       t(item.get('speed')), '</td><td>', t(item.get('summary')), '</td></tr>')
        self.w('</tbody></table>')

    def problem_items(self, kind, items):
        if kind in CHIP_KINDS:
            self.chips(items)
        else:
            self.problem_table(kind, items)

    def problems(self):
        groups = [g for g in self.r.get('problems') or [] if g.get('count')]
        self.w('<section id="problems"%s>\n<h2>What is wrong</h2>\n' % ('' if groups else ' class="none"'))
        if not groups:
            self.w('<p class="b ok">Nothing: every server answered, every licence is valid, every job runs well and no '
                   'GPU is near its limits.</p>\n')
        for group in groups:
            kind, items = group.get('kind'), group.get('items') or []
            self.w('<details open class="pg %s" id="p-%s"><summary><span class="b">%d</span> %s'
                   % (SEV.get(group.get('severity'), 'ok'), e(kind), len(items), e(group.get('title'))))
            if kind not in ('unreachable', 'license'):
                self.w(' <small>on %s server(s)</small>' % e(group.get('servers')))
            self.w('</summary>\n')
            self.problem_items(kind, items[:self.shown])
            if len(items) > self.shown:
                self.w('\n<details class="more"><summary>%d more</summary>' % (len(items) - self.shown))
                self.problem_items(kind, items[self.shown:])
                self.w('</details>')
            self.w('\n</details>\n')
        self.w('</section>\n')

    # ---------------------------------------------------------------- capacity

    def capacity(self):
        models = self.r.get('capacity') or []
        self.w('<section id="capacity">\n<h2>Capacity per GPU model</h2>\n')
        if not models:
            self.w('<p class="n">No GPU card in the fleet%s.</p>\n</section>\n'
                   % ('' if self.s.get('reachable') else ' (no server answered)'))
            return
        self.w('<p class="meta">Sessions in use and free come from each card&rsquo;s <code>count</code> and '
               '<code>percent</code>; a model none of whose cards runs a job has an unknown capacity. '
               'Near its limits: %s%% or %s °C.</p>\n<div class="cap">\n' % (e(self.gpu_limit), e(self.temp_limit)))
        for m in models:
            self.model(m)
        self.w('</div>\n</section>\n')

    def model(self, m):
        cap, used, free = m.get('sessions_capacity'), m.get('sessions_used') or 0, m.get('sessions_free')
        over = m.get('sessions_over') or 0
        taken = 300 * (1.0 - frac(free, cap) if cap else (1.0 if used else 0.0))
        mem_pct, enc_avg, enc_max = m.get('memory_percent'), m.get('encoder_load_avg'), m.get('encoder_load_max')
        full = bool(cap) and free == 0
        self.w('<figure class="model" data-model="', e(m.get('model')), '"><figcaption>', e(m.get('model')),
               ' <small>%s card(s) on %s server(s)' % (e(m.get('cards')), e(m.get('servers'))))
        if m.get('cards_near_limit'):
            self.w(' · <span class="hi">%s near limits</span>' % e(m.get('cards_near_limit')))
        label = '%s: %s sessions in use, %s free; memory %s used; encoder %s on average' % (
            m.get('model'), used, free if free is not None else 'unknown', unknown(pc(mem_pct)), unknown(pc(enc_avg)))
        self.w('</small></figcaption>\n<svg viewBox="0 0 300 130" role="img" aria-label="', e(label),
               '" font-size="12" font-family="system-ui,sans-serif" fill="#1d2733">\n')
        sessions = '<tspan font-weight="600">%s in use</tspan>, ' % e(used)
        if cap:
            sessions += '<tspan font-weight="600" fill="#1b5e20">%s free</tspan> of %s' % (e(free), e(cap))
        else:
            sessions += 'capacity unknown'
        self.meter(12, 'Sessions: ' + sessions, taken, '#e53935' if full else '#1e88e5', '#c8e6c9' if cap else '#e6e9ed')
        if over:
            self.w('<text x="0" y="46" fill="#b71c1c" font-size="11">%s more than the cards&#8217; capacity</text>\n'
                   % e(over))
        self.meter(70, 'Memory: <tspan font-weight="600">%s</tspan>, %s of %s GB'
                   % (unknown(pc(mem_pct)), gb(m.get('memory_used_mb')), gb(m.get('memory_total_mb'))),
                   300 * frac(mem_pct), '#e53935' if (num(mem_pct) or 0) >= self.gpu_limit else '#7e57c2')
        self.meter(108, 'Encoder: <tspan font-weight="600">%s</tspan> on average, %s at most'
                   % (unknown(pc(enc_avg)), unknown(pc(enc_max))),
                   300 * frac(enc_avg), '#e53935' if (num(enc_avg) or 0) >= self.gpu_limit else '#00897b')
        if enc_max is not None:
            self.w('<rect x="%.1f" y="110" width="2" height="20" fill="#1d2733"/>\n' % max(0.0, 300 * frac(enc_max) - 2))
        self.w('</svg></figure>\n')

    def meter(self, y, text, width, fill, back='#e6e9ed'):
        self.w('<text x="0" y="%d">%s</text>\n<rect x="0" y="%d" width="300" height="14" rx="3" fill="%s"/>'
               '<rect x="0" y="%d" width="%.1f" height="14" rx="3" fill="%s"/>\n'
               % (y, text, y + 6, back, y + 6, width, fill))

    # ---------------------------------------------------------------- overview

    def overview(self):
        servers = self.r.get('servers') or []
        self.w('<section id="servers">\n<h2>Servers</h2>\n<div class="tools">\n'
               '<input type="search" id="filter" placeholder="Filter: name, version, licence, GPU model, problem" '
               'aria-label="Filter the servers">\n<label><input type="checkbox" id="only-problems"> only with problems'
               '</label>\n<label>Sort <select id="sort" aria-label="Sort the servers"><option value="6:d">problems'
               '</option><option value="0:a">name</option><option value="1:a">version</option><option value="2:a">'
               'licence</option><option value="4:d">load</option><option value="5:d">jobs</option></select></label>\n'
               '<span id="shown" class="meta">%d server(s)</span>\n</div>\n<table id="overview" class="rt">\n<thead><tr>'
               '<th data-sort="t">Server</th><th data-sort="t">Version</th><th data-sort="t">Licence</th>'
               '<th data-sort="t">GPUs</th><th data-sort="n">Load</th><th data-sort="n">Jobs</th>'
               '<th data-sort="n" aria-sort="descending">Problems</th></tr></thead>\n<tbody>\n' % len(servers))
        ordered = sorted(servers, key=lambda s: (bool(s.get('reachable')), -RANK.get(s.get('severity'), 0),
                                                 -(s.get('problem_count') or 0)))
        for s in ordered:
            self.row(s)
        self.w('</tbody>\n</table>\n</section>\n')

    def row(self, s):
        rank = RANK.get(s.get('severity'), 0)
        link = '<td><a href="#%s">%s</a></td>' % (e(s.get('anchor')), e(s.get('name')))
        problems = ', '.join(s.get('problems') or [])
        if not s.get('reachable'):
            self.w('<tr class="crit down" data-sev="2">', link, '<td>', DASH, '</td><td>', DASH, '</td><td>', DASH,
                   '</td><td data-v="-1">', DASH, '</td><td data-v="-1">', DASH, '</td><td data-v="%d">'
                   % (30000 + (s.get('problem_count') or 0)), e(problems), '</td></tr>\n')
            return
        load, gpus, jobs = s.get('load') or {}, s.get('gpus') or [], s.get('jobs') or []
        cpu, sessions = num(load.get('cpu_percent')), num(load.get('gpu_sessions_percent'))
        value = max(cpu or 0, sessions or 0)
        health = s.get('jobs_by_health') or {}
        license_ = s.get('license') or {}
        self.w('<tr class="%s" data-sev="%d">' % (SEV.get(s.get('severity'), 'ok'), rank), link,
               '<td>', t(s.get('version')), '</td>',
               '<td>' if license_.get('valid') else '<td class="lic-bad">', e(license_.get('status')), '</td>',
               '<td>', e(s.get('gpu_summary')) if gpus else 'CPU only', '</td>',
               '<td data-v="%g"%s>' % (value, hi(value, self.gpu_limit)),
               ('GPU %s · ' % pc(sessions)) if gpus else '', 'CPU ', pc(cpu), '</td>',
               '<td data-v="%d">%d' % (len(jobs), len(jobs)))
        if health.get('failed'):
            self.w(' <small class="hi">%d failed</small>' % health['failed'])
        if health.get('degraded'):
            self.w(' <small>%d degraded</small>' % health['degraded'])
        self.w('</td><td data-v="%d">' % (rank * 10000 + (s.get('problem_count') or 0)), e(problems), '</td></tr>\n')

    # ---------------------------------------------------------------- details

    def details(self):
        servers = self.r.get('servers') or []
        self.w('<section id="details">\n<h2>Server details</h2>\n')
        if self.collapsed:
            self.w('<p class="tools"><button type="button" id="expand-all">Expand all</button>'
                   '<button type="button" id="collapse-all">Collapse all</button> <span class="meta">%d servers: '
                   'the details start collapsed; a link to a server opens its details.</span></p>\n' % len(servers))
        for s in servers:
            self.server(s)
        self.w('</section>\n')

    def server(self, s):
        license_ = s.get('license') or {}
        self.w('<details class="srv %s" id="%s" data-server="%s"%s><summary><span class="server-name">%s</span>'
               % (SEV.get(s.get('severity'), 'ok'), e(s.get('anchor')), e(s.get('name')),
                  '' if self.collapsed else ' open', e(s.get('name'))))
        if not s.get('reachable'):
            self.w(' <span class="b crit">unreachable</span>')
        else:
            self.w(' <span class="b %s license">licence %s</span>'
                   % ('ok' if license_.get('valid') else 'crit', e(license_.get('status'))))
        if s.get('reachable'):
            facts = (t(s.get('version')), e(s.get('gpu_summary')) or 'CPU only', '%d job(s)' % len(s.get('jobs') or []))
            self.w(' <span class="sum">', ' · '.join(facts), '</span>')
        if s.get('problems'):
            self.w(' <small class="hi">', e(', '.join(s['problems'])), '</small>')
        self.w('</summary><div class="sd">')
        if not s.get('reachable'):
            self.w('<p class="error">', t(s.get('error')), '</p><p class="facts"><span>API <code>', t(s.get('api_url')),
                   '</code></span></p></div></details>\n')
            return
        load = s.get('load') or {}
        cpu = '<b%s>%s</b>' % (hi(load.get('cpu_percent'), self.gpu_limit), pc(load.get('cpu_percent')))
        ram = DASH
        if num(load.get('ram_total_mb')):
            ram = '%s of %s GB' % (gb(load.get('ram_used_mb')), gb(load.get('ram_total_mb')))
        self.w('<p class="facts"><span>Version <b class="version">', t(s.get('version')), '</b>',
               ' (%s)' % e(s.get('branch')) if s.get('branch') else '', '</span><span>Host <b>', t(s.get('hostname')),
               '</b></span><span>CPU ', cpu, '</span><span>RAM <b>', ram, '</b></span>',
               '' if s.get('gpus') else '<span>GPU <b class="gpu-models">none (CPU only)</b></span>',
               '<span>API <code>', t(s.get('api_url')), '</code></span></p>')
        gpus = s.get('gpus') or []
        if gpus:
            self.w('<table class="cards rt"><thead><tr><th>Card</th><th>Model</th><th>Sessions</th><th>Memory</th>'
                   '<th>Encoder</th><th>Decoder</th><th>GPU</th><th>Temp.</th></tr></thead><tbody>')
            for c in gpus:
                self.card(c)
            self.w('</tbody></table>')
        if s.get('jobs_error'):
            self.w('<p class="error">Jobs not read: ', e(s['jobs_error']), '</p>')
        jobs = s.get('jobs') or []
        bad = [j for j in jobs if j.get('health') != 'ok']
        good = [j for j in jobs if j.get('health') == 'ok']
        if bad:
            self.w('<table class="jobs rt"><thead><tr><th>Job</th><th>State</th><th>Speed</th><th>Uptime</th>'
                   '<th>Why, and the last error lines</th></tr></thead><tbody>')
            for j in bad:
                self.bad_job(j)
            self.w('</tbody></table>')
        if good:
            # names only: at 1000 servers x 20 jobs every byte per job counts
            self.w('<p class="okj">%d job(s) ok: ' % len(good), e(', '.join(str(j.get('name')) for j in good)), '</p>')
        elif not jobs and not s.get('jobs_error'):
            self.w('<p class="okj n">No job.</p>')
        self.w('</div></details>\n')

    def card(self, c):
        gl, tl = self.gpu_limit, self.temp_limit
        sessions = t(c.get('jobs'))
        if c.get('sessions_capacity'):
            sessions += ' of %s' % e(c['sessions_capacity'])
        memory = pc(c.get('memory_percent'))
        if num(c.get('memory_total_mb')):
            memory += ' of %s GB' % gb(c['memory_total_mb'])
        temperature = '%s °C' % e(c['temperature']) if c.get('temperature') is not None else DASH
        self.w('<tr><td>', t(c.get('index')), '</td><td>', t(c.get('model')), '</td>',
               '<td%s>%s (%s)</td>' % (hi(c.get('sessions_percent'), gl), sessions, pc(c.get('sessions_percent'))),
               '<td%s>%s</td>' % (hi(c.get('memory_percent'), gl), memory),
               '<td%s>%s</td>' % (hi(c.get('encoder_load'), gl), pc(c.get('encoder_load'))),
               '<td%s>%s</td>' % (hi(c.get('decoder_load'), gl), pc(c.get('decoder_load'))),
               '<td%s>%s</td>' % (hi(c.get('utilization'), gl), pc(c.get('utilization'))),
               '<td%s>%s</td></tr>' % (hi(c.get('temperature'), tl), temperature))

    def bad_job(self, j):
        self.w('<tr class="job" data-job="%s" data-state="%s" data-health="%s"><td class="job-name">%s</td>'
               '<td><span class="b %s">%s</span></td><td>%s</td><td>%s</td><td>%s'
               % (e(j.get('name')), e(j.get('state')), e(j.get('health')), e(j.get('name')),
                  'crit' if j.get('health') == 'failed' else 'warn', e(j.get('state')), t(j.get('speed')),
                  t(j.get('uptime')), e('; '.join(str(r) for r in j.get('health_reasons') or []))))
        last = j.get('last_error') or {}
        if last.get('remedy'):
            self.w(' <small>', e(last['remedy']), '</small>')
        errors = j.get('errors') or []
        if errors:
            self.w('<ul class="errors">', ''.join('<li>%s</li>' % e(line) for line in errors), '</ul>')
            if (j.get('error_count') or 0) > len(errors):
                self.w('<small>(last %d of %s)</small>' % (len(errors), e(j.get('error_count'))))
        self.w('</td></tr>')

    def render(self):
        self.header()
        self.w('<main>\n')
        self.problems()
        self.capacity()
        self.overview()
        self.details()
        self.w('</main>\n')
        return ''.join(self.out)


def fleet_report_html(report, problems_shown=12, collapse_above=20):
    """The page body (header and main) for the data of the fleet_report filter."""
    if not isinstance(report, dict) or not isinstance(report.get('servers'), list):
        raise AnsibleFilterError('fleet_report_html: the input must be the data the fleet_report filter returns')
    for name, value in (('problems_shown', problems_shown), ('collapse_above', collapse_above)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise AnsibleFilterError('fleet_report_html: %s must be an integer of 0 or more, got %r' % (name, value))
    page = _Page(report, problems_shown, collapse_above).render()
    return page if SERVER_DATA_IS_SAFE else wrap_var(page)


class FilterModule(object):
    """sigma.media_server filters."""

    def filters(self):
        return {'fleet_report_html': fleet_report_html}
