"""Pages of call configuration beyond the generic screens: prompt upload and playback,
【设置坐席】 of groups and queues, a trunk's DID rules, IVR keys and schedule slots.
Views stay thin: each parses the request, calls a service and shows its refusal."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from callcenter.core.scope import scoped
from callcenter.core.views import ObjectDetailView, ScreenView, add_errors
from callcenter.telephony import forms, services
from callcenter.telephony.models import DidRoute, IvrKey, Schedule, ScheduleSlot
from callcenter.telephony.screens import (
    agent_group_screen,
    ivr_menu_screen,
    prompt_screen,
    queue_screen,
    schedule_screen,
    trunk_screen,
)


class ConfigView(ScreenView):
    """A screen page whose permission may be another model's (a trunk's DID rules)."""

    perms: dict[str, str] = {}  # HTTP method -> permission; default: the screen's for `action`

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.user.enterprise_id is None:
            raise PermissionDenied(_("平台管理员请使用 /admin/ 管理企业"))
        perm = self.perms.get(request.method.lower()) or self.screen.perm(self.required_action())
        if not request.user.has_perm(perm):
            raise PermissionDenied(_("没有权限"))
        return View.dispatch(self, request, *args, **kwargs)

    def required_action(self) -> str:
        return "detail" if self.request.method in ("GET", "HEAD") else "edit"

    def back(self, obj, name: str | None = None):
        return HttpResponseRedirect(reverse(name or self.screen.url_name("detail"), args=[obj.pk]))


class ConfigDetailView(ObjectDetailView):
    """The generic detail page, with the screen's extra context (members, keys, slots ...)."""

    def get(self, request, pk):
        obj = self.get_object(pk)
        return render(request, self.screen.detail_template, self.detail_context(request, obj))

    def detail_context(self, request, obj, **overrides) -> dict:
        fields = []
        for name in self.screen.detail_fields:
            field = obj._meta.get_field(name)
            display = getattr(obj, f"get_{name}_display", None)
            value = display() if display else getattr(obj, name)
            if isinstance(value, bool):
                value = _("是") if value else _("否")
            fields.append((field.verbose_name, display_value(obj, name, value)))
        buttons = [b for b in self.screen.detail_buttons if not b[2] or request.user.has_perm(b[2])]
        ctx = self.base_context(object=obj, fields=fields, detail_buttons=buttons, title=str(obj))
        ctx.update(self.screen.detail_extra(request, obj))
        ctx.update(overrides)
        return ctx


def display_value(obj, name: str, value):
    from callcenter.telephony.choices import WEEKDAYS

    if name == "weekdays":
        names = dict(WEEKDAYS)
        return "、".join(str(names[d]) for d in sorted(obj.weekday_set()) if d in names)
    return value


# --- prompts ---------------------------------------------------------------------------------------


def _upload_dir() -> Path:
    path = Path(settings.VAR_DIR) / "prompt-uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _keep_upload(request, data: bytes, filename: str) -> str:
    """Keep a convertible upload for an hour, so ticking "convert" needs no second upload."""
    folder = _upload_dir()
    cutoff = time.time() - 3600
    for old in folder.iterdir():
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    key = uuid.uuid4().hex
    (folder / key).write_bytes(data)
    return signing.dumps({"f": key, "n": filename[:200], "e": request.user.enterprise_id, "u": request.user.pk},
                         salt=forms.PENDING_SALT)


class PromptAddView(ScreenView):
    """【添加】: upload, checked by content; a convertible file is kept and conversion offered."""

    screen = prompt_screen
    action = "add"

    def show(self, request, form, status=200):
        return render(request, self.screen.edit_template, self.base_context(form=form, object=None), status=status)

    def get(self, request):
        return self.show(request, forms.PromptUploadForm(enterprise=request.user.enterprise, user=request.user))

    def post(self, request):
        form = forms.PromptUploadForm(request.POST, request.FILES, enterprise=request.user.enterprise,
                                      user=request.user)
        upload = request.FILES.get("file")
        if upload is not None and upload.size > services.audio.MAX_BYTES:
            # refused before reading the file, let alone parsing it
            try:
                services.audio.check_size(upload.size)
            except services.audio.AudioRejected as exc:
                form.is_valid()
                form.add_error("file", exc.message)
                return self.show(request, form)
        if not form.is_valid():
            return self.show(request, form)
        pending = form.pending_upload()
        if upload is not None:
            data, filename = upload.read(), upload.name
        else:
            path = _upload_dir() / Path(pending["f"]).name
            if not path.exists():
                form.add_error("file", _("上次上传的文件已过期，请重新选择文件"))
                return self.show(request, form)
            data, filename = path.read_bytes(), pending["n"]
        try:
            prompt = services.prompt_create(
                enterprise=request.user.enterprise, name=form.cleaned_data["name"], kind=form.cleaned_data["kind"],
                remark=form.cleaned_data["remark"], data=data, filename=filename,
                convert=bool(form.cleaned_data.get("convert")))
        except services.AudioRefused as exc:
            token = _keep_upload(request, data, filename) if exc.convertible else ""
            values = request.POST.copy()
            values["pending"] = token
            values.pop("convert", None)
            form = forms.PromptUploadForm(values, enterprise=request.user.enterprise, user=request.user,
                                          offer_convert=exc.convertible)
            form.is_valid()
            form.errors.pop("file", None)
            add_errors(form, exc)
            return self.show(request, form)
        except ValidationError as exc:
            add_errors(form, exc)
            return self.show(request, form)
        if pending:
            (_upload_dir() / Path(pending["f"]).name).unlink(missing_ok=True)
        messages.success(request, _("已新增 %(obj)s") % {"obj": prompt})
        return HttpResponseRedirect(reverse(self.screen.url_name("detail"), args=[prompt.pk]))


class PromptAudioView(ScreenView):
    """The WAV for the browser's <audio> element: only to the prompt's enterprise, with view permission."""

    screen = prompt_screen
    action = "detail"

    def get(self, request, pk):
        prompt = self.get_object(pk)
        try:
            handle = prompt.file.open("rb")
        except FileNotFoundError as exc:
            raise Http404 from exc
        response = FileResponse(handle, content_type="audio/wav")
        response["Content-Disposition"] = f'inline; filename="prompt-{prompt.pk}.wav"'
        response["Cache-Control"] = "private, max-age=300"
        return response


# --- 【设置坐席】 of agent groups and queues -------------------------------------------------------------


class MembersView(ConfigView):
    template = "telephony/members.html"

    def show(self, request, owner, form=None, status=200):
        rows = list(owner.memberships.select_related("agent").order_by("position", "id"))
        form = form or forms.MemberAddForm(enterprise=request.user.enterprise,
                                           exclude_ids=[r.agent_id for r in rows])
        return render(request, self.template, self.base_context(
            object=owner, rows=rows, form=form, title=_("设置坐席") + " · " + str(owner),
            can_change=request.user.has_perm(self.screen.perm("edit")),
            op_url=self.screen.url_name("member"), members_url=self.screen.url_name("members")), status=status)

    def get(self, request, pk):
        return self.show(request, self.get_object(pk))

    def post(self, request, pk):
        owner = self.get_object(pk)
        present = list(owner.memberships.values_list("agent_id", flat=True))
        form = forms.MemberAddForm(request.POST, enterprise=request.user.enterprise, exclude_ids=present)
        if form.is_valid():
            try:
                n = services.members_add(owner=owner, agents=list(form.cleaned_data["agents"]))
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("已添加 %(n)s 个坐席") % {"n": n})
                return HttpResponseRedirect(reverse(self.screen.url_name("members"), args=[owner.pk]))
        return self.show(request, owner, form)


class MemberOpView(ConfigView):
    """【删除】【上移】【下移】 of one member."""

    def post(self, request, pk, agent_id, op):
        owner = self.get_object(pk)
        try:
            if op == "remove":
                services.member_remove(owner=owner, agent_id=agent_id)
            elif op in ("up", "down"):
                services.member_move(owner=owner, agent_id=agent_id, direction=op)
            else:
                raise Http404
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return HttpResponseRedirect(reverse(self.screen.url_name("members"), args=[owner.pk]))


class ToggleView(ConfigView):
    """【禁用】 / 【启用】 of an agent group or a queue."""

    def post(self, request, pk):
        owner = self.get_object(pk)
        enabled = request.POST.get("enabled") == "1"
        try:
            if owner._meta.model_name == "queue":
                services.queue_set_enabled(queue=owner, enabled=enabled)
            else:
                services.group_set_enabled(group=owner, enabled=enabled)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        else:
            messages.success(request, (_("已启用 %(obj)s") if enabled else _("已禁用 %(obj)s")) % {"obj": owner})
        return self.back(owner)


# --- a trunk's 【设置】: DID rules ---------------------------------------------------------------------


class TrunkDidsView(ConfigView):
    screen = trunk_screen
    perms = {"get": "telephony.view_didroute", "post": "telephony.add_didroute"}

    def show(self, request, trunk, form=None, status=200):
        user = request.user
        return render(request, "telephony/trunk_dids.html", self.base_context(
            object=trunk, title=_("呼入导航规则") + " · " + str(trunk),
            dids=trunk.did_routes.select_related("schedule").order_by("did"),
            form=form or forms.DidRouteForm(enterprise=user.enterprise, user=user),
            schedules=scoped(Schedule.objects.order_by("name"), user),
            can_add=user.has_perm("telephony.add_didroute"), can_edit=user.has_perm("telephony.change_didroute"),
            can_delete=user.has_perm("telephony.delete_didroute")), status=status)

    def get(self, request, pk):
        return self.show(request, self.get_object(pk))

    def post(self, request, pk):
        trunk = self.get_object(pk)
        form = forms.DidRouteForm(request.POST, enterprise=request.user.enterprise, user=request.user)
        if form.is_valid():
            try:
                route = services.did_create(trunk=trunk, did=form.cleaned_data["did"],
                                            schedule=form.cleaned_data["schedule"])
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("已添加呼入号码 %(did)s") % {"did": route.did})
                return self.back(trunk, "telephony:trunk_dids")
        return self.show(request, trunk, form)


class DidRouteOpView(ConfigView):
    """【修改】 (another schedule) or 【删除】 of one DID rule."""

    screen = trunk_screen

    def post(self, request, pk, did_pk, op):
        trunk = self.get_object(pk)
        route = get_object_or_404(DidRoute, pk=did_pk, trunk=trunk, enterprise_id=request.user.enterprise_id)
        perm = {"edit": "telephony.change_didroute", "delete": "telephony.delete_didroute"}.get(op)
        if perm is None:
            raise Http404
        if not request.user.has_perm(perm):
            raise PermissionDenied(_("没有权限"))
        try:
            if op == "delete":
                services.did_delete(route=route)
                messages.success(request, _("已删除呼入号码 %(did)s") % {"did": route.did})
            else:
                form = forms.DidRouteForm(request.POST, instance=route, enterprise=request.user.enterprise,
                                          user=request.user)
                if not form.is_valid():
                    raise ValidationError([f"{form.fields[f].label}：{e}" if f in form.fields else str(e)
                                           for f, errs in form.errors.items() for e in errs])
                services.did_update(route=DidRoute.objects.get(pk=route.pk), changes=form.values())
                messages.success(request, _("已保存呼入号码 %(did)s") % {"did": form.cleaned_data["did"]})
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return self.back(trunk, "telephony:trunk_dids")


# --- IVR keys (按键方案设置) -----------------------------------------------------------------------------


class IvrKeysView(ConfigView):
    screen = ivr_menu_screen

    def show(self, request, menu, form=None, status=200):
        return render(request, "telephony/ivrmenu_keys.html", self.base_context(
            object=menu, title=_("按键方案设置") + " · " + str(menu),
            keys=menu.keys.select_related("prompt").order_by("key"),
            form=form or forms.IvrKeyForm(enterprise=request.user.enterprise),
            can_change=request.user.has_perm(self.screen.perm("edit"))), status=status)

    def get(self, request, pk):
        return self.show(request, self.get_object(pk))

    def post(self, request, pk):
        menu = self.get_object(pk)
        form = forms.IvrKeyForm(request.POST, enterprise=request.user.enterprise)
        if form.is_valid():
            data = form.cleaned_data
            try:
                key = services.ivr_key_add(menu=menu, key=data["key"], action=data["action"],
                                           extension=data.get("extension") or "", prompt=data.get("prompt"))
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("已设置按键 %(k)s") % {"k": key.key})
                return self.back(menu, "telephony:ivrmenu_keys")
        return self.show(request, menu, form)


class IvrKeyDeleteView(ConfigView):
    screen = ivr_menu_screen

    def post(self, request, pk, key_pk):
        menu = self.get_object(pk)
        key = get_object_or_404(IvrKey, pk=key_pk, menu=menu)
        services.ivr_key_delete(key=key)
        messages.success(request, _("已删除按键 %(k)s") % {"k": key.key})
        return self.back(menu, "telephony:ivrmenu_keys")


# --- schedule slots (导航时段) -------------------------------------------------------------------------


class SlotAddView(ConfigView):
    screen = schedule_screen

    def post(self, request, pk):
        schedule = self.get_object(pk)
        form = forms.SlotForm(request.POST, enterprise=request.user.enterprise)
        if form.is_valid():
            try:
                services.slot_add(schedule=schedule, **form.cleaned_data)
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                messages.success(request, _("已添加导航时段"))
                return self.back(schedule)
        detail = ConfigDetailView(screen=self.screen, action="detail")
        detail.request = request
        return render(request, self.screen.detail_template, detail.detail_context(request, schedule, slot_form=form))


class SlotDeleteView(ConfigView):
    screen = schedule_screen

    def post(self, request, pk, slot_pk):
        schedule = self.get_object(pk)
        slot = get_object_or_404(ScheduleSlot, pk=slot_pk, schedule=schedule)
        services.slot_delete(slot=slot)
        messages.success(request, _("已删除导航时段"))
        return self.back(schedule)


MEMBER_SCREENS = (agent_group_screen, queue_screen)
