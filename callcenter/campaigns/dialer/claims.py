"""The dialer's database side (synchronous ORM; call control runs it in its database thread).

Crash safety (DESIGN.md "Crash safety of the dialer") rests on the order of three writes:

1. `claim`: in one transaction, under the enterprise's lease, due numbers are locked
   (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's transactions here are
   ``BEGIN IMMEDIATE``, which serialises writers), re-checked against the blacklist and
   "called today", and an `Attempt` in state `dialing` is committed for each, its number
   moved to `dialing`. Nothing has reached the PBX yet.
2. The channel is created on the PBX (``POST /channels/create``: in our Stasis application,
   not dialled) with the attempt id as its channel id and channel variable.
3. `mark_sent`: the attempt's `call_id` is committed. Only then is the channel dialled.

So after a crash, an attempt in `dialing` without `call_id` was never dialled: its channel
(if created) is hung up and the attempt is voided (`void`: the row goes, the number is due
again), keeping "originations seen by the PBX = attempt rows". One with `call_id` either
has a live channel (the call is adopted, and re-dialled if it had not been) or had its
call end while no one watched (`finish` with the result unknown: `failed`, retried per the
flow). See reconcile.py.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from callcenter.accounts.choices import AgentType
from callcenter.calls.choices import AgentStatus, ChannelKind
from callcenter.calls.models import AgentState, Cdr, LiveChannel
from callcenter.campaigns.choices import (
    AttemptStatus,
    CallResult,
    EndReason,
    NumberStatus,
    TaskStatus,
)
from callcenter.campaigns.dialer import rules
from callcenter.campaigns.models import Attempt, DialerLease, Task, TaskNumber, TaskWindow
from callcenter.core.models import Enterprise
from callcenter.telephony.models import AgentGroup, AgentGroupMember, CallFlow, Trunk

log = logging.getLogger(__name__)

OPEN_NUMBER_STATES = (NumberStatus.PENDING, NumberStatus.RETRY, NumberStatus.DIALING)
MANUAL_PICKUP_SECONDS = 30  # a manual request no dialer picked up by then is dropped
CLAIM_SCAN_ROUNDS = 5  # batches read per claim when blacklisted / called-today numbers are skipped


def _skip_locked(qs):
    """Rows another dialer holds are skipped, not waited for (PostgreSQL); SQLite's immediate
    transaction already holds the database's one write lock."""
    if connection.features.has_select_for_update_skip_locked:
        return qs.select_for_update(skip_locked=True, of=("self",))
    return qs


def _locked(qs):
    if connection.features.has_select_for_update_of:
        return qs.select_for_update(of=("self",))
    if connection.features.has_select_for_update:
        return qs.select_for_update()
    return qs


# --- leases ---------------------------------------------------------------------------------------------


def enterprises_with_work(codes=None) -> list[int]:
    """Enterprises a dialer has something to do for: submitted tasks that run or wait for their
    start time, and attempts still `dialing` (calls up, manual requests, or left by a crash).
    `codes`: only these enterprises (a dialer dedicated to some)."""
    tasks = Task.objects.filter(status__in=[TaskStatus.RUNNING, TaskStatus.SCHEDULED], submitted=True)
    attempts = Attempt.objects.filter(status=AttemptStatus.DIALING)
    if codes:
        tasks = tasks.filter(enterprise__code__in=list(codes))
        attempts = attempts.filter(enterprise__code__in=list(codes))
    return sorted(set(tasks.values_list("enterprise_id", flat=True).distinct())
                  | set(attempts.values_list("enterprise_id", flat=True).distinct()))


def lease_acquire(enterprise_id: int, holder: str, seconds: float, now: datetime | None = None) -> bool:
    """Take or renew the enterprise's lease: free, expired, or already ours. True when held."""
    now = now or timezone.now()
    until = now + timedelta(seconds=seconds)
    with transaction.atomic():
        ours = DialerLease.objects.filter(enterprise_id=enterprise_id, holder=holder).update(expires_at=until)
        if ours:
            return True
        taken = DialerLease.objects.filter(enterprise_id=enterprise_id, expires_at__lte=now).update(
            holder=holder, expires_at=until, acquired_at=now)
        if taken:
            log.info("dialer %s: took over the expired lease of enterprise %s", holder, enterprise_id)
            return True
        if DialerLease.objects.filter(enterprise_id=enterprise_id).exists():
            return False
        try:
            with transaction.atomic():
                DialerLease.objects.create(enterprise_id=enterprise_id, holder=holder, expires_at=until,
                                           acquired_at=now)
        except IntegrityError:  # another dialer created it first
            return False
    return True


def lease_release(enterprise_ids, holder: str) -> int:
    """Give the leases up (a clean stop): another dialer may take over at once."""
    return DialerLease.objects.filter(enterprise_id__in=list(enterprise_ids), holder=holder).delete()[0]


def _lease_valid(enterprise_id: int, holder: str, now: datetime) -> bool:
    """Inside a claim's transaction: the lease is still ours. On PostgreSQL the row is locked, so a
    takeover waits for this transaction and then sees the attempts it committed."""
    return _locked(DialerLease.objects.filter(enterprise_id=enterprise_id, holder=holder,
                                              expires_at__gt=now)).exists()


# --- what to pace ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrunkLine:
    id: int
    number: str
    prefix: str
    concurrent: int
    reserved: int


@dataclass(frozen=True)
class FlowPace:
    id: int
    ratio: int
    extra: int
    interval: int
    retries: int
    retry_delay: int
    group_id: int | None
    members: tuple[int, ...]


@dataclass(frozen=True)
class TaskPace:
    id: int
    name: str
    flow_id: int
    round: int
    windows: tuple[tuple[time, time], ...]
    recall_called_today: bool
    has_due: bool


@dataclass(frozen=True)
class Plan:
    """One tick's view of an enterprise: its running tasks, their flows, its trunks and agents."""

    enterprise_id: int
    code: str
    tz: ZoneInfo
    cps_limit: int
    tasks: tuple[TaskPace, ...]
    flows: dict[int, FlowPace]
    trunks: tuple[TrunkLine, ...]
    idle_since: dict[int, datetime]  # idle agents of the enterprise -> since when
    other_trunk_calls: int  # live trunk channels that are not this dialer's campaign calls
    now: datetime = field(default_factory=timezone.now)


def start_due_tasks(enterprise_id: int, now: datetime | None = None) -> list[int]:
    """定时发送: submitted tasks whose start time has come start running."""
    now = now or timezone.now()
    ids = list(Task.objects.filter(enterprise_id=enterprise_id, status=TaskStatus.SCHEDULED, submitted=True,
                                   start_at__lte=now).values_list("pk", flat=True))
    started = []
    for pk in ids:
        if Task.objects.filter(pk=pk, status=TaskStatus.SCHEDULED).update(status=TaskStatus.RUNNING, started_at=now):
            started.append(pk)
    return started


def end_finished_tasks(enterprise_id: int, now: datetime | None = None) -> list[int]:
    """A running task with no number left to call (none pending, due for a retry or being dialled)
    ends by itself (end reason: 号码已呼完)."""
    now = now or timezone.now()
    ended = []
    for pk in Task.objects.filter(enterprise_id=enterprise_id, status=TaskStatus.RUNNING).values_list("pk", flat=True):
        if TaskNumber.objects.filter(task_id=pk, status__in=OPEN_NUMBER_STATES).exists():
            continue
        if Task.objects.filter(pk=pk, status=TaskStatus.RUNNING).update(
                status=TaskStatus.ENDED, end_reason=EndReason.COMPLETED, ended_at=now):
            ended.append(pk)
    return ended


def plan(enterprise_id: int, now: datetime | None = None) -> Plan | None:
    now = now or timezone.now()
    ent = Enterprise.objects.filter(pk=enterprise_id).values("code", "time_zone", "dialer_cps_limit").first()
    if ent is None:
        return None
    tasks = list(Task.objects.filter(enterprise_id=enterprise_id, status=TaskStatus.RUNNING, submitted=True)
                 .order_by("started_at", "pk").values("pk", "name", "flow_id", "round", "recall_called_today"))
    windows: dict[int, list[tuple[time, time]]] = {}
    for task_id, start, end in TaskWindow.objects.filter(task_id__in=[t["pk"] for t in tasks]).values_list(
            "task_id", "start", "end"):
        windows.setdefault(task_id, []).append((start, end))
    due = set(TaskNumber.objects.filter(task_id__in=[t["pk"] for t in tasks]).filter(
        Q(status=NumberStatus.PENDING) | Q(status=NumberStatus.RETRY, next_attempt_at__lte=now))
        .values_list("task_id", flat=True).distinct()) if tasks else set()
    flows = {}
    for f in CallFlow.objects.filter(pk__in={t["flow_id"] for t in tasks}).values(
            "pk", "dial_ratio", "extra_lines", "interval_seconds", "retries", "retry_delay_seconds", "agent_group_id"):
        members: tuple[int, ...] = ()
        if f["agent_group_id"] and AgentGroup.objects.filter(pk=f["agent_group_id"], enabled=True).exists():
            members = tuple(AgentGroupMember.objects.filter(group_id=f["agent_group_id"])
                            .exclude(agent__agent_type=AgentType.DISABLED).values_list("agent_id", flat=True))
        flows[f["pk"]] = FlowPace(f["pk"], f["dial_ratio"], f["extra_lines"], f["interval_seconds"], f["retries"],
                                  f["retry_delay_seconds"], f["agent_group_id"], members)
    trunks = tuple(TrunkLine(t.pk, t.number, t.prefix, t.concurrent_lines, t.reserved_lines)
                   for t in Trunk.objects.filter(enterprise_id=enterprise_id, enabled=True).order_by("number"))
    idle = dict(AgentState.objects.filter(enterprise_id=enterprise_id, state=AgentStatus.IDLE)
                .values_list("agent_id", "since"))
    other = LiveChannel.objects.filter(enterprise_id=enterprise_id, kind=ChannelKind.TRUNK).exclude(
        channel_id__startswith=rules.CHANNEL_PREFIX).count()
    return Plan(enterprise_id=enterprise_id, code=ent["code"], tz=ZoneInfo(ent["time_zone"]),
                cps_limit=ent["dialer_cps_limit"],
                tasks=tuple(TaskPace(t["pk"], t["name"], t["flow_id"], t["round"], tuple(windows.get(t["pk"], ())),
                                     t["recall_called_today"], t["pk"] in due) for t in tasks),
                flows=flows, trunks=trunks, idle_since=idle, other_trunk_calls=other, now=now)


# --- claims ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    attempt_id: int
    number_id: int
    task_id: int
    enterprise_id: int
    phone: str
    round: int
    seq: int
    customer_id: int | None = None
    agent_id: int | None = None  # manual batch dialling: the agent whose line dials


def _skip_at_claim(enterprise_id: int, task: Task, numbers: list[TaskNumber], now: datetime) -> dict[int, str]:
    """Numbers that may not be dialled now: blacklisted, or called today by another task (unless the
    task re-calls those). Checked again here because a task may start days after its intake."""
    from callcenter.campaigns import intake

    phones = [n.phone for n in numbers]
    black = intake.blacklisted(enterprise_id, phones)
    today: set[str] = set()
    if not task.recall_called_today:
        today = intake.called_today(task.enterprise, phones, exclude_task_id=task.pk)
    out = {}
    for n in numbers:
        if n.phone in black:
            out[n.pk] = CallResult.BLACKLISTED
        elif n.phone in today:
            out[n.pk] = CallResult.CALLED_TODAY
    return out


def _due(task_id: int, now: datetime, statuses=(NumberStatus.RETRY, NumberStatus.PENDING)):
    return (TaskNumber.objects.filter(task_id=task_id)
            .filter(Q(status=NumberStatus.PENDING) | Q(status=NumberStatus.RETRY, next_attempt_at__lte=now))
            .filter(status__in=statuses))


def _take(task: Task, limit: int, now: datetime, *, agent_id: int | None = None) -> list[Claimed]:
    """Inside a transaction: lock up to `limit` due numbers (retries that are due first, then fresh
    ones), skip those that may not be dialled, commit an attempt for each of the others."""
    claimed: list[Claimed] = []
    for _round in range(CLAIM_SCAN_ROUNDS):
        want = limit - len(claimed)
        if want <= 0:
            break
        numbers = list(_skip_locked(_due(task.pk, now, (NumberStatus.RETRY,)).order_by("next_attempt_at", "id"))
                       [:want])
        if len(numbers) < want:
            numbers += list(_skip_locked(_due(task.pk, now, (NumberStatus.PENDING,)).order_by("next_attempt_at", "id"))
                            [:want - len(numbers)])
        if not numbers:
            break
        skipped = _skip_at_claim(task.enterprise_id, task, numbers, now)
        for number_id, result in skipped.items():
            TaskNumber.objects.filter(pk=number_id).update(status=NumberStatus.DONE, result=result,
                                                           next_attempt_at=None)
        go = [n for n in numbers if n.pk not in skipped]
        attempts = [Attempt(enterprise_id=task.enterprise_id, task_id=task.pk, number_id=n.pk, round=task.round,
                            seq=n.attempts + 1, status=AttemptStatus.DIALING, created_at=now, agent_id=agent_id)
                    for n in go]
        Attempt.objects.bulk_create(attempts)
        for n, a in zip(go, attempts, strict=True):
            n.status = NumberStatus.DIALING
            n.attempts += 1
            n.last_attempt_at = now
            n.next_attempt_at = None
            n.call_id = rules.channel_id(a.pk)
            if agent_id is not None:
                n.agent_id = agent_id
            claimed.append(Claimed(a.pk, n.pk, task.pk, task.enterprise_id, n.phone, task.round, a.seq,
                                   n.customer_id, agent_id))
        TaskNumber.objects.bulk_update(go, ["status", "attempts", "last_attempt_at", "next_attempt_at", "call_id",
                                            "agent"])
        if not skipped:
            break
    return claimed


def claim(enterprise_id: int, task_id: int, limit: int, holder: str, now: datetime | None = None) -> list[Claimed]:
    """Claim up to `limit` numbers of a running task for the holder of the enterprise's lease."""
    now = now or timezone.now()
    if limit <= 0:
        return []
    with transaction.atomic():
        if not _lease_valid(enterprise_id, holder, now):
            return []
        task = Task.objects.select_related("enterprise").filter(
            pk=task_id, enterprise_id=enterprise_id, status=TaskStatus.RUNNING, submitted=True).first()
        if task is None:
            return []
        return _take(task, limit, now)


def mark_sent(attempt_id: int, channel: str, holder: str | None = None) -> bool:
    """The channel exists on the PBX and is about to be dialled: commit its id on the attempt. False
    when the attempt is no longer ours to dial (voided by a reconciliation, the lease lost)."""
    with transaction.atomic():
        att = Attempt.objects.filter(pk=attempt_id, status=AttemptStatus.DIALING, call_id="").values(
            "enterprise_id").first()
        if att is None:
            return False
        if holder is not None and not _lease_valid(att["enterprise_id"], holder, timezone.now()):
            return False
        return bool(Attempt.objects.filter(pk=attempt_id, status=AttemptStatus.DIALING, call_id="").update(
            call_id=channel))


def void(attempt_id: int, *, delay_seconds: float = 0) -> bool:
    """An attempt that was never dialled goes (so attempt rows = originations); its number is due
    again, `delay_seconds` from now. False when it was already finished or voided."""
    now = timezone.now()
    with transaction.atomic():
        att = _locked(Attempt.objects.filter(pk=attempt_id, status=AttemptStatus.DIALING, call_id="")).first()
        if att is None:
            return False
        number = _locked(TaskNumber.objects.filter(pk=att.number_id)).first()
        att.delete()
        if number is not None and number.status == NumberStatus.DIALING and number.attempts == att.seq:
            number.attempts = att.seq - 1
            number.call_id = ""
            if delay_seconds:
                number.status, number.next_attempt_at = NumberStatus.RETRY, now + timedelta(seconds=delay_seconds)
            elif number.attempts == 0:
                number.status, number.next_attempt_at = NumberStatus.PENDING, None
            else:
                number.status, number.next_attempt_at = NumberStatus.RETRY, now
            number.save(update_fields=["attempts", "status", "next_attempt_at", "call_id"])
    return True


# --- the end of an attempt ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptEnd:
    attempt_id: int
    result: str
    ended_at: datetime
    cause: int | None = None
    answered_at: datetime | None = None
    agent_id: int | None = None
    talk_seconds: int = 0
    reconciled: bool = False
    time_scale: float = 1.0  # the retry delay is in the flow's (simulated) seconds


def finish(end: AttemptEnd) -> str | None:
    """Write an attempt's result and move its number on: a failed result is retried while the flow's
    重呼次数 allows (status `retry`, due after the flow's retry delay), anything else is done. Sends the
    flow's SMS when the callee stayed on the line long enough. Returns the number's new status (None
    when the attempt was already finished)."""
    with transaction.atomic():
        att = (Attempt.objects.select_related("task", "task__flow", "number")
               .filter(pk=end.attempt_id, status=AttemptStatus.DIALING).first())
        if att is None:
            return None
        updated = Attempt.objects.filter(pk=att.pk, status=AttemptStatus.DIALING).update(
            status=AttemptStatus.DONE, result=end.result, cause=end.cause, ended_at=end.ended_at,
            answered_at=end.answered_at, agent_id=end.agent_id, talk_seconds=max(0, end.talk_seconds),
            reconciled=end.reconciled)
        if not updated:
            return None
        task, flow, number = att.task, att.task.flow, att.number
        status = None
        if number.status == NumberStatus.DIALING and number.attempts == att.seq and task.round == att.round:
            retry = task.status != TaskStatus.ENDED and rules.should_retry(end.result, number.attempts, flow.retries)
            status = NumberStatus.RETRY if retry else NumberStatus.DONE
            TaskNumber.objects.filter(pk=number.pk, status=NumberStatus.DIALING).update(
                status=status, result=end.result,
                next_attempt_at=(end.ended_at + timedelta(seconds=flow.retry_delay_seconds * end.time_scale)
                                 if retry else None),
                agent_id=end.agent_id if end.agent_id is not None else number.agent_id,
                talk_seconds=max(0, end.talk_seconds), call_id=att.call_id or number.call_id)
        if (flow.sms_enabled and flow.sms_text.strip() and end.answered_at is not None
                and (end.ended_at - end.answered_at).total_seconds() >= flow.sms_min_seconds * end.time_scale):
            from callcenter.campaigns import sms

            message = sms.SmsMessage(enterprise_id=att.enterprise_id, phone=number.phone, text=flow.sms_text.strip(),
                                     task_id=task.pk, attempt_id=att.pk, flow_id=flow.pk)
            transaction.on_commit(lambda: sms.send(message))
    return status


# --- reconciliation helpers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialing:
    attempt_id: int
    number_id: int
    task_id: int
    enterprise_id: int
    phone: str
    call_id: str
    agent_id: int | None
    created_at: datetime
    flow_id: int


def dialing(enterprise_ids) -> list[Dialing]:
    """Attempts still `dialing` of these enterprises."""
    rows = (Attempt.objects.filter(enterprise_id__in=list(enterprise_ids), status=AttemptStatus.DIALING)
            .order_by("pk").values("pk", "number_id", "task_id", "enterprise_id", "number__phone", "call_id",
                                   "agent_id", "created_at", "task__flow_id"))
    return [Dialing(r["pk"], r["number_id"], r["task_id"], r["enterprise_id"], r["number__phone"], r["call_id"],
                    r["agent_id"], r["created_at"], r["task__flow_id"]) for r in rows]


def attempts_enterprises(attempt_ids) -> dict[int, int]:
    """attempt id -> enterprise id, for the ids that exist."""
    return dict(Attempt.objects.filter(pk__in=list(attempt_ids)).values_list("pk", "enterprise_id"))


def manual_requests(enterprise_ids, exclude=()) -> list[Dialing]:
    """Manual batch-dialling requests (T2) not picked up yet: attempts an agent asked for, not sent."""
    since = timezone.now() - timedelta(seconds=MANUAL_PICKUP_SECONDS)
    rows = (Attempt.objects.filter(enterprise_id__in=list(enterprise_ids), status=AttemptStatus.DIALING, call_id="",
                                   agent__isnull=False, created_at__gte=since)
            .exclude(pk__in=list(exclude)).order_by("pk")
            .values("pk", "number_id", "task_id", "enterprise_id", "number__phone", "call_id", "agent_id",
                    "created_at", "task__flow_id"))
    return [Dialing(r["pk"], r["number_id"], r["task_id"], r["enterprise_id"], r["number__phone"], r["call_id"],
                    r["agent_id"], r["created_at"], r["task__flow_id"]) for r in rows]


def stale_agent_states(enterprise_ids, live_channel_ids: set[str], now: datetime | None = None) -> int:
    """Agents left ringing or talking on calls that are gone (call control was down when they
    ended) are idle again."""
    now = now or timezone.now()
    stale = [pk for pk, call_id in AgentState.objects.filter(
        enterprise_id__in=list(enterprise_ids), state__in=[AgentStatus.RINGING, AgentStatus.BUSY])
        .values_list("pk", "call_id") if call_id not in live_channel_ids]
    if not stale:
        return 0
    return AgentState.objects.filter(pk__in=stale).update(state=AgentStatus.IDLE, since=now, call_id="")


def stale_live_channels(enterprise_ids, live_channel_ids: set[str]) -> int:
    """Channel-monitor rows of channels the PBX no longer has."""
    ids = [pk for pk, cid in LiveChannel.objects.filter(enterprise_id__in=list(enterprise_ids))
           .values_list("pk", "channel_id") if cid not in live_channel_ids]
    return LiveChannel.objects.filter(pk__in=ids).delete()[0] if ids else 0


def close_campaign_cdrs(attempt_ids, ended_at: datetime) -> int:
    """CDRs of campaign calls that ended while call control was down."""
    from callcenter.calls import services as calls

    ids = list(Cdr.objects.filter(attempt_id__in=list(attempt_ids), ended_at__isnull=True).values_list(
        "call_id", flat=True))
    if ids:
        calls.cdrs_close(rows=[calls.CdrClose(call_id=cid, ended_at=ended_at, cause=0, outcome="reconciled")
                               for cid in ids])
    return len(ids)


# --- manual batch dialling (T2) -------------------------------------------------------------------------


def manual_claim(*, agent, task: Task) -> Claimed | None:
    """The next number of a draft or paused task for an agent's own line (【下一个号码】): committed as
    an attempt of that agent; call control's dialer picks it up and rings the agent first."""
    now = timezone.now()
    with transaction.atomic():
        task = _locked(Task.objects.select_related("enterprise").filter(pk=task.pk)).first()
        if task is None or task.status != TaskStatus.PAUSED:
            return None
        got = _take(task, 1, now, agent_id=agent.pk)
    return got[0] if got else None


def manual_stale(agent_id: int) -> list[int]:
    """The agent's requests no dialer picked up in time."""
    since = timezone.now() - timedelta(seconds=MANUAL_PICKUP_SECONDS)
    return list(Attempt.objects.filter(agent_id=agent_id, status=AttemptStatus.DIALING, call_id="",
                                       created_at__lt=since).values_list("pk", flat=True))


def counts_by_status(task_id: int) -> dict[str, int]:
    """How many numbers of a task are in each status (tests and logs)."""
    return dict(TaskNumber.objects.filter(task_id=task_id).values_list("status").annotate(n=Count("pk"))
                .values_list("status", "n"))

