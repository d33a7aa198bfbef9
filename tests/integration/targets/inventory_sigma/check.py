# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers for runme.sh (standard library only).

check.py compare ACTUAL.json EXPECTED.json  normalised ansible-inventory --list output equals the expected one
check.py plain ACTUAL.json                  no value is written as {"__ansible_unsafe": ...} (what AWX imports)
check.py serve DIR                          serve an ordinary and a crafted dump on two ephemeral ports (DIR/ports.json)
check.py crafted ACTUAL.json DIR            the crafted server's templates are marked, nothing else
check.py rendered DIR FILE...               the rendered files hold the crafted templates verbatim, none ran
check.py names ACTUAL.json HOST=URL,... [UNREACHABLE,...]  the hosts and the URLs they stand for
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
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
UNSAFE = '__ansible_unsafe'

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


def marked(doc, path='', found=None):
    """[(path, value)] of every value written as {"__ansible_unsafe": value} in `doc`."""
    found = [] if found is None else found
    if isinstance(doc, dict):
        if UNSAFE in doc:
            found.append((path, doc[UNSAFE]))
        for key, value in doc.items():
            marked(value, '%s.%s' % (path, key) if path else key, found)
    elif isinstance(doc, list):
        for index, value in enumerate(doc):
            marked(value, '%s[%d]' % (path, index), found)
    return found


def plain(actual_path):
    with open(actual_path) as handle:
        doc = json.load(handle)
    found = marked(doc)
    for path, value in found:
        print('%s: written as {"%s": %r}, AWX would store a dictionary' % (path, UNSAFE, value))
    hostvars = doc['_meta']['hostvars']
    with_data = [h for h, v in hostvars.items() if isinstance(v.get('sigma_version'), str)]
    if not with_data:
        print('no host with server data in %s' % actual_path)
        return 1
    if found:
        return 1
    print('%s: %d host(s), every value a plain JSON value' % (actual_path, len(hostvars)))
    return 0


# ---------------------------------------------------------------- the crafted server

def evil(workdir):
    """A template that would create WORKDIR/rendered.sentinel if anything rendered it."""
    return "{{ lookup('pipe', 'touch %s/rendered.sentinel; id') }}" % workdir


def header(workdir):
    """The same through a #jinja2: header, which picks its own delimiters: no brace at all."""
    return "#jinja2:variable_start_string:'[[', variable_end_string:']]'\n[[ lookup('pipe', 'touch %s/rendered.sentinel') ]]" \
        % workdir


def ordinary_dump():
    with open(os.path.join(HERE, 'ordinary_dump.json')) as handle:
        return json.load(handle)


def crafted_dump(workdir):
    doc = ordinary_dump()
    doc['name'] = evil(workdir)
    doc['hostname'] = header(workdir)
    doc['version'] = evil(workdir)
    doc['licenseStatus'] = evil(workdir)
    doc['system']['os'] = evil(workdir)
    doc['system']['gpu'][0]['name'] = evil(workdir)
    doc['supported'][0]['name'] = evil(workdir)
    doc['nats']['license'] = 'CORESECRET-LICENCE-0002'
    return doc


def serve(workdir):
    answers = {'ordinary': ordinary_dump(), 'crafted': crafted_dump(workdir)}

    def handler(kind):
        body = json.dumps(answers[kind]).encode('utf-8')

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get('Content-Length') or 0))
                self.send_response(200)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        return Handler

    ports = {}
    for kind in answers:
        server = ThreadingHTTPServer(('127.0.0.1', 0), handler(kind))
        ports[kind] = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(os.path.join(workdir, 'ports.json.tmp'), 'w') as handle:
        json.dump(ports, handle)
    os.rename(os.path.join(workdir, 'ports.json.tmp'), os.path.join(workdir, 'ports.json'))
    threading.Event().wait()  # until killed
    return 0


def crafted(actual_path, workdir):
    """Exactly the values that could be templates are marked: they stay inert wherever the export goes."""
    with open(actual_path) as handle:
        hostvars = json.load(handle)['_meta']['hostvars']
    variables = hostvars.get('crafted')
    if not variables:
        print('no host "crafted" in %s' % actual_path)
        return 1
    found = dict(marked(variables))
    expected = {'sigma_version': evil(workdir), 'sigma_license_status': evil(workdir).upper(),
                'sigma_gpu_models[0]': evil(workdir), 'sigma_gpus[0].model': evil(workdir),
                'sigma_dump.name': evil(workdir), 'sigma_dump.hostname': header(workdir),
                'sigma_dump.version': evil(workdir), 'sigma_dump.licenseStatus': evil(workdir),
                'sigma_dump.system.os': evil(workdir), 'sigma_dump.system.gpu[0].name': evil(workdir),
                'sigma_dump.supported[0].name': evil(workdir), 'seen_name': evil(workdir)}
    problems = []
    for path, value in sorted(expected.items()):
        if found.pop(path, None) != value:
            problems.append('%s: expected {"%s": %r}' % (path, UNSAFE, value))
    for path, value in sorted(found.items()):
        problems.append('%s: marked, but it cannot be a template: %r' % (path, value))
    for name in ('ansible_host', 'sigma_api_url'):
        if not isinstance(variables.get(name), str):
            problems.append('%s is not a plain string: %r' % (name, variables.get(name)))
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print('%s: the %d crafted values are marked, every other value is plain' % (actual_path, len(expected)))
    return 0


def rendered(workdir, *paths):
    """Each file (a template rendered with the crafted host's variables) holds the crafted text verbatim."""
    problems = []
    if os.path.exists(os.path.join(workdir, 'rendered.sentinel')):
        problems.append('a template from the server was rendered: %s/rendered.sentinel exists' % workdir)
    for path in paths:
        with open(path) as handle:
            text = handle.read()
        # a log shows the header's newline escaped; a rendered file holds it as it is
        for value in (evil(workdir), header(workdir)) if path.endswith('.txt') else (evil(workdir),):
            if value not in text:
                problems.append('%s does not hold %r verbatim' % (path, value))
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print('the crafted values arrived verbatim in %d file(s); nothing was rendered' % len(paths))
    return 0


def names(actual_path, expected, unreachable=''):
    with open(actual_path) as handle:
        doc = json.load(handle)
    actual = dict((host, variables.get('sigma_api_url')) for host, variables in doc['_meta']['hostvars'].items())
    wanted = dict(pair.split('=', 1) for pair in expected.split(',') if pair)
    down = sorted(doc.get('sigma_unreachable', {}).get('hosts', []))
    wanted_down = sorted(h for h in unreachable.split(',') if h)
    if actual != wanted or down != wanted_down:
        print('expected hosts %s (sigma_unreachable: %s)\n     got hosts %s (sigma_unreachable: %s)'
              % (json.dumps(wanted, sort_keys=True), wanted_down, json.dumps(actual, sort_keys=True), down))
        return 1
    print('hosts as expected: %s; sigma_unreachable: %s' % (', '.join(sorted(actual)), ', '.join(down) or 'none'))
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
    commands = dict(compare=compare, plain=plain, serve=serve, crafted=crafted, rendered=rendered, names=names,
                    secrets=secrets, count=count, setting=setting)
    if len(sys.argv) < 3 or sys.argv[1] not in commands:  # every command takes an argument
        sys.exit(__doc__)
    sys.exit(commands[sys.argv[1]](*sys.argv[2:]))
