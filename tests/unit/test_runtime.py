# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""meta/runtime.yml must list every module in the `sigma` action group.

A module missing from the group silently ignores module_defaults and talks
to the default server instead of the one the user set.
"""

from __future__ import annotations

import os

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))


def _modules():
    folder = os.path.join(ROOT, 'plugins', 'modules')
    return sorted(name[:-3] for name in os.listdir(folder) if name.endswith('.py') and not name.startswith('_'))


def test_every_module_is_in_the_sigma_action_group():
    with open(os.path.join(ROOT, 'meta', 'runtime.yml')) as handle:
        runtime = yaml.safe_load(handle)
    group = runtime['action_groups']['sigma']
    modules = _modules()
    assert modules, 'no modules found'
    assert sorted(group) == modules


def test_every_module_documents_the_group_membership():
    for name in _modules():
        with open(os.path.join(ROOT, 'plugins', 'modules', name + '.py')) as handle:
            source = handle.read()
        assert 'sigma.media_server.attributes' in source, name
