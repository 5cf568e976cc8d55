"""Writes of the accounts app: enterprises, agents, caller IDs, departments (manual 2.2.2-2.2.5).

Each service is keyword-only, transactional, and writes an audit row per change.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils.translation import gettext as _

from callcenter.accounts.choices import ADMIN_NUMBER, AgentType
from callcenter.accounts.models import Agent, CallerId, Department, Role, login_name
from callcenter.accounts.related import related_data
from callcenter.core import audit
from callcenter.core.choices import DataScope
from callcenter.core.context import current
from callcenter.core.models import Enterprise

TEMP_HASHER = "argon2tmp"  # see hashers.py: one-time codes that must be changed at next login


class ServiceError(ValidationError):
    """A refused change; `message_dict` names the field."""


def refuse(field: str, message: str):
    raise ServiceError({field: [message]})


# --- roles -----------------------------------------------------------------------------
# Default roles of a new enterprise. Codenames are "<app>.<codename>".
AGENT_SCREEN_PERMS = ["accounts.view_loginlog"]
DEFAULT_ROLES = {
    "班长": (
        "坐席班长：管理下级坐席，查看登录日志",
        DataScope.SUBORDINATES,
        ["accounts.view_agent", "accounts.change_agent", "accounts.reset_password_agent", "accounts.export_agent",
         "accounts.view_loginlog", "accounts.export_loginlog", "accounts.view_department", "accounts.view_callerid",
         "calls.view_cdr", "calls.export_cdr", "calls.view_missedcall", "calls.export_missedcall",
         "calls.view_agentstate", "calls.view_qualityreview", "calls.add_qualityreview",
         "calls.change_qualityreview", "calls.export_qualityreview",
         "campaigns.view_task", "campaigns.add_task", "campaigns.change_task", "campaigns.send_task",
         "campaigns.control_task", "campaigns.view_tasknumber", "campaigns.export_tasknumber",
         "crm.view_customer", "crm.add_customer", "crm.change_customer", "crm.lock_customer",
         "crm.transfer_customer", "crm.export_customer", "crm.view_customercategory",
         "workspace.use_workspace", "workspace.view_followup", "workspace.add_followup",
         "workspace.export_followup"],
    ),
    "坐席": ("普通坐席：查看本人登录日志、通话详单和漏接", DataScope.OWN,
           ["accounts.view_loginlog", "calls.view_cdr", "calls.view_missedcall", "calls.view_qualityreview",
            "campaigns.view_task", "campaigns.view_tasknumber",
            "crm.view_customer", "crm.add_customer", "crm.change_customer", "crm.lock_customer",
            "crm.view_customercategory", "workspace.use_workspace", "workspace.view_followup",
            "workspace.add_followup"]),
    "普通员工": ("普通员工：可用网页查看报表和工单", DataScope.OWN,
             ["accounts.view_loginlog", "calls.view_cdr", "calls.view_missedcall"]),
}


def permissions_from_names(names: list[str]) -> list[Permission]:
    perms = []
    for full in names:
        app, codename = full.split(".", 1)
        perms.append(Permission.objects.get(content_type__app_label=app, codename=codename))
    return perms


# --- enterprises -------------------------------------------------------------------------


@dataclass
class NewEnterprise:
    enterprise: Enterprise
    admin: Agent
    admin_password: str


def random_digits(n: int = 6) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(n))


@transaction.atomic
def enterprise_create(*, code: str, name: str, licensed_lines: int, caller_id: str,
                      admin_password: str | None = None, time_zone: str = "Asia/Shanghai") -> NewEnterprise:
    """Create an enterprise with its first caller ID, default roles and administrator 800."""
    enterprise = Enterprise(code=code, name=name, licensed_lines=licensed_lines, time_zone=time_zone)
    enterprise.full_clean()
    enterprise.save()
    first = CallerId(enterprise=enterprise, number=caller_id)
    first.full_clean(exclude=["enterprise"])
    first.save()
    for role_name, (description, _scope, perms) in DEFAULT_ROLES.items():
        role = Role.objects.create(enterprise=enterprise, name=role_name, description=description)
        role.permissions.set(permissions_from_names(perms))
    password = admin_password or random_digits(8)
    admin = Agent(enterprise=enterprise, number=ADMIN_NUMBER, name=_("管理员"), agent_type=AgentType.ADMIN,
                  record_calls=False, caller_id=first, data_scope=DataScope.ALL)
    admin.set_password(password)
    admin.save()
    audit.record_create(enterprise)
    return NewEnterprise(enterprise, admin, password)


def enterprise_update(*, enterprise: Enterprise, changes: dict) -> Enterprise:
    before = audit.snapshot(enterprise)
    for name, value in changes.items():
        setattr(enterprise, name, value)
    with transaction.atomic():
        enterprise.save()
        audit.record_update(enterprise, before)
    return enterprise


# --- agents --------------------------------------------------------------------------------


def parse_number(value, field: str = "number") -> str:
    text = str(value).strip()
    if not text.isdigit():
        refuse(field, _("坐席号“%(v)s”不是数字") % {"v": text})
    if not 3 <= len(text) <= 4:
        refuse(field, _("坐席号“%(v)s”必须是3到4位数字") % {"v": text})
    return text


def parse_range(start, end) -> list[str]:
    """Agent numbers from start to end inclusive, keeping the width of `start`."""
    first = parse_number(start, "start")
    last = parse_number(end, "end")
    if len(first) != len(last):
        refuse("end", _("起止坐席号位数必须相同"))
    if int(last) < int(first):
        refuse("end", _("结束号不能小于开始号"))
    from django.conf import settings

    limit = settings.CALLCENTER["MAX_AGENT_RANGE"]
    if int(last) - int(first) + 1 > limit:
        refuse("end", _("一次最多添加 %(n)s 个坐席") % {"n": limit})
    width = len(first)
    return [str(n).zfill(width) for n in range(int(first), int(last) + 1)]


def check_outbound_trunk(enterprise_id: int, value) -> str:
    """外呼外线 names one of the enterprise's trunks by its number or account ("": the first trunk).
    Call control and the configuration look it up that way; a typo would silently dial through
    another trunk, so it is refused."""
    value = str(value or "").strip()
    if not value:
        return ""
    trunk = apps.get_model("telephony", "Trunk")
    if not trunk.objects.filter(Q(number=value) | Q(account=value), enterprise_id=enterprise_id).exists():
        refuse("outbound_trunk", _("外呼外线：“%(v)s”不是本企业的外线（填外线号码或帐号）") % {"v": value})
    return value


def _check_defaults(enterprise: Enterprise, defaults: dict) -> dict:
    defaults = dict(defaults)
    if "outbound_trunk" in defaults:
        defaults["outbound_trunk"] = check_outbound_trunk(enterprise.pk, defaults["outbound_trunk"])
    agent_type = defaults.get("agent_type", AgentType.NORMAL)
    if agent_type == AgentType.ADMIN:
        refuse("agent_type", _("每个企业只能有一个企业管理员（800）"))
    for key in ("caller_id", "department", "supervisor", "role"):
        obj = defaults.get(key)
        if obj is not None and obj.enterprise_id != enterprise.pk:
            refuse(key, _("不属于本企业"))
    if defaults.get("caller_id") is None:
        default = CallerId.objects.filter(enterprise=enterprise).order_by("pk").first()
        if default is None:
            refuse("caller_id", _("企业还没有外显号码，请先在外显设置中添加"))
        defaults["caller_id"] = default
    return defaults


@dataclass
class CreatedAgents:
    agents: list[Agent]
    passwords: dict[str, str]


@transaction.atomic
def agents_create_range(*, enterprise: Enterprise, start, end=None, defaults: dict | None = None,
                        password: str | None = None, actor: Agent | None = None) -> CreatedAgents:
    """Add one agent or a range (e.g. 801-850) sharing `defaults`.

    Each new agent gets a random 6-digit password (or `password` when given) and must
    change it at first login.
    """
    numbers = parse_range(start, end if end not in (None, "") else start)
    if ADMIN_NUMBER in numbers:
        refuse("start", _("800 是企业管理员的坐席号，已存在"))
    taken = set(Agent.objects.filter(enterprise=enterprise, number__in=numbers).values_list("number", flat=True))
    if taken:
        refuse("start", _("以下坐席号已存在：%(nums)s") % {"nums": ", ".join(sorted(taken))})
    defaults = _check_defaults(enterprise, defaults or {})
    check_privilege_grant(actor, None, defaults)
    name_prefix = defaults.pop("name", "")
    passwords: dict[str, str] = {}
    agents = []
    # One hash per range when a shared password is given; argon2 costs ~50 ms a hash.
    shared_hash = make_password(password) if password else None
    for number in numbers:
        agent = Agent(enterprise=enterprise, number=number, username=login_name(enterprise.code, number),
                      name=(f"{name_prefix}{number}" if len(numbers) > 1 else name_prefix) if name_prefix else "",
                      must_change_password=True, **defaults)
        if shared_hash:
            agent.password = shared_hash
        else:
            secret = random_digits()
            passwords[number] = secret
            agent.password = make_password(secret, hasher=TEMP_HASHER)
        agents.append(agent)
    Agent.objects.bulk_create(agents, batch_size=500)
    audit.record_many([(a, "create", audit.diff({}, audit.snapshot(a))) for a in agents])
    return CreatedAgents(agents, passwords)


# Fields that decide what an agent may see and do. Only the administrator sets them, so
# nobody can widen their own (or a friend's) access: a supervisor allowed to edit agents
# could otherwise give themselves scope "all" or a stronger role.
PRIVILEGE_FIELDS = ("role", "data_scope")


def check_privilege_grant(actor: Agent | None, agent: Agent | None, changes: dict) -> None:
    if actor is None or actor.is_enterprise_admin or actor.is_superuser:
        return
    for field in PRIVILEGE_FIELDS:
        if field not in changes:
            continue
        current = getattr(agent, field) if agent is not None else Agent._meta.get_field(field).get_default()
        if changes[field] != current:
            refuse(field, _("只有企业管理员可以设置角色和数据范围"))
    if agent is not None and agent.pk == actor.pk and changes.get("agent_type", agent.agent_type) != agent.agent_type:
        refuse("agent_type", _("不能修改自己的坐席类型"))


def agent_check_update(agent: Agent, changes: dict, actor: Agent | None = None) -> None:
    """Rules for editing an agent; raises ServiceError naming the field."""
    check_privilege_grant(actor, agent, changes)
    new_type = changes.get("agent_type", agent.agent_type)
    if agent.is_protected_admin and new_type != AgentType.ADMIN:
        refuse("agent_type", _("800 是企业管理员，不能禁用或更改类型"))
    if not agent.is_protected_admin and new_type == AgentType.ADMIN:
        refuse("agent_type", _("每个企业只能有一个企业管理员（800）"))
    if "caller_id" in changes and changes["caller_id"] is None:
        refuse("caller_id", _("每个坐席都必须有外显号码"))
    if "outbound_trunk" in changes:
        changes["outbound_trunk"] = check_outbound_trunk(agent.enterprise_id, changes["outbound_trunk"])
    supervisor = changes.get("supervisor")
    if supervisor is not None:
        node, seen = supervisor, set()
        while node is not None and node.pk not in seen:
            if node.pk == agent.pk:
                refuse("supervisor", _("坐席上级不能是本人或本人的下级"))
            seen.add(node.pk)
            node = node.supervisor


def agent_update(*, agent: Agent, changes: dict, actor: Agent | None = None) -> Agent:
    agent_check_update(agent, changes, actor)
    before = audit.snapshot(agent)
    for name, value in changes.items():
        setattr(agent, name, value)
    with transaction.atomic():
        agent.save()
        audit.record_update(agent, before)
    return agent


def agent_reset_password(*, agent: Agent) -> str:
    """A new random 6-digit password, shown once; the agent must change it at next login.

    Nobody else of the enterprise may reset the administrator's (800) password: whoever
    could would sign in as the administrator and hold every permission.
    """
    actor = current().actor
    if agent.is_protected_admin and getattr(actor, "enterprise_id", None) is not None and actor.pk != agent.pk:
        refuse("agent", _("800 是企业管理员，只有管理员本人可以修改其密码"))
    password = random_digits()
    before = audit.snapshot(agent)
    agent.password = make_password(password, hasher=TEMP_HASHER)
    agent.must_change_password = True
    with transaction.atomic():
        agent.save(update_fields=["password", "must_change_password"])
        audit.record_update(agent, before)
    return password


def agent_delete_refusal(agent: Agent) -> str | None:
    if agent.is_protected_admin:
        return _("800 是企业管理员，不能删除")
    found = related_data(agent)
    if found:
        parts = "、".join(f"{label} {n}" for label, n in found)
        return _("坐席 %(num)s 有关联数据（%(parts)s），不能删除，可以改为禁用") % {"num": agent.number, "parts": parts}
    return None


def agent_delete(*, agent: Agent) -> None:
    refusal = agent_delete_refusal(agent)
    if refusal:
        refuse("agent", refusal)
    with transaction.atomic():
        audit.record_delete(agent)
        agent.delete()


def agent_disable(*, agent: Agent) -> Agent:
    return agent_update(agent=agent, changes={"agent_type": AgentType.DISABLED})


def agents_set_screen_pop(*, enterprise: Enterprise, url: str, agents: list[Agent] | None = None) -> int:
    """Set the third-party screen-pop URL for the given agents, or for all (enterprise default)."""
    if agents is None:
        enterprise_update(enterprise=enterprise, changes={"screen_pop_url": url})
        objs = list(Agent.objects.filter(enterprise=enterprise).exclude(screen_pop_url=""))
        changes = {"screen_pop_url": ""}
    else:
        objs = agents
        changes = {"screen_pop_url": url}
    entries = []
    for obj in objs:
        before = audit.snapshot(obj)
        obj.screen_pop_url = changes["screen_pop_url"]
        entries.append((obj, "update", audit.diff(before, audit.snapshot(obj))))
    with transaction.atomic():
        Agent.objects.bulk_update(objs, ["screen_pop_url"], batch_size=500)
        audit.record_many(entries)
    return len(objs)


# --- caller IDs ------------------------------------------------------------------------------


@transaction.atomic
def caller_ids_add(*, enterprise: Enterprise, start: str, end: str | None = None) -> list[CallerId]:
    """Add one caller ID or a numeric range; the enterprise may hold at most 2 x its licensed lines."""
    start = (start or "").strip()
    end = (end or "").strip()
    for field, value in (("start", start), ("end", end)):
        if value and not value.isdigit():
            refuse(field, _("号码只能包含数字"))
    if not start:
        refuse("start", _("请填写号码"))
    if end:
        if len(end) != len(start):
            refuse("end", _("起止号码位数必须相同"))
        if int(end) < int(start):
            refuse("end", _("结束号码不能小于开始号码"))
        count = int(end) - int(start) + 1
    else:
        count = 1
    existing = CallerId.objects.filter(enterprise=enterprise).count()
    cap = enterprise.max_caller_ids
    if existing + count > cap:
        refuse("end" if end else "start", _(
            "外显号码最多 %(cap)s 个（授权外线数的2倍），已有 %(n)s 个，本次添加 %(add)s 个") % {
            "cap": cap, "n": existing, "add": count})
    numbers = [str(n).zfill(len(start)) for n in range(int(start), int(start) + count)]
    for number in numbers:
        if not 3 <= len(number) <= 20:
            refuse("start", _("号码必须是3到20位数字"))
    taken = set(CallerId.objects.filter(enterprise=enterprise, number__in=numbers).values_list("number", flat=True))
    if taken:
        refuse("start", _("以下号码已存在：%(nums)s") % {"nums": ", ".join(sorted(taken))})
    objs = CallerId.objects.bulk_create([CallerId(enterprise=enterprise, number=n) for n in numbers])
    objs = list(CallerId.objects.filter(enterprise=enterprise, number__in=numbers))
    audit.record_many([(o, "create", audit.diff({}, audit.snapshot(o))) for o in objs])
    return objs


def caller_id_delete_refusal(caller_id: CallerId) -> str | None:
    if CallerId.objects.filter(enterprise_id=caller_id.enterprise_id).count() <= 1:
        return _("企业至少要保留一个外显号码")
    users = list(Agent.objects.filter(caller_id=caller_id).order_by("number").values_list("number", flat=True)[:21])
    if users:
        shown = ", ".join(users[:20]) + (" …" if len(users) > 20 else "")
        return _("以下坐席正在使用外显号码 %(num)s：%(agents)s，请先为他们更换") % {"num": caller_id.number,
                                                                             "agents": shown}
    return None


def caller_id_delete(*, caller_id: CallerId) -> None:
    with transaction.atomic():
        # Lock the enterprise's caller IDs so two deletes cannot both leave it with none.
        list(CallerId.objects.select_for_update().filter(enterprise_id=caller_id.enterprise_id))
        refusal = caller_id_delete_refusal(caller_id)
        if refusal:
            refuse("caller_id", refusal)
        audit.record_delete(caller_id)
        caller_id.delete()


def caller_id_set_default(*, caller_id: CallerId) -> int:
    """【默认】: make this number the caller ID of every agent of the enterprise."""
    agents = list(Agent.objects.filter(enterprise_id=caller_id.enterprise_id).exclude(caller_id=caller_id))
    entries = []
    for agent in agents:
        before = audit.snapshot(agent)
        agent.caller_id = caller_id
        entries.append((agent, "update", audit.diff(before, audit.snapshot(agent))))
    with transaction.atomic():
        Agent.objects.bulk_update(agents, ["caller_id"], batch_size=500)
        audit.record_many(entries)
    return len(agents)


# --- departments --------------------------------------------------------------------------------


def department_delete_refusal(department: Department) -> str | None:
    counts = Department.objects.filter(pk=department.pk).annotate(
        n_agents=Count("agents", distinct=True), n_children=Count("children", distinct=True)).values(
        "n_agents", "n_children").get()
    if counts["n_agents"]:
        numbers = list(department.agents.order_by("number").values_list("number", flat=True)[:10])
        return _("部门“%(name)s”下还有 %(n)s 个坐席（%(nums)s），请先把他们移到其他部门") % {
            "name": department.name, "n": counts["n_agents"], "nums": ", ".join(numbers)}
    if counts["n_children"]:
        return _("部门“%(name)s”下还有 %(n)s 个下级部门，请先删除或移走") % {
            "name": department.name, "n": counts["n_children"]}
    return None


def department_check_parent(department: Department, parent: Department | None) -> None:
    node, seen = parent, set()
    while node is not None and node.pk not in seen:
        if department.pk is not None and node.pk == department.pk:
            refuse("parent", _("上级部门不能是本部门或其下级部门"))
        seen.add(node.pk)
        node = node.parent
