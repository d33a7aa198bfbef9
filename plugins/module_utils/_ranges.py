# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Documented numeric ranges, declared once.

Each option set keeps ONE table of `Range` objects (the job options in
_job_spec.RANGES, the connection options in _module.CONNECTION_RANGES, the
wait options in _jobs.options.WAIT_RANGES, sigma_info's in _info.RANGES).
The checks read the table, and a unit test reads the same table to check
that the documentation states every bound.
"""

from __future__ import annotations


class Range(object):
    """low <= value <= high; `high` None: no upper bound; `above`: low itself is refused.

    `wording` replaces the default text of the error message; `shown` is how
    the documentation writes the bounds (default: str(low), str(high)).
    """

    __slots__ = ('low', 'high', 'above', 'wording', 'shown')

    def __init__(self, low, high=None, above=False, wording=None, shown=None):
        self.low, self.high, self.above, self.wording = low, high, above, wording
        self.shown = shown or tuple(str(b) for b in (low, high) if b is not None)

    def text(self):
        if self.wording:
            return self.wording
        if self.above:
            return 'greater than %s' % self.low
        if self.high is None:
            return '%s or more' % self.low
        return 'between %s and %s' % (self.low, self.high)

    def contains(self, value):
        low_ok = value > self.low if self.above else value >= self.low
        return low_ok and (self.high is None or value <= self.high)

    def error(self, path, value):
        """An error text naming `path` when `value` (not None) is outside the range, else None."""
        if value is None or self.contains(value):
            return None
        return '%s must be %s, got %s' % (path, self.text(), value)


def check(errors, path, value, rng):
    """Append the error of `value` against `rng` (if any) to `errors`."""
    error = rng.error(path, value)
    if error:
        errors.append(error)
