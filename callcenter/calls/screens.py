"""The calls screens: 通话详单 (2.1.3) with 质检, 漏接明细 (2.4.5), and 坐席监控 (2.1.6) in the menu.
Call rows are read-only (call control writes them); users write only quality reviews."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from callcenter.calls import filtersets, tables
from callcenter.calls.models import Cdr, MissedCall, QualityReview
from callcenter.core import navigation
from callcenter.core.screens import Screen, register


def _review_score(review) -> str:
    return review.score if review is not None else ""


def _review_comment(cdr) -> str:
    review = getattr(cdr, "review", None)
    return review.comment if review is not None else ""


class CdrScreen(Screen):
    model = Cdr
    section = "tasks"
    menu_order = 30
    filterset_class = filtersets.CdrFilterSet
    table_class = tables.CdrTable
    actions = ("list", "detail", "export")
    sort_fields = {"started_at": "started_at"}
    default_sort = "-started_at"
    select_related = ("agent", "recording", "review")
    detail_template = "calls/cdr_detail.html"
    detail_fields = ["call_id", "direction", "caller", "callee", "did", "trunk", "agent_number", "agent",
                     "group_name", "queue_name", "flow", "started_at", "answered_at", "ended_at", "ring_seconds",
                     "talk_seconds", "cause", "cause_text", "last_key", "outcome", "task_id", "attempt_id"]
    export_columns = [
        (_("开始时间"), "started_at"), (_("呼叫方向"), "get_direction_display"), (_("主叫号码"), "caller"),
        (_("被叫号码"), "callee"), (_("呼入号码"), "did"), (_("坐席"), "agent_label"), (_("坐席组"), "group_name"),
        (_("队列"), "queue_name"), (_("接通时间"), "answered_at"), (_("结束时间"), "ended_at"),
        (_("振铃时长（秒）"), "ring_seconds"), (_("通话时长（秒）"), "talk_seconds"), (_("挂断原因码"), "cause"),
        (_("挂断原因"), "get_cause_display"), (_("最后按键"), "last_key"), (_("结果"), "outcome"),
        (_("任务ID"), "task_id"), (_("录音"), "has_recording"), (_("通话ID"), "call_id"),
        (_("质检评分"), lambda cdr: _review_score(getattr(cdr, "review", None))), (_("评语"), _review_comment),
    ]

    def export_rows(self, queryset, columns):
        """The CDR export reads values, not model instances: a million rows in well under a
        minute (bench/cdrs.py). Same cells as the generic rows of `export_columns` (tested)."""
        if columns is not self.export_columns:
            return super().export_rows(queryset, columns)
        return cdr_export_rows(queryset)

    @property
    def custom_views(self):
        from callcenter.calls.views import CdrDetailView

        return {"detail": CdrDetailView}

    def detail_context(self, request, obj) -> dict:
        from callcenter.calls.views import review_context

        return review_context(request, obj)


CDR_EXPORT_FIELDS = ("t_started", "direction", "caller", "callee", "did", "agent_id", "agent_number", "group_name",
                     "queue_name", "t_answered", "t_ended", "ring_seconds", "talk_seconds", "cause", "last_key",
                     "outcome", "task_id", "recording_id", "call_id", "review__score", "review__comment")


def _utc_clock(tz):
    """UTC text ("YYYY-MM-DD HH:MM:SS[.ffffff][+00]", as SQLite stores and PostgreSQL casts a
    timestamp) -> local "YYYY-MM-DD HH:MM:SS". Consecutive rows are close in time, so the local
    form of the row's UTC hour is computed once; minutes and seconds are kept when the offset is a
    whole number of hours, else the minute is converted (offsets are whole minutes)."""
    from datetime import UTC, datetime

    last = ["", "", 0]

    def when(text):
        if text is None:
            return ""
        hour = text[:13]
        if hour != last[0]:
            local = datetime.fromisoformat(hour + ":00:00").replace(tzinfo=UTC).astimezone(tz)
            last[0], last[1], last[2] = hour, local.isoformat(" ")[:13], local.utcoffset().total_seconds() % 3600
        if not last[2]:
            return last[1] + text[13:19]
        local = datetime.fromisoformat(text[:16] + ":00").replace(tzinfo=UTC).astimezone(tz)
        return local.isoformat(" ")[:16] + text[16:19]

    return when


def cdr_export_rows(queryset):
    """Rows of CdrScreen.export_columns from one values query (a LEFT JOIN to the review only;
    agents' labels come from one query per enterprise), labels looked up once.

    Times are read as the database's UTC text (CAST), not as datetimes: Django's per-value
    datetime converters and strftime were a third of the export's time (bench/cdrs.py)."""
    from django.db.models import CharField
    from django.db.models.functions import Cast
    from django.utils import timezone
    from django.utils.translation import gettext

    from callcenter.accounts.models import Agent
    from callcenter.calls.choices import CallDirection, cause_label

    tz = timezone.get_current_timezone()
    directions = {m.value: str(m.label) for m in CallDirection}
    causes: dict[int, str] = {}
    agents: dict[int, str] = {}
    yes, no = gettext("是"), gettext("否")

    def agent_label(agent_id: int, kept: str) -> str:
        label = agents.get(agent_id)
        if label is None:  # the first call of this enterprise's agents: all of them at once
            enterprise = Agent.objects.filter(pk=agent_id).values_list("enterprise_id", flat=True).first()
            agents.update((pk, f"{number} {name}".strip()) for pk, number, name in
                          Agent.objects.filter(enterprise_id=enterprise).values_list("pk", "number", "name"))
            label = agents.setdefault(agent_id, kept)
        return label

    when_started, when_answered, when_ended = _utc_clock(tz), _utc_clock(tz), _utc_clock(tz)
    values = queryset.annotate(
        t_started=Cast("started_at", CharField()), t_answered=Cast("answered_at", CharField()),
        t_ended=Cast("ended_at", CharField())).values_list(*CDR_EXPORT_FIELDS)
    for (started, direction, caller, callee, did, agent_id, agent_number, group, queue, answered, ended, ring,
         talk, cause, last_key, outcome, task_id, recording_id, call_id, score,
         comment) in values.iterator(chunk_size=5000):
        if cause is None:
            code = label = ""
        else:
            code = cause
            label = causes.get(cause)
            if label is None:
                label = causes[cause] = str(cause_label(cause))
        yield [when_started(started), directions.get(direction, direction), caller, callee, did,
               agent_number if agent_id is None else agent_label(agent_id, agent_number),
               group, queue, when_answered(answered), when_ended(ended), ring, talk, code, label, last_key, outcome,
               "" if task_id is None else task_id, yes if recording_id is not None else no, call_id,
               "" if score is None else score, comment or ""]


class QualityReviewScreen(Screen):
    """质检: the reviewed calls, newest review first."""

    model = QualityReview
    section = "tasks"
    menu_order = 35
    filterset_class = filtersets.QualityReviewFilterSet
    table_class = tables.QualityReviewTable
    actions = ("list", "export")
    sort_fields = {"reviewed_at": "reviewed_at", "score": "score"}
    default_sort = "-reviewed_at"
    select_related = ("cdr", "cdr__agent", "reviewer")
    export_columns = [
        (_("质检时间"), "reviewed_at"), (_("通话时间"), "cdr.started_at"), (_("呼叫方向"), "cdr.get_direction_display"),
        (_("主叫号码"), "cdr.caller"), (_("被叫号码"), "cdr.callee"), (_("被质检坐席"), "cdr.agent_label"),
        (_("通话时长（秒）"), "cdr.talk_seconds"), (_("评分"), "score"), (_("评语"), "comment"),
        (_("质检员"), "reviewer"), (_("通话ID"), "cdr.call_id"),
    ]


class MissedCallScreen(Screen):
    model = MissedCall
    section = "reports"
    menu_order = 50
    filterset_class = filtersets.MissedCallFilterSet
    table_class = tables.MissedCallTable
    actions = ("list", "export")
    sort_fields = {"at": "at"}
    default_sort = "-at"
    select_related = ("rang_agent",)
    export_columns = [
        (_("来电时间"), "at"), (_("来电号码"), "caller"), (_("振铃坐席"), "rang_agent"), (_("坐席组"), "group_name"),
        (_("队列"), "queue_name"), (_("已查看"), "seen"), (_("通话ID"), "call_id"),
    ]


cdr_screen = register(CdrScreen)
quality_review_screen = register(QualityReviewScreen)
missed_call_screen = register(MissedCallScreen)
navigation.register("tasks", _("坐席监控"), "calls:agent_monitor", "calls.view_agentstate", order=60)
