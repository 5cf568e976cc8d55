"""Login (L1, L2), password change, and the agent screens that are more than generic CRUD."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from callcenter.accounts import services, sso
from callcenter.accounts.choices import LoginChannel, LoginResult
from callcenter.accounts.forms import (
    AgentPasswordChangeForm,
    AgentRangeForm,
    EnterpriseSettingsForm,
    LoginForm,
    ScreenPopForm,
)
from callcenter.accounts.models import Agent, ApiToken, LoginLog, login_name
from callcenter.accounts.screens import agent_screen, caller_id_screen
from callcenter.core.context import client_ip
from callcenter.core.models import Enterprise
from callcenter.core.scope import scoped
from callcenter.core.views import ScreenView, add_errors


def write_login_log(request, *, enterprise, agent, number, result, channel=LoginChannel.WEB) -> None:
    if enterprise is None:
        return
    LoginLog.objects.create(
        enterprise=enterprise, agent=agent, number=number[:20], ip=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300], channel=channel, result=result)


def lockout_response(request, credentials, *args, **kwargs):
    """django-axes calls this when the login name is locked out."""
    form = LoginForm(request.POST or None)
    code = request.POST.get("enterprise_code", "").strip()
    number = request.POST.get("number", "").strip()
    agent = Agent.objects.select_related("enterprise").filter(username=login_name(code, number)).first()
    # Called twice per locked request (by login_view and again by AxesMiddleware): log it once.
    if not getattr(request, "_lockout_logged", False):
        request._lockout_logged = True
        write_login_log(request, enterprise=agent.enterprise if agent else None, agent=agent, number=number,
                        result=LoginResult.LOCKED)
    form.add_error(None, _("登录失败次数过多，请 15 分钟后再试"))
    return render(request, "accounts/login.html", {"form": form}, status=429)


def login_view(request):
    if request.user.is_authenticated:
        return redirect("core:home")
    form = LoginForm(request.POST or None, initial={"enterprise_code": request.COOKIES.get("cc_enterprise", "")})
    if request.method == "POST" and form.is_valid():
        from django.contrib.auth import authenticate

        code = form.cleaned_data["enterprise_code"].strip()
        number = form.cleaned_data["number"].strip()
        user = authenticate(request, enterprise_code=code, number=number, password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            return lockout_response(request, None)
        known = Agent.objects.select_related("enterprise").filter(username=login_name(code, number)).first()
        if user is not None:
            login(request, user)
            write_login_log(request, enterprise=user.enterprise, agent=user, number=number,
                            result=LoginResult.SUCCESS)
            response = redirect(request.GET.get("next") or "core:home")
            if not response.url.startswith("/"):
                response = redirect("core:home")
            response.set_cookie("cc_enterprise", code, max_age=365 * 86400, samesite="Lax")
            return response
        if known is not None and not known.is_active and known.check_password(form.cleaned_data["password"]):
            form.add_error(None, _("坐席 %(num)s 已被禁用，不能登录") % {"num": number})
            result = LoginResult.DISABLED
        elif known is None:
            form.add_error(None, _("企业编号或坐席号不存在"))
            result = LoginResult.UNKNOWN
        else:
            form.add_error("password", _("密码错误"))
            result = LoginResult.BAD_PASSWORD
        # An unknown number of a known enterprise is logged there too (result "unknown").
        enterprise = known.enterprise if known else Enterprise.objects.filter(code=code).first()
        write_login_log(request, enterprise=enterprise, agent=known, number=number, result=result)
        return render(request, "accounts/login.html", {"form": form}, status=401)
    return render(request, "accounts/login.html", {"form": form})


def logout_view(request):
    logout(request)
    messages.info(request, _("已退出登录"))
    return redirect("accounts:login")


@login_required
def password_change(request):
    form = AgentPasswordChangeForm(request.user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        user.must_change_password = False
        user.save(update_fields=["must_change_password"])
        update_session_auth_hash(request, user)
        messages.success(request, _("密码已修改"))
        return redirect("core:home")
    return render(request, "accounts/password_change.html", {
        "form": form, "forced": request.user.must_change_password, "title": _("修改密码")})


def sso_login(request, token: str):
    """L1: open a one-time link issued to the agent client."""
    result = sso.consume(token)
    agent = result.agent
    if agent is None:
        named = result.named
        if named is not None:
            write_login_log(request, enterprise=named.enterprise, agent=named, number=named.number,
                            result=LoginResult.BAD_LINK, channel=LoginChannel.SSO)
        messages.error(request, result.reason)
        return redirect("accounts:login")
    login(request, agent, backend="callcenter.accounts.backends.AgentBackend")
    write_login_log(request, enterprise=agent.enterprise, agent=agent, number=agent.number,
                    result=LoginResult.SUCCESS, channel=LoginChannel.SSO)
    return redirect("core:home")


class AgentAddView(ScreenView):
    """Add one agent or a range (801-850) with shared defaults; passwords are shown once."""

    screen = agent_screen
    action = "add"

    def get(self, request):
        form = AgentRangeForm(enterprise=request.user.enterprise, user=request.user)
        return render(request, "accounts/agent_add.html", self.base_context(form=form, title=_("添加坐席")))

    def post(self, request):
        form = AgentRangeForm(request.POST, enterprise=request.user.enterprise, user=request.user)
        if form.is_valid() and form.save():
            result = form.result
            messages.success(request, _("已添加 %(n)s 个坐席") % {"n": len(result.agents)})
            return render(request, "accounts/agent_added.html", self.base_context(
                result=result, title=_("添加坐席"), passwords=sorted(result.passwords.items())))
        return render(request, "accounts/agent_add.html", self.base_context(form=form, title=_("添加坐席")))


class AgentResetPasswordView(ScreenView):
    screen = agent_screen
    action = "reset_password"

    def get(self, request, pk):
        agent = self.get_object(pk)
        return render(request, "accounts/agent_reset_password.html", self.base_context(object=agent,
                                                                                       title=_("重置密码")))

    def post(self, request, pk):
        agent = self.get_object(pk)
        try:
            password = services.agent_reset_password(agent=agent)
        except ValidationError as exc:
            messages.error(request, "; ".join(exc.messages))
            return redirect(agent_screen.url_name("detail"), pk=agent.pk)
        return render(request, "accounts/agent_reset_password.html", self.base_context(
            object=agent, password=password, title=_("重置密码")))


class AgentDisableView(ScreenView):
    screen = agent_screen
    action = "change"

    def post(self, request, pk):
        agent = self.get_object(pk)
        if agent.pk == request.user.pk:
            messages.error(request, _("不能禁用自己"))
        else:
            try:
                services.agent_disable(agent=agent)
                messages.success(request, _("已禁用坐席 %(num)s") % {"num": agent.number})
            except ValidationError as exc:
                messages.error(request, "; ".join(exc.messages))
        return redirect(agent_screen.url_name("detail"), pk=agent.pk)

    def get(self, request, pk):
        return redirect(agent_screen.url_name("detail"), pk=pk)


class CallerIdDefaultView(ScreenView):
    """【默认】: set one caller ID on every agent, after a confirmation."""

    screen = caller_id_screen
    action = "change"

    def get(self, request, pk):
        caller_id = self.get_object(pk)
        n = Agent.objects.filter(enterprise=request.user.enterprise).count()
        return render(request, "accounts/callerid_default.html", self.base_context(
            object=caller_id, agent_count=n, title=_("设为默认外显")))

    def post(self, request, pk):
        caller_id = self.get_object(pk)
        if request.POST.get("confirm") != "1":
            messages.error(request, _("请确认后再设置"))
            return redirect("accounts:callerid_default", pk=pk)
        n = services.caller_id_set_default(caller_id=caller_id)
        messages.success(request, _("已把 %(n)s 个坐席的外显号码设为 %(num)s") % {"n": n, "num": caller_id.number})
        return redirect(caller_id_screen.url_name("list"))


class ScreenPopView(ScreenView):
    """The third-party screen-pop URL, for all agents or for selected ones."""

    screen = agent_screen
    action = "change"

    def get(self, request):
        form = ScreenPopForm(initial={"url": request.user.enterprise.screen_pop_url, "apply_to": "all"})
        return self.show(request, form)

    def show(self, request, form):
        agents = scoped(Agent.objects.all(), request.user).order_by("number").only("pk", "number", "name",
                                                                                  "screen_pop_url")
        return render(request, "accounts/screen_pop.html", self.base_context(
            form=form, agents=agents, title=_("第三方弹屏设置")))

    def post(self, request):
        form = ScreenPopForm(request.POST)
        if not form.is_valid():
            return self.show(request, form)
        url = form.cleaned_data["url"]
        if form.cleaned_data["apply_to"] == "all":
            services.agents_set_screen_pop(enterprise=request.user.enterprise, url=url)
            messages.success(request, _("已为全部坐席设置弹屏地址"))
        else:
            pks = [int(p) for p in request.POST.getlist("pk") if p.isdigit()]
            agents = list(scoped(Agent.objects.all(), request.user).filter(pk__in=pks))
            if not agents:
                form.add_error("apply_to", _("请选择坐席"))
                return self.show(request, form)
            services.agents_set_screen_pop(enterprise=request.user.enterprise, url=url, agents=agents)
            messages.success(request, _("已为 %(n)s 个坐席设置弹屏地址") % {"n": len(agents)})
        return redirect("accounts:screen_pop")


@login_required
def enterprise_settings(request):
    user = request.user
    if user.enterprise_id is None or not user.has_perm("core.change_enterprise_settings"):
        raise PermissionDenied
    enterprise = user.enterprise
    form = EnterpriseSettingsForm(request.POST or None, instance=enterprise)
    if request.method == "POST" and form.is_valid():
        try:
            # the stored row, not the form-mutated instance, is the "before" of the audit diff
            stored = type(enterprise).objects.get(pk=enterprise.pk)
            services.enterprise_update(enterprise=stored, changes={k: form.cleaned_data[k] for k in form.fields})
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("企业设置已保存"))
            return redirect("accounts:enterprise_settings")
    return render(request, "accounts/enterprise_settings.html", {
        "form": form, "enterprise": enterprise, "title": _("企业设置")})


@login_required
def api_tokens(request):
    """The signed-in agent's own API tokens: create (key shown once) and revoke."""
    user = request.user
    if user.enterprise_id is None:
        raise PermissionDenied
    new_key = None
    if request.method == "POST":
        if "revoke" in request.POST:
            ApiToken.objects.filter(agent=user, pk=request.POST.get("revoke")).delete()
            messages.success(request, _("令牌已作废"))
            return redirect("accounts:api_tokens")
        name = (request.POST.get("name") or "").strip()[:50]
        if not name:
            messages.error(request, _("名称：请填写令牌名称"))
        else:
            from callcenter.accounts.api_auth import token_create

            with transaction.atomic():
                _token, new_key = token_create(agent=user, name=name)
    tokens = ApiToken.objects.filter(agent=user).order_by("-created_at")
    return render(request, "accounts/api_tokens.html", {
        "tokens": tokens, "new_key": new_key, "title": _("接口令牌")})


@require_POST
def set_language(request):
    from django.views.i18n import set_language as django_set_language

    return django_set_language(request)


