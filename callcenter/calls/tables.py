from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from callcenter.calls.choices import CallDirection, cause_label
from callcenter.calls.models import Cdr, MissedCall, QualityReview
from callcenter.core.tables import EMPTY, DateTimeColumn, FastRowsMixin


def score_badge(score: int) -> str:
    colour = "success" if score >= 80 else "warning" if score >= 60 else "danger"
    return format_html('<span class="badge text-bg-{}">{}</span>', colour, score)


def duration(seconds: int | None) -> str:
    seconds = int(seconds or 0)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class DurationColumn(tables.Column):
    def render(self, value):
        return duration(value)


def _time(value, fmt: str, tz) -> str:
    return value.astimezone(tz).strftime(fmt) if value is not None else EMPTY


def _text(value) -> str:
    return EMPTY if value is None or value == "" else value


class CdrTable(FastRowsMixin, tables.Table):
    """Cells from the `cell_*` methods below (core.tables.FastRows): the 600 cells of a 50-row call list
    are plain attribute reads and cached labels, no per-cell rendering machinery (bench/cdrs.py)."""

    started_at = tables.Column(verbose_name=_("开始时间"))
    direction = tables.Column(verbose_name=_("呼叫方向"))
    caller = tables.Column(verbose_name=_("主叫号码"))
    callee = tables.Column(verbose_name=_("被叫号码"))
    did = tables.Column(verbose_name=_("呼入号码"))
    agent = tables.Column(verbose_name=_("坐席"))
    group_name = tables.Column(verbose_name=_("坐席组"))
    queue_name = tables.Column(verbose_name=_("队列"))
    answered_at = tables.Column(verbose_name=_("接通时间"))
    ended_at = tables.Column(verbose_name=_("结束时间"))
    ring_seconds = tables.Column(verbose_name=_("振铃时长"))
    talk_seconds = tables.Column(verbose_name=_("通话时长"))
    cause = tables.Column(verbose_name=_("挂断原因"))
    last_key = tables.Column(verbose_name=_("最后按键"))
    outcome = tables.Column(verbose_name=_("结果"))
    task_id = tables.Column(verbose_name=_("任务ID"))
    recording = tables.Column(verbose_name=_("录音"))
    review = tables.Column(verbose_name=_("质检"))

    class Meta:
        model = Cdr
        fields = ()
        default_hidden = ("did", "queue_name", "answered_at", "ended_at", "outcome", "task_id")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # translated once per page, not once per row
        self._badges = {m.value: format_html('<span class="badge text-bg-{}">{}</span>', m.badge, m.label)
                        for m in CallDirection}
        self._causes: dict[int, str] = {}
        self._tz = timezone.get_current_timezone()
        self._mic = format_html('<i class="bi bi-mic-fill text-success" title="{}"></i>', _("有录音"))
        self._rate = str(_("评分"))
        self._detail = reverse("calls:cdr_detail", args=[0]).replace("/0/", "/{}/")
        self._progress = reverse("campaigns:task_progress", args=[0]).replace("/0/", "/{}/")

    def cell_started_at(self, r):
        return _time(r.started_at, "%Y-%m-%d %H:%M:%S", self._tz)

    def cell_direction(self, r):
        return self._badges.get(r.direction, r.direction)

    def cell_caller(self, r):
        return _text(r.caller)

    def cell_callee(self, r):
        return _text(r.callee)

    def cell_did(self, r):
        return _text(r.did)

    def cell_agent(self, r):
        if r.agent_id is not None and r.agent is not None:
            return f"{r.agent.number} {r.agent.name}".strip()
        return r.agent_number or EMPTY

    def cell_group_name(self, r):
        return _text(r.group_name)

    def cell_queue_name(self, r):
        return _text(r.queue_name)

    def cell_answered_at(self, r):
        return _time(r.answered_at, "%H:%M:%S", self._tz)

    def cell_ended_at(self, r):
        return _time(r.ended_at, "%H:%M:%S", self._tz)

    def cell_ring_seconds(self, r):
        return duration(r.ring_seconds)

    def cell_talk_seconds(self, r):
        return duration(r.talk_seconds)

    def cell_cause(self, r):
        if r.cause is None:
            return EMPTY
        label = self._causes.get(r.cause)
        if label is None:
            label = self._causes[r.cause] = str(cause_label(r.cause))
        return label

    def cell_last_key(self, r):
        return _text(r.last_key)

    def cell_outcome(self, r):
        return _text(r.outcome)

    def cell_task_id(self, r):
        if r.task_id is None:
            return EMPTY
        return format_html('<a href="{}">{}</a>', self._progress.format(r.task_id), r.task_id)

    def cell_recording(self, r):
        return self._mic if r.recording_id is not None else EMPTY

    def cell_review(self, r):
        # the list selects the review with the row (select_related): no query here. A call
        # without one raises RelatedObjectDoesNotExist, an AttributeError.
        review = getattr(r, "review", None)
        url = self._detail.format(r.pk) + "#quality"
        if review is not None:
            return format_html('<a href="{}" class="text-decoration-none">{}</a>', url, score_badge(review.score))
        if r.answered_at is None:
            return EMPTY
        return format_html('<a href="{}" class="small">{}</a>', url, self._rate)


class QualityReviewTable(tables.Table):
    reviewed_at = DateTimeColumn(verbose_name=_("质检时间"), format="Y-m-d H:i")
    started_at = DateTimeColumn(verbose_name=_("通话时间"), format="Y-m-d H:i:s", accessor="cdr__started_at")
    direction = tables.Column(verbose_name=_("呼叫方向"), accessor="cdr__direction")
    caller = tables.Column(verbose_name=_("主叫号码"), accessor="cdr__caller")
    callee = tables.Column(verbose_name=_("被叫号码"), accessor="cdr__callee")
    agent = tables.Column(verbose_name=_("被质检坐席"), empty_values=(), accessor="pk")
    talk_seconds = DurationColumn(verbose_name=_("通话时长"), accessor="cdr__talk_seconds")
    score = tables.Column(verbose_name=_("评分"))
    comment = tables.Column(verbose_name=_("评语"))
    reviewer = tables.Column(verbose_name=_("质检员"), empty_values=())
    call = tables.Column(verbose_name=_("通话"), empty_values=(), accessor="pk")

    class Meta:
        model = QualityReview
        fields = ()

    def render_direction(self, value, record):
        member = CallDirection(record.cdr.direction)
        return format_html('<span class="badge text-bg-{}">{}</span>', member.badge, member.label)

    def render_agent(self, value, record):
        return record.cdr.agent_label or "—"

    def render_score(self, value, record):
        return score_badge(record.score)

    def render_reviewer(self, value, record):
        return str(record.reviewer) if record.reviewer_id and record.reviewer is not None else "—"

    def render_call(self, value, record):
        return format_html('<a href="{}#quality">{}</a>', reverse("calls:cdr_detail", args=[record.cdr_id]),
                           _("查看通话"))


class MissedCallTable(tables.Table):
    at = tables.DateTimeColumn(verbose_name=_("来电时间"), format="Y-m-d H:i:s")
    caller = tables.Column(verbose_name=_("来电号码"))
    rang_agent = tables.Column(verbose_name=_("振铃坐席"), empty_values=())
    group_name = tables.Column(verbose_name=_("坐席组"))
    queue_name = tables.Column(verbose_name=_("队列"))
    seen = tables.BooleanColumn(verbose_name=_("已查看"))

    class Meta:
        model = MissedCall
        fields = ()

    def render_rang_agent(self, value, record):
        return str(record.rang_agent) if record.rang_agent_id else "—"
