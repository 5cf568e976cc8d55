"""Agents (the user model), departments, caller IDs, roles, login log, API tokens, SSO links.

Manual 2.2.2 (外显设置), 2.2.3 (坐席管理), 2.2.5 (部门管理), 1 (登录).
"""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import Permission, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.choices import ADMIN_NUMBER, AgentType, LoginChannel, LoginMode, LoginResult
from callcenter.core.choices import DataScope
from callcenter.core.crypto import EncryptedTextField
from callcenter.core.models import Enterprise, TenantModel, TenantQuerySet

agent_number_validator = RegexValidator(r"^[0-9]{3,4}$", _("坐席号必须是3到4位数字"))
phone_validator = RegexValidator(r"^\+?[0-9-]{3,20}$", _("号码只能包含数字，3到20位"))


class Department(TenantModel):
    name = models.CharField(_("部门名称"), max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("上级部门")
    )
    remark = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("部门")
        verbose_name_plural = _("部门管理")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "parent", "name"], name="dept_unique_name")
        ]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="dept_ent_name")]
        permissions = [("import_department", _("可导入部门")), ("export_department", _("可导出部门"))]

    def __str__(self) -> str:
        return self.name

    def path(self) -> str:
        names, node, seen = [], self, set()
        while node is not None and node.pk not in seen:
            seen.add(node.pk)
            names.append(node.name)
            node = node.parent
        return " / ".join(reversed(names))


class CallerId(TenantModel):
    number = models.CharField(_("外显号码"), max_length=20, validators=[phone_validator])
    created_at = models.DateTimeField(_("添加时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("外显号码")
        verbose_name_plural = _("外显设置")
        constraints = [models.UniqueConstraint(fields=["enterprise", "number"], name="callerid_unique")]
        indexes = [models.Index(fields=["enterprise", "number", "id"], name="callerid_ent_num")]
        permissions = [("import_callerid", _("可导入外显号码")), ("export_callerid", _("可导出外显号码"))]

    def __str__(self) -> str:
        return self.number


class Role(TenantModel):
    """A named set of permissions per screen and action."""

    name = models.CharField(_("角色名称"), max_length=50)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    permissions = models.ManyToManyField(Permission, blank=True, verbose_name=_("权限"))

    class Meta:
        verbose_name = _("角色")
        verbose_name_plural = _("角色权限")
        constraints = [models.UniqueConstraint(fields=["enterprise", "name"], name="role_unique_name")]
        indexes = [models.Index(fields=["enterprise", "name", "id"], name="role_ent_name")]
        permissions = [("import_role", _("可导入角色")), ("export_role", _("可导出角色"))]

    def __str__(self) -> str:
        return self.name


class AgentManager(BaseUserManager.from_queryset(TenantQuerySet)):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(username=username)

    def create_superuser(self, username, password=None, **extra):
        """The platform operator: outside any enterprise."""
        user = self.model(username=username, name=extra.pop("name", username), **extra)
        user.is_superuser = True
        user.agent_type = AgentType.ADMIN
        user.set_password(password)
        user.save(using=self._db)
        return user


def login_name(enterprise_code: str, number: str) -> str:
    """The one unique login field Django needs: `<enterprise code>:<agent number>`."""
    return f"{enterprise_code}:{number}"


class Agent(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: an agent (坐席), the administrator (800) or staff."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, null=True, blank=True, related_name="agents",
        verbose_name=_("企业"), editable=False,
    )
    username = models.CharField(_("登录名"), max_length=40, unique=True, editable=False)
    number = models.CharField(_("坐席号"), max_length=4, validators=[agent_number_validator])
    name = models.CharField(_("姓名"), max_length=50, blank=True)
    phone = models.CharField(_("绑定电话"), max_length=20, blank=True, validators=[phone_validator])
    record_calls = models.BooleanField(_("录音"), default=True)
    failover_to_mobile = models.BooleanField(_("呼转手机"), default=False)
    supervisor = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="subordinates",
        verbose_name=_("坐席上级"),
    )
    outbound_trunk = models.CharField(_("外呼外线"), max_length=50, blank=True)
    login_mode = models.CharField(_("登录方式"), max_length=12, choices=LoginMode.choices,
                                  default=LoginMode.CALL_CENTER)
    caller_id = models.ForeignKey(
        CallerId, on_delete=models.PROTECT, null=True, blank=True, related_name="agents", verbose_name=_("外显号码")
    )
    max_locked_customers = models.PositiveIntegerField(_("最大锁定客户数"), default=0, help_text=_("0 表示不限"))
    lock_days = models.PositiveIntegerField(_("锁定天数"), default=0, help_text=_("0 表示不限"))
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="agents", verbose_name=_("部门")
    )
    agent_type = models.CharField(_("坐席类型"), max_length=10, choices=AgentType.choices, default=AgentType.NORMAL)
    role = models.ForeignKey(
        Role, on_delete=models.PROTECT, null=True, blank=True, related_name="agents", verbose_name=_("角色")
    )
    data_scope = models.CharField(_("数据范围"), max_length=12, choices=DataScope.choices, default=DataScope.OWN)
    remark1 = models.CharField(_("备注1"), max_length=200, blank=True)
    remark2 = models.CharField(_("备注2"), max_length=200, blank=True)
    remark3 = models.CharField(_("备注3"), max_length=200, blank=True)
    remark4 = models.CharField(_("备注4"), max_length=200, blank=True)
    screen_pop_url = models.CharField(_("第三方弹屏地址"), max_length=500, blank=True)
    third_party_user = models.CharField(_("第三方帐号"), max_length=100, blank=True)
    third_party_password = EncryptedTextField(_("第三方密码"), blank=True)
    must_change_password = models.BooleanField(_("下次登录须改密码"), default=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    objects = AgentManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS: list[str] = []
    scope_owner_field = "self"

    class Meta:
        verbose_name = _("坐席")
        verbose_name_plural = _("坐席管理")
        constraints = [
            models.UniqueConstraint(fields=["enterprise", "number"], name="agent_unique_number"),
            # Exactly one administrator per enterprise (agent 800).
            models.UniqueConstraint(
                fields=["enterprise"], condition=models.Q(agent_type="admin"), name="agent_one_admin"
            ),
        ]
        indexes = [
            models.Index(fields=["enterprise", "number", "id"], name="agent_ent_number"),
            models.Index(fields=["enterprise", "name", "id"], name="agent_ent_name"),
            models.Index(fields=["enterprise", "agent_type", "id"], name="agent_ent_type"),
            models.Index(fields=["enterprise", "created_at", "id"], name="agent_ent_created"),
        ]
        permissions = [
            ("import_agent", _("可导入坐席")),
            ("export_agent", _("可导出坐席")),
            ("reset_password_agent", _("可重置坐席密码")),
        ]

    def __str__(self) -> str:
        if self.enterprise_id is None:
            return self.username
        return f"{self.number} {self.name}".strip()

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.agent_type != AgentType.DISABLED

    @property
    def is_staff(self) -> bool:
        """Django admin access: only the platform operator."""
        return self.is_superuser and self.enterprise_id is None

    @property
    def is_enterprise_admin(self) -> bool:
        return self.enterprise_id is not None and self.agent_type == AgentType.ADMIN

    @property
    def is_protected_admin(self) -> bool:
        return self.number == ADMIN_NUMBER and self.enterprise_id is not None

    @property
    def effective_scope(self) -> str:
        return DataScope.ALL if self.is_enterprise_admin else self.data_scope

    def save(self, *args, **kwargs):
        if self.enterprise_id is not None:
            self.username = login_name(self.enterprise.code, self.number)
        super().save(*args, **kwargs)


class LoginLog(TenantModel):
    """Every login attempt (manual 2.2.3.8 登录日志)."""

    agent = models.ForeignKey(
        Agent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("坐席")
    )
    number = models.CharField(_("坐席号"), max_length=20)
    at = models.DateTimeField(_("时间"), auto_now_add=True, db_index=False)
    ip = models.GenericIPAddressField(_("IP地址"), null=True, blank=True)
    user_agent = models.CharField(_("浏览器"), max_length=300, blank=True)
    channel = models.CharField(_("登录渠道"), max_length=10, choices=LoginChannel.choices, default=LoginChannel.WEB)
    result = models.CharField(_("结果"), max_length=15, choices=LoginResult.choices)

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("登录日志")
        verbose_name_plural = _("登录日志")
        indexes = [
            models.Index(fields=["enterprise", "at", "id"], name="loginlog_ent_at"),
            models.Index(fields=["enterprise", "agent", "at", "id"], name="loginlog_ent_agent_at"),
            models.Index(fields=["enterprise", "number", "at", "id"], name="loginlog_ent_num_at"),
            models.Index(fields=["enterprise", "result", "at", "id"], name="loginlog_ent_result_at"),
        ]
        permissions = [("export_loginlog", _("可导出登录日志"))]

    def __str__(self) -> str:
        return f"{self.number} {self.at:%Y-%m-%d %H:%M:%S}"


class ApiToken(TenantModel):
    """A per-agent API token. Only a hash is stored; the key is shown once."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=_("坐席"))
    name = models.CharField(_("名称"), max_length=50)
    prefix = models.CharField(_("前缀"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近使用"), null=True, blank=True)

    scope_owner_field = "agent"

    class Meta:
        verbose_name = _("接口令牌")
        verbose_name_plural = _("接口令牌")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class SsoLink(models.Model):
    """A one-time sign-in link issued to the agent client (L1). Used once, valid 60 s."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)


def enterprise_admin(enterprise: Enterprise) -> Agent:
    return Agent.objects.get(enterprise=enterprise, number=ADMIN_NUMBER)

