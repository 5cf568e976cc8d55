"""Forms of the accounts screens. Rules live in services.py; forms translate refusals to field errors."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from callcenter.accounts import services
from callcenter.accounts.choices import AgentType, LoginMode
from callcenter.accounts.models import Agent, CallerId, Department, Role
from callcenter.accounts.selectors import assignable_permissions
from callcenter.core.choices import DataScope
from callcenter.core.forms import BulkEditForm, TenantModelForm, bootstrapify, confine_choices


class LoginForm(forms.Form):
    enterprise_code = forms.CharField(label=_("企业编号"), max_length=20)
    number = forms.CharField(label=_("坐席号"), max_length=10)
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput, strip=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)


def outbound_trunk_field(enterprise, current: str = "", *, blank: str | None = None) -> forms.ChoiceField:
    """外呼外线 as a choice of the enterprise's trunks (stored as the trunk's number); a value stored
    before (a number or an account) stays selectable."""
    from callcenter.telephony.models import Trunk

    choices = [("", blank if blank is not None else _("默认（第一条外线）"))]
    if enterprise is not None:
        choices += [(t.number, f"{t.number}（{t.account}）" if t.account else t.number)
                    for t in Trunk.objects.filter(enterprise=enterprise).order_by("number").only("number", "account")]
    if current and current not in {value for value, _label in choices}:
        choices.append((current, current))
    field = forms.ChoiceField(label=_("外呼外线"), choices=choices, required=False,
                              help_text=_("坐席外呼使用的外线；默认用第一条外线"))
    field.widget.attrs["class"] = "form-select form-select-sm"
    return field


AGENT_FIELDS = [
    "name", "phone", "record_calls", "failover_to_mobile", "supervisor", "outbound_trunk", "login_mode",
    "caller_id", "max_locked_customers", "lock_days", "department", "agent_type", "role", "data_scope",
    "remark1", "remark2", "remark3", "remark4", "screen_pop_url", "third_party_user", "third_party_password",
]


class AgentForm(TenantModelForm):
    third_party_password = forms.CharField(
        label=_("第三方密码"), required=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("用于弹屏地址的 {password}；留空则不修改"))

    class Meta:
        model = Agent
        fields = AGENT_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["caller_id"].required = True
        self.fields["caller_id"].empty_label = None
        if self.instance.pk:
            self.fields["supervisor"].queryset = self.fields["supervisor"].queryset.exclude(pk=self.instance.pk)
        self.fields["outbound_trunk"] = outbound_trunk_field(self.enterprise, self.instance.outbound_trunk)
        if self.instance.is_protected_admin:
            self.fields["agent_type"].disabled = True
            self.fields["data_scope"].disabled = True
        if self.user is not None and not self.user.is_enterprise_admin:
            for name in services.PRIVILEGE_FIELDS:
                self.fields[name].disabled = True
            if self.instance.pk == self.user.pk:
                self.fields["agent_type"].disabled = True
        else:
            self.fields["agent_type"].choices = [c for c in AgentType.choices if c[0] != AgentType.ADMIN]

    def clean_third_party_password(self):
        value = self.cleaned_data.get("third_party_password")
        return value if value else self.instance.third_party_password

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            changes = {k: cleaned[k] for k in ("agent_type", "caller_id", "supervisor", "outbound_trunk",
                                               *services.PRIVILEGE_FIELDS) if k in cleaned}
            try:
                services.agent_check_update(self.instance, changes, self.user)
            except ValidationError as exc:
                for field, msgs in exc.message_dict.items():
                    self.add_error(field if field in self.fields else None, msgs)
        elif cleaned.get("agent_type") == AgentType.ADMIN:
            self.add_error("agent_type", _("每个企业只能有一个企业管理员（800）"))
        return cleaned


class AgentRangeForm(forms.Form):
    """Add one agent, or a range (e.g. 801-850) with shared defaults."""

    start = forms.CharField(label=_("开始坐席号"), max_length=10)
    end = forms.CharField(label=_("结束坐席号"), max_length=10, required=False, help_text=_("只添加一个时留空"))
    name = forms.CharField(label=_("姓名"), max_length=40, required=False,
                           help_text=_("添加多个时作为前缀，后接坐席号"))
    password = forms.CharField(label=_("初始密码"), required=False, widget=forms.PasswordInput, min_length=6,
                               help_text=_("留空则为每个坐席生成6位随机密码（只显示一次）"))
    agent_type = forms.ChoiceField(label=_("坐席类型"), initial=AgentType.NORMAL,
                                   choices=[c for c in AgentType.choices if c[0] != AgentType.ADMIN])
    login_mode = forms.ChoiceField(label=_("登录方式"), choices=LoginMode.choices, initial=LoginMode.CALL_CENTER)
    record_calls = forms.BooleanField(label=_("录音"), required=False, initial=True)
    failover_to_mobile = forms.BooleanField(label=_("呼转手机"), required=False)
    caller_id = forms.ModelChoiceField(label=_("外显号码"), queryset=CallerId.objects.all(), required=False,
                                       help_text=_("留空则用第一个外显号码"))
    department = forms.ModelChoiceField(label=_("部门"), queryset=Department.objects.all(), required=False)
    supervisor = forms.ModelChoiceField(label=_("坐席上级"), queryset=Agent.objects.all(), required=False)
    role = forms.ModelChoiceField(label=_("角色"), queryset=Role.objects.all(), required=False)
    data_scope = forms.ChoiceField(label=_("数据范围"), choices=DataScope.choices, initial=DataScope.OWN)
    max_locked_customers = forms.IntegerField(label=_("最大锁定客户数"), min_value=0, initial=0)
    lock_days = forms.IntegerField(label=_("锁定天数"), min_value=0, initial=0)
    outbound_trunk = forms.ChoiceField(label=_("外呼外线"), required=False)  # the trunks: set in __init__

    def __init__(self, *args, enterprise=None, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        self.user = user
        confine_choices(self, enterprise)
        self.fields["outbound_trunk"] = outbound_trunk_field(enterprise)
        if user is not None and not user.is_enterprise_admin:
            for name in services.PRIVILEGE_FIELDS:
                del self.fields[name]
        bootstrapify(self)
        self.result = None

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        defaults = {k: cleaned[k] for k in (
            "agent_type", "login_mode", "record_calls", "failover_to_mobile", "caller_id", "department",
            "supervisor", "role", "data_scope", "max_locked_customers", "lock_days", "outbound_trunk", "name")
            if k in cleaned}
        if defaults["caller_id"] is None:
            defaults.pop("caller_id")
        self.defaults = defaults
        try:
            services.parse_range(cleaned["start"], cleaned.get("end") or cleaned["start"])
        except ValidationError as exc:
            for field, msgs in exc.message_dict.items():
                self.add_error(field, msgs)
        return cleaned

    def save(self):
        try:
            self.result = services.agents_create_range(
                enterprise=self.enterprise, start=self.cleaned_data["start"], end=self.cleaned_data.get("end"),
                defaults=self.defaults, password=self.cleaned_data.get("password") or None, actor=self.user)
        except ValidationError as exc:
            for field, msgs in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, msgs)
            return None
        return self.result


class AgentBulkEditForm(BulkEditForm):
    agent_type = forms.ChoiceField(label=_("坐席类型"), choices=[("", "---")] + [
        c for c in AgentType.choices if c[0] != AgentType.ADMIN])
    department = forms.ModelChoiceField(label=_("部门"), queryset=Department.objects.all())
    caller_id = forms.ModelChoiceField(label=_("外显号码"), queryset=CallerId.objects.all())
    supervisor = forms.ModelChoiceField(label=_("坐席上级"), queryset=Agent.objects.all())
    role = forms.ModelChoiceField(label=_("角色"), queryset=Role.objects.all())
    data_scope = forms.ChoiceField(label=_("数据范围"), choices=[("", "---")] + list(DataScope.choices))
    login_mode = forms.ChoiceField(label=_("登录方式"), choices=[("", "---")] + list(LoginMode.choices))
    record_calls = forms.NullBooleanField(label=_("录音"))
    outbound_trunk = forms.ChoiceField(label=_("外呼外线"))  # the trunks: set in __init__
    max_locked_customers = forms.IntegerField(label=_("最大锁定客户数"), min_value=0)
    lock_days = forms.IntegerField(label=_("锁定天数"), min_value=0)
    screen_pop_url = forms.CharField(label=_("第三方弹屏地址"), max_length=500)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["outbound_trunk"] = outbound_trunk_field(self.enterprise, blank="---")
        if self.user is not None and not self.user.is_enterprise_admin:
            for name in services.PRIVILEGE_FIELDS:
                del self.fields[name]

    def refusal(self, objs):
        changes = self.changes()
        for obj in objs:
            try:
                services.agent_check_update(obj, changes, self.user)
            except ValidationError as exc:
                return f"{obj.number}: " + "; ".join(m for msgs in exc.message_dict.values() for m in msgs)
        return None


class DepartmentForm(TenantModelForm):
    class Meta:
        model = Department
        fields = ["name", "parent", "remark"]

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        try:
            services.department_check_parent(self.instance, parent)
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["parent"]) from exc
        return parent

    def clean(self):
        cleaned = super().clean()
        name, parent = cleaned.get("name"), cleaned.get("parent")
        if name and Department.objects.filter(enterprise=self.enterprise, parent=parent, name=name).exclude(
                pk=self.instance.pk).exists():
            self.add_error("name", _("同一上级部门下已有同名部门"))
        return cleaned


class CallerIdAddForm(forms.Form):
    start = forms.CharField(label=_("号码"), max_length=20)
    end = forms.CharField(label=_("结束号码"), max_length=20, required=False, help_text=_("添加号段时填写"))

    def __init__(self, *args, enterprise=None, user=None, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        bootstrapify(self)

    def save_m2m(self):
        """The generic add view calls this after create; caller IDs have no many-to-many fields."""


class RoleForm(TenantModelForm):
    class Meta:
        model = Role
        fields = ["name", "description", "permissions"]
        widgets = {"permissions": forms.CheckboxSelectMultiple}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["permissions"].queryset = assignable_permissions()

    def clean_name(self):
        name = self.cleaned_data["name"]
        if Role.objects.filter(enterprise=self.enterprise, name=name).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("已有同名角色"))
        return name


class EnterpriseSettingsForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)

    class Meta:
        from callcenter.core.models import Enterprise

        model = Enterprise
        fields = ["name", "time_zone", "announcements_need_approval", "dialer_cps_limit", "screen_pop_url"]

    def clean_time_zone(self):
        import zoneinfo

        value = self.cleaned_data["time_zone"]
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValidationError(_("未知的时区：%(tz)s") % {"tz": value}) from exc
        return value


class ScreenPopForm(forms.Form):
    url = forms.CharField(label=_("第三方弹屏地址"), max_length=500, required=False,
                          help_text=_("可用占位符 {phone} {user} {password} {cmmId}"))
    apply_to = forms.ChoiceField(label=_("应用于"), choices=[("all", _("全部坐席")), ("selected", _("选中的坐席"))])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)

    def clean_url(self):
        value = self.cleaned_data["url"]
        if value and not value.lower().startswith(("http://", "https://")):
            raise ValidationError(_("地址必须以 http:// 或 https:// 开头"))
        return value


class AgentPasswordChangeForm(PasswordChangeForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)
