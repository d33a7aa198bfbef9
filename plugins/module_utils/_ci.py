# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read Sigma API answers whose key spelling cannot be trusted.

The English translation of the reference shows the same documents with
damaged capitalisation (`System`, `Encoder`, `APPS`, `Tel`...). Requests use
the canonical spelling; everything that READS an answer goes through here.
"""

from __future__ import annotations

import copy

from urllib.parse import urlsplit, urlunsplit

MASK = '********'


def lower_keys(obj):
    """A copy of a JSON document with every object key lower-cased.

    When two keys differ only in case, the first one met wins.
    """
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            lkey = key.lower() if isinstance(key, str) else key
            if lkey not in out:
                out[lkey] = lower_keys(value)
        return out
    if isinstance(obj, list):
        return [lower_keys(item) for item in obj]
    return obj


def get_ci(mapping, key, default=None):
    """mapping[key] matched case-insensitively (exact spelling first)."""
    if not isinstance(mapping, dict):
        return default
    if key in mapping:
        return mapping[key]
    lkey = key.lower()
    for k, v in mapping.items():
        if isinstance(k, str) and k.lower() == lkey:
            return v
    return default


def _leaves(value):
    """The strings inside a JSON value that are long enough to be secrets.

    Numbers, booleans and strings of one or two characters are left out: as
    `no_log_values` they would blank every "0", "1" or "on" in the output.
    """
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    if isinstance(value, str) and len(value) >= 3:
        return [value]
    return []


def mask_keys(obj, names, mask=MASK, found=None):
    """A deep copy of `obj` with the values of keys in `names` (lower-case,
    matched case-insensitively) replaced by `mask`. Masked strings (inside a
    masked dict or list too) are added to the `found` set, for `no_log_values`.
    `mask` may be a function of the value (a keyed digest, for instance)."""
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if isinstance(key, str) and key.lower() in names and value not in (None, ''):
                if found is not None:
                    found.update(_leaves(value))
                out[key] = mask(value) if callable(mask) else mask
            else:
                out[key] = mask_keys(value, names, mask, found)
        return out
    if isinstance(obj, list):
        return [mask_keys(item, names, mask, found) for item in obj]
    return copy.copy(obj)


def _mask_url(text, found, mask=MASK):
    if '@' not in text or '://' not in text:
        return text
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return text
    if not password:
        return text
    if found is not None:
        found.add(password)
    userinfo, _at, host = parts.netloc.rpartition('@')
    user = userinfo.split(':', 1)[0]
    shown = mask(password) if callable(mask) else mask
    return urlunsplit((parts.scheme, '%s:%s@%s' % (user, shown, host), parts.path, parts.query, parts.fragment))


def mask_url_passwords(obj, found=None, mask=MASK):
    """A copy of `obj` where every string that is a URL with a password has it masked.

    `srt://u:pw@h:9000` becomes `srt://u:********@h:9000`; the passwords are
    added to the `found` set, for `no_log_values`. `mask` may be a function of the password.
    """
    if isinstance(obj, dict):
        return dict((k, mask_url_passwords(v, found, mask)) for k, v in obj.items())
    if isinstance(obj, list):
        return [mask_url_passwords(v, found, mask) for v in obj]
    if isinstance(obj, str):
        return _mask_url(obj, found, mask)
    return obj
