# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GPU placement: the card a starting job goes to, from one normalised `dump`."""

from __future__ import annotations


class PlacementError(Exception):
    pass


def place(job, facts, planned):
    """The card index a starting job goes to: `auto` picks the least-loaded capable card.

    `planned` counts the jobs this run already put on each card. Raises
    PlacementError naming the profile and the card when nothing fits.
    """
    needs = job.needs()
    cards = facts['gpus']

    def missing(card):
        have = set(card.get('encoders') or [])
        return [(cap, pid) for cap, pid in sorted(needs.items()) if cap not in have]

    def describe(card):
        return 'card %s (%s)' % (card.get('index'), card.get('model'))

    if job.gpu == 'auto':
        if not cards:
            raise PlacementError('job %s: gpu is auto but the server has no GPU' % job.name)
        fits = [c for c in cards if not missing(c)]
        if not fits:
            raise PlacementError('job %s: no GPU can encode every video profile: %s' % (job.name, '; '.join(
                '%s lacks %s' % (describe(c), ', '.join('%s (profile %s)' % m for m in missing(c))) for c in cards)))
        chosen = min(fits, key=lambda c: ((c.get('jobs') or 0) + planned.get(c.get('index'), 0),
                                          c.get('percent') or 0, c.get('encoder_load') or 0, c.get('index')))
    else:
        chosen = next((c for c in cards if c.get('index') == job.gpu), None)
        if chosen is None:
            raise PlacementError('job %s: gpu %s is not on the server (cards: %s)'
                                 % (job.name, job.gpu, ', '.join(describe(c) for c in cards) or 'none'))
        lack = missing(chosen)
        if lack:
            raise PlacementError('job %s: %s cannot encode %s' % (job.name, describe(chosen), ', '.join(
                '%s (profile %s)' % m for m in lack)))
    planned[chosen.get('index')] = planned.get(chosen.get('index'), 0) + 1
    return chosen.get('index')
