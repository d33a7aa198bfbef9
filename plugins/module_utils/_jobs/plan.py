# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner: what one job needs, given its normalised `progress` entry.

`plan_job` compares the desired job with what `progress` reports and with
the digests in `_id` (and the record of live updates) and returns a `Plan`:
its action (none | start | restart | update | stop), the reasons and the
diff's before and after. It sends nothing.
"""

from __future__ import annotations

import copy

from ansible_collections.sigma.media_server.plugins.module_utils._jobs.model import canonical, dicts

UNKNOWN = '(not reported by the server; the live-settings digest differs)'
STALE_LIVE_STATES = ('error', 'finished', 'stopped')


def _ids_text(select):
    if isinstance(select, list):
        return [_ids_text(s) for s in select]
    if isinstance(select, dict):
        return dict((k, _ids_text(v) if k == 'select' else v) for k, v in select.items())
    return str(select)


def observable_differences(job, entry):
    """Names of the reported fields where the server differs from `job`."""
    want = job.observed()
    reasons = []
    if entry.get('mode') and entry['mode'] != job.mode:
        reasons.append('mode (server: %s)' % entry['mode'])
    if [i.get('url') for i in entry['inputs']] != want['input']:
        reasons.append('input')
    if sorted(str(p.get('id')) for p in entry['profiles']) != want['profiles']:
        reasons.append('profile ids')
    have = sorted(canonical([t.get('format'), t.get('url'), _ids_text(t.get('select') or [])]) for t in entry['targets'])
    if have != want['targets']:
        reasons.append('targets (format, url or select)')
    weight = job.body.get('weight')
    if weight is not None and entry.get('weight') is not None:
        try:
            if float(entry['weight']) != float(weight):
                reasons.append('weight')
        except (TypeError, ValueError):
            reasons.append('weight')
    return reasons


def reported_config(job, entry, reasons):
    """The desired config with what the server reports where it differs (`reasons`): the diff's before."""
    before = copy.deepcopy(job.body)
    if 'input' in reasons:
        urls = [i.get('url') for i in entry['inputs']]
        before['input'] = urls[0] if len(urls) == 1 else urls
    if 'profile ids' in reasons:
        before['profile'] = [{'id': p.get('id')} for p in entry['profiles']]
    if 'targets (format, url or select)' in reasons:
        before['target'] = [dict(format=t.get('format'), url=t.get('url'), select=t.get('select')) for t in entry['targets']]
    if 'weight' in reasons:
        before['weight'] = entry['weight']
    before['_id'] = entry.get('id') or ''
    return before


def progress_config(entry):
    """What progress tells about a job we have no desired config for."""
    return {'input': [i.get('url') for i in entry['inputs']], 'profile': [{'id': p.get('id')} for p in entry['profiles']],
            'target': [dict(format=t.get('format'), url=t.get('url'), select=t.get('select')) for t in entry['targets']],
            'weight': entry.get('weight'), '_id': entry.get('id') or ''}


class Plan(object):
    """What one job needs: action in none | start | restart | update | stop."""

    def __init__(self, name, job=None, entry=None):
        self.name, self.job, self.entry = name, job, entry
        self.action, self.reasons = 'none', []
        self.blind = False
        self.before = self.after = None
        self.gpu = None
        self.actions = []
        self.done = False  # a write for this job succeeded (in check mode: would be sent)

    @property
    def starts(self):
        return self.action in ('start', 'restart')


def plan_job(job, entry, live_seen=None):
    """Decide what `job` needs given its normalised progress `entry` (None: absent).

    `live_seen` is the live digest the ledger says was applied by update since
    the job's last start (None: use the one in `_id`).
    """
    plan = Plan(job.name, job, entry)
    after = {'state': 'present', 'config': dict(job.body, _id=job.record_id)}
    if job.state == 'absent':
        if entry is not None:
            plan.action, plan.reasons = 'stop', ['state is absent and the job exists']
            plan.before, plan.after = {'state': 'present', 'config': progress_config(entry)}, {'state': 'absent'}
        return plan
    if entry is None:
        plan.action, plan.reasons = 'start', ['the job does not exist']
        plan.before, plan.after = {'state': 'absent'}, after
        return plan
    reasons = observable_differences(job, entry)
    before_config = reported_config(job, entry, reasons)
    if job.mode == 'live' and entry.get('state') in STALE_LIVE_STATES:
        reasons.append('the live job is %s, not running' % entry['state'])
    server_id = entry.get('id') or ''
    if job.user_id is not None:
        plan.blind = True
        if server_id and server_id != job.user_id:
            reasons.append('_id (set through extra)')
    elif not server_id:
        plan.blind = True
    elif server_id[:12] != job.restart_digest:
        reasons.append('settings progress does not report (the configuration digest in _id differs)')
        before_config['_note'] = ('the server does not report codecs, sizes, manifest, DRM, watermarks, thumbs or '
                                  'options; the configuration digest in _id differs from the desired one')
    elif (live_seen or server_id[12:]) != job.live_digest:
        if job.mode == 'live' and job.ops:
            for kind, ident, changed in job.ops:
                _mark_unknown(before_config, kind, ident, changed)
            before_config['_note'] = 'the live settings are not reported; their digest differs from the desired one'
            if not reasons and not job.force and job.state == 'present':
                plan.action, plan.reasons = 'update', ['live settings (overlay, volume, DRM or header)']
                plan.before, plan.after = {'state': 'present', 'config': before_config}, after
                return plan
        reasons.append('live settings (the live digest in _id differs)')
    if job.state == 'restarted':
        reasons.insert(0, 'state is restarted')
    elif job.force:
        reasons.insert(0, 'force is true')
    if reasons:
        plan.action, plan.reasons = 'restart', reasons
        plan.before, plan.after = {'state': 'present', 'config': before_config}, after
    return plan


def _mark_unknown(config, kind, ident, changed):
    if kind == 'overlay':
        items = [w for w in dicts(config.get('watermark')) if str(w.get('id')) == ident]
    elif kind == 'volume':
        items = [p for p in dicts(config.get('profile')) if str(p.get('id')) == ident]
    elif kind == 'drm':
        items = [t['drm'] for t in dicts(config.get('target')) if isinstance(t.get('drm'), dict)]
    else:
        items = [t['manifest']['header'] for t in dicts(config.get('target'))
                 if isinstance((t.get('manifest') or {}).get('header'), dict)]
    for item in items:
        item.update((k, UNKNOWN) for k in changed)
