"""The dialer in virtual time: a campaign paced, dialled and transferred over the simulated world.

DESIGN.md "Call logic is pure": the live dialer and this driver make the same decisions with
the same code (`pacing.lines_to_open`, the `flow.FlowMachine`, `groups.order_candidates`);
only the far end and the clock differ. Here the far end is the simulated Asterisk's world
without its sockets: each originated number draws a callee from `sim.parties.plan_callee`
(answer / busy / unreachable / ring unanswered, ring time, talk time, patience, keys),
prompt lengths come from the world's sounds (`sim.media`), and simulated agents answer
after the world's `phone_defaults` ring time. The clock is an event heap, so an 8-hour,
50-agent campaign runs in seconds. No Django and no database: importable anywhere.

Each tick (`tick_seconds`, 1 s by default), inside the campaign's windows:

    lines = lines_to_open(idle agents' idle seconds, flow interval, calls in progress,
                          free reserved group-call lines, calls-per-second limit)

and that many numbers are claimed (retries that are due first, then fresh numbers;
blacklisted ones are skipped, never dialled) and originated on the trunk with the most free
reserved lines. Answered calls run the flow's state machine; its TransferToGroup offers the
call to the idle agents in the group's order. When no agent is idle, the call looks again
every 0.25 s for up to `agent_wait_seconds` (2 s); after that it is abandoned: the flow's
AgentFailed ends it, the caller hears the short message and the line is released 3 s later.
Failed attempts (no answer, busy, congestion, trunk failure) are retried `retries` times,
`retry_delay_seconds` after they ended, inside the windows. Results, retries and the abandon
rules are the live dialer's own (`dialer/rules.py`).

Definitions of the report (the figures of docs/campaign-sim.md):

- abandoned: an answered call whose flow asked for a transfer and that never reached an
  agent (no agent within the wait, or the callee hung up first); abandon rate = abandoned /
  calls whose flow asked for a transfer;
- talk minutes per agent-hour: minutes agents spent bridged to callees inside the windows,
  over agents x window hours; occupancy: the share of that agent time spent ringing, talking
  or paused after a call;
- lines used: the campaign's trunk lines in use (dialling, ringing, prompt, transfer, talk,
  abandon message), time-weighted mean inside the windows and maximum.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from callcenter.campaigns.dialer import rules
from callcenter.campaigns.dialer.rules import ABANDONED, OUTCOME_RESULT, TRANSFERRED, result_for_cause, should_retry
from callcenter.pbx.callctl.logic import base
from callcenter.pbx.callctl.logic.flow import PLAY_SECONDS, FlowConfig, FlowMachine, FlowState, Outcome
from callcenter.pbx.callctl.logic.groups import ORDER_RULES, ROUND_ROBIN, GroupMember, order_candidates
from callcenter.pbx.callctl.logic.pacing import PacingInput, group_lines_free, lines_to_open
from callcenter.pbx.sim.causes import sip_to_cause
from callcenter.pbx.sim.config import load_config
from callcenter.pbx.sim.media import MediaMixin
from callcenter.pbx.sim.parties import callee_profile, dtmf_plan, plan_callee, sample

BLACKLISTED = "blacklisted"  # campaigns.choices.CallResult.BLACKLISTED (no Django here)

# Agent states.
IDLE, RINGING, TALKING, PAUSED = "idle", "ringing", "talking", "paused"


@dataclass(frozen=True)
class Trunk:
    name: str
    lines: int  # 并发外线数
    reserved: int  # 群呼外线数: the lines group calls may use

    @property
    def cap(self) -> int:
        return max(0, min(self.lines, self.reserved))


BENCH_FLOW = FlowConfig(transfer_mode=PLAY_SECONDS, prompt="sound:prompts/campaign", play_seconds=5)


@dataclass(frozen=True)
class Campaign:
    """A task, its flow's pacing settings, the enterprise's trunks and the simulated world.

    Times are virtual seconds from the start of the run; `windows` are the task's sending
    windows as [start, end) pairs.
    """

    numbers: Sequence[str]
    agents: int = 50
    flow: FlowConfig = BENCH_FLOW
    ratio_percent: int = 100  # 发送比例
    extra_lines: int = 0  # 追加外呼数
    interval_seconds: float = 0.0  # 发送间隔
    retries: int = 0  # 重呼次数
    retry_delay_seconds: float = 600.0
    pause_after_hangup: bool = False  # 挂断后暂停
    resume_after: Any = (5.0, 15.0)  # a paused simulated agent resumes after this (a world duration spec)
    order_rule: str = ROUND_ROBIN
    trunks: tuple[Trunk, ...] = (Trunk("trunk1", 200, 200),)
    cps_limit: int | None = None
    windows: tuple[tuple[float, float], ...] = ((0.0, 8 * 3600.0),)
    blacklist: frozenset[str] = frozenset()
    seed: int = 1
    world: dict | None = None  # overrides of sim.config.DEFAULT_WORLD (callees, phone_defaults, sounds)
    tick_seconds: float = 1.0
    dial_timeout_seconds: float = 30.0  # the originate timeout
    agent_wait_seconds: float = rules.AGENT_WAIT_SECONDS  # a transfer with no agent by then is abandoned
    agent_ring_seconds: float = base.AGENT_RING_SECONDS
    record: bool = False  # keep the log of originations and attempts (tests)

    def __post_init__(self):
        def refuse(name: str, reason: str):
            raise ValueError(f"{name}: {reason}")

        if self.agents < 1:
            refuse("agents", "at least one agent is needed")
        if self.ratio_percent < 0:
            refuse("ratio_percent", "must not be negative")
        if self.extra_lines < 0:
            refuse("extra_lines", "must not be negative")
        if self.retries < 0:
            refuse("retries", "must not be negative")
        if self.retry_delay_seconds < 0 or self.interval_seconds < 0:
            refuse("retry_delay_seconds" if self.retry_delay_seconds < 0 else "interval_seconds",
                   "must not be negative")
        if self.tick_seconds <= 0:
            refuse("tick_seconds", "must be positive")
        if self.cps_limit is not None and self.cps_limit < 0:
            refuse("cps_limit", "must not be negative")
        if self.order_rule not in ORDER_RULES:
            refuse("order_rule", f"unknown rule {self.order_rule!r}")
        if not self.trunks:
            refuse("trunks", "at least one trunk is needed")
        if not self.windows:
            refuse("windows", "at least one window is needed")
        previous_end = -math.inf
        for start, end in self.windows:
            if end <= start:
                refuse("windows", f"[{start:g}, {end:g}) ends before it starts")
            if start < previous_end:
                refuse("windows", f"[{start:g}, {end:g}) overlaps the previous window or comes before it")
            previous_end = end
        if len(set(self.numbers)) != len(self.numbers):
            refuse("numbers", "duplicates (intake de-duplicates them)")

    @property
    def window_seconds(self) -> float:
        return sum(end - start for start, end in self.windows)


@dataclass(frozen=True)
class Origination:
    t: float
    number: str
    attempt: int  # 1 for the first try
    trunk: str
    ready_agents: int  # idle agents past the interval, at the tick that opened the line
    lines_in_use: int  # after this origination, all trunks
    trunk_in_use: int  # after this origination, its trunk


@dataclass(frozen=True)
class Attempt:
    number: str
    attempt: int
    started: float
    ended: float
    result: str


@dataclass
class Report:
    ratio_percent: int
    agents: int
    window_hours: float
    numbers: int
    originated: int = 0
    answered: int = 0
    transfer_requested: int = 0
    transferred: int = 0
    abandoned: int = 0
    abandon_rate: float = 0.0
    talk_seconds: float = 0.0
    talk_minutes_per_agent_hour: float = 0.0
    occupancy: float = 0.0
    lines_mean: float = 0.0
    lines_max: int = 0
    trunk_lines_max: dict[str, int] = field(default_factory=dict)
    cps_max: int = 0
    agent_calls_min: int = 0  # calls bridged to the least and the most used agent
    agent_calls_max: int = 0
    numbers_dialled: int = 0
    numbers_left: int = 0  # never claimed: the windows ended first
    retries_due_left: int = 0  # failed numbers whose next try the windows did not leave room for
    attempt_results: dict[str, int] = field(default_factory=dict)
    number_results: dict[str, int] = field(default_factory=dict)  # last result of each claimed number
    limited_by: dict[str, int] = field(default_factory=dict)  # ticks whose lines a cap cut
    finished_at: float = 0.0  # virtual seconds: when the last call ended
    events: int = 0
    wall_seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


class _Media(MediaMixin):
    """The simulator's media lengths (`sound:` names, patterns, digits) without its loop."""

    def __init__(self, world: dict):
        self.world = world
        self.stored_recordings: dict = {}

    def seconds(self, uri: str) -> float | None:
        """None: the medium never finishes (a tone, an unknown recording)."""
        value = self.media_duration(uri)
        if value == "fail":
            return 0.0  # a missing sound fails at once: PlaybackFinished right away
        if value == "skip" or value is None:
            return None
        return float(value)


class _Call:
    __slots__ = ("seq", "number", "attempt", "trunk", "started", "plan", "machine", "answered", "connected",
                 "closing", "ended", "in_progress", "play_id", "timer_gen", "transfer_t", "candidates", "waiting",
                 "agent", "agent_token", "agent_talk", "agent_prev_idle")

    def __init__(self, seq: int, number: str, attempt: int, trunk: int, started: float):
        self.seq = seq
        self.number = number
        self.attempt = attempt
        self.trunk = trunk
        self.started = started
        self.plan: Any = None
        self.machine: FlowMachine | None = None
        self.answered = False
        self.connected = False
        self.closing = False  # the abandon message is playing
        self.ended = False
        self.in_progress = True  # holds a line and is not bridged to an agent
        self.play_id: int | None = None
        self.timer_gen: dict[str, int] = {}
        self.transfer_t = 0.0
        self.candidates: list[GroupMember] = []
        self.waiting = False
        self.agent: int | None = None
        self.agent_token = 0
        self.agent_talk: float | None = None
        self.agent_prev_idle = 0.0


class VirtualDialer:
    """One run of a campaign. `run()` returns the Report; with `record=True` the
    originations and attempts stay in `originations` / `attempts` for the tests."""

    def __init__(self, campaign: Campaign):
        self.c = campaign
        self.world = load_config(env={}, world=campaign.world or {}).world
        self.media = _Media(self.world)
        # As the live dialer: the short message plays and the line is released after
        # ABANDON_MESSAGE_SECONDS; a message the PBX cannot play means an immediate hang-up.
        self.abandon_seconds = (rules.ABANDON_MESSAGE_SECONDS
                                if self.media.media_duration(rules.ABANDON_MEDIA) != "fail" else 0.0)
        phone_defaults = dict(self.world.get("phone_defaults") or {})
        phones = self.world.get("phones") or {}
        self.members = tuple(GroupMember(agent_id=i, extension=str(1000 + i), position=i)
                             for i in range(1, campaign.agents + 1))
        self.phone_profiles = {m.agent_id: {**phone_defaults, **(phones.get(m.extension) or {})}
                               for m in self.members}
        self.rng = random.Random(f"{campaign.seed}/group")
        self.now = 0.0
        self._heap: list[tuple[float, int, Callable, tuple]] = []
        self._seq = itertools.count()
        self._call_seq = itertools.count(1)
        self.events = 0
        # agents
        self.state = {m.agent_id: IDLE for m in self.members}
        self.idle_since: dict[int, float] = {m.agent_id: 0.0 for m in self.members}  # the idle ones only
        self.last_agent: int | None = None
        self.talking = 0
        # lines
        self.trunk_in_use = [0] * len(campaign.trunks)
        self.trunk_max = [0] * len(campaign.trunks)
        self.lines = 0
        self.lines_max = 0
        self.in_progress = 0
        self.recent: deque[float] = deque()  # origination times within the last second
        self.cps_max = 0
        # numbers
        self.next_index = 0
        self.retry_heap: list[tuple[float, int, str]] = []
        self.attempts_made: dict[str, int] = {}
        self.last_result: dict[str, str] = {}
        self.blacklisted = 0
        self.live_calls = 0
        # counters
        self.originated = self.answered = self.transfer_requested = self.transferred = self.abandoned = 0
        self.attempt_results: Counter[str] = Counter()
        self.agent_calls: Counter[int] = Counter()
        self.limited_by: Counter[str] = Counter()
        self.finished_at = 0.0
        # integrals inside the windows
        self._acc_t = 0.0
        self.line_seconds = 0.0
        self.talk_seconds = 0.0
        self.busy_agent_seconds = 0.0
        self.originations: list[Origination] = []
        self.attempts: list[Attempt] = []

    # --- the clock -------------------------------------------------------------------------
    def _at(self, t: float, fn: Callable, *args: Any) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), fn, args))

    def _in_windows(self, a: float, b: float) -> float:
        total = 0.0
        for start, end in self.c.windows:
            if end <= a:
                continue
            if start >= b:
                break
            total += min(b, end) - max(a, start)
        return total

    def _advance(self, t: float) -> None:
        if t > self._acc_t:
            span = self._in_windows(self._acc_t, t)
            if span > 0:
                self.line_seconds += self.lines * span
                self.talk_seconds += self.talking * span
                self.busy_agent_seconds += (len(self.members) - len(self.idle_since)) * span
            self._acc_t = t
        self.now = t

    def _ticks(self) -> Iterator[float]:
        step = self.c.tick_seconds
        for start, end in self.c.windows:
            k = 0
            while (t := start + k * step) < end:
                yield t
                k += 1

    def run(self) -> Report:
        wall0 = time.perf_counter()
        ticks = self._ticks()
        next_tick = next(ticks, math.inf)
        heap = self._heap
        while True:
            t_event = heap[0][0] if heap else math.inf
            if next_tick < t_event:  # events of the same instant first: the tick sees their effect
                if not self._anything_to_dial() and not self.live_calls:
                    next_tick = math.inf  # every number is done: the task ends
                    continue
                self._advance(next_tick)
                self._tick()
                next_tick = next(ticks, math.inf)
                continue
            if not heap:
                break
            t, _, fn, args = heapq.heappop(heap)
            self._advance(t)
            self.events += 1
            fn(*args)
        return self._report(time.perf_counter() - wall0)

    # --- pacing ------------------------------------------------------------------------------
    def _anything_to_dial(self) -> bool:
        return self.next_index < len(self.c.numbers) or bool(self.retry_heap)

    def _tick(self) -> None:
        c, now = self.c, self.now
        recent = self.recent
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        idle = [now - since for since in self.idle_since.values()]
        decision = lines_to_open(PacingInput(
            ratio_percent=c.ratio_percent, extra_lines=c.extra_lines, interval_seconds=c.interval_seconds,
            idle_agent_seconds=idle, busy_agents=len(self.members) - len(idle), in_progress=self.in_progress,
            group_lines_free=group_lines_free([t.cap for t in c.trunks], self.lines),
            cps_limit=c.cps_limit, originated_last_second=len(recent)))
        if decision.limited_by:
            self.limited_by[decision.limited_by] += 1
        if decision.open <= 0:
            return
        ready = sum(1 for s in idle if s >= c.interval_seconds)
        for _ in range(decision.open):
            number = self._claim()
            if number is None:
                break
            self._originate(number, ready)

    def _claim(self) -> str | None:
        numbers, blacklist = self.c.numbers, self.c.blacklist
        while True:
            if self.retry_heap and self.retry_heap[0][0] <= self.now:
                number = heapq.heappop(self.retry_heap)[2]
            elif self.next_index < len(numbers):
                number = numbers[self.next_index]
                self.next_index += 1
            else:
                return None
            if number in blacklist:  # checked at claim time: never dialled
                self.last_result[number] = BLACKLISTED
                self.blacklisted += 1
                continue
            return number

    # --- the far end ---------------------------------------------------------------------------
    def _originate(self, number: str, ready: int) -> None:
        c, now = self.c, self.now
        caps = [t.cap for t in c.trunks]
        ti = max(range(len(caps)), key=lambda i: caps[i] - self.trunk_in_use[i])
        attempt = self.attempts_made.get(number, 0) + 1
        self.attempts_made[number] = attempt
        call = _Call(next(self._call_seq), number, attempt, ti, now)
        self.trunk_in_use[ti] += 1
        self.trunk_max[ti] = max(self.trunk_max[ti], self.trunk_in_use[ti])
        self.lines += 1
        self.lines_max = max(self.lines_max, self.lines)
        self.in_progress += 1
        self.live_calls += 1
        self.originated += 1
        self.recent.append(now)
        self.cps_max = max(self.cps_max, len(self.recent))
        if c.record:
            self.originations.append(Origination(now, number, attempt, c.trunks[ti].name, ready, self.lines,
                                                 self.trunk_in_use[ti]))
        if self.trunk_in_use[ti] > c.trunks[ti].lines:  # beyond the trunk's lines: 503, as the world does
            self._at(now + 0.05, self._dial_failed, call, sip_to_cause(503))
            return
        # One generator per call, as the world's Pbx.call_rng: the same seed makes the same calls.
        plan = plan_callee(callee_profile(self.world, number), random.Random(f"{c.seed}/callee/{call.seq}"))
        call.plan = plan
        timeout = c.dial_timeout_seconds
        if plan.outcome == "answer" and plan.ring_time < timeout:
            self._at(now + plan.ring_time, self._callee_answered, call)
        elif plan.outcome in ("answer", "noanswer"):
            self._at(now + min(plan.ring_time, timeout), self._dial_failed, call, base.CAUSE_NO_ANSWER)
        else:
            self._at(now + plan.ring_time, self._dial_failed, call, sip_to_cause(plan.sip))

    def _dial_failed(self, call: _Call, cause: int) -> None:
        self._end_call(call, result_for_cause(cause))

    def _callee_answered(self, call: _Call) -> None:
        now, plan = self.now, call.plan
        call.answered = True
        self.answered += 1
        call.machine = FlowMachine(self.c.flow)
        delay = 0.0
        for digit, wait in plan.dtmf:
            delay += wait
            self._at(now + delay, self._dtmf, call, digit)
        if plan.patience is not None and math.isfinite(plan.patience):
            self._at(now + plan.patience, self._callee_gives_up, call)
        self._feed(call, base.Answered())

    def _dtmf(self, call: _Call, digit: str) -> None:
        if not call.ended and not call.closing:
            self._feed(call, base.Dtmf(digit))

    def _callee_gives_up(self, call: _Call) -> None:
        if call.ended or call.connected or call.closing:
            return
        self._feed(call, base.Hangup(base.CAUSE_NORMAL))
        self._end_call(call, OUTCOME_RESULT[call.machine.outcome])

    def _talk_over(self, call: _Call) -> None:
        if call.ended:
            return
        self._feed(call, base.Hangup(base.CAUSE_NORMAL))
        self._end_call(call, TRANSFERRED)

    # --- the flow's commands ---------------------------------------------------------------------
    def _feed(self, call: _Call, event: base.Event) -> None:
        for cmd in call.machine.handle(event):
            self._execute(call, cmd)

    def _execute(self, call: _Call, cmd: base.Command) -> None:
        now = self.now
        if isinstance(cmd, base.Play):
            call.play_id = cmd.play_id
            seconds = self.media.seconds(cmd.media)
            if seconds is not None:
                self._at(now + seconds, self._play_finished, call, cmd.play_id)
        elif isinstance(cmd, base.StopPlayback):
            if call.play_id == cmd.play_id:
                call.play_id = None
        elif isinstance(cmd, base.StartTimer):
            gen = call.timer_gen.get(cmd.name, 0) + 1
            call.timer_gen[cmd.name] = gen
            self._at(now + cmd.seconds, self._timer_fired, call, cmd.name, gen)
        elif isinstance(cmd, base.CancelTimer):
            call.timer_gen[cmd.name] = call.timer_gen.get(cmd.name, 0) + 1
        elif isinstance(cmd, base.TransferToGroup):
            call.transfer_t = now
            self.transfer_requested += 1
            self._at(now + self.c.agent_wait_seconds, self._wait_over, call)
            self._offer(call)
        elif isinstance(cmd, base.CancelTransfer):
            call.waiting = False
            self._release_ringing(call)
        elif isinstance(cmd, base.HangupCall):
            if call.machine.outcome == Outcome.TRANSFER_FAILED and self.abandon_seconds > 0:
                call.closing = True  # the short message, then the line is released
                self._at(now + self.abandon_seconds, self._end_call, call, ABANDONED)
            else:
                self._end_call(call, OUTCOME_RESULT[call.machine.outcome])
        else:
            raise TypeError(f"the flow does not issue {cmd!r}")

    def _play_finished(self, call: _Call, play_id: int) -> None:
        if call.ended or call.play_id != play_id:
            return
        call.play_id = None
        self._feed(call, base.PlaybackFinished(play_id))

    def _timer_fired(self, call: _Call, name: str, gen: int) -> None:
        if call.ended or call.timer_gen.get(name) != gen:
            return
        self._feed(call, base.TimerFired(name))

    # --- agents ---------------------------------------------------------------------------------
    def _offer(self, call: _Call) -> None:
        """Offer the call to the group's idle agents, in the group's order."""
        call.candidates = order_candidates(self.c.order_rule, self.members, idle=self.idle_since,
                                           last_agent_id=self.last_agent, rng=self.rng)
        self._ring_next(call)

    def _ring_next(self, call: _Call) -> None:
        while call.candidates:
            member = call.candidates.pop(0)
            if member.agent_id in self.idle_since:
                self._ring(call, member)
                return
        if self.now < call.transfer_t + self.c.agent_wait_seconds:
            call.waiting = True  # look again shortly, as the live dialer does, until the wait is over
            self._at(self.now + rules.AGENT_RETRY_SECONDS, self._look_again, call)
        else:
            self._no_agent(call)

    def _look_again(self, call: _Call) -> None:
        if call.waiting and not call.ended and not call.closing and call.agent is None:
            call.waiting = False
            self._offer(call)

    def _ring(self, call: _Call, member: GroupMember) -> None:
        agent = member.agent_id
        call.agent_prev_idle = self.idle_since.pop(agent)
        self.state[agent] = RINGING
        call.agent = agent
        call.agent_token += 1
        # The world's _ring_phone, draw for draw.
        profile = self.phone_profiles[agent]
        rng = random.Random(f"{self.c.seed}/phone/{call.seq}/{call.agent_token}")
        progress = sample(profile.get("progress_delay", 0.2), rng)
        talk = profile.get("talk_time")
        call.agent_talk = sample(talk, rng) if talk is not None else None
        dtmf_plan(profile, rng)
        answers = profile.get("mode", "auto") == "auto" and rng.random() < float(
            profile.get("answer_probability", 1.0))
        ring = progress + sample(profile.get("ring_time", 2.0), rng) if answers else math.inf
        if ring < self.c.agent_ring_seconds:
            self._at(self.now + ring, self._agent_answered, call, call.agent_token)
        else:
            self._at(self.now + self.c.agent_ring_seconds, self._agent_no_answer, call, call.agent_token)

    def _agent_answered(self, call: _Call, token: int) -> None:
        if call.ended or call.closing or token != call.agent_token or call.agent is None:
            return
        agent = call.agent
        self.state[agent] = TALKING
        self.talking += 1
        self.last_agent = agent  # round-robin memory
        self.agent_calls[agent] += 1
        call.connected = True
        call.in_progress = False
        self.in_progress -= 1
        self.transferred += 1
        self._feed(call, base.AgentAnswered(agent=str(1000 + agent)))
        talk = call.plan.talk_time
        if call.agent_talk is not None:
            talk = min(talk, call.agent_talk)
        self._at(self.now + talk, self._talk_over, call)

    def _agent_no_answer(self, call: _Call, token: int) -> None:
        if call.ended or token != call.agent_token or call.agent is None:
            return
        self._release_ringing(call)
        self._ring_next(call)

    def _release_ringing(self, call: _Call) -> None:
        """The agent rung for this call was not bridged: back to idle, their idle time kept."""
        agent = call.agent
        if agent is None or call.connected:
            return
        call.agent = None
        call.agent_token += 1
        self._agent_idle(agent, call.agent_prev_idle)

    def _wait_over(self, call: _Call) -> None:
        # An agent being rung keeps the call until they answer or not.
        if not call.ended and not call.closing and not call.connected and call.agent is None:
            self._no_agent(call)

    def _no_agent(self, call: _Call) -> None:
        call.waiting = False
        if call.machine is not None and call.machine.state == FlowState.TRANSFERRING:
            self._feed(call, base.AgentFailed("no agent"))

    def _agent_idle(self, agent: int, since: float) -> None:
        self.state[agent] = IDLE
        self.idle_since[agent] = since

    def _agent_resume(self, agent: int) -> None:
        self._agent_idle(agent, self.now)

    # --- the end of a call -------------------------------------------------------------------------
    def _end_call(self, call: _Call, result: str) -> None:
        if call.ended:
            return
        c, now = self.c, self.now
        call.ended = True
        call.waiting = False
        self.trunk_in_use[call.trunk] -= 1
        self.lines -= 1
        self.live_calls -= 1
        if call.in_progress:
            call.in_progress = False
            self.in_progress -= 1
        if call.agent is not None:
            agent = call.agent
            if call.connected:
                self.talking -= 1
                call.agent = None
                if c.pause_after_hangup:
                    self.state[agent] = PAUSED
                    rng = random.Random(f"{c.seed}/resume/{call.seq}")
                    self._at(now + sample(c.resume_after, rng), self._agent_resume, agent)
                else:
                    self._agent_idle(agent, now)
            else:
                self._release_ringing(call)
        if result == ABANDONED:
            self.abandoned += 1
        self.attempt_results[result] += 1
        self.last_result[call.number] = result
        if c.record:
            self.attempts.append(Attempt(call.number, call.attempt, call.started, now, result))
        if should_retry(result, call.attempt, c.retries):
            heapq.heappush(self.retry_heap, (now + c.retry_delay_seconds, call.seq, call.number))
        self.finished_at = now

    def _report(self, wall: float) -> Report:
        c = self.c
        window = c.window_seconds
        agent_seconds = len(self.members) * window
        requested = self.transfer_requested
        return Report(
            ratio_percent=c.ratio_percent, agents=c.agents, window_hours=round(window / 3600, 4),
            numbers=len(c.numbers), originated=self.originated, answered=self.answered,
            transfer_requested=requested, transferred=self.transferred, abandoned=self.abandoned,
            abandon_rate=self.abandoned / requested if requested else 0.0,
            talk_seconds=self.talk_seconds,
            talk_minutes_per_agent_hour=(self.talk_seconds / 60) / (agent_seconds / 3600) if agent_seconds else 0.0,
            occupancy=self.busy_agent_seconds / agent_seconds if agent_seconds else 0.0,
            lines_mean=self.line_seconds / window if window else 0.0, lines_max=self.lines_max,
            trunk_lines_max={t.name: self.trunk_max[i] for i, t in enumerate(c.trunks)}, cps_max=self.cps_max,
            agent_calls_min=min(self.agent_calls[m.agent_id] for m in self.members),
            agent_calls_max=max(self.agent_calls[m.agent_id] for m in self.members),
            numbers_dialled=len(self.attempts_made), numbers_left=len(c.numbers) - self.next_index,
            retries_due_left=len(self.retry_heap),
            attempt_results=dict(sorted(self.attempt_results.items())),
            number_results=dict(sorted(Counter(self.last_result.values()).items())),
            limited_by=dict(sorted(self.limited_by.items())), finished_at=self.finished_at, events=self.events,
            wall_seconds=wall)


def run_campaign(campaign: Campaign) -> Report:
    return VirtualDialer(campaign).run()
