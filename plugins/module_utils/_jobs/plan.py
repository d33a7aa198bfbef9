# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner: what one job needs, given its normalised `progress` entry.

`plan_job` compares the desired job with what `progress` reports, with the
record of what was applied and with the digest in `_id`, and returns a `Plan`:
its action (none | start | restart | update | stop), the reasons and the
diff's before and after. It sends nothing.
"""

from __future__ import annotations

import copy
import re

from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import mask
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.model import (
    card_of, dicts, parse_record_id, reported_id, reported_target, reported_url,
)

UNKNOWN = '(not reported by the server, not in the record)'
# Paths of a start body (changed_fields) that progress reports, so observable_differences names them already.
REPORTED = re.compile(r'^(input([.\[].*)?|weight|profile\[\d+\](\.id)?|target\[\d+\](\.(format|url|select)([.\[].*)?)?)$')
# States in which a job of `state: present` is started again: a live job must run, a VOD job must run or be finished.
STALE_STATES = {'live': ('error', 'finished', 'stop', 'stopped'), 'vod': ('error', 'stop', 'stopped')}
UNVERIFIED = ('the job was not started by this collection (its _id holds no digest of ours) and no record tells what '
              'it runs, so its settings that progress does not report cannot be verified')


def observable_differences(job, entry, confirmed=False):
    """Names of the reported fields where the server differs from `job`, past how a server may shape its report.

    A server may list every input or only the active one (the backup after a
    fail-over), in any order: only an input the job is not configured with is
    a difference. URLs are compared without their credentials (model.reported_url).
    `confirmed`: the digest in `_id` says the job runs the desired
    configuration; `mode` and `weight`, which a server may not keep, are then
    not compared.
    """
    want = job.observed()
    reasons = []
    mode = entry.get('mode')
    if not confirmed and mode and str(mode).lower() != job.mode:
        reasons.append('mode (server: %s)' % mode)
    if any(reported_url(i.get('url')) not in want['input'] for i in entry['inputs']):
        reasons.append('input')
    if sorted(reported_id(p.get('id')) for p in entry['profiles']) != want['profiles']:
        reasons.append('profile ids')
    if sorted(reported_target(t.get('format'), t.get('url'), t.get('select')) for t in entry['targets']) != want['targets']:
        reasons.append('targets (format, url or select)')
    weight = job.body.get('weight')
    if not confirmed and weight is not None and entry.get('weight') is not None:
        try:
            if float(entry['weight']) != float(weight):
                reasons.append('weight')
        except (TypeError, ValueError):
            reasons.append('weight')
    return reasons


def reported_config(job, entry, reasons, applied=None):
    """The diff's before: the applied config (the record's, else the desired one) with what progress reports where it differs."""
    before = copy.deepcopy(applied if applied is not None else job.body)
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


def changed_fields(before, after, path=''):
    """The paths (`profile[0].width`) where two configurations differ, `_id` left out."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = []
        for key in sorted(set(before) | set(after), key=str):
            if not path and key == '_id':
                continue
            here = '%s.%s' % (path, key) if path else str(key)
            if key not in before or key not in after:
                out.append(here)
            else:
                out.extend(changed_fields(before[key], after[key], here))
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = []
        for n in range(max(len(before), len(after))):
            here = '%s[%d]' % (path, n)
            if n >= len(before) or n >= len(after):
                out.append(here)
            else:
                out.extend(changed_fields(before[n], after[n], here))
        return out
    return [] if before == after else [path or '(the configuration)']


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
        self.blind = False  # nothing tells the settings progress does not report (no record, no digest in _id)
        self.unverified = False  # running, not started by this collection, no record (see the option `unverified`)
        self.live_unknown = False  # nothing tells the live settings applied to the running job (no record)
        self.config_digest = None  # the digest of the applied restart part, when known
        self.card = None  # the card the running job was started on, when known (model.card_of)
        self.before = self.after = None
        self.gpu = None
        self.actions = []
        self.done = False  # a write for this job succeeded (in check mode: would be sent)
        self.refreshed = False  # `entry` is from the progress read after the writes

    @property
    def starts(self):
        return self.action in ('start', 'restart')


def desired_config(job):
    """The configuration the job is started with (`gpu` as given, `auto` included): the diff's after."""
    return dict(job.body, _id=job.record_id)


def plan_job(job, entry, rec=None, token=None):
    """Decide what `job` needs given its normalised progress `entry` (None: absent).

    `rec` is the record of the running instance (record.ServerRecord.match):
    the digests of the configuration and of the live settings applied, and the
    applied configuration with its secrets as keyed digests; None when there
    is none. `token` is the record's keyed digest of a secret (to compare the
    desired configuration with the applied one).

    What is known of the settings progress does not report comes from the
    record, else from the digest in `_id` (restart part only: `update` cannot
    rewrite `_id`). With neither, changes of those settings cannot be seen
    (`blind`). The live settings are known from the record only: without it
    they are sent again with `update` (`live_unknown`), never assumed.
    """
    plan = Plan(job.name, job, entry)
    after = {'state': 'present', 'config': desired_config(job)}
    if job.state == 'absent':
        if entry is not None:
            plan.action, plan.reasons = 'stop', ['state is absent and the job exists']
            plan.before, plan.after = {'state': 'present', 'config': progress_config(entry)}, {'state': 'absent'}
        return plan
    if entry is None:
        plan.action, plan.reasons = 'start', ['the job does not exist']
        plan.before, plan.after = {'state': 'absent'}, after
        return plan
    server_id = entry.get('id') or ''
    ours = parse_record_id(server_id) if job.user_id is None else None  # the digests this collection wrote in _id
    config_digest = rec.get('config') if rec else None
    if config_digest is None and ours is not None:
        config_digest = ours[0]
    live_digest = rec.get('live') if rec else None
    plan.config_digest = config_digest
    plan.card = card_of(entry, rec)
    reasons = observable_differences(job, entry, confirmed=config_digest == job.restart_digest)
    applied = rec.get('applied') if rec and token else None
    before_config = reported_config(job, entry, reasons, applied)
    if entry.get('state') in STALE_STATES.get(job.mode, ()):
        reasons.append('the live job is %s, not running' % entry['state'] if job.mode == 'live'
                       else 'the VOD job is in state %s' % entry['state'])
    if job.user_id is not None and server_id and server_id != job.user_id:
        reasons.append('_id (set through extra)')
    config_differs = config_digest is not None and config_digest != job.restart_digest
    if config_digest is None:
        # Neither a record of this run of the job nor a digest of ours in _id: the settings progress does not report
        # cannot be compared (the caller warns, or refuses with unverified=fail).
        plan.blind = True
        if job.user_id is None:  # _id empty, or not written by this collection: started outside it
            plan.unverified = True
            if job.unverified == 'restart':
                reasons.append('unverified is restart: %s' % UNVERIFIED)
                before_config['_note'] = 'the settings progress does not report are not known'
    elif config_differs:
        fields = changed_fields(applied, mask(after['config'], replace=token)) if applied is not None else []
        hidden = [f for f in fields if not REPORTED.match(f)]
        if hidden:
            reasons.append('settings progress does not report: %s' % ', '.join(
                hidden[:10] + (['and %d more' % (len(hidden) - 10)] if len(hidden) > 10 else [])))
        elif fields and reasons:
            pass  # only what progress reports differs: its reasons say it
        else:
            reasons.append('settings progress does not report (the configuration digest in _id differs)')
            before_config['_note'] = ('the server does not report codecs, sizes, manifest, DRM, watermarks, thumbs or '
                                      'options; the configuration digest in _id differs from the desired one')
    if job.mode == 'live' and job.ops and live_digest != job.live_digest and not config_differs:
        plan.live_unknown = live_digest is None
        if applied is None or live_digest is None:
            for kind, ident, changed in job.ops:
                _mark_unknown(before_config, kind, ident, changed)
            before_config.setdefault('_note', 'the live settings are not reported; %s' % (
                'no record tells those applied since the job started' if live_digest is None
                else 'their digest differs from the desired one'))
        if not reasons and not job.force and job.state == 'present':
            plan.action = 'update'
            plan.reasons = ['live settings (overlay, volume, DRM or header)%s' % (
                ': not recorded since the job started, sent again' if live_digest is None else '')]
            plan.before, plan.after = {'state': 'present', 'config': before_config}, after
            return plan
        if live_digest is not None:
            reasons.append('live settings (the live digest differs from the one applied)')
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
