"""C8, manual 2.2.8 队列设置: app_queue's ring strategies as pure selection.

The strategies keep Asterisk's names (queues.conf ``strategy=``) and meaning:

- ``ringall`` (呼叫所有): every available member rings at once.
- ``linear`` (轮流呼叫): one at a time, always from the first member in configured order.
- ``rrmemory`` (记住最后呼叫轮流呼叫): one at a time, starting after the member the last call
  ended on (the one who answered, else the last one rung), wrapping round.
- ``fewestcalls`` (呼叫最少分机): the member who has taken the fewest calls first.
- ``leastrecent`` (电话数最少分机): the member whose last call is oldest first; members who
  never had one come before everyone.
- ``random`` (随机): a random order from the RNG passed in.

Ties are broken by configured position. As in app_queue, unavailable members (offline,
paused, on a call) are skipped, and members with a higher penalty are used only when no
member with a lower penalty is available.

"Overflow to mobile" (未接通转手机): when enabled, after one full round nobody answered,
the members' bound phones (绑定电话) are tried, one at a time in the round's order; then
the queue goes on with its normal rounds until the overall timeout (拨号超时时间).

"Announce the agent number on connect" (接通前播工号): when a member answers, the caller
hears the prompt before (播工号前语音, if any), the agent number digit by digit, and the
prompt after (播工号后语音, if any), and only then talks to the agent (`announcement`).
"""

from __future__ import annotations

import random as _random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

RINGALL = "ringall"
LINEAR = "linear"
RRMEMORY = "rrmemory"
FEWESTCALLS = "fewestcalls"
LEASTRECENT = "leastrecent"
RANDOM = "random"
STRATEGIES = (RINGALL, LINEAR, RRMEMORY, FEWESTCALLS, LEASTRECENT, RANDOM)


@dataclass(frozen=True)
class QueueMemberState:
    agent_id: int
    extension: str = ""
    position: int = 0
    penalty: int = 0
    available: bool = True  # logged in, not paused, not on a call
    calls_taken: int = 0
    last_call_at: float | None = None  # any consistent clock (epoch seconds); None: never
    phone: str = ""  # bound phone, for overflow to mobile


@dataclass(frozen=True)
class QueueConfig:
    strategy: str = RINGALL
    members: tuple[QueueMemberState, ...] = ()
    ring_seconds: int = 15  # 单个振铃时长
    retry_seconds: int = 5  # 重试等待时长
    max_wait_seconds: int = 120  # 拨号超时时间
    overflow_to_mobile: bool = False
    rr_last_agent_id: int | None = None  # rrmemory's memory

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown queue strategy {self.strategy!r}")


@dataclass(frozen=True)
class RingStep:
    """Targets rung together for `ring_seconds`; `mobile`: ring their bound phones."""

    targets: tuple[QueueMemberState, ...]
    mobile: bool = False


def _tier(members: Sequence[QueueMemberState]) -> list[QueueMemberState]:
    """The available members of the lowest penalty present, in configured order."""
    available = [m for m in members if m.available]
    if not available:
        return []
    lowest = min(m.penalty for m in available)
    return sorted((m for m in available if m.penalty == lowest), key=lambda m: m.position)


def ring_order(strategy: str, members: Sequence[QueueMemberState], *, rr_last_agent_id: int | None = None,
               rng: _random.Random | None = None) -> list[QueueMemberState]:
    """One full round: the members to try, in order (for ringall, all of them at once)."""
    tier = _tier(members)
    if strategy in (RINGALL, LINEAR):
        return tier
    if strategy == RRMEMORY:
        everyone = sorted(members, key=lambda m: m.position)
        ids = [m.agent_id for m in everyone]
        start = ids.index(rr_last_agent_id) + 1 if rr_last_agent_id in ids else 0
        wanted = {m.agent_id for m in tier}
        return [m for m in everyone[start:] + everyone[:start] if m.agent_id in wanted]
    if strategy == FEWESTCALLS:
        return sorted(tier, key=lambda m: (m.calls_taken, m.position))
    if strategy == LEASTRECENT:
        return sorted(tier, key=lambda m: (m.last_call_at is not None, m.last_call_at or 0.0, m.position))
    if strategy == RANDOM:
        if rng is None:
            raise ValueError("the random strategy needs an RNG")
        rng.shuffle(tier)
        return tier
    raise ValueError(f"unknown queue strategy {strategy!r}")


def ring_plan(config: QueueConfig, *, rng: _random.Random | None = None, overflow: bool | None = None
              ) -> list[RingStep]:
    """The steps of one round, then (when enabled) the overflow to the members' phones."""
    order = ring_order(config.strategy, config.members, rr_last_agent_id=config.rr_last_agent_id, rng=rng)
    if not order:
        return []
    steps = [RingStep(tuple(order))] if config.strategy == RINGALL else [RingStep((m,)) for m in order]
    if config.overflow_to_mobile if overflow is None else overflow:
        steps += [RingStep((m,), mobile=True) for m in order if m.phone]
    return steps


def ring_schedule(config: QueueConfig, *, rng: _random.Random | None = None,
                  max_steps: int = 1000) -> Iterator[tuple[int, RingStep]]:
    """(seconds after the caller joined, step) until the overall timeout.

    Each step rings for `ring_seconds`, then waits `retry_seconds` before the next one;
    a step that would start at or after `max_wait_seconds` is not taken. The overflow to
    mobiles comes once, after the first round. The order of later rounds is recomputed
    (random draws again; rrmemory goes on from the last member rung).
    """
    at = 0
    first = True
    last = config.rr_last_agent_id
    taken = 0
    while at < config.max_wait_seconds and taken < max_steps:
        round_config = QueueConfig(config.strategy, config.members, config.ring_seconds, config.retry_seconds,
                                   config.max_wait_seconds, config.overflow_to_mobile, last)
        steps = ring_plan(round_config, rng=rng, overflow=config.overflow_to_mobile and first)
        if not steps:
            return
        for step in steps:
            if at >= config.max_wait_seconds or taken >= max_steps:
                return
            yield at, step
            taken += 1
            at += config.ring_seconds + config.retry_seconds
            if not step.mobile:
                last = step.targets[-1].agent_id
        first = False


def rr_memory_after(*, answered_agent_id: int | None, last_rung_agent_id: int | None) -> int | None:
    """What rrmemory remembers after a call: who answered, else the last member rung."""
    return answered_agent_id if answered_agent_id is not None else last_rung_agent_id


def announcement(agent_number: str, *, enabled: bool, before: str | None = None,
                 after: str | None = None) -> tuple[str, ...]:
    """The media (ARI URIs) the caller hears before being connected to the agent who answered:
    nothing when the queue does not announce; else the prompt before, the agent number as
    ``digits:`` (read digit by digit, 工号 801 is "eight zero one"), the prompt after."""
    if not enabled:
        return ()
    digits = "".join(ch for ch in agent_number if ch.isdigit())
    return tuple(m for m in (before, f"digits:{digits}" if digits else None, after) if m)
