"""Enumerations of agents (manual 2.2.3), with labels and badge colours."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AgentType(models.TextChoices):
    NORMAL = "normal", _("普通坐席")
    ADMIN = "admin", _("企业管理员")
    DISABLED = "disabled", _("禁用")
    STAFF = "staff", _("普通员工")

    @property
    def badge(self) -> str:
        return {"normal": "primary", "admin": "danger", "disabled": "secondary", "staff": "info"}[self.value]


class LoginMode(models.TextChoices):
    CALL_CENTER = "callcenter", _("呼叫中心模式")
    LOCAL = "local", _("本地登录")


class LoginChannel(models.TextChoices):
    WEB = "web", _("网页")
    SSO = "sso", _("客户端单点登录")


class LoginResult(models.TextChoices):
    SUCCESS = "success", _("成功")
    BAD_PASSWORD = "bad_password", _("密码错误")
    UNKNOWN = "unknown", _("坐席不存在")
    DISABLED = "disabled", _("坐席已禁用")
    LOCKED = "locked", _("失败次数过多，已锁定")
    BAD_LINK = "bad_link", _("登录链接无效或已过期")

    @property
    def badge(self) -> str:
        return "success" if self == LoginResult.SUCCESS else "danger"


ADMIN_NUMBER = "800"
