# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of sigma_info: the gathering on the controller for a local connection."""

from __future__ import annotations

from ansible_collections.sigma.media_server.plugins.module_utils._info import argument_spec, gather
from ansible_collections.sigma.media_server.plugins.plugin_utils._action import SigmaAction


class ActionModule(SigmaAction):

    def argument_spec(self):
        return argument_spec()

    def run_engine(self, params, client, outcome, check_mode, environ):
        return gather(params, client, outcome)
