"""Enterprise confinement and data scope (own / own and subordinates / all)."""

from __future__ import annotations

from django.db.models import QuerySet

from callcenter.core.choices import DataScope


def subordinate_ids(user) -> set[int]:
    """The user and everyone below them in the supervisor chain (坐席上级)."""
    from callcenter.accounts.models import Agent

    children: dict[int, list[int]] = {}
    for pk, sup in Agent.objects.filter(enterprise_id=user.enterprise_id).values_list("pk", "supervisor_id"):
        if sup is not None:
            children.setdefault(sup, []).append(pk)
    seen = {user.pk}
    stack = [user.pk]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


def visible_agent_ids(user) -> set[int] | None:
    """Agent ids whose rows the user may see; None means all of the enterprise."""
    scope = user.effective_scope
    if scope == DataScope.ALL:
        return None
    if scope == DataScope.SUBORDINATES:
        return subordinate_ids(user)
    return {user.pk}


def scoped(qs: QuerySet, user) -> QuerySet:
    """Rows of `qs` that `user` may see: their enterprise, narrowed by data scope."""
    if not getattr(user, "is_authenticated", False) or user.enterprise_id is None:
        return qs.none()
    model = qs.model
    if model._meta.model_name == "enterprise":
        return qs.filter(pk=user.enterprise_id)
    qs = qs.filter(enterprise_id=user.enterprise_id)
    owner = getattr(model, "scope_owner_field", None)
    if owner:
        ids = visible_agent_ids(user)
        if ids is not None:
            qs = qs.filter(pk__in=ids) if owner == "self" else qs.filter(**{f"{owner}__in": ids})
    return qs
