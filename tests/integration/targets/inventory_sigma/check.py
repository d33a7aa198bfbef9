# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for runme.sh (standard library only).

check.py compare ACTUAL.json EXPECTED.json  normalised ansible-inventory --list output equals the expected one
check.py unsafe ACTUAL.json                 values that come from the servers are marked unsafe
check.py secrets FLEET.yml PATH...          no licence key of the fleet appears in any of the files
check.py count REQUEST_LOG                  how many API requests the request log holds
check.py setting KEY                        sigma_emulator.KEY from the integration_config.yml of the test run, or nothing
"""

from __future__ import annotations

import difflib
import json
import os
import re
import sys

# dump fields that change from run to run (times, uptimes)
VOLATILE = frozenset(('start', 'local', 'now', 'updatetime', 'startup', 'life', 'dt', 'tel'))
# how long the client tried, in sigma_error
ELAPSED = re.compile(r'(gave up after \d+ attempts in )[0-9.]+ s')


def normalise(doc, in_dump=False):
    """Drop the unsafe markers (how they print differs between ansible-core versions) and volatile dump values."""
    if isinstance(doc, dict):
        if set(doc) == {'__ansible_unsafe'}:
            return normalise(doc['__ansible_unsafe'], in_dump)
        out = {}
        for key, value in doc.items():
            if in_dump and key.lower() in VOLATILE:
                out[key] = '<volatile>'
            else:
                out[key] = normalise(value, in_dump or key == 'sigma_dump')
        return out
    if isinstance(doc, list):
        return [normalise(value, in_dump) for value in doc]
    if isinstance(doc, str):
        return ELAPSED.sub(r'\1<time> s', doc)
    return doc


def load(path):
    with open(path) as handle:
        doc = normalise(json.load(handle))
    doc.get('_meta', {}).pop('profile', None)  # the output profile name exists from ansible-core 2.19 on
    return json.dumps(doc, indent=2, sort_keys=True).splitlines()


def compare(actual_path, expected_path):
    actual = load(actual_path)
    expected = load(expected_path)
    if actual != expected:
        sys.stdout.write('\n'.join(difflib.unified_diff(expected, actual, expected_path, actual_path, lineterm='')) + '\n')
        return 1
    print('%s matches %s' % (actual_path, expected_path))
    return 0


def unsafe(actual_path):
    with open(actual_path) as handle:
        hostvars = json.load(handle)['_meta']['hostvars']
    checked = 0
    for host, variables in hostvars.items():
        if 'sigma_version' not in variables:
            continue
        for name in ('sigma_version', 'sigma_license_status'):
            value = variables[name]
            if value is not None and not (isinstance(value, dict) and '__ansible_unsafe' in value):
                print('%s: %s is not marked unsafe: %r' % (host, name, value))
                return 1
        for model in variables['sigma_gpu_models']:
            if not (isinstance(model, dict) and '__ansible_unsafe' in model):
                print('%s: sigma_gpu_models is not marked unsafe: %r' % (host, model))
                return 1
        checked += 1
    if not checked:
        print('no host with server data in %s' % actual_path)
        return 1
    print('server data of %d host(s) is marked unsafe' % checked)
    return 0


def secrets(fleet_path, *paths):
    with open(fleet_path) as handle:
        keys = re.findall(r'license_key:\s*(\S+)', handle.read())
    assert keys, 'no licence key in %s' % fleet_path
    files = []
    for path in paths:
        if os.path.isdir(path):
            files.extend(os.path.join(root, name) for root, _dirs, names in os.walk(path) for name in names)
        else:
            files.append(path)
    for path in files:
        with open(path, errors='replace') as handle:
            text = handle.read()
        for key in keys:
            if key in text:
                print('the licence key %s leaked into %s' % (key, path))
                return 1
    print('no licence key in %d file(s)' % len(files))
    return 0


def count(log_path):
    if not os.path.exists(log_path):
        print(0)
        return 0
    with open(log_path) as handle:
        print(sum(1 for line in handle if line.strip()))
    return 0


def setting(key):
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, '..', '..', 'integration_config.yml')
    if not os.path.exists(path):
        return 0
    try:
        import yaml
    except ImportError:
        return 0
    with open(path) as handle:
        doc = yaml.safe_load(handle) or {}
    value = (doc.get('sigma_emulator') or {}).get(key)
    if isinstance(value, str):
        print(value)
    return 0


if __name__ == '__main__':
    commands = dict(compare=compare, unsafe=unsafe, secrets=secrets, count=count, setting=setting)
    if len(sys.argv) < 3 or sys.argv[1] not in commands:  # every command takes an argument
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
