"""One FilterSet per model: the UI list, 已读所有 and the API all use it."""

from __future__ import annotations

import django_filters as df
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.models import Agent
from callcenter.core.filtersets import TenantFilterSet
from callcenter.notices.choices import AnnouncementStatus, ReadState, TodoKind
from callcenter.notices.models import Announcement, Todo


class AnnouncementFilterSet(TenantFilterSet):
    title = df.CharFilter(label=_("标题"), field_name="title", lookup_expr="icontains")
    status = df.ChoiceFilter(label=_("状态"), choices=AnnouncementStatus.choices)
    author = df.ModelChoiceFilter(label=_("发布人"), queryset=Agent.objects.order_by("number"))
    since = df.DateTimeFilter(label=_("创建时间从"), field_name="created_at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("创建时间到"), field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Announcement
        fields = ["title", "status", "author", "since", "until"]


class TodoFilterSet(TenantFilterSet):
    kind = df.ChoiceFilter(label=_("类型"), choices=TodoKind.choices)
    state = df.ChoiceFilter(label=_("状态"), choices=ReadState.choices, method="filter_state")
    since = df.DateTimeFilter(label=_("时间从"), field_name="created_at", lookup_expr="gte")
    until = df.DateTimeFilter(label=_("时间到"), field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Todo
        fields = ["kind", "state", "since", "until"]

    def filter_state(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(read_at__isnull=value == ReadState.UNREAD)
