from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.choices import AgentType, LoginResult
from callcenter.accounts.models import Agent, CallerId, Department, LoginLog, Role
from callcenter.core.tables import BadgeColumn, DateTimeColumn


class AgentTable(tables.Table):
    number = tables.Column(verbose_name=_("坐席号"))
    name = tables.Column(verbose_name=_("姓名"))
    agent_type = BadgeColumn(verbose_name=_("坐席类型"), enum=AgentType)
    department = tables.Column(verbose_name=_("部门"))
    supervisor = tables.Column(verbose_name=_("坐席上级"))
    caller_id = tables.Column(verbose_name=_("外显号码"))
    phone = tables.Column(verbose_name=_("绑定电话"))
    login_mode = tables.Column(verbose_name=_("登录方式"))
    role = tables.Column(verbose_name=_("角色"))
    data_scope = tables.Column(verbose_name=_("数据范围"))
    record_calls = tables.BooleanColumn(verbose_name=_("录音"))
    failover_to_mobile = tables.BooleanColumn(verbose_name=_("呼转手机"))
    outbound_trunk = tables.Column(verbose_name=_("外呼外线"))
    max_locked_customers = tables.Column(verbose_name=_("最大锁定客户数"))
    lock_days = tables.Column(verbose_name=_("锁定天数"))
    remark1 = tables.Column(verbose_name=_("备注1"))
    remark2 = tables.Column(verbose_name=_("备注2"))
    remark3 = tables.Column(verbose_name=_("备注3"))
    remark4 = tables.Column(verbose_name=_("备注4"))
    created_at = DateTimeColumn(verbose_name=_("创建时间"), format="Y-m-d H:i")

    class Meta:
        model = Agent
        fields = ()
        default_hidden = ("login_mode", "data_scope", "failover_to_mobile", "outbound_trunk", "max_locked_customers",
                          "lock_days", "remark2", "remark3", "remark4", "created_at", "phone")


class DepartmentTable(tables.Table):
    name = tables.Column(verbose_name=_("部门名称"))
    parent = tables.Column(verbose_name=_("上级部门"))
    remark = tables.Column(verbose_name=_("备注"))

    class Meta:
        model = Department
        fields = ()


class CallerIdTable(tables.Table):
    number = tables.Column(verbose_name=_("外显号码"))
    created_at = DateTimeColumn(verbose_name=_("添加时间"), format="Y-m-d H:i")

    class Meta:
        model = CallerId
        fields = ()


class RoleTable(tables.Table):
    name = tables.Column(verbose_name=_("角色名称"))
    description = tables.Column(verbose_name=_("说明"))

    class Meta:
        model = Role
        fields = ()


class LoginLogTable(tables.Table):
    at = DateTimeColumn(verbose_name=_("时间"), format="Y-m-d H:i:s")
    number = tables.Column(verbose_name=_("坐席号"))
    agent = tables.Column(verbose_name=_("坐席"), accessor="agent__name", default="")
    ip = tables.Column(verbose_name=_("IP地址"))
    channel = tables.Column(verbose_name=_("登录渠道"))
    result = BadgeColumn(verbose_name=_("结果"), enum=LoginResult)
    user_agent = tables.Column(verbose_name=_("浏览器"))

    class Meta:
        model = LoginLog
        fields = ()
        default_hidden = ("user_agent",)
