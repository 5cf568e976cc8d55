"""Writes of the calls app. Call control is the only writer; the web reads.

Every function is keyword-only and takes ids (call control holds ids, not model
instances). Each has a bulk form taking a list of small dataclasses, so call control can
batch the events of many calls into one transaction (DESIGN.md, SQLite with several
processes: batched event writes); the single forms call the bulk ones. All of them are
idempotent where a retried batch could repeat a row: opening a CDR twice, adding the
same missed call twice or removing a channel already gone changes nothing.

These are system records, not user changes: they are not written to the audit log. The
exception is at the end: quality reviews (质检) are written by users and audited.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.accounts.models import Agent
from callcenter.calls.choices import HANGUP_CAUSE_TEXTS, AgentStatus, CallDirection, ChannelKind
from callcenter.calls.models import SCORE_MAX, AgentState, Cdr, LiveChannel, MissedCall, QualityReview, Recording
from callcenter.core import audit
from callcenter.core.scope import scoped

log = logging.getLogger(__name__)
BATCH = 500


def _seconds(start: datetime | None, end: datetime | None) -> int:
    if start is None or end is None:
        return 0
    return max(0, round((end - start).total_seconds()))


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and timezone.is_naive(value):
        raise ValueError(f"{name} must be timezone-aware")
    return value


def _save_fields(model, objs: Sequence, fields: Sequence[str], *, batch_size: int = BATCH) -> None:
    """Write `fields` of each object: what `bulk_update` does, as one parametrized UPDATE run
    for every row. Django's bulk_update builds a CASE expression per field and row, which cost
    2-7 ms a row and was the largest single cost of call control (docs/benchmarks.md)."""
    if not objs:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    conn = connections[router.db_for_write(model)]
    quote = conn.ops.quote_name
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in columns)
    # Names come from the model, values go as parameters.
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    params = [[f.get_db_prep_save(getattr(obj, f.attname), conn) for f in columns] + [obj.pk] for obj in objs]
    with conn.cursor() as cursor:
        for start in range(0, len(params), batch_size):
            cursor.executemany(sql, params[start:start + batch_size])


def _agents(enterprise_id: int, ids: Iterable[int | None]) -> dict[int, str]:
    """{agent id: agent number} for the ids given; refuses agents of another enterprise."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    found = dict(Agent.objects.filter(pk__in=wanted, enterprise_id=enterprise_id).values_list("pk", "number"))
    missing = wanted - found.keys()
    if missing:
        raise ValueError(f"agents {sorted(missing)} are not agents of enterprise {enterprise_id}")
    return found


# --- CDRs ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CdrOpen:
    enterprise_id: int
    call_id: str
    direction: str
    started_at: datetime
    caller: str = ""
    callee: str = ""
    did: str = ""
    trunk_id: int | None = None
    agent_id: int | None = None
    group_name: str = ""
    queue_name: str = ""
    flow_id: int | None = None
    task_id: int | None = None
    attempt_id: int | None = None


@dataclass(frozen=True)
class CdrAnswer:
    call_id: str
    answered_at: datetime
    agent_id: int | None = None  # who answered, when an agent did
    group_name: str | None = None
    queue_name: str | None = None


@dataclass(frozen=True)
class CdrClose:
    call_id: str
    ended_at: datetime
    cause: int = 16
    cause_text: str | None = None  # default: Asterisk's text for the cause
    last_key: str | None = None
    outcome: str | None = None


def cdrs_open(*, rows: Sequence[CdrOpen]) -> int:
    """Open CDRs in one transaction; a call id already open is left as it is."""
    if not rows:
        return 0
    objs = []
    numbers: dict[int, dict[int, str]] = {}
    for row in rows:
        if row.direction not in CallDirection.values:
            raise ValueError(f"unknown direction {row.direction!r}")
        _aware(row.started_at, "started_at")
        if row.enterprise_id not in numbers:
            numbers[row.enterprise_id] = _agents(
                row.enterprise_id, (r.agent_id for r in rows if r.enterprise_id == row.enterprise_id))
        objs.append(Cdr(
            enterprise_id=row.enterprise_id, call_id=row.call_id, direction=row.direction, caller=row.caller,
            callee=row.callee, did=row.did, trunk_id=row.trunk_id, agent_id=row.agent_id,
            agent_number=numbers[row.enterprise_id].get(row.agent_id, "") if row.agent_id else "",
            group_name=row.group_name, queue_name=row.queue_name, started_at=row.started_at, flow_id=row.flow_id,
            task_id=row.task_id, attempt_id=row.attempt_id))
    with transaction.atomic():
        Cdr.objects.bulk_create(objs, batch_size=BATCH, ignore_conflicts=True)
    return len(objs)


def cdr_open(*, enterprise_id: int, call_id: str, direction: str, started_at: datetime, caller: str = "",
             callee: str = "", did: str = "", trunk_id: int | None = None, agent_id: int | None = None,
             group_name: str = "", queue_name: str = "", flow_id: int | None = None, task_id: int | None = None,
             attempt_id: int | None = None) -> Cdr:
    cdrs_open(rows=[CdrOpen(enterprise_id, call_id, direction, started_at, caller, callee, did, trunk_id, agent_id,
                            group_name, queue_name, flow_id, task_id, attempt_id)])
    return Cdr.objects.get(call_id=call_id)


def _by_call_id(call_ids: Iterable[str]) -> dict[str, Cdr]:
    ids = list(dict.fromkeys(call_ids))
    found: dict[str, Cdr] = {}
    for start in range(0, len(ids), BATCH):
        for cdr in Cdr.objects.filter(call_id__in=ids[start:start + BATCH]):
            found[cdr.call_id] = cdr
    return found


def cdrs_answer(*, rows: Sequence[CdrAnswer]) -> int:
    """Mark calls answered (by an agent when `agent_id` is given). Returns the CDRs changed;
    call ids with no open CDR are logged and skipped."""
    if not rows:
        return 0
    with transaction.atomic():
        cdrs = _by_call_id(r.call_id for r in rows)
        numbers: dict[int, dict[int, str]] = {}
        changed = {}
        for row in rows:
            cdr = cdrs.get(row.call_id)
            if cdr is None:
                log.warning("answer for unknown call %s", row.call_id)
                continue
            _aware(row.answered_at, "answered_at")
            cdr.answered_at = row.answered_at
            cdr.ring_seconds = _seconds(cdr.started_at, row.answered_at)
            if row.agent_id is not None:
                if cdr.enterprise_id not in numbers:
                    numbers[cdr.enterprise_id] = _agents(cdr.enterprise_id, (
                        r.agent_id for r in rows if r.call_id in cdrs
                        and cdrs[r.call_id].enterprise_id == cdr.enterprise_id))
                cdr.agent_id = row.agent_id
                cdr.agent_number = numbers[cdr.enterprise_id][row.agent_id]
            if row.group_name is not None:
                cdr.group_name = row.group_name
            if row.queue_name is not None:
                cdr.queue_name = row.queue_name
            changed[cdr.call_id] = cdr
        _save_fields(Cdr, list(changed.values()), ["answered_at", "ring_seconds", "agent", "agent_number",
                                                   "group_name", "queue_name"])
    return len(changed)


def cdr_answer(*, call_id: str, answered_at: datetime, agent_id: int | None = None, group_name: str | None = None,
               queue_name: str | None = None) -> int:
    return cdrs_answer(rows=[CdrAnswer(call_id, answered_at, agent_id, group_name, queue_name)])


def cdrs_close(*, rows: Sequence[CdrClose]) -> int:
    """End calls: talk time from the answer, else ring time from the start; the cause and its
    text; the last key pressed and the flow's outcome. Returns the CDRs changed."""
    if not rows:
        return 0
    with transaction.atomic():
        cdrs = _by_call_id(r.call_id for r in rows)
        changed = {}
        for row in rows:
            cdr = cdrs.get(row.call_id)
            if cdr is None:
                log.warning("close for unknown call %s", row.call_id)
                continue
            _aware(row.ended_at, "ended_at")
            cdr.ended_at = row.ended_at
            if cdr.answered_at is not None:
                cdr.talk_seconds = _seconds(cdr.answered_at, row.ended_at)
            else:
                cdr.ring_seconds = _seconds(cdr.started_at, row.ended_at)
                cdr.talk_seconds = 0
            cdr.cause = row.cause
            cdr.cause_text = (row.cause_text if row.cause_text is not None
                              else HANGUP_CAUSE_TEXTS.get(row.cause, ""))[:100]
            if row.last_key is not None:
                cdr.last_key = row.last_key[:4]
            if row.outcome is not None:
                cdr.outcome = row.outcome[:30]
            changed[cdr.call_id] = cdr
        _save_fields(Cdr, list(changed.values()), ["ended_at", "ring_seconds", "talk_seconds", "cause",
                                                   "cause_text", "last_key", "outcome"])
    return len(changed)


def cdr_close(*, call_id: str, ended_at: datetime, cause: int = 16, cause_text: str | None = None,
              last_key: str | None = None, outcome: str | None = None) -> int:
    return cdrs_close(rows=[CdrClose(call_id, ended_at, cause, cause_text, last_key, outcome)])


# --- recordings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingNew:
    enterprise_id: int
    call_id: str
    created_at: datetime
    agent_id: int | None = None
    file: str = ""  # a path under MEDIA_ROOT, e.g. "recordings/2025/06/02/<call id>.wav"
    url: str = ""  # where the simulated Asterisk serves it
    duration_seconds: int = 0


def recordings_add(*, rows: Sequence[RecordingNew]) -> list[Recording]:
    """Store recordings and attach each to its call's CDR."""
    if not rows:
        return []
    objs = []
    for row in rows:
        if not row.file and not row.url:
            raise ValueError(f"recording of {row.call_id} has neither a file nor a URL")
        if row.file and (row.file.startswith("/") or ".." in row.file.split("/")):
            raise ValueError(f"recording file {row.file!r} must be a relative path under MEDIA_ROOT")
        _aware(row.created_at, "created_at")
        _agents(row.enterprise_id, [row.agent_id])
        objs.append(Recording(enterprise_id=row.enterprise_id, call_id=row.call_id, agent_id=row.agent_id,
                              file=row.file, url=row.url, duration_seconds=max(row.duration_seconds, 0),
                              created_at=row.created_at))
    with transaction.atomic():
        created = Recording.objects.bulk_create(objs, batch_size=BATCH)
        if any(r.pk is None for r in created):  # a backend that returns no ids
            created = list(Recording.objects.filter(call_id__in=[r.call_id for r in objs]).order_by("pk"))
        latest = {r.call_id: r for r in created}
        cdrs = _by_call_id(latest)
        for cdr in cdrs.values():
            rec = latest[cdr.call_id]
            if rec.enterprise_id == cdr.enterprise_id:
                cdr.recording_id = rec.pk
        _save_fields(Cdr, list(cdrs.values()), ["recording"])
    return created


def recording_add(*, enterprise_id: int, call_id: str, created_at: datetime, agent_id: int | None = None,
                  file: str = "", url: str = "", duration_seconds: int = 0) -> Recording:
    return recordings_add(rows=[RecordingNew(enterprise_id, call_id, created_at, agent_id, file, url,
                                             duration_seconds)])[0]


# --- missed calls ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MissedCallNew:
    enterprise_id: int
    call_id: str
    caller: str
    at: datetime
    rang_agent_ids: tuple[int, ...] = ()
    group_name: str = ""
    queue_name: str = ""


def missed_calls_add(*, rows: Sequence[MissedCallNew]) -> int:
    """One row per agent each call rang (or one without an agent); repeats are ignored."""
    objs = []
    for row in rows:
        _aware(row.at, "at")
        agents = list(dict.fromkeys(row.rang_agent_ids))
        _agents(row.enterprise_id, agents)
        for agent_id in agents or [None]:
            objs.append(MissedCall(enterprise_id=row.enterprise_id, call_id=row.call_id, caller=row.caller,
                                   at=row.at, rang_agent_id=agent_id, group_name=row.group_name,
                                   queue_name=row.queue_name))
    if not objs:
        return 0
    with transaction.atomic():
        MissedCall.objects.bulk_create(objs, batch_size=BATCH, ignore_conflicts=True)
    return len(objs)


def missed_call_add(*, enterprise_id: int, call_id: str, caller: str, at: datetime,
                    rang_agent_ids: Sequence[int] = (), group_name: str = "", queue_name: str = "") -> int:
    return missed_calls_add(rows=[MissedCallNew(enterprise_id, call_id, caller, at, tuple(rang_agent_ids),
                                                group_name, queue_name)])


def missed_calls_mark_seen(*, agent_id: int, ids: Sequence[int] | None = None) -> int:
    """The agent has seen their missed calls (all, or those given)."""
    qs = MissedCall.objects.filter(rang_agent_id=agent_id, seen=False)
    if ids is not None:
        qs = qs.filter(pk__in=list(ids))
    return qs.update(seen=True)


# --- live agent state ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentStateSet:
    enterprise_id: int
    agent_id: int
    state: str
    since: datetime | None = None  # default: now
    call_id: str = ""


def agent_states_set(*, rows: Sequence[AgentStateSet]) -> int:
    """Upsert agents' live state. Setting the state an agent already has (same call) changes
    nothing, so "since" keeps counting from the real change. Returns the rows changed."""
    if not rows:
        return 0
    latest: dict[int, AgentStateSet] = {}
    for row in rows:
        if row.state not in AgentStatus.values:
            raise ValueError(f"unknown agent state {row.state!r}")
        _aware(row.since, "since")
        latest[row.agent_id] = row  # the last word on each agent wins
    for enterprise_id in {r.enterprise_id for r in latest.values()}:
        _agents(enterprise_id, [r.agent_id for r in latest.values() if r.enterprise_id == enterprise_id])
    now = timezone.now()
    with transaction.atomic():
        current = {a: (s, c) for a, s, c in AgentState.objects.filter(agent_id__in=list(latest))
                   .values_list("agent_id", "state", "call_id")}
        objs = [AgentState(enterprise_id=r.enterprise_id, agent_id=r.agent_id, state=r.state,
                           since=r.since or now, call_id=r.call_id)
                for r in latest.values() if current.get(r.agent_id) != (r.state, r.call_id)]
        AgentState.objects.bulk_create(objs, batch_size=BATCH, update_conflicts=True, unique_fields=["agent"],
                                       update_fields=["state", "since", "call_id"])
    return len(objs)


def agent_state_set(*, enterprise_id: int, agent_id: int, state: str, since: datetime | None = None,
                    call_id: str = "") -> int:
    return agent_states_set(rows=[AgentStateSet(enterprise_id, agent_id, state, since, call_id)])


# --- live channels ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveChannelRow:
    enterprise_id: int
    channel_id: str
    kind: str
    started_at: datetime
    name: str = ""
    state: str = ""
    caller: str = ""
    callee: str = ""
    agent_id: int | None = None
    queue_name: str = ""


def live_channels_upsert(*, rows: Sequence[LiveChannelRow]) -> int:
    if not rows:
        return 0
    now = timezone.now()
    latest: dict[str, LiveChannelRow] = {}
    for row in rows:
        if row.kind not in ChannelKind.values:
            raise ValueError(f"unknown channel kind {row.kind!r}")
        _aware(row.started_at, "started_at")
        latest[row.channel_id] = row
    for enterprise_id in {r.enterprise_id for r in latest.values()}:
        _agents(enterprise_id, [r.agent_id for r in latest.values() if r.enterprise_id == enterprise_id])
    objs = [LiveChannel(enterprise_id=r.enterprise_id, channel_id=r.channel_id, name=r.name, kind=r.kind,
                        state=r.state, caller=r.caller, callee=r.callee, agent_id=r.agent_id,
                        queue_name=r.queue_name, started_at=r.started_at, updated_at=now)
            for r in latest.values()]
    with transaction.atomic():
        LiveChannel.objects.bulk_create(objs, batch_size=BATCH, update_conflicts=True, unique_fields=["channel_id"],
                                        update_fields=["name", "kind", "state", "caller", "callee", "agent",
                                                       "queue_name", "updated_at"])
    return len(objs)


def live_channel_upsert(*, enterprise_id: int, channel_id: str, kind: str, started_at: datetime, name: str = "",
                        state: str = "", caller: str = "", callee: str = "", agent_id: int | None = None,
                        queue_name: str = "") -> int:
    return live_channels_upsert(rows=[LiveChannelRow(enterprise_id, channel_id, kind, started_at, name, state,
                                                     caller, callee, agent_id, queue_name)])


def live_channel_remove(*, channel_ids: Iterable[str]) -> int:
    ids = list(dict.fromkeys(channel_ids))
    removed = 0
    for start in range(0, len(ids), BATCH):
        removed += LiveChannel.objects.filter(channel_id__in=ids[start:start + BATCH]).delete()[0]
    return removed


def live_channels_clear(*, enterprise_id: int) -> int:
    """Forget every channel of an enterprise (call control reconciling after a restart)."""
    return LiveChannel.objects.filter(enterprise_id=enterprise_id).delete()[0]


# --- quality reviews (质检) ---------------------------------------------------------------------
# The one write of this app made by users, not call control: audited like every user change.

COMMENT_MAX = 1000


def _score(value) -> int | None:
    """A whole number of points, from an int or a string of digits; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = "" if value is None else str(value).strip()
    return int(text) if text.isdigit() else None


def quality_review_save(*, cdr: Cdr, reviewer: Agent, score, comment: str = "") -> QualityReview:
    """Score a call (0-100) with a comment; scoring it again replaces the review. Refused, with
    the field named, for a call outside the reviewer's enterprise or data scope, an unanswered
    call, the reviewer's own call, or a score that is not a whole number from 0 to 100."""

    def refuse(field: str, message: str):
        raise ValidationError({field: [message]})

    if reviewer.enterprise_id is None or cdr.enterprise_id != reviewer.enterprise_id \
            or not scoped(Cdr.objects.filter(pk=cdr.pk), reviewer).exists():
        refuse("cdr", _("通话：不在您的数据范围内"))
    if cdr.answered_at is None:
        refuse("cdr", _("通话：未接通的通话不能质检"))
    if cdr.agent_id is not None and cdr.agent_id == reviewer.pk:
        refuse("cdr", _("通话：不能给自己的通话评分"))
    value = _score(score)
    if value is None or not 0 <= value <= SCORE_MAX:
        refuse("score", _("评分：必须是0到100之间的整数"))
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        refuse("comment", _("评语：最多%(n)s个字符") % {"n": COMMENT_MAX})
    now = timezone.now()
    with transaction.atomic():
        review = QualityReview.objects.select_for_update().filter(cdr=cdr).first()
        if review is None:
            review = QualityReview.objects.create(enterprise_id=cdr.enterprise_id, cdr=cdr, agent_id=cdr.agent_id,
                                                  score=value, comment=comment, reviewer=reviewer,
                                                  reviewed_at=now)
            audit.record_create(review)
        else:
            before = audit.snapshot(review)
            review.score, review.comment, review.reviewer, review.reviewed_at = value, comment, reviewer, now
            review.agent_id = cdr.agent_id
            review.save()
            audit.record_update(review, before)
    return review


def quality_review_delete(*, review: QualityReview) -> None:
    with transaction.atomic():
        audit.record_delete(review)
        review.delete()
