"""Reads over a task's results (T5 明细, T6 进度, T8 坐席任务明细), shared by the pages and the API.

Progress is computed from the rows, never kept as counters: one aggregate over the task's
numbers (index `tasknum_task`), one over its attempts (`attempt_task_created`) and one
grouped by time for the chart. Definitions (campaign contract):

- dialled: numbers with attempts in the current round, or done with a dial result;
- answered: done with a result in ANSWERED_RESULTS; transferred: done, TRANSFERRED;
- failed: done with a retryable result (so after its last retry), BLACKLISTED or CALLED_TODAY;
- cancelled: done because the task was ended before they were dialled;
- remaining: PENDING + RETRY + DIALING;
- lines in use: the task's attempts still DIALING (claimed, ringing or talking);
- abandon rate: ABANDONED / (TRANSFERRED + ABANDONED) over all attempts of the task;
- talk minutes per agent-hour: agents' talk minutes on the task's attempts (calls an agent
  took) over (agents who took its calls x hours from its first attempt to its last, or to
  now while it runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import Coalesce, Trunc
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.calls.models import Cdr
from callcenter.campaigns.choices import (
    ANSWERED_RESULTS,
    RETRYABLE_RESULTS,
    AttemptStatus,
    CallResult,
    NumberStatus,
    TaskStatus,
)
from callcenter.campaigns.models import Attempt, Task, TaskNumber
from callcenter.core.scope import scoped

LIVE_STATUSES = (TaskStatus.IMPORTING, TaskStatus.SCHEDULED, TaskStatus.RUNNING)
FAILED_RESULTS = frozenset(RETRYABLE_RESULTS | {CallResult.BLACKLISTED, CallResult.CALLED_TODAY})
DIAL_RESULTS = frozenset(ANSWERED_RESULTS | RETRYABLE_RESULTS)
REMAINING = (NumberStatus.PENDING, NumberStatus.RETRY, NumberStatus.DIALING)
# Below this much elapsed time a per-hour rate says nothing.
MIN_RATE_SECONDS = 60


def visible_tasks(user):
    """Tasks the user may open: their enterprise, narrowed by data scope (the task's creator)."""
    return scoped(Task.objects.all(), user)


@dataclass
class Progress:
    task: Task
    now: datetime
    total: int = 0
    dialled: int = 0
    answered: int = 0
    transferred: int = 0
    failed: int = 0
    cancelled: int = 0
    remaining: int = 0
    attempts: int = 0
    lines_in_use: int = 0
    abandoned: int = 0
    transfer_outcomes: int = 0  # TRANSFERRED + ABANDONED attempts
    talk_seconds: int = 0
    agents: int = 0
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None
    timeline: dict = field(default_factory=lambda: {"labels": [], "attempts": [], "answered": []})

    @property
    def live(self) -> bool:
        return self.task.status in LIVE_STATUSES

    @property
    def done(self) -> int:
        return self.total - self.remaining

    @property
    def percent_done(self) -> float:
        return round(100 * self.done / self.total, 1) if self.total else 0.0

    @property
    def abandon_rate(self) -> float | None:
        """Share of calls whose flow asked for a transfer that reached no agent, or None before any."""
        return round(self.abandoned / self.transfer_outcomes, 4) if self.transfer_outcomes else None

    @property
    def agent_hours(self) -> float:
        if self.first_attempt_at is None or not self.agents:
            return 0.0
        end = self.now if self.live else (self.last_attempt_at or self.now)
        seconds = (end - self.first_attempt_at).total_seconds()
        return self.agents * seconds / 3600 if seconds >= MIN_RATE_SECONDS else 0.0

    @property
    def talk_minutes_per_agent_hour(self) -> float | None:
        hours = self.agent_hours
        return round(self.talk_seconds / 60 / hours, 1) if hours else None

    def bars(self) -> list[dict]:
        return [
            {"key": "total", "name": _("号码总数"), "value": self.total, "badge": "secondary"},
            {"key": "dialled", "name": _("已呼叫"), "value": self.dialled, "badge": "primary"},
            {"key": "answered", "name": _("已接通"), "value": self.answered, "badge": "info"},
            {"key": "transferred", "name": _("已转坐席"), "value": self.transferred, "badge": "success"},
            {"key": "failed", "name": _("失败"), "value": self.failed, "badge": "danger"},
            {"key": "remaining", "name": _("未呼叫"), "value": self.remaining, "badge": "warning"},
        ]

    def as_dict(self) -> dict:
        """The API's and the chart's form."""
        return {
            "task": self.task.pk, "status": self.task.status, "submitted": self.task.submitted,
            "round": self.task.round, "live": self.live,
            "total": self.total, "dialled": self.dialled, "answered": self.answered,
            "transferred": self.transferred, "failed": self.failed, "cancelled": self.cancelled,
            "remaining": self.remaining, "percent_done": self.percent_done,
            "attempts": self.attempts, "lines_in_use": self.lines_in_use, "abandoned": self.abandoned,
            "abandon_rate": self.abandon_rate, "talk_seconds": self.talk_seconds, "agents": self.agents,
            "talk_minutes_per_agent_hour": self.talk_minutes_per_agent_hour,
            "timeline": self.timeline, "at": self.now.isoformat(),
        }

    def chart(self) -> dict:
        return {"bars": self.bars(), "timeline": self.timeline,
                "labels": {"attempts": _("呼叫次数"), "answered": _("接通次数")}}


def _bucket(first: datetime, last: datetime) -> tuple[str, str]:
    """Trunc kind and label format for the chart: minutes over two hours, hours over a week, else days."""
    span = last - first
    if span <= timedelta(hours=2):
        return "minute", "%H:%M"
    if span <= timedelta(days=7):
        return "hour", "%m-%d %H:00"
    return "day", "%Y-%m-%d"


def task_progress(task: Task, *, now: datetime | None = None) -> Progress:
    now = now or timezone.now()
    p = Progress(task=task, now=now)
    done = Q(status=NumberStatus.DONE)
    numbers = TaskNumber.objects.filter(task=task).aggregate(
        total=Count("id"),
        dialled=Count("id", filter=Q(attempts__gt=0) | (done & Q(result__in=DIAL_RESULTS))),
        answered=Count("id", filter=done & Q(result__in=ANSWERED_RESULTS)),
        transferred=Count("id", filter=done & Q(result=CallResult.TRANSFERRED)),
        failed=Count("id", filter=done & Q(result__in=FAILED_RESULTS)),
        cancelled=Count("id", filter=done & Q(result=CallResult.CANCELLED)),
        remaining=Count("id", filter=Q(status__in=REMAINING)),
    )
    for key, value in numbers.items():
        setattr(p, key, value or 0)
    attempts = Attempt.objects.filter(task=task).aggregate(
        attempts=Count("id"),
        lines=Count("id", filter=Q(status=AttemptStatus.DIALING)),
        transferred=Count("id", filter=Q(result=CallResult.TRANSFERRED)),
        abandoned=Count("id", filter=Q(result=CallResult.ABANDONED)),
        talk=Sum("talk_seconds", filter=Q(agent__isnull=False)),
        agents=Count("agent", distinct=True),
        first=Min("created_at"),
        last=Max(Coalesce("ended_at", "created_at")),
    )
    p.attempts = attempts["attempts"] or 0
    p.lines_in_use = attempts["lines"] or 0
    p.abandoned = attempts["abandoned"] or 0
    p.transfer_outcomes = (attempts["transferred"] or 0) + p.abandoned
    p.talk_seconds = attempts["talk"] or 0
    p.agents = attempts["agents"] or 0
    p.first_attempt_at, p.last_attempt_at = attempts["first"], attempts["last"]
    if p.first_attempt_at is not None:
        p.timeline = _timeline(task, p.first_attempt_at, now if p.live else p.last_attempt_at or now)
    return p


def _timeline(task: Task, first: datetime, last: datetime) -> dict:
    kind, fmt = _bucket(first, last)
    tz = ZoneInfo(task.enterprise.time_zone or "Asia/Shanghai")
    rows = (Attempt.objects.filter(task=task).annotate(at=Trunc("created_at", kind, tzinfo=tz))
            .values("at").annotate(n=Count("id"), a=Count("id", filter=Q(result__in=ANSWERED_RESULTS)))
            .order_by("at"))
    timeline = {"labels": [], "attempts": [], "answered": []}
    for row in rows:
        timeline["labels"].append(row["at"].astimezone(tz).strftime(fmt))
        timeline["attempts"].append(row["n"])
        timeline["answered"].append(row["a"])
    return timeline


# --- calls of task numbers (T5 recordings) -----------------------------------------------------------


def calls_by_call_id(user, call_ids) -> dict[str, dict]:
    """{call id: {"cdr": pk, "recording": id or None, "seconds": n}} for the calls the user may
    see (data scope of the CDR's agent): one indexed query for a page of numbers."""
    ids = [c for c in dict.fromkeys(call_ids) if c]
    if not ids:
        return {}
    rows = (scoped(Cdr.objects.filter(call_id__in=ids), user)
            .values("call_id", "pk", "recording_id", "recording__duration_seconds"))
    return {r["call_id"]: {"cdr": r["pk"], "recording": r["recording_id"],
                           "seconds": r["recording__duration_seconds"] or 0} for r in rows}
