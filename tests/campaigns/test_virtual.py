"""The dialer in virtual time (campaigns/dialer/virtual.py): pacing invariants of issue 6 over
simulated campaigns (caps, windows, blacklist, retries), the 2 s abandon rule, and the report.

No database: the driver is pure. Small campaigns with fixed callees where a test needs exact
timings, plus hypothesis property tests over random campaigns.
"""

from __future__ import annotations

import bisect
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from callcenter.campaigns.dialer.rules import ABANDONED, ANSWERED, BUSY, RETRYABLE, TRANSFERRED
from callcenter.campaigns.dialer.virtual import BLACKLISTED, Campaign, Trunk, VirtualDialer, run_campaign
from callcenter.pbx.callctl.logic.flow import DIRECT, PLAY_ONLY, PLAY_SECONDS, PLAY_TO_END, FlowConfig
from callcenter.pbx.callctl.logic.groups import ORDER_RULES, RANDOM, ROUND_ROBIN, SEQUENTIAL

DIRECT_FLOW = FlowConfig(transfer_mode=DIRECT)
# Fixed-time callees and agents, so a test can name the second things happen.
FIXED_AGENTS = {"progress_delay": 0.0, "ring_time": 1.0, "answer_probability": 1.0, "talk_time": None}


def numbers(n: int, prefix: str = "139") -> list[str]:
    return [f"{prefix}{i:08d}" for i in range(n)]


def callee(**kw) -> dict:
    profile = {"answer_probability": 1.0, "busy_probability": 0.0, "unreachable_probability": 0.0,
               "reject_probability": 0.0, "progress_delay": 0.0, "ring_time": 5.0, "talk_time": 30.0,
               "patience": 60.0, "dtmf": ""}
    profile.update(kw)
    return profile


def dial(**kw) -> VirtualDialer:
    kw.setdefault("record", True)
    dialer = VirtualDialer(Campaign(**kw))
    dialer.report = dialer.run()
    return dialer


def by_number(dialer: VirtualDialer) -> dict[str, list]:
    out = defaultdict(list)
    for a in sorted(dialer.attempts, key=lambda a: (a.number, a.attempt)):
        out[a.number].append(a)
    return out


# --- purity -------------------------------------------------------------------------------------


def test_importable_without_django_or_a_database():
    code = ("import sys, callcenter.campaigns.dialer.virtual\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'django', 'rest_framework', 'sqlite3', 'psycopg', 'httpx'})))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,  # noqa: S603
                         cwd=Path(__file__).parents[2])
    assert out.stdout.strip() == ""
    source = (Path(__file__).parents[2] / "callcenter/campaigns/dialer/virtual.py").read_text()
    assert " open(" not in source and "objects." not in source and "import django" not in source


# --- the 2 s rule and the abandon message ------------------------------------------------------


def test_a_transfer_waits_up_to_two_seconds_for_an_agent_then_is_abandoned_with_a_message():
    # One agent, ratio 300: three lines at t=0. A answers at 5 and talks 9 s (until 15);
    # C answers at 10: no agent by 12 -> abandoned, 3 s message, line free at 15;
    # B answers at 14: the agent hangs up at 15, within 2 s -> B gets the agent.
    a, b, c = "13900000001", "13900000002", "13900000003"
    world = {"phone_defaults": FIXED_AGENTS,
             "callees": {"default": callee(), "numbers": {a: callee(ring_time=5.0, talk_time=9.0),
                                                          b: callee(ring_time=14.0, talk_time=20.0),
                                                          c: callee(ring_time=10.0)}}}
    d = dial(numbers=[a, b, c], agents=1, ratio_percent=300, flow=DIRECT_FLOW, world=world,
             windows=((0.0, 600.0),))
    attempts = {x.number: x for x in d.attempts}
    assert [o.t for o in d.originations] == [0.0, 0.0, 0.0]
    assert attempts[a].result == TRANSFERRED and attempts[a].ended == pytest.approx(15.0)
    assert attempts[c].result == ABANDONED and attempts[c].ended == pytest.approx(15.0)  # 10 + 2 + 3
    assert attempts[b].result == TRANSFERRED and attempts[b].ended == pytest.approx(15.0 + 1.0 + 20.0)
    r = d.report
    assert (r.answered, r.transfer_requested, r.transferred, r.abandoned) == (3, 3, 2, 1)
    assert r.abandon_rate == pytest.approx(1 / 3)
    assert r.talk_seconds == pytest.approx(9.0 + 20.0)
    assert r.lines_max == 3 and r.finished_at == pytest.approx(36.0)


def test_a_callee_who_hangs_up_while_waiting_for_an_agent_counts_as_abandoned():
    a, b = "13900000001", "13900000002"
    world = {"phone_defaults": FIXED_AGENTS,
             "callees": {"default": callee(), "numbers": {a: callee(ring_time=1.0, talk_time=100.0),
                                                          b: callee(ring_time=3.0, patience=1.0)}}}
    d = dial(numbers=[a, b], agents=1, ratio_percent=200, flow=DIRECT_FLOW, world=world, windows=((0.0, 60.0),))
    attempts = {x.number: x for x in d.attempts}
    assert attempts[b].result == ABANDONED and attempts[b].ended == pytest.approx(4.0)  # patience, not the 2 s
    assert d.report.abandoned == 1 and d.report.transferred == 1


def test_a_play_only_flow_never_transfers_so_nothing_is_abandoned():
    world = {"callees": {"default": callee(talk_time=30.0)}, "sounds": {"prompts/notice": 4.0}}
    flow = FlowConfig(transfer_mode=PLAY_ONLY, prompt="sound:prompts/notice", play_count=2)
    d = dial(numbers=numbers(20), agents=2, ratio_percent=300, flow=flow, world=world, windows=((0.0, 600.0),))
    r = d.report
    assert r.answered == 20 and r.transfer_requested == 0 and r.abandon_rate == 0.0
    assert r.number_results == {ANSWERED: 20}
    assert all(x.ended - x.started == pytest.approx(5.0 + 8.0) for x in d.attempts)  # ring + two plays


def test_play_seconds_transfers_after_n_seconds_and_the_agent_talks_the_callee_s_time():
    world = {"phone_defaults": FIXED_AGENTS, "sounds": {"prompts/long": 30.0},
             "callees": {"default": callee(ring_time=2.0, talk_time=40.0)}}
    flow = FlowConfig(transfer_mode=PLAY_SECONDS, prompt="sound:prompts/long", play_seconds=6)
    d = dial(numbers=numbers(1), agents=1, flow=flow, world=world, windows=((0.0, 600.0),))
    (attempt,) = d.attempts
    assert attempt.result == TRANSFERRED
    assert attempt.ended == pytest.approx(2.0 + 6.0 + 1.0 + 40.0)
    assert d.report.talk_seconds == pytest.approx(40.0)


# --- caps -----------------------------------------------------------------------------------------


def test_lines_never_exceed_the_reserved_group_call_lines_of_each_trunk():
    world = {"callees": {"default": callee(ring_time=[5, 20], talk_time=[30, 90])}}
    trunks = (Trunk("a", lines=10, reserved=2), Trunk("b", lines=3, reserved=8), Trunk("c", lines=5, reserved=0))
    d = dial(numbers=numbers(300), agents=10, ratio_percent=300, extra_lines=3, trunks=trunks, world=world,
             windows=((0.0, 1800.0),))
    r = d.report
    assert r.trunk_lines_max == {"a": 2, "b": 3, "c": 0}
    assert r.lines_max == 5 and r.limited_by.get("trunk_lines", 0) > 0
    assert all(o.trunk_in_use <= {"a": 2, "b": 3}[o.trunk] and o.lines_in_use <= 5 for o in d.originations)


def test_calls_per_second_limit_holds_over_every_one_second_window():
    d = dial(numbers=numbers(400), agents=20, ratio_percent=300, cps_limit=3, tick_seconds=0.25,
             windows=((0.0, 900.0),), world={"callees": {"default": callee(answer_probability=0.3,
                                                                              busy_probability=0.7)}})
    times = [o.t for o in d.originations]
    assert max_in_any_second(times) <= 3 and d.report.cps_max == 3
    assert d.report.limited_by.get("cps", 0) > 0


def max_in_any_second(times: list[float]) -> int:
    """The most originations in a half-open second (t - 1, t], t being an origination."""
    times = sorted(times)
    return max((i + 1 - bisect.bisect_right(times, t - 1.0) for i, t in enumerate(times)), default=0)


def test_no_new_lines_while_every_agent_is_busy_and_the_interval_holds_an_agent_back():
    world = {"phone_defaults": FIXED_AGENTS, "callees": {"default": callee(ring_time=2.0, talk_time=50.0)}}
    d = dial(numbers=numbers(10), agents=1, ratio_percent=100, interval_seconds=20, flow=DIRECT_FLOW, world=world,
             windows=((0.0, 3600.0),))
    starts = [o.t for o in d.originations]
    ends = [a.ended for a in sorted(d.attempts, key=lambda a: a.started)]
    # One call at a time: the next line opens the first tick at least 20 s after the hangup.
    for nxt, prev_end in zip(starts[1:], ends, strict=False):
        assert prev_end + 20.0 <= nxt < prev_end + 21.0
    assert all(o.ready_agents == 1 for o in d.originations)


def test_pause_after_hangup_keeps_the_agent_out_until_they_resume():
    world = {"phone_defaults": FIXED_AGENTS, "callees": {"default": callee(ring_time=2.0, talk_time=10.0)}}
    d = dial(numbers=numbers(5), agents=1, ratio_percent=100, pause_after_hangup=True, resume_after=30.0,
             flow=DIRECT_FLOW, world=world, windows=((0.0, 3600.0),))
    starts = [o.t for o in d.originations]
    ends = [a.ended for a in sorted(d.attempts, key=lambda a: a.started)]
    for nxt, prev_end in zip(starts[1:], ends, strict=False):
        assert prev_end + 30.0 <= nxt < prev_end + 31.0
    assert d.report.occupancy > d.report.talk_seconds / (3600.0)  # paused time counts as occupied


# --- windows, blacklist, retries -------------------------------------------------------------------


def test_nothing_is_dialled_outside_the_windows_and_retries_wait_for_the_next_one():
    windows = ((0.0, 120.0), (1000.0, 1100.0))
    world = {"callees": {"default": callee(answer_probability=0.0, busy_probability=1.0, busy_delay=1.0)}}
    d = dial(numbers=numbers(30), agents=5, ratio_percent=200, retries=1, retry_delay_seconds=200, world=world,
             windows=windows)
    assert d.originations and all(any(s <= o.t < e for s, e in windows) for o in d.originations)
    first = [o for o in d.originations if o.attempt == 1]
    second = [o for o in d.originations if o.attempt == 2]
    # All first tries fail within seconds; their retries fall due in the gap and wait for 1000.
    assert len(first) == len(second) == 30 and max(o.t for o in first) < 20.0
    assert min(o.t for o in second) == 1000.0


def test_blacklisted_numbers_are_never_dialled():
    nums = numbers(50)
    blacklist = frozenset(nums[::7])
    d = dial(numbers=nums, agents=5, ratio_percent=150, blacklist=blacklist, windows=((0.0, 1800.0),))
    assert not {o.number for o in d.originations} & blacklist
    assert d.report.number_results[BLACKLISTED] == len(blacklist)
    assert d.report.numbers_dialled == len(nums) - len(blacklist)


def test_failed_numbers_are_retried_per_the_flow_and_answered_ones_are_not():
    answer, busy = numbers(10, "138"), numbers(10, "137")
    world = {"phone_defaults": FIXED_AGENTS,
             "callees": {"default": callee(talk_time=20.0),
                         "prefixes": {"137": callee(answer_probability=0.0, busy_probability=1.0, busy_delay=2.0)}}}
    d = dial(numbers=answer + busy, agents=4, ratio_percent=100, retries=2, retry_delay_seconds=300,
             flow=DIRECT_FLOW, world=world, windows=((0.0, 7200.0),))
    tries = by_number(d)
    assert all(len(tries[n]) == 1 and tries[n][0].result == TRANSFERRED for n in answer)
    for n in busy:
        assert [a.result for a in tries[n]] == [BUSY, BUSY, BUSY]
        assert all(b.started >= a.ended + 300.0 for a, b in zip(tries[n], tries[n][1:], strict=False))
    assert d.report.attempt_results == {BUSY: 30, TRANSFERRED: 10}


# --- the report -----------------------------------------------------------------------------------


def test_same_seed_same_campaign_and_another_seed_another():
    kw = dict(numbers=numbers(2000), agents=10, ratio_percent=200, retries=1, windows=((0.0, 3600.0),))
    one, two, other = (run_campaign(Campaign(**kw, seed=s)).as_dict() for s in (7, 7, 8))
    for r in (one, two, other):
        r.pop("wall_seconds")
    assert one == two and one != other


def test_report_adds_up():
    d = dial(numbers=numbers(3000), agents=20, ratio_percent=250, retries=2, retry_delay_seconds=120,
             windows=((0.0, 2 * 3600.0),), cps_limit=5)
    r = d.report
    assert r.originated == len(d.originations) == len(d.attempts) == sum(r.attempt_results.values())
    assert r.answered == r.attempt_results.get(TRANSFERRED, 0) + r.attempt_results.get(ABANDONED, 0) + \
        r.attempt_results.get(ANSWERED, 0)
    assert r.transferred == r.attempt_results[TRANSFERRED] and r.abandoned == r.attempt_results[ABANDONED]
    assert r.abandon_rate == pytest.approx(r.abandoned / r.transfer_requested)
    assert 0 < r.talk_minutes_per_agent_hour <= 60 and 0 < r.occupancy <= 1
    assert 0 < r.lines_mean <= r.lines_max
    assert r.numbers_dialled + r.numbers_left == len(d.c.numbers)
    assert d.lines == d.in_progress == d.talking == d.live_calls == 0 and len(d.idle_since) == 20


@pytest.mark.parametrize(("field_name", "kw", "reason"), [
    ("windows", {"windows": ((100.0, 50.0),)}, "ends before it starts"),
    ("windows", {"windows": ((0.0, 100.0), (50.0, 200.0))}, "overlaps"),
    ("numbers", {"numbers": ["1", "2", "1"]}, "duplicates"),
    ("agents", {"agents": 0}, "at least one agent"),
    ("ratio_percent", {"ratio_percent": -5}, "negative"),
    ("order_rule", {"order_rule": "loudest"}, "unknown rule"),
    ("trunks", {"trunks": ()}, "at least one trunk"),
])
def test_bad_campaigns_are_refused_naming_the_field(field_name, kw, reason):
    kw.setdefault("numbers", numbers(3))
    with pytest.raises(ValueError, match=rf"^{field_name}: .*{reason}"):
        Campaign(**kw)


# --- properties over random campaigns -------------------------------------------------------------


@st.composite
def campaigns(draw):
    n = draw(st.integers(5, 120))
    nums = numbers(n)
    gaps = draw(st.lists(st.tuples(st.integers(0, 900), st.integers(30, 900)), min_size=1, max_size=3))
    windows, t = [], 0.0
    for gap, length in gaps:
        windows.append((t + gap, t + gap + length))
        t += gap + length
    trunks = tuple(Trunk(f"t{i}", lines=draw(st.integers(1, 12)), reserved=draw(st.integers(0, 12)))
                   for i in range(draw(st.integers(1, 3))))
    answer = draw(st.floats(0.0, 1.0))
    busy = draw(st.floats(0.0, 1.0 - answer))
    world = {"callees": {"default": {"answer_probability": answer, "busy_probability": busy,
                                     "unreachable_probability": draw(st.floats(0.0, 1.0 - answer - busy)),
                                     "ring_time": [1.0, 15.0], "talk_time": [5.0, draw(st.sampled_from([30, 120]))],
                                     "patience": draw(st.sampled_from([5.0, 60.0]))}},
             "phone_defaults": {"answer_probability": draw(st.sampled_from([1.0, 0.7]))}}
    flow = draw(st.sampled_from([
        FlowConfig(transfer_mode=DIRECT),
        FlowConfig(transfer_mode=PLAY_SECONDS, prompt="sound:prompts/x", play_seconds=4),
        FlowConfig(transfer_mode=PLAY_TO_END, prompt="sound:prompts/x", play_count=2),
        FlowConfig(transfer_mode=PLAY_ONLY, prompt="sound:prompts/x"),
    ]))
    return Campaign(
        numbers=nums, agents=draw(st.integers(1, 8)), flow=flow, ratio_percent=draw(st.integers(0, 400)),
        extra_lines=draw(st.integers(0, 3)), interval_seconds=draw(st.sampled_from([0, 5, 30])),
        retries=draw(st.integers(0, 3)), retry_delay_seconds=draw(st.sampled_from([0, 20, 120, 600])),
        pause_after_hangup=draw(st.booleans()), order_rule=draw(st.sampled_from(ORDER_RULES)),
        trunks=trunks, cps_limit=draw(st.none() | st.integers(1, 5)), windows=tuple(windows),
        blacklist=frozenset(draw(st.lists(st.sampled_from(nums), max_size=n // 3))),
        seed=draw(st.integers(0, 10**6)), world=world, tick_seconds=draw(st.sampled_from([0.5, 1.0, 2.0])),
        record=True)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(campaigns())
def test_pacing_invariants_hold_for_any_campaign(campaign):
    d = VirtualDialer(campaign)
    r = d.run()
    caps = {t.name: t.cap for t in campaign.trunks}
    # lines never exceed the caps: each trunk's reserved (and own) lines, and the cps limit
    assert all(o.trunk_in_use <= caps[o.trunk] for o in d.originations)
    assert all(o.lines_in_use <= sum(caps.values()) for o in d.originations)
    assert all(r.trunk_lines_max[name] <= cap for name, cap in caps.items())
    if campaign.cps_limit is not None:
        assert max_in_any_second([o.t for o in d.originations]) <= campaign.cps_limit
    # a line opens only for a ready agent, or as one of the extra lines
    assert all(o.ready_agents > 0 or campaign.extra_lines > 0 for o in d.originations)
    # no number dialled outside its windows; blacklisted numbers never
    assert all(any(s <= o.t < e for s, e in campaign.windows) for o in d.originations)
    assert not {o.number for o in d.originations} & campaign.blacklist
    # retries match the flow
    tries = by_number(d)
    for number, attempts in tries.items():
        assert [a.attempt for a in attempts] == list(range(1, len(attempts) + 1))
        assert len(attempts) <= 1 + campaign.retries
        for prev, nxt in zip(attempts, attempts[1:], strict=False):
            assert prev.result in RETRYABLE
            assert nxt.started >= prev.ended + campaign.retry_delay_seconds - 1e-9
        last = attempts[-1]
        if last.result in RETRYABLE and len(attempts) < 1 + campaign.retries:
            # its retry never came: it was due when no fresh number was dialled any more
            due = last.ended + campaign.retry_delay_seconds
            assert not any(o.attempt == 1 and o.t >= due for o in d.originations), number
    # everything released, and the counts add up
    assert d.lines == d.in_progress == d.talking == d.live_calls == 0
    assert r.originated == len(d.attempts) == sum(r.attempt_results.values())
    assert r.transferred + r.abandoned <= r.answered and r.abandoned <= r.transfer_requested
    assert r.lines_max <= sum(caps.values())


@pytest.mark.parametrize(("rule", "spread"), [(SEQUENTIAL, False), (ROUND_ROBIN, True), (RANDOM, True)])
def test_the_group_order_rule_picks_the_agent(rule, spread):
    # Calls arrive one by one while every agent is idle: sequential always picks the first,
    # round robin and random share them out.
    world = {"phone_defaults": FIXED_AGENTS, "callees": {"default": callee(ring_time=2.0, talk_time=20.0)}}
    d = dial(numbers=numbers(60), agents=5, ratio_percent=100, extra_lines=0, order_rule=rule, flow=DIRECT_FLOW,
             world=world, windows=((0.0, 3600.0),), trunks=(Trunk("t", 1, 1),))
    r = d.report
    assert r.transferred == 60 and r.abandoned == 0
    if spread:
        assert r.agent_calls_min >= 6
    else:
        assert (r.agent_calls_min, r.agent_calls_max) == (0, 60)
