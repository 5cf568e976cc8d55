"""Pending-changes banner (C11 "有未生效的修改") for base.html.

The page itself costs no query: for users who may apply the configuration, base.html holds
a slot that a few lines of script fill from `pbx:pending_banner` once the page has loaded. `pbx_pending` is
also offered, lazily, to templates that want the count inline.
"""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject


def pending_changes(request):
    user = getattr(request, "user", None)
    if (user is None or not getattr(user, "is_authenticated", False) or user.enterprise_id is None
            or not user.has_perm("pbx.add_configapply")):
        return {"pbx_can_apply": False, "pbx_pending": 0}

    def count() -> int:
        from callcenter.pbx.selectors import pending_changes as pending

        return pending(user.enterprise).count

    return {"pbx_can_apply": True, "pbx_pending": SimpleLazyObject(count)}
