"""C6 dial ratio, extra lines and interval; trunk and calls-per-second caps (callctl/logic/pacing.py)."""

from __future__ import annotations

import pytest

from callcenter.pbx.callctl.logic.pacing import PacingInput, group_lines_free, lines_to_open, ratio_lines

PLENTY = 1000


def decide(**kw):
    kw.setdefault("group_lines_free", PLENTY)
    return lines_to_open(PacingInput(**kw))


def test_manual_example_three_idle_agents_at_200_percent_open_six_lines():
    d = decide(ratio_percent=200, idle_agent_seconds=(10, 10, 10))
    assert d.open == 6 and d.ratio_lines == 6 and d.target == 6 and d.limited_by == ""


def test_lines_in_progress_are_subtracted():
    assert decide(ratio_percent=200, idle_agent_seconds=(10, 10, 10), in_progress=4).open == 2
    assert decide(ratio_percent=200, idle_agent_seconds=(10, 10, 10), in_progress=9).open == 0


def test_no_new_ratio_lines_once_agents_are_busy_but_extra_lines_always():
    # all three agents talking: nothing for the ratio, the 2 extra lines still go out
    d = decide(ratio_percent=200, extra_lines=2, idle_agent_seconds=(), busy_agents=3)
    assert d.ratio_lines == 0 and d.extra_lines == 2 and d.open == 2
    # one agent of three idle again: the ratio counts only that one
    d = decide(ratio_percent=200, extra_lines=2, idle_agent_seconds=(5,), busy_agents=2)
    assert d.ratio_lines == 2 and d.open == 4
    # extra lines are kept up: with 2 of them in progress and everyone busy, nothing new
    assert decide(ratio_percent=200, extra_lines=2, busy_agents=3, in_progress=2).open == 0


def test_interval_after_hangup_holds_the_agent_s_lines_back():
    d = decide(ratio_percent=100, interval_seconds=10, idle_agent_seconds=(3, 12, 30))
    assert d.ratio_lines == 2
    assert decide(ratio_percent=100, interval_seconds=10, idle_agent_seconds=(3,), extra_lines=1).open == 1


@pytest.mark.parametrize(("ready", "ratio", "lines"), [
    (0, 200, 0), (1, 50, 1), (3, 150, 4), (2, 100, 2), (4, 125, 5), (1, 100, 1), (3, 0, 0),
])
def test_ratio_lines_floor_but_at_least_one(ready, ratio, lines):
    assert ratio_lines(ready, ratio) == lines


def test_capped_by_free_reserved_group_call_lines():
    free = group_lines_free([4, 2, 0], group_calls_in_use=3)
    assert free == 3
    d = decide(ratio_percent=300, idle_agent_seconds=(1, 1), group_lines_free=free)
    assert d.wanted == 6 and d.open == 3 and d.limited_by == "trunk_lines"
    assert group_lines_free([2], group_calls_in_use=5) == 0
    assert decide(ratio_percent=100, extra_lines=5, group_lines_free=0).open == 0


def test_capped_by_calls_per_second():
    d = decide(ratio_percent=500, idle_agent_seconds=(1, 1), cps_limit=5, originated_last_second=2)
    assert d.wanted == 10 and d.open == 3 and d.limited_by == "cps"
    assert decide(ratio_percent=500, idle_agent_seconds=(1,), cps_limit=5, originated_last_second=9).open == 0
    assert decide(ratio_percent=500, idle_agent_seconds=(1,), cps_limit=None).open == 5


def test_the_tighter_cap_wins():
    d = decide(ratio_percent=1000, idle_agent_seconds=(1, 1), group_lines_free=4, cps_limit=2)
    assert d.open == 2 and d.limited_by == "cps"
    d = decide(ratio_percent=1000, idle_agent_seconds=(1, 1), group_lines_free=1, cps_limit=2)
    assert d.open == 1 and d.limited_by == "trunk_lines"
