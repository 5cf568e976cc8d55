"""One generic view kit for every list screen (STYLE.md practice 1).

A model gets list, detail, add, edit, delete, bulk edit, bulk delete, import and export
by declaring a `Screen`: its filterset, table, forms and, where the screen has side
effects, service hooks. URLs and menu entries come from the same declaration, so names
are predictable: `<app>:<model>_list`, `<app>:<model>_edit`, ...
"""

from __future__ import annotations

from django.db import models, transaction
from django.urls import path
from django.utils.translation import gettext_lazy as _

from callcenter.core import audit, navigation
from callcenter.core.scope import scoped

ALL_ACTIONS = ("list", "detail", "add", "edit", "delete", "bulk_edit", "bulk_delete", "import", "export")


class Screen:
    model: type[models.Model]
    section: str = "callconfig"
    menu_order: int = 100
    menu_label = None
    filterset_class = None
    table_class = None
    form_class = None
    bulk_edit_form_class = None
    actions: tuple[str, ...] = ("list", "detail", "add", "edit", "delete", "bulk_edit", "bulk_delete", "export")
    # URL sort alias -> model field; each is the leading column of an index with id.
    sort_fields: dict[str, str] = {"id": "id"}
    default_sort = "-id"
    select_related: tuple[str, ...] = ()
    prefetch_related: tuple[str, ...] = ()
    export_columns: list[tuple[str, str]] = []
    importers: dict = {}
    detail_fields: list[str] | None = None
    list_buttons: list[tuple] = []  # (label, url_name, perm) shown above the list
    detail_buttons: list[tuple] = []  # (label, url_name, perm) taking the object's pk
    row_buttons: list[tuple] = []  # (label, url_name, perm) taking the row's pk, on each row of the list
    # action -> view class replacing the generic one (e.g. agents are added by range)
    custom_views: dict = {}
    list_template = "core/object_list.html"
    detail_template = "core/object_detail.html"
    edit_template = "core/object_edit.html"

    # --- names ---------------------------------------------------------------
    @property
    def app_label(self) -> str:
        return self.model._meta.app_label

    @property
    def model_name(self) -> str:
        return self.model._meta.model_name

    @property
    def key(self) -> str:
        return f"{self.app_label}.{self.model_name}"

    @property
    def label(self):
        return self.menu_label or self.model._meta.verbose_name_plural

    def url_name(self, action: str) -> str:
        return f"{self.app_label}:{self.model_name}_{action}"

    def perm(self, action: str) -> str:
        verb = {"list": "view", "detail": "view", "edit": "change", "bulk_edit": "change",
                "bulk_delete": "delete"}.get(action, action)
        return f"{self.app_label}.{verb}_{self.model_name}"

    def allows(self, user, action: str) -> bool:
        return action in self.actions and user.has_perm(self.perm(action))

    # --- reads -----------------------------------------------------------------
    def queryset(self, request):
        qs = self.model.objects.all()
        if self.select_related:
            qs = qs.select_related(*self.select_related)
        if self.prefetch_related:
            qs = qs.prefetch_related(*self.prefetch_related)
        return scoped(qs, request.user)

    def get_table_class(self, request):
        """The list's table; a screen whose columns depend on the enterprise builds one per request."""
        return self.table_class

    def get_export_columns(self, user) -> list[tuple[str, str]]:
        """(header, accessor or callable(obj)) pairs of the export; may depend on the user's enterprise."""
        return self.export_columns

    def export_rows(self, queryset, columns: list[tuple[str, str]]):
        """The export's rows (lists of cell values) for `columns`; a screen with very large
        exports replaces this with one that reads values instead of model instances."""
        from callcenter.core.exporting import export_rows

        return export_rows(queryset, columns)

    def detail_context(self, request, obj) -> dict:
        """More context for the detail page (related rows, a form of its own)."""
        return {}

    def form_kwargs(self, request, instance=None) -> dict:
        return {"enterprise": request.user.enterprise, "user": request.user}

    # --- writes (override to call services) -----------------------------------------
    def create(self, request, form):
        with transaction.atomic():
            obj = form.save(commit=False)
            obj.enterprise = request.user.enterprise
            obj.save()
            form.save_m2m()
            audit.record_create(obj)
        return obj

    def update(self, request, obj, form):
        # form validation has already copied the new values onto `obj`: the "before"
        # side of the audit diff comes from the stored row.
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk))
        with transaction.atomic():
            obj = form.save()
            audit.record_update(obj, before)
        return obj

    def delete_refusal(self, request, obj) -> str | None:
        """Why `obj` may not be deleted, or None."""
        return None

    def delete(self, request, obj) -> None:
        with transaction.atomic():
            audit.record_delete(obj)
            obj.delete()

    def bulk_update(self, request, objs: list, changes: dict) -> int:
        """Apply the same field values to `objs`; one UPDATE per batch, one audit row each."""
        if not objs or not changes:
            return 0
        entries = []
        for obj in objs:
            before = audit.snapshot(obj)
            for name, value in changes.items():
                setattr(obj, name, value)
            entries.append((obj, "update", audit.diff(before, audit.snapshot(obj))))
        with transaction.atomic():
            self.model.objects.bulk_update(objs, list(changes), batch_size=500)
            audit.record_many(entries, channel="bulk")
        return len(objs)

    # --- wiring -----------------------------------------------------------------------
    def get_urls(self) -> list:
        from callcenter.core import views

        name = self.model_name
        table = {
            "list": ("", views.ObjectListView),
            "add": ("add/", views.ObjectEditView),
            "detail": ("<int:pk>/", views.ObjectDetailView),
            "edit": ("<int:pk>/edit/", views.ObjectEditView),
            "delete": ("<int:pk>/delete/", views.ObjectDeleteView),
            "bulk_edit": ("bulk-edit/", views.BulkEditView),
            "bulk_delete": ("bulk-delete/", views.BulkDeleteView),
        }
        urls = [path(f"{name}s/columns/", views.ColumnsView.as_view(screen=self), name=f"{name}_columns")]
        for action, (suffix, view) in table.items():
            view = self.custom_views.get(action, view)
            if action in self.actions:
                urls.append(path(f"{name}s/{suffix}", view.as_view(screen=self, action=action),
                                 name=f"{name}_{action}"))
        if "export" in self.actions or "import" in self.actions:
            from callcenter.core import io_views

            if "export" in self.actions:
                urls.append(path(f"{name}s/export/", io_views.ExportView.as_view(screen=self), name=f"{name}_export"))
            if "import" in self.actions:
                urls.append(path(f"{name}s/import/", io_views.ImportView.as_view(screen=self), name=f"{name}_import"))
                urls.append(path(f"{name}s/import/template/", io_views.ImportTemplateView.as_view(screen=self),
                                 name=f"{name}_import_template"))
        return urls

    def register_menu(self) -> None:
        navigation.register(self.section, self.label, self.url_name("list"), self.perm("list"), order=self.menu_order)


_registry: dict[str, Screen] = {}


def register(screen_class: type[Screen]) -> Screen:
    screen = screen_class()
    _registry[screen.key] = screen
    screen.register_menu()
    return screen


def get_screen(key: str) -> Screen:
    return _registry[key]


def all_screens() -> list[Screen]:
    return list(_registry.values())


__all__ = ["ALL_ACTIONS", "Screen", "all_screens", "get_screen", "register", "_"]
