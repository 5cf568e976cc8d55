"""Task pages: 任务发送 (T1, also opened from the customer list with its query), the task page with
its intake report, the dropped-number download, and the actions of 任务查询 (T4): 【暂停发送】
【恢复发送】【手工结束】 on the ticked tasks, 【重新发送】【修改】【时间段】 on one. Views parse the request,
call services.py and show the refusal they get."""

from __future__ import annotations

import contextlib
import os
import tempfile
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from callcenter.accounts.services import ServiceError
from callcenter.campaigns import forms, intake, services
from callcenter.campaigns.choices import DropReason, ResendRule, TaskStatus
from callcenter.campaigns.models import Task, TaskDrop
from callcenter.core.context import client_ip
from callcenter.core.scope import scoped
from callcenter.core.views import ObjectDetailView, add_errors

MAX_TICKED = 100  # tasks one click of 【暂停发送】 etc. acts on


class EnterpriseTimeMixin:
    """Times typed and shown on these pages are the enterprise's local times (Enterprise.time_zone)."""

    def dispatch(self, request, *args, **kwargs):
        enterprise = getattr(request.user, "enterprise", None)
        if enterprise is None:
            return super().dispatch(request, *args, **kwargs)
        try:
            zone = zoneinfo.ZoneInfo(enterprise.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            zone = timezone.get_current_timezone()
        with timezone.override(zone):
            return super().dispatch(request, *args, **kwargs)


class CampaignView(LoginRequiredMixin, EnterpriseTimeMixin, View):
    perms: tuple[str, ...] = ()

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.user.enterprise_id is None:
            raise PermissionDenied(_("平台管理员请使用 /admin/ 管理企业"))
        if not all(request.user.has_perm(p) for p in self.perms):
            raise PermissionDenied(_("没有权限"))
        return super().dispatch(request, *args, **kwargs)

    def task(self, pk) -> Task:
        return get_object_or_404(scoped(Task.objects.select_related("flow", "category"), self.request.user), pk=pk)


def attach_errors(form, exc: ValidationError) -> dict[str, list[str]]:
    """A service's refusal: messages for the form's fields go to those fields; the others (windows,
    status) are returned by key for the page to show where they belong."""
    other: dict[str, list[str]] = {}
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc.messages)
        return other
    for key, errors in exc.message_dict.items():
        if key in form.fields:
            form.add_error(key, errors)
        else:
            other.setdefault(key, []).extend(errors)
    return other


def report_links(task_id: int) -> dict[str, str]:
    """【明细】 and 【进度】 of a task (campaign screens' pages), when they exist."""
    links = {}
    for key, name in (("numbers", "campaigns:task_numbers"), ("progress", "campaigns:task_progress")):
        with contextlib.suppress(NoReverseMatch):
            links[key] = reverse(name, args=[task_id])
    return links


# --- 任务发送 (T1) ----------------------------------------------------------------------------------


class TaskSendView(CampaignView):
    perms = ("campaigns.add_task",)
    template = "campaigns/task_send.html"

    def show(self, request, form, status=200, **extra):
        can_send = request.user.has_perm("campaigns.send_task")
        return render(request, self.template, {
            "form": form, "title": _("任务发送"), "can_send": can_send,
            "windows": extra.pop("windows", None) or form.windows_from_data() or [("", "")],
            **extra}, status=status)

    def get(self, request):
        return self.show(request, forms.TaskSendForm(enterprise=request.user.enterprise))

    def post(self, request):
        form = forms.TaskSendForm(request.POST, request.FILES, enterprise=request.user.enterprise)
        submit = "_submit" in request.POST
        if submit and not request.user.has_perm("campaigns.send_task"):
            raise PermissionDenied(_("没有提交发送任务的权限，请【保存草稿】"))
        if not form.is_valid():
            return self.show(request, form, status=400, **self.customer_context(request, form))
        try:
            source = self.source(request, form)
            created = services.task_create(enterprise=request.user.enterprise, user=request.user,
                                           values=form.values(), source=source, submit=submit,
                                           ip=client_ip(request))
        except ValidationError as exc:
            other = attach_errors(form, exc)
            return self.show(request, form, status=400, other_errors=other, **self.customer_context(request, form))
        task = created.task
        if created.in_worker:
            messages.info(request, _("任务“%(t)s”已创建，号码正在导入") % {"t": task.name})
        else:
            messages.success(request, _("任务“%(t)s”已创建：导入 %(a)s 个号码") % {
                "t": task.name, "a": task.numbers_total})
        return HttpResponseRedirect(reverse("campaigns:task_detail", args=[task.pk]))

    def source(self, request, form) -> intake.Source:
        """The numbers: the file wins over the typed list, which wins over the customers chosen on
        the customer list."""
        upload = form.cleaned_data.get("numbers_file")
        text = form.cleaned_data.get("numbers_text") or ""
        if upload is not None:
            limit = intake.max_file_bytes()
            if upload.size > limit:
                raise ServiceError({"numbers_file": [_("号码文件超过 %(size)s MB 的上限") % {
                    "size": f"{limit / (1024 * 1024):g}"}]})
            source = intake.read_file(upload.read(), upload.name)
            source.ignored_list = bool(text.strip())
            return source
        if text.strip():
            return intake.read_text(text)
        # "?<the list's filters>"; "?" alone is every customer the user may see
        query = form.cleaned_data.get("customer_query") or ""
        if query.startswith("?"):
            if not request.user.has_perm("crm.view_customer"):
                raise PermissionDenied(_("没有权限"))
            phones = services.customer_numbers(request.user, query=query[1:])
            return intake.read_phones(phones, str(_("客户查询结果")), field_name="numbers_file")
        raise ServiceError({"numbers_file": [_("请上传号码文件或填写号码列表")]})

    def customer_context(self, request, form) -> dict:
        query = form.data.get("customer_query", "") if form.is_bound else ""
        return {"customers_query": query} if query.startswith("?") else {}


class TaskFromCustomersView(TaskSendView):
    """【发起任务】 on the customer list: T1 opened with the ticked customers' numbers in 号码列表, or
    (nothing ticked, or "select all") with the list's query carried in a hidden field. The query
    is resolved on the server when the task is created, so a large one never travels as numbers."""

    perms = ("campaigns.add_task", "crm.view_customer")
    PREFILL_MAX = 1000  # the manual: above 1,000 numbers use a file; here, the query travels instead

    def get(self, request):
        return HttpResponseRedirect(reverse("campaigns:task_send"))

    def post(self, request):
        if "_draft" in request.POST or "_submit" in request.POST:
            return super().post(request)
        query = request.POST.get("query", "")
        ticked = [int(p) for p in request.POST.getlist("pk") if p.isdigit()]
        select_all = request.POST.get("select_all") == "1"
        initial = {"name": _("客户回访 %(d)s") % {"d": timezone.localtime().strftime("%Y-%m-%d")}}
        extra: dict = {}
        filters = QueryDict(query)
        category = filters.get("category", "")
        if category.isdigit():
            initial["category"] = int(category)
        if ticked and not select_all:
            phones = services.customer_numbers(request.user, ids=ticked[: self.PREFILL_MAX])
            initial["numbers_text"] = "\n".join(phones)
            extra["customers_chosen"] = len(phones)
        else:
            phones = services.customer_numbers(request.user, query=query)
            if len(phones) <= self.PREFILL_MAX:
                initial["numbers_text"] = "\n".join(phones)
                extra["customers_chosen"] = len(phones)
            else:
                initial["customer_query"] = "?" + query
                extra["customers_query"] = "?" + query
                extra["customers_count"] = len(phones)
                extra["customers_over_cap"] = len(phones) > intake.max_numbers()
                extra["number_cap"] = intake.max_numbers()
        form = forms.TaskSendForm(initial=initial, enterprise=request.user.enterprise)
        return self.show(request, form, from_customers=True, **extra)


# --- the task page: its options, windows and intake report ------------------------------------------------


def drop_summary(task: Task) -> list[tuple[str, str, int]]:
    dropped = (task.intake or {}).get("dropped") or {}
    return [(reason.value, reason.label, dropped.get(reason.value, 0)) for reason in DropReason
            if dropped.get(reason.value)]


class TaskDetailView(EnterpriseTimeMixin, ObjectDetailView):
    """The task with its intake report (accepted, dropped per reason, the dropped list to
    download) and, while the worker takes the numbers in, its progress (polled)."""

    def get(self, request, pk):
        task = self.get_object(pk)
        job = task.job if task.job_id else None
        ctx = self.base_context(
            object=task, title=task.name, job=job, importing=task.status == TaskStatus.IMPORTING,
            drops=drop_summary(task), intake=task.intake or {}, windows=list(task.windows.all()),
            links=report_links(task.pk), state=services.state_label(task),
            actions=task_actions(request.user, task))
        template = "campaigns/_intake.html" if request.htmx else self.screen.detail_template
        return render(request, template, ctx)


def task_actions(user, task: Task) -> list[tuple[str, str]]:
    """(op, label) of the buttons that fit the task's state and the user's permissions."""
    out = []
    control = user.has_perm("campaigns.control_task")
    send = user.has_perm("campaigns.send_task")
    draft = task.status == TaskStatus.PAUSED and not task.submitted
    if draft and send:
        out.append(("submit", _("提交发送")))
    if control and task.status in (TaskStatus.RUNNING, TaskStatus.SCHEDULED):
        out.append(("pause", _("暂停发送")))
    if control and task.status == TaskStatus.PAUSED and task.submitted:
        out.append(("resume", _("恢复发送")))
    if send and task.status == TaskStatus.ENDED:
        out.append(("resend", _("重新发送")))
    if control and task.status in (TaskStatus.RUNNING, TaskStatus.SCHEDULED, TaskStatus.PAUSED):
        out.append(("end", _("手工结束")))
    if user.has_perm("campaigns.change_task") and task.status != TaskStatus.IMPORTING:
        out += [("modify", _("修改")), ("windows", _("时间段"))]
    return out


class TaskDropsView(CampaignView):
    """The dropped lines of the intake as Excel: 行号, 原始内容, 号码, 原因."""

    perms = ("campaigns.view_task",)

    def get(self, request, pk):
        from callcenter.core.exporting import write_xlsx
        from callcenter.core.io_views import XLSX, TempFileResponse

        task = self.task(pk)
        labels = dict(DropReason.choices)
        rows = ([d.line_no, d.raw, d.phone, str(labels.get(d.reason, d.reason))]
                for d in TaskDrop.objects.filter(task=task).order_by("line_no", "id").iterator(chunk_size=5000))
        fd, path = tempfile.mkstemp(suffix=".xlsx", dir=settings.VAR_DIR)
        os.close(fd)
        write_xlsx(path, [_("行号"), _("原始内容"), _("号码"), _("原因")], rows)
        return TempFileResponse(path, as_attachment=True, filename=f"task-{task.pk}-dropped.xlsx", content_type=XLSX)


# --- actions of 任务查询 (T4) ------------------------------------------------------------------------------

# op -> (permissions, service, one task only)
BULK_OPS = {
    "pause": (("campaigns.control_task",), services.task_pause, _("已暂停 %(n)s 个任务")),
    "resume": (("campaigns.control_task",), services.task_resume, _("已恢复发送 %(n)s 个任务")),
    "end": (("campaigns.control_task",), lambda task: services.task_end(task=task), _("已手工结束 %(n)s 个任务")),
    "submit": (("campaigns.send_task",), services.task_submit, _("已提交发送 %(n)s 个任务")),
}
ONE_TASK_OPS = {"resend": ("campaigns.send_task", "campaigns:task_resend"),
                "modify": ("campaigns.change_task", "campaigns:task_modify"),
                "windows": ("campaigns.change_task", "campaigns:task_windows")}


class TaskOpView(CampaignView):
    """A top button of 任务查询 (or of a task page) on the ticked tasks: 【暂停发送】【恢复发送】【手工结束】
    act at once, each task refused with its reason when its state does not fit; 【重新发送】【修改】
    【时间段】 open their page for the one ticked task."""

    perms = ("campaigns.view_task",)

    def back(self, request):
        target = request.POST.get("next", "")
        if target.startswith("/") and not target.startswith("//"):
            return HttpResponseRedirect(target)
        return HttpResponseRedirect(reverse("campaigns:task_list"))

    def post(self, request, op):
        if op not in BULK_OPS and op not in ONE_TASK_OPS:
            raise PermissionDenied(_("未知的操作"))
        perms = BULK_OPS[op][0] if op in BULK_OPS else (ONE_TASK_OPS[op][0],)
        if not all(request.user.has_perm(p) for p in perms):
            raise PermissionDenied(_("没有权限"))
        pks = [int(p) for p in request.POST.getlist("pk") if p.isdigit()]
        tasks = list(scoped(Task.objects.select_related("flow", "flow__agent_group"), request.user)
                     .filter(pk__in=pks).order_by("pk")[: MAX_TICKED + 1])
        if not tasks:
            messages.error(request, _("请先勾选任务"))
            return self.back(request)
        if len(tasks) > MAX_TICKED:
            messages.error(request, _("一次最多操作 %(n)s 个任务") % {"n": MAX_TICKED})
            return self.back(request)
        if op in ONE_TASK_OPS:
            if len(tasks) != 1:
                messages.error(request, _("请只勾选一个任务"))
                return self.back(request)
            return HttpResponseRedirect(reverse(ONE_TASK_OPS[op][1], args=[tasks[0].pk]))
        _perms, service, done_message = BULK_OPS[op]
        done, refused = 0, []
        for task in tasks:
            if op == "resume" and not task.submitted and not request.user.has_perm("campaigns.send_task"):
                refused.append(_("任务“%(t)s”是草稿：恢复发送即提交发送，没有提交发送的权限") % {"t": task.name})
                continue
            try:
                service(task=task)
                done += 1
            except ServiceError as exc:
                refused.extend(exc.messages)
        if done:
            messages.success(request, done_message % {"n": done})
        if refused and not done:
            return render(request, "campaigns/refused.html", {"title": _("操作未执行"), "reasons": refused,
                                                              "back": request.POST.get("next", "")}, status=409)
        for reason in refused:
            messages.error(request, reason)
        return self.back(request)


class TaskModifyView(CampaignView):
    """【修改】: 修改任务名称和发送时间."""

    perms = ("campaigns.change_task",)

    def show(self, request, task, form, status=200):
        return render(request, "campaigns/task_modify.html", {"title": _("修改任务"), "object": task, "form": form},
                      status=status)

    def get(self, request, pk):
        task = self.task(pk)
        start = timezone.localtime(task.start_at).strftime("%Y-%m-%dT%H:%M") if task.start_at else ""
        return self.show(request, task, forms.TaskModifyForm(initial={"name": task.name, "start_at": start}))

    def post(self, request, pk):
        task = self.task(pk)
        form = forms.TaskModifyForm(request.POST)
        if not form.is_valid():
            return self.show(request, task, form, status=400)
        try:
            services.task_modify(task=task, name=form.cleaned_data["name"], start_at=form.cleaned_data["start_at"])
        except ValidationError as exc:
            add_errors(form, exc)
            return self.show(request, task, form, status=409 if "status" in exc.message_dict else 400)
        messages.success(request, _("已修改任务“%(t)s”") % {"t": task.name})
        return HttpResponseRedirect(reverse("campaigns:task_list"))


class TaskWindowsView(CampaignView):
    """【时间段】: the task's sending windows, in the enterprise's local time."""

    perms = ("campaigns.change_task",)

    def show(self, request, task, form, rows, status=200, errors=()):
        return render(request, "campaigns/task_windows.html", {
            "title": _("设置时间段"), "object": task, "form": form, "windows": rows or [("", "")],
            "windows_errors": list(errors)}, status=status)

    def get(self, request, pk):
        task = self.task(pk)
        rows = [(f"{w.start:%H:%M}", f"{w.end:%H:%M}") for w in task.windows.all()]
        return self.show(request, task, forms.TaskWindowsForm(), rows)

    def post(self, request, pk):
        task = self.task(pk)
        form = forms.TaskWindowsForm(request.POST)
        rows = form.windows_from_data()
        try:
            services.task_set_windows(task=task, windows=rows)
        except ValidationError as exc:
            status = 409 if "status" in exc.message_dict else 400
            return self.show(request, task, form, rows, status=status, errors=exc.messages)
        messages.success(request, _("已设置任务“%(t)s”的时间段") % {"t": task.name})
        return HttpResponseRedirect(reverse("campaigns:task_list"))


class TaskResendView(CampaignView):
    """【重新发送】: choose which numbers of the ended task are dialled again."""

    perms = ("campaigns.send_task",)

    def show(self, request, task, form, status=200):
        counts = services.resend_counts(task)
        choices = [(rule.value, rule.label, counts.get(rule.value, 0)) for rule in ResendRule]
        return render(request, "campaigns/task_resend.html", {
            "title": _("重新发送"), "object": task, "form": form, "choices": choices,
            "chosen": form["rules"].value() or [], "state": services.state_label(task)}, status=status)

    def get(self, request, pk):
        task = self.task(pk)
        return self.show(request, task, forms.ResendForm(initial={"rules": [ResendRule.UNANSWERED]}))

    def post(self, request, pk):
        task = self.task(pk)
        form = forms.ResendForm(request.POST)
        form.is_valid()
        try:
            task, n = services.task_resend(task=task, rules=form.cleaned_data.get("rules") or [])
        except ValidationError as exc:
            add_errors(form, exc)
            return self.show(request, task, form, status=409 if "status" in exc.message_dict else 400)
        messages.success(request, _("任务“%(t)s”重新发送：%(n)s 个号码") % {"t": task.name, "n": n})
        return HttpResponseRedirect(reverse("campaigns:task_list"))

