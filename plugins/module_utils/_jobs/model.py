# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The job model: a desired job, its start body, its digests and its live `update` calls."""

from __future__ import annotations

import copy
import hashlib
import json
import re

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sigma.media_server.plugins.module_utils._job_spec import (
    body_size_error, check_job, effective_gpu, input_urls, item_label, render, secrets_of, to_api, validate_job_item,
)
from ansible_collections.sigma.media_server.plugins.module_utils._outcome import Failure

LIVE = '(live)'  # placeholder of a live-updatable value inside the restart part
# The `_id` this collection writes: 12 hex of the restart digest, 12 hex of the live digest, then `@N`, the card
# the job was started on (a job on a GPU). Anything else in `_id` was not written by this collection.
RECORD_ID_RE = re.compile(r'^([0-9a-f]{12})([0-9a-f]{12})(?:@(\d{1,3}))?$')


def parse_record_id(value):
    """(restart digest, live digest, card index or None) of an `_id` this collection wrote, else None."""
    match = RECORD_ID_RE.match(value) if isinstance(value, str) else None
    if not match:
        return None
    return match.group(1), match.group(2), int(match.group(3)) if match.group(3) is not None else None


def card_of(entry, rec=None):
    """The card a job runs on: the `@N` of its `_id` in a normalised progress entry, else (a server that does not
    echo `_id`) the card kept in the record of that instance `rec`; None when not known."""
    parsed = parse_record_id((entry or {}).get('id'))
    if parsed and parsed[2] is not None:
        return parsed[2]
    card = (rec or {}).get('card')
    return card if isinstance(card, int) and not isinstance(card, bool) and card >= 0 else None


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=False, default=str)


def digest(obj):
    return hashlib.sha256(canonical(obj).encode('utf-8')).hexdigest()[:12]


def dicts(value):
    """The dicts of a value that may be a dict, a list of dicts or anything else."""
    items = value if isinstance(value, list) else [value] if isinstance(value, dict) else []
    return [i for i in items if isinstance(i, dict)]


def split_live(body):
    """(restart part, live part, update calls) of a start body; a VOD job has no live part."""
    restart = copy.deepcopy(body)
    live, ops = {}, []
    if body.get('mode') != 'live':
        return restart, live, ops

    def take(kind, ident, items, keys):
        """Move the values of `keys` (as in items[0]) to the live part; placeholders stay."""
        changed = dict((k, items[0][k]) for k in keys if k in items[0])
        if changed:
            live['%s:%s' % (kind, ident)] = changed
            ops.append((kind, ident, copy.deepcopy(changed)))
            for item in items:
                item.update((k, LIVE) for k in changed)

    for w in dicts(restart.get('watermark')):
        if w.get('id') not in (None, ''):
            take('overlay', str(w['id']), [w], ('x', 'y', 'enable'))
    for p in dicts(restart.get('profile')):
        if p.get('type') == 'audio' and p.get('id') not in (None, ''):
            take('volume', str(p['id']), [p], ('volume',))
    targets = dicts(restart.get('target'))
    # drm and header updates reach every target that has them: live only when all agree.
    drms = [t['drm'] for t in targets if isinstance(t.get('drm'), dict) and t['drm']]
    if drms and all(d == drms[0] for d in drms):
        take('drm', '0', drms, sorted(drms[0]))
    headers = [(t.get('manifest') or {}).get('header') for t in targets if t.get('format') in ('hls', 'dash')]
    if headers and all(isinstance(h, dict) and h and h == headers[0] for h in headers):
        take('header', '0', headers, sorted(headers[0]))
    return restart, live, ops


class Job(object):
    """One desired job: its start body, digests and live update calls."""

    def __init__(self, params, spec, state='present', force=False, unverified='warn'):
        self.name = params['name']
        self.mode = params['mode']
        self.state = state
        self.force = force
        self.unverified = unverified  # warn | restart | fail: a running job this collection cannot verify
        self.gpu = effective_gpu(params)
        body = to_api(params, spec)
        self.user_id = body.pop('_id', None)
        restart, _live, self.ops = split_live(body)
        self.restart_digest = digest(restart)
        self.live_digest = digest(_live)
        self.body = body
        self.record_id = self.user_id if self.user_id is not None else self.restart_digest + self.live_digest

    def start_body(self, gpu=None):
        """The start body on card `gpu` (None: as configured); `_id` carries the digests and the card (`@N`)."""
        body = copy.deepcopy(self.body)
        if gpu is not None:
            if 'gpu' in (body.get('option') or {}):
                body['option']['gpu'] = gpu
            else:
                body['gpu'] = gpu
        body['_id'] = self.record_id
        if self.user_id is None and isinstance(gpu, int) and not isinstance(gpu, bool) and gpu >= 0:
            body['_id'] += '@%d' % gpu
        return body

    def needs(self):
        """{codec@pixelFormat: profile id} a GPU must encode (enabled video profiles, not copy)."""
        out = {}
        for p in dicts(self.body.get('profile')):
            if p.get('type', 'video') == 'video' and p.get('enable', 1) and p.get('codec', 'h264') != 'copy':
                out.setdefault('%s@%s' % (p.get('codec', 'h264'), p.get('pixelFormat', 'yuv420p')), str(p.get('id')))
        return out

    def observed(self):
        """The desired values of the fields progress reports, normalised as the reported ones (`reported_target`)."""
        targets = [t for t in dicts(self.body.get('target')) if t.get('enable', 1)]
        return {
            'input': set(reported_url(u) for u in input_urls(self.body.get('input'))),
            'profiles': sorted(reported_id(p.get('id')) for p in dicts(self.body.get('profile')) if p.get('enable', 1)),
            'targets': sorted(reported_target(t.get('format'), t.get('url'), t.get('select')) for t in targets),
        }


# How a server may shape what `progress` reports, undone on both sides before comparing: the credentials of a URL
# (masked, dropped, or `udp://@group` for `udp://group`), a trailing slash, the case of a hex profile id or a
# format, numbers for ids.
_USERINFO_RE = re.compile(r'^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#@]*@')


def reported_url(url):
    if not isinstance(url, str):
        return url
    url = _USERINFO_RE.sub(r'\1', url.strip())
    return url[:-1] if url.endswith('/') and not url.endswith('//') else url


def reported_id(value):
    text = str(value).strip()
    return text.lower() if text.lower().startswith('0x') else text


def _ids(select):
    if isinstance(select, list):
        return [_ids(s) for s in select]
    if isinstance(select, dict):
        return dict((k, _ids(v) if k == 'select' else v) for k, v in select.items())
    return reported_id(select)


def reported_target(fmt, url, select):
    """One target as compared: format, URL and select (ids as text), normalised."""
    return canonical([str(fmt or '').lower(), reported_url(url), _ids(select or [])])


def load_jobs(items, spec, prefix, outcome):
    """Validated Job objects from job option dicts; raises Failure (before any request) with every error.

    `prefix` None: `items` were validated by Ansible already (sigma_job); else
    each raw item is validated against `spec` and errors are named
    `prefix[n]` (sigma_jobs' `jobs`). Secrets found are handed to `outcome`.
    """
    errors, jobs, names = [], [], {}
    validator = ArgumentSpecValidator(spec) if prefix else None  # one for every item: building it costs
    for n, item in enumerate(items):
        where = '%s[%d]' % (prefix, n) if prefix else ''
        if prefix:
            params, item_errors, no_log = validate_job_item(item, validator, where)
            outcome.hide(no_log)
            if item_errors:
                errors.extend(item_errors)
                continue
        else:
            params = item
        label = item_label(where, params['name']) if prefix else ''
        errors.extend('%s.%s' % (label, e) if label else e for e in check_job(params, params['state']))
        if params['name'] in names:
            errors.append(render(label, '', ': name %r is already used by %s[%d]'
                                 % (params['name'], prefix, names[params['name']])))
        names.setdefault(params['name'], n)
        outcome.hide(secrets_of(params))
        if not errors:
            job = Job(params, spec, params['state'], params['force'], params.get('unverified') or 'warn')
            too_big = body_size_error(job.name, job.start_body())
            if too_big:
                errors.append(render(label, '', ': ' + too_big))
            else:
                jobs.append(job)
    if errors:
        raise Failure('invalid job specification: %s' % '; '.join(errors), errors=errors)
    return jobs
