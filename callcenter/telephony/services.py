"""Writes of call configuration (manual 2.2.1, 2.2.4, 2.2.6-2.2.10, 2.7.3, 2.8).

Every write with a rule is here: keyword-only, transactional, audited. A refusal is a
ServiceError naming the field, which the UI form and the API both show on that field.
Trunk and queue writes (and agents', in accounts) reach the PBX only when configuration
is applied (callcenter/pbx); they all pass through the functions below, so that is where
a "pending changes" marker hooks in.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterable
from datetime import time

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.utils.translation import gettext as _

from callcenter.accounts.choices import AgentType
from callcenter.accounts.models import Agent
from callcenter.accounts.services import ServiceError
from callcenter.core import audit
from callcenter.core.models import Enterprise
from callcenter.telephony import audio
from callcenter.telephony.choices import (
    BlacklistDirection,
    DestinationKind,
    IvrAction,
    PromptKind,
    RouteKind,
    TransferMode,
    TrunkServerType,
)
from callcenter.telephony.models import (
    AgentGroup,
    AgentGroupMember,
    BlacklistEntry,
    CallFlow,
    DidRoute,
    IvrKey,
    IvrMenu,
    Prompt,
    Queue,
    QueueMember,
    Route,
    Schedule,
    ScheduleSlot,
    Trunk,
)

# Area routing (C10): the provincial-level divisions a caller's number can belong to.
PROVINCES = [
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西",
    "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古",
    "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
]


class AudioRefused(ServiceError):
    """An upload that is not 8 kHz 16-bit mono PCM; `convertible` offers a conversion."""

    def __init__(self, message: str, *, convertible: bool):
        super().__init__({"file": [message]})
        self.convertible = convertible


class Errors(dict):
    """Collects every refusal of one write, so the form or the API shows them all at once."""

    def add(self, field: str, message) -> None:
        self.setdefault(field, []).append(str(message))

    def raise_if_any(self) -> None:
        if self:
            raise ServiceError(dict(self))


def shown(items: Iterable, limit: int = 10) -> str:
    items = [str(i) for i in items]
    return "、".join(items[:limit]) + (" …" if len(items) > limit else "")


def _clean(obj: models.Model) -> None:
    """Field validators and choices; uniqueness is checked by each rule with its own message."""
    obj.full_clean(exclude=["enterprise"], validate_unique=False, validate_constraints=False)


def _taken(qs, obj) -> bool:
    if obj.pk:
        qs = qs.exclude(pk=obj.pk)
    return qs.exists()


def _same_enterprise(errors: Errors, obj, *fields: str) -> None:
    for name in fields:
        related = getattr(obj, name)
        if related is not None and getattr(related, "enterprise_id", None) != obj.enterprise_id:
            errors.add(name, _("不属于本企业"))


# Stored encrypted and never shown back: the audit log records only whether one is set.
SECRET_FIELDS = {"server_password"}


def snapshot(obj: models.Model) -> dict:
    """audit.snapshot, with file fields as their stored name and trunk passwords masked."""
    data = audit.snapshot(obj)
    for name, value in data.items():
        if isinstance(value, FieldFile):
            data[name] = value.name or ""
        elif name in SECRET_FIELDS:
            data[name] = "***" if value else ""
    return data


def _record(obj, action: str, before: dict, after: dict) -> None:
    changes = audit.diff(before, after)
    if changes or action != "update":
        audit.record_many([(obj, action, changes)])


def _create(obj, check: Callable) -> models.Model:
    _clean(obj)
    check(obj)
    obj.save()
    _record(obj, "create", {}, snapshot(obj))
    return obj


def _update(obj, changes: dict, check: Callable) -> models.Model:
    """`obj` is the stored row: its values before `changes` are the audit's "before"."""
    before = snapshot(obj)
    for name, value in changes.items():
        setattr(obj, name, value)
    _clean(obj)
    check(obj)
    obj.save()
    _record(obj, "update", before, snapshot(obj))
    return obj


def _delete(obj, refusal: str | None, field: str) -> None:
    if refusal:
        raise ServiceError({field: [refusal]})
    _record(obj, "delete", snapshot(obj), {})
    obj.delete()


# --- extensions and destinations -----------------------------------------------------------------


def existing_extensions(enterprise_id: int, candidates: Iterable[str]) -> set[str]:
    """Which of `candidates` are an agent number or a queue extension of the enterprise."""
    candidates = {c for c in candidates if c}
    if not candidates:
        return set()
    found = set(Agent.objects.filter(enterprise_id=enterprise_id, number__in=candidates)
                .values_list("number", flat=True))
    found |= set(Queue.objects.filter(enterprise_id=enterprise_id, extension__in=candidates)
                 .values_list("extension", flat=True))
    return found


def destination_refusal(enterprise_id: int, kind: str, value: str) -> str | None:
    value = (value or "").strip()
    if not value:
        return _("请填写目标")
    if kind == DestinationKind.EXTENSION:
        if value not in existing_extensions(enterprise_id, [value]):
            return _("分机 %(v)s 不存在（须是坐席号或队列分机号）") % {"v": value}
    elif kind == DestinationKind.GROUP:
        if not AgentGroup.objects.filter(enterprise_id=enterprise_id, name=value).exists():
            return _("坐席组“%(v)s”不存在") % {"v": value}
    elif kind == DestinationKind.IVR:
        if not IvrMenu.objects.filter(enterprise_id=enterprise_id, name=value).exists():
            return _("语音导航“%(v)s”不存在") % {"v": value}
    else:
        return _("未知的目标类型")
    return None


def extension_users(enterprise_id: int, extension: str) -> list[str]:
    """Where an extension is named: IVR default extensions and keys, routes."""
    users = []
    for menu in IvrMenu.objects.filter(enterprise_id=enterprise_id, default_extensions__contains=extension):
        if extension in menu.default_extension_list():
            users.append(_("语音导航“%(n)s”（默认呼叫电话）") % {"n": menu.name})
    for key in IvrKey.objects.filter(menu__enterprise_id=enterprise_id, extension=extension,
                                     action=IvrAction.EXTENSION).select_related("menu"):
        users.append(_("语音导航“%(n)s”（按键 %(k)s）") % {"n": key.menu.name, "k": key.key})
    users += [_("导航规则“%(n)s”") % {"n": r.name} for r in Route.objects.filter(
        enterprise_id=enterprise_id, destination_kind=DestinationKind.EXTENSION, destination=extension)]
    return users


def _routes_naming(enterprise_id: int, kind: str, name: str) -> list[Route]:
    return list(Route.objects.filter(enterprise_id=enterprise_id, destination_kind=kind, destination=name))


def _rename_in_routes(enterprise_id: int, kind: str, old: str, new: str) -> None:
    """Routes name groups and menus by name: a rename carries over to them."""
    if old == new:
        return
    entries = []
    routes = _routes_naming(enterprise_id, kind, old)
    for route in routes:
        entries.append((route, "update", {"destination": [old, new]}))
        route.destination = new
    Route.objects.bulk_update(routes, ["destination"])
    audit.record_many(entries)


# --- prompts (语音上传 C1) ---------------------------------------------------------------------------


def _prompt_check(prompt: Prompt) -> None:
    errors = Errors()
    if _taken(Prompt.objects.filter(enterprise_id=prompt.enterprise_id, name=prompt.name), prompt):
        errors.add("name", _("已有名为“%(name)s”的语音") % {"name": prompt.name})
    errors.raise_if_any()


@transaction.atomic
def prompt_create(*, enterprise: Enterprise, name: str, data: bytes, filename: str = "",
                  kind: str = PromptKind.PROMPT, remark: str = "", convert: bool = False) -> Prompt:
    """Check the upload by content (audio.py), store it as a WAV, keep its duration and size."""
    prompt = Prompt(enterprise=enterprise, name=(name or "").strip(), kind=kind, remark=remark or "")
    _prompt_check(prompt)
    try:
        prepared = audio.prepare(data, filename, convert=convert)
    except audio.AudioRejected as exc:
        raise AudioRefused(exc.message, convertible=exc.convertible)
    prompt.duration_ms = prepared.duration_ms
    prompt.size = len(prepared.wav)
    prompt.file.save(f"{enterprise.code}-{uuid.uuid4().hex}.wav", ContentFile(prepared.wav), save=False)
    stored = prompt.file.name
    try:
        _create(prompt, _prompt_check)
    except Exception:
        prompt.file.storage.delete(stored)
        raise
    return prompt


@transaction.atomic
def prompt_update(*, prompt: Prompt, changes: dict) -> Prompt:
    """【修改】: the name and the remark; the sound itself is replaced by uploading anew."""
    allowed = {k: v for k, v in changes.items() if k in ("name", "remark")}
    if "name" in allowed:
        allowed["name"] = (allowed["name"] or "").strip()
    return _update(prompt, allowed, _prompt_check)


def prompt_users(prompt: Prompt) -> list[str]:
    """Everything that plays the prompt: flows, queues, IVR menus and their keys."""
    users = []
    for label, qs in (
        (_("流程“%(n)s”（播放语音）"), CallFlow.objects.filter(prompt=prompt)),
        (_("流程“%(n)s”（转接彩铃）"), CallFlow.objects.filter(ringback=prompt)),
        (_("队列“%(n)s”（队列彩铃）"), Queue.objects.filter(music=prompt)),
        (_("队列“%(n)s”（循环播放提示音）"), Queue.objects.filter(announce=prompt)),
        (_("队列“%(n)s”（播工号前语音）"), Queue.objects.filter(before_number_prompt=prompt)),
        (_("队列“%(n)s”（播工号后语音）"), Queue.objects.filter(after_number_prompt=prompt)),
        (_("语音导航“%(n)s”（导航语音）"), IvrMenu.objects.filter(prompt=prompt)),
    ):
        users += [label % {"n": name} for name in qs.order_by("name").values_list("name", flat=True)]
    for menu_name, key in IvrKey.objects.filter(prompt=prompt).order_by("menu__name", "key").values_list(
            "menu__name", "key"):
        users.append(_("语音导航“%(n)s”（按键 %(k)s）") % {"n": menu_name, "k": key})
    return users


def prompt_delete_refusal(prompt: Prompt) -> str | None:
    users = prompt_users(prompt)
    if users:
        return _("语音“%(name)s”正在被使用：%(users)s，不能删除") % {"name": prompt.name, "users": shown(users)}
    return None


def prompt_delete(*, prompt: Prompt) -> None:
    with transaction.atomic():
        _delete(prompt, prompt_delete_refusal(prompt), "prompt")
        name, storage = prompt.file.name, prompt.file.storage
        transaction.on_commit(lambda: storage.delete(name))


# --- members of agent groups (C4) and queues (C8) ---------------------------------------------------------


def _membership(owner):
    if isinstance(owner, AgentGroup):
        return AgentGroupMember, "group"
    return QueueMember, "queue"


def member_numbers(owner) -> list[str]:
    model, field = _membership(owner)
    return list(model.objects.filter(**{field: owner}).order_by("position", "id")
                .values_list("agent__number", flat=True))


def _check_agents(owner, agents: list[Agent], field: str = "agents") -> None:
    errors = Errors()
    for agent in agents:
        if agent.enterprise_id != owner.enterprise_id:
            errors.add(field, _("坐席不属于本企业"))
        elif agent.agent_type == AgentType.DISABLED:
            errors.add(field, _("坐席 %(num)s 已禁用") % {"num": agent.number})
    numbers = [a.number for a in agents]
    twice = sorted({n for n in numbers if numbers.count(n) > 1})
    if twice:
        errors.add(field, _("坐席重复：%(nums)s") % {"nums": ", ".join(twice)})
    errors.raise_if_any()


def _record_members(owner, before: list[str]) -> None:
    after = member_numbers(owner)
    if after != before:
        audit.record_many([(owner, "update", {"members": [before, after]})])


def _write_members(owner, agent_ids: list[int]) -> None:
    model, field = _membership(owner)
    model.objects.filter(**{field: owner}).delete()
    model.objects.bulk_create([model(**{field: owner}, agent_id=pk, position=i) for i, pk in enumerate(agent_ids)])


def _lock(owner):
    return type(owner).objects.select_for_update().get(pk=owner.pk)


@transaction.atomic
def members_add(*, owner: AgentGroup | Queue, agents: list[Agent]) -> int:
    """【设置坐席】【添加】: append agents at the end of the answering order."""
    _lock(owner)
    _check_agents(owner, agents)
    before = member_numbers(owner)
    model, field = _membership(owner)
    present = set(model.objects.filter(**{field: owner}).values_list("agent_id", flat=True))
    new = [a for a in agents if a.pk not in present]
    if not new:
        raise ServiceError({"agents": [_("所选坐席已在其中")]})
    last = model.objects.filter(**{field: owner}).aggregate(m=models.Max("position"))["m"]
    start = -1 if last is None else last
    model.objects.bulk_create([model(**{field: owner}, agent=a, position=start + 1 + i) for i, a in enumerate(new)])
    _record_members(owner, before)
    return len(new)


@transaction.atomic
def member_remove(*, owner: AgentGroup | Queue, agent_id: int) -> None:
    owner = _lock(owner)
    model, field = _membership(owner)
    if isinstance(owner, Queue) and owner.enabled and model.objects.filter(**{field: owner}).count() <= 1:
        raise ServiceError({"agents": [_("队列已启用，至少要保留一个坐席；请先禁用队列")]})
    before = member_numbers(owner)
    deleted, _rows = model.objects.filter(**{field: owner}, agent_id=agent_id).delete()
    if not deleted:
        raise ServiceError({"agents": [_("该坐席不在其中")]})
    _record_members(owner, before)


@transaction.atomic
def member_move(*, owner: AgentGroup | Queue, agent_id: int, direction: str) -> None:
    """【上移】【下移】: swap with the neighbour; positions are renumbered 0..n-1."""
    owner = _lock(owner)
    model, field = _membership(owner)
    rows = list(model.objects.filter(**{field: owner}).order_by("position", "id"))
    index = next((i for i, r in enumerate(rows) if r.agent_id == agent_id), None)
    if index is None:
        raise ServiceError({"agents": [_("该坐席不在其中")]})
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(rows):
        return
    before = member_numbers(owner)
    rows[index], rows[other] = rows[other], rows[index]
    for position, row in enumerate(rows):
        row.position = position
    model.objects.bulk_update(rows, ["position"])
    _record_members(owner, before)


def _set_members(owner, agents: list[Agent]) -> None:
    """Replace the members with `agents`, in that order (the API's ordered list of ids)."""
    _check_agents(owner, agents, "members")
    if isinstance(owner, Queue) and owner.enabled and not agents:
        raise ServiceError({"members": [_("队列已启用，至少要保留一个坐席；请先禁用队列")]})
    before = member_numbers(owner)
    _write_members(owner, [a.pk for a in agents])
    _record_members(owner, before)


# --- agent groups (坐席组管理 C4) ------------------------------------------------------------------------


def _group_check(group: AgentGroup) -> None:
    errors = Errors()
    if _taken(AgentGroup.objects.filter(enterprise_id=group.enterprise_id, name=group.name), group):
        errors.add("name", _("已有名为“%(name)s”的坐席组") % {"name": group.name})
    errors.raise_if_any()


@transaction.atomic
def group_create(*, enterprise: Enterprise, values: dict, members: list[Agent] | None = None) -> AgentGroup:
    group = _create(AgentGroup(enterprise=enterprise, **values), _group_check)
    if members:
        _set_members(group, members)
    return group


@transaction.atomic
def group_update(*, group: AgentGroup, changes: dict, members: list[Agent] | None = None) -> AgentGroup:
    old_name = group.name
    group = _update(group, changes, _group_check)
    _rename_in_routes(group.enterprise_id, DestinationKind.GROUP, old_name, group.name)
    if members is not None:
        _set_members(group, members)
    return group


def group_set_enabled(*, group: AgentGroup, enabled: bool) -> AgentGroup:
    """【禁用】 / 启用."""
    with transaction.atomic():
        return _update(group, {"enabled": enabled}, _group_check)


def group_delete_refusal(group: AgentGroup) -> str | None:
    users = [_("流程“%(n)s”") % {"n": n} for n in group.flows.order_by("name").values_list("name", flat=True)]
    users += [_("导航规则“%(n)s”") % {"n": r.name} for r in _routes_naming(
        group.enterprise_id, DestinationKind.GROUP, group.name)]
    if users:
        return _("坐席组“%(name)s”正在被使用：%(users)s，不能删除") % {"name": group.name, "users": shown(users)}
    return None


def group_delete(*, group: AgentGroup) -> None:
    with transaction.atomic():
        _delete(group, group_delete_refusal(group), "group")


# --- call flows (流程设置 C6) -----------------------------------------------------------------------------


def _flow_check(flow: CallFlow) -> None:
    errors = Errors()
    if _taken(CallFlow.objects.filter(enterprise_id=flow.enterprise_id, name=flow.name), flow):
        errors.add("name", _("已有名为“%(name)s”的流程") % {"name": flow.name})
    _same_enterprise(errors, flow, "caller_id", "prompt", "ringback", "agent_group")
    mode = flow.transfer_mode
    # Each field that belongs to one transfer mode is checked only in that mode.
    if mode == TransferMode.PLAY_SECONDS and not flow.play_seconds:
        errors.add("play_seconds", _("“播放中转坐席”须填写播放时长（大于0秒）"))
    if mode == TransferMode.KEY_ONLY and not flow.transfer_key:
        errors.add("transfer_key", _("“仅按键转接”须选择转接按键"))
    if mode != TransferMode.DIRECT and flow.prompt_id is None:
        errors.add("prompt", _("须选择播放语音（只有“不播放直接转坐席”可以不选）"))
    if mode != TransferMode.PLAY_ONLY and flow.agent_group_id is None:
        errors.add("agent_group", _("须选择坐席组（只有“只播放不转接坐席”可以不选）"))
    if flow.prompt is not None and flow.prompt.kind != PromptKind.PROMPT:
        errors.add("prompt", _("播放语音须是类型为“语音”的语音"))
    if flow.ringback is not None and flow.ringback.kind != PromptKind.RINGBACK:
        errors.add("ringback", _("转接彩铃须是类型为“彩铃”的语音"))
    if flow.sms_enabled and not flow.sms_text.strip():
        errors.add("sms_text", _("开启短信发送时须填写短信内容"))
    errors.raise_if_any()


@transaction.atomic
def callflow_create(*, enterprise: Enterprise, values: dict) -> CallFlow:
    return _create(CallFlow(enterprise=enterprise, **values), _flow_check)


@transaction.atomic
def callflow_update(*, flow: CallFlow, changes: dict) -> CallFlow:
    return _update(flow, changes, _flow_check)


def callflow_delete(*, flow: CallFlow) -> None:
    with transaction.atomic():
        _delete(flow, None, "flow")


# --- trunks (外线设置 C7) and their DID rules ------------------------------------------------------------


def _trunk_account(enterprise: Enterprise, number: str) -> str:
    """The SIP account generated for a trunk: `<enterprise code><number>`, unique on the platform."""
    account = f"{enterprise.code}{number}"
    if len(account) > 40 or Trunk.objects.filter(account=account).exists():
        account = f"{enterprise.code[:24]}-{secrets.token_hex(6)}"
    return account


def trunk_lines_refusal(reserved: int | None, concurrent: int | None) -> str | None:
    """Lines kept for group calls come out of the concurrent lines (外线设置 群呼外线数)."""
    if reserved is not None and concurrent is not None and reserved > concurrent:
        return _("群呼外线数（%(r)s）不能大于并发外线数（%(c)s）") % {"r": reserved, "c": concurrent}
    return None


def _trunk_check(trunk: Trunk) -> None:
    errors = Errors()
    if _taken(Trunk.objects.filter(enterprise_id=trunk.enterprise_id, number=trunk.number), trunk):
        errors.add("number", _("外线号码 %(num)s 已存在") % {"num": trunk.number})
    refusal = trunk_lines_refusal(trunk.reserved_lines, trunk.concurrent_lines)
    if refusal:
        errors.add("reserved_lines", refusal)
    if trunk.server_type == TrunkServerType.LOCAL and not trunk.server_password:
        errors.add("server_password", _("服务器类型为“本地服务器”时须填写服务器密码"))
    if trunk.server_type == TrunkServerType.GATEWAY and not trunk.server_ip:
        errors.add("server_ip", _("服务器类型为“普通落地网关”时须填写服务器IP"))
    errors.raise_if_any()


def _trunk_values(values: dict) -> dict:
    values = dict(values)
    values.pop("account", None)
    if not values.get("server_password"):
        values.pop("server_password", None)  # blank means "keep": the password is never shown back
    return values


@transaction.atomic
def trunk_create(*, enterprise: Enterprise, values: dict) -> Trunk:
    trunk = Trunk(enterprise=enterprise, **_trunk_values(values))
    trunk.account = _trunk_account(enterprise, trunk.number)
    return _create(trunk, _trunk_check)


@transaction.atomic
def trunk_update(*, trunk: Trunk, changes: dict) -> Trunk:
    return _update(trunk, _trunk_values(changes), _trunk_check)


def trunk_delete(*, trunk: Trunk) -> None:
    with transaction.atomic():
        for route in trunk.did_routes.all():
            _record(route, "delete", snapshot(route), {})
        _delete(trunk, None, "trunk")


def _did_check(route: DidRoute) -> None:
    errors = Errors()
    _same_enterprise(errors, route, "trunk", "schedule")
    other = DidRoute.objects.filter(enterprise_id=route.enterprise_id, did=route.did).select_related("trunk")
    if route.pk:
        other = other.exclude(pk=route.pk)
    taken = other.first()
    if taken is not None:
        errors.add("did", _("呼入号码 %(did)s 已有导航规则（外线 %(trunk)s），一个号码只能有一条规则") % {
            "did": route.did, "trunk": taken.trunk.number})
    errors.raise_if_any()


@transaction.atomic
def did_create(*, trunk: Trunk, did: str, schedule: Schedule) -> DidRoute:
    """外线【设置】【添加】: the IVR schedule answering calls to one called number."""
    route = DidRoute(enterprise_id=trunk.enterprise_id, trunk=trunk, did=(did or "").strip(), schedule=schedule)
    return _create(route, _did_check)


@transaction.atomic
def did_update(*, route: DidRoute, changes: dict) -> DidRoute:
    if "did" in changes:
        changes = {**changes, "did": (changes["did"] or "").strip()}
    return _update(route, changes, _did_check)


def did_delete(*, route: DidRoute) -> None:
    with transaction.atomic():
        _delete(route, None, "did")


# --- queues (队列设置 C8) -------------------------------------------------------------------------------


def _queue_check(queue: Queue, members: list[Agent] | None = None) -> None:
    errors = Errors()
    ent = queue.enterprise_id
    if _taken(Queue.objects.filter(enterprise_id=ent, name=queue.name), queue):
        errors.add("name", _("已有名为“%(name)s”的队列") % {"name": queue.name})
    if _taken(Queue.objects.filter(enterprise_id=ent, extension=queue.extension), queue):
        errors.add("extension", _("队列分机号 %(ext)s 已被其他队列使用") % {"ext": queue.extension})
    if Agent.objects.filter(enterprise_id=ent, number=queue.extension).exists():
        errors.add("extension", _("分机号 %(ext)s 已是坐席号，队列分机号不能与坐席号相同") % {"ext": queue.extension})
    if queue.pk:
        stored = Queue.objects.filter(pk=queue.pk).values_list("extension", flat=True).first()
        if stored and stored != queue.extension:
            users = extension_users(ent, stored)
            if users:
                errors.add("extension", _("分机号 %(ext)s 正在被使用：%(users)s，不能修改") % {
                    "ext": stored, "users": shown(users)})
    _same_enterprise(errors, queue, "music", "announce", "before_number_prompt", "after_number_prompt")
    if queue.music is not None and queue.music.kind != PromptKind.RINGBACK:
        errors.add("music", _("队列彩铃须是类型为“彩铃”的语音"))
    for name in ("announce", "before_number_prompt", "after_number_prompt"):
        prompt = getattr(queue, name)
        if prompt is not None and prompt.kind != PromptKind.PROMPT:
            errors.add(name, _("须是类型为“语音”的语音"))
    if queue.enabled:
        has_members = bool(members) if members is not None else (
            queue.pk is not None and QueueMember.objects.filter(queue_id=queue.pk).exists())
        if not has_members:
            errors.add("enabled", _("队列没有坐席，不能启用；请先在【设置坐席】中添加坐席"))
    errors.raise_if_any()


@transaction.atomic
def queue_create(*, enterprise: Enterprise, values: dict, members: list[Agent] | None = None) -> Queue:
    queue = Queue(enterprise=enterprise, **values)
    if members:
        _check_agents(queue, members, "members")
    queue = _create(queue, lambda q: _queue_check(q, members or []))
    if members:
        _set_members(queue, members)
    return queue


@transaction.atomic
def queue_update(*, queue: Queue, changes: dict, members: list[Agent] | None = None) -> Queue:
    queue = _update(queue, changes, lambda q: _queue_check(q, members))
    if members is not None:
        _set_members(queue, members)
    return queue


def queue_set_enabled(*, queue: Queue, enabled: bool) -> Queue:
    """【启用/禁用】: a queue with no members cannot be enabled."""
    with transaction.atomic():
        return _update(_lock(queue), {"enabled": enabled}, _queue_check)


def queue_delete_refusal(queue: Queue) -> str | None:
    users = extension_users(queue.enterprise_id, queue.extension)
    if users:
        return _("队列“%(name)s”（分机 %(ext)s）正在被使用：%(users)s，不能删除") % {
            "name": queue.name, "ext": queue.extension, "users": shown(users)}
    return None


def queue_delete(*, queue: Queue) -> None:
    with transaction.atomic():
        _delete(queue, queue_delete_refusal(queue), "queue")


# --- database and area routing (数据库导航 C9, 地区导航 C10) -----------------------------------------------


def _route_check(route: Route) -> None:
    errors = Errors()
    if _taken(Route.objects.filter(enterprise_id=route.enterprise_id, kind=route.kind, name=route.name), route):
        errors.add("name", _("已有名为“%(name)s”的导航规则") % {"name": route.name})
    if route.kind == RouteKind.DATABASE:
        numbers = route.number_list()
        bad = [n for n in numbers if not (n.isdigit() and 3 <= len(n) <= 20)]
        if bad:
            errors.add("numbers", _("号码只能包含数字（3到20位）：%(nums)s") % {"nums": shown(bad)})
        if not numbers and not route.customer_category.strip():
            errors.add("numbers", _("请填写来电号码或客户分类（至少一项）"))
    elif route.kind == RouteKind.AREA:
        if not route.province:
            errors.add("province", _("请选择省份"))
        elif route.province not in PROVINCES:
            errors.add("province", _("未知的省份：%(p)s") % {"p": route.province})
    refusal = destination_refusal(route.enterprise_id, route.destination_kind, route.destination)
    if refusal:
        errors.add("destination", refusal)
    errors.raise_if_any()


def _route_values(kind: str, values: dict) -> dict:
    """Fields of the other kind are cleared: a route matches by numbers/category or by area."""
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in values.items()}
    if "numbers" in values:
        values["numbers"] = "\n".join(n.strip() for n in values["numbers"].replace(",", "\n").replace(
            "，", "\n").splitlines() if n.strip())
    blank = ("province", "city") if kind == RouteKind.DATABASE else ("numbers", "customer_category")
    for name in blank:
        values[name] = ""
    return values


@transaction.atomic
def route_create(*, enterprise: Enterprise, kind: str, values: dict) -> Route:
    values = {k: v for k, v in values.items() if k != "kind"}
    return _create(Route(enterprise=enterprise, kind=kind, **_route_values(kind, values)), _route_check)


@transaction.atomic
def route_update(*, route: Route, changes: dict) -> Route:
    kind = changes.get("kind", route.kind)
    return _update(route, _route_values(kind, changes), _route_check)


def route_delete(*, route: Route) -> None:
    with transaction.atomic():
        _delete(route, None, "route")


# --- IVR menus (语音导航管理 N1) ------------------------------------------------------------------------


def _normal_extensions(text: str) -> str:
    parts = [p.strip() for p in (text or "").replace("，", ",").replace(" ", ",").split(",")]
    return ",".join(p for p in parts if p)


def _menu_check(menu: IvrMenu) -> None:
    errors = Errors()
    if _taken(IvrMenu.objects.filter(enterprise_id=menu.enterprise_id, name=menu.name), menu):
        errors.add("name", _("已有名为“%(name)s”的语音导航") % {"name": menu.name})
    _same_enterprise(errors, menu, "prompt")
    if menu.prompt is not None and menu.prompt.kind != PromptKind.PROMPT:
        errors.add("prompt", _("导航语音须是类型为“语音”的语音"))
    wanted = menu.default_extension_list()
    bad = [x for x in wanted if not (x.isdigit() and 3 <= len(x) <= 4)]
    if bad:
        errors.add("default_extensions", _("分机号须是3到4位数字：%(x)s") % {"x": shown(bad)})
    else:
        missing = [x for x in wanted if x not in existing_extensions(menu.enterprise_id, wanted)]
        if missing:
            errors.add("default_extensions", _("以下分机不存在：%(x)s（须是坐席号或队列分机号）") % {
                "x": shown(missing)})
    errors.raise_if_any()


def _key_check(menu: IvrMenu, key: IvrKey, others: Iterable[IvrKey]) -> None:
    errors = Errors()
    if key.key in {o.key for o in others if o is not key and (o.pk is None or o.pk != key.pk)}:
        errors.add("key", _("按键 %(k)s 已设置") % {"k": key.key})
    if key.action == IvrAction.EXTENSION:
        if not key.extension:
            errors.add("extension", _("“直接转分机”须填写分机号"))
        elif key.extension not in existing_extensions(menu.enterprise_id, [key.extension]):
            errors.add("extension", _("分机 %(v)s 不存在（须是坐席号或队列分机号）") % {"v": key.extension})
    if key.action == IvrAction.PROMPT:
        if key.prompt_id is None:
            errors.add("prompt", _("“播放语音”须选择语音"))
        elif key.prompt.enterprise_id != menu.enterprise_id:
            errors.add("prompt", _("语音不存在"))
    errors.raise_if_any()


def _key_normal(key: IvrKey) -> IvrKey:
    if key.action != IvrAction.EXTENSION:
        key.extension = ""
    if key.action != IvrAction.PROMPT:
        key.prompt = None
    return key


def _keys_text(menu: IvrMenu) -> list[str]:
    return [f"{k.key}:{k.action}:{k.extension or (k.prompt_id or '')}" for k in menu.keys.order_by("key")]


def _set_keys(menu: IvrMenu, keys: list[dict]) -> None:
    before = _keys_text(menu)
    objs = [_key_normal(IvrKey(menu=menu, **values)) for values in keys]
    for obj in objs:
        try:
            obj.full_clean(exclude=["menu"], validate_unique=False, validate_constraints=False)
            _key_check(menu, obj, objs)
        except ValidationError as exc:
            raise ServiceError({"keys": [_("按键 %(k)s：%(m)s") % {"k": obj.key, "m": m} for m in exc.messages]})
    menu.keys.all().delete()
    IvrKey.objects.bulk_create(objs)
    after = _keys_text(menu)
    if before != after:
        audit.record_many([(menu, "update", {"keys": [before, after]})])


@transaction.atomic
def ivr_create(*, enterprise: Enterprise, values: dict, keys: list[dict] | None = None) -> IvrMenu:
    values = dict(values)
    values["default_extensions"] = _normal_extensions(values.get("default_extensions", ""))
    menu = _create(IvrMenu(enterprise=enterprise, **values), _menu_check)
    if keys:
        _set_keys(menu, keys)
    return menu


@transaction.atomic
def ivr_update(*, menu: IvrMenu, changes: dict, keys: list[dict] | None = None) -> IvrMenu:
    changes = dict(changes)
    if "default_extensions" in changes:
        changes["default_extensions"] = _normal_extensions(changes["default_extensions"])
    old_name = menu.name
    menu = _update(menu, changes, _menu_check)
    _rename_in_routes(menu.enterprise_id, DestinationKind.IVR, old_name, menu.name)
    if keys is not None:
        _set_keys(menu, keys)
    return menu


@transaction.atomic
def ivr_key_add(*, menu: IvrMenu, key: str, action: str, extension: str = "", prompt: Prompt | None = None) -> IvrKey:
    """【按键方案设置】: one key and what it does; a key is set once per menu."""
    menu = _lock(menu)
    before = _keys_text(menu)
    obj = _key_normal(IvrKey(menu=menu, key=key, action=action, extension=(extension or "").strip(), prompt=prompt))
    obj.full_clean(exclude=["menu"], validate_unique=False, validate_constraints=False)
    _key_check(menu, obj, list(menu.keys.all()) + [obj])
    obj.save()
    audit.record_many([(menu, "update", {"keys": [before, _keys_text(menu)]})])
    return obj


@transaction.atomic
def ivr_key_delete(*, key: IvrKey) -> None:
    menu = key.menu
    before = _keys_text(menu)
    key.delete()
    audit.record_many([(menu, "update", {"keys": [before, _keys_text(menu)]})])


def ivr_delete_refusal(menu: IvrMenu) -> str | None:
    users = [_("导航策略“%(n)s”（默认导航）") % {"n": n}
             for n in menu.default_in_schedules.order_by("name").values_list("name", flat=True)]
    users += [_("导航策略“%(n)s”（时段 %(s)s-%(e)s）") % {"n": s.schedule.name, "s": f"{s.start:%H:%M}",
                                                     "e": f"{s.end:%H:%M}"}
              for s in menu.slots.select_related("schedule").order_by("schedule__name", "start")]
    users += [_("导航规则“%(n)s”") % {"n": r.name} for r in _routes_naming(
        menu.enterprise_id, DestinationKind.IVR, menu.name)]
    if users:
        return _("语音导航“%(name)s”正在被使用：%(users)s，不能删除") % {"name": menu.name, "users": shown(users)}
    return None


def ivr_delete(*, menu: IvrMenu) -> None:
    with transaction.atomic():
        _delete(menu, ivr_delete_refusal(menu), "menu")


# --- schedules (导航时段及策略设置 N2) ------------------------------------------------------------------------


def _normal_weekdays(value) -> str:
    if isinstance(value, str):
        value = value.replace("，", ",").split(",")
    days = sorted({int(str(d).strip()) for d in value or [] if str(d).strip().isdigit()})
    return ",".join(str(d) for d in days)


def _schedule_check(schedule: Schedule) -> None:
    errors = Errors()
    if _taken(Schedule.objects.filter(enterprise_id=schedule.enterprise_id, name=schedule.name), schedule):
        errors.add("name", _("已有名为“%(name)s”的导航策略") % {"name": schedule.name})
    days = schedule.weekday_set()
    if not days:
        errors.add("weekdays", _("请至少选择一天"))
    elif not days <= set(range(1, 8)):
        errors.add("weekdays", _("星期只能是1到7"))
    _same_enterprise(errors, schedule, "default_menu")
    errors.raise_if_any()


def _slot_text(slot: ScheduleSlot) -> str:
    return f"{slot.start:%H:%M}-{slot.end:%H:%M}"


def _slots_check(schedule: Schedule, slots: list[ScheduleSlot]) -> None:
    errors = Errors()
    for slot in slots:
        if slot.menu is not None and slot.menu.enterprise_id != schedule.enterprise_id:
            errors.add("menu", _("不属于本企业"))
        if not isinstance(slot.start, time) or not isinstance(slot.end, time):
            errors.add("start", _("请填写开始时间和结束时间"))
        elif slot.start >= slot.end:
            errors.add("end", _("结束时间须晚于开始时间（%(slot)s）；跨午夜请分成两个时段") % {
                "slot": _slot_text(slot)})
    errors.raise_if_any()
    ordered = sorted(slots, key=lambda s: s.start)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.start < a.end:
            errors.add("start", _("时段 %(a)s 与 %(b)s 重叠") % {"a": _slot_text(a), "b": _slot_text(b)})
    errors.raise_if_any()


def _slots_text(schedule: Schedule) -> list[str]:
    return [f"{_slot_text(s)}:{s.menu_id}" for s in schedule.slots.order_by("start")]


def _set_slots(schedule: Schedule, slots: list[dict]) -> None:
    before = _slots_text(schedule)
    objs = [ScheduleSlot(schedule=schedule, **values) for values in slots]
    try:
        _slots_check(schedule, objs)
    except ValidationError as exc:
        raise ServiceError({"slots": exc.messages})
    schedule.slots.all().delete()
    ScheduleSlot.objects.bulk_create(objs)
    after = _slots_text(schedule)
    if before != after:
        audit.record_many([(schedule, "update", {"slots": [before, after]})])


@transaction.atomic
def schedule_create(*, enterprise: Enterprise, values: dict, slots: list[dict] | None = None) -> Schedule:
    values = dict(values)
    values["weekdays"] = _normal_weekdays(values.get("weekdays", "1,2,3,4,5,6,7"))
    schedule = _create(Schedule(enterprise=enterprise, **values), _schedule_check)
    if slots:
        _set_slots(schedule, slots)
    return schedule


@transaction.atomic
def schedule_update(*, schedule: Schedule, changes: dict, slots: list[dict] | None = None) -> Schedule:
    changes = dict(changes)
    if "weekdays" in changes:
        changes["weekdays"] = _normal_weekdays(changes["weekdays"])
    schedule = _update(schedule, changes, _schedule_check)
    if slots is not None:
        _set_slots(schedule, slots)
    return schedule


@transaction.atomic
def slot_add(*, schedule: Schedule, start: time, end: time, menu: IvrMenu) -> ScheduleSlot:
    """A time slot answered by its own menu; slots of one schedule may not overlap."""
    schedule = _lock(schedule)
    before = _slots_text(schedule)
    slot = ScheduleSlot(schedule=schedule, start=start, end=end, menu=menu)
    _slots_check(schedule, list(schedule.slots.select_related("menu")) + [slot])
    slot.save()
    audit.record_many([(schedule, "update", {"slots": [before, _slots_text(schedule)]})])
    return slot


@transaction.atomic
def slot_delete(*, slot: ScheduleSlot) -> None:
    schedule = slot.schedule
    before = _slots_text(schedule)
    slot.delete()
    audit.record_many([(schedule, "update", {"slots": [before, _slots_text(schedule)]})])


def schedule_delete_refusal(schedule: Schedule) -> str | None:
    dids = list(schedule.did_routes.order_by("did").values_list("did", flat=True))
    if dids:
        return _("导航策略“%(name)s”正在被呼入号码使用：%(dids)s，不能删除") % {"name": schedule.name,
                                                                       "dids": shown(dids)}
    return None


def schedule_delete(*, schedule: Schedule) -> None:
    with transaction.atomic():
        _delete(schedule, schedule_delete_refusal(schedule), "schedule")


# --- blacklist (黑名单 S3) ---------------------------------------------------------------------------------


def normal_number(number: str) -> str:
    """Spaces and dashes people type are dropped; what is left must be digits."""
    return "".join(ch for ch in str(number or "") if ch not in " -\t")


def _blacklist_check(entry: BlacklistEntry) -> None:
    errors = Errors()
    if not (entry.number.isdigit() and 3 <= len(entry.number) <= 20):
        errors.add("number", _("号码只能包含数字（3到20位）"))
    elif _taken(BlacklistEntry.objects.filter(enterprise_id=entry.enterprise_id, number=entry.number), entry):
        errors.add("number", _("号码 %(num)s 已在黑名单中") % {"num": entry.number})
    errors.raise_if_any()


@transaction.atomic
def blacklist_add(*, enterprise: Enterprise, number: str, direction: str = BlacklistDirection.BOTH,
                  remark: str = "") -> BlacklistEntry:
    entry = BlacklistEntry(enterprise=enterprise, number=normal_number(number), direction=direction,
                           remark=remark or "")
    return _create(entry, _blacklist_check)


@transaction.atomic
def blacklist_update(*, entry: BlacklistEntry, changes: dict) -> BlacklistEntry:
    if "number" in changes:
        changes = {**changes, "number": normal_number(changes["number"])}
    return _update(entry, changes, _blacklist_check)


def blacklist_delete(*, entry: BlacklistEntry) -> None:
    with transaction.atomic():
        _delete(entry, None, "number")


@transaction.atomic
def blacklist_add_many(*, enterprise: Enterprise, entries: list[BlacklistEntry]) -> int:
    """Import: rows already checked one by one (importers.py); one INSERT per batch."""
    for entry in entries:
        entry.enterprise = enterprise
    BlacklistEntry.objects.bulk_create(entries, batch_size=1000, ignore_conflicts=True)
    saved = list(BlacklistEntry.objects.filter(enterprise=enterprise, number__in=[e.number for e in entries]))
    audit.record_many([(e, "create", audit.diff({}, snapshot(e))) for e in saved])
    return len(saved)
