# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GPU placement: the card a starting job goes to, from one normalised `dump`.

`Cards` is the server's cards as one run changes them: built from ONE dump,
it takes the jobs that leave a card in this run (`free`: stopped, or started
again) and then places the starting jobs one after another (`place`), each
seeing the previous. The rule of `gpu: auto` (documented in the doc fragment
sigma.media_server.job, option gpu):

1. Only the cards whose model can encode every encoded video profile
   (`codec@pixelFormat` in dump's `supported`) are candidates.
2. A card at its session limit takes no more jobs. dump's `count` is the
   number of jobs on the card and `percent` the share of the card's job
   sessions they use (100 = full; the seed's A10 runs 3 jobs at 25 %, so it
   takes 12): a card's limit is `count x 100 / percent` jobs (rounded), known
   once the card, or another card of the same model on the server, runs a job.
3. A job being started again first leaves its card; it stays there when the
   card can still take it (rules 1 and 2), so a restart never moves a job
   for nothing. The card of a running job is the `@N` this collection adds to
   its `_id` (see model.py); a job whose card is not known is placed as a new one.
4. Otherwise the card whose most-used resource would be the least used with
   the job on it wins: sessions (`percent`), encoder (`enc`) and decoder
   (`dec`) load, memory (`used` of `total`), each as a share of the card,
   with the job's part added (the card's average per job; for an idle card,
   that of the same model, else of the server's other cards). A resource no
   card has a per-job figure for is left out. Ties go to the card with the
   fewest jobs per GB of memory (so idle cards fill in proportion to their
   size), then to the lower index.
"""

from __future__ import annotations

import re

_NUMBER_RE = re.compile(r'^\s*(-?\d+(?:\.\d+)?)\s*(?:%|mb|MB|MiB)?\s*$')
# (dimension, dump field of the normalised card) ranked by rule 4; memory is `used` of `total`.
_LOADS = (('sessions', 'percent'), ('encoder', 'encoder_load'), ('decoder', 'decoder_load'))


class PlacementError(Exception):
    pass


def number(value):
    """A dump figure as a float (25, 25.0, '25', '25%', '705MB'), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    match = _NUMBER_RE.match(value) if isinstance(value, str) else None
    return float(match.group(1)) if match else None


def describe(card):
    return 'card %s (%s)' % (card.get('index'), card.get('model'))


class _Card(object):
    """One card: what dump says, and the jobs this run moved off (negative) or onto it."""

    def __init__(self, raw):
        self.raw = raw
        self.index = raw.get('index')
        self.model = raw.get('model')
        self.encoders = set(raw.get('encoders') or [])
        self.count = max(0, int(number(raw.get('jobs')) or 0))
        self.values = {}
        for dim, key in _LOADS:
            self.values[dim] = number(raw.get(key))
        self.memory_total = number(raw.get('memory_total_mb'))
        self.memory_used = number(raw.get('memory_used_mb'))
        if self.memory_total and self.memory_used is not None:
            self.values['memory'] = self.memory_used * 100.0 / self.memory_total
        self.delta = 0  # jobs this run put on the card minus those it took off
        self.cost = {}  # dimension -> percentage points one job adds (set by Cards)
        self.limit = None  # jobs the card takes at most (rule 2), None when not known

    def own_limit(self):
        percent = self.values.get('sessions')
        if not self.count or percent is None or percent <= 0:
            return None
        return max(self.count, int(round(self.count * 100.0 / percent))) if percent < 100 else self.count

    @property
    def jobs(self):
        return max(0, self.count + self.delta)

    def projected(self, dim, extra=1):
        """The share of `dim` in use with `extra` more jobs, or None when not known."""
        value, cost = self.values.get(dim), self.cost.get(dim)
        if value is None or cost is None:
            return None
        return max(0.0, value + (self.delta + extra) * cost)

    def full(self):
        """At its session limit: no room for one more job."""
        if self.limit is not None:
            return self.jobs + 1 > self.limit
        percent = self.values.get('sessions')
        return percent is not None and percent >= 100 and self.delta >= 0

    def state(self):
        """'N jobs, sessions P %' for messages."""
        percent = self.projected('sessions', 0)
        return '%d job(s)%s' % (self.jobs, ', sessions %.0f %%' % percent if percent is not None else '')


class Cards(object):
    """The cards of one server (from one normalised dump) as one run frees and places jobs on them."""

    def __init__(self, facts):
        self.cards = [_Card(c) for c in facts.get('gpus') or []]
        self.by_index = dict((c.index, c) for c in self.cards)
        dims = [d for d, _k in _LOADS] + ['memory']
        for dim in dims:
            for card in self.cards:
                card.cost[dim] = self._cost(card, dim)
        # rule 4: a resource no card has a per-job figure for is left out
        self.ranked = [d for d in dims if any(c.cost.get(d) is not None and c.values.get(d) is not None
                                              for c in self.cards)]
        for card in self.cards:
            card.limit = card.own_limit()
            if card.limit is None and not card.count:
                peers = [p.own_limit() for p in self.cards if p.model == card.model and p.own_limit() is not None]
                card.limit = min(peers) if peers else None

    @staticmethod
    def _used(card, dim):
        """What `card` uses of `dim`: MB for memory, else percent; None when not reported."""
        if dim == 'memory':
            return card.memory_used if card.memory_total else None
        return card.values.get(dim)

    def _cost(self, card, dim):
        """The percentage points of `dim` one job adds to `card`: its own average, else its model's, else the server's."""
        if dim == 'memory' and not card.memory_total:
            return None
        for peers in ([card], [p for p in self.cards if p.model == card.model], self.cards):
            peers = [p for p in peers if p.count and self._used(p, dim) is not None]
            if peers:
                cost = sum(self._used(p, dim) for p in peers) / sum(p.count for p in peers)
                return cost * 100.0 / card.memory_total if dim == 'memory' else cost
        return None

    def free(self, index):
        """A job leaves card `index` in this run (stopped, or started again)."""
        card = self.by_index.get(index)
        if card is not None:
            card.delta -= 1

    def missing(self, job, card):
        needs = job.needs()
        return [(cap, pid) for cap, pid in sorted(needs.items()) if cap not in card.encoders]

    def _rank(self, card, per_gb):
        shares = [card.projected(dim) for dim in self.ranked]
        bottleneck = max([s for s in shares if s is not None] or [0.0])
        spread = (card.jobs + 1) / (card.memory_total / 1024.0) if per_gb else card.jobs + 1
        return (bottleneck, spread, card.index if isinstance(card.index, int) else 0)

    def place(self, job, current=None):
        """The card index `job` starts on; `current` is the card it runs on now (already freed), if known.

        Raises PlacementError naming the profiles and the cards when nothing fits.
        """
        if job.gpu == 'auto':
            chosen = self._auto(job, current)
        else:
            chosen = self.by_index.get(job.gpu)
            if chosen is None:
                raise PlacementError('job %s: gpu %s is not on the server (cards: %s)'
                                     % (job.name, job.gpu, ', '.join(describe(c.raw) for c in self.cards) or 'none'))
            lack = self.missing(job, chosen)
            if lack:
                raise PlacementError('job %s: %s cannot encode %s' % (job.name, describe(chosen.raw), ', '.join(
                    '%s (profile %s)' % m for m in lack)))
        chosen.delta += 1
        return chosen.index

    def _auto(self, job, current):
        if not self.cards:
            raise PlacementError('job %s: gpu is auto but the server has no GPU' % job.name)
        capable = [c for c in self.cards if not self.missing(job, c)]
        if not capable:
            raise PlacementError('job %s: no GPU can encode every video profile: %s' % (job.name, '; '.join(
                '%s lacks %s' % (describe(c.raw), ', '.join('%s (profile %s)' % m for m in self.missing(job, c)))
                for c in self.cards)))
        fits = [c for c in capable if not c.full()]
        if not fits:
            raise PlacementError('job %s: every GPU that can encode its profiles is at its session limit: %s' % (
                job.name, '; '.join('%s: %s' % (describe(c.raw), c.state()) for c in capable)))
        stay = self.by_index.get(current)
        if stay is not None and stay in fits:
            return stay
        per_gb = all(c.memory_total for c in fits)
        return min(fits, key=lambda c: self._rank(c, per_gb))


__all__ = ['Cards', 'PlacementError', 'describe', 'number']
