# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The example rulebook sigma.media_server.heal_channels, run end to end by ansible-rulebook on an emulated fleet.

ONE ansible-rulebook run (its JVM takes seconds to start) covers the three scenarios of issue 17:
- a broken input on a live job gives exactly one event, with its code, and the job is left to the
  server's own retry (no restart), until the input comes back;
- a job with a creation-only error is restarted once with its lineup's configuration (a second such
  error within the throttle window is not), and one the lineup does not declare is not restarted;
- a server restart brings its whole lineup back.
Then heal_job by hand: a job that runs again is left alone.

ansible-rulebook, ansible-core and requests come from .venv-eda (scripts/venv.sh eda; SIGMA_EDA_VENV
overrides), the collection from a temporary ansible_collections tree that links to this checkout.
"""

from __future__ import annotations

import ast
import os
import re
import signal
import subprocess
import time

from pathlib import Path

import yaml

from eda_support import FAST, REPO, live_job, start_jobs, testing

EDA_VENV = Path(os.environ.get('SIGMA_EDA_VENV') or REPO / '.venv-eda')
LINEUPS = {
    'edge-a': [
        {'name': 'ch1', 'input': 'udp://239.20.0.1:5000'},
        {'name': 'ch2', 'input': 'udp://239.20.0.2:5000'},
    ],
    'edge-b': [
        {'name': 'news1', 'input': 'udp://239.21.0.1:5000'},
        {'name': 'news2', 'input': 'udp://239.21.0.2:5000'},
    ],
}


def lineup_spec(job):
    """A lineup entry as sigma_lineup holds it (the sigma_jobs module's job options)."""
    return {'name': job['name'], 'input': job['input'],
            'profiles': [{'id': '0x100', 'codec': 'h264', 'width': 1280, 'height': 720, 'bitrate': '2500k'},
                         {'id': '0x101', 'type': 'audio', 'codec': 'aac'}],
            'targets': [{'format': 'hls', 'url': '/data/mediahub/%s' % job['name'], 'select': ['0x100', '0x101']}]}


class Rulebook(object):
    """ansible-rulebook in the background, its output in a file."""

    def __init__(self, workdir, inventory, variables, env, rulebook='sigma.media_server.heal_channels', extra=()):
        self.log = workdir / 'ansible-rulebook.log'
        command = [str(EDA_VENV / 'bin' / 'ansible-rulebook'), '-r', rulebook,
                   '-i', str(inventory), '--vars', str(variables), '--print-events'] + list(extra)
        with open(self.log, 'wb') as out:
            self.process = subprocess.Popen(command, cwd=str(workdir), env=env, stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    def text(self):
        return self.log.read_text(encoding='utf-8', errors='replace')

    def events(self):
        """(type, server, job, codes) of every event the rulebook received (--print-events), in order."""
        found = []
        for block in re.findall(r'^Event:\n(.*?)\n\*{10}', self.text(), re.M | re.S):
            body = ast.literal_eval(block)['sigma']
            found.append((body['type'], body['server'], body['job'], ','.join(body.get('codes') or ())))
        return found

    def reports(self):
        """The rulebook's debug messages `[TYPE] SERVER: SUMMARY...`, in order."""
        return re.findall(r'^(\[[a-z_]+\] [\w.-]+: .*)$', self.text(), re.M)

    def wait_for(self, what, check, timeout=60):
        deadline = time.monotonic() + timeout
        while not check():
            if self.process.poll() is not None:
                raise AssertionError('ansible-rulebook ended (%s) while waiting for %s:\n%s'
                                     % (self.process.returncode, what, self.text()[-6000:]))
            if time.monotonic() > deadline:
                raise AssertionError('timed out waiting for %s; the rulebook said:\n%s' % (what, self.text()[-6000:]))
            time.sleep(0.1)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def write_inventory(directory, fleet):
    """An inventory directory as a user keeps one: the fleet's *.sigma.yml source and each server's lineup."""
    (directory / 'host_vars').mkdir(parents=True)
    (directory / 'group_vars').mkdir()
    (directory / 'fleet.sigma.yml').write_text(yaml.safe_dump({
        'plugin': 'sigma.media_server.sigma', 'servers': [fleet.url(name) for name in LINEUPS],
        'timeout': 3, 'retries': 0}))
    for name, jobs in LINEUPS.items():
        (directory / 'host_vars' / ('%s.yml' % name)).write_text(yaml.safe_dump({
            'sigma_lineup': [lineup_spec(job) for job in jobs]}))
    (directory / 'group_vars' / 'all.yml').write_text(yaml.safe_dump({
        'ansible_python_interpreter': '{{ ansible_playbook_python }}', 'sigma_heal_wait_timeout': 20}))


def run_files(tmp_path, fleet, collections_path):
    """(inventory directory, vars file, environment) of an ansible-rulebook run on `fleet`, polling every 0.3 s."""
    inventory = tmp_path / 'inventory'
    write_inventory(inventory, fleet)
    variables = tmp_path / 'vars.yml'
    variables.write_text(yaml.safe_dump({'sigma_inventory': str(inventory), 'sigma_interval': 0.3}))
    env = dict(os.environ, PATH='%s:%s' % (EDA_VENV / 'bin', os.environ.get('PATH', '')),
               ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_LOCAL_TEMP=str(tmp_path / 'ansible-tmp'),
               ANSIBLE_NOCOLOR='1', SIGMA_STATE_DIR=str(tmp_path / 'state'), HOME=str(tmp_path))
    return inventory, variables, env


def state(fleet, server, job):
    return fleet.jobs(server).get(job) or {}


def test_the_rulebook_heals_the_fleet(tmp_path, collections_path):
    rulebook_bin = EDA_VENV / 'bin' / 'ansible-rulebook'
    assert rulebook_bin.exists(), '%s is missing: `scripts/venv.sh eda` (make venv) installs ansible-rulebook' % rulebook_bin
    started = time.monotonic()
    fleet = testing.start([dict(FAST, name=name) for name in LINEUPS], workdir=tmp_path / 'emulator', dead_ports=0)
    rulebook = None
    try:
        # the fleet on air: each lineup running, and a job on edge-a that no lineup declares
        for name, jobs in LINEUPS.items():
            start_jobs(fleet, name, *[live_job(job['name'], job['input']) for job in jobs])
        start_jobs(fleet, 'edge-a', live_job('rogue', 'udp://239.20.0.9:5000'))
        inventory, variables, env = run_files(tmp_path, fleet, collections_path)
        mark = fleet.log.mark()
        rulebook = Rulebook(tmp_path, inventory, variables, env)
        # the source polls both servers (its first answers are the baseline)
        rulebook.wait_for('the first polls', lambda: len(set(
            r['server'] for r in fleet.log.since(mark) if r['function'] == 'progress')) == 2)

        # 1. a broken input (transient): one event with its code, the job left to the server's retry
        fleet.config('edge-a', broken_inputs=['udp://239.20.0.2:5000'])
        # 2. creation-only errors: a lineup job, and a job no lineup declares
        fleet.job_fault('edge-a', 'ch1', 'NO_VIDEO_DATA')
        fleet.job_fault('edge-a', 'rogue', 'STREAM_NOT_FOUND')
        # 3. a server restart: it forgets every job
        fleet.restart('edge-b')

        rulebook.wait_for('ch1 restarted', lambda: state(fleet, 'edge-a', 'ch1').get('restarts') == 1
                          and state(fleet, 'edge-a', 'ch1').get('state') == 'started')
        rulebook.wait_for('the lineup of edge-b back', lambda: all(
            state(fleet, 'edge-b', job['name']).get('state') == 'started' for job in LINEUPS['edge-b']))
        rulebook.wait_for('the refusal to restart rogue', lambda: 'does not declare it' in rulebook.text())

        # within the throttle window a second creation-only error of ch1 is not restarted; the transient
        # error ends when the input comes back. Actions run in order: once the recovery of ch2 is reported,
        # a restart of ch1 would have run already.
        fleet.job_fault('edge-a', 'ch1', 'NO_AUDIO_DATA')
        fleet.config('edge-a', broken_inputs=[])
        rulebook.wait_for('the recovery of ch2', lambda: any(
            r.startswith('[job_recovered] edge-a: job ch2') for r in rulebook.reports()))
        rulebook.wait_for('the second error of ch1', lambda: any(
            'job ch1 entered error (NO_AUDIO_DATA)' in r for r in rulebook.reports()))
        rulebook.stop()
        # by hand (or for an old event): a job that runs again is left alone
        by_hand = subprocess.run([str(EDA_VENV / 'bin' / 'ansible-playbook'), '-i', str(inventory),
                                  'sigma.media_server.heal_job', '-e', 'sigma_hosts=edge-a', '-e', 'sigma_heal_job=ch2'],
                                 cwd=str(tmp_path), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 check=False)
    finally:
        if rulebook is not None:
            rulebook.stop()
        jobs_a, jobs_b = fleet.jobs('edge-a'), fleet.jobs('edge-b')
        fleet.stop()
    seconds = time.monotonic() - started
    reports = rulebook.reports()
    text = rulebook.text()

    # 1. the broken input: exactly one event with its code, left to the server, recovered by itself
    assert [r for r in reports if 'ch2' in r] == [
        '[job_error] edge-a: job ch2 entered error (INPUT_TIMEOUT): the server retries the job by itself',
        '[job_recovered] edge-a: job ch2 left error, it is started']
    assert jobs_a['ch2']['restarts'] == 0 and jobs_a['ch2']['state'] == 'started'
    assert by_hand.returncode == 0 and 'edge-a: job ch2 is started: nothing to restart.' in by_hand.stdout, by_hand.stdout

    # 2. ch1 restarted once, with its lineup's configuration (the profile sigma_jobs sent), not a second time
    ch1 = [r for r in reports if 'job ch1' in r]
    assert ch1[0] == '[job_error] edge-a: job ch1 entered error (NO_VIDEO_DATA): only a new start clears it'
    assert re.match(r'\[job_recovered\] edge-a: job ch1 left error, it is (starting|preparing|started)$', ch1[1]), ch1
    # its second creation-only error is reported, and left to a person: the throttle holds the restart back
    assert ch1[2:] == ['[job_error] edge-a: job ch1 entered error (NO_AUDIO_DATA): only a new start clears it']
    assert jobs_a['ch1']['restarts'] == 1, jobs_a['ch1']
    assert jobs_a['ch1']['state'] == 'error' and 'NO_AUDIO_DATA' in jobs_a['ch1']['errors'][-1]
    assert jobs_a['ch1']['config']['profile'][0]['width'] == 1280
    assert 'restarted job ch1, it is started' in text
    # rogue: not declared by the lineup, so not restarted, and the playbook says why
    assert [r for r in reports if 'rogue' in r] == [
        '[job_error] edge-a: job rogue entered error (STREAM_NOT_FOUND): only a new start clears it']
    assert jobs_a['rogue']['restarts'] == 0 and jobs_a['rogue']['state'] == 'error'
    assert re.search(r'job rogue needs a new start, but the lineup of edge-a\s+\(sigma_lineup\) does not declare it',
                     text)

    # 3. edge-b restarted: its whole lineup is back, from the lineup (configuration as declared)
    assert [r for r in reports if r.startswith('[server_restarted]')] == [
        '[server_restarted] edge-b: the server restarted (the start time in dump moved) and forgot 2 job(s)']
    assert sorted(jobs_b) == ['news1', 'news2']
    assert all(job['config']['profile'][0]['width'] == 1280 for job in jobs_b.values())

    # every event the source sent during the run, once, and each reported once
    events = [
        ('job_error', 'edge-a', 'ch2', 'INPUT_TIMEOUT'), ('job_recovered', 'edge-a', 'ch2', ''),
        ('job_error', 'edge-a', 'ch1', 'NO_VIDEO_DATA'), ('job_recovered', 'edge-a', 'ch1', ''),
        ('job_error', 'edge-a', 'ch1', 'NO_AUDIO_DATA'),
        ('job_error', 'edge-a', 'rogue', 'STREAM_NOT_FOUND'),
        ('server_restarted', 'edge-b', None, '')]
    assert sorted(rulebook.events(), key=str) == sorted(events, key=str)
    assert sorted(r.split(':')[0] for r in reports) == sorted('[%s] %s' % (kind, server) for kind, server, _j, _c in events)
    print('ansible-rulebook end to end: %.1f s' % seconds)
