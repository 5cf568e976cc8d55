"""Writes of the customers app (manual 2.3.1-2.3.2): keyword-only, transactional, audited.

A refusal is a `ServiceError` (a Django ValidationError) whose message names the field.
"""

from __future__ import annotations

import copy
import re
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.accounts.models import Agent
from callcenter.accounts.services import ServiceError, refuse
from callcenter.core import audit
from callcenter.core.choices import Channel
from callcenter.core.scope import subordinate_ids
from callcenter.crm import related
from callcenter.crm.choices import FieldType
from callcenter.crm.models import (
    PATH_SEP,
    Customer,
    CustomerCategory,
    CustomerField,
    FieldCode,
    FieldCodeValue,
    ThirdPartySource,
    ThirdPartySubTable,
)
from callcenter.pbx.callctl.logic.routing import normalize_number

# Fixed columns of a customer that the list's bulk update may set (besides custom fields).
BULK_FIELDS = ("name", "company", "category", "owner")


# --- phones and custom values ---------------------------------------------------------------------

_PHONE_STRIP = re.compile(r"[\s\-().]")


_PHONE_TYPED = re.compile(r"\+?[0-9]{3,24}")
_PHONE_STORED = re.compile(r"[0-9]{3,20}")


def normalise_phone(raw) -> str:
    """The stored form of a phone number, the form call control gives a caller
    (pbx/callctl/logic/routing.normalize_number), so a customer typed either way is found when
    the number calls in. Digits only: "+86 138-0013-8000", "013800138000" -> "13800138000";
    "+86 20 8888 0001" -> "02088880001" (a landline keeps its 0 area prefix); another
    country's "+1 212 555 0100" -> "12125550100". Raises ValueError."""
    text = _PHONE_STRIP.sub("", str(raw or ""))
    if not _PHONE_TYPED.fullmatch(text):
        raise ValueError(text)
    text = normalize_number(text).removeprefix("+")
    if not _PHONE_STORED.fullmatch(text):
        raise ValueError(text)
    return text


def phone_or_refuse(raw, field: str = "phone", label: str | None = None) -> str:
    try:
        return normalise_phone(raw)
    except ValueError:
        refuse(field, _("%(label)s：“%(v)s”不是有效的电话号码（3到20位数字）")
               % {"label": label or _("电话"), "v": raw})


def fields_of(enterprise) -> list[CustomerField]:
    return list(CustomerField.objects.filter(enterprise=enterprise).select_related("code").order_by("order", "id"))


def code_paths(fields: list[CustomerField]) -> dict[int, dict[str, FieldCodeValue]]:
    return {f.code_id: f.code.paths() for f in fields if f.field_type == FieldType.CHOICE and f.code_id}


def resolve_choice(paths: dict[str, FieldCodeValue], raw: str) -> str | None:
    """The stored path of `raw`: a full path ("A / A1", "A/A1") or a leaf named once."""
    text = PATH_SEP.join(p.strip() for p in raw.split("/") if p.strip())
    if text in paths:
        return text
    leaves = [p for p in paths if p.rsplit(PATH_SEP, 1)[-1] == text]
    return leaves[0] if len(leaves) == 1 else None


def clean_value(field: CustomerField, raw, paths: dict | None = None):
    """The stored form of one custom value, or ValidationError naming the field."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if field.required:
            raise ValidationError(_("%(label)s：必填") % {"label": field.label})
        return None
    text = str(raw).strip()
    kind = field.field_type
    if kind == FieldType.NUMBER:
        try:
            number = Decimal(text)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            raise ValidationError(_("%(label)s：“%(v)s”不是数字") % {"label": field.label, "v": text})
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == FieldType.DATE:
        if isinstance(raw, date):
            return raw.isoformat()
        try:
            return date.fromisoformat(text[:10].replace("/", "-")).isoformat()
        except ValueError:
            raise ValidationError(_("%(label)s：“%(v)s”不是日期（YYYY-MM-DD）")
                                  % {"label": field.label, "v": text}) from None
    if kind == FieldType.PHONE:
        try:
            return normalise_phone(text)
        except ValueError:
            raise ValidationError(_("%(label)s：“%(v)s”不是有效的电话号码")
                                  % {"label": field.label, "v": text}) from None
    if kind == FieldType.EMAIL:
        try:
            validate_email(text)
        except ValidationError:
            raise ValidationError(_("%(label)s：“%(v)s”不是有效的邮箱")
                                  % {"label": field.label, "v": text}) from None
        return text
    if kind == FieldType.CHOICE:
        if paths is None:
            paths = field.code.paths() if field.code_id else {}
        path = resolve_choice(paths, text)
        if path is None:
            raise ValidationError(_("%(label)s：“%(v)s”不在字段代码“%(code)s”中")
                                  % {"label": field.label, "v": text, "code": field.code})
        return path
    if len(text) > 500:
        raise ValidationError(_("%(label)s：最多500个字符") % {"label": field.label})
    return text


def clean_data(*, enterprise, values: dict, fields: list[CustomerField] | None = None,
               partial: bool = False, paths=None) -> dict:
    """Custom values by field key, each checked by its type; every error names its field."""
    fields = fields_of(enterprise) if fields is None else fields
    paths = code_paths(fields) if paths is None else paths
    out, errors = {}, {}
    for f in fields:
        if partial and f.key not in values:
            continue
        try:
            value = clean_value(f, values.get(f.key), paths.get(f.code_id))
        except ValidationError as exc:
            errors[f"f_{f.key}"] = exc.messages
            continue
        if value is not None:
            out[f.key] = value
    unknown = set(values) - {f.key for f in fields}
    if unknown:
        errors["data"] = [_("未定义的客户字段：%(k)s") % {"k": "、".join(sorted(unknown))}]
    if errors:
        raise ServiceError(errors)
    return out


# --- categories ------------------------------------------------------------------------------------


def category_create(*, enterprise, name: str, remark: str = "") -> CustomerCategory:
    name = (name or "").strip()
    if not name:
        refuse("name", _("分类名称：不能为空"))
    if CustomerCategory.objects.filter(enterprise=enterprise, name=name).exists():
        refuse("name", _("分类名称：“%(n)s”已存在") % {"n": name})
    with transaction.atomic():
        obj = CustomerCategory.objects.create(enterprise=enterprise, name=name, remark=remark)
        audit.record_create(obj)
    return obj


def category_update(*, category: CustomerCategory, changes: dict) -> CustomerCategory:
    name = changes.get("name", category.name).strip()
    if not name:
        refuse("name", _("分类名称：不能为空"))
    if CustomerCategory.objects.filter(enterprise_id=category.enterprise_id, name=name).exclude(
            pk=category.pk).exists():
        refuse("name", _("分类名称：“%(n)s”已存在") % {"n": name})
    before = audit.snapshot(category)
    category.name = name
    category.remark = changes.get("remark", category.remark)
    with transaction.atomic():
        category.save()
        audit.record_update(category, before)
    return category


def category_delete_refusal(category: CustomerCategory) -> str | None:
    n = Customer.objects.filter(category=category).count()
    if n:
        return _("分类“%(c)s”下还有 %(n)s 个客户，不能删除") % {"c": category, "n": n}
    return None


def category_delete(*, category: CustomerCategory) -> None:
    refusal = category_delete_refusal(category)
    if refusal:
        refuse("category", refusal)
    with transaction.atomic():
        audit.record_delete(category)
        category.delete()


# --- field codes and customer fields --------------------------------------------------------------


def fieldcode_create(*, enterprise, name: str, remark: str = "") -> FieldCode:
    name = (name or "").strip()
    if not name:
        refuse("name", _("代码名称：不能为空"))
    if FieldCode.objects.filter(enterprise=enterprise, name=name).exists():
        refuse("name", _("代码名称：“%(n)s”已存在") % {"n": name})
    with transaction.atomic():
        obj = FieldCode.objects.create(enterprise=enterprise, name=name, remark=remark)
        audit.record_create(obj)
    return obj


def fieldcode_update(*, code: FieldCode, changes: dict) -> FieldCode:
    name = changes.get("name", code.name).strip()
    if not name:
        refuse("name", _("代码名称：不能为空"))
    if FieldCode.objects.filter(enterprise_id=code.enterprise_id, name=name).exclude(pk=code.pk).exists():
        refuse("name", _("代码名称：“%(n)s”已存在") % {"n": name})
    before = audit.snapshot(code)
    code.name = name
    code.remark = changes.get("remark", code.remark)
    with transaction.atomic():
        code.save()
        audit.record_update(code, before)
    return code


def fieldcode_delete_refusal(code: FieldCode) -> str | None:
    users = list(CustomerField.objects.filter(code=code).values_list("label", flat=True))
    if users:
        return _("字段代码“%(c)s”被客户字段使用（%(f)s），不能删除") % {"c": code, "f": "、".join(users)}
    return None


def fieldcode_delete(*, code: FieldCode) -> None:
    refusal = fieldcode_delete_refusal(code)
    if refusal:
        refuse("code", refusal)
    with transaction.atomic():
        audit.record_delete(code)
        code.delete()


def fieldcode_value_add(*, code: FieldCode, value: str, parent: FieldCodeValue | None = None,
                        order: int = 0) -> FieldCodeValue:
    value = (value or "").strip()
    if not value or "/" in value:
        refuse("value", _("值：不能为空，也不能包含“/”"))
    if parent is not None and parent.code_id != code.pk:
        refuse("parent", _("上级值：不属于字段代码“%(c)s”") % {"c": code})
    if FieldCodeValue.objects.filter(code=code, parent=parent, value=value).exists():
        refuse("value", _("值：“%(v)s”在同一级中已存在") % {"v": value})
    with transaction.atomic():
        obj = FieldCodeValue.objects.create(enterprise_id=code.enterprise_id, code=code, parent=parent, value=value,
                                            order=order)
        audit.record_create(obj)
    return obj


def fieldcode_value_delete(*, value: FieldCodeValue) -> None:
    with transaction.atomic():
        audit.record_delete(value)
        value.delete()


def fieldcode_tree(code: FieldCode) -> list[dict]:
    """Values as nested dicts: [{"id", "value", "children": [...]}]."""
    values = list(code.values.order_by("order", "id"))
    nodes = {v.pk: {"id": v.pk, "value": v.value, "children": []} for v in values}
    roots = []
    for v in values:
        (nodes[v.parent_id]["children"] if v.parent_id in nodes else roots).append(nodes[v.pk])
    return roots


def _check_field(enterprise, values: dict, instance: CustomerField | None) -> None:
    key = values.get("key") or (instance.key if instance else "")
    if key in ("name", "phone", "company", "category", "owner", "data"):
        refuse("key", _("字段键：“%(k)s”是客户的固定字段") % {"k": key})
    others = CustomerField.objects.filter(enterprise=enterprise)
    if instance is not None:
        others = others.exclude(pk=instance.pk)
    if others.filter(key=key).exists():
        refuse("key", _("字段键：“%(k)s”已存在") % {"k": key})
    kind = values.get("field_type", instance.field_type if instance else FieldType.TEXT)
    code = values.get("code", instance.code if instance else None)
    if kind == FieldType.CHOICE and code is None:
        refuse("code", _("字段代码：选择类型的字段须选择字段代码"))
    if code is not None and code.enterprise_id != enterprise.pk:
        refuse("code", _("字段代码：不存在"))
    if values.get("is_birthday", instance.is_birthday if instance else False):
        if kind != FieldType.DATE:
            refuse("is_birthday", _("生日字段：只有日期类型的字段可以作为生日"))
        if others.filter(is_birthday=True).exists():
            refuse("is_birthday", _("生日字段：已有另一个生日字段，最多一个"))


def customerfield_create(*, enterprise, values: dict) -> CustomerField:
    _check_field(enterprise, values, None)
    obj = CustomerField(enterprise=enterprise, **values)
    if obj.field_type != FieldType.CHOICE:
        obj.code = None
    obj.full_clean(exclude=["enterprise"], validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        obj.save()
        audit.record_create(obj)
    return obj


def customerfield_update(*, field: CustomerField, changes: dict) -> CustomerField:
    changes = {k: v for k, v in changes.items() if k != "key"}  # stored values are keyed by it
    _check_field(field.enterprise, changes, field)
    before = audit.snapshot(field)
    for name, value in changes.items():
        setattr(field, name, value)
    if field.field_type != FieldType.CHOICE:
        field.code = None
    field.full_clean(exclude=["enterprise"], validate_unique=False, validate_constraints=False)
    with transaction.atomic():
        field.save()
        audit.record_update(field, before)
    return field


POP_FIELD_ATTRS = ("label", "width", "field_type", "code", "visible", "required")


def popfields_save(*, enterprise, rows: list[dict]) -> list[CustomerField]:
    """【设置弹屏字段】: name, width share, type, visible and required of each field, and their order
    (the order of `rows`). Each row is {"field": CustomerField, attr: value, ...}; an error names the
    row's input (`f<pk>_<attr>`) and nothing is saved."""
    changed, errors = [], {}
    for position, row in enumerate(rows, start=1):
        field = row["field"]
        if field.enterprise_id != enterprise.pk:
            refuse("field", _("字段不存在"))
        values = {k: row[k] for k in POP_FIELD_ATTRS if k in row}
        values["order"] = position
        if "label" in values:
            values["label"] = (values["label"] or "").strip()
            if not values["label"]:
                errors[f"f{field.pk}_label"] = [_("%(f)s：字段名称不能为空") % {"f": field.label}]
                continue
        try:
            _check_field(enterprise, values, field)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                name = "field_type" if name == "is_birthday" else name  # the birthday field's type is what changed
                errors[f"f{field.pk}_{name}"] = [f"{field.label}：{m}" for m in messages]
            continue
        before = audit.snapshot(field)
        for name, value in values.items():
            setattr(field, name, value)
        if field.field_type != FieldType.CHOICE:
            field.code = None
        try:
            field.full_clean(exclude=["enterprise"], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors[f"f{field.pk}_{name}"] = [f"{field.label}：{m}" for m in messages]
            continue
        if audit.diff(before, audit.snapshot(field)):
            changed.append((field, before))
    if errors:
        raise ServiceError(errors)
    with transaction.atomic():
        for field, before in changed:
            field.save()
            audit.record_update(field, before)
    return [f for f, _b in changed]


def customerfield_delete(*, field: CustomerField) -> None:
    """The definition goes; stored values stay in `data` (re-adding the key shows them again)."""
    with transaction.atomic():
        audit.record_delete(field)
        field.delete()


# --- customers ------------------------------------------------------------------------------------


def _check_fixed(enterprise, values: dict) -> dict:
    out = dict(values)
    if "phone" in values:
        out["phone"] = phone_or_refuse(values["phone"])
    category = values.get("category")
    if "category" in values and (category is None or category.enterprise_id != enterprise.pk):
        refuse("category", _("客户分类：请选择本企业的分类"))
    owner = values.get("owner")
    if owner is not None and owner.enterprise_id != enterprise.pk:
        refuse("owner", _("归属坐席：不是本企业的坐席"))
    for name in ("name", "company"):
        if name in out:
            out[name] = (out[name] or "").strip()
    return out


def third_party_provided(enterprise, phone: str) -> dict:
    """Local field keys (name, company, custom keys) whose value an enabled third-party source has
    for `phone`: those values are shown from the third party and not kept locally (2.7.4)."""
    from callcenter.crm import thirdparty

    return thirdparty.provided(enterprise.pk, phone) if phone else {}


def _without_provided(fields: list[CustomerField], provided: dict) -> list[CustomerField]:
    """The fields, with those the third party fills no longer required locally."""
    out = []
    for f in fields:
        if f.key in provided and f.required:
            f = copy.copy(f)
            f.required = False
        out.append(f)
    return out


def customer_create(*, enterprise, values: dict, data: dict | None = None, third_party: bool = True) -> Customer:
    """`values`: category, phone, name, company, owner; `data`: custom values by field key.
    With `third_party`, values an enabled third-party source has for the phone are not stored."""
    if "category" not in values:
        refuse("category", _("客户分类：必填"))
    if "phone" not in values:
        refuse("phone", _("电话：必填"))
    fixed = _check_fixed(enterprise, values)
    provided = third_party_provided(enterprise, fixed["phone"]) if third_party else {}
    for name in ("name", "company"):
        if name in provided:
            fixed[name] = ""
    custom = clean_data(enterprise=enterprise, fields=_without_provided(fields_of(enterprise), provided),
                        values={k: v for k, v in (data or {}).items() if k not in provided})
    obj = Customer(enterprise=enterprise, data=custom, **fixed)
    with transaction.atomic():
        obj.save()
        audit.record_create(obj)
    return obj


def customer_update(*, customer: Customer, changes: dict, data: dict | None = None,
                    partial_data: bool = False, third_party: bool = True) -> Customer:
    """Change fixed columns and custom values. With `third_party`, what an enabled third-party
    source has for the (new) phone is dropped from local storage: it is shown from the source."""
    fixed = _check_fixed(customer.enterprise, changes)
    provided = third_party_provided(customer.enterprise, fixed.get("phone", customer.phone)) if third_party else {}
    before = audit.snapshot(customer)
    for name, value in fixed.items():
        setattr(customer, name, value)
    for name in ("name", "company"):
        if name in provided:
            setattr(customer, name, "")
    if data is not None:
        fields = fields_of(customer.enterprise)
        custom = clean_data(enterprise=customer.enterprise, fields=_without_provided(fields, provided),
                            values={k: v for k, v in data.items() if k not in provided}, partial=partial_data)
        customer.data = {**customer.data, **custom} if partial_data else {
            **{k: v for k, v in customer.data.items() if k not in {f.key for f in fields}}, **custom}
    if provided:
        customer.data = {k: v for k, v in customer.data.items() if k not in provided}
    with transaction.atomic():
        customer.save()
        audit.record_update(customer, before)
    return customer


def customer_delete(*, customer: Customer) -> None:
    with transaction.atomic():
        audit.record_delete(customer)
        customer.delete()


def customers_delete(*, customers) -> int:
    """Batch delete (【批量删除】): one audit row per customer."""
    objs = list(customers)
    if not objs:
        return 0
    with transaction.atomic():
        audit.record_many([(c, "delete", audit.diff(audit.snapshot(c), {})) for c in objs], channel="bulk")
        Customer.objects.filter(pk__in=[c.pk for c in objs]).delete()
    return len(objs)


def customers_bulk_set(*, enterprise, customers, field: str, value) -> int:
    """【批量调整】: set one field (fixed or custom) to one value on every given customer."""
    objs = list(customers)
    custom = {f.key: f for f in fields_of(enterprise)}
    if field in custom:
        stored = clean_data(enterprise=enterprise, values={field: value}, fields=[custom[field]])
        new = stored.get(field)
    elif field in BULK_FIELDS:
        new = _check_fixed(enterprise, {field: value})[field]
        if field == "category" and new is None:
            refuse("category", _("客户分类：必填"))
    else:
        refuse("field", _("字段：不能批量调整“%(f)s”") % {"f": field})
    entries = []
    for obj in objs:
        before = audit.snapshot(obj)
        if field in custom:
            obj.data = {**obj.data, field: new} if new is not None else {
                k: v for k, v in obj.data.items() if k != field}
        else:
            setattr(obj, field, new)
        changes = audit.diff(before, audit.snapshot(obj))
        if changes:
            entries.append((obj, "update", changes))
    with transaction.atomic():
        Customer.objects.bulk_update(objs, ["data" if field in custom else field, "updated_at"], batch_size=500)
        audit.record_many(entries, channel="bulk")
    return len(objs)


def customers_transfer(*, customers, to_agent: Agent) -> int:
    """【客户转移】: give the customers to another agent of the same enterprise."""
    objs = list(customers)
    if any(c.enterprise_id != to_agent.enterprise_id for c in objs):
        refuse("owner", _("归属坐席：不是本企业的坐席"))
    entries = []
    for obj in objs:
        before = audit.snapshot(obj)
        obj.owner = to_agent
        entries.append((obj, "update", audit.diff(before, audit.snapshot(obj))))
    with transaction.atomic():
        Customer.objects.filter(pk__in=[c.pk for c in objs]).update(owner=to_agent, updated_at=timezone.now())
        audit.record_many(entries)
    return len(objs)


MERGE_FIXED = ("name", "phone", "company", "category", "owner")


def customers_merge(*, survivor: Customer, others: list[Customer], choices: dict | None = None) -> Customer:
    """【客户合并】: keep `survivor`; for each field `choices[field]` names the customer (pk) whose value
    survives (default: the survivor's, or the first non-empty). Rows of other apps move to the survivor;
    the others are deleted."""
    others = [o for o in others if o.pk != survivor.pk]
    if not others:
        refuse("customers", _("请至少选择两条客户资料合并"))
    if any(o.enterprise_id != survivor.enterprise_id for o in others):
        refuse("customers", _("不能合并不同企业的客户资料"))
    everyone = {c.pk: c for c in [survivor, *others]}
    choices = {k: int(v) for k, v in (choices or {}).items() if v not in (None, "")}
    if any(pk not in everyone for pk in choices.values()):
        refuse("customers", _("保留的取值必须来自被合并的客户资料"))
    before = audit.snapshot(survivor)
    for name in MERGE_FIXED:
        source = everyone[choices[name]] if name in choices else survivor
        setattr(survivor, name, getattr(source, name))
    data = {}
    keys = {k for c in everyone.values() for k in c.data}
    for key in sorted(keys):
        if key in choices:
            value = everyone[choices[key]].data.get(key)
        else:
            value = next((c.data[key] for c in [survivor, *others] if c.data.get(key) not in (None, "")), None)
        if value not in (None, ""):
            data[key] = value
    survivor.data = data
    with transaction.atomic():
        moved = []
        for other in others:
            moved += related.move_all(other, survivor)
        survivor.save()
        changes = audit.diff(before, audit.snapshot(survivor))
        changes["merged"] = [None, [o.pk for o in others]]
        if moved:
            changes["moved"] = [None, moved]
        audit._entry(survivor, "update", changes).save()
        for other in others:
            audit.record_delete(other)
            other.delete()
    return survivor


# --- locks ------------------------------------------------------------------------------------------


def lock_holder_can_be_overridden_by(user, customer: Customer) -> bool:
    """The locking agent's supervisors (up the chain) and the administrator still open a locked customer."""
    if user.is_enterprise_admin:
        return True
    holder_id = customer.locked_by_id
    return holder_id in subordinate_ids(user)


def may_open(user, customer: Customer) -> bool:
    """False when another agent's lock keeps `user` out (→ 403)."""
    if not customer.is_locked() or customer.locked_by_id == user.pk:
        return True
    return lock_holder_can_be_overridden_by(user, customer)


def customer_lock(*, customer: Customer, agent: Agent) -> Customer:
    """【客户锁定】 within the agent's limits: max locked customers and lock days (0 = unlimited)."""
    now = timezone.now()
    if customer.enterprise_id != agent.enterprise_id:
        refuse("customer", _("客户不存在"))
    if customer.is_locked(now):
        if customer.locked_by_id == agent.pk:
            return customer
        refuse("customer", _("客户已被坐席 %(a)s 锁定") % {"a": customer.locked_by})
    with transaction.atomic():
        # serialise this agent's locks so two concurrent requests cannot both pass the limit
        Agent.objects.select_for_update().filter(pk=agent.pk).first()
        if agent.max_locked_customers:
            held = Customer.objects.filter(locked_by=agent).exclude(locked_until__lte=now).count()
            if held >= agent.max_locked_customers:
                refuse("customer", _("锁定失败：坐席 %(a)s 最多锁定 %(n)s 个客户，已锁定 %(held)s 个")
                       % {"a": agent.number, "n": agent.max_locked_customers, "held": held})
        before = audit.snapshot(customer)
        customer.locked_by = agent
        customer.locked_until = now + timedelta(days=agent.lock_days) if agent.lock_days else None
        customer.save(update_fields=["locked_by", "locked_until", "updated_at"])
        audit.record_update(customer, before)
    return customer


def customer_unlock(*, customer: Customer, by: Agent) -> Customer:
    if customer.locked_by_id is None:
        return customer
    if customer.is_locked() and not (customer.locked_by_id == by.pk or lock_holder_can_be_overridden_by(by, customer)):
        refuse("customer", _("客户由坐席 %(a)s 锁定，只有该坐席、其上级或管理员可以解锁") % {"a": customer.locked_by})
    before = audit.snapshot(customer)
    customer.locked_by = None
    customer.locked_until = None
    with transaction.atomic():
        customer.save(update_fields=["locked_by", "locked_until", "updated_at"])
        audit.record_update(customer, before)
    return customer


def unlock_expired(*, now=None) -> int:
    """Clear locks whose time is up (the periodic worker job)."""
    now = now or timezone.now()
    total = 0
    while True:
        batch = list(Customer.objects.filter(locked_until__lte=now, locked_by__isnull=False)[:1000])
        if not batch:
            return total
        entries = []
        for c in batch:
            before = audit.snapshot(c)
            c.locked_by = None
            c.locked_until = None
            entries.append((c, "update", audit.diff(before, audit.snapshot(c))))
        with transaction.atomic():
            Customer.objects.filter(pk__in=[c.pk for c in batch]).update(locked_by=None, locked_until=None)
            audit.record_many(entries, channel=Channel.SYSTEM)
        total += len(batch)



# --- third-party databases (2.7.4) and sub-tables (2.7.5) ------------------------------------------------

SOURCE_FIELDS = ("name", "kind", "host", "port", "database", "user", "password", "sql", "timeout")


def local_keys(enterprise) -> list[tuple[str, str]]:
    """(key, label) of the local fields a third-party column may fill: name, company, custom fields."""
    return [("name", _("客户名称")), ("company", _("公司"))] + [(f.key, f.label) for f in fields_of(enterprise)]


def _checked_sql(sql: str, kind: str, field: str = "sql") -> str:
    from callcenter.crm import thirdparty

    try:
        return thirdparty.validate_sql(sql, kind)
    except ValidationError as exc:
        refuse(field, "；".join(exc.messages))


def source_save(*, enterprise, values: dict, source: ThirdPartySource | None = None) -> ThirdPartySource:
    """Create (source=None) or change a source; an empty password keeps the stored one."""
    name = (values.get("name") if "name" in values else source.name if source else "") or ""
    name = name.strip()
    if not name:
        refuse("name", _("名称：不能为空"))
    clash = ThirdPartySource.objects.filter(enterprise=enterprise, name=name)
    if source is not None:
        clash = clash.exclude(pk=source.pk)
    if clash.exists():
        refuse("name", _("名称：“%(n)s”已存在") % {"n": name})
    obj = source or ThirdPartySource(enterprise=enterprise)
    before = audit.snapshot(obj) if source is not None else None
    for key in SOURCE_FIELDS:
        if key in values and not (key == "password" and not values[key]):
            setattr(obj, key, values[key])
    obj.name = name
    obj.sql = _checked_sql(obj.sql, obj.kind)
    if not (obj.database or "").strip():
        refuse("database", _("数据库：不能为空"))
    for sub in (obj.sub_tables.all() if obj.pk else []):
        _checked_sql(sub.sql, obj.kind)
    with transaction.atomic():
        obj.save()
        if before is None:
            audit.record_create(obj)
        else:
            audit.record_update(obj, before)
    return obj


def source_delete_refusal(source: ThirdPartySource) -> str | None:
    n = source.sub_tables.count()
    if n:
        return _("第三方数据库“%(s)s”还有 %(n)s 个子表，请先删除子表") % {"s": source, "n": n}
    return None


def source_delete(*, source: ThirdPartySource) -> None:
    refusal = source_delete_refusal(source)
    if refusal:
        refuse("source", refusal)
    with transaction.atomic():
        audit.record_delete(source)
        source.delete()


def _third_party_refusal(exc, field="sql"):
    from callcenter.crm.thirdparty import ThirdPartyError

    if isinstance(exc, ThirdPartyError):
        refuse(field, str(exc))
    raise exc


def source_set_enabled(*, source: ThirdPartySource, enabled: bool) -> ThirdPartySource:
    """【第三方数据库生效】 checks the connection and the SQL first; 【失效】 always works."""
    from callcenter.crm import thirdparty

    if enabled:
        try:
            thirdparty.read_columns(source)
        except thirdparty.ThirdPartyError as exc:
            _third_party_refusal(exc)
    before = audit.snapshot(source)
    source.enabled = enabled
    with transaction.atomic():
        source.save(update_fields=["enabled"])
        audit.record_update(source, before)
    return source


def source_reload_columns(*, source: ThirdPartySource) -> list[str]:
    """【重新加载】: the SQL's column names become the target columns; mappings to vanished columns go."""
    from callcenter.crm import thirdparty

    try:
        columns = thirdparty.read_columns(source)
    except thirdparty.ThirdPartyError as exc:
        _third_party_refusal(exc)
    before = audit.snapshot(source)
    source.columns = columns
    source.mapping = {k: v for k, v in (source.mapping or {}).items() if v in columns}
    with transaction.atomic():
        source.save(update_fields=["columns", "mapping"])
        audit.record_update(source, before)
    return columns


def source_set_mapping(*, source: ThirdPartySource, mapping: dict) -> ThirdPartySource:
    """Local field key -> third-party column; an empty column removes the binding."""
    keys = dict(local_keys(source.enterprise))
    clean = {}
    for key, column in (mapping or {}).items():
        if not column:
            continue
        if key not in keys:
            refuse("mapping", _("本地字段“%(k)s”不存在") % {"k": key})
        if column not in (source.columns or []):
            refuse("mapping", _("第三方字段“%(c)s”不在目标字段中，请先【重新加载】") % {"c": column})
        clean[key] = column
    before = audit.snapshot(source)
    source.mapping = clean
    with transaction.atomic():
        source.save(update_fields=["mapping"])
        audit.record_update(source, before)
    return source


def subtable_save(*, enterprise, values: dict, table: ThirdPartySubTable | None = None) -> ThirdPartySubTable:
    obj = table or ThirdPartySubTable(enterprise=enterprise)
    before = audit.snapshot(obj) if table is not None else None
    for key in ("source", "name", "sql", "enabled", "order", "columns"):
        if key in values:
            setattr(obj, key, values[key])
    obj.name = (obj.name or "").strip()
    if not obj.name:
        refuse("name", _("名称：不能为空"))
    if obj.source_id is None or obj.source.enterprise_id != enterprise.pk:
        refuse("source", _("请选择本企业的第三方数据库"))
    clash = ThirdPartySubTable.objects.filter(enterprise=enterprise, name=obj.name).exclude(pk=obj.pk)
    if clash.exists():
        refuse("name", _("名称：“%(n)s”已存在") % {"n": obj.name})
    obj.sql = _checked_sql(obj.sql, obj.source.kind)
    obj.columns = _clean_columns(obj.columns)
    with transaction.atomic():
        obj.save()
        if before is None:
            audit.record_create(obj)
        else:
            audit.record_update(obj, before)
    return obj


def _clean_columns(columns) -> list[dict]:
    if not isinstance(columns, list):
        refuse("columns", _("字段：须为列表"))
    out = []
    for i, c in enumerate(columns):
        if not isinstance(c, dict) or not str(c.get("name") or "").strip():
            refuse("columns", _("字段：第 %(n)s 项缺少 name") % {"n": i + 1})
        try:
            order = int(c.get("order", i))
        except (TypeError, ValueError):
            refuse("columns", _("字段：第 %(n)s 项的顺序须为整数") % {"n": i + 1})
        out.append({"name": str(c["name"]), "label": str(c.get("label") or c["name"])[:60], "order": order,
                    "visible": bool(c.get("visible", True))})
    out.sort(key=lambda c: c["order"])
    return out


def subtable_fetch_columns(*, table: ThirdPartySubTable) -> list[dict]:
    """【获取字段】: the SQL's columns; labels, order and visibility already set are kept."""
    from callcenter.crm import thirdparty

    try:
        names = thirdparty.read_columns(table.source, sql=table.sql)
    except thirdparty.ThirdPartyError as exc:
        _third_party_refusal(exc)
    known = {c["name"]: c for c in table.columns or []}
    columns = [known.get(n, {"name": n, "label": n, "order": i, "visible": True}) for i, n in enumerate(names)]
    return subtable_save(enterprise=table.enterprise, values={"columns": columns}, table=table).columns


def subtable_delete(*, table: ThirdPartySubTable) -> None:
    with transaction.atomic():
        audit.record_delete(table)
        table.delete()
