"""Notices views beyond the generic kit: publish / approve / reject, 已读所有, open a to-do, the popup feed."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_GET, require_POST

from callcenter.core.views import ColumnsView, ObjectDetailView, ObjectListView
from callcenter.notices import services
from callcenter.notices.choices import AnnouncementStatus
from callcenter.notices.forms import RejectForm
from callcenter.notices.models import Announcement


class OpenMixin:
    """Any signed-in enterprise user; the screen's queryset decides which rows."""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.user.enterprise_id is None:
            raise PermissionDenied(_("平台管理员请使用 /admin/ 管理企业"))
        return View.dispatch(self, request, *args, **kwargs)


class OpenListView(OpenMixin, ObjectListView):
    pass


class OpenColumnsView(OpenMixin, ColumnsView):
    pass


class OpenDetailView(OpenMixin, ObjectDetailView):
    def get(self, request, pk):
        from django.shortcuts import render

        obj = self.get_object(pk)
        user = request.user
        ctx = self.base_context(
            object=obj, title=str(obj), reject_form=RejectForm(),
            recipients_departments=list(obj.departments.order_by("name")),
            recipients_agents=list(obj.agents.order_by("number")),
            can_publish=(user.has_perm("notices.add_announcement")
                         and obj.status in (AnnouncementStatus.DRAFT, AnnouncementStatus.REJECTED)),
            can_approve=(user.has_perm("notices.approve_announcement") and obj.status == AnnouncementStatus.PENDING),
        )
        # Reading an announcement reads its to-do.
        services.todos_mark_read(services.own_todos(user).filter(kind="announcement", source_id=obj.pk))
        return render(request, self.screen.detail_template, ctx)


def _announcement(request, pk, perm) -> Announcement:
    if request.user.enterprise_id is None or not request.user.has_perm(perm):
        raise PermissionDenied(_("没有权限"))
    qs = services.visible_announcements(Announcement.objects.all(), request.user)
    return get_object_or_404(qs, pk=pk)


def _after(request, pk, fn):
    try:
        fn()
    except ValidationError as exc:
        for m in exc.messages:
            messages.error(request, m)
    return HttpResponseRedirect(reverse("notices:announcement_detail", args=[pk]))


@login_required
@require_POST
def announcement_publish(request, pk):
    ann = _announcement(request, pk, "notices.add_announcement")

    def run():
        done = services.announcement_publish(announcement=ann, actor=request.user)
        messages.success(request, _("已提交审核") if done.status == AnnouncementStatus.PENDING else _("已发布"))
    return _after(request, pk, run)


@login_required
@require_POST
def announcement_approve(request, pk):
    ann = _announcement(request, pk, "notices.approve_announcement")

    def run():
        services.announcement_approve(announcement=ann, approver=request.user)
        messages.success(request, _("已通过并发布"))
    return _after(request, pk, run)


@login_required
@require_POST
def announcement_reject(request, pk):
    ann = _announcement(request, pk, "notices.approve_announcement")

    def run():
        services.announcement_reject(announcement=ann, approver=request.user, reason=request.POST.get("reason", ""))
        messages.success(request, _("已驳回"))
    return _after(request, pk, run)


@login_required
@require_POST
def todo_read_all(request):
    """【已读所有】: the items of the current query (its filters respected) become read, in one UPDATE."""
    from callcenter.notices.filtersets import TodoFilterSet

    if request.user.enterprise_id is None:
        raise PermissionDenied
    query = request.POST.get("query", "")
    params = QueryDict(query)
    qs = services.own_todos(request.user)
    fs = TodoFilterSet(params or None, queryset=qs, request=request)
    if params and not fs.is_valid():
        messages.error(request, _("查询条件有误"))
    else:
        n = services.todos_mark_read(fs.qs if params else qs)
        messages.success(request, _("已将 %(n)s 条标记为已读") % {"n": n})
    return HttpResponseRedirect(reverse("notices:todo_list") + (f"?{query}" if query else ""))


@login_required
@require_GET
def todo_open(request, pk):
    """【查看】: the item becomes read and the page it points at opens."""
    todo = get_object_or_404(services.own_todos(request.user), pk=pk)
    services.todos_mark_read(services.own_todos(request.user).filter(pk=todo.pk))
    url = todo.url
    if not url or not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        url = reverse("notices:todo_list")
    return HttpResponseRedirect(url)


@require_GET
def todo_popup(request):
    """The signed-in agent's unread to-dos not popped yet; each is returned once."""
    if not request.user.is_authenticated or request.user.enterprise_id is None:
        return JsonResponse({"items": []}, status=401 if not request.user.is_authenticated else 200)
    items = services.todos_to_pop(request.user)
    return JsonResponse({
        "items": [{"id": t.pk, "kind": t.kind, "kind_label": t.get_kind_display(), "title": t.title,
                   "url": reverse("notices:todo_open", args=[t.pk])} for t in items],
        "list_url": reverse("notices:todo_list"),
    })
