"""Authentication: enterprise code + agent number + password; permissions from the agent's role."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from callcenter.accounts.models import Agent, login_name


def axes_username(request, credentials) -> str:
    """django-axes throttles by the derived login name `<enterprise code>:<number>`."""
    credentials = credentials or {}
    if credentials.get("username"):
        return credentials["username"]
    code = credentials.get("enterprise_code") or (request.POST.get("enterprise_code") if request else "") or ""
    number = credentials.get("number") or (request.POST.get("number") if request else "") or ""
    return login_name(code.strip(), number.strip())


class AgentBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, enterprise_code=None, number=None, **kwargs):
        if username is None and enterprise_code is not None:
            username = login_name(enterprise_code.strip(), (number or "").strip())
        if not username or password is None:
            return None
        try:
            user = Agent.objects.select_related("enterprise").get(username=username)
        except Agent.DoesNotExist:
            Agent().set_password(password)  # same cost as a real check: no user enumeration by timing
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

    def _get_group_permissions(self, user_obj):
        # Role permissions stand where Django puts group permissions.
        return Permission.objects.filter(role__agents=user_obj)

    def get_all_permissions(self, user_obj, obj=None):
        if getattr(user_obj, "is_enterprise_admin", False) and user_obj.is_active:
            if not hasattr(user_obj, "_admin_perm_cache"):
                perms = Permission.objects.filter(content_type__app_label__in=ENTERPRISE_APPS).values_list(
                    "content_type__app_label", "codename")
                user_obj._admin_perm_cache = {f"{app}.{codename}" for app, codename in perms}
            return user_obj._admin_perm_cache
        return super().get_all_permissions(user_obj, obj)


# Apps whose screens belong to an enterprise; the administrator (800) holds all their permissions.
ENTERPRISE_APPS = ["accounts", "core"]


def register_enterprise_app(label: str) -> None:
    if label not in ENTERPRISE_APPS:
        ENTERPRISE_APPS.append(label)
