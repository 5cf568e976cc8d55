"""Generic views driven by a `Screen` (see screens.py)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import ProtectedError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.html import conditional_escape
from django.utils.translation import gettext as _
from django.views import View

from callcenter.core.models import ColumnPreference
from callcenter.core.pagination import capped_count, keyset_page
from callcenter.core.tables import PkUrl, RowFrame, use_fast_rows

MAX_BULK = 5000


def add_errors(form, exc: ValidationError) -> None:
    """Attach a service's refusal to the form field it names (or to the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class ScreenView(LoginRequiredMixin, View):
    screen = None
    action = "list"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if request.user.enterprise_id is None:
            raise PermissionDenied(_("平台管理员请使用 /admin/ 管理企业"))
        if not request.user.has_perm(self.screen.perm(self.required_action())):
            raise PermissionDenied(_("没有权限"))
        return super().dispatch(request, *args, **kwargs)

    def required_action(self) -> str:
        return self.action

    def get_object(self, pk):
        return get_object_or_404(self.screen.queryset(self.request), pk=pk)

    def base_context(self, **extra):
        screen = self.screen
        user = self.request.user
        ctx = {
            "screen": screen,
            "title": screen.label,
            "can": {a: screen.allows(user, a) for a in
                    ("add", "edit", "delete", "bulk_edit", "bulk_delete", "import", "export", "detail")},
            "urls": {a: screen.url_name(a) for a in screen.actions},
            "opts": screen.model._meta,
        }
        ctx.update(extra)
        return ctx

    def list_url(self) -> str:
        return reverse(self.screen.url_name("list"))


COLUMN_LABEL_MAX = 60


def column_preference(screen, user) -> tuple[list[str], dict[str, str]]:
    """The user's 栏目设置 of a list: visible columns in order, and renamed labels. Stored as
    {"columns": [...], "labels": {...}} (a plain list of names before labels could be renamed)."""
    pref = ColumnPreference.objects.filter(user=user, table=screen.key).values_list("columns", flat=True).first()
    if isinstance(pref, dict):
        return list(pref.get("columns") or []), dict(pref.get("labels") or {})
    return list(pref or []), {}


def visible_columns(screen, user, table_class, pref: list[str] | None = None) -> list[str]:
    names = [name for name in table_class.base_columns]
    if pref is None:
        pref, _labels = column_preference(screen, user)
    if pref:
        chosen = [n for n in pref if n in names]
        if chosen:
            return chosen
    default_hidden = set(getattr(table_class.Meta, "default_hidden", ()))
    return [n for n in names if n not in default_hidden]


class ObjectListView(ScreenView):
    def row_frame(self, ctx) -> RowFrame:
        """Each row's checkbox and links (core/_table.html): detail, edit, the screen's row buttons,
        delete; URLs reversed once per page."""
        can, urls, user = ctx["can"], ctx["urls"], self.request.user

        def link(action, css, label):
            return [(css, PkUrl(urls[action]), conditional_escape(label))] if can.get(action) and action in urls else []

        own = [("btn btn-sm btn-link p-0 ms-1", PkUrl(name), conditional_escape(label))
               for label, name, perm in self.screen.row_buttons if not perm or user.has_perm(perm)]
        return RowFrame(checkbox=bool(can.get("bulk_edit") or can.get("bulk_delete")), slots=[
            link("detail", "btn btn-sm btn-link p-0", _("查看")),
            link("edit", "btn btn-sm btn-link p-0 ms-1", _("编辑")),
            own,
            link("delete", "btn btn-sm btn-link text-danger p-0 ms-1", _("删除")),
        ])

    def filtered(self, request):
        screen = self.screen
        qs = screen.queryset(request)
        filterset = None
        if screen.filterset_class is not None:
            filterset = screen.filterset_class(request.GET or None, queryset=qs, request=request)
            qs = filterset.qs if filterset.is_bound and filterset.is_valid() else qs
            if filterset.is_bound and not filterset.is_valid():
                qs = qs.none()
        return filterset, qs

    def sort(self, request):
        raw = request.GET.get("sort") or self.screen.default_sort
        descending = raw.startswith("-")
        alias = raw.lstrip("-")
        if alias not in self.screen.sort_fields:
            raw = self.screen.default_sort
            descending = raw.startswith("-")
            alias = raw.lstrip("-")
        return alias, self.screen.sort_fields[alias], descending

    def get(self, request):
        screen = self.screen
        filterset, qs = self.filtered(request)
        alias, sort_field, descending = self.sort(request)
        per_page = request.GET.get("per_page", "")
        page_size = min(max(int(per_page), 10), 500) if per_page.isdigit() else 50
        page = keyset_page(
            qs, sort_field=sort_field, descending=descending, page_size=page_size,
            after=request.GET.get("after"), before=request.GET.get("before"), last=request.GET.get("page") == "last",
        )
        count, more = capped_count(qs)
        table_class = screen.get_table_class(request)
        pref, labels = column_preference(screen, request.user)
        columns = visible_columns(screen, request.user, table_class, pref)
        all_columns = list(table_class.base_columns)
        # the 栏目设置 order: the visible columns as chosen, then the hidden ones
        setting_order = columns + [c for c in all_columns if c not in columns]
        table = table_class(
            page.rows, orderable=False, sequence=columns + [c for c in all_columns if c not in columns],
            exclude=[c for c in all_columns if c not in columns],
        )
        base_query = {k: v for k, v in request.GET.items() if k not in ("after", "before", "page", "sort")}
        headers = []
        for column in table.columns:
            sortable = column.name in screen.sort_fields
            next_sort = column.name if not (alias == column.name and not descending) else f"-{column.name}"
            headers.append({
                "name": column.name, "label": labels.get(column.name) or column.header, "sortable": sortable,
                "url": "?" + urlencode({**base_query, "sort": next_sort}) if sortable else None,
                "active": alias == column.name, "descending": descending,
            })
        keep = {**base_query, "sort": request.GET.get("sort") or screen.default_sort}
        nav = {
            "first": "?" + urlencode(keep),
            "last": "?" + urlencode({**keep, "page": "last"}),
            "next": "?" + urlencode({**keep, "after": page.next_cursor}) if page.next_cursor else None,
            "previous": "?" + urlencode({**keep, "before": page.previous_cursor}) if page.previous_cursor else None,
        }
        ctx = self.base_context(
            filterset=filterset, table=table, headers=headers, page=page, nav=nav, count=count, count_more=more,
            query=urlencode(base_query), columns=columns,
            all_columns=[(c, table_class.base_columns[c].verbose_name or c,
                          labels.get(c) or table_class.base_columns[c].verbose_name or c) for c in setting_order],
            list_buttons=[b for b in screen.list_buttons if not b[2] or request.user.has_perm(b[2])],
            importers=screen.importers,
        )
        use_fast_rows(table, self.row_frame(ctx))
        partial = request.htmx and request.htmx.target == "object-table"
        template = "core/_table.html" if partial else screen.list_template
        return render(request, template, ctx)


class ObjectDetailView(ScreenView):
    def get(self, request, pk):
        return self.render_detail(request, self.get_object(pk))

    def render_detail(self, request, obj, *, status: int = 200, **extra):
        """The detail page; `extra` (e.g. a form with errors) and the screen's
        `detail_context` go into its context."""
        fields = []
        names = self.screen.detail_fields or [f.name for f in obj._meta.concrete_fields if f.name not in (
            "password", "enterprise", "id", "third_party_password", "key_hash")]
        for name in names:
            field = obj._meta.get_field(name)
            display = getattr(obj, f"get_{name}_display", None)
            value = display() if display else getattr(obj, name)
            if isinstance(value, bool):
                value = _("是") if value else _("否")
            fields.append((field.verbose_name, value))
        buttons = [b for b in self.screen.detail_buttons if not b[2] or request.user.has_perm(b[2])]
        context = {**self.screen.detail_context(request, obj), **extra}
        return render(request, self.screen.detail_template,
                      self.base_context(object=obj, fields=fields, detail_buttons=buttons, title=str(obj), **context),
                      status=status)


class ObjectEditView(ScreenView):
    template_name = None

    def form(self, request, obj=None, data=None, files=None):
        return self.screen.form_class(data, files, instance=obj, **self.screen.form_kwargs(request, obj))

    def get(self, request, pk=None):
        obj = self.get_object(pk) if pk else None
        return self.render_form(request, self.form(request, obj), obj)

    def render_form(self, request, form, obj):
        return render(request, self.screen.edit_template, self.base_context(form=form, object=obj))

    def post(self, request, pk=None):
        obj = self.get_object(pk) if pk else None
        form = self.form(request, obj, request.POST, request.FILES)
        if not form.is_valid():
            return self.render_form(request, form, obj)
        try:
            if obj is None:
                obj = self.screen.create(request, form)
                messages.success(request, _("已新增 %(obj)s") % {"obj": obj})
            else:
                obj = self.screen.update(request, obj, form)
                messages.success(request, _("已保存 %(obj)s") % {"obj": obj})
        except ValidationError as exc:
            add_errors(form, exc)
            return self.render_form(request, form, obj)
        if isinstance(obj, HttpResponse):
            return obj
        if "detail" in self.screen.actions:
            return HttpResponseRedirect(reverse(self.screen.url_name("detail"), args=[obj.pk]))
        return HttpResponseRedirect(self.list_url())


class ObjectDeleteView(ScreenView):
    def get(self, request, pk):
        obj = self.get_object(pk)
        refusal = self.screen.delete_refusal(request, obj)
        return render(request, "core/object_delete.html", self.base_context(object=obj, refusal=refusal))

    def post(self, request, pk):
        obj = self.get_object(pk)
        refusal = self.screen.delete_refusal(request, obj)
        if refusal is None:
            try:
                self.screen.delete(request, obj)
            except ProtectedError:
                refusal = _("仍有其他数据引用它，不能删除")
        if refusal:
            messages.error(request, refusal)
            return render(request, "core/object_delete.html", self.base_context(object=obj, refusal=refusal),
                          status=409)
        messages.success(request, _("已删除 %(obj)s") % {"obj": obj})
        return HttpResponseRedirect(self.list_url())


class SelectionMixin:
    """Bulk actions act on ticked rows, or on every row matching the list's filters."""

    def selection(self, request):
        qs = self.screen.queryset(request)
        if request.POST.get("select_all") == "1":
            if self.screen.filterset_class is not None:
                from django.http import QueryDict

                params = QueryDict(request.POST.get("query", ""))
                fs = self.screen.filterset_class(params or None, queryset=qs, request=request)
                qs = fs.qs if fs.is_valid() else qs.none()
            return qs.order_by("pk")
        pks = [int(p) for p in request.POST.getlist("pk") if p.isdigit()]
        return qs.filter(pk__in=pks).order_by("pk")


class BulkEditView(SelectionMixin, ScreenView):
    def post(self, request):
        qs = self.selection(request)
        objs = list(qs[: MAX_BULK + 1])
        if len(objs) > MAX_BULK:
            messages.error(request, _("一次最多批量修改 %(n)s 条") % {"n": MAX_BULK})
            return HttpResponseRedirect(self.list_url())
        if not objs:
            messages.error(request, _("请先选择要修改的记录"))
            return HttpResponseRedirect(self.list_url())
        form_kwargs = self.screen.form_kwargs(request)
        if "_apply" in request.POST:
            form = self.screen.bulk_edit_form_class(request.POST, **form_kwargs)
            if form.is_valid():
                refusal = getattr(form, "refusal", lambda objs: None)(objs)
                if refusal:
                    form.add_error(None, refusal)
                else:
                    n = self.screen.bulk_update(request, objs, form.changes())
                    messages.success(request, _("已修改 %(n)s 条") % {"n": n})
                    return HttpResponseRedirect(self.list_url())
        else:
            form = self.screen.bulk_edit_form_class(**form_kwargs)
        return render(request, "core/bulk_edit.html", self.base_context(form=form, objects=objs,
                                                                         title=_("批量修改")))


class BulkDeleteView(SelectionMixin, ScreenView):
    def post(self, request):
        objs = list(self.selection(request)[: MAX_BULK + 1])
        if len(objs) > MAX_BULK:
            messages.error(request, _("一次最多批量删除 %(n)s 条") % {"n": MAX_BULK})
            return HttpResponseRedirect(self.list_url())
        refusals = [(obj, self.screen.delete_refusal(request, obj)) for obj in objs]
        if "_confirm" not in request.POST:
            return render(request, "core/bulk_delete.html", self.base_context(
                refusals=refusals, objects=objs, deletable=[o for o, r in refusals if r is None], title=_("批量删除")))
        deleted = 0
        for obj, refusal in refusals:
            if refusal is None:
                self.screen.delete(request, obj)
                deleted += 1
        skipped = len(objs) - deleted
        messages.success(request, _("已删除 %(n)s 条") % {"n": deleted})
        if skipped:
            messages.warning(request, _("%(n)s 条不能删除，已跳过") % {"n": skipped})
        return HttpResponseRedirect(self.list_url())


class ColumnsView(ScreenView):
    """【栏目设置】: save the user's visible columns, their order (【上】【下】) and renamed labels
    (【编辑】) for a list screen; 【恢复默认】 drops them all."""

    def post(self, request):
        table_class = self.screen.get_table_class(request)
        names = list(table_class.base_columns)
        if "reset" in request.POST:
            ColumnPreference.objects.filter(user=request.user, table=self.screen.key).delete()
            messages.success(request, _("栏目已恢复默认"))
            return HttpResponseRedirect(self.list_url())
        chosen = [n for n in request.POST.getlist("columns") if n in names]
        order = {n: i for i, n in enumerate(request.POST.getlist("order"))}
        chosen.sort(key=lambda n: order.get(n, len(order)))
        labels, errors = {}, []
        for name in names:
            label = request.POST.get(f"label_{name}", "").strip()
            default = str(table_class.base_columns[name].verbose_name or name)
            if len(label) > COLUMN_LABEL_MAX:
                errors.append(_("栏目“%(c)s”的名称最多%(n)s个字符") % {"c": default, "n": COLUMN_LABEL_MAX})
            elif label and label != default:
                labels[name] = label
        if not chosen:
            errors.append(_("至少选择一列"))
        if errors:
            for error in errors:
                messages.error(request, error)
        else:
            ColumnPreference.objects.update_or_create(
                user=request.user, table=self.screen.key, defaults={"columns": {"columns": chosen, "labels": labels}})
            messages.success(request, _("栏目设置已保存"))
        return HttpResponseRedirect(self.list_url())


def home(request):
    """The dashboard: figures that exist so far."""
    from django.contrib.auth.views import redirect_to_login

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if request.user.enterprise_id is None:
        return HttpResponseRedirect("/admin/")
    from callcenter.core.dashboard import dashboard_context

    return render(request, "core/home.html", dashboard_context(request))

