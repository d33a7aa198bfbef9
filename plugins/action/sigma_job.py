# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugin of sigma_job: the record of what was applied travels as the fact sigma_job_record."""

from __future__ import annotations

from ansible_collections.sigma.media_server.plugins.plugin_utils._action import SigmaAction


class ActionModule(SigmaAction):
    RECORD = True
