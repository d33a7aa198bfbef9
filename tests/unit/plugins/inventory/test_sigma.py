# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sigma inventory plugin, driven through its real configuration handling with a fake client.

The fake transport replaces SigmaTransport inside the plugin's module; every
server answer is a dump derived from the reference's seed sample. One test at
the end uses the real client against local HTTP servers (HTML, ec != 0, dead port).
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import sys
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from ansible.errors import AnsibleError, AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
    from ansible._internal._json._profiles import _inventory_legacy

    def export(document):
        """`document` as ansible-inventory --list (--export) writes it (ansible-core >= 2.19)."""
        return json.dumps(document, cls=_inventory_legacy.Encoder, sort_keys=True, indent=4)
except ImportError:  # ansible-core < 2.19: every template string is trusted
    from ansible.parsing.ajson import AnsibleJSONEncoder

    def trust_as_template(value):
        return value

    def export(document):
        """`document` as ansible-inventory --list (--export) writes it (ansible-core < 2.19)."""
        return json.dumps(document, cls=AnsibleJSONEncoder, sort_keys=True, indent=4, preprocess_unsafe=True,
                          ensure_ascii=False)

from ansible_collections.sigma.media_server.plugins.module_utils._client import (
    SigmaAPIError, SigmaBodyError, SigmaConnectionError, SigmaTimeoutError,
)
from ansible_collections.sigma.media_server.tests.unit.utils import english

FIXTURES = os.path.join(os.path.dirname(__file__), '..', 'module_utils', 'fixtures')
SEED_KEY = 'Y7KI4-HHQX5-0N9QN-X8TLN-VOPE7'
MASK = '********'
PLUGIN = 'sigma.media_server.sigma'


def seed_dump():
    with open(os.path.join(FIXTURES, 'seed_begin_vi.txt'), encoding='utf-8') as handle:
        return json.loads(re.search(r'```json\n(.*?)```', handle.read(), re.S).group(1))


SEED = seed_dump()


def card(index, model, total=22731, used=705, load=2):
    return {'index': index, 'name': model, 'total': total, 'used': used, 'gpu': load, 'mem': 3, 'enc': 8, 'dec': 2,
            'temp': 42, 'speed': 1, 'percent': 25, 'count': 3}


def make_dump(name, models=('NVIDIA A10',), status='VALID', version='3.0.12', hostname=None, key=SEED_KEY):
    """A seed dump with another identity, GPU layout, licence status and version."""
    doc = copy.deepcopy(SEED)
    doc['name'] = name
    doc['hostname'] = hostname or name + '.example.net'
    if version is None:
        doc.pop('version')
    else:
        doc['version'] = version
    if status is None:
        doc.pop('licenseStatus')
    else:
        doc['licenseStatus'] = status
    encoder = SEED['supported'][0]['encoder']
    doc['supported'] = [{'name': m, 'encoder': list(encoder) + (['av1@yuv420p'] if 'L4' in m else []),
                         'decoder': ['h264@yuv420p']} for m in dict.fromkeys(models)]
    doc['system']['gpu'] = [card(i, m) for i, m in enumerate(models)]
    doc['nats']['license'] = key
    return doc


class FakeClient(object):
    def __init__(self, transport, url):
        self.transport = transport
        self.url = url

    def call(self, function, payload=None, method='POST', timeout=None):
        fake = self.transport.fake
        with fake.lock:
            fake.calls.append((self.url, function, timeout))
            fake.active += 1
            fake.max_active = max(fake.max_active, fake.active)
        try:
            answer = fake.answers.get(self.url)
            if answer is None:
                # the raw URL, password included: the plugin must not pass that on
                raise SigmaConnectionError(self.url, function, 'connection refused', reached=False)
            if callable(answer):
                answer = answer(self.url, timeout)
            if isinstance(answer, Exception):
                raise answer
            return copy.deepcopy(answer)
        finally:
            with fake.lock:
                fake.active -= 1


class Fake(object):
    """What the fake transport records, and what each URL answers."""

    def __init__(self):
        self.answers = {}
        self.calls = []
        self.transports = []
        self.closed = 0
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0

    def transport_class(self):
        fake = self

        class FakeTransport(object):
            def __init__(self, **kwargs):
                self.fake = fake
                self.kwargs = kwargs
                self.validate_certs = kwargs.get('validate_certs', True)
                fake.transports.append(kwargs)

            def client(self, url):
                return FakeClient(self, url)

            def close(self):
                fake.closed += 1

        return FakeTransport


class Warnings(object):
    """Records the plugin's warnings; everything else goes to the real display."""

    def __init__(self, real):
        self.real = real
        self.messages = []

    def warning(self, msg, *args, **kwargs):
        self.messages.append(msg)

    def __getattr__(self, name):
        return getattr(self.real, name)


@pytest.fixture(autouse=True)
def no_settings_from_the_environment(monkeypatch):
    """The plugin reads SIGMA_* and ANSIBLE_INVENTORY_* variables: a test sets the ones it means."""
    for name in list(os.environ):
        if name.startswith(('SIGMA_', 'ANSIBLE_INVENTORY_CACHE', 'ANSIBLE_CACHE_PLUGIN')):
            monkeypatch.delenv(name)


@pytest.fixture
def fake(monkeypatch):
    """A fake transport; the fetch runs in this process (a helper process would record its calls in its own copy)."""
    fake = Fake()
    plugin = inventory_loader.get(PLUGIN)
    assert plugin is not None, 'the plugin %s does not load' % PLUGIN
    monkeypatch.setattr(sys.modules[type(plugin).__module__], 'SigmaTransport', fake.transport_class())
    monkeypatch.setattr(type(plugin), 'HELPER_PROCESS', False)
    return fake


def run(tmp_path, config, cache=True, name='test.sigma.yml'):
    """Parse `config` as an inventory source; return (inventory, plugin, warnings)."""
    path = tmp_path / name
    doc = dict(plugin=PLUGIN)
    doc.update(config)
    path.write_text(yaml.safe_dump(doc))
    inventory = InventoryData()
    plugin = inventory_loader.get(PLUGIN)
    plugin.display = Warnings(plugin.display)
    plugin.parse(inventory, DataLoader(), str(path), cache=cache)
    if getattr(plugin, '_cache', None):
        plugin.update_cache_if_changed()  # as InventoryManager does after parse
    return inventory, plugin, plugin.display.messages


def hostvars(inventory, host):
    return dict(inventory.get_host(host).vars)


def members(inventory, group):
    return sorted(h.name for h in inventory.groups[group].get_hosts()) if group in inventory.groups else []


def sigma_groups(inventory):
    return sorted(g for g in inventory.groups if g.startswith('sigma_'))


URL = 'http://10.0.0.%d:9999'


def composed(value):
    """A composed number: ansible-core < 2.19 renders compose expressions to text ('2'), 2.19+ keeps the type."""
    return int(value) if isinstance(value, str) else value


def fleet(fake):
    """Five servers: A10, 2x T4, A10+T4, CPU-only with no licence status, L4 on 3.1 with an expired licence."""
    fake.answers.update({
        URL % 1: make_dump('srv-a10'),
        URL % 2: make_dump('srv-t4', models=('Tesla T4', 'Tesla T4')),
        URL % 3: make_dump('srv-mixed', models=('NVIDIA A10', 'Tesla T4')),
        URL % 4: make_dump('srv-cpu', models=(), status=None),
        URL % 5: make_dump('srv-l4', models=('NVIDIA L4',), status='EXPIRED', version='3.1.0'),
    })
    return [URL % i for i in range(1, 6)]


# ---------------------------------------------------------------- files and options

@pytest.mark.parametrize('name, ok', [('fleet.sigma.yml', True), ('sigma.yaml', True), ('x_sigma.yaml', True),
                                      ('fleet.yml', False), ('sigma.yml.bak', False), ('sigma.json', False)])
def test_verify_file(tmp_path, name, ok):
    path = tmp_path / name
    path.write_text('plugin: %s\n' % PLUGIN)
    assert bool(inventory_loader.get(PLUGIN).verify_file(str(path))) is ok


def test_missing_file_is_not_verified(tmp_path):
    assert not inventory_loader.get(PLUGIN).verify_file(str(tmp_path / 'absent.sigma.yml'))


@pytest.mark.parametrize('config, message', [
    (dict(servers=[]), 'servers'),
    (dict(servers=['ftp://10.0.0.1']), 'servers[0]'),
    (dict(servers=[{'name': 'x'}]), 'servers[0].url is required'),
    (dict(servers=[{'url': 'http://10.0.0.1', 'port': 1}]), 'servers[0]: unknown key(s) port'),
    (dict(servers=[{'url': 'http://10.0.0.1', 'vars': ['a']}]), 'servers[0].vars must be a dictionary'),
    (dict(servers=[{'url': 'http://10.0.0.1', 'name': ''}]), 'servers[0].name'),
    (dict(servers=['http://10.0.0.1', 'http://10.0.0.1:9999/']), 'servers[1]: the URL http://10.0.0.1:9999 is already'),
    (dict(servers=[{'url': 'http://10.0.0.1', 'name': 'a'}, {'url': 'http://10.0.0.2', 'name': 'a'}]),
     "servers[1].name: 'a' is already"),
    (dict(servers=[3]), 'servers[0] must be a URL'),
    (dict(servers=['http://10.0.0.1'], max_workers=0), 'max_workers must be 1 or more'),
    (dict(servers=['http://10.0.0.1'], timeout=0), 'timeout must be greater than 0'),
    (dict(servers=['http://10.0.0.1'], retries=-1), 'retries must be 0 or more'),
])
def test_bad_configuration_fails_before_any_request(tmp_path, fake, config, message):
    with pytest.raises(AnsibleParserError) as err:
        run(tmp_path, config)
    assert message in str(err.value)
    assert fake.calls == []


def test_unknown_hostnames_source_is_refused(tmp_path, fake):
    with pytest.raises(AnsibleError, match='hostnames'):
        run(tmp_path, dict(servers=['http://10.0.0.1'], hostnames=['ip']))
    assert fake.calls == []


# Ansible's option handling reads a text that is not a boolean as false and ignores an unknown key;
# the plugin checks the file as written.

@pytest.mark.parametrize('option, value', [('include_dump', 'perhaps'), ('validate_certs', 'maybe'),
                                           ('fail_on_unreachable', 'sometimes'), ('strict', 'please'),
                                           ('cache', 'later'), ('use_extra_vars', 2), ('include_dump', [True])])
def test_a_boolean_option_refuses_what_is_not_a_boolean(tmp_path, fake, option, value):
    fake.answers[URL % 1] = make_dump('a')
    with pytest.raises(AnsibleParserError) as err:
        run(tmp_path, {'servers': [URL % 1], option: value})
    assert str(err.value).startswith('%s must be a boolean (true or false), got %r' % (option, value))
    assert fake.calls == [] and fake.transports == []


@pytest.mark.parametrize('value, expected', [('yes', True), ('No', False), ('true', True), ('off', False), (1, True),
                                             (0, False), (True, True), (False, False), (None, False)])
def test_a_boolean_option_takes_every_boolean_spelling(tmp_path, fake, value, expected):
    fake.answers[URL % 1] = make_dump('a')
    inventory, _plugin, _warnings = run(tmp_path, dict(servers=[URL % 1], include_dump=value))
    assert ('sigma_dump' in hostvars(inventory, 'a')) is expected  # None: the default, false


@pytest.mark.parametrize('config, message', [
    (dict(servers=['http://10.0.0.1'], timout=5), 'unknown option(s) timout (did you mean timeout?)'),
    # without servers: the misspelt key is named, not only the missing option
    (dict(serverz=['http://10.0.0.1']), 'unknown option(s) serverz (did you mean servers?)'),
    (dict(servers=['http://10.0.0.1'], include_dumps=True, zzz=1),
     'unknown option(s) include_dumps (did you mean include_dump?), zzz ('),
    (dict(servers=['http://10.0.0.1'], keyed_group=[]), 'keyed_group (did you mean keyed_groups?)'),
    ({'servers': ['http://10.0.0.1'], 5: 'x'}, 'unknown option(s) 5 ('),
])
def test_an_unknown_option_is_refused_with_a_suggestion(tmp_path, fake, config, message):
    with pytest.raises(AnsibleParserError) as err:
        run(tmp_path, config)
    assert message in str(err.value)
    assert 'ansible-doc -t inventory sigma.media_server.sigma' in str(err.value)
    assert fake.calls == [] and fake.transports == []


def test_every_documented_option_is_known(tmp_path, fake):
    """The plugin's own options, the connection's, constructed's and inventory_cache's are all accepted."""
    fake.answers[URL % 1] = make_dump('a')
    config = dict(servers=[URL % 1], hostnames=['name'], max_workers=2, include_dump=False, fail_on_unreachable=False,
                  validate_certs=True, ca_path=None, timeout=5, retries=0, username=None, password=None, headers={},
                  use_proxy=True, strict=False, compose={}, groups={}, keyed_groups=[], use_extra_vars=False, leading_separator=True,
                  cache=False, cache_plugin='ansible.builtin.memory', cache_timeout=60, cache_connection=None,
                  cache_prefix='sigma_')
    inventory, _plugin, _warnings = run(tmp_path, config)
    assert 'a' in inventory.hosts
    assert len(fake.calls) == 1


def test_a_file_of_another_plugin_is_not_checked_as_ours(tmp_path, fake):
    path = tmp_path / 'other.sigma.yml'
    path.write_text('plugin: community.general.other\nbogus: perhaps\n')
    with pytest.raises(AnsibleParserError, match='Incorrect plugin name'):
        inventory_loader.get(PLUGIN).parse(InventoryData(), DataLoader(), str(path))


def test_transport_options_and_defaults(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('a')
    run(tmp_path, dict(servers=['10.0.0.1'], validate_certs=False, ca_path='/tmp/ca.pem', username='u',
                       password='p', headers={'X-Token': 't'}, use_proxy=False))
    assert len(fake.transports) == 1
    kwargs = fake.transports[0]
    assert kwargs == dict(validate_certs=False, ca_path='/tmp/ca.pem', timeout=10.0, retries=1, username='u',
                          password='p', headers={'X-Token': 't'}, pool_size=1, per_server=1, use_proxy=False,
                          one_request=True)
    # default scheme and port 9999; one dump per server, bounded by the timeout
    assert [(u, f) for u, f, _t in fake.calls] == [(URL % 1, 'dump')]
    assert 0 < fake.calls[0][2] <= 10.0


@pytest.mark.parametrize('env, expected', [(None, True), ('false', False), ('true', True)])
def test_use_proxy_comes_from_sigma_use_proxy(tmp_path, fake, monkeypatch, env, expected):
    """AWX injects credentials into an inventory update only as environment variables."""
    if env is None:
        monkeypatch.delenv('SIGMA_USE_PROXY', raising=False)
    else:
        monkeypatch.setenv('SIGMA_USE_PROXY', env)
    fake.answers[URL % 1] = make_dump('a')
    run(tmp_path, dict(servers=['10.0.0.1']))
    assert fake.transports[0]['use_proxy'] is expected
    assert fake.closed == 1


# AWX passes credentials (and an inventory source's variables) to an inventory update only as
# environment variables: every option a fleet needs can come from one.

def plugin_definitions():
    plugin = inventory_loader.get(PLUGIN)
    from ansible import constants as C
    return C.config.get_configuration_definitions('inventory', plugin._load_name)


# options about the file itself or Ansible's constructed features, written in the file
FILE_ONLY = frozenset(('plugin', 'compose', 'groups', 'keyed_groups', 'strict', 'leading_separator'))


def test_every_option_a_fleet_needs_has_an_environment_variable():
    definitions = plugin_definitions()
    missing = sorted(name for name, definition in definitions.items()
                     if name not in FILE_ONLY and not definition.get('env'))
    assert missing == []
    names = dict((name, [e['name'] for e in definition.get('env') or ()]) for name, definition in definitions.items())
    expected = {'servers': 'SIGMA_INVENTORY_SERVERS', 'validate_certs': 'SIGMA_VALIDATE_CERTS',
                'ca_path': 'SIGMA_CA_PATH', 'timeout': 'SIGMA_TIMEOUT', 'retries': 'SIGMA_RETRIES',
                'username': 'SIGMA_USERNAME', 'password': 'SIGMA_PASSWORD', 'headers': 'SIGMA_HEADERS',
                'hostnames': 'SIGMA_INVENTORY_HOSTNAMES', 'max_workers': 'SIGMA_INVENTORY_MAX_WORKERS',
                'include_dump': 'SIGMA_INVENTORY_INCLUDE_DUMP',
                'fail_on_unreachable': 'SIGMA_INVENTORY_FAIL_ON_UNREACHABLE', 'cache': 'ANSIBLE_INVENTORY_CACHE',
                'use_proxy': 'SIGMA_USE_PROXY'}
    for option, variable in expected.items():
        assert variable in names[option], option


def test_options_from_the_environment(tmp_path, fake, monkeypatch):
    fake.answers[URL % 1] = make_dump('a')
    fake.answers[URL % 2] = make_dump('b')
    for name, value in {'SIGMA_INVENTORY_SERVERS': '10.0.0.1, http://10.0.0.2:9999', 'SIGMA_USERNAME': 'ops',
                        'SIGMA_PASSWORD': 'pw-from-env', 'SIGMA_HEADERS': '{"X-Token": "tok-from-env"}',
                        'SIGMA_VALIDATE_CERTS': 'no', 'SIGMA_CA_PATH': '/tmp/ca.pem', 'SIGMA_TIMEOUT': '2.5',
                        'SIGMA_RETRIES': '0', 'SIGMA_INVENTORY_MAX_WORKERS': '3', 'SIGMA_INVENTORY_INCLUDE_DUMP': 'yes',
                        'SIGMA_INVENTORY_HOSTNAMES': 'hostname,url', 'SIGMA_USE_PROXY': 'false'}.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / 'env.sigma.yml'
    path.write_text('plugin: %s\n' % PLUGIN)  # nothing but the plugin: everything else from the environment
    inventory = InventoryData()
    plugin = inventory_loader.get(PLUGIN)
    plugin.display = Warnings(plugin.display)
    plugin.parse(inventory, DataLoader(), str(path), cache=False)
    assert sorted(inventory.hosts) == ['a.example.net', 'b.example.net']
    assert 'sigma_dump' in hostvars(inventory, 'a.example.net')
    kwargs = fake.transports[0]
    assert kwargs == dict(validate_certs=False, ca_path='/tmp/ca.pem', timeout=2.5, retries=0, username='ops',
                          password='pw-from-env', headers={'X-Token': 'tok-from-env'}, pool_size=2, per_server=1,
                          use_proxy=False, one_request=True)
    # NAME=VALUE pairs too, as a module's dict option takes them
    monkeypatch.setenv('SIGMA_HEADERS', 'X-Token=t1, X-Site=hanoi')
    run(tmp_path, dict(servers=[URL % 1]))
    assert fake.transports[-1]['headers'] == {'X-Token': 't1', 'X-Site': 'hanoi'}


def test_the_file_wins_over_the_environment(tmp_path, fake, monkeypatch):
    fake.answers[URL % 1] = make_dump('a')
    monkeypatch.setenv('SIGMA_TIMEOUT', '99')
    monkeypatch.setenv('SIGMA_INVENTORY_SERVERS', 'http://10.0.0.7')
    monkeypatch.setenv('SIGMA_VALIDATE_CERTS', 'perhaps')  # unused: the file sets validate_certs
    run(tmp_path, dict(servers=[URL % 1], timeout=4, validate_certs=True))
    assert [u for u, _f, _t in fake.calls] == [URL % 1]
    assert fake.transports[0]['timeout'] == 4.0 and fake.transports[0]['validate_certs'] is True


@pytest.mark.parametrize('variable, option', [('SIGMA_VALIDATE_CERTS', 'validate_certs'),
                                              ('SIGMA_INVENTORY_INCLUDE_DUMP', 'include_dump'),
                                              ('SIGMA_INVENTORY_FAIL_ON_UNREACHABLE', 'fail_on_unreachable'),
                                              ('ANSIBLE_INVENTORY_CACHE', 'cache')])
@pytest.mark.parametrize('value', ['perhaps', '2', ''])
def test_a_boolean_environment_variable_must_be_a_boolean(tmp_path, fake, monkeypatch, variable, option, value):
    """Ansible reads any text that is not a boolean as false: SIGMA_VALIDATE_CERTS=perhaps would turn TLS checks off."""
    fake.answers[URL % 1] = make_dump('a')
    monkeypatch.setenv(variable, value)
    with pytest.raises(AnsibleParserError) as err:
        run(tmp_path, dict(servers=[URL % 1]))
    assert str(err.value).startswith('%s must be a boolean (true or false), got %r from the environment variable %s'
                                     % (option, value, variable))
    assert fake.calls == [] and fake.transports == []


@pytest.mark.parametrize('value', ['yes', 'False', 'on', '0', '1', 'n'])
def test_a_boolean_environment_variable_takes_every_boolean_spelling(tmp_path, fake, monkeypatch, value):
    fake.answers[URL % 1] = make_dump('a')
    monkeypatch.setenv('SIGMA_VALIDATE_CERTS', value)
    run(tmp_path, dict(servers=[URL % 1]))
    assert fake.transports[0]['validate_certs'] is (value.lower() in ('yes', 'on', '1'))


@pytest.mark.parametrize('headers', ['not a dictionary', '["X-Token", "t"]', '{"X-Token": '])
def test_bad_headers_are_refused_before_any_request(tmp_path, fake, monkeypatch, headers):
    fake.answers[URL % 1] = make_dump('a')
    monkeypatch.setenv('SIGMA_HEADERS', headers)
    with pytest.raises(AnsibleParserError, match='headers must be a dictionary'):
        run(tmp_path, dict(servers=[URL % 1]))
    assert fake.calls == [] and fake.transports == []
    with pytest.raises(AnsibleParserError, match='headers must be a dictionary'):
        run(tmp_path, dict(servers=[URL % 1], headers=['X-Token']))
    assert fake.calls == []


@pytest.mark.parametrize('count, max_workers, pool', [
    (1, None, 1), (5, None, 5), (300, None, 128), (300, 40, 40), (3, 40, 3)])
def test_the_pool_is_sized_to_the_fleet(tmp_path, fake, count, max_workers, pool):
    """One thread (and one pooled server) per server to ask, up to max_workers (128 by default)."""
    urls = ['http://10.1.%d.%d:9999' % (i // 250, i % 250 + 1) for i in range(count)]
    config = dict(servers=urls, cache=True, cache_plugin='ansible.builtin.jsonfile',
                  cache_connection=str(tmp_path / 'cache'))
    if max_workers:
        config['max_workers'] = max_workers
    run(tmp_path, config)
    assert fake.transports[0]['pool_size'] == pool and fake.transports[0]['per_server'] == 1
    assert len(fake.calls) == count
    fake.answers[urls[0]] = make_dump('a')  # the next run asks only the one server not cached
    fake.transports[:] = []
    run(tmp_path, dict(config, servers=urls + ['http://10.9.9.9:9999']), cache=True)
    assert fake.transports[0]['pool_size'] == 1


# ---------------------------------------------------------------- hosts, variables, groups

def test_fleet_hosts_vars_and_groups(tmp_path, fake):
    urls = fleet(fake)
    servers = urls[:2] + [{'url': urls[2], 'name': 'mixed', 'vars': {'site': 'hanoi', 'ansible_user': 'ops'}}] + urls[3:]
    inventory, _plugin, warnings = run(tmp_path, dict(servers=servers))
    assert warnings == []
    assert sorted(inventory.hosts) == ['mixed', 'srv-a10', 'srv-cpu', 'srv-l4', 'srv-t4']

    assert sigma_groups(inventory) == [
        'sigma_gpu_none', 'sigma_gpu_nvidia_a10', 'sigma_gpu_nvidia_l4', 'sigma_gpu_tesla_t4',
        'sigma_license_expired', 'sigma_license_unknown', 'sigma_license_valid',
        'sigma_version_3_0', 'sigma_version_3_1']
    assert members(inventory, 'sigma_gpu_nvidia_a10') == ['mixed', 'srv-a10']
    assert members(inventory, 'sigma_gpu_tesla_t4') == ['mixed', 'srv-t4']
    assert members(inventory, 'sigma_gpu_nvidia_l4') == ['srv-l4']
    assert members(inventory, 'sigma_gpu_none') == ['srv-cpu']
    assert members(inventory, 'sigma_license_valid') == ['mixed', 'srv-a10', 'srv-t4']
    assert members(inventory, 'sigma_license_expired') == ['srv-l4']
    assert members(inventory, 'sigma_license_unknown') == ['srv-cpu']
    assert members(inventory, 'sigma_version_3_0') == ['mixed', 'srv-a10', 'srv-cpu', 'srv-t4']
    assert members(inventory, 'sigma_version_3_1') == ['srv-l4']
    assert 'sigma_unreachable' not in inventory.groups

    t4 = hostvars(inventory, 'srv-t4')
    assert t4['ansible_host'] == '10.0.0.2'
    assert t4['sigma_api_url'] == 'http://10.0.0.2:9999'
    assert t4['sigma_version'] == '3.0.12'
    assert t4['sigma_license_status'] == 'VALID'
    assert t4['sigma_gpu_models'] == ['Tesla T4']
    assert t4['sigma_gpus'] == [
        {'index': 0, 'model': 'Tesla T4', 'memory_mb': 22731, 'memory_used_mb': 705, 'load': 2},
        {'index': 1, 'model': 'Tesla T4', 'memory_mb': 22731, 'memory_used_mb': 705, 'load': 2}]
    assert t4['sigma_encoders'] == sorted(SEED['supported'][0]['encoder'])
    assert t4['sigma_job_count'] == 6
    assert 'sigma_dump' not in t4 and 'sigma_error' not in t4

    mixed = hostvars(inventory, 'mixed')
    assert mixed['sigma_gpu_models'] == ['NVIDIA A10', 'Tesla T4']
    assert mixed['site'] == 'hanoi' and mixed['ansible_user'] == 'ops'
    cpu = hostvars(inventory, 'srv-cpu')
    assert cpu['sigma_gpu_models'] == [] and cpu['sigma_gpus'] == [] and cpu['sigma_encoders'] == []
    assert cpu['sigma_license_status'] == 'UNKNOWN'
    assert 'av1@yuv420p' in hostvars(inventory, 'srv-l4')['sigma_encoders']


def test_server_vars_override_plugin_vars(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('a')
    inventory = run(tmp_path, dict(servers=[{'url': URL % 1, 'vars': {'ansible_host': 'a.mgmt', 'sigma_version': 'x'}}]))[0]
    assert hostvars(inventory, 'a')['ansible_host'] == 'a.mgmt'
    assert hostvars(inventory, 'a')['sigma_version'] == 'x'


def test_english_spelling_gives_the_same_inventory(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('canon', models=('NVIDIA A10', 'Tesla T4'))
    fake.answers[URL % 2] = english(make_dump('canon', models=('NVIDIA A10', 'Tesla T4')))
    assert 'System' in fake.answers[URL % 2] and 'soft' in fake.answers[URL % 2]['System']['gpu'][0]
    assert 'Encoder' in fake.answers[URL % 2]['supported'][0]
    one = run(tmp_path, dict(servers=[URL % 1]))[0]
    two = run(tmp_path, dict(servers=[URL % 2]))[0]
    facts_one = dict((k, v) for k, v in hostvars(one, 'canon').items() if k.startswith('sigma_') and k != 'sigma_api_url')
    facts_two = dict((k, v) for k, v in hostvars(two, 'canon').items() if k.startswith('sigma_') and k != 'sigma_api_url')
    assert facts_one == facts_two
    assert facts_two['sigma_encoders'] and facts_two['sigma_gpus'][0]['memory_mb'] == 22731
    assert sigma_groups(one) == sigma_groups(two)


@pytest.mark.parametrize('version, group', [('3.0.12', 'sigma_version_3_0'), ('2.9.8', 'sigma_version_2_9'),
                                            ('v3.1-beta', 'sigma_version_3_1'), ('4', 'sigma_version_4'),
                                            (None, 'sigma_version_unknown'), ('nightly', 'sigma_version_nightly')])
def test_version_group(tmp_path, fake, version, group):
    fake.answers[URL % 1] = make_dump('a', version=version)
    inventory = run(tmp_path, dict(servers=[URL % 1]))[0]
    assert members(inventory, group) == ['a']


def trusted(doc):
    if isinstance(doc, dict):
        return dict((k, trusted(v)) for k, v in doc.items())
    if isinstance(doc, list):
        return [trusted(v) for v in doc]
    return trust_as_template(doc) if isinstance(doc, str) else doc


def test_damaged_gpu_entries(tmp_path, fake):
    doc = make_dump('odd', models=('NVIDIA A10',))
    doc['system']['gpu'].append({'index': 1, 'name': {'{{ 1 + 1 }}': '{{ 2 + 2 }}'}, 'total': 'lots'})
    doc['system']['gpu'].append('not a card')
    fake.answers[URL % 1] = trusted(doc)
    inventory = run(tmp_path, dict(servers=[URL % 1]))[0]
    assert members(inventory, 'sigma_gpu_nvidia_a10') == ['odd']
    assert members(inventory, 'sigma_gpu_unknown') == ['odd']
    assert 'sigma_gpu_none' not in inventory.groups
    variables = hostvars(inventory, 'odd')
    assert variables['sigma_gpu_models'] == ['NVIDIA A10']
    assert [g['index'] for g in variables['sigma_gpus']] == [0, 1, 2]
    odd = Templar(loader=DataLoader()).template(variables['sigma_gpus'][1])
    assert odd['model'] == {'{{ 1 + 1 }}': '{{ 2 + 2 }}'} and odd['memory_mb'] == 'lots'


def test_licence_status_group_is_a_slug(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('a', status='Trial Expired')
    inventory = run(tmp_path, dict(servers=[URL % 1]))[0]
    assert members(inventory, 'sigma_license_trial_expired') == ['a']
    assert hostvars(inventory, 'a')['sigma_license_status'] == 'TRIAL EXPIRED'


@pytest.mark.parametrize('hostnames, expected', [
    (['name', 'hostname', 'url'], 'srv-a'),
    (['hostname', 'name'], 'srv-a.example.net'),
    (['url'], '10.0.0.1'),
])
def test_hostnames_preference(tmp_path, fake, hostnames, expected):
    fake.answers[URL % 1] = make_dump('srv-a')
    inventory = run(tmp_path, dict(servers=[URL % 1], hostnames=hostnames))[0]
    assert list(inventory.hosts) == [expected]


def test_url_names_keep_the_port_and_path(tmp_path, fake):
    fake.answers['http://10.0.0.1:8080'] = make_dump('x')
    fake.answers['https://proxy.example.net:9999/sigma/b'] = make_dump('y')
    inventory = run(tmp_path, dict(servers=['http://10.0.0.1:8080', 'https://proxy.example.net/sigma/b'],
                                   hostnames=['url']))[0]
    assert sorted(inventory.hosts) == ['10.0.0.1_8080', 'proxy.example.net_sigma_b']
    assert hostvars(inventory, 'proxy.example.net_sigma_b')['ansible_host'] == 'proxy.example.net'


def test_duplicate_reported_names_do_not_shrink_the_inventory(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('same', hostname='one.example.net')
    fake.answers[URL % 2] = make_dump('same', hostname='two.example.net')
    fake.answers[URL % 3] = make_dump('same', hostname='two.example.net')
    inventory, _plugin, warnings = run(tmp_path, dict(servers=[URL % 1, URL % 2, URL % 3]))
    assert list(inventory.hosts) == ['same', 'two.example.net', '10.0.0.3']
    assert hostvars(inventory, '10.0.0.3')['sigma_api_url'] == URL % 3
    assert len(warnings) == 2 and 'http://10.0.0.3:9999 reports the name same' in warnings[1]


def test_configured_name_is_reserved(tmp_path, fake):
    # a later server's configured name wins over an earlier server's reported name
    fake.answers[URL % 1] = make_dump('edge')
    fake.answers[URL % 2] = make_dump('other')
    inventory = run(tmp_path, dict(servers=[URL % 1, {'url': URL % 2, 'name': 'edge'}]))[0]
    assert hostvars(inventory, 'edge')['sigma_api_url'] == URL % 2
    assert hostvars(inventory, 'edge.example.net')['sigma_api_url'] == URL % 1


# Host identity (issue 14): a host's name never depends on which other servers answered, nor on the
# order of the answers; a down server keeps the name the cache remembers.

def names(inventory):
    """{host name: the URL it stands for}"""
    return dict((host, hostvars(inventory, host)['sigma_api_url']) for host in inventory.hosts)


def clones(fake):
    """A and B: two servers cloned from one image (same name, same hostname); C: another server."""
    fake.answers[URL % 1] = make_dump('edge', hostname='edge.example.net')
    fake.answers[URL % 2] = make_dump('edge', hostname='edge.example.net')
    fake.answers[URL % 3] = make_dump('other')
    return [URL % 1, URL % 2, URL % 3]


def test_two_clones_one_down_neither_takes_the_others_name(tmp_path, fake):
    servers = clones(fake)
    up = names(run(tmp_path, dict(servers=servers))[0])
    assert up == {'edge': URL % 1, '10.0.0.2': URL % 2, 'other': URL % 3}

    a = fake.answers.pop(URL % 1)  # A is down, nothing remembers it
    inventory, _plugin, warnings = run(tmp_path, dict(servers=servers))
    down_a = names(inventory)
    assert 'edge' not in down_a, 'B took the name of A, which did not answer'
    assert down_a['10.0.0.2'] == URL % 2  # B: the name it has when A is up
    # what A would report is unknown, so no name B or C report can be given: they are not used
    assert members(inventory, 'sigma_unreachable') == ['10.0.0.1', '10.0.0.2', '10.0.0.3']
    error = hostvars(inventory, '10.0.0.3')['sigma_error']
    assert error.startswith('Sigma server http://10.0.0.3:9999 reports the name other, but servers[0] '
                            '(http://10.0.0.1:9999), listed before it, did not answer and is not in the cache: ')
    assert 'give each server a name in servers' in error
    assert 'sigma_version' in hostvars(inventory, '10.0.0.3')  # what it reported is kept
    assert len([w for w in warnings if 'sigma_unreachable' in w]) == 3

    fake.answers[URL % 1] = a
    del fake.answers[URL % 2]  # B is down: A keeps its name; C is not used (B could report "other")
    inventory = run(tmp_path, dict(servers=servers))[0]
    assert names(inventory) == {'edge': URL % 1, '10.0.0.2': URL % 2, '10.0.0.3': URL % 3}
    assert members(inventory, 'sigma_unreachable') == ['10.0.0.2', '10.0.0.3']


def test_names_do_not_depend_on_the_order_of_the_answers(tmp_path, fake):
    import random
    rng = random.Random(7)
    urls = ['http://10.0.3.%d:9999' % i for i in range(1, 25)]
    for i, url in enumerate(urls):
        # pairs of clones, and names that are other servers' host names
        name = 'srv-%d' % (i // 2) if i % 5 else 'srv-%d.example.net' % (i + 1)
        fake.answers[url] = make_dump(name)
    reference = names(run(tmp_path, dict(servers=urls, max_workers=1))[0])
    answers = dict(fake.answers)
    delays = {}

    def late(url, timeout):
        time.sleep(delays[url])
        return answers[url]
    for url in urls:
        fake.answers[url] = late
    for _round in range(3):
        delays.update((url, rng.random() * 0.05) for url in urls)
        assert names(run(tmp_path, dict(servers=urls, max_workers=8))[0]) == reference


def test_the_cache_keeps_the_name_of_a_down_server(tmp_path, fake):
    servers = clones(fake)
    config = cache_config(tmp_path, servers)
    cold = names(run(tmp_path, config)[0])
    warm = names(run(tmp_path, config)[0])
    assert warm == cold == {'edge': URL % 1, '10.0.0.2': URL % 2, 'other': URL % 3}

    del fake.answers[URL % 1]  # A goes down; --flush-cache asks every server again
    inventory = run(tmp_path, config, cache=False)[0]
    assert names(inventory) == cold
    assert members(inventory, 'sigma_unreachable') == ['edge']  # A, by the name it had when it answered
    assert 'connection refused' in hostvars(inventory, 'edge')['sigma_error']
    assert 'sigma_version' not in hostvars(inventory, 'edge')  # nothing stale beyond the name
    # the next warm run (the failure cached) and the next flush still remember it
    assert names(run(tmp_path, config)[0]) == cold
    assert names(run(tmp_path, config, cache=False)[0]) == cold


def test_a_reported_name_never_takes_a_configured_one(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('10.0.0.2', hostname='pinned')  # another server's URL name, then a name
    fake.answers[URL % 2] = make_dump('b')
    fake.answers[URL % 3] = make_dump('c')
    inventory = run(tmp_path, dict(servers=[URL % 1, {'url': URL % 2, 'name': 'pinned'}, URL % 3],
                                   hostnames=['name', 'hostname', 'url']))[0]
    assert names(inventory) == {'10.0.0.1': URL % 1, 'pinned': URL % 2, 'c': URL % 3}
    # a server with a configured name competes for nothing: down and unknown, it blocks no one
    del fake.answers[URL % 2]
    inventory = run(tmp_path, dict(servers=[URL % 1, {'url': URL % 2, 'name': 'pinned'}, URL % 3]))[0]
    assert names(inventory) == {'10.0.0.1': URL % 1, 'pinned': URL % 2, 'c': URL % 3}
    assert members(inventory, 'sigma_unreachable') == ['pinned']


def test_url_names_that_collide_are_told_apart_by_the_order_of_servers(tmp_path, fake):
    servers = ['https://edge.example.net', 'http://edge.example.net', {'url': 'http://10.0.0.9', 'name': 'edge.example.net'}]
    for url in ('https://edge.example.net:9999', 'http://edge.example.net:9999', URL % 9):
        fake.answers[url] = make_dump('x')
    for order in (servers, servers[::-1]):
        inventory = run(tmp_path, dict(servers=order, hostnames=['url']))[0]
        by_url = dict((url, host) for host, url in names(inventory).items())
        assert by_url[URL % 9] == 'edge.example.net'  # the configured name first
        first, second = [s for s in order if isinstance(s, str)]
        assert by_url[first + ':9999'] == 'edge.example.net_2' and by_url[second + ':9999'] == 'edge.example.net_3'


def test_the_documented_naming_example(tmp_path, fake):
    """The example of the naming rule in the plugin's documentation, as written there."""
    servers = ['http://10.0.1.11', 'http://10.0.1.12', {'url': 'http://10.0.1.13', 'name': 'edge-3'},
               'http://10.0.1.14:8443']
    fake.answers['http://10.0.1.11:9999'] = make_dump('edge-1', hostname='sigma-01')
    fake.answers['http://10.0.1.12:9999'] = make_dump('edge-1', hostname='sigma-01')  # a clone
    fake.answers['http://10.0.1.13:9999'] = make_dump('edge-1', hostname='sigma-01')  # a clone, named
    fake.answers['http://10.0.1.14:8443'] = make_dump('edge-4', hostname='sigma-04')
    assert names(run(tmp_path, dict(servers=servers))[0]) == {
        'edge-1': 'http://10.0.1.11:9999', '10.0.1.12': 'http://10.0.1.12:9999', 'edge-3': 'http://10.0.1.13:9999',
        'edge-4': 'http://10.0.1.14:8443'}
    del fake.answers['http://10.0.1.11:9999']
    inventory = run(tmp_path, dict(servers=servers))[0]
    assert names(inventory) == {
        '10.0.1.11': 'http://10.0.1.11:9999', '10.0.1.12': 'http://10.0.1.12:9999', 'edge-3': 'http://10.0.1.13:9999',
        '10.0.1.14_8443': 'http://10.0.1.14:8443'}
    assert members(inventory, 'sigma_unreachable') == ['10.0.1.11', '10.0.1.12', '10.0.1.14_8443']


# ---------------------------------------------------------------- secrets and unsafe values

def test_include_dump_masks_the_licence_key(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('a')
    fake.answers[URL % 2] = english(make_dump('b'))
    inventory = run(tmp_path, dict(servers=[URL % 1, URL % 2], include_dump=True))[0]
    a = hostvars(inventory, 'a')
    assert a['sigma_dump']['nats']['license'] == MASK
    assert a['sigma_dump']['version'] == '3.0.12' and a['sigma_dump']['system']['gpu'][0]['name'] == 'NVIDIA A10'
    assert hostvars(inventory, 'b')['sigma_dump']['nats']['license'] == MASK
    for host in ('a', 'b'):
        assert SEED_KEY not in json.dumps(hostvars(inventory, host), default=str)


def test_a_password_in_a_url_is_used_but_never_shown(tmp_path, fake):
    fake.answers['http://ops:s3cret-pw@10.0.0.1:9999'] = make_dump('a')
    config = cache_config(tmp_path, ['http://ops:s3cret-pw@10.0.0.1', 'http://ops:s3cret-pw@10.0.0.2'])
    inventory, _plugin, warnings = run(tmp_path, config)
    assert [u for u, _f, _t in fake.calls] == ['http://ops:s3cret-pw@10.0.0.1:9999', 'http://ops:s3cret-pw@10.0.0.2:9999']
    assert hostvars(inventory, 'a')['sigma_api_url'] == 'http://10.0.0.1:9999'
    assert hostvars(inventory, 'a')['ansible_host'] == '10.0.0.1'
    assert members(inventory, 'sigma_unreachable') == ['10.0.0.2']
    shown = json.dumps([hostvars(inventory, h) for h in inventory.hosts], default=str) + ' '.join(warnings)
    with open(str(tmp_path / 'cache' / os.listdir(str(tmp_path / 'cache'))[0])) as handle:
        shown += handle.read()
    assert 's3cret-pw' not in shown and 'http://10.0.0.2:9999' in shown


def test_licence_key_is_nowhere_without_include_dump(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('a')
    inventory = run(tmp_path, dict(servers=[URL % 1]))[0]
    assert SEED_KEY not in json.dumps(hostvars(inventory, 'a'), default=str)


def test_templates_from_the_api_are_never_rendered(tmp_path, fake):
    doc = make_dump('a', version='{{ 6 * 7 }}', status='{{ 1 + 1 }}', models=('{{ lookup("env", "HOME") }}',))
    # even strings that arrive marked as trusted templates (a cache plugin may do that) are made unsafe
    fake.answers[URL % 1] = trusted(doc)
    assert str(Templar(loader=DataLoader()).template(fake.answers[URL % 1]['version'])) == '42'
    inventory = run(tmp_path, dict(servers=[{'url': URL % 1, 'vars': {'answer': '{{ 6 * 7 }}'}}], include_dump=True))[0]
    variables = hostvars(inventory, 'a')
    templar = Templar(loader=DataLoader(), variables=variables)
    assert templar.template(variables['sigma_version']) == '{{ 6 * 7 }}'
    assert templar.template(variables['sigma_license_status']) == '{{ 1 + 1 }}'
    assert templar.template(variables['sigma_gpu_models']) == ['{{ lookup("env", "HOME") }}']
    assert templar.template(variables['sigma_gpus'])[0]['model'] == '{{ lookup("env", "HOME") }}'
    assert templar.template(variables['sigma_dump'])['version'] == '{{ 6 * 7 }}'
    # the configuration is trusted: a template the user wrote there is rendered, and ansible_host stays usable
    assert str(templar.template(variables['answer'])) == '42'
    assert templar.template(trust_as_template('{{ ansible_host }}')) == '10.0.0.1'
    assert templar.template(trust_as_template('{{ sigma_api_url }}')) == 'http://10.0.0.1:9999'


SENTINEL_LOOKUP = "{{ lookup('pipe', 'touch %s; id') }}"
HEADER_TEMPLATE = "#jinja2:variable_start_string:'[[', variable_end_string:']]'\n[[ lookup('pipe', 'touch %s; id') ]]"


def crafted_dump(sentinel):
    """A dump whose every identity field is a template that would create `sentinel` if it were rendered."""
    evil = SENTINEL_LOOKUP % sentinel
    doc = make_dump(evil, hostname=HEADER_TEMPLATE % sentinel, version=evil, models=(evil, 'NVIDIA A10'),
                    status=evil)  # the header has no brace: a #jinja2: header chooses [[ ]] itself
    doc['system']['os'] = evil
    doc['system']['gpu'][1][evil] = evil  # a key too
    return doc


def test_crafted_server_values_are_never_rendered(tmp_path, fake):
    sentinel = tmp_path / 'rendered.sentinel'
    evil = SENTINEL_LOOKUP % sentinel
    header = HEADER_TEMPLATE % sentinel
    # the check can fail: rendered as a trusted template, each of them runs the lookup
    for text in (evil, header):
        Templar(loader=DataLoader()).template(trust_as_template(text))
        assert sentinel.exists()
        sentinel.unlink()

    fake.answers[URL % 1] = trusted(crafted_dump(sentinel))  # even if they arrived trusted
    inventory, _plugin, _warnings = run(tmp_path, dict(
        servers=[{'url': URL % 1, 'name': 'crafted'}], include_dump=True,
        compose={'seen_name': 'sigma_dump.name', 'seen_status': 'sigma_license_status | lower',
                 'seen_models': 'sigma_gpu_models'}))
    variables = hostvars(inventory, 'crafted')
    templar = Templar(loader=DataLoader(), variables=variables)
    for expression in ('{{ sigma_version }}', '{{ sigma_license_status }}', '{{ sigma_gpu_models[0] }}',
                       '{{ sigma_gpus[0].model }}', '{{ sigma_dump.name }}', '{{ sigma_dump.hostname }}',
                       '{{ sigma_dump.hostname | upper | lower }}',
                       '{{ sigma_dump.system.os }}', '{{ sigma_dump | to_json }}', '{{ seen_name }}',
                       '{{ seen_status }}', '{{ seen_models }}', '{{ sigma_dump.system.gpu[1] }}'):
        templar.template(trust_as_template(expression))
    for value in variables.values():
        templar.template(value)
    assert not sentinel.exists(), 'a value from the server was rendered as a template'
    assert templar.template(trust_as_template('{{ sigma_version }}')) == evil
    assert templar.template(trust_as_template('{{ sigma_license_status }}')) == evil.upper()
    assert templar.template(trust_as_template('{{ sigma_dump.hostname }}')) == header
    assert templar.template(trust_as_template('{{ seen_name }}')) == evil
    assert evil in templar.template(trust_as_template('{{ sigma_dump.system.gpu[1] }}'))

    # exported: exactly the values that could be templates are marked, everything else is plain
    exported = json.loads(export({'_meta': {'hostvars': {'crafted': variables}}}))['_meta']['hostvars']['crafted']
    marked = {'__ansible_unsafe': evil}
    assert exported['sigma_version'] == marked and exported['seen_name'] == marked
    assert exported['sigma_license_status'] == {'__ansible_unsafe': evil.upper()}
    assert exported['sigma_dump']['hostname'] == {'__ansible_unsafe': header}
    assert exported['sigma_gpu_models'] == [marked, 'NVIDIA A10']
    assert exported['sigma_gpus'][0]['model'] == marked and exported['sigma_gpus'][1]['model'] == 'NVIDIA A10'
    assert exported['sigma_dump']['system']['os'] == marked
    assert exported['sigma_dump']['system']['gpu'][1][evil] == marked
    assert exported['sigma_api_url'] == URL % 1 and exported['ansible_host'] == '10.0.0.1'
    assert exported['sigma_dump']['system']['gpu'][1]['name'] == 'NVIDIA A10'


def test_the_export_holds_plain_strings(tmp_path, fake):
    """What AWX imports (ansible-inventory --list --export) has no __ansible_unsafe for an ordinary fleet."""
    urls = fleet(fake)
    fake.answers[URL % 2] = english(fake.answers[URL % 2])
    inventory = run(tmp_path, dict(
        servers=urls + [{'url': URL % 9, 'name': 'down', 'vars': {'site': 'hue', 'rack': ['r1', 'r2']}}],
        include_dump=True, compose={'first_model': 'sigma_gpu_models | first | default("none")',
                                    'label': '"edge-" ~ inventory_hostname'}))[0]
    document = {'_meta': {'hostvars': dict((h, hostvars(inventory, h)) for h in inventory.hosts)}}
    text = export(document)
    assert '__ansible_unsafe' not in text
    exported = json.loads(text)['_meta']['hostvars']
    assert exported['srv-t4']['sigma_gpu_models'] == ['Tesla T4']
    assert exported['srv-t4']['first_model'] == 'Tesla T4'
    assert exported['srv-t4']['sigma_dump']['System']['gpu'][0]['name'] == 'Tesla T4'
    assert exported['down']['sigma_error'].startswith('Sigma server http://10.0.0.9:9999, function dump: ')
    assert exported['down']['rack'] == ['r1', 'r2'] and exported['down']['ansible_host'] == '10.0.0.9'


def test_secrets_echoed_by_a_proxy_are_masked(tmp_path, fake, monkeypatch):
    """A proxy's error page may quote the token or password it refused: never kept anywhere."""
    monkeypatch.setenv('SIGMA_PASSWORD', 'pw-s3cret')
    fake.answers[URL % 1] = SigmaAPIError(URL % 1, 'dump', 'HTTP 401: token tok-s3cret or password pw-s3cret refused '
                                                           '(Basic b3BzOnB3LXMzY3JldA==)')
    fake.answers[URL % 2] = make_dump('b')
    config = cache_config(tmp_path, [URL % 1, URL % 2], username='ops', headers={'Authorization': 'Bearer tok-s3cret'})
    inventory, _plugin, warnings = run(tmp_path, config)
    error = hostvars(inventory, '10.0.0.1')['sigma_error']
    assert error.endswith('HTTP 401: token %s or password %s refused (Basic %s)' % (MASK, MASK, MASK))
    assert fake.transports[0]['password'] == 'pw-s3cret'
    with open(str(tmp_path / 'cache' / os.listdir(str(tmp_path / 'cache'))[0])) as handle:
        shown = handle.read() + ' '.join(warnings) + json.dumps([hostvars(inventory, h) for h in inventory.hosts],
                                                                default=str)
    assert 'HTTP 401' in shown and 's3cret' not in shown and 'b3BzOnB3LXMzY3JldA' not in shown


# ---------------------------------------------------------------- failing servers

def failures(fake):
    fake.answers[URL % 1] = make_dump('good')
    fake.answers[URL % 2] = SigmaBodyError('http://10.0.0.2:9999', 'dump', 'the answer is not JSON: <html>502</html>')
    fake.answers[URL % 3] = SigmaAPIError('http://10.0.0.3:9999', 'dump', 'the server answered ec=3: busy', ec=3)
    # URL % 4 has no answer: connection refused


def test_unreachable_servers_are_kept_with_the_reason(tmp_path, fake):
    failures(fake)
    servers = [URL % 1, URL % 2, {'url': URL % 3, 'name': 'busy', 'vars': {'site': 'hue'}}, URL % 4]
    inventory, _plugin, warnings = run(tmp_path, dict(servers=servers))
    assert sorted(inventory.hosts) == ['10.0.0.2', '10.0.0.4', 'busy', 'good']
    assert members(inventory, 'sigma_unreachable') == ['10.0.0.2', '10.0.0.4', 'busy']
    assert members(inventory, 'sigma_license_valid') == ['good']
    assert hostvars(inventory, '10.0.0.2')['sigma_error'] == \
        'Sigma server http://10.0.0.2:9999, function dump: the answer is not JSON: <html>502</html>'
    busy = hostvars(inventory, 'busy')
    assert busy['sigma_error'] == 'Sigma server http://10.0.0.3:9999, function dump: the server answered ec=3: busy'
    assert busy['site'] == 'hue' and busy['ansible_host'] == '10.0.0.3'
    assert busy['sigma_api_url'] == URL % 3 and 'sigma_version' not in busy
    assert 'connection refused' in hostvars(inventory, '10.0.0.4')['sigma_error']
    assert len(warnings) == 3
    for host in ('10.0.0.2', '10.0.0.4', 'busy'):
        assert [w for w in warnings if 'host %s ' % host in w and 'sigma_unreachable' in w]


def test_fail_on_unreachable(tmp_path, fake):
    failures(fake)
    with pytest.raises(AnsibleError) as err:
        run(tmp_path, dict(servers=[URL % 1, URL % 2, URL % 3], fail_on_unreachable=True))
    text = str(err.value)
    assert '2 Sigma server(s) could not be used' in text
    assert '10.0.0.2: Sigma server http://10.0.0.2:9999, function dump: the answer is not JSON' in text
    assert 'ec=3' in text


def test_an_unexpected_exception_in_a_worker_becomes_the_servers_error(tmp_path, fake):
    def boom(url, timeout):
        raise KeyError('surprise')
    fake.answers[URL % 1] = make_dump('good')
    fake.answers[URL % 2] = boom
    inventory = run(tmp_path, dict(servers=[URL % 1, URL % 2]))[0]
    assert members(inventory, 'sigma_unreachable') == ['10.0.0.2']
    assert 'unexpected error: KeyError' in hostvars(inventory, '10.0.0.2')['sigma_error']
    assert members(inventory, 'sigma_license_valid') == ['good']


def test_requests_run_in_parallel_within_max_workers(tmp_path, fake):
    def slow(url, timeout):
        time.sleep(0.1)
        return make_dump(url.split('//')[1].split(':')[0])
    urls = ['http://10.0.1.%d:9999' % i for i in range(1, 41)]
    for url in urls:
        fake.answers[url] = slow
    start = time.monotonic()
    inventory = run(tmp_path, dict(servers=urls, max_workers=8))[0]
    took = time.monotonic() - start
    assert len(inventory.hosts) == 40
    assert fake.max_active == 8
    assert took < 2.5, 'expected about 5 x 0.1 s with 8 workers (4 s one by one), took %.2f s' % took
    # the hosts keep the order of the configuration, not of the answers
    assert list(inventory.hosts) == ['10.0.1.%d' % i for i in range(1, 41)]


def test_the_run_never_waits_longer_than_one_request_and_one_retry(tmp_path, fake):
    """30 hanging servers, 4 workers: without a run deadline this would take 8 x 2 x 0.3 s."""
    def hang(url, timeout):
        # a real client gives up after timeout x (retries + 1)
        time.sleep(timeout * 2)
        return SigmaTimeoutError(url, 'dump', 'timed out after %g s waiting for an answer' % timeout)
    urls = ['http://10.0.2.%d:9999' % i for i in range(1, 31)]
    for url in urls:
        fake.answers[url] = hang
    fake.answers['http://10.0.2.31:9999'] = make_dump('ok')
    start = time.monotonic()
    inventory, _plugin, warnings = run(tmp_path, dict(servers=['http://10.0.2.31:9999'] + urls, max_workers=4,
                                                      timeout=0.3, retries=1))
    took = time.monotonic() - start
    # 0.6 s (+ scheduling slack on a busy machine); without the run deadline: 8 rounds x 0.6 s = 4.8 s
    assert took < 0.3 * 2 + 1.4, 'the run took %.2f s' % took
    assert len(inventory.hosts) == 31
    assert len(members(inventory, 'sigma_unreachable')) == 30
    errors = [hostvars(inventory, h)['sigma_error'] for h in members(inventory, 'sigma_unreachable')]
    assert any('timed out' in e for e in errors)
    assert any('not queried' in e and 'time limit of 0.6 s' in e for e in errors)
    assert len(warnings) == 30
    # every request was given no more than the time left
    assert all(t <= 0.3 for _u, _f, t in fake.calls)


# ---------------------------------------------------------------- constructed features

def test_compose_groups_and_keyed_groups(tmp_path, fake):
    urls = fleet(fake)
    inventory = run(tmp_path, dict(
        servers=urls[:1] + [{'url': urls[1], 'vars': {'site': 'hanoi'}}] + urls[2:] + ['http://10.0.0.9:9999'],
        compose={'gpu_count': 'sigma_gpus | length', 'first_model': 'sigma_gpu_models | first | default("none")'},
        groups={'transcoders': "sigma_license_status == 'VALID' and sigma_gpus | length > 0"},
        keyed_groups=[{'key': 'site | default("nowhere")', 'prefix': 'site'},
                      {'key': 'sigma_gpu_models', 'prefix': 'model'}],
    ))[0]
    assert composed(hostvars(inventory, 'srv-t4')['gpu_count']) == 2
    assert hostvars(inventory, 'srv-cpu')['first_model'] == 'none'
    assert members(inventory, 'transcoders') == ['srv-a10', 'srv-mixed', 'srv-t4']
    assert members(inventory, 'site_hanoi') == ['srv-t4']
    assert members(inventory, 'site_nowhere') == ['10.0.0.9', 'srv-a10', 'srv-cpu', 'srv-l4', 'srv-mixed']
    assert members(inventory, 'model_Tesla_T4') == ['srv-mixed', 'srv-t4']
    # the unreachable host gets what can be built from its configuration, and no error
    assert 'gpu_count' not in hostvars(inventory, '10.0.0.9')


def test_strict_fails_for_a_server_that_answered(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('a')
    with pytest.raises(AnsibleError, match='undefined_thing'):
        run(tmp_path, dict(servers=[URL % 1], strict=True, compose={'x': 'undefined_thing.attr'}))


def test_strict_does_not_fail_for_an_unreachable_server(tmp_path, fake):
    inventory = run(tmp_path, dict(servers=[URL % 9], strict=True, compose={'n': 'sigma_gpus | length'},
                                   keyed_groups=[{'key': 'sigma_version', 'prefix': 'v'}]))[0]
    assert members(inventory, 'sigma_unreachable') == ['10.0.0.9']


# ---------------------------------------------------------------- cache

def cache_config(tmp_path, servers, **more):
    config = dict(servers=servers, cache=True, cache_plugin='ansible.builtin.jsonfile',
                  cache_connection=str(tmp_path / 'cache'), cache_timeout=3600,
                  keyed_groups=[{'key': 'site | default("nowhere")', 'prefix': 'site'}],
                  compose={'gpu_count': 'sigma_gpus | length'})
    config.update(more)
    return config


def snapshot(inventory):
    return (sorted((name, sorted(h.name for h in group.get_hosts())) for name, group in inventory.groups.items()),
            sorted((name, sorted((k, json.dumps(v, sort_keys=True, default=str)) for k, v in host.vars.items()
                                 if k not in ('inventory_file', 'inventory_dir')))
                   for name, host in inventory.hosts.items()))


def test_warm_cache_sends_no_request_and_rebuilds_everything(tmp_path, fake):
    urls = fleet(fake)
    config = cache_config(tmp_path, urls + [{'url': URL % 9, 'vars': {'site': 'dead'}}], include_dump=True)
    cold = run(tmp_path, config)[0]
    assert len(fake.calls) == 6
    files = os.listdir(str(tmp_path / 'cache'))
    assert len(files) == 1
    with open(str(tmp_path / 'cache' / files[0])) as handle:
        cached = handle.read()
    assert SEED_KEY not in cached and MASK in cached

    fake.calls[:] = []
    fake.transports[:] = []
    warm, _plugin, warnings = run(tmp_path, config)
    assert fake.calls == [] and fake.transports == []
    assert snapshot(warm) == snapshot(cold)
    assert members(warm, 'site_dead') == ['10.0.0.9'] and members(warm, 'sigma_unreachable') == ['10.0.0.9']
    assert composed(hostvars(warm, 'srv-t4')['gpu_count']) == 2
    assert len(warnings) == 1 and '10.0.0.9' in warnings[0]

    # --flush-cache: ansible passes cache=False; everything is fetched again and the cache refreshed
    fake.answers[URL % 1] = make_dump('srv-a10', status='EXPIRED')
    flushed = run(tmp_path, config, cache=False)[0]
    assert len(fake.calls) == 6
    assert members(flushed, 'sigma_license_expired') == ['srv-a10', 'srv-l4']
    fake.calls[:] = []
    again = run(tmp_path, config)[0]
    assert fake.calls == []
    assert members(again, 'sigma_license_expired') == ['srv-a10', 'srv-l4']


def test_cache_is_per_configuration_file_and_fetches_only_new_servers(tmp_path, fake):
    urls = fleet(fake)
    run(tmp_path, cache_config(tmp_path, urls[:3]))
    run(tmp_path, cache_config(tmp_path, urls[3:]), name='other.sigma.yml')
    assert len(fake.calls) == 5
    fake.calls[:] = []
    inventory = run(tmp_path, cache_config(tmp_path, urls[:4]))[0]
    assert [u for u, _f, _t in fake.calls] == [urls[3]]
    assert sorted(inventory.hosts) == ['srv-a10', 'srv-cpu', 'srv-mixed', 'srv-t4']
    fake.calls[:] = []
    run(tmp_path, cache_config(tmp_path, urls[:4]))
    assert fake.calls == []


def test_cache_disabled_always_fetches(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('a')
    config = cache_config(tmp_path, [URL % 1], cache=False)
    run(tmp_path, config)
    run(tmp_path, config)
    assert len(fake.calls) == 2
    assert not os.path.exists(str(tmp_path / 'cache'))


def test_fail_on_unreachable_does_not_reuse_a_cached_failure(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('a')
    run(tmp_path, cache_config(tmp_path, [URL % 1, URL % 2]))
    assert len(fake.calls) == 2
    fake.answers[URL % 2] = make_dump('b')
    fake.calls[:] = []
    inventory = run(tmp_path, cache_config(tmp_path, [URL % 1, URL % 2], fail_on_unreachable=True))[0]
    assert [u for u, _f, _t in fake.calls] == [URL % 2]
    assert sorted(inventory.hosts) == ['a', 'b']


def test_unusable_cache_content_is_refetched(tmp_path, fake):
    fake.answers[URL % 1] = make_dump('a')
    fake.answers[URL % 2] = make_dump('b')
    config = cache_config(tmp_path, [URL % 1, URL % 2])
    run(tmp_path, config)
    path = tmp_path / 'cache' / os.listdir(str(tmp_path / 'cache'))[0]
    path.write_text(json.dumps({'something': 'else'}))
    fake.calls[:] = []
    inventory = run(tmp_path, config)[0]
    assert len(fake.calls) == 2 and list(inventory.hosts) == ['a', 'b']

    # one damaged server entry: only that server is asked again
    _inventory, plugin, _warnings = run(tmp_path, config)
    key = plugin.get_cache_key(str(tmp_path / 'test.sigma.yml'))
    data = copy.deepcopy(plugin._cache[key])
    assert data['format'] == 3 and isinstance(data['servers'][URL % 2]['dump'], str)
    assert json.loads(data['servers'][URL % 2]['dump'])['name'] == 'b'
    data['servers'][URL % 2]['dump'] = '<not json>'
    plugin._cache[key] = data
    plugin._cache.set_cache()
    fake.calls[:] = []
    inventory = run(tmp_path, config)[0]
    assert [u for u, _f, _t in fake.calls] == [URL % 2] and list(inventory.hosts) == ['a', 'b']
    fake.calls[:] = []
    run(tmp_path, config)
    assert fake.calls == []


# ---------------------------------------------------------------- the helper process

HELPER_FLEET = 60  # at least the plugin's HELPER_MIN_SERVERS


def helper_fleet(fake):
    """60 servers: most answer (two GPU layouts), every 7th refuses, some answer ec != 0."""
    urls = ['http://10.2.0.%d:9999' % i for i in range(1, HELPER_FLEET + 1)]
    for i, url in enumerate(urls):
        if i % 7 == 3:
            continue  # connection refused
        if i % 11 == 5:
            fake.answers[url] = SigmaAPIError(url, 'dump', 'the server answered ec=3: busy', ec=3)
        else:
            fake.answers[url] = make_dump('h%02d' % i, models=(('NVIDIA A10',), ('Tesla T4', 'Tesla T4'))[i % 2])
    return urls


@pytest.fixture
def helper(monkeypatch, fake):
    """The fake transport, with the helper process allowed; the fake then records nothing here (the helper is a copy)."""
    monkeypatch.setattr(type(inventory_loader.get(PLUGIN)), 'HELPER_PROCESS', True)
    # the plugin forks only a process that runs no other thread: let the threads of earlier tests end
    for thread in threading.enumerate():
        if thread is not threading.main_thread():
            thread.join(5)
    assert threading.active_count() == 1, threading.enumerate()
    return fake


def no_child_left():
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def test_the_helper_process_builds_the_same_inventory(tmp_path, helper, monkeypatch):
    urls = helper_fleet(helper)
    config = cache_config(tmp_path, urls, include_dump=True)
    monkeypatch.setattr(type(inventory_loader.get(PLUGIN)), 'HELPER_PROCESS', False)
    in_threads, _plugin, thread_warnings = run(tmp_path, config, cache=False)
    assert len(helper.calls) == HELPER_FLEET and len(helper.transports) == 1

    monkeypatch.setattr(type(inventory_loader.get(PLUGIN)), 'HELPER_PROCESS', True)
    helper.calls[:] = []
    helper.transports[:] = []
    in_helper, _plugin, helper_warnings = run(tmp_path, config, cache=False)  # --flush-cache: all asked again
    assert helper.calls == [] and helper.transports == [], 'the dumps were not fetched by a helper process'
    assert no_child_left()
    assert snapshot(in_helper) == snapshot(in_threads)
    assert sorted(helper_warnings) == sorted(thread_warnings) and helper_warnings
    # what the helper sent went to the cache as it is: a warm run rebuilds the same
    assert snapshot(run(tmp_path, config)[0]) == snapshot(in_threads)
    assert helper.calls == []
    with open(str(tmp_path / 'cache' / os.listdir(str(tmp_path / 'cache'))[0])) as handle:
        assert SEED_KEY not in handle.read()


@pytest.mark.parametrize('helpers', [2, 3])
def test_several_helpers_share_the_servers(tmp_path, helper, monkeypatch, helpers):
    urls = helper_fleet(helper)
    plugin_class = type(inventory_loader.get(PLUGIN))
    monkeypatch.setattr(plugin_class, 'HELPER_PROCESS', False)
    in_threads = run(tmp_path, dict(servers=urls, include_dump=True))[0]
    monkeypatch.setattr(plugin_class, 'HELPER_PROCESS', True)
    monkeypatch.setattr(plugin_class, '_helper_count', lambda self, count: helpers)
    helper.calls[:] = []
    # one of them dies half way: only its servers are lost, the others' answers all arrive
    answers = dict(helper.answers)

    def die(url, timeout):
        os._exit(4)
    helper.answers[urls[31]] = die
    inventory = run(tmp_path, dict(servers=urls, include_dump=True))[0]
    assert helper.calls == [] and no_child_left()
    errors = dict((hostvars(inventory, h)['sigma_api_url'], hostvars(inventory, h).get('sigma_error'))
                  for h in inventory.hosts)
    ended = 'the helper process fetching the dumps ended early (exit status 4)'
    lost = [url for url in urls if errors[url] and ended in errors[url]]
    assert urls[31] in lost and all(urls.index(url) % helpers == 31 % helpers for url in lost)
    helper.answers.clear()
    helper.answers.update(answers)
    again = run(tmp_path, dict(servers=urls, include_dump=True))[0]
    assert names(again) == names(in_threads)
    assert snapshot(again) == snapshot(in_threads)


def test_a_helper_that_cannot_be_forked_leaves_its_part_to_this_process_and_no_server_is_asked_twice(
        tmp_path, helper, monkeypatch):
    urls = helper_fleet(helper)
    plugin_class = type(inventory_loader.get(PLUGIN))
    monkeypatch.setattr(plugin_class, 'HELPER_PROCESS', False)
    in_threads = run(tmp_path, dict(servers=urls, include_dump=True))[0]
    monkeypatch.setattr(plugin_class, 'HELPER_PROCESS', True)
    monkeypatch.setattr(plugin_class, '_helper_count', lambda self, count: 2)
    forks = []
    real_fork = os.fork

    def fork():
        forks.append(1)
        if len(forks) == 2:
            raise OSError(11, 'Resource temporarily unavailable')
        return real_fork()
    monkeypatch.setattr(os, 'fork', fork)
    helper.calls[:] = []
    inventory = run(tmp_path, dict(servers=urls, include_dump=True))[0]
    assert no_child_left()
    # the first helper fetched servers[0::2]; only the second part was asked here, each server once
    assert sorted(u for u, _f, _t in helper.calls) == sorted(urls[1::2])
    assert snapshot(inventory) == snapshot(in_threads)


def test_one_helper_per_cpu_beyond_the_first(monkeypatch):
    plugin = inventory_loader.get(PLUGIN)
    for cpus, count, expected in ((1, 5000, 1), (2, 5000, 1), (3, 5000, 2), (8, 5000, 4), (8, 600, 2), (8, 60, 1)):
        monkeypatch.setattr(os, 'sched_getaffinity', lambda pid, cpus=cpus: set(range(cpus)))
        assert plugin._helper_count(count) == expected, (cpus, count)


def test_fewer_servers_or_another_thread_keep_the_fetch_in_this_process(tmp_path, helper):
    urls = helper_fleet(helper)
    run(tmp_path, dict(servers=urls[:49]))
    assert len(helper.calls) == 49  # below 50 servers: threads of this process
    helper.calls[:] = []
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        run(tmp_path, dict(servers=urls))
    finally:
        stop.set()
        other.join()
    assert len(helper.calls) == HELPER_FLEET  # a fork would copy locks the other thread may hold


def test_a_helper_that_dies_leaves_no_server_behind(tmp_path, helper):
    urls = helper_fleet(helper)

    def die(url, timeout):
        os._exit(3)
    helper.answers[urls[30]] = die
    start = time.monotonic()
    inventory, _plugin, warnings = run(tmp_path, dict(servers=urls, timeout=5))
    assert time.monotonic() - start < 5
    assert len(inventory.hosts) == HELPER_FLEET and no_child_left()
    errors = dict((hostvars(inventory, h)['sigma_api_url'], hostvars(inventory, h).get('sigma_error'))
                  for h in inventory.hosts)
    ended = 'no result: the helper process fetching the dumps ended early (exit status 3)'
    assert all(errors[url].endswith(ended) for url in urls[30:])
    assert errors[urls[30]] == 'Sigma server %s, function dump: %s' % (urls[30], ended)
    assert len([w for w in warnings if ended in w]) >= HELPER_FLEET - 30


def test_a_helper_that_hangs_is_stopped_at_the_time_limit(tmp_path, helper):
    urls = helper_fleet(helper)

    def hang(url, timeout):
        time.sleep(60)  # a real client gives up after its timeout: this one never does
    helper.answers[urls[10]] = hang
    start = time.monotonic()
    inventory = run(tmp_path, dict(servers=urls, timeout=0.5, retries=0))[0]
    took = time.monotonic() - start
    assert took < 0.5 + 2.0 + 1.5, 'the run took %.1f s' % took  # the time limit, the helper's grace, slack
    assert len(inventory.hosts) == HELPER_FLEET and no_child_left()
    error = [hostvars(inventory, h)['sigma_error'] for h in inventory.hosts
             if hostvars(inventory, h)['sigma_api_url'] == urls[10]][0]
    assert error == 'Sigma server %s, function dump: no result: no answer within the time limit of 0.5 s ' \
                    '(timeout x (retries + 1))' % urls[10]


def test_strict_stops_the_helper(tmp_path, helper):
    urls = helper_fleet(helper)
    with pytest.raises(AnsibleError, match='undefined_thing'):
        run(tmp_path, dict(servers=urls, strict=True, compose={'x': 'undefined_thing.attr'}))
    assert no_child_left()


SERVERS_IN_A_PROCESS = r"""
import json, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
answers = json.loads(sys.stdin.readline())
counts = {}
lock = threading.Lock()
class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        port = self.server.server_address[1]
        self.rfile.read(int(self.headers.get('Content-Length') or 0))
        with lock:
            counts[port] = counts.get(port, 0) + 1
        status, ctype, body = answers[index[port]]
        if status == 0:  # a server that never answers
            time.sleep(3600)
        body = body.encode()
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
index = {}
for i in range(len(answers)):
    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    server.daemon_threads = True
    index[server.server_address[1]] = i
    threading.Thread(target=server.serve_forever, daemon=True).start()
print(json.dumps(sorted(index, key=index.get)), flush=True)
sys.stdin.readline()
print(json.dumps(counts), flush=True)
"""


class ServersInAProcess(object):
    """HTTP servers answering `answers` [(status, content type, body); status 0: never answers] in another
    process (this one must run no thread for the helper process to be used); `urls`, then `counts()`."""

    def __init__(self, answers):
        import subprocess
        self.process = subprocess.Popen([sys.executable, '-c', SERVERS_IN_A_PROCESS], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        self.process.stdin.write(json.dumps(answers) + '\n')
        self.process.stdin.flush()
        self.ports = json.loads(self.process.stdout.readline())
        self.urls = ['http://127.0.0.1:%d' % port for port in self.ports]

    def counts(self):
        """{port as text: requests received}"""
        self.process.stdin.write('done\n')
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def test_the_helper_with_the_real_client_asks_each_server_once(tmp_path, helper, monkeypatch):
    """Real HTTP servers, in another process (this one must run no thread for the helper to be used)."""
    plugin_module = sys.modules[type(inventory_loader.get(PLUGIN)).__module__]
    from ansible_collections.sigma.media_server.plugins.module_utils._client import SigmaTransport
    monkeypatch.setattr(plugin_module, 'SigmaTransport', SigmaTransport)
    answers = [(200, 'application/json', json.dumps(make_dump('real-%02d' % i))) for i in range(HELPER_FLEET)]
    # last: a server listed after one that cannot be used would not be given its reported name (Host names)
    answers[58] = (502, 'text/html', '<html>502 Bad Gateway</html>')
    answers[59] = (200, 'application/json', '{"ec": 2, "msg": "busy"}')
    with ServersInAProcess(answers) as servers:
        ports = servers.ports
        inventory = run(tmp_path, dict(servers=servers.urls, timeout=5, retries=1))[0]
        counts = servers.counts()
    assert no_child_left()
    # one request per server; the HTML answer (HTTP 502) is asked again once (retries: 1)
    assert counts == dict((str(port), 2 if i == 58 else 1) for i, port in enumerate(ports))
    assert len(inventory.hosts) == HELPER_FLEET
    assert members(inventory, 'sigma_unreachable') == sorted(['127.0.0.1_%d' % ports[58], '127.0.0.1_%d' % ports[59]])
    assert 'HTTP 502' in hostvars(inventory, '127.0.0.1_%d' % ports[58])['sigma_error']
    assert hostvars(inventory, 'real-57')['sigma_api_url'] == servers.urls[57]


def _children(pid):
    """The process ids whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as handle:
                    stat = handle.read()
            except OSError:
                continue
            if int(stat.rsplit(')', 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _running(pid):
    try:
        with open('/proc/%d/stat' % pid) as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='the helper process runs on Linux only')
def test_a_killed_ansible_inventory_leaves_no_helper_and_no_open_output(tmp_path):
    """AWX cancels an inventory update by killing ansible-inventory: its output ends at once, its helper too.

    A helper holding a copy of Ansible's stdout would keep AWX (or a pipeline) reading until its time limit,
    and would go on asking servers for an inventory nobody reads.
    """
    import select
    answers = [(200, 'application/json', json.dumps(make_dump('kill-%02d' % i))) for i in range(HELPER_FLEET)]
    answers[3] = (0, '', '')  # never answers: the helper is still at work when Ansible's process is killed
    with ServersInAProcess(answers) as servers:
        inventory = _inventory_command(tmp_path, {'servers': servers.urls, 'timeout': 60, 'retries': 0})
        try:
            deadline = time.monotonic() + 30
            while not _children(inventory.pid):
                assert inventory.poll() is None and time.monotonic() < deadline, 'no helper process was started'
                time.sleep(0.02)
            helpers = _children(inventory.pid)
            time.sleep(0.5)  # the helper's requests are under way
            inventory.kill()
            inventory.wait()
            deadline = time.monotonic() + 5
            for stream in (inventory.stdout, inventory.stderr):
                while True:
                    ready = select.select([stream], [], [], max(0.0, deadline - time.monotonic()))[0]
                    assert ready, 'the output of the killed ansible-inventory is still held open (by its helper)'
                    if not os.read(stream.fileno(), 1 << 16):
                        break
            while any(_running(pid) for pid in helpers):
                assert time.monotonic() < deadline, 'the helper process outlived ansible-inventory'
                time.sleep(0.02)
        finally:
            if inventory.poll() is None:
                inventory.kill()
                inventory.wait()


def _inventory_command(tmp_path, config, *args):
    """ansible-inventory on `config` in a process of its own, the collection where these tests loaded it."""
    import subprocess
    client_file = sys.modules[SigmaAPIError.__module__].__file__  # where the collection was loaded from
    collections = client_file[:client_file.rindex(os.sep + 'ansible_collections' + os.sep)]
    path = tmp_path / 'cli.sigma.yml'
    path.write_text(json.dumps(dict(config, plugin=PLUGIN)))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_INVENTORY_ENABLED='auto',
               ANSIBLE_HOME=str(tmp_path / 'home'), ANSIBLE_NOCOLOR='1')
    env.pop('ANSIBLE_INVENTORY_CACHE', None)
    return subprocess.Popen([sys.executable, '-m', 'ansible.cli.inventory', '-i', str(path), '--list'] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='the helper process runs on Linux only')
def test_awx_export_through_the_helper_with_a_hanging_a_broken_and_a_dead_server(tmp_path):
    """What AWX runs (ansible-inventory --list --export) over a fleet the helper process fetches: the server
    that never answers, the one behind a broken proxy and the dead one are named with their cause, by the
    time limit; the others are all there, in plain values."""
    answers = [(200, 'application/json', json.dumps(make_dump('awx-%02d' % i))) for i in range(HELPER_FLEET)]
    answers[3] = (0, '', '')  # never answers
    answers[7] = (502, 'text/html', '<html>502 Bad Gateway</html>')
    with ServersInAProcess(answers) as servers:
        urls = list(servers.urls)
        urls[11] = 'http://127.0.0.1:%d' % _free_port()  # dead
        entries = [{'url': url, 'name': 'srv-%02d' % i} for i, url in enumerate(urls)]
        start = time.monotonic()
        inventory = _inventory_command(tmp_path, {'servers': entries, 'timeout': 1, 'retries': 0}, '--export')
        out, err = inventory.communicate(timeout=60)
        took = time.monotonic() - start
    assert inventory.returncode == 0, err.decode()
    # the time limit (1 s) and the helper's grace (2 s), with room for Ansible's start on a busy machine
    assert took < 15, 'ansible-inventory took %.1f s' % took
    assert b'__ansible_unsafe' not in out
    data = json.loads(out)
    hostvars_out = data['_meta']['hostvars']
    assert sorted(hostvars_out) == ['srv-%02d' % i for i in range(HELPER_FLEET)]
    assert sorted(data['sigma_unreachable']['hosts']) == ['srv-03', 'srv-07', 'srv-11']
    errors = dict((h, hostvars_out[h]['sigma_error']) for h in ('srv-03', 'srv-07', 'srv-11'))
    assert errors['srv-03'].startswith('Sigma server %s, function dump: no answer within' % urls[3]), errors
    assert errors['srv-07'].startswith('Sigma server %s, function dump: HTTP 502' % urls[7]), errors
    assert errors['srv-11'] == 'Sigma server %s, function dump: connection refused' % urls[11], errors
    assert hostvars_out['srv-59']['sigma_gpu_models'] == ['NVIDIA A10']


# ---------------------------------------------------------------- the real client

class _Handler(BaseHTTPRequestHandler):
    answers = {}

    def _answer(self):
        status, ctype, body = self.answers[self.server.server_address[1]]
        self.send_response(status)
        self.send_header('Content-Type', ctype)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


def _free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def http_servers():
    servers = []

    def start(answer):
        server = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
        _Handler.answers[server.server_address[1]] = answer
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return 'http://127.0.0.1:%d' % server.server_address[1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_real_client_good_html_ec_and_dead(tmp_path, http_servers):
    good = http_servers((200, 'application/json', json.dumps(english(make_dump('real'))).encode()))
    html = http_servers((502, 'text/html', b'<html><body>502 Bad Gateway</body></html>'))
    html200 = http_servers((200, 'text/html', b'<html><body>login</body></html>'))
    failing = http_servers((200, 'application/json', b'{"ec": 2, "msg": "licence server unreachable", "result": {}}'))
    dead = 'http://127.0.0.1:%d' % _free_port()
    inventory, _plugin, warnings = run(tmp_path, dict(servers=[good, html, html200, failing, dead],
                                                      timeout=2, retries=1, include_dump=True))
    assert members(inventory, 'sigma_gpu_nvidia_a10') == ['real']
    assert hostvars(inventory, 'real')['sigma_dump']['nats']['license'] == MASK
    unreachable = members(inventory, 'sigma_unreachable')
    assert len(unreachable) == 4 and len(warnings) == 4
    errors = dict((hostvars(inventory, h)['sigma_api_url'], hostvars(inventory, h)['sigma_error']) for h in unreachable)
    assert 'HTTP 502' in errors[html]
    assert 'not JSON' in errors[html200]
    assert 'ec=2: licence server unreachable' in errors[failing]
    assert 'connection refused' in errors[dead]
    for url, error in errors.items():
        assert error.startswith('Sigma server %s, function dump: ' % url)
