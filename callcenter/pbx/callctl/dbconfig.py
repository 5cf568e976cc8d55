"""Read call-time configuration from the database into the pure logic's dataclasses.

Call flows, groups, IVR menus, schedules, routes and the blacklist are read here at
call time, so a change in the UI takes effect on the next call (no apply needed).
Everything here is synchronous ORM code; call control runs it in a worker thread.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass

from callcenter.accounts.choices import AgentType
from callcenter.accounts.models import Agent
from callcenter.calls.choices import AgentStatus
from callcenter.calls.models import AgentState, Cdr
from callcenter.core.models import Enterprise
from callcenter.pbx.asterisk.render import endpoint_name, trunk_endpoint_name
from callcenter.pbx.callctl.logic.flow import FlowConfig
from callcenter.pbx.callctl.logic.groups import GroupConfig, GroupMember
from callcenter.pbx.callctl.logic.ivr import IvrKeyConfig, MenuConfig
from callcenter.pbx.callctl.logic.routing import (
    RouteRule,
    RoutingConfig,
    ScheduleConfig,
    SlotConfig,
    normalize_number,
)
from callcenter.pbx.selectors import prompt_ref
from callcenter.telephony.models import (
    AgentGroup,
    BlacklistEntry,
    CallFlow,
    DidRoute,
    IvrMenu,
    Queue,
    Route,
    Schedule,
    Trunk,
)

BUSY_STATES = {AgentStatus.BUSY, AgentStatus.RINGING, AgentStatus.PAUSED, AgentStatus.WRAPUP}


def media(prompt) -> str | None:
    """The ARI media URI of a Prompt row (`sound:<path without extension>`)."""
    ref = prompt_ref(prompt)
    return f"sound:{ref.path}" if ref else None


@dataclass(frozen=True)
class FlowRun:
    """Everything a test dial or group call needs of one CallFlow."""

    enterprise_id: int
    code: str
    flow_id: int
    flow_name: str
    config: FlowConfig
    group: GroupConfig | None
    group_name: str
    caller_id: str
    trunk_id: int | None
    trunk_endpoint: str | None


def flow_run(flow_id: int) -> FlowRun:
    flow = CallFlow.objects.select_related("enterprise", "prompt", "ringback", "caller_id", "agent_group").get(
        pk=flow_id)
    ent = flow.enterprise
    config = FlowConfig(
        transfer_mode=flow.transfer_mode, prompt=media(flow.prompt), ringback=media(flow.ringback),
        play_seconds=flow.play_seconds, replay_key=flow.replay_key, transfer_key=flow.transfer_key,
        play_count=flow.play_count)
    trunk = Trunk.objects.filter(enterprise=ent, enabled=True).order_by("number").first()
    return FlowRun(
        enterprise_id=ent.pk, code=ent.code, flow_id=flow.pk, flow_name=flow.name, config=config,
        group=group_config(flow.agent_group) if flow.agent_group_id else None,
        group_name=flow.agent_group.name if flow.agent_group_id else "",
        caller_id=flow.caller_id.number if flow.caller_id_id else (trunk.number if trunk else ""),
        trunk_id=trunk.pk if trunk else None,
        trunk_endpoint=trunk_endpoint_name(ent.code, trunk.number) if trunk else None)


def group_config(group: AgentGroup) -> GroupConfig:
    # Plain values, not model instances: a group of 1,000 agents is read on every call it takes.
    members = tuple(
        GroupMember(agent_id=agent_id, extension=number, position=position)
        for agent_id, number, position in group.memberships.exclude(agent__agent_type=AgentType.DISABLED)
        .values_list("agent_id", "agent__number", "position"))
    return GroupConfig(id=group.pk, order_rule=group.order_rule, members=members,
                       last_agent_id=group.last_agent_id, enabled=group.enabled)


def group_by_name(enterprise_id: int, name: str) -> GroupConfig | None:
    group = AgentGroup.objects.filter(enterprise_id=enterprise_id, name=name).first()
    return group_config(group) if group else None


def remember_group_agent(group_id: int, agent_id: int) -> None:
    AgentGroup.objects.filter(pk=group_id).update(last_agent_id=agent_id)


def remember_default_index(menu_id: int, index: int) -> None:
    IvrMenu.objects.filter(pk=menu_id).update(last_default_index=index)


def busy_agent_ids(enterprise_id: int) -> set[int]:
    return set(AgentState.objects.filter(enterprise_id=enterprise_id, state__in=BUSY_STATES)
               .values_list("agent_id", flat=True))


def menu_config(menu: IvrMenu) -> MenuConfig:
    keys = {k.key: IvrKeyConfig(key=k.key, action=k.action, extension=k.extension, prompt=media(k.prompt))
            for k in menu.keys.select_related("prompt")}
    return MenuConfig(id=menu.pk, name=menu.name, prompt=media(menu.prompt),
                      default_extensions=tuple(menu.default_extension_list()), default_order=menu.default_order,
                      ring_wait_seconds=menu.ring_wait_seconds, to_last_agent=menu.to_last_agent,
                      direct_dial=menu.direct_dial, keys=keys, last_default_index=menu.last_default_index)


@dataclass(frozen=True)
class InboundContext:
    enterprise_id: int
    code: str
    tz: zoneinfo.ZoneInfo
    routing: RoutingConfig
    trunk_id: int | None


def inbound_context(code: str, trunk_number: str) -> InboundContext | None:
    ent = Enterprise.objects.filter(code=code).first()
    if ent is None:
        return None
    menus = {m.pk: menu_config(m) for m in IvrMenu.objects.filter(enterprise=ent).select_related("prompt")}
    schedules = {s.pk: s for s in Schedule.objects.filter(enterprise=ent).prefetch_related("slots")}
    did_schedules: dict[str, list[ScheduleConfig]] = {}
    for did in DidRoute.objects.filter(enterprise=ent).order_by("pk"):
        s = schedules.get(did.schedule_id)
        if s is None:
            continue
        did_schedules.setdefault(normalize_number(did.did), []).append(ScheduleConfig(
            id=s.pk, default_menu_id=s.default_menu_id, weekdays=frozenset(s.weekday_set()), name=s.name,
            slots=tuple(SlotConfig(start=x.start, end=x.end, menu_id=x.menu_id) for x in s.slots.all())))
    routes = tuple(RouteRule(
        id=r.pk, kind=r.kind, destination_kind=r.destination_kind, destination=r.destination, priority=r.priority,
        name=r.name, numbers=frozenset(normalize_number(n) for n in r.number_list()),
        customer_category=r.customer_category, province=r.province, city=r.city, enabled=r.enabled)
        for r in Route.objects.filter(enterprise=ent))
    blacklist = frozenset(normalize_number(n) for n in BlacklistEntry.objects.filter(
        enterprise=ent, direction__in=["in", "both"]).values_list("number", flat=True))
    trunk = Trunk.objects.filter(enterprise=ent, number=trunk_number).values_list("pk", flat=True).first()
    return InboundContext(ent.pk, ent.code, zoneinfo.ZoneInfo(ent.time_zone),
                          RoutingConfig(blacklist_inbound=blacklist, routes=routes, did_schedules=did_schedules,
                                        menus=menus), trunk)


def last_agent_of(enterprise_id: int, caller: str) -> str | None:
    """The extension of the agent who last talked with `caller` (N1 "to the last agent")."""
    return (Cdr.objects.filter(enterprise_id=enterprise_id, caller=caller, agent__isnull=False,
                               answered_at__isnull=False).order_by("-started_at")
            .values_list("agent__number", flat=True).first())


@dataclass(frozen=True)
class Extension:
    kind: str  # "agent" or "queue"
    number: str
    agent_id: int | None = None
    endpoint: str = ""
    record: bool = False
    queue_name: str = ""


def resolve_extension(enterprise_id: int, code: str, number: str) -> Extension | None:
    agent = (Agent.objects.filter(enterprise_id=enterprise_id, number=number)
             .exclude(agent_type=AgentType.DISABLED).values("pk", "record_calls").first())
    if agent:
        return Extension("agent", number, agent["pk"], endpoint_name(code, number), agent["record_calls"])
    queue = Queue.objects.filter(enterprise_id=enterprise_id, extension=number, enabled=True).values(
        "name").first()
    if queue:
        return Extension("queue", number, queue_name=queue["name"])
    return None


class ExtensionIndex:
    """Every extension of an enterprise, as `resolve_extension` resolves each (an agent's
    number before a queue's). Rows stay tuples until one is looked up: a round-robin group
    of 1,000 agents rings a different number every call, and one read of them all (cached
    by call control) replaces a read per call."""

    def __init__(self, code: str, queues: dict[str, str], agents: dict[str, tuple[int, bool]]):
        self.code, self._queues, self._agents = code, queues, agents

    def get(self, number: str) -> Extension | None:
        agent = self._agents.get(number)
        if agent is not None:
            return Extension("agent", number, agent[0], endpoint_name(self.code, number), agent[1])
        name = self._queues.get(number)
        return Extension("queue", number, queue_name=name) if name is not None else None


def extensions_of(enterprise_id: int, code: str) -> ExtensionIndex:
    queues = dict(Queue.objects.filter(enterprise_id=enterprise_id, enabled=True).values_list("extension", "name"))
    agents = {number: (pk, record) for pk, number, record in
              Agent.objects.filter(enterprise_id=enterprise_id).exclude(agent_type=AgentType.DISABLED)
              .values_list("pk", "number", "record_calls")}
    return ExtensionIndex(code, queues, agents)


def agent_records(agent_id: int) -> bool:
    return bool(Agent.objects.filter(pk=agent_id, record_calls=True).exists())



def overflow_targets(enterprise_id: int, code: str, extension: str) -> list[Extension]:
    """未接通转手机: the bound phones of a queue's members, in member order, dialled through the
    agent's outbound trunk (or the enterprise's first) with its prefix, as outbound calls are."""
    from callcenter.telephony.models import QueueMember

    trunks = list(Trunk.objects.filter(enterprise_id=enterprise_id, enabled=True).order_by("number"))
    if not trunks:
        return []
    by_key = {t.number: t for t in trunks} | {t.account: t for t in trunks if t.account}
    members = (QueueMember.objects.filter(queue__enterprise_id=enterprise_id, queue__extension=extension)
               .exclude(agent__agent_type=AgentType.DISABLED).exclude(agent__phone="")
               .select_related("agent").order_by("position", "id"))
    targets = []
    for m in members:
        trunk = by_key.get(m.agent.outbound_trunk) or trunks[0]
        phone = m.agent.phone.lstrip("+")
        targets.append(Extension("agent", m.agent.number, m.agent_id,
                                 f"{trunk.prefix}{phone}@{trunk_endpoint_name(code, trunk.number)}",
                                 m.agent.record_calls))
    return targets
