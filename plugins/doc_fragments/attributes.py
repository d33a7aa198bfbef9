# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):

    # Every module: modules set `support` for check_mode, diff_mode and idempotent; action and async are the same for all
    # (plugins/plugin_utils/_action.py).
    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
  action:
    description: Indicates this has a corresponding action plugin so some parts of the options can be executed on the controller.
    support: full
    details:
      - "On a local connection (C(delegate_to: localhost), C(connection: local), a play on C(localhost)) the action
        plugin validates the arguments with this module's own argument spec and runs the module's code in the Ansible
        worker process, with the same result, warnings, errors, check and diff modes and the same requests, but without
        transferring and starting the module; the items of a loop share one HTTP connection pool. The code then runs
        in the controller's Python (with its C(requests)), not in C(ansible_python_interpreter)."
      - On any other connection (an API reachable only from a bastion), and with C(become) or C(async), the module runs
        on the task's host as usual. Environment variable defaults (C(SIGMA_*)) come from the task's C(environment)
        and the environment of the process that runs the module, on both paths.
      - "On both paths, a connection option that the task leaves out (in its arguments and in C(module_defaults)) is
        taken from the host variable C(sigma_<option>) of the task's host when that is defined and not null
        (C(sigma_api_url), C(sigma_timeout), C(sigma_password)...; with C(delegate_to), the variables of the host the
        task is for, not of the delegate), before the environment variable and the option's default. The inventory
        plugin P(sigma.media_server.sigma#inventory) sets C(sigma_api_url) for every server, so a play over the fleet
        needs no connection options. A failure about such an option names the host variable."
  async:
    description: Supports being used with the C(async) keyword.
    support: full
    details: An C(async) task always runs the module on the task's host, also on a local connection.
  action_group:
    description: Use C(group/sigma.media_server.sigma) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - sigma.media_server.sigma
'''
