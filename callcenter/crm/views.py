"""Customer pages beyond the generic screens: detail with custom fields, lock/unlock, transfer,
merge, field-code values and the cascading-choice endpoint. Views stay thin: each parses the
request, calls a service and shows its refusal."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from callcenter.core.views import (
    MAX_BULK,
    ObjectDeleteView,
    ObjectDetailView,
    ObjectEditView,
    ScreenView,
    SelectionMixin,
)
from callcenter.crm import forms, services
from callcenter.crm.models import FieldCodeValue
from callcenter.crm.screens import customer_screen, field_screen, fieldcode_screen


class GuardedMixin:
    """Out of data scope → 404 (scoped queryset); locked by another agent → 403."""

    def get_object(self, pk):
        obj = super().get_object(pk)
        return self.screen.guard(self.request, obj)


class CustomerDetailView(GuardedMixin, ObjectDetailView):
    def get(self, request, pk):
        from callcenter.crm import thirdparty

        obj = self.get_object(pk)
        # Mapped third-party values overwrite the local ones when shown (2.7.4); a slow or down
        # source leaves the local values and a notice. Lookups and sub-tables run at once.
        tp = thirdparty.gather(request.user.enterprise_id, obj.phone)
        shown = {"name": obj.name, "company": obj.company, **obj.data, **tp.values}
        fields = [(_("客户名称"), shown["name"]), (_("电话"), obj.phone), (_("公司"), shown["company"]),
                  (_("客户分类"), obj.category), (_("归属坐席"), obj.owner)]
        for f in services.fields_of(request.user.enterprise):
            fields.append((f.label, shown.get(f.key, "")))
        if obj.is_locked():
            until = obj.locked_until.strftime("%Y-%m-%d %H:%M") if obj.locked_until else _("不限")
            fields.append((_("锁定"), f"{obj.locked_by} → {until}"))
        fields.append((_("创建时间"), obj.created_at))
        return render(request, self.screen.detail_template, self.base_context(
            object=obj, fields=fields, detail_buttons=[], title=f"{shown['name']} {obj.phone}".strip(),
            locked=obj.is_locked(),
            can_lock=request.user.has_perm("crm.lock_customer"), third_party_notice=tp.notice,
            third_party_keys=sorted(tp.values),
            sub_tables=tp.tabs))


class CustomerEditView(GuardedMixin, ObjectEditView):
    pass


class CustomerDeleteView(GuardedMixin, ObjectDeleteView):
    pass


class CustomerActionView(SelectionMixin, ScreenView):
    """A POST from the list (ticked rows or the whole query) or from a detail page (pk)."""

    screen = customer_screen
    perm = ""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm(self.perm):
            raise PermissionDenied(_("没有权限"))
        return super().dispatch(request, *args, **kwargs)

    def required_action(self):
        return "list"

    def chosen(self, request) -> list:
        objs = list(self.selection(request).select_related("locked_by", "owner", "category")[: MAX_BULK + 1])
        if len(objs) > MAX_BULK:
            raise ValidationError(_("一次最多处理 %(n)s 条") % {"n": MAX_BULK})
        if not objs:
            raise ValidationError(_("请先选择客户资料"))
        return objs

    def back(self, request, objs=None):
        if request.POST.get("next", "").startswith("/"):
            return HttpResponseRedirect(request.POST["next"])
        return HttpResponseRedirect(self.list_url())


class LockView(CustomerActionView):
    """【客户锁定】: the current agent locks the chosen customers, within their limits."""

    perm = "crm.lock_customer"

    def post(self, request):
        try:
            objs = self.chosen(request)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return self.back(request)
        done, refused = 0, []
        for obj in objs:
            if not services.may_open(request.user, obj):
                refused.append(_("客户已被坐席 %(a)s 锁定") % {"a": obj.locked_by})
                continue
            try:
                services.customer_lock(customer=obj, agent=request.user)
                done += 1
            except ValidationError as exc:
                refused.append("；".join(exc.messages))
                break  # the limit is reached: the rest would be refused for the same reason
        if done:
            messages.success(request, _("已锁定 %(n)s 个客户") % {"n": done})
        for reason in dict.fromkeys(refused):
            messages.error(request, reason)
        if refused and not done:
            return render(request, "crm/refused.html", self.base_context(title=_("客户锁定"), reasons=list(
                dict.fromkeys(refused))), status=409)
        return self.back(request)


class UnlockView(CustomerActionView):
    perm = "crm.lock_customer"

    def post(self, request):
        try:
            objs = self.chosen(request)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return self.back(request)
        done, refused = 0, []
        for obj in objs:
            try:
                services.customer_unlock(customer=obj, by=request.user)
                done += 1
            except ValidationError as exc:
                refused.append("；".join(exc.messages))
        if done:
            messages.success(request, _("已解锁 %(n)s 个客户") % {"n": done})
        for reason in dict.fromkeys(refused):
            messages.error(request, reason)
        return self.back(request)


class TransferView(CustomerActionView):
    """【客户转移】."""

    perm = "crm.transfer_customer"

    def post(self, request):
        try:
            objs = [o for o in self.chosen(request) if services.may_open(request.user, o)]
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return self.back(request)
        form = forms.TransferForm(request.POST if "_apply" in request.POST else None,
                                  enterprise=request.user.enterprise)
        if form.is_valid():
            try:
                n = services.customers_transfer(customers=objs, to_agent=form.cleaned_data["to_agent"])
            except ValidationError as exc:
                form.add_error(None, exc.messages)
            else:
                messages.success(request, _("已将 %(n)s 个客户转移给 %(a)s")
                                 % {"n": n, "a": form.cleaned_data["to_agent"]})
                return self.back(request)
        return render(request, "crm/transfer.html", self.base_context(
            form=form, objects=objs, title=_("客户转移"), query=request.POST.get("query", ""),
            select_all=request.POST.get("select_all", "")))


class MergeView(CustomerActionView):
    """【客户合并】: the survivor and, per field, whose value survives."""

    perm = "crm.merge_customer"

    def post(self, request):
        try:
            objs = self.chosen(request)
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
            return self.back(request)
        blocked = [o for o in objs if not services.may_open(request.user, o)]
        if blocked:
            raise PermissionDenied(_("客户已被坐席 %(a)s 锁定") % {"a": blocked[0].locked_by})
        custom = services.fields_of(request.user.enterprise)
        rows = [(name, label) for name, label in (
            ("name", _("客户名称")), ("phone", _("电话")), ("company", _("公司")), ("category", _("客户分类")),
            ("owner", _("归属坐席")))] + [(f.key, f.label) for f in custom]
        error = None
        if "_apply" in request.POST:
            by_pk = {o.pk: o for o in objs}
            survivor = by_pk.get(int(request.POST.get("survivor", "0") or 0))
            if survivor is None:
                error = _("请选择保留的客户资料")
            else:
                choices = {name: request.POST.get(f"keep_{name}") for name, _label in rows}
                try:
                    services.customers_merge(survivor=survivor, others=[o for o in objs if o.pk != survivor.pk],
                                             choices=choices)
                except ValidationError as exc:
                    error = "；".join(exc.messages)
                else:
                    messages.success(request, _("已合并为 %(c)s") % {"c": survivor})
                    return HttpResponseRedirect(reverse("crm:customer_detail", args=[survivor.pk]))
        elif len(objs) < 2:
            error = _("请至少选择两条客户资料合并")
        table = []
        for name, label in rows:
            cells = []
            for o in objs:
                value = o.data.get(name, "") if name in {f.key for f in custom} else getattr(o, name)
                cells.append((o.pk, "" if value is None else value))
            table.append((name, label, cells))
        return render(request, "crm/merge.html", self.base_context(
            objects=objs, table=table, error=error, title=_("客户合并")), status=400 if error else 200)


# --- field codes --------------------------------------------------------------------------------------


class FieldCodeDetailView(ObjectDetailView):
    def context(self, request, obj, form=None):
        fields = [(_("代码名称"), obj.name), (_("备注"), obj.remark)]
        return self.base_context(object=obj, title=str(obj), fields=fields,
                                 detail_buttons=[], tree=services.fieldcode_tree(obj),
                                 value_form=form or forms.FieldCodeValueForm(code=obj),
                                 can_change=request.user.has_perm("crm.change_fieldcode"))

    def get(self, request, pk):
        obj = self.get_object(pk)
        return render(request, self.screen.detail_template, self.context(request, obj))


class FieldCodeValuesView(ScreenView):
    """Add a value (POST) under a parent of the code."""

    screen = fieldcode_screen
    action = "edit"

    def post(self, request, pk):
        code = self.get_object(pk)
        form = forms.FieldCodeValueForm(request.POST, code=code)
        if form.is_valid():
            parent = None
            if form.cleaned_data["parent"]:
                parent = get_object_or_404(FieldCodeValue, pk=form.cleaned_data["parent"], code=code)
            try:
                services.fieldcode_value_add(code=code, value=form.cleaned_data["value"], parent=parent,
                                             order=form.cleaned_data.get("order") or 0)
            except ValidationError as exc:
                from callcenter.core.views import add_errors

                add_errors(form, exc)
            else:
                messages.success(request, _("已添加"))
                return HttpResponseRedirect(reverse("crm:fieldcode_detail", args=[code.pk]))
        view = FieldCodeDetailView(screen=fieldcode_screen, action="detail", request=request)
        return render(request, fieldcode_screen.detail_template, view.context(request, code, form), status=400)


class FieldCodeValueDeleteView(ScreenView):
    screen = fieldcode_screen
    action = "edit"

    def post(self, request, pk, value_pk):
        code = self.get_object(pk)
        value = get_object_or_404(FieldCodeValue, pk=value_pk, code=code)
        services.fieldcode_value_delete(value=value)
        messages.success(request, _("已删除 %(obj)s") % {"obj": value})
        return HttpResponseRedirect(reverse("crm:fieldcode_detail", args=[code.pk]))


class FieldCodeChildrenView(View):
    """Cascading choices: the children of a value (or the first level) as JSON, for forms and the screen pop."""

    def get(self, request, pk):
        user = request.user
        if not user.is_authenticated or user.enterprise_id is None:
            raise Http404
        if not (user.has_perm("crm.view_customer") or user.has_perm("crm.view_fieldcode")):
            raise PermissionDenied
        code = get_object_or_404(fieldcode_screen.model, pk=pk, enterprise_id=user.enterprise_id)
        parent = request.GET.get("parent") or None
        values = FieldCodeValue.objects.filter(code=code, parent_id=int(parent) if parent and parent.isdigit()
                                               else None).order_by("order", "id")
        return JsonResponse({"code": code.pk, "values": [
            {"id": v.pk, "value": v.value, "has_children": v.children.exists()} for v in values]})


# --- 设置弹屏字段 ---------------------------------------------------------------------------------------


class PopFieldsView(ScreenView):
    """【设置弹屏字段】 (2.3.1): every customer field on one page: name, width share, type, visible,
    required and order (【上】【下】), saved together; the screen pop follows at once."""

    screen = field_screen
    action = "edit"

    def required_action(self):
        return "list" if self.request.method in ("GET", "HEAD") else "edit"

    def show(self, request, form, status=200):
        from callcenter.workspace.selectors import bootstrap_cols

        preview = [(_("客户名称"), 3), (_("电话"), 3), (_("公司"), 3), (_("客户分类"), 3)] + [
            (f.label, bootstrap_cols(f.width)) for f in services.fields_of(request.user.enterprise) if f.visible]
        can_change = request.user.has_perm("crm.change_customerfield")
        if not can_change:
            for field in form.fields.values():
                field.disabled = True
        return render(request, "crm/popfields.html", self.base_context(
            form=form, title=_("设置弹屏字段"), preview=preview, can_change=can_change), status=status)

    def get(self, request):
        return self.show(request, forms.PopFieldsForm(enterprise=request.user.enterprise))

    def post(self, request):
        form = forms.PopFieldsForm(request.POST, enterprise=request.user.enterprise)
        if form.is_valid():
            try:
                services.popfields_save(enterprise=request.user.enterprise,
                                        rows=form.rows(request.POST.getlist("order")))
            except ValidationError as exc:
                from callcenter.core.views import add_errors

                add_errors(form, exc)
            else:
                messages.success(request, _("弹屏字段已保存"))
                return HttpResponseRedirect(reverse("crm:popfields"))
        return self.show(request, form, status=400)


# --- third-party databases (2.7.4) and sub-tables (2.7.5) ------------------------------------------------


def _refusal_text(exc: ValidationError) -> str:
    return "；".join(exc.messages)


class ThirdPartySourceDetailView(ObjectDetailView):
    """Connection (never the password), 【测试】, 生效/失效, 【重新加载】 and the field mapping."""

    def context(self, request, obj, **extra):
        fields = [(_("名称"), obj.name), (_("数据库类型"), obj.get_kind_display()), (_("地址"), obj.host),
                  (_("端口"), obj.port), (_("数据库"), obj.database), (_("用户名"), obj.user),
                  (_("密码"), _("已设置") if obj.password else _("未设置")), (_("提取 SQL"), obj.sql),
                  (_("超时（秒）"), obj.timeout), (_("生效"), _("是") if obj.enabled else _("否")),
                  (_("目标字段"), ", ".join(obj.columns or []))]
        labels = dict(services.local_keys(obj.enterprise))
        ctx = self.base_context(
            object=obj, fields=fields, detail_buttons=[], title=str(obj),
            mapping=[(labels.get(k, k), v) for k, v in (obj.mapping or {}).items()],
            test_form=extra.pop("test_form", None) or forms.ThirdPartyTestForm(),
            can_change=request.user.has_perm("crm.change_thirdpartysource"))
        ctx.update(extra)
        return ctx

    def get(self, request, pk):
        obj = self.get_object(pk)
        return render(request, self.screen.detail_template, self.context(request, obj))


class ThirdPartySourceOpView(ScreenView):
    """POST 【测试】 / 【生效】 / 【失效】 / 【重新加载】 on a source."""

    action = "edit"

    def post(self, request, pk, op):
        from callcenter.crm import thirdparty
        from callcenter.crm.screens import source_screen

        obj = self.get_object(pk)
        back = HttpResponseRedirect(reverse("crm:thirdpartysource_detail", args=[obj.pk]))
        if op == "test":
            form = forms.ThirdPartyTestForm(request.POST)
            view = ThirdPartySourceDetailView(screen=source_screen, action="detail", request=request)
            if not form.is_valid():
                return render(request, source_screen.detail_template, view.context(request, obj, test_form=form),
                              status=400)
            try:
                found = thirdparty.test_source(obj, form.cleaned_data["phone"].strip())
            except (thirdparty.ThirdPartyError, ValidationError) as exc:
                error = _refusal_text(exc) if isinstance(exc, ValidationError) else str(exc)
                return render(request, source_screen.detail_template,
                              view.context(request, obj, test_form=form, test_error=error))
            return render(request, source_screen.detail_template, view.context(
                request, obj, test_form=form, test_columns=found.columns,
                test_row=[thirdparty._text(v) for v in found.rows[0]] if found.rows else None))
        try:
            if op in ("enable", "disable"):
                services.source_set_enabled(source=obj, enabled=op == "enable")
                messages.success(request, (_("已生效 %(obj)s") if op == "enable" else _("已失效 %(obj)s"))
                                 % {"obj": obj})
            elif op == "reload":
                columns = services.source_reload_columns(source=obj)
                messages.success(request, _("已重新加载 %(n)s 个目标字段") % {"n": len(columns)})
            else:
                raise Http404
        except ValidationError as exc:
            messages.error(request, _refusal_text(exc))
        return back


class ThirdPartyMappingView(ScreenView):
    """Bind local fields to third-party columns, then 【保存】."""

    action = "edit"

    def required_action(self):
        return "detail" if self.request.method in ("GET", "HEAD") else "edit"

    def show(self, request, obj, form, status=200):
        return render(request, "crm/thirdparty_mapping.html", self.base_context(
            object=obj, form=form, title=_("字段对应") + " · " + str(obj)), status=status)

    def get(self, request, pk):
        obj = self.get_object(pk)
        return self.show(request, obj, forms.ThirdPartyMappingForm(source=obj))

    def post(self, request, pk):
        obj = self.get_object(pk)
        form = forms.ThirdPartyMappingForm(request.POST, source=obj)
        if form.is_valid():
            try:
                services.source_set_mapping(source=obj, mapping=form.mapping())
            except ValidationError as exc:
                from callcenter.core.views import add_errors

                add_errors(form, exc)
            else:
                messages.success(request, _("已保存字段对应"))
                return HttpResponseRedirect(reverse("crm:thirdpartysource_detail", args=[obj.pk]))
        return self.show(request, obj, form, status=400)


class ThirdPartySubTableDetailView(ObjectDetailView):
    def context(self, request, obj, **extra):
        fields = [(_("名称"), obj.name), (_("第三方数据库"), obj.source), (_("子表 SQL"), obj.sql),
                  (_("启用"), _("是") if obj.enabled else _("否")), (_("顺序"), obj.order)]
        ctx = self.base_context(object=obj, fields=fields, detail_buttons=[], title=str(obj),
                                columns_form=extra.pop("columns_form", None) or forms.SubTableColumnsForm(table=obj),
                                can_change=request.user.has_perm("crm.change_thirdpartysubtable"))
        ctx.update(extra)
        return ctx

    def get(self, request, pk):
        obj = self.get_object(pk)
        return render(request, self.screen.detail_template, self.context(request, obj))


class ThirdPartySubTableOpView(ScreenView):
    """POST 【检测 SQL】 / 【获取字段】 / save the columns' label, order and visibility."""

    action = "edit"

    def post(self, request, pk, op):
        from callcenter.crm import thirdparty
        from callcenter.crm.screens import subtable_screen

        obj = self.get_object(pk)
        back = HttpResponseRedirect(reverse("crm:thirdpartysubtable_detail", args=[obj.pk]))
        try:
            if op == "check":
                try:
                    names = thirdparty.read_columns(obj.source, sql=obj.sql)
                except thirdparty.ThirdPartyError as exc:
                    raise ValidationError(str(exc)) from None
                messages.success(request, _("SQL 无误，共 %(n)s 个字段") % {"n": len(names)})
            elif op == "columns":
                columns = services.subtable_fetch_columns(table=obj)
                messages.success(request, _("已获取 %(n)s 个字段") % {"n": len(columns)})
            elif op == "save":
                form = forms.SubTableColumnsForm(request.POST, table=obj)
                if not form.is_valid():
                    view = ThirdPartySubTableDetailView(screen=subtable_screen, action="detail", request=request)
                    return render(request, subtable_screen.detail_template,
                                  view.context(request, obj, columns_form=form), status=400)
                services.subtable_save(enterprise=obj.enterprise, values={"columns": form.columns()}, table=obj)
                messages.success(request, _("已保存字段设置"))
            else:
                raise Http404
        except ValidationError as exc:
            messages.error(request, _refusal_text(exc))
        return back
