"""C6 发送比例 / 追加外呼数 / 发送间隔: how many lines a group call opens now.

The manual: "with 3 agents in the group and a ratio of 200%, 6 lines are dialled at once,
but once agents are busy (talking) no further lines are added for them"; extra lines
(追加外呼数) are dialled on top of the ratio "and do not shrink when the agents are busy";
after an agent hangs up, the interval (发送间隔) passes before lines are opened for them again.

So, at each tick of the dialer:

    ratio lines = floor(ready idle agents x ratio / 100), at least 1 when an agent is ready
    target      = ratio lines + extra lines
    open now    = target - calls of this flow in progress (dialling, ringing, playing the
                  prompt, being transferred; not those already talking to an agent)

where a "ready" idle agent has been idle for at least the interval. Busy agents add no
ratio lines; extra lines are always part of the target. The result is then capped by:

- the trunks' lines reserved for group calls (群呼外线数) still free, and
- the calls-per-second limit, less what was originated in the last second.

The floor keeps a ratio like 150% with 3 agents at 4 lines rather than 5 (over-dialling
is what makes callees hear silence); the "at least 1" keeps a ratio below 100% from
never dialling for a lone agent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PacingInput:
    ratio_percent: int  # 发送比例
    extra_lines: int = 0  # 追加外呼数
    interval_seconds: float = 0  # 发送间隔
    # How long each idle agent of the group has been idle, in seconds.
    idle_agent_seconds: Sequence[float] = field(default_factory=tuple)
    busy_agents: int = 0  # talking, ringing or in wrap-up (only reported: they add no lines)
    in_progress: int = 0  # this flow's calls not yet bridged to an agent
    group_lines_free: int = 0  # reserved group-call lines of the enabled trunks, minus those in use
    cps_limit: int | None = None  # calls per second, None: no limit
    originated_last_second: int = 0


@dataclass(frozen=True)
class PacingDecision:
    open: int
    ratio_lines: int
    extra_lines: int
    target: int
    wanted: int  # target minus calls in progress, before the caps
    limited_by: str = ""  # "", "trunk_lines" or "cps"


def ready_agents(idle_agent_seconds: Sequence[float], interval_seconds: float) -> int:
    return sum(1 for s in idle_agent_seconds if s >= interval_seconds)


def ratio_lines(ready: int, ratio_percent: int) -> int:
    if ready <= 0 or ratio_percent <= 0:
        return 0
    return max(1, ready * ratio_percent // 100)


def lines_to_open(p: PacingInput) -> PacingDecision:
    ratio = ratio_lines(ready_agents(p.idle_agent_seconds, p.interval_seconds), p.ratio_percent)
    extra = max(p.extra_lines, 0)
    target = ratio + extra
    wanted = max(0, target - max(p.in_progress, 0))
    n, limited_by = wanted, ""
    trunk_cap = max(p.group_lines_free, 0)
    if n > trunk_cap:
        n, limited_by = trunk_cap, "trunk_lines"
    if p.cps_limit is not None:
        cps_cap = max(p.cps_limit - p.originated_last_second, 0)
        if n > cps_cap:
            n, limited_by = cps_cap, "cps"
    return PacingDecision(open=n, ratio_lines=ratio, extra_lines=extra, target=target, wanted=wanted,
                          limited_by=limited_by)


def group_lines_free(reserved_per_trunk: Sequence[int], group_calls_in_use: int) -> int:
    """Free group-call lines: the enabled trunks' reserved lines minus group calls up now."""
    return max(sum(max(r, 0) for r in reserved_per_trunk) - max(group_calls_in_use, 0), 0)
