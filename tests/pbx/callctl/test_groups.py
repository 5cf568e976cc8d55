"""C4 order rules of agent groups, over 1,000 calls with a fixed seed (callctl/logic/groups.py)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from callcenter.pbx.callctl.logic.groups import (
    RANDOM,
    ROUND_ROBIN,
    SEQUENTIAL,
    GroupConfig,
    GroupMember,
    candidates_for,
    order_candidates,
)

# Upper critical values of the chi-square distribution at alpha = 0.001, by degrees of freedom.
CHI2_CRITICAL_0_001 = {1: 10.828, 2: 13.816, 3: 16.266, 4: 18.467, 5: 20.515, 6: 22.458, 7: 24.322, 8: 26.124,
                       9: 27.877, 10: 29.588}

# Positions deliberately not in id order: the configured order (up/down) is what counts.
MEMBERS = (GroupMember(11, "811", 2), GroupMember(12, "812", 0), GroupMember(13, "813", 1),
           GroupMember(14, "814", 4), GroupMember(15, "815", 3))
ORDER = [12, 13, 11, 15, 14]  # by position


def chi_square(observed: Counter, categories: list, total: int) -> float:
    expected = total / len(categories)
    return sum((observed.get(c, 0) - expected) ** 2 / expected for c in categories)


def ids(members) -> list[int]:
    return [m.agent_id for m in members]


def test_sequential_always_takes_the_first_idle_member():
    rng = random.Random(20240601)
    for _ in range(1000):
        idle = {i for i in ORDER if rng.random() < 0.6}
        got = ids(order_candidates(SEQUENTIAL, MEMBERS, idle=idle))
        assert got == [i for i in ORDER if i in idle]
        if idle:
            assert got[0] == next(i for i in ORDER if i in idle)


def test_round_robin_cycles_in_order_when_everyone_is_idle():
    last = None
    taken = []
    for _ in range(1000):
        first = order_candidates(ROUND_ROBIN, MEMBERS, idle=set(ORDER), last_agent_id=last)[0]
        taken.append(first.agent_id)
        last = first.agent_id
    assert taken == (ORDER * 200)


def test_round_robin_starts_after_the_last_one_used_and_skips_busy_members():
    rng = random.Random(7)
    last = None
    for _ in range(1000):
        idle = {i for i in ORDER if rng.random() < 0.7}
        got = ids(order_candidates(ROUND_ROBIN, MEMBERS, idle=idle, last_agent_id=last))
        start = ORDER.index(last) + 1 if last in ORDER else 0
        rotated = ORDER[start:] + ORDER[:start]
        assert got == [i for i in rotated if i in idle]
        if got:
            last = got[0]


def test_round_robin_with_a_departed_last_agent_starts_from_the_first():
    assert ids(order_candidates(ROUND_ROBIN, MEMBERS, idle=set(ORDER), last_agent_id=999)) == ORDER


def test_random_is_uniform_over_the_idle_members_chi_square():
    rng = random.Random(12345)
    calls = 1000
    first = Counter()
    for _ in range(calls):
        got = order_candidates(RANDOM, MEMBERS, idle=set(ORDER), rng=rng)
        assert sorted(ids(got)) == sorted(ORDER)  # a permutation of the idle members
        first[got[0].agent_id] += 1
    stat = chi_square(first, ORDER, calls)
    assert stat < CHI2_CRITICAL_0_001[len(ORDER) - 1], (stat, first)
    # and it really is random, not a rotation: every member is first sometimes
    assert min(first.values()) > 100


def test_random_only_offers_idle_members_and_the_seed_repeats():
    idle = {11, 14}
    a = [ids(order_candidates(RANDOM, MEMBERS, idle=idle, rng=random.Random(3))) for _ in range(1)]
    b = [ids(order_candidates(RANDOM, MEMBERS, idle=idle, rng=random.Random(3))) for _ in range(1)]
    assert a == b and sorted(a[0]) == [11, 14]
    with pytest.raises(ValueError, match="RNG"):
        order_candidates(RANDOM, MEMBERS, idle=idle)


def test_idle_may_be_a_predicate_and_a_disabled_group_offers_nobody():
    group = GroupConfig(1, SEQUENTIAL, MEMBERS)
    assert ids(candidates_for(group, idle=lambda a: a % 2 == 1)) == [13, 11, 15]
    assert candidates_for(GroupConfig(1, SEQUENTIAL, MEMBERS, enabled=False), idle=set(ORDER)) == []
    with pytest.raises(ValueError, match="order rule"):
        order_candidates("alphabetical", MEMBERS, idle=set(ORDER))
