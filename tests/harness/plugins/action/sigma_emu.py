# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper of the reliability suite (not part of the collection).

An action that drives the emulator's control port from inside a playbook,
so one playbook run can switch many faults on and off between module tasks
without the cost of a module execution:

    - sigma_emu: {port: 21002, op: faults, body: {hang: true}}

op: reset | faults | clear | restart | state | requests | forget_requests | config.
The control port URL comes from SIGMA_EMULATOR_CONTROL.
"""

from __future__ import annotations

import json
import os
import urllib.request

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

OPS = {
    'reset': ('POST', 'reset'),
    'faults': ('PUT', 'faults'),
    'clear': ('DELETE', 'faults'),
    'restart': ('POST', 'restart'),
    'state': ('GET', 'state'),
    'requests': ('GET', 'requests'),
    'forget_requests': ('DELETE', 'requests'),
    'config': ('PATCH', 'config'),
}


def control(base, port, op, body=None):
    method, path = OPS[op]
    data = json.dumps(body or {}).encode() if method in ('PUT', 'POST', 'PATCH') else None
    req = urllib.request.Request('%s/_emulator/servers/%d/%s' % (base.rstrip('/'), int(port), path),
                                 data=data, method=method, headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read().decode('utf-8'))


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = self._task.args
        base = os.environ.get('SIGMA_EMULATOR_CONTROL')
        if not base:
            raise AnsibleActionFail('SIGMA_EMULATOR_CONTROL is not set')
        op = args.get('op', 'reset')
        if op not in OPS:
            raise AnsibleActionFail('op must be one of %s' % ', '.join(sorted(OPS)))
        try:
            answer = control(base, args['port'], op, args.get('body'))
        except Exception as exc:  # pylint: disable=broad-except
            raise AnsibleActionFail('emulator control %s on port %s failed: %s' % (op, args.get('port'), exc))
        result.update(changed=False, answer=answer)
        return result
