from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from callcenter.campaigns.choices import TaskStatus
from callcenter.campaigns.models import Task
from callcenter.core.tables import DateTimeColumn


class TaskStatusColumn(tables.Column):
    """The status badge; a draft (保存草稿) is PAUSED and not submitted, shown as 草稿."""

    def render(self, value, record):
        if record.status == TaskStatus.PAUSED and not record.submitted:
            return format_html('<span class="badge text-bg-light border" data-status="draft">{}</span>', _("草稿"))
        member = TaskStatus(record.status)
        return format_html('<span class="badge text-bg-{}" data-status="{}">{}</span>', member.badge, member.value,
                           member.label)


class WindowsColumn(tables.Column):
    """发送阶段, from the prefetched windows (no query per row)."""

    def render(self, value, record):
        windows = list(record.windows.all())
        if not windows:
            return _("全天")
        return format_html_join(" ", "<span class=\"text-nowrap\">{}</span>", ((str(w),) for w in windows))


class TaskNameColumn(tables.Column):
    def render(self, value, record):
        return format_html('<a href="{}" class="task-name">{}</a>', reverse("campaigns:task_detail", args=[record.pk]),
                           value)


class TaskTable(tables.Table):
    name = TaskNameColumn(verbose_name=_("任务名称"))
    status = TaskStatusColumn(verbose_name=_("状态"))
    flow = tables.Column(verbose_name=_("流程"))
    category = tables.Column(verbose_name=_("客户分类"))
    numbers_total = tables.Column(verbose_name=_("号码数"))
    windows = WindowsColumn(verbose_name=_("发送阶段"), accessor="pk", empty_values=(), orderable=False)
    start_at = DateTimeColumn(verbose_name=_("开始时间"), format="Y-m-d H:i")
    created_at = DateTimeColumn(verbose_name=_("创建时间"), format="Y-m-d H:i")
    created_by = tables.Column(verbose_name=_("创建人"))
    ended_at = DateTimeColumn(verbose_name=_("结束时间"), format="Y-m-d H:i")
    round = tables.Column(verbose_name=_("发送轮次"))

    class Meta:
        model = Task
        fields = ()
        default_hidden = ("ended_at", "round")
