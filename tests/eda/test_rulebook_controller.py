# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rulebook sigma.media_server.heal_channels_controller (EDA controller: remediations as job templates), run by
ansible-rulebook against an emulated fleet and a stand-in for automation controller's API.

The stand-in answers what ansible-rulebook's run_job_template asks (the API version, the job template by name and
organization, its launch, the job's status) and records every launch. The playbooks behind the job templates are
tested by test_rulebook.py (run_playbook); here: which template is launched, for which server (the limit), with the
event in the extra variable ansible_eda, and that nothing is launched for a job the server retries by itself.
Also: the two rulebooks keep the same source, rules and throttle.
"""

from __future__ import annotations

import json
import threading
import time

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import yaml

from eda_support import FAST, REPO, live_job, start_jobs, testing
from test_rulebook import EDA_VENV, LINEUPS, Rulebook, run_files, state

RULEBOOKS = REPO / 'extensions' / 'eda' / 'rulebooks'
TEMPLATES = {'Sigma heal job': 11, 'Sigma heal server': 12}
TOKEN = 'C0ntr0ller-T0ken'


class Controller(object):
    """automation controller's API as far as run_job_template uses it; every launch recorded."""

    def __init__(self):
        self.launches = []
        self.seen_tokens = set()
        controller = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def answer(self, body, status=200):
                data = json.dumps(body).encode('utf-8')
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 (http.server's name)
                controller.seen_tokens.add(self.headers.get('Authorization'))
                url = urlsplit(self.path)
                query = dict((k, v[0]) for k, v in parse_qs(url.query).items())
                if url.path == '/api/v2/config/':
                    return self.answer({'version': '4.6.0'})
                if url.path == '/api/v2/unified_job_templates/':
                    name = query.get('name')
                    found = [{
                        'id': TEMPLATES[name], 'type': 'job_template', 'name': name,
                        'summary_fields': {'organization': {'name': 'Default'}},
                        'related': {'launch': '/api/v2/job_templates/%d/launch/' % TEMPLATES[name]},
                        'ask_limit_on_launch': True, 'ask_labels_on_launch': False,
                        'ask_inventory_on_launch': False, 'ask_variables_on_launch': True,
                    }] if name in TEMPLATES else []
                    return self.answer({'count': len(found), 'next': None, 'results': found})
                if url.path == '/api/v2/jobs/':
                    ids = [int(i) for i in query.get('id__in', '').split(',') if i]
                    return self.answer({'count': len(ids), 'next': None, 'results': [
                        dict(controller.job(i), status='successful') for i in ids]})
                return self.answer({'detail': 'not found: %s' % self.path}, 404)

            def do_POST(self):  # noqa: N802
                controller.seen_tokens.add(self.headers.get('Authorization'))
                body = json.loads(self.rfile.read(int(self.headers.get('Content-Length') or 0)) or b'{}')
                parts = urlsplit(self.path).path.strip('/').split('/')
                if parts[:3] == ['api', 'v2', 'job_templates'] and parts[-1] == 'launch':
                    template = dict((v, k) for k, v in TEMPLATES.items())[int(parts[3])]
                    with lock:
                        controller.launches.append((template, body))
                        job_id = len(controller.launches)
                    return self.answer(dict(controller.job(job_id), status='pending'), 201)
                return self.answer({'detail': 'not found: %s' % self.path}, 404)

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @staticmethod
    def job(job_id):
        return {'id': job_id, 'url': '/api/v2/jobs/%d/' % job_id, 'created': '2026-11-30T12:00:00Z',
                'finished': '2026-11-30T12:00:01Z', 'artifacts': {}}

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def comparable(rulebook):
    """A rulebook with the actions left out: its hosts, sources, rules, conditions and throttles."""
    out = []
    for ruleset in rulebook:
        ruleset = dict(ruleset)
        ruleset['rules'] = [dict((k, v) for k, v in rule.items() if k != 'action') for rule in ruleset['rules']]
        out.append(ruleset)
    return out


def test_both_rulebooks_keep_the_same_source_rules_and_throttle():
    """heal_channels_controller is heal_channels with run_job_template: only the remediation actions differ."""
    playbook = yaml.safe_load((RULEBOOKS / 'heal_channels.yml').read_text(encoding='utf-8'))
    controller = yaml.safe_load((RULEBOOKS / 'heal_channels_controller.yml').read_text(encoding='utf-8'))
    assert comparable(controller) == comparable(playbook)
    actions = [(list(rule['action']), list(other['action']))
               for rule, other in zip(playbook[0]['rules'], controller[0]['rules'])]
    assert actions == [(['debug'], ['debug']), (['run_playbook'], ['run_job_template']),
                       (['run_playbook'], ['run_job_template'])]


def test_the_controller_rulebook_launches_the_job_templates(tmp_path, collections_path):
    rulebook_bin = EDA_VENV / 'bin' / 'ansible-rulebook'
    assert rulebook_bin.exists(), '%s is missing: `scripts/venv.sh eda` (make venv) installs ansible-rulebook' % rulebook_bin
    fleet = testing.start([dict(FAST, name=name) for name in LINEUPS], workdir=tmp_path / 'emulator', dead_ports=0)
    controller = Controller()
    rulebook = None
    try:
        for name, jobs in LINEUPS.items():
            start_jobs(fleet, name, *[live_job(job['name'], job['input']) for job in jobs])
        inventory, variables, env = run_files(tmp_path, fleet, collections_path)
        mark = fleet.log.mark()
        rulebook = Rulebook(tmp_path, inventory, variables, env, rulebook='sigma.media_server.heal_channels_controller',
                            extra=['--controller-url', controller.url, '--controller-token', TOKEN])
        rulebook.wait_for('the first polls', lambda: len(set(
            r['server'] for r in fleet.log.since(mark) if r['function'] == 'progress')) == 2)

        # a transient error (the server retries), a creation-only error, a server restart
        fleet.config('edge-a', broken_inputs=['udp://239.20.0.2:5000'])
        fleet.job_fault('edge-a', 'ch1', 'NO_VIDEO_DATA')
        fleet.restart('edge-b')
        rulebook.wait_for('two launches', lambda: len(controller.launches) >= 2)
        rulebook.wait_for('the report of the transient error', lambda: any(
            'job ch2 entered error (INPUT_TIMEOUT)' in r for r in rulebook.reports()))
        time.sleep(1)  # a launch for the transient error, if there were one, would come with its report
        rulebook.stop()
        text = rulebook.text()
    finally:
        if rulebook is not None:
            rulebook.stop()
        controller.stop()
        ch1 = state(fleet, 'edge-a', 'ch1')
        fleet.stop()

    launches = sorted(controller.launches, key=lambda launch: launch[0])
    assert [(template, body.get('limit')) for template, body in launches] == [
        ('Sigma heal job', 'edge-a'), ('Sigma heal server', 'edge-b')], launches
    event = launches[0][1]['extra_vars']['ansible_eda']['event']['sigma']
    assert (event['type'], event['server'], event['job'], event['needs_restart']) == ('job_error', 'edge-a', 'ch1', True)
    assert launches[1][1]['extra_vars']['ansible_eda']['event']['sigma']['type'] == 'server_restarted'
    # the rulebook itself restarts nothing: the job template does (here a stand-in that only records)
    assert ch1['restarts'] == 0 and ch1['state'] == 'error'
    assert controller.seen_tokens == {'Bearer %s' % TOKEN}
    assert TOKEN not in text
