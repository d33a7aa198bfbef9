# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every documented range is declared once (a table of Range) and the documentation states each bound."""

from __future__ import annotations

import re

import pytest
import yaml

from ansible_collections.sigma.media_server.plugins.doc_fragments import connection, job, wait
from ansible_collections.sigma.media_server.plugins.module_utils import _info, _job_spec, _module
from ansible_collections.sigma.media_server.plugins.module_utils._jobs import options
from ansible_collections.sigma.media_server.plugins.module_utils._ranges import Range
from ansible_collections.sigma.media_server.plugins.modules import sigma_info

# (table, the documentation of its options, the argument spec the options belong to)
TABLES = {
    'job': (_job_spec.RANGES, job.ModuleDocFragment.DOCUMENTATION, _job_spec.job_argument_spec()),
    'wait': (options.WAIT_RANGES, wait.ModuleDocFragment.DOCUMENTATION, options.wait_argument_spec()),
    'connection': (_module.CONNECTION_RANGES, connection.ModuleDocFragment.DOCUMENTATION, _module.connection_argument_spec()),
    'sigma_info': (_info.RANGES, sigma_info.DOCUMENTATION, _info.argument_spec()),
}


def entries():
    out = []
    for table_name, (table, _doc, _spec) in TABLES.items():
        for path, rng in table.items():
            for item in rng.values() if isinstance(rng, dict) else [rng]:
                out.append(pytest.param(table_name, path, item, id='%s:%s:%s' % (table_name, path, '-'.join(item.shown))))
    return out


def option(options_doc, path):
    """The documentation (or spec entry) of an option path such as targets[].manifest.ts."""
    node, here = None, options_doc
    for part in path.replace('[]', '').split('.'):
        node = here[part]
        here = node.get('suboptions') or node.get('options') or {}
    return node


def description(doc, path):
    text = option(yaml.safe_load(doc)['options'], path)['description']
    return ' '.join(text) if isinstance(text, list) else text


def states(text, bound):
    """Whether `text` writes the number `bound` (not as a part of a longer number)."""
    return re.search(r'(?<![\w.])%s(?![\w]|\.\d)' % re.escape(bound), text) is not None


@pytest.mark.parametrize('table_name, path, rng', entries())
def test_the_documentation_states_every_bound(table_name, path, rng):
    _table, doc, _spec = TABLES[table_name]
    text = description(doc, path)
    for bound in rng.shown:
        assert states(text, bound), '%s: the documentation of %s does not state %s: %s' % (table_name, path, bound, text)
    if rng.above:
        assert 'greater than' in text, '%s: %s must say the bound itself is refused' % (table_name, path)


@pytest.mark.parametrize('table_name, path, rng', entries())
def test_every_range_belongs_to_a_numeric_option(table_name, path, rng):
    _table, _doc, spec = TABLES[table_name]
    kind = option(spec, path).get('type')
    assert kind in ('int', 'float') or path == 'profiles[].id', (path, kind)


@pytest.mark.parametrize('table_name, path, rng', entries())
def test_the_checks_keep_the_bounds(table_name, path, rng):
    if rng.above:
        assert rng.error('x', rng.low) == 'x must be %s, got %s' % (rng.text(), rng.low)
    else:
        assert rng.error('x', rng.low) is None
        assert rng.error('x', rng.low - 0.001) == 'x must be %s, got %s' % (rng.text(), rng.low - 0.001)
    if rng.high is not None:
        assert rng.error('x', rng.high) is None
        assert rng.error('x', rng.high + 0.001) is not None


def test_range_wording():
    assert Range(2, 10).error('a', 11) == 'a must be between 2 and 10, got 11'
    assert Range(1).error('b', 0) == 'b must be 1 or more, got 0'
    assert Range(0, above=True).error('c', 0) == 'c must be greater than 0, got 0'
    assert Range(0, above=True).error('c', None) is None
    assert Range(0, 1, wording='a fraction').error('d', 2) == 'd must be a fraction, got 2'
