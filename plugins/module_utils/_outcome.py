# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the engine talks back to its face (a module or an action plugin), without AnsibleModule.

The job engine and the info gathering take plain parameters and return a
plain result dict. Besides the result, a run has warnings and values that
must be hidden from all output (no_log): it hands both to an `Outcome`.
A run that fails raises `Failure`, which carries the message and the
partial result (`changed` so far, the plans, the jobs...). The module face
turns them into `warn`, `no_log_values` and `exit_json`/`fail_json`; the
action plugin face into the same result keys.
"""

from __future__ import annotations


class Outcome(object):
    """Warnings and no_log values collected during a run."""

    def __init__(self):
        self.warnings = []
        self.no_log_values = set()

    def warn(self, text):
        self.warnings.append(text)

    def hide(self, values):
        """Hide every string in `values` from all output (empty strings are ignored)."""
        self.no_log_values.update(v for v in values if isinstance(v, str) and v)


class Failure(Exception):
    """A run failed: `msg` and `result`, the partial result (its `msg` and `changed` included)."""

    def __init__(self, msg, **result):
        super(Failure, self).__init__(msg)
        self.msg = msg
        result.setdefault('changed', False)
        result['msg'] = msg
        self.result = result

    @classmethod
    def sigma(cls, err, **result):
        """A Failure from a SigmaError: its message names the server and the function."""
        return cls(str(err), sigma_error=err.to_dict(), **result)
