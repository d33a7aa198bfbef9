# -*- coding: utf-8 -*-
# Copyright: Contributors to the sigma.media_server collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""GPU placement (_jobs/placement.py): capability, session limits, remaining capacity, restarts keep their card."""

from __future__ import annotations

import pytest

from ansible_collections.sigma.media_server.plugins.module_utils._dump import normalize_dump
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.model import card_of, parse_record_id
from ansible_collections.sigma.media_server.plugins.module_utils._jobs.placement import Cards, PlacementError, number
from ansible_collections.sigma.media_server.tests.unit.plugins.module_utils.test_jobs_engine import job, run
from ansible_collections.sigma.media_server.tests.unit.utils import FakeSigma


def facts(gpus, counts=None, loads=False):
    return normalize_dump(FakeSigma(gpus=gpus, counts=counts, loads=loads).dump())


def card(index, model='NVIDIA A10', **figures):
    """One card of a raw dump: figures as the contract names them (count, percent, enc, dec, used, total)."""
    return dict(index=index, name=model, **figures)


def dump(*cards):
    models = sorted(set(c['name'] for c in cards))
    encoders = ['h264@yuv420p', 'hevc@yuv420p']
    return normalize_dump({'supported': [{'name': m, 'encoder': encoders} for m in models], 'system': {'gpu': list(cards)}})


def channel(name, **change):
    """A live channel on gpu auto, its own target URLs."""
    return job(name=name, targets__0__url='/d/%s' % name, targets__1__url='/e/%s' % name, **change)


# ------------------------------------------------------------------------------------------ the rule


def test_auto_picks_the_least_loaded_capable_card_and_spreads():
    cards = Cards(facts(('Tesla T4', 'Tesla T4'), counts={0: 3, 1: 1}))
    assert [cards.place(job()) for _n in range(3)] == [1, 1, 0]  # 3 jobs on each after two; lower index wins


def test_auto_skips_cards_that_cannot_encode():
    hdr = job(profiles__0__codec='hevc', profiles__0__pixel_format='yuv420p10le')
    assert Cards(facts(('GTX 1080', 'Tesla T4'))).place(hdr) == 1


def test_auto_refusal_names_the_profile_and_every_card():
    j = job(profiles__0__codec='hevc', profiles__0__pixel_format='yuv444p10le')
    with pytest.raises(PlacementError) as exc:
        Cards(facts(('GTX 1080', 'Tesla T4'))).place(j)
    text = str(exc.value)
    assert 'hevc@yuv444p10le (profile 0x100)' in text
    assert 'card 0 (GTX 1080)' in text and 'card 1 (Tesla T4)' in text


def test_explicit_index_is_checked():
    cards = Cards(facts(('GTX 1080', 'Tesla T4')))
    j = job(gpu=0, profiles__0__codec='hevc', profiles__0__pixel_format='yuv420p10le')
    with pytest.raises(PlacementError, match=r'card 0 \(GTX 1080\) cannot encode hevc@yuv420p10le \(profile 0x100\)'):
        cards.place(j)
    assert cards.place(job(gpu=1)) == 1
    with pytest.raises(PlacementError, match='gpu 5 is not on the server'):
        cards.place(job(gpu=5))
    with pytest.raises(PlacementError, match='no GPU'):
        Cards(facts(())).place(job())


def test_copy_profiles_need_no_encoder():
    assert Cards(facts(('GTX 1080',))).place(job(profiles__0__codec='copy', profiles__0__pixel_format='yuv444p10le')) == 0


@pytest.mark.parametrize('value, expected', [(25, 25.0), (7.5, 7.5), ('25', 25.0), ('25%', 25.0), ('705MB', 705.0),
                                             (None, None), ('n/a', None), (True, None), ([], None)])
def test_dump_figures_are_read_as_numbers(value, expected):
    assert number(value) == expected


def test_session_limit_is_count_times_100_over_percent():
    # the seed: an A10 running 3 jobs at 25 % takes 12; a consumer card at 2 jobs and 67 % takes 3
    cards = Cards(dump(card(0, count=3, percent=25), card(1, 'GTX 1080', count=2, percent=67)))
    assert [c.limit for c in cards.cards] == [12, 3]
    assert cards.place(job()) == 0  # 4 of 12 (33 %) beats 3 of 3 (100 %)
    # an idle card takes the limit of a card of the same model
    assert Cards(dump(card(0, count=0, percent=0), card(1, count=6, percent=50))).cards[0].limit == 12


def test_a_card_at_its_session_limit_takes_no_more():
    cards = Cards(dump(card(0, 'GTX 1080', count=3, percent=100, enc=9), card(1, count=11, percent=92, enc=80)))
    assert cards.place(job()) == 1  # the A10's encoder is far busier, but the consumer card is full
    with pytest.raises(PlacementError) as exc:
        cards.place(job())  # the A10 is now full too (12 of 12)
    text = str(exc.value)
    assert 'every GPU that can encode its profiles is at its session limit' in text
    assert 'card 0 (GTX 1080): 3 job(s), sessions 100 %' in text and 'card 1 (NVIDIA A10): 12 job(s)' in text


def test_a_job_leaving_a_full_card_makes_room_for_itself():
    cards = Cards(dump(card(0, 'GTX 1080', count=3, percent=100), card(1, count=0, percent=0)))
    cards.free(0)
    assert cards.place(job(), current=0) == 0  # restarted: it stays on its card


def test_ranked_by_the_most_used_resource_not_by_job_count():
    # card 0 runs fewer jobs but its encoder is nearly saturated; card 1 has room on every resource
    cards = Cards(dump(card(0, count=2, percent=17, enc=90, used=2000, total=22731),
                       card(1, count=4, percent=33, enc=20, used=3000, total=22731)))
    assert cards.place(job()) == 1
    # memory counts too: card 0 has little memory left
    cards = Cards(dump(card(0, count=2, percent=17, enc=10, used=21000, total=22731),
                       card(1, count=3, percent=25, enc=12, used=3000, total=22731)))
    assert cards.place(job()) == 1


def test_idle_cards_fill_in_proportion_to_their_memory():
    # nothing runs yet, so no per-job figure is known: 7 jobs on a 8 GB and a 22 GB card
    cards = Cards(facts(('GTX 1080', 'NVIDIA A10'), loads=True))
    placed = [cards.place(job()) for _n in range(7)]
    assert placed.count(1) == 5 and placed.count(0) == 2


def test_the_card_of_a_running_job_is_in_its_id():
    j = job()
    body = j.start_body(1)
    assert body['_id'] == j.record_id + '@1' and parse_record_id(body['_id']) == (j.restart_digest, j.live_digest, 1)
    assert card_of({'id': body['_id']}) == 1
    assert j.start_body(None)['_id'] == j.record_id and card_of({'id': j.record_id}) is None  # a CPU job
    assert card_of({'id': 'crm-42@1'}) is None and card_of({'id': None}) is None and card_of(None) is None
    mine = job(extra={'_id': 'crm-42'})
    assert mine.start_body(1)['_id'] == 'crm-42'  # an _id given through extra is the user's, never changed


# ------------------------------------------------------------------------------------------ through the engine


def cards_used(client):
    return dict((name, j['config']['gpu']) for name, j in sorted(client.jobs.items()))


@pytest.mark.parametrize('ignore_id', [False, 'omit'], ids=['echoes _id', 'no _id at all'])
@pytest.mark.parametrize('loads', [False, True])
def test_a_restarted_job_keeps_its_card(tmp_path, loads, ignore_id):
    client = FakeSigma(loads=loads)
    client.ignore_id = ignore_id  # no _id at all: the card comes from the record of what was applied
    run(client, [channel('a')], tmp_path)
    run(client, [channel('b')], tmp_path)
    assert cards_used(client) == {'a': 0, 'b': 1}
    # a bitrate change restarts b: it leaves card 1 before the choice, so it does not move to card 0 (was 2/0)
    result, _m = run(client, [channel('b', profiles__0__bitrate='3000k')], tmp_path)
    assert result['jobs'][0]['action'] == 'restart' and result['jobs'][0]['gpu'] == 1
    assert cards_used(client) == {'a': 0, 'b': 1}


@pytest.mark.parametrize('loads', [False, True])
def test_repeated_changes_do_not_pile_on_card_0(tmp_path, loads):
    client = FakeSigma(loads=loads)
    lineup = dict((n, channel(n)) for n in 'abcd')
    run(client, list(lineup.values()), tmp_path)
    first = cards_used(client)
    assert sorted(first.values()) == [0, 0, 1, 1]
    for rate in ('3000k', '3100k', '3200k'):
        for name in 'abcd':  # one channel changed per run, as a user edits one at a time
            lineup[name] = channel(name, profiles__0__bitrate=rate)
            result, _m = run(client, [lineup[name]], tmp_path, single=True)
            assert result['jobs'][0]['action'] == 'restart'
            assert cards_used(client) == first
        result, _m = run(client, list(lineup.values()), tmp_path, check=True)  # and the whole lineup at once
        assert [j['action'] for j in result['jobs']] == ['none'] * 4
    for name in 'abcd':
        lineup[name] = channel(name, profiles__0__bitrate='4000k')
    result, _m = run(client, list(lineup.values()), tmp_path)
    assert [j['action'] for j in result['jobs']] == ['restart'] * 4 and cards_used(client) == first


def test_a_restarted_job_moves_when_its_card_can_no_longer_take_it(tmp_path):
    client = FakeSigma(gpus=('GTX 1080', 'Tesla T4'))
    run(client, [channel('a', gpu=0)], tmp_path)  # on the GTX 1080, explicitly
    hevc10 = channel('a', profiles__0__codec='hevc', profiles__0__pixel_format='yuv420p10le')  # now auto
    result, _m = run(client, [hevc10], tmp_path)
    assert result['jobs'][0]['gpu'] == 1  # the GTX 1080 cannot encode 10-bit HEVC


def test_a_consumer_card_is_not_filled_while_an_a10_has_room(tmp_path):
    # one channel added per run: the 3-session card is never at 100 % while the A10 sits at 33 % or less
    client = FakeSigma(gpus=('GTX 1080', 'NVIDIA A10'), loads=True)
    for n in range(15):
        run(client, [channel('ch%02d' % n)], tmp_path)
        gtx, a10 = [c['percent'] for c in client.dump()['system']['gpu']]
        assert not (gtx >= 100 and a10 <= 33), (n, gtx, a10)
    per_card = client.card_counts()
    assert per_card == {0: 3, 1: 12}  # both full: 15 jobs, 3 + 12 sessions
    with pytest.raises(Exception) as exc:
        run(client, [channel('ch15')], tmp_path)
    assert 'at its session limit' in str(exc.value.result['msg'])


def test_a_lineup_is_placed_one_job_after_another_each_seeing_the_previous(tmp_path):
    # a server already running: the A10 at 4 jobs (33 %), the consumer card at 1 (33 %)
    client = FakeSigma(gpus=('GTX 1080', 'NVIDIA A10'), loads=True, counts={0: 1, 1: 4})
    result, _m = run(client, [channel('ch%d' % n) for n in range(8)], tmp_path)
    placed = [j['gpu'] for j in result['jobs']]
    assert placed.count(0) == 1 and placed.count(1) == 7  # the consumer card ends at 2 of 3, the A10 at 11 of 12
    assert client.card_counts() == {0: 2, 1: 11}
