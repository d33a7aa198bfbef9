# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every role variable follows the collection's naming convention.

The convention is stated in .ansible-lint (which skips ansible-lint's
var-naming[no-role-prefix] for it) and in each role's README; this test is
what enforces it:

- a role's parameters (defaults/main.yml, meta/argument_specs.yml) are
  sigma_<role>_*, and a role's main input may be sigma_<role> itself;
- the connection variables sigma_<option>, one per option of the connection
  doc fragment, are shared by every role;
- what a role registers or sets is <role>_* or __<role>_*, or one of its own
  sigma_<role>_* parameters (state a later run reads back, such as a
  cacheable fact);
- no `noqa: var-naming` anywhere in roles/: one convention, no exceptions.
"""

from __future__ import annotations

import os

import yaml

from ansible_collections.sigma.media_server.plugins.doc_fragments.connection import ModuleDocFragment

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ROLES = os.path.join(ROOT, 'roles')
SET_FACT = ('set_fact', 'ansible.builtin.set_fact', 'ansible.legacy.set_fact')


def connection_variables():
    """sigma_<option> for every connection option the modules take."""
    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    return frozenset('sigma_' + name for name in options)


def parameter_error(role, name, shared):
    """Why `name` is not a valid parameter name of `role`, or None."""
    if name == 'sigma_' + role or name.startswith('sigma_%s_' % role) or name in shared:
        return None
    return ('%s: parameter %r must be sigma_%s or start with sigma_%s_ (or be a connection variable: %s)'
            % (role, name, role, role, ', '.join(sorted(shared))))


def set_variable_error(role, name):
    """Why `name`, registered or set by `role`, is not a valid name, or None."""
    for prefix in ('%s_' % role, '__%s_' % role, 'sigma_%s_' % role):
        if name.startswith(prefix):
            return None
    return '%s: variable %r set by the role must start with %s_, __%s_ or sigma_%s_' % (role, name, role, role, role)


def roles():
    found = sorted(name for name in os.listdir(ROLES) if os.path.isdir(os.path.join(ROLES, name)))
    assert found, 'no roles found'
    return found


def load(path):
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return yaml.safe_load(handle)


def parameters(role):
    """(where, name) of every variable in the role's defaults and argument specs."""
    base = os.path.join(ROLES, role)
    names = [('defaults/main.yml', name) for name in (load(os.path.join(base, 'defaults', 'main.yml')) or {})]
    specs = (load(os.path.join(base, 'meta', 'argument_specs.yml')) or {}).get('argument_specs', {})
    for entry, spec in specs.items():
        names.extend(('argument_specs.yml %s' % entry, name) for name in (spec.get('options') or {}))
    return names


def walk_tasks(node):
    """Every task dict inside a task file (blocks, rescue and always included)."""
    if isinstance(node, list):
        for item in node:
            yield from walk_tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ('block', 'rescue', 'always'):
            yield from walk_tasks(node.get(key))


def set_variables(role):
    """(file, name) of every variable the role's tasks and handlers register or set_fact."""
    names = []
    for folder in ('tasks', 'handlers'):
        path = os.path.join(ROLES, role, folder)
        if not os.path.isdir(path):
            continue
        for filename in sorted(os.listdir(path)):
            if not filename.endswith(('.yml', '.yaml')):
                continue
            where = '%s/%s' % (folder, filename)
            for task in walk_tasks(load(os.path.join(path, filename))):
                if isinstance(task.get('register'), str):
                    names.append((where, task['register']))
                for module in SET_FACT:
                    if isinstance(task.get(module), dict):
                        names.extend((where, name) for name in task[module] if name != 'cacheable')
    return names


def test_role_parameters_follow_the_convention():
    shared = connection_variables()
    errors = []
    for role in roles():
        found = parameters(role)
        assert found, '%s: no variables found' % role
        for where, name in found:
            error = parameter_error(role, name, shared)
            if error:
                errors.append('roles/%s/%s: %s' % (role, where, error))
    assert not errors, '\n'.join(errors)


def test_variables_the_roles_set_follow_the_convention():
    errors = []
    for role in roles():
        for where, name in set_variables(role):
            error = set_variable_error(role, name)
            if error:
                errors.append('roles/%s/%s: %s' % (role, where, error))
    assert not errors, '\n'.join(errors)


def test_every_default_is_documented_in_the_argument_specs():
    for role in roles():
        base = os.path.join(ROLES, role)
        defaults = set(load(os.path.join(base, 'defaults', 'main.yml')) or {})
        documented = set(name for where, name in parameters(role) if where.startswith('argument_specs.yml'))
        assert defaults <= documented, '%s: defaults not in meta/argument_specs.yml: %s' % (
            role, sorted(defaults - documented))


def test_no_per_line_noqa_for_variable_names():
    hits = []
    for folder, _dirs, files in os.walk(ROLES):
        for filename in files:
            path = os.path.join(folder, filename)
            with open(path, encoding='utf-8', errors='replace') as handle:
                for number, line in enumerate(handle, 1):
                    if 'noqa: var-naming' in line:
                        hits.append('%s:%d' % (os.path.relpath(path, ROOT), number))
    assert not hits, 'the naming convention is stated once, in .ansible-lint; remove: %s' % ', '.join(hits)


def test_the_convention_refuses_what_it_should():
    shared = connection_variables()
    assert 'sigma_api_url' in shared and 'sigma_password' in shared
    assert parameter_error('lineup', 'sigma_lineup', shared) is None
    assert parameter_error('lineup', 'sigma_lineup_exclusive', shared) is None
    assert parameter_error('lineup', 'sigma_validate_certs', shared) is None
    for bad in ('sigma_jobs', 'sigma_jobs_exclusive', 'lineup_exclusive', 'sigma_lineupx', 'sigma_report_dir',
                'sigma_hosts', 'exclusive'):
        assert parameter_error('lineup', bad, shared), bad
    assert set_variable_error('lineup', 'lineup_result') is None
    assert set_variable_error('lineup', '__lineup_saved') is None
    assert set_variable_error('lineup', 'sigma_lineup_drained') is None
    for bad in ('jobs_result', 'result', 'sigma_lineup', 'report_fleet', '__jobs_saved'):
        assert set_variable_error('lineup', bad), bad
