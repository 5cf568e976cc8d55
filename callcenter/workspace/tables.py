from __future__ import annotations

import django_tables2 as tables
from django.utils.translation import gettext_lazy as _

from callcenter.core.tables import BadgeColumn, DateTimeColumn
from callcenter.workspace.choices import FollowUpResult
from callcenter.workspace.models import FollowUp


class FollowUpTable(tables.Table):
    created_at = DateTimeColumn(verbose_name=_("记录时间"), format="Y-m-d H:i")
    agent = tables.Column(verbose_name=_("坐席"))
    phone = tables.Column(verbose_name=_("电话"), linkify=("workspace:followup_detail", [tables.A("pk")]))
    customer = tables.Column(verbose_name=_("客户"))
    result = BadgeColumn(verbose_name=_("跟踪结果"), enum=FollowUpResult)
    next_contact_at = DateTimeColumn(verbose_name=_("下次联系时间"), format="Y-m-d H:i")
    text = tables.Column(verbose_name=_("跟踪内容"))
    call_id = tables.Column(verbose_name=_("通话ID"))

    class Meta:
        model = FollowUp
        fields = ()
        default_hidden = ("call_id",)

    def render_text(self, value):
        return value if len(value) <= 60 else value[:60] + "…"
