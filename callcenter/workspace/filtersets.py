"""跟踪记录 filters: the UI list, export and the API share them."""

from __future__ import annotations

import django_filters as df
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.filtersets import agent_choices
from callcenter.calls.filtersets import ScopedAgentFilterSet
from callcenter.workspace.choices import FollowUpResult
from callcenter.workspace.models import FollowUp

DUE_CHOICES = [("due", _("已到期")), ("upcoming", _("未到期")), ("none", _("未设置"))]


class FollowUpFilterSet(ScopedAgentFilterSet):
    agent = df.ModelChoiceFilter(label=_("坐席"), queryset=agent_choices())
    phone = df.CharFilter(label=_("客户电话"), method="exact_phone", help_text=_("完整号码"))
    result = df.ChoiceFilter(label=_("跟踪结果"), choices=FollowUpResult.choices)
    since = df.DateTimeFilter(label=_("记录时间从"), field_name="created_at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("记录时间到"), field_name="created_at", lookup_expr="lt")
    due = df.ChoiceFilter(label=_("下次联系"), choices=DUE_CHOICES, method="by_due")
    next_until = df.DateTimeFilter(label=_("下次联系时间早于"), field_name="next_contact_at", lookup_expr="lt")

    class Meta:
        model = FollowUp
        fields = ["agent", "phone", "result", "since", "until", "due", "next_until"]

    def exact_phone(self, queryset, name, value):
        from callcenter.crm.services import normalise_phone

        try:
            return queryset.filter(phone=normalise_phone(value))
        except ValueError:
            return queryset.none()

    def by_due(self, queryset, name, value):
        now = timezone.now()
        if value == "due":
            return queryset.filter(next_contact_at__lte=now)
        if value == "upcoming":
            return queryset.filter(next_contact_at__gt=now)
        if value == "none":
            return queryset.filter(next_contact_at__isnull=True)
        return queryset
