"""The notices screens: 公告便签发布 (2.1.7) and 待办事务 (2.1.8).

Both lists open to every signed-in agent of the enterprise: an agent sees the announcements
published to them and their own to-dos only. Writing announcements takes the model permissions.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from callcenter.core.screens import Screen, register
from callcenter.notices import filtersets, forms, services, tables
from callcenter.notices.models import Announcement, Todo

OPEN_ACTIONS = ("list", "detail")


class OpenScreen(Screen):
    """List and detail need no permission (the queryset confines the rows)."""

    def perm(self, action: str):
        return None if action in OPEN_ACTIONS else super().perm(action)

    def allows(self, user, action: str) -> bool:
        perm = self.perm(action)
        return action in self.actions and (perm is None or user.has_perm(perm))

    @property
    def custom_views(self):
        from callcenter.notices import views

        return {"list": views.OpenListView, "detail": views.OpenDetailView}

    def get_urls(self) -> list:
        from django.urls import path

        from callcenter.notices import views

        urls = super().get_urls()
        name = self.model_name
        urls[0] = path(f"{name}s/columns/", views.OpenColumnsView.as_view(screen=self), name=f"{name}_columns")
        return urls


class AnnouncementScreen(OpenScreen):
    model = Announcement
    section = "tasks"
    menu_order = 70
    menu_label = _("公告便签发布")
    filterset_class = filtersets.AnnouncementFilterSet
    table_class = tables.AnnouncementTable
    form_class = forms.AnnouncementForm
    actions = ("list", "detail", "add", "edit", "delete")
    sort_fields = {"created_at": "created_at"}
    default_sort = "-created_at"
    select_related = ("author", "approver")
    detail_template = "notices/announcement_detail.html"

    def queryset(self, request):
        qs = Announcement.objects.select_related(*self.select_related)
        return services.visible_announcements(qs, request.user)

    def _data(self, form) -> dict:
        d = form.cleaned_data
        return {"title": d["title"], "content": d["content"], "audience": d["audience"],
                "departments": d.get("departments") or [], "agents": d.get("agents") or []}

    def create(self, request, form):
        return services.announcement_create(enterprise=request.user.enterprise, author=request.user,
                                            publish=form.cleaned_data.get("publish", False), **self._data(form))

    def update(self, request, obj, form):
        return services.announcement_update(announcement=obj, **self._data(form))

    def delete(self, request, obj):
        services.announcement_delete(announcement=obj)


class TodoScreen(OpenScreen):
    model = Todo
    section = "tasks"
    menu_order = 75
    menu_label = _("待办事务")
    filterset_class = filtersets.TodoFilterSet
    table_class = tables.TodoTable
    actions = ("list",)
    sort_fields = {"created_at": "created_at"}
    default_sort = "-created_at"
    list_template = "notices/todo_list.html"

    def queryset(self, request):
        return services.own_todos(request.user)


announcement_screen = register(AnnouncementScreen)
todo_screen = register(TodoScreen)
