# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What sigma_info gathers, from plain parameters to a plain result.

`gather(params, client, outcome)` reads one server: one `dump` for the
subsets server, gpus, load, apps and license, one `progress` for jobs, one
`info` per probed input. The licence key and passwords in URLs are handed to
`outcome` as values to hide; a failure raises `_outcome.Failure` with what
was gathered so far.
"""

from __future__ import annotations

from ansible_collections.sigma.media_server.plugins.module_utils._ci import mask_url_passwords
from ansible_collections.sigma.media_server.plugins.module_utils._client import SigmaError
from ansible_collections.sigma.media_server.plugins.module_utils._dump import MASK, license_key, mask_dump, normalize_dump
from ansible_collections.sigma.media_server.plugins.module_utils._outcome import Failure
from ansible_collections.sigma.media_server.plugins.module_utils._progress import info_streams, normalize_progress
from ansible_collections.sigma.media_server.plugins.module_utils._ranges import Range

DUMP_SUBSETS = ('server', 'gpus', 'load', 'apps', 'license')
ALL_SUBSETS = DUMP_SUBSETS + ('jobs',)
DEFAULT_SUBSETS = DUMP_SUBSETS

# The documented ranges of sigma_info's options (its DOCUMENTATION).
RANGES = {'probe_timeout': Range(0, above=True)}


def argument_spec():
    """sigma_info's options, without the connection options."""
    return dict(
        gather_subset=dict(type='list', elements='str', default=list(DEFAULT_SUBSETS)),
        show_license_key=dict(type='bool', default=False, no_log=False),
        probe_inputs=dict(type='list', elements='str', default=[]),
        probe_timeout=dict(type='int', default=20),
        detect_keyframes=dict(type='bool', default=False),
    )


def resolve_subsets(requested):
    """The set of subsets from a gather_subset list; raises ValueError naming a bad entry."""
    chosen = set()
    positive = False
    for raw in requested:
        item = str(raw).strip()
        negate = item.startswith('!')
        name = item[1:].strip() if negate else item
        if name != 'all' and name not in ALL_SUBSETS:
            raise ValueError('gather_subset: unknown subset %r; choose from %s, all, or one of them prefixed with !'
                             % (item, ', '.join(ALL_SUBSETS)))
        names = ALL_SUBSETS if name == 'all' else (name,)
        if negate:
            if not positive:
                chosen.update(DEFAULT_SUBSETS)
                positive = True
            chosen.difference_update(names)
        else:
            positive = True
            chosen.update(names)
    return chosen


def gather(params, client, outcome):
    """sigma_info's result from its validated options; raises Failure (the partial result with it)."""
    try:
        subsets = resolve_subsets(params['gather_subset'])
    except ValueError as exc:
        raise Failure(str(exc))
    error = RANGES['probe_timeout'].error('probe_timeout', params['probe_timeout'])
    if error:
        raise Failure(error)
    for url in params['probe_inputs']:
        if not url or not url.strip():
            raise Failure('probe_inputs: an input URL must be a non-empty string')
    # a password in an input URL is a secret wherever the URL shows up
    probe_passwords = set()
    mask_url_passwords(params['probe_inputs'], probe_passwords)
    outcome.hide(probe_passwords)

    result = dict(changed=False, gather_subset=sorted(subsets))
    try:
        if subsets & set(DUMP_SUBSETS):
            raw = client.dump()
            key = license_key(raw)
            if key and not params['show_license_key']:
                outcome.hide([key])
            facts = normalize_dump(raw)
            for name in DUMP_SUBSETS:
                if name in subsets:
                    result[name] = facts[name]
            if 'gpus' in subsets:
                result['models'] = facts['models']
            if 'license' in subsets:
                result['license']['key'] = (key if params['show_license_key'] else MASK) if key else None
            result['dump'] = mask_dump(raw)
        if 'jobs' in subsets:
            # input and target URLs may carry user:password@ (srt, rtmp, http pull)
            found = set()
            result['jobs'] = mask_url_passwords(normalize_progress(client.progress('*')), found)
            outcome.hide(found)
        if params['probe_inputs']:
            result['inputs'] = {}
            for url in params['probe_inputs']:
                try:
                    answer = client.info(url, timeout=params['probe_timeout'], detect_keyframes=params['detect_keyframes'])
                except SigmaError as err:
                    raise Failure('%s (probing input %s)' % (err, url), sigma_error=err.to_dict(), **result)
                try:
                    # remove_values() does not mask dict keys: mask the URL key here
                    result['inputs'][mask_url_passwords(url)] = info_streams(answer, url)
                except ValueError as exc:
                    raise Failure('Sigma server %s, function info: %s' % (client.display_url, exc), **result)
    except SigmaError as err:
        raise Failure.sigma(err, **result)
    return result
