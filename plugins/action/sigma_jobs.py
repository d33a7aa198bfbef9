# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of sigma_jobs: the engine on the controller for a local connection, the record as a fact."""

from __future__ import annotations

from ansible_collections.sigma.media_server.plugins.module_utils._jobs import engine
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.options import argument_spec
from ansible_collections.sigma.media_server.plugins.plugin_utils._action import SigmaAction


class ActionModule(SigmaAction):
    RECORD = True
    JOB_SECRETS = True

    @staticmethod
    def argument_spec():
        return argument_spec(single=False)

    @staticmethod
    def run_engine(params, client, outcome, check_mode, environ):
        return engine.run(params, client, outcome, single=False, check_mode=check_mode, environ=environ)
