"""The agent workspace page (X1 坐席工作台): state buttons, a 1-second poll of the current call,
the screen pop, follow-ups, hang-up and wrap-up. Views parse the request and call services."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from callcenter.calls.choices import AgentStatus
from callcenter.crm import services as crm
from callcenter.workspace import forms, selectors, services
from callcenter.workspace.choices import AgentChoice

log = logging.getLogger("callcenter.workspace.pop")


class WorkspaceView(LoginRequiredMixin, View):
    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.user.enterprise_id is None or not request.user.has_perm("workspace.use_workspace"):
            raise PermissionDenied(_("没有权限"))
        return super().dispatch(request, *args, **kwargs)


def _errors(exc: ValidationError) -> str:
    return "；".join(exc.messages)


class IndexView(WorkspaceView):
    def get(self, request):
        from callcenter.campaigns import manual

        live = services.current_state(request.user)
        dial_tasks = list(manual.tasks_for(request.user)[:50]) if manual.may_dial(request.user) else None
        return render(request, "workspace/index.html", {
            "title": _("坐席工作台"), "live": live, "current": selectors.current_call(request.user),
            "choices": AgentChoice, "statuses": AgentStatus, "dial_tasks": dial_tasks,
            "dial_task": request.GET.get("task", "")})


class CurrentCallView(WorkspaceView):
    """Polled every second by the page: the agent's state and the customer's number on a call."""

    def get(self, request):
        current = selectors.current_call(request.user)
        data = current.as_dict()
        data["state_label"] = str(AgentStatus(current.state).label) if current.state in AgentStatus.values else ""
        return JsonResponse(data)


class StateView(WorkspaceView):
    def post(self, request):
        form = forms.StateForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("状态：无效的选项"))
        else:
            try:
                services.agent_set_state(agent=request.user, state=form.cleaned_data["state"],
                                         reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                messages.error(request, _errors(exc))
            else:
                label = AgentChoice(form.cleaned_data["state"]).label
                messages.success(request, _("状态已切换为：%(s)s") % {"s": label})
        return HttpResponseRedirect(reverse("workspace:index"))


class HangupView(WorkspaceView):
    def post(self, request):
        try:
            command = services.hangup(agent=request.user)
        except ValidationError as exc:
            return JsonResponse({"ok": False, "error": _errors(exc)}, status=409)
        return JsonResponse({"ok": True, "command": command.pk})


class WrapUpView(WorkspaceView):
    def post(self, request):
        try:
            services.wrap_up(agent=request.user)
        except ValidationError as exc:
            return JsonResponse({"ok": False, "error": _errors(exc)}, status=409)
        return JsonResponse({"ok": True, "state": AgentStatus.IDLE})


class TaskNextView(WorkspaceView):
    """【下一个号码】 (T2 manual batch dialling): the next number of a draft or paused task is dialled
    through the agent's own phone (campaigns/manual.py); the page's poll then shows the call."""

    def post(self, request):
        from callcenter.campaigns import manual

        try:
            attempt = manual.next_number(agent=request.user, task_id=request.POST.get("task", ""))
        except ValidationError as exc:
            if request.headers.get("Accept", "").startswith("application/json"):
                return JsonResponse({"ok": False, "error": _errors(exc)}, status=409)
            messages.error(request, _errors(exc))
        else:
            if request.headers.get("Accept", "").startswith("application/json"):
                return JsonResponse({"ok": True, "attempt": attempt.pk, "phone": attempt.number.phone,
                                     "task": attempt.task_id})
            messages.success(request, _("请接听话机，接听后将呼叫 %(p)s（任务“%(t)s”）")
                             % {"p": attempt.number.phone, "t": attempt.task.name})
        return HttpResponseRedirect(reverse("workspace:index") + f"?task={request.POST.get('task', '')}")


def _pop_context(request, phone: str, call_id: str, *, followup_form=None, customer_form=None, **extra):
    pop = selectors.screen_pop(request.user, phone, call_id=call_id)
    can_add_customer = request.user.has_perm("crm.add_customer")
    can_add_followup = request.user.has_perm("workspace.add_followup")
    # only the forms the fragment shows: the follow-up form when the agent may write one, the
    # 【新建客户】 form for an unknown number
    if can_add_followup and followup_form is None:
        followup_form = forms.FollowUpForm()
    if pop.unknown and can_add_customer and customer_form is None:
        customer_form = forms.QuickCustomerForm(initial={"phone": pop.phone}, enterprise=request.user.enterprise_id)
    return {"pop": pop, "followup_form": followup_form, "customer_form": customer_form,
            "can_add_customer": can_add_customer, "can_add_followup": can_add_followup, **extra}


def _render_pop(ctx: dict, status: int = 200) -> HttpResponse:
    """The pop fragment. It is inserted into the workspace page, so it needs none of the full
    page's context (menu, pending-changes banner): rendered without the context processors."""
    return HttpResponse(loader.render_to_string("workspace/_pop.html", ctx), status=status)


class PopView(WorkspaceView):
    """The screen pop fragment for `?phone=` (and the call id, for the follow-up and the URL)."""

    def get(self, request):
        phone, call_id = request.GET.get("phone", ""), request.GET.get("call_id", "")
        try:
            ctx = _pop_context(request, phone, call_id)
        except ValidationError as exc:
            return render(request, "workspace/_pop_error.html", {"error": _errors(exc)}, status=400)
        return _render_pop(ctx)


class PopShownView(WorkspaceView):
    """The page reports when it first showed the pop of a call: bridge-to-pop delay, logged."""

    def post(self, request):
        call_id = request.POST.get("call_id", "")
        live = services.current_state(request.user)
        if live is None or not call_id or live.call_id != call_id or live.state != AgentStatus.BUSY:
            return JsonResponse({"ok": False})
        delay_ms = round((timezone.now() - live.since).total_seconds() * 1000)
        log.info("screen pop agent=%s call=%s delay_ms=%s", request.user.pk, call_id, delay_ms)
        return JsonResponse({"ok": True, "delay_ms": delay_ms})


class FollowUpAddView(WorkspaceView):
    def post(self, request):
        if not request.user.has_perm("workspace.add_followup"):
            raise PermissionDenied(_("没有权限"))
        phone, call_id = request.POST.get("phone", ""), request.POST.get("call_id", "")
        form = forms.FollowUpForm(request.POST)
        status = 200
        if form.is_valid():
            try:
                customer = None
                if request.POST.get("customer", "").isdigit():
                    customer = selectors.find_customer(request.user, crm.phone_or_refuse(phone))[0]
                services.followup_create(agent=request.user, phone=phone, text=form.cleaned_data["text"],
                                         result=form.cleaned_data["result"],
                                         next_contact_at=form.cleaned_data["next_contact_at"],
                                         customer=customer, call_id=call_id)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                status = 400
            else:
                form = None
        else:
            status = 400
        try:
            ctx = _pop_context(request, phone, call_id, followup_form=form, saved=form is None)
        except ValidationError as exc:
            return render(request, "workspace/_pop_error.html", {"error": _errors(exc)}, status=400)
        return _render_pop(ctx, status)


class CustomerAddView(WorkspaceView):
    """【新建客户】 for an unknown number, through crm's service; the pop then shows the customer."""

    def post(self, request):
        if not request.user.has_perm("crm.add_customer"):
            raise PermissionDenied(_("没有权限"))
        call_id = request.POST.get("call_id", "")
        form = forms.QuickCustomerForm(request.POST, enterprise=request.user.enterprise)
        status = 200
        phone = request.POST.get("phone", "")
        if form.is_valid():
            values = {k: form.cleaned_data[k] for k in ("phone", "name", "company", "category")}
            values["owner"] = request.user
            try:
                customer = crm.customer_create(enterprise=request.user.enterprise, values=values)
            except ValidationError as exc:
                form.add_error(None, exc.messages)
                status = 400
            else:
                phone = customer.phone
                form = None
        else:
            status = 400
        try:
            ctx = _pop_context(request, phone, call_id, customer_form=form)
        except ValidationError as exc:
            return render(request, "workspace/_pop_error.html", {"error": _errors(exc)}, status=400)
        return _render_pop(ctx, status)


