from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from callcenter.calls.choices import CallDirection, cause_label
from callcenter.calls.models import Cdr, MissedCall


def duration(seconds: int | None) -> str:
    seconds = int(seconds or 0)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m:02d}:{s:02d}"


class DurationColumn(tables.Column):
    def render(self, value):
        return duration(value)


class CdrTable(tables.Table):
    started_at = tables.DateTimeColumn(verbose_name=_("开始时间"), format="Y-m-d H:i:s")
    direction = tables.Column(verbose_name=_("呼叫方向"))
    caller = tables.Column(verbose_name=_("主叫号码"))
    callee = tables.Column(verbose_name=_("被叫号码"))
    did = tables.Column(verbose_name=_("呼入号码"))
    agent = tables.Column(verbose_name=_("坐席"), empty_values=())
    group_name = tables.Column(verbose_name=_("坐席组"))
    queue_name = tables.Column(verbose_name=_("队列"))
    answered_at = tables.DateTimeColumn(verbose_name=_("接通时间"), format="H:i:s")
    ended_at = tables.DateTimeColumn(verbose_name=_("结束时间"), format="H:i:s")
    ring_seconds = DurationColumn(verbose_name=_("振铃时长"))
    talk_seconds = DurationColumn(verbose_name=_("通话时长"))
    cause = tables.Column(verbose_name=_("挂断原因"), empty_values=())
    last_key = tables.Column(verbose_name=_("最后按键"))
    outcome = tables.Column(verbose_name=_("结果"))
    task_id = tables.Column(verbose_name=_("任务ID"))
    recording = tables.Column(verbose_name=_("录音"), empty_values=())

    class Meta:
        model = Cdr
        fields = ()
        default_hidden = ("did", "queue_name", "answered_at", "ended_at", "outcome", "task_id")

    def render_direction(self, value, record):
        member = CallDirection(record.direction)
        return format_html('<span class="badge text-bg-{}">{}</span>', member.badge, member.label)

    def render_agent(self, value, record):
        if record.agent_id and record.agent is not None:
            return str(record.agent)
        return record.agent_number or "—"

    def render_cause(self, value, record):
        return cause_label(record.cause) if record.cause is not None else "—"

    def render_recording(self, value, record):
        if record.recording_id is None:
            return "—"
        return format_html('<i class="bi bi-mic-fill text-success" title="{}"></i>', _("有录音"))


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
