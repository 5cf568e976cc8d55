"""Rows of other apps that belong to a customer.

`register_merge(label, mover)`: when customers are merged, `mover(source, target)` moves the
rows of that kind from the merged-away customer to the survivor and returns how many it
moved. Follow-ups (FollowUp.customer) and orders (Order.customer) register here when their
apps exist. CDRs carry numbers, not a customer key, so nothing moves there: the survivor's
call history is found by its phone number (if Cdr gains a customer FK, register a mover).

Customers also count as an agent's related data: an agent who owns customers cannot be deleted.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.accounts import related as agent_related

_movers: list[tuple[str, Callable]] = []


def register_merge(label: str, mover: Callable) -> None:
    """`mover(source, target) -> int`, called inside the merge's transaction."""
    if (label, mover) not in _movers:
        _movers.append((label, mover))


def unregister_merge(label: str) -> None:
    _movers[:] = [(name, m) for name, m in _movers if name != label]


def move_all(source, target) -> list[tuple[str, int]]:
    moved = []
    for label, mover in _movers:
        n = mover(source, target)
        if n:
            moved.append((label, n))
    return moved


def _owned_customers(agent) -> int:
    from callcenter.crm.models import Customer

    return Customer.objects.filter(owner=agent).count()


if ("客户", _owned_customers) not in agent_related._counters:
    agent_related.register("客户", _owned_customers)
