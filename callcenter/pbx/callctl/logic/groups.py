"""C4, manual 2.2.4 坐席组管理: the order in which a group's members are offered a call.

- sequential (顺序): every call starts from the first member; a busy member passes it on
  to the next ("当第一个坐席忙时，才转接到第二个坐席").
- round_robin (轮询): start from the member after the one who took the last call, wrapping
  round; if that member has left the group, start from the first.
- random (随机): a uniformly random order of the idle members, from the RNG passed in
  (seeded in tests and benchmarks).

Only idle members are candidates; call control offers the call to them in the returned
order and, for round robin, remembers who answered (`AgentGroup.last_agent`).
"""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

SEQUENTIAL = "sequential"
ROUND_ROBIN = "round_robin"
RANDOM = "random"
ORDER_RULES = (SEQUENTIAL, ROUND_ROBIN, RANDOM)


@dataclass(frozen=True)
class GroupMember:
    agent_id: int
    extension: str = ""  # the agent number (坐席号)
    position: int = 0


@dataclass(frozen=True)
class GroupConfig:
    id: int
    order_rule: str
    members: tuple[GroupMember, ...]  # in their configured order (up/down)
    last_agent_id: int | None = None  # round-robin memory
    enabled: bool = True


def _ordered(members: Iterable[GroupMember]) -> list[GroupMember]:
    return sorted(members, key=lambda m: m.position)


def order_candidates(rule: str, members: Sequence[GroupMember], *, idle: Collection[int] | Callable[[int], bool],
                     last_agent_id: int | None = None, rng: _random.Random | None = None) -> list[GroupMember]:
    """The idle members in the order they are to be offered the call.

    `idle` is a set of idle agent ids or a predicate. `rng` is required for the random rule.
    """
    is_idle = idle if callable(idle) else idle.__contains__
    members = _ordered(members)
    if rule == SEQUENTIAL:
        ring = members
    elif rule == ROUND_ROBIN:
        ids = [m.agent_id for m in members]
        start = ids.index(last_agent_id) + 1 if last_agent_id in ids else 0
        ring = members[start:] + members[:start]
    elif rule == RANDOM:
        if rng is None:
            raise ValueError("the random order needs an RNG")
        ring = [m for m in members if is_idle(m.agent_id)]
        rng.shuffle(ring)
        return ring
    else:
        raise ValueError(f"unknown order rule {rule!r}")
    return [m for m in ring if is_idle(m.agent_id)]


def candidates_for(group: GroupConfig, *, idle: Collection[int] | Callable[[int], bool],
                   rng: _random.Random | None = None) -> list[GroupMember]:
    if not group.enabled:
        return []
    return order_candidates(group.order_rule, group.members, idle=idle, last_agent_id=group.last_agent_id, rng=rng)
