"""The registry of "related data" that keeps an agent from being deleted.

Later apps (customers, calls, orders, tickets) register a function that counts the
agent's rows; login logs and API tokens do not count.
"""

from __future__ import annotations

from collections.abc import Callable

_counters: list[tuple[str, Callable]] = []


def register(label: str, counter: Callable) -> None:
    """`counter(agent) -> int`: how many rows of this kind belong to the agent."""
    _counters.append((label, counter))


def related_data(agent) -> list[tuple[str, int]]:
    found = []
    for label, counter in _counters:
        n = counter(agent)
        if n:
            found.append((label, n))
    return found


def _subordinates(agent) -> int:
    return agent.subordinates.count()


register("下级坐席", _subordinates)
