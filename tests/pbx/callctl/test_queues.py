"""C8 queue strategies as pure selection, and overflow to mobiles (callctl/logic/queues.py)."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from callcenter.pbx.callctl.logic.queues import (
    FEWESTCALLS,
    LEASTRECENT,
    LINEAR,
    RANDOM,
    RINGALL,
    RRMEMORY,
    QueueConfig,
    QueueMemberState,
    RingStep,
    ring_order,
    ring_plan,
    ring_schedule,
    rr_memory_after,
)
from tests.pbx.callctl.test_groups import CHI2_CRITICAL_0_001, chi_square

A = QueueMemberState(1, "801", position=0, calls_taken=5, last_call_at=100.0, phone="13800000001")
B = QueueMemberState(2, "802", position=1, calls_taken=2, last_call_at=300.0, phone="13800000002")
C = QueueMemberState(3, "803", position=2, calls_taken=2, last_call_at=None)
D = QueueMemberState(4, "804", position=3, calls_taken=0, last_call_at=200.0, phone="13800000004")
MEMBERS = (C, A, D, B)  # stored order does not matter; position does


def exts(members) -> list[str]:
    return [m.extension for m in members]


def test_ringall_rings_every_available_member_at_once():
    plan = ring_plan(QueueConfig(RINGALL, MEMBERS))
    assert len(plan) == 1 and exts(plan[0].targets) == ["801", "802", "803", "804"]


def test_linear_always_starts_from_the_first_member():
    for last in (None, 1, 2, 3, 4):
        assert exts(ring_order(LINEAR, MEMBERS, rr_last_agent_id=last)) == ["801", "802", "803", "804"]
    plan = ring_plan(QueueConfig(LINEAR, MEMBERS))
    assert [len(s.targets) for s in plan] == [1, 1, 1, 1]


@pytest.mark.parametrize(("last", "expected"), [
    (None, ["801", "802", "803", "804"]),
    (1, ["802", "803", "804", "801"]),
    (3, ["804", "801", "802", "803"]),
    (4, ["801", "802", "803", "804"]),
    (99, ["801", "802", "803", "804"]),
])
def test_rrmemory_starts_after_the_remembered_member(last, expected):
    assert exts(ring_order(RRMEMORY, MEMBERS, rr_last_agent_id=last)) == expected


def test_rrmemory_over_many_calls_cycles_and_remembers():
    last = None
    first = []
    for _ in range(12):
        order = ring_order(RRMEMORY, MEMBERS, rr_last_agent_id=last)
        first.append(order[0].extension)
        last = rr_memory_after(answered_agent_id=order[0].agent_id, last_rung_agent_id=None)
    assert first == ["801", "802", "803", "804"] * 3
    assert rr_memory_after(answered_agent_id=None, last_rung_agent_id=3) == 3


def test_fewestcalls_prefers_who_took_fewest_ties_by_position():
    assert exts(ring_order(FEWESTCALLS, MEMBERS)) == ["804", "802", "803", "801"]


def test_leastrecent_prefers_never_called_then_oldest_last_call():
    assert exts(ring_order(LEASTRECENT, MEMBERS)) == ["803", "801", "804", "802"]


def test_random_is_a_uniform_permutation():
    rng = random.Random(99)
    first = Counter()
    for _ in range(1000):
        order = ring_order(RANDOM, MEMBERS, rng=rng)
        assert sorted(exts(order)) == ["801", "802", "803", "804"]
        first[order[0].extension] += 1
    assert chi_square(first, ["801", "802", "803", "804"], 1000) < CHI2_CRITICAL_0_001[3]
    with pytest.raises(ValueError, match="RNG"):
        ring_order(RANDOM, MEMBERS)


@pytest.mark.parametrize("strategy", [RINGALL, LINEAR, RRMEMORY, FEWESTCALLS, LEASTRECENT])
def test_unavailable_members_are_skipped(strategy):
    members = tuple(m if m.agent_id != 4 else QueueMemberState(4, "804", 3, available=False) for m in MEMBERS)
    assert "804" not in exts(ring_order(strategy, members))


def test_higher_penalty_only_when_no_lower_penalty_member_is_available():
    low = QueueMemberState(1, "801", 0, penalty=0)
    high = QueueMemberState(2, "802", 1, penalty=1)
    assert exts(ring_order(LINEAR, (low, high))) == ["801"]
    busy_low = QueueMemberState(1, "801", 0, penalty=0, available=False)
    assert exts(ring_order(LINEAR, (busy_low, high))) == ["802"]


def test_nobody_available_gives_an_empty_plan():
    assert ring_plan(QueueConfig(RINGALL, (QueueMemberState(1, "801", available=False),))) == []


def test_overflow_to_mobiles_after_a_full_round_one_at_a_time():
    plan = ring_plan(QueueConfig(LINEAR, MEMBERS, overflow_to_mobile=True))
    assert [(exts(s.targets), s.mobile) for s in plan] == [
        (["801"], False), (["802"], False), (["803"], False), (["804"], False),
        (["801"], True), (["802"], True), (["804"], True),  # 803 has no bound phone
    ]
    ringall = ring_plan(QueueConfig(RINGALL, MEMBERS, overflow_to_mobile=True))
    assert ringall[0] == RingStep((A, B, C, D)) and [s.mobile for s in ringall] == [False, True, True, True]
    assert not any(s.mobile for s in ring_plan(QueueConfig(LINEAR, MEMBERS)))


def test_schedule_rings_each_step_then_waits_until_the_overall_timeout():
    config = QueueConfig(LINEAR, (A, B), ring_seconds=15, retry_seconds=5, max_wait_seconds=70,
                         overflow_to_mobile=True)
    got = [(at, exts(step.targets), step.mobile) for at, step in ring_schedule(config)]
    # round 1 (0, 20), mobiles once (40, 60); the next round would start at 80 >= 70
    assert got == [(0, ["801"], False), (20, ["802"], False), (40, ["801"], True), (60, ["802"], True)]
    config = QueueConfig(RRMEMORY, (A, B, C), ring_seconds=10, retry_seconds=0, max_wait_seconds=50)
    assert [exts(s.targets)[0] for _at, s in ring_schedule(config)] == ["801", "802", "803", "801", "802"]


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="strategy"):
        QueueConfig("roundabout")


def test_announcement_plays_the_prompts_around_the_agent_number():
    """C8 接通前播工号: prompt before, the number digit by digit, prompt after; nothing when off."""
    from callcenter.pbx.callctl.logic.queues import announcement

    assert announcement("801", enabled=True, before="sound:/p/before", after="sound:/p/after") == (
        "sound:/p/before", "digits:801", "sound:/p/after")
    assert announcement("0802", enabled=True) == ("digits:0802",)
    assert announcement("801", enabled=True, after="sound:/p/after") == ("digits:801", "sound:/p/after")
    assert announcement("801", enabled=False, before="sound:/p/before", after="sound:/p/after") == ()
