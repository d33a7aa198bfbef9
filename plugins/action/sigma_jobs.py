# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of sigma_jobs: the engine on the controller for a local connection, the record as a fact."""

from __future__ import annotations

from ansible_collections.sigma.media_server.plugins.plugin_utils._action import JobAction


class ActionModule(JobAction):
    SINGLE = False
