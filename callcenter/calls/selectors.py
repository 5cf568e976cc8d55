"""Reads of the calls app used by more than one view: the agent monitor (T10 坐席监控).

The monitor is two queries whatever the number of agents: the agents in the viewer's data
scope with their live state and, for the paused ones, the reason they gave (a correlated
subquery on the workspace's state-change index); and today's traffic per agent, one
GROUP BY over today's CDRs on the (enterprise, started_at) index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from django.db.models import Count, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from callcenter.accounts.choices import AgentType
from callcenter.accounts.models import Agent
from callcenter.calls.choices import AgentStatus
from callcenter.calls.models import Cdr
from callcenter.core.scope import visible_agent_ids


@dataclass
class AgentRow:
    agent: Agent
    state: str  # an AgentStatus value; OFFLINE for an agent call control never saw
    since: datetime | None
    seconds_in_state: int | None
    reason: str  # why a paused agent paused (示忙原因)
    call_id: str
    calls: int = 0
    answered: int = 0
    talk_seconds: int = 0

    @property
    def status(self) -> AgentStatus:
        return AgentStatus(self.state)


@dataclass
class Monitor:
    rows: list[AgentRow]
    day_start: datetime
    now: datetime
    by_state: dict[str, int] = field(default_factory=dict)
    calls: int = 0
    answered: int = 0
    talk_seconds: int = 0

    def state_counts(self) -> list[tuple[AgentStatus, int]]:
        return [(s, self.by_state.get(s.value, 0)) for s in AgentStatus]

    def chart(self) -> dict:
        """The monitor's two charts as data: agents per state, and today's traffic per agent."""
        from django.utils.translation import gettext as _

        return {
            "states": [{"name": str(s.label), "value": n, "key": s.value, "badge": s.badge}
                       for s, n in self.state_counts()],
            "labels": {"calls": _("今日呼叫"), "answered": _("接通"), "talk_minutes": _("通话分钟")},
            "agents": [row.agent.number for row in self.rows],
            "calls": [row.calls for row in self.rows],
            "answered": [row.answered for row in self.rows],
            "talk_minutes": [round(row.talk_seconds / 60, 1) for row in self.rows],
        }


def day_start(enterprise, now: datetime | None = None) -> datetime:
    """Midnight today in the enterprise's time zone, as an aware datetime."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(enterprise.time_zone or "Asia/Shanghai")
    local = (now or timezone.now()).astimezone(tz)
    return datetime.combine(local.date(), time.min, tzinfo=tz)


def agent_monitor(user, *, state: str | None = None, now: datetime | None = None) -> Monitor:
    """Every enabled agent the user may see, with live state, time in state, pause reason and
    today's calls, answered calls and talk time; `state` narrows the rows (not the counts)."""
    from callcenter.workspace.models import AgentStateChange

    now = now or timezone.now()
    enterprise = user.enterprise
    start = day_start(enterprise, now)
    ids = visible_agent_ids(user)
    agents = Agent.objects.filter(enterprise_id=enterprise.pk).exclude(agent_type=AgentType.DISABLED)
    if ids is not None:
        agents = agents.filter(pk__in=ids)
    reason = (AgentStateChange.objects
              .filter(enterprise_id=OuterRef("enterprise_id"), agent_id=OuterRef("pk"), state=AgentStatus.PAUSED)
              .order_by("-at").values("reason")[:1])
    agents = agents.select_related("live_state").annotate(pause_reason=Subquery(reason)).order_by("number")

    traffic_qs = Cdr.objects.filter(enterprise_id=enterprise.pk, started_at__gte=start, agent__isnull=False)
    if ids is not None:
        traffic_qs = traffic_qs.filter(agent_id__in=ids)
    traffic = {row["agent_id"]: row for row in traffic_qs.order_by().values("agent_id").annotate(
        calls=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)), talk=Sum("talk_seconds"))}

    monitor = Monitor(rows=[], day_start=start, now=now)
    for agent in agents:
        live = getattr(agent, "live_state", None)
        current = live.state if live is not None else AgentStatus.OFFLINE.value
        since = live.since if live is not None else None
        t = traffic.get(agent.pk, {})
        row = AgentRow(agent=agent, state=current, since=since,
                       seconds_in_state=max(0, int((now - since).total_seconds())) if since else None,
                       reason=(agent.pause_reason or "") if current == AgentStatus.PAUSED else "",
                       call_id=live.call_id if live is not None else "",
                       calls=t.get("calls", 0), answered=t.get("answered", 0), talk_seconds=t.get("talk") or 0)
        monitor.by_state[current] = monitor.by_state.get(current, 0) + 1
        monitor.calls += row.calls
        monitor.answered += row.answered
        monitor.talk_seconds += row.talk_seconds
        if not state or state == current:
            monitor.rows.append(row)
    return monitor
