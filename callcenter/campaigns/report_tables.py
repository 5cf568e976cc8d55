"""Tables of the result screens: a task's numbers (T5 明细) and agents' numbers across tasks (T8).

The recording of each row's last call is looked up once per page (`selectors.calls_by_call_id`,
one query on the CDR's unique call id), so a page costs the same whatever its rows."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from callcenter.calls.tables import EMPTY, FastRowsMixin, duration
from callcenter.campaigns import selectors
from callcenter.campaigns.choices import CallResult, NumberStatus
from callcenter.campaigns.models import TaskNumber


def _badges(enum) -> dict[str, str]:
    return {m.value: format_html('<span class="badge text-bg-{}">{}</span>', m.badge, m.label) for m in enum}


class _CallsTable(FastRowsMixin, tables.Table):
    """Cells rendered directly (calls.tables.FastRowsMixin): a page of a 50,000-number task costs
    what the call list's page costs."""

    viewer = None  # set per request by the screen (get_table_class)

    def __init__(self, data, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        rows = data if isinstance(data, list) else []
        self.calls = selectors.calls_by_call_id(self.viewer, [r.call_id for r in rows]) if self.viewer else {}
        self._tz = timezone.get_current_timezone()
        self._status = _badges(NumberStatus)
        self._result = _badges(CallResult)
        self._number = reverse("campaigns:task_number_detail", args=[0, 0]).replace("/0/numbers/0/", "/{}/numbers/{}/")
        self._recording = reverse("calls:cdr_recording", args=[0]).replace("/0/", "/{}/")
        self._play, self._download = str(_("播放录音")), str(_("下载录音"))

    def _when(self, value, fmt="%Y-%m-%d %H:%M:%S"):
        return value.astimezone(self._tz).strftime(fmt) if value is not None else EMPTY

    def cell_phone(self, r):
        return format_html('<a href="{}" class="number-link">{}</a>', self._number.format(r.task_id, r.pk), r.phone)

    def cell_customer(self, r):
        return (r.customer.name or EMPTY) if r.customer_id else EMPTY

    def cell_agent(self, r):
        return f"{r.agent.number} {r.agent.name}".strip() if r.agent_id else EMPTY

    def cell_status(self, r):
        return self._status.get(r.status, r.status or EMPTY)

    def cell_result(self, r):
        return self._result.get(r.result, r.result or EMPTY)

    def cell_attempts(self, r):
        return r.attempts

    def cell_last_attempt_at(self, r):
        return self._when(r.last_attempt_at)

    def cell_talk_seconds(self, r):
        return duration(r.talk_seconds)

    def cell_recording(self, r):
        call = self.calls.get(r.call_id)
        if not call or not call["recording"]:
            return EMPTY
        src = self._recording.format(call["cdr"])
        return format_html(
            '<button type="button" class="btn btn-sm btn-link p-0 play-recording" data-play-recording="{}" '
            'data-title="{}" title="{}"><i class="bi bi-play-circle"></i></button> '
            '<a class="btn btn-sm btn-link p-0" href="{}?download=1" title="{}"><i class="bi bi-download"></i></a>',
            src, r.phone, self._play, src, self._download)


class TaskNumberTable(_CallsTable):
    line_no = tables.Column(verbose_name=_("行号"))
    phone = tables.Column(verbose_name=_("号码"))
    customer = tables.Column(verbose_name=_("客户"))
    status = tables.Column(verbose_name=_("状态"))
    result = tables.Column(verbose_name=_("结果"))
    attempts = tables.Column(verbose_name=_("呼叫次数"))
    last_attempt_at = tables.Column(verbose_name=_("最后呼叫"))
    next_attempt_at = tables.Column(verbose_name=_("下次呼叫"))
    agent = tables.Column(verbose_name=_("坐席"))
    talk_seconds = tables.Column(verbose_name=_("通话时长"))
    recording = tables.Column(verbose_name=_("录音"))

    class Meta:
        model = TaskNumber
        fields = ()
        default_hidden = ("next_attempt_at",)

    def cell_line_no(self, r):
        return r.line_no

    def cell_next_attempt_at(self, r):
        return self._when(r.next_attempt_at, "%Y-%m-%d %H:%M")


class AgentTaskNumberTable(_CallsTable):
    last_attempt_at = tables.Column(verbose_name=_("呼叫时间"))
    agent = tables.Column(verbose_name=_("坐席"))
    task = tables.Column(verbose_name=_("任务"))
    phone = tables.Column(verbose_name=_("号码"))
    customer = tables.Column(verbose_name=_("客户"))
    result = tables.Column(verbose_name=_("结果"))
    status = tables.Column(verbose_name=_("状态"))
    attempts = tables.Column(verbose_name=_("呼叫次数"))
    talk_seconds = tables.Column(verbose_name=_("通话时长"))
    recording = tables.Column(verbose_name=_("录音"))

    class Meta:
        model = TaskNumber
        fields = ()
        default_hidden = ("status",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._task = reverse("campaigns:task_numbers", args=[0]).replace("/0/", "/{}/")

    def cell_task(self, r):
        return format_html('<a href="{}">{}</a>', self._task.format(r.task_id), r.task.name)
