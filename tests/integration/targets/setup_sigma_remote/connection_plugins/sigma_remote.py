# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = """
    name: sigma_remote
    short_description: ansible.builtin.local under another name, for the collection's tests
    description:
        - Runs commands on the controller exactly as C(ansible.builtin.local) does, but the collection's action
          plugins do not take it for the controller, so they execute the modules as on a remote host.
        - The module integration targets run twice, once with C(local) (the engine runs in the worker process) and
          once with this connection (the module runs through AnsiballZ), to prove both paths give the same results.
    author: Sigma collection maintainers (@sigma-media)
    options:
        become_success_timeout:
            type: int
            default: 10
            description: As for C(ansible.builtin.local).
            vars:
                - name: ansible_local_become_success_timeout
        become_strip_preamble:
            type: bool
            default: true
            description: As for C(ansible.builtin.local).
            vars:
                - name: ansible_local_become_strip_preamble
    extends_documentation_fragment:
        - connection_pipelining
"""

from ansible.plugins.connection.local import Connection as LocalConnection


class Connection(LocalConnection):
    """The local connection, under a name the collection's action plugins do not treat as the controller."""

    transport = 'sigma_remote'
