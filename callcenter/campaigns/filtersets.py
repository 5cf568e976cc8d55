"""任务查询 (2.1.2): query tasks by name, period (呼叫时段) and status. One FilterSet serves the list
screen and the `tasks` API."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import django_filters as df
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from callcenter.campaigns.choices import TaskStatus
from callcenter.campaigns.models import Task
from callcenter.core.filtersets import TenantFilterSet

DRAFT = "draft"
STATUS_CHOICES = [(DRAFT, _("草稿")), *TaskStatus.choices]


def _day_start(day, enterprise) -> datetime:
    """Midnight of `day` in the enterprise's time zone."""
    zone = ZoneInfo(enterprise.time_zone) if enterprise is not None else timezone.get_current_timezone()
    return datetime.combine(day, time.min, tzinfo=zone)


class TaskFilterSet(TenantFilterSet):
    name = df.CharFilter(label=_("任务名称"), field_name="name", lookup_expr="icontains")
    period_from = df.DateFilter(label=_("呼叫时段从"), method="active_since",
                                widget=forms.DateInput(attrs={"type": "date"}))
    period_to = df.DateFilter(label=_("呼叫时段到"), method="active_until",
                              widget=forms.DateInput(attrs={"type": "date"}))
    status = df.ChoiceFilter(label=_("状态"), choices=STATUS_CHOICES, method="by_status")

    class Meta:
        model = Task
        fields = ["name", "period_from", "period_to", "status"]

    def active_since(self, queryset, name, value):
        """Tasks still open on or after that day: not ended, or ended on or after it."""
        return queryset.filter(Q(ended_at__isnull=True) | Q(ended_at__gte=_day_start(value, self._enterprise)))

    def active_until(self, queryset, name, value):
        """Tasks created on or before that day."""
        return queryset.filter(created_at__lt=_day_start(value + timedelta(days=1), self._enterprise))

    def by_status(self, queryset, name, value):
        if value == DRAFT:
            return queryset.filter(status=TaskStatus.PAUSED, submitted=False)
        if value == TaskStatus.PAUSED:
            return queryset.filter(status=TaskStatus.PAUSED, submitted=True)
        return queryset.filter(status=value)
