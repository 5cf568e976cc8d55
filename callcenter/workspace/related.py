"""Follow-ups as related data: an agent who wrote follow-ups cannot be deleted, and merging
customers moves their follow-ups to the survivor."""

from __future__ import annotations

LABEL = "跟踪记录"


def _agent_followups(agent) -> int:
    from callcenter.workspace.models import FollowUp

    return FollowUp.objects.filter(agent=agent).count()


def move_followups(source, target) -> int:
    from callcenter.workspace.models import FollowUp

    return FollowUp.objects.filter(customer=source).update(customer=target)


def register() -> None:
    from callcenter.accounts import related as agent_related

    if (LABEL, _agent_followups) not in agent_related._counters:
        agent_related.register(LABEL, _agent_followups)
    try:
        from callcenter.crm.related import register_merge
    except ImportError:  # crm without merge hooks
        return
    register_merge(LABEL, move_followups)
