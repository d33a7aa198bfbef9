# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn a `dump` answer into snake_case facts, tolerating damaged spelling.

Shared by sigma_info, the inventory plugin and the job engine (GPU choice),
so the three always agree on what a server is.
"""

from __future__ import annotations

import re

from ansible_collections.sigma.media_server.plugins.module_utils._ci import MASK, get_ci, lower_keys, mask_keys

LICENSE_UNKNOWN = 'UNKNOWN'


def _dict(value):
    return value if isinstance(value, dict) else {}


def _list(value):
    return value if isinstance(value, list) else []


def _first(mapping, *keys):
    """The first of `keys` present in a lower-cased mapping."""
    for key in keys:
        if key in mapping:
            return mapping[key]
    return None


def license_key(raw):
    """The licence key from a raw dump (any spelling), or None."""
    key = get_ci(get_ci(raw, 'nats'), 'license')
    return key if isinstance(key, str) and key else None


def mask_dump(raw, found=None):
    """A copy of a raw dump, as the server sent it, with the licence key masked."""
    out = dict(raw) if isinstance(raw, dict) else {}
    for key, value in out.items():
        if isinstance(key, str) and key.lower() == 'nats':
            out[key] = mask_keys(value, frozenset(('license',)), found=found)
    return out


def _codecs(entry, kind):
    return sorted(str(c) for c in _list(entry.get(kind)) if isinstance(c, str))


def supported_models(doc):
    """{model name: {'encoders': [...], 'decoders': [...]}} from a lower-cased dump."""
    models = {}
    for entry in _list(doc.get('supported')):
        entry = _dict(entry)
        name = entry.get('name')
        if isinstance(name, str) and name:
            models[name] = {'encoders': _codecs(entry, 'encoder'), 'decoders': _codecs(entry, 'decoder')}
    return models


def _gpus(system, models):
    gpus = []
    for position, card in enumerate(_list(system.get('gpu'))):
        card = _dict(card)
        model = card.get('name')
        # a damaged name (a list, an object) must not break the lookup
        caps = (models.get(model) if isinstance(model, str) else None) or {'encoders': [], 'decoders': []}
        index = card.get('index')
        gpus.append({
            'index': index if isinstance(index, int) else position,
            'model': model,
            'memory_total_mb': card.get('total'),
            'memory_used_mb': card.get('used'),
            'utilization': card.get('gpu'),
            # `soft` is the English translation's name for `mem`
            'memory_utilization': _first(card, 'mem', 'soft'),
            'encoder_load': card.get('enc'),
            'decoder_load': card.get('dec'),
            'temperature': card.get('temp'),
            'speed': card.get('speed'),
            'percent': card.get('percent'),
            'jobs': card.get('count'),
            'encoders': caps['encoders'],
            'decoders': caps['decoders'],
        })
    return gpus


def normalize_dump(raw):
    """Facts from a raw dump: server, gpus, models, load, apps, license, network, storage.

    Never raises on missing or misspelt fields; absent values are None.
    The licence key is NOT included (see `license_key`).
    """
    doc = lower_keys(raw) if isinstance(raw, dict) else {}
    system = _dict(doc.get('system'))
    nats = _dict(doc.get('nats'))
    models = supported_models(doc)
    status = doc.get('licensestatus')
    process = _dict(system.get('process'))
    return {
        'server': {
            'name': doc.get('name'),
            'hostname': doc.get('hostname'),
            'version': doc.get('version'),
            'branch': doc.get('branch'),
            'build': doc.get('build'),
            'started': doc.get('start'),
            'local_time': doc.get('local'),
            'timezone': doc.get('timezone'),
            'port': doc.get('port'),
            'os': system.get('os'),
        },
        'gpus': _gpus(system, models),
        'models': models,
        'load': {
            'cpu_percent': system.get('cpu'),
            'cores': system.get('cores'),
            'threads': system.get('thread'),
            'ram_total_mb': system.get('ramtotal'),
            'ram_used_mb': system.get('ramused'),
            'swap_total_mb': system.get('swaptotal'),
            'swap_used_mb': system.get('swapused'),
            'speed': doc.get('speed'),
            'queue': doc.get('queue'),
            'jobs_total': doc.get('total'),
            'jobs_by_state': _dict(doc.get('task')),
            'process': {'pid': process.get('pid'), 'cpu': process.get('cpu'),
                        'ram': process.get('ram'), 'children': process.get('child')},
            'updated': system.get('updatetime'),
        },
        'apps': [{
            'name': app.get('name'),
            'state': app.get('state'),
            'uptime': app.get('life'),
            'pid': _dict(app.get('process')).get('pid'),
            'cpu': _dict(app.get('process')).get('cpu'),
            'ram': _dict(app.get('process')).get('ram'),
        } for app in (_dict(a) for a in _list(doc.get('apps')))],
        'license': {
            'status': status.upper() if isinstance(status, str) and status else LICENSE_UNKNOWN,
            'valid': isinstance(status, str) and status.upper() == 'VALID',
            'connected': nats.get('connected'),
            'node_id': nats.get('id'),
        },
        'network': [_dict(n) for n in _list(system.get('network'))],
        'storage': [_dict(s) for s in _list(system.get('storage'))],
    }


def slug(text):
    """A group-name-safe lower-case slug: 'NVIDIA A10' -> 'nvidia_a10'."""
    return re.sub(r'[^a-z0-9]+', '_', str(text).lower()).strip('_') or 'unknown'


__all__ = ['LICENSE_UNKNOWN', 'MASK', 'license_key', 'mask_dump', 'normalize_dump', 'slug', 'supported_models']
