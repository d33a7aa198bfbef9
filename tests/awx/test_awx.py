# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as AWX / Automation Platform runs it (issue 18): see awx_support.py."""

from __future__ import annotations

import json
import os

import pytest

import awx_support as support

DEPLOY = '''---
- name: Deploy the lineups, as a job template of a project that uses the collection
  ansible.builtin.import_playbook: sigma.media_server.deploy_jobs
'''

REPORT = '''---
- name: Publish the fleet report
  ansible.builtin.import_playbook: sigma.media_server.fleet_report
'''


def stored_static_inventory(awx):
    """The static inventory of the suite, imported the way AWX imports every inventory."""
    stored, proc = awx.inventory_update(os.path.join(support.FILES, 'inventory', 'hosts.yml'),
                                        files=(os.path.join(support.FILES, 'inventory', 'host_vars'),
                                               os.path.join(support.FILES, 'inventory', 'group_vars')))
    assert proc.returncode == 0, proc.stderr
    return stored


# ---------------------------------------------------------------- the credential type

def test_credential_type_injects_safe_defaults_for_blank_fields(tmp_path):
    with open(support.CREDENTIAL_TYPE) as handle:
        import yaml  # pylint: disable=import-outside-toplevel
        credential_type = yaml.safe_load(handle)
    env = support.render_injectors(credential_type, {}, str(tmp_path))
    assert env == {'SIGMA_USERNAME': '', 'SIGMA_PASSWORD': '', 'SIGMA_HEADERS': '', 'SIGMA_CA_PATH': '',
                   'SIGMA_VALIDATE_CERTS': 'True', 'SIGMA_USE_PROXY': 'True'}
    env = support.render_injectors(credential_type, {'username': 'ops', 'password': 's3cret', 'ca_cert': 'PEM\n',
                                                     'headers': 'X-Token=t0k', 'skip_tls_verify': True,
                                                     'ignore_proxy': True}, str(tmp_path))
    assert env['SIGMA_USERNAME'] == 'ops' and env['SIGMA_PASSWORD'] == 's3cret' and env['SIGMA_HEADERS'] == 'X-Token=t0k'
    assert env['SIGMA_VALIDATE_CERTS'] == 'False' and env['SIGMA_USE_PROXY'] == 'False'
    with open(env['SIGMA_CA_PATH']) as handle:
        assert handle.read() == 'PEM\n'


# ---------------------------------------------------------------- inventory update

def test_inventory_update_exports_what_awx_can_store(awx):
    """`ansible-inventory --list --export` of the plugin, credentials only from the injectors.

    Expected to fail until the inventory plugin exports plain strings (issue 18 part 3):
    AWX stores {"__ansible_unsafe": ...} as a dict and the hosts are unusable.
    """
    stored, proc = awx.inventory_update(os.path.join(support.FILES, 'awx.sigma.yml'),
                                        credential={'username': 'ops', 'password': 'pw-not-in-output'})
    assert proc.returncode == 0, proc.stderr
    hostvars = stored['_meta']['hostvars']
    assert sorted(hostvars) == ['awx-a10', 'awx-dead', 'awx-t4']
    assert 'pw-not-in-output' not in json.dumps(stored) and 'pw-not-in-output' not in proc.stderr
    assert support.find_unsafe(stored) == []
    for host, port in (('awx-a10', 19661), ('awx-t4', 19662)):
        assert hostvars[host]['ansible_host'] == '127.0.0.1'
        assert hostvars[host]['sigma_api_url'] == 'http://127.0.0.1:%d' % port
        assert isinstance(hostvars[host]['sigma_version'], str)
    assert 'awx-dead' in stored['sigma_unreachable']['hosts']


def test_inventory_update_honours_injected_settings(awx):
    """SIGMA_USE_PROXY from the credential reaches the plugin: with a dead proxy in the environment
    the servers are unreachable, and with "connect directly" ticked they answer."""
    source = os.path.join(support.FILES, 'awx.sigma.yml')
    proxy = {'HTTP_PROXY': 'http://127.0.0.1:19668'}  # nothing listens there
    through_proxy, proc = awx.inventory_update(source, credential={}, extra_env=proxy)
    assert proc.returncode == 0, proc.stderr
    direct, proc = awx.inventory_update(source, credential={'ignore_proxy': True}, extra_env=proxy)
    assert proc.returncode == 0, proc.stderr
    # a server that did not answer is named from its URL
    assert sorted(through_proxy['sigma_unreachable']['hosts']) == ['127.0.0.1_19661', '127.0.0.1_19662', 'awx-dead']
    assert direct['sigma_unreachable']['hosts'] == ['awx-dead']


AUTH = {'username': 'awx-ops', 'password': 'Awx-Pr0xy-Pw', 'headers': 'X-Proxy-Token=Awx-T0ken-5ecret'}

INFO = """---
- name: Read the servers behind the proxy
  hosts: all:!sigma_unreachable
  gather_facts: false
  tasks:
    - name: Read the licence, with no connection option in the task (sigma_api_url, then the credential)
      sigma.media_server.sigma_info:
        gather_subset: [license]
      delegate_to: localhost
      register: info

    - name: Show it
      ansible.builtin.debug:
        msg: "licence={{ info.license.status }}"
"""


def test_a_proxy_token_from_the_credential_reaches_the_inventory_and_the_jobs(awx, fleet):
    """The credential's basic auth and extra headers (SIGMA_HEADERS) reach the inventory update and the modules of a
    job, whose task names no connection option; the token and the password are in no output or artifact."""
    source = os.path.join(support.FILES, 'awx-auth.sigma.yml')
    refused, proc = awx.inventory_update(source, credential=dict(AUTH, headers=''))
    assert proc.returncode == 0, proc.stderr
    assert refused['sigma_unreachable']['hosts'] == ['awx-auth']
    assert '401' in refused['_meta']['hostvars']['awx-auth']['sigma_error']
    stored, proc = awx.inventory_update(source, credential=AUTH)
    assert proc.returncode == 0, proc.stderr
    assert 'awx-auth' not in (stored.get('sigma_unreachable') or {}).get('hosts', [])
    assert stored['_meta']['hostvars']['awx-auth']['sigma_license_status'] == 'VALID'
    fleet.forget_requests('awx-auth')
    job = awx.job(INFO, stored, credential=AUTH)
    assert job.status == 'successful', job.describe()
    assert 'licence=VALID' in job.stdout and fleet.requests('awx-auth') == ['dump']
    shown = [json.dumps(stored), proc.stdout, proc.stderr, job.stdout]
    for folder, _dirs, files in os.walk(os.path.join(job.pdd, 'artifacts')):
        # but ansible-runner's `command`: its record of the environment it was given, the credential's injections
        # (AWX shows a job's environment with the credential's secrets hidden, and removes the private data dir)
        for name in set(files) - {'command'}:
            with open(os.path.join(folder, name), errors='replace') as handle:
                shown.append(handle.read())
    for secret in ('Awx-T0ken-5ecret', 'Awx-Pr0xy-Pw'):
        assert not [text for text in shown if secret in text], secret


# ---------------------------------------------------------------- jobs

def test_deploy_jobs_twice_in_fresh_runners(awx, fleet):
    inventory = stored_static_inventory(awx)
    first = awx.job(DEPLOY, inventory, credential={}, fact_storage=True)
    assert first.status == 'successful', first.describe()
    assert first.count('changed', 'awx-a10') == 1 and first.count('changed', 'awx-t4') == 1
    assert sorted(fleet.state('awx-t4')['jobs']) == ['t1', 't2']
    assert sorted(fleet.state('awx-a10')['jobs']) == ['a1']

    second = awx.job(DEPLOY, inventory, credential={}, fact_storage=True)
    assert second.status == 'successful', second.describe()
    assert second.pdd != first.pdd
    assert second.count('changed') == 0, second.describe()
    assert 'no changes: every lineup is applied already' in second.stdout
    for host in ('awx-a10', 'awx-t4'):
        assert all(job['restarts'] == 0 for job in fleet.state(host)['jobs'].values())


CHANNEL = os.path.join(support.ROOT, 'tests', 'integration', 'targets', 'sigma_job_record', 'files', 'channel.yml')


def channel_job(awx, fleet, inventory, out, **extra_vars):
    """One job of the record's channel (live settings, secrets) on awx-a10, AWX fact storage on."""
    fleet.forget_requests('awx-a10')
    out.mkdir(parents=True)
    with open(CHANNEL) as handle:
        playbook = handle.read()
    job = awx.job(playbook, inventory, credential={}, fact_storage=True, limit='awx-a10',
                  extra_vars=dict(extra_vars, out_dir=str(out)))
    assert job.status == 'successful', job.describe()
    with open(out / 'awx-a10.json') as handle:
        return job, json.load(handle), fleet.requests('awx-a10')


def test_record_outlives_each_job_with_fact_storage(awx, fleet, tmp_path):
    """Issue 18's Done-when, job after job in fresh containers (AWX's EE: ansible-core 2.18)."""
    inventory = stored_static_inventory(awx)
    _job, result, _sent = channel_job(awx, fleet, inventory, tmp_path / 'create')
    assert result['action'] == 'start' and result['changed']
    _job, result, _sent = channel_job(awx, fleet, inventory, tmp_path / 'hide', logo=False)
    assert result['action'] == 'update' and not result.get('warnings')
    job, result, sent = channel_job(awx, fleet, inventory, tmp_path / 'same', logo=False)
    assert result['action'] == 'none' and not result['changed'] and sent == ['progress'], (result, sent)
    assert job.count('changed') == 0, job.describe()
    _job, result, sent = channel_job(awx, fleet, inventory, tmp_path / 'back', logo=True)
    assert result['action'] == 'update' and result['changed'] and 'start' not in sent, (result, sent)
    record = json.dumps(awx.facts['awx-a10'])
    assert 'sigma_job_record' in record
    for secret in ('c2VjcmV0LWRybS1rZXktMDE=', 'Rec0rd-Pa55'):
        assert secret not in record
    assert 'localhost' not in awx.facts
    assert fleet.state('awx-a10')['jobs']['ch1']['restarts'] == 0


def test_record_lost_with_ansible_core_2_19_is_never_a_false_ok(awx_core_219, fleet, tmp_path):
    """With an EE on ansible-core 2.19, AWX's fact storage keeps nothing (docs/awx.md): the same
    settings again are sent again, with a warning that names the fix, never reported ok."""
    awx = awx_core_219
    inventory = stored_static_inventory(awx)
    channel_job(awx, fleet, inventory, tmp_path / 'create')
    channel_job(awx, fleet, inventory, tmp_path / 'hide', logo=False)
    job, result, sent = channel_job(awx, fleet, inventory, tmp_path / 'same', logo=False)
    assert result['action'] == 'update' and result['changed'] and 'start' not in sent, (result, sent)
    assert 'fact storage' in ' '.join(result.get('warnings', [])), result
    assert fleet.state('awx-a10')['jobs']['ch1']['restarts'] == 0


def test_fleet_report_is_published_outside_the_job(awx, fleet, tmp_path):
    inventory = stored_static_inventory(awx)
    published = tmp_path / 'published'
    job = awx.job(REPORT, inventory, credential={}, extra_vars={'sigma_report_dir': str(published)})
    assert job.status == 'successful', job.describe()
    assert (published / 'fleet-report.html').is_file()
    report = json.loads((published / 'fleet-report.json').read_text())
    assert report['summary']['servers'] == 2 and report['summary']['reachable'] == 2
    # The summary AWX keeps as the job's artifacts and hands to the next workflow node.
    summary = job.artifacts['sigma_report']
    assert summary['servers'] == 2 and summary['reachable'] == 2 and summary['unreachable'] == 0
    assert summary['html'] == str(published / 'fleet-report.html')
    assert summary['host'] == 'localhost'


@pytest.mark.parametrize('fact_storage', [False, True])
def test_fact_storage_keeps_inventory_hosts_only(awx, fact_storage):
    """The harness itself: facts set on an inventory host outlive the job with fact storage;
    facts of localhost (not an inventory host) never do, as in AWX."""
    first, second = set_then_read_a_fact(awx, fact_storage)
    assert first.artifacts == {'awx_handed_over': ['a1']}
    expected = "probe=%s handed=['a1']" % ('awx-a10' if fact_storage else 'none')
    assert expected in second.stdout
    assert 'localhost' not in awx.facts
    if os.environ.get('SIGMA_AWX_EE_PYTHON'):
        assert 'core=2.18.' in second.stdout, 'the jobs run with the ansible-core of AWX\'s EE'


def test_fact_storage_keeps_nothing_with_ansible_core_2_19(awx_core_219):
    """AWX's fact storage reads and writes <host> files; ansible-core 2.19 names them s1_<host>
    with another layout: nothing set in one job reaches the next. What docs/awx.md says."""
    first, second = set_then_read_a_fact(awx_core_219, True)
    assert "probe=none handed=['a1']" in second.stdout
    assert awx_core_219.facts.get('awx-a10', {}) == {}
    assert any(name.startswith('s1_awx-a10') for name in os.listdir(os.path.join(
        first.pdd, 'artifacts', first.job_id, 'fact_cache'))), 'ansible-core wrote its own file name'
    assert 'core=2.19.' in second.stdout or 'core=2.2' in second.stdout


def set_then_read_a_fact(awx, fact_storage):
    inventory = stored_static_inventory(awx)
    play = '''---
- name: Set facts
  hosts: awx-a10,localhost
  gather_facts: false
  tasks:
    - name: Set a cacheable fact
      ansible.builtin.set_fact:
        awx_probe: "{{ inventory_hostname }}"
        cacheable: true
- name: Hand data to the next workflow node
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Set stats
      ansible.builtin.set_stats:
        data:
          awx_handed_over: [a1]
'''
    first = awx.job(play, inventory, fact_storage=fact_storage)
    assert first.status == 'successful', first.describe()
    read = '''---
- name: Read facts
  hosts: awx-a10
  gather_facts: false
  tasks:
    - name: Show
      ansible.builtin.debug:
        msg: "probe={{ awx_probe | default('none') }} handed={{ awx_handed_over | default('none') }} core={{ ansible_version.full }}"
'''
    second = awx.job(read, inventory, fact_storage=fact_storage, after=first)
    assert second.status == 'successful', second.describe()
    return first, second
