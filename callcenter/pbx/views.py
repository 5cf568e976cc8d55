"""坐席配置生效 (manual 2.7.2, C11/S2): pending changes, 【应用配置】 and the history of applies."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from callcenter.core.pagination import keyset_page
from callcenter.pbx import selectors, services
from callcenter.pbx.choices import ApplyStatus
from callcenter.pbx.models import ConfigApply

KIND_LABELS = {"agents": gettext_lazy("坐席"), "trunks": gettext_lazy("外线"), "queues": gettext_lazy("队列")}


def describe(changes: dict) -> list[dict]:
    """Changes as rows for the template: kind, and the keys added, removed and changed."""
    rows = []
    for kind in ("agents", "trunks", "queues"):
        part = changes.get(kind) or {}
        added, removed = part.get("added", []), part.get("removed", [])
        changed = [c["key"] if isinstance(c, dict) else c for c in part.get("changed", [])]
        if added or removed or changed:
            rows.append({"kind": kind, "label": KIND_LABELS[kind], "added": added, "removed": removed,
                         "changed": changed})
    return rows


class ApplyView(LoginRequiredMixin, View):
    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.user.enterprise_id is None:
            raise PermissionDenied(_("平台管理员请使用 /admin/ 管理企业"))
        perm = "pbx.add_configapply" if request.method == "POST" else "pbx.view_configapply"
        if not request.user.has_perm(perm):
            raise PermissionDenied(_("没有权限"))
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        enterprise = request.user.enterprise
        pending = selectors.pending_changes(enterprise)
        qs = ConfigApply.objects.filter(enterprise=enterprise).select_related("applied_by")
        page = keyset_page(qs, sort_field="id", descending=True, page_size=20,
                           after=request.GET.get("after"), before=request.GET.get("before"))
        history = [{"row": row, "changes": describe((row.summary or {}).get("changes") or {})} for row in page.rows]
        return render(request, "pbx/apply.html", {
            "title": _("坐席配置生效"), "pending": pending, "pending_rows": describe(pending.to_dict()),
            "history": history, "page": page, "can_apply": request.user.has_perm("pbx.add_configapply"),
            "last": selectors.last_applied(enterprise),
        })

    def post(self, request):
        record = services.config_apply(enterprise=request.user.enterprise, user=request.user)
        if record.status == ApplyStatus.OK:
            messages.success(request, _("配置已生效：%(msg)s") % {"msg": record.message})
        elif record.status == ApplyStatus.FAILED:
            messages.error(request, _("应用配置失败：%(msg)s") % {"msg": record.message})
        else:
            messages.info(request, _("正在应用配置"))
        return redirect("pbx:apply")


def pending_banner(request):
    """The "有未生效的修改" banner that base.html loads after the page (empty when all is applied)."""
    user = request.user
    if not user.is_authenticated or user.enterprise_id is None or not user.has_perm("pbx.add_configapply"):
        raise PermissionDenied(_("没有权限"))
    count = selectors.pending_changes(user.enterprise).count
    return render(request, "pbx/_pending_banner.html", {"pbx_pending": count})
