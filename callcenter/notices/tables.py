from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from callcenter.core.tables import BadgeColumn, DateTimeColumn
from callcenter.notices.choices import AnnouncementStatus, TodoKind


class AnnouncementTable(tables.Table):
    title = tables.Column(verbose_name=_("标题"), linkify=("notices:announcement_detail", [tables.A("pk")]))
    audience = tables.Column(verbose_name=_("通知人员"))
    status = BadgeColumn(verbose_name=_("状态"), enum=AnnouncementStatus)
    author = tables.Column(verbose_name=_("发布人"))
    approver = tables.Column(verbose_name=_("审核人"))
    created_at = DateTimeColumn(verbose_name=_("创建时间"))
    published_at = DateTimeColumn(verbose_name=_("发布时间"))
    reject_reason = tables.Column(verbose_name=_("驳回原因"))

    class Meta:
        default_hidden = ("reject_reason",)


class TodoTable(tables.Table):
    kind = BadgeColumn(verbose_name=_("类型"), enum=TodoKind)
    title = tables.Column(verbose_name=_("标题"))
    created_at = DateTimeColumn(verbose_name=_("时间"))
    read_at = DateTimeColumn(verbose_name=_("阅读时间"), default="")
    view = tables.Column(verbose_name=_("操作"), accessor="pk", orderable=False)

    class Meta:
        default_hidden = ()

    def render_title(self, value, record):
        css = "" if record.read_at else "fw-semibold"
        return format_html('<span class="{}">{}</span>', css, value)

    def render_view(self, value):
        return format_html('<a href="{}" class="todo-open">{}</a>', reverse("notices:todo_open", args=[value]),
                           _("查看"))
