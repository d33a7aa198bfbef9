#!/usr/bin/env python
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Open the 1000-server report in headless Chromium and check what an operator sees.

    check_page.py CHROMIUM REPORT_HTML REPORT_JSON EXPECTED_JSON ARTIFACT_DIR

Drives Chromium through the DevTools protocol over a pipe (--remote-debugging-pipe: no port,
nothing but the standard library). At desktop width (1280) and phone width (420):
- the problem list starts on the first screen and ends before any healthy server;
- the page never scrolls sideways;
- the page makes no network request and runs no script but its own;
- screenshots of the first screen go to ARTIFACT_DIR (desktop.png, phone.png, readme.png).
At desktop width it also filters, sorts and follows a link from a problem to its server.
Prints the page's size and load time; exits 1 with every failed check listed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import subprocess
import sys
import tempfile
import time

MAX_BYTES = 2 * 1024 * 1024
SCREENS = (('desktop', 1280, 900, False), ('phone', 420, 860, True))


class Chromium(object):
    """A headless Chromium spoken to over --remote-debugging-pipe (fd 3 in, fd 4 out)."""

    def __init__(self, binary, profile):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # the child's ends, moved above 3 and 4, go to fds 3 and 4 in the child
        child_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def fds():
            os.dup2(child_r, 3)
            os.dup2(child_w, 4)

        self.proc = subprocess.Popen(
            [binary, '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
             '--disable-extensions', '--disable-sync', '--no-first-run', '--hide-scrollbars', '--mute-audio',
             '--remote-debugging-pipe', '--user-data-dir=' + profile, 'about:blank'],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(os.path.join(profile, 'stderr.log'), 'wb'),
            preexec_fn=fds, close_fds=False)  # pylint: disable=subprocess-popen-preexec-fn
        os.close(child_r)
        os.close(child_w)
        self._buffer = b''
        self._next = 0
        self.events = []
        self.session = None

    def send(self, method, params=None, session=True, timeout=60):
        self._next += 1
        message = {'id': self._next, 'method': method, 'params': params or {}}
        if session and self.session:
            message['sessionId'] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b'\0')
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read(deadline)
            if reply.get('id') == self._next:
                if 'error' in reply:
                    raise RuntimeError('%s: %s' % (method, reply['error']))
                return reply.get('result', {})
            self.events.append(reply)

    def wait_event(self, method, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events):
                if event.get('method') == method:
                    del self.events[i]
                    return event
            self.events.append(self._read(deadline))

    def _read(self, deadline):
        while b'\0' not in self._buffer:
            if time.monotonic() > deadline:
                raise RuntimeError('Chromium did not answer in time')
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError('Chromium closed the pipe (exit %s)' % self.proc.poll())
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b'\0', 1)
        return json.loads(message)

    def open_page(self):
        target = self.send('Target.createTarget', {'url': 'about:blank'}, session=False)
        attached = self.send('Target.attachToTarget', {'targetId': target['targetId'], 'flatten': True}, session=False)
        self.session = attached['sessionId']
        self.send('Page.enable')
        self.send('Runtime.enable')

    def evaluate(self, expression):
        result = self.send('Runtime.evaluate', {'expression': expression, 'returnByValue': True, 'awaitPromise': True})
        if 'exceptionDetails' in result:
            raise RuntimeError('script failed: %s' % json.dumps(result['exceptionDetails'])[:500])
        return result['result'].get('value')

    def load(self, url, width, height, mobile):
        self.send('Emulation.setDeviceMetricsOverride',
                  {'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': mobile})
        self.events = []
        self.send('Page.navigate', {'url': url})
        self.wait_event('Page.loadEventFired')

    def screenshot(self, path, scale=1.0, width=None, height=None):
        params = {'format': 'png'}
        if scale != 1.0:
            params['clip'] = {'x': 0, 'y': 0, 'width': width, 'height': height, 'scale': scale}
        data = self.send('Page.captureScreenshot', params)['data']
        with open(path, 'wb') as handle:
            handle.write(base64.b64decode(data))

    def close(self):
        try:
            self.send('Browser.close', session=False, timeout=10)
        except Exception:  # pylint: disable=broad-except
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# What the first screen holds, measured in the page.
FIRST_SCREEN = r'''(() => {
  const box = (el) => el ? el.getBoundingClientRect() : null;
  const problems = document.getElementById('problems');
  const first = problems.querySelector('details.pg li, details.pg tbody tr');
  const healthyRow = document.querySelector('#overview tbody tr[data-sev="0"]');
  const healthyServer = document.querySelector('details.srv.ok');
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    viewport: [innerWidth, innerHeight],
    scrollWidth: Math.max(document.documentElement.scrollWidth, document.body.scrollWidth),
    problemsTop: box(problems).top, problemsBottom: box(problems).bottom,
    firstProblem: first ? {bottom: box(first).bottom, text: first.textContent.trim()} : null,
    problemGroups: Array.from(problems.querySelectorAll('details.pg')).map((d) => d.id),
    healthyRowTop: healthyRow ? box(healthyRow).top : null,
    healthyServerTop: healthyServer ? box(healthyServer).top : null,
    resources: performance.getEntriesByType('resource').map((r) => r.name),
    scripts: document.scripts.length,
    svgs: document.querySelectorAll('#capacity svg').length,
    openDetails: document.querySelectorAll('details.srv[open]').length,
    details: document.querySelectorAll('details.srv').length,
    rows: document.querySelectorAll('#overview tbody tr').length,
    headerHidden: getComputedStyle(document.querySelector('#overview thead')).display === 'none',
    pwned: document.body.getAttribute('data-pwned'),
    loadMs: nav ? Math.round(nav.loadEventStart - nav.startTime) : null,
  };
})()'''

VISIBLE_ROWS = "Array.from(document.querySelectorAll('#overview tbody tr')).filter((r) => !r.hidden).length"

FILTER = r'''((text, only) => {
  const input = document.getElementById('filter');
  const box = document.getElementById('only-problems');
  input.value = text; input.dispatchEvent(new Event('input'));
  box.checked = only; box.dispatchEvent(new Event('change'));
  return %s;
})''' % VISIBLE_ROWS

SORT_BY_NAME = r'''(() => {
  document.querySelector('#overview th').click();
  const names = Array.from(document.querySelectorAll('#overview tbody tr td:first-child')).map((td) => td.textContent);
  const sorted = names.slice().sort((a, b) => a.localeCompare(b, undefined, {numeric: true}));
  return {first: names[0], sorted: JSON.stringify(names) === JSON.stringify(sorted),
          ariaSort: document.querySelector('#overview th').getAttribute('aria-sort')};
})()'''

FOLLOW_LINK = r'''(async () => {
  const link = document.querySelector('#problems details.pg a[href^="#s"]');
  const id = link.getAttribute('href').slice(1);
  link.click();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const target = document.getElementById(id);
  const top = target.getBoundingClientRect().top;
  return {server: link.textContent, id: id, open: target.open, inView: top >= -1 && top < innerHeight,
          name: target.getAttribute('data-server')};
})()'''


def interactions(browser, check, expected, summary):
    """Filter, sort and follow a link, on the page as loaded."""
    expired = len([s for s in expected['servers'] if s['license'] == 'EXPIRED' and not s['down']])
    shown = browser.evaluate(FILTER + "('EXPIRED', false)")
    check(shown == expired, 'filter EXPIRED: %s rows shown, %d servers have an EXPIRED licence' % (shown, expired))
    shown = browser.evaluate(FILTER + "('', true)")
    check(shown == summary['servers_with_problems'], 'only with problems: %s rows shown for %d servers'
          % (shown, summary['servers_with_problems']))
    shown = browser.evaluate(FILTER + "('', false)")
    check(shown == summary['servers'], 'no filter: %s rows shown' % shown)
    sort = browser.evaluate(SORT_BY_NAME)
    check(sort['sorted'] and sort['ariaSort'] == 'ascending', 'sort by name: %s' % sort)
    follow = browser.evaluate(FOLLOW_LINK)
    check(follow['open'] and follow['inView'] and follow['name'] == follow['server'],
          'following a problem link to its server: %s' % follow)


def main(binary, html_path, json_path, expected_path, artifacts):
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)
        return ok

    os.makedirs(artifacts, exist_ok=True)
    size = os.path.getsize(html_path)
    report = json.load(open(json_path, encoding='utf-8'))
    expected = json.load(open(expected_path, encoding='utf-8'))
    summary = report['summary']
    check(size < MAX_BYTES, 'the page is %d bytes, not under %d' % (size, MAX_BYTES))
    with tempfile.TemporaryDirectory(prefix='sigma-chromium-') as profile:
        started = time.monotonic()
        browser = Chromium(binary, profile)
        try:
            browser.open_page()
            url = 'file://' + os.path.abspath(html_path)
            results = {}
            for name, width, height, mobile in SCREENS:
                browser.load(url, width, height, mobile)
                seen = results[name] = browser.evaluate(FIRST_SCREEN)
                browser.screenshot(os.path.join(artifacts, name + '.png'))
                where = '%s (%dx%d)' % (name, width, height)
                check(seen['viewport'][0] == width, '%s: the viewport is %s wide' % (where, seen['viewport'][0]))
                check(seen['scrollWidth'] <= width, '%s: the page scrolls sideways (%d px wide)'
                      % (where, seen['scrollWidth']))
                check(seen['problemsTop'] < height, '%s: the problem list starts below the first screen (%d px)'
                      % (where, seen['problemsTop']))
                check(seen['firstProblem'] is not None and seen['firstProblem']['bottom'] <= height,
                      '%s: no problem entry fully on the first screen: %s' % (where, seen['firstProblem']))
                check(seen['healthyRowTop'] is not None and seen['problemsBottom'] <= seen['healthyRowTop'],
                      '%s: a healthy server row comes before the end of the problem list' % where)
                check(seen['healthyServerTop'] is not None and seen['problemsBottom'] <= seen['healthyServerTop'],
                      '%s: a healthy server comes before the end of the problem list' % where)
                check(seen['resources'] == [], '%s: the page made requests: %s' % (where, seen['resources'][:5]))
                check(seen['scripts'] == 1, '%s: %d scripts in the page' % (where, seen['scripts']))
                check(seen['pwned'] is None, '%s: an injected script ran' % where)
                check(seen['rows'] == summary['servers'] and seen['details'] == summary['servers'],
                      '%s: %d overview rows and %d details for %d servers'
                      % (where, seen['rows'], seen['details'], summary['servers']))
                check(seen['openDetails'] == 0, '%s: %d server details open at %d servers'
                      % (where, seen['openDetails'], summary['servers']))
                check(seen['svgs'] == len(report['capacity']), '%s: %d capacity pictures for %d GPU models'
                      % (where, seen['svgs'], len(report['capacity'])))
                check(seen['headerHidden'] == mobile, '%s: the overview table %s its header row'
                      % (where, 'keeps' if mobile else 'hides'))
                if not mobile:
                    # the README's picture: this first screen, scaled down
                    browser.screenshot(os.path.join(artifacts, 'readme.png'), scale=0.75, width=width, height=760)
                    interactions(browser, check, expected, summary)
            check(results['desktop']['problemGroups'][:2] == ['p-unreachable', 'p-license'],
                  'the problem list does not start with the unreachable servers and the licences: %s'
                  % results['desktop']['problemGroups'])
        finally:
            browser.close()
        took = time.monotonic() - started
    print('page: %d bytes (%.2f MB); load event after %s ms at desktop width, %s ms at phone width; '
          'Chromium checks took %.1f s' % (size, size / 1048576.0, results['desktop']['loadMs'],
                                           results['phone']['loadMs'], took))
    print('first screen (desktop): problem list at %d px, first entry: %s'
          % (results['desktop']['problemsTop'], results['desktop']['firstProblem']))
    if failures:
        print('FAILED checks:\n- ' + '\n- '.join(failures), file=sys.stderr)
        return 1
    print('check_page: all checks passed; screenshots in %s' % artifacts)
    return 0


if __name__ == '__main__':
    sys.exit(main(*sys.argv[1:6]))
