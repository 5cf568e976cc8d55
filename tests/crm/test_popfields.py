"""【设置弹屏字段】 (manual 2.3.1): the screen-pop fields' name, width share, type, visible,
required and order on a page of their own, reached from the menu; the screen pop follows."""

from __future__ import annotations

from callcenter.core.models import AuditLog
from callcenter.crm.models import CustomerField
from tests.crm.conftest import make_customer

URL = "/crm/popfields/"


def post_data(fields, **changes) -> dict:
    """The page's form as it was rendered, with `changes` (input name -> value) applied."""
    data = {"order": [str(f.pk) for f in fields]}
    for f in fields:
        p = f"f{f.pk}_"
        data.update({p + "label": f.label, p + "width": f.width, p + "field_type": f.field_type,
                     p + "code": f.code_id or ""})
        if f.visible:
            data[p + "visible"] = "on"
        if f.required:
            data[p + "required"] = "on"
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def fields(crm):
    return list(CustomerField.objects.filter(enterprise=crm["enterprise"]).order_by("order", "id"))


def test_menu_entry_and_page(crm, as_user):
    c = as_user(crm["admin"])
    home = c.get("/").content.decode()
    assert 'data-url-name="crm:popfields"' in home and "设置弹屏字段" in home
    r = c.get(URL)
    assert r.status_code == 200
    body = r.content.decode()
    for f in fields(crm):
        assert f'name="f{f.pk}_width"' in body and f'name="f{f.pk}_required"' in body
    assert "popfields-preview" in body


def test_rename_resize_reorder_hide_and_require_reach_the_screen_pop(crm, as_user):
    intent, birthday, budget = fields(crm)
    make_customer(crm, crm["agent"], phone="13800138000", data={"intent": "A", "budget": 5})
    c = as_user(crm["admin"])
    data = post_data([intent, birthday, budget], **{
        "order": [str(budget.pk), str(intent.pk), str(birthday.pk)],
        f"f{budget.pk}_label": "预算（万元）", f"f{budget.pk}_width": 50, f"f{budget.pk}_required": "on",
        f"f{birthday.pk}_visible": None})
    r = c.post(URL, data)
    assert r.status_code == 302, r.content.decode()[:3000]
    budget.refresh_from_db()
    intent.refresh_from_db()
    birthday.refresh_from_db()
    assert (budget.order, intent.order, birthday.order) == (1, 2, 3)
    assert budget.label == "预算（万元）" and budget.width == 50 and budget.required and not birthday.visible
    assert AuditLog.objects.filter(object_type="crm.customerfield", action="update").exists()

    # the agent's screen pop: the new order, label and width; the hidden field is gone
    pop = as_user(crm["agent"]).get("/workspace/pop/", {"phone": "13800138000"})
    keys = [f["key"] for f in pop.context["pop"].fields]
    assert keys == ["name", "phone", "company", "category", "budget", "intent"]
    shown = {f["key"]: f for f in pop.context["pop"].fields}
    assert shown["budget"]["label"] == "预算（万元）" and shown["budget"]["cols"] == 6
    # required now applies on the customer form
    form = c.get("/crm/customers/add/").context["form"]
    assert form.fields["f_budget"].required


def test_type_change_and_field_code(crm, as_user):
    intent, birthday, budget = fields(crm)
    c = as_user(crm["admin"])
    r = c.post(URL, post_data([intent, birthday, budget], **{f"f{budget.pk}_field_type": "choice",
                                                            f"f{budget.pk}_code": crm["level"].pk}))
    assert r.status_code == 302
    budget.refresh_from_db()
    assert budget.field_type == "choice" and budget.code == crm["level"]
    r = c.post(URL, post_data(fields(crm), **{f"f{budget.pk}_field_type": "text"}))
    assert r.status_code == 302
    budget.refresh_from_db()
    assert budget.field_type == "text" and budget.code is None


def test_bad_input_names_the_field_and_changes_nothing(crm, as_user):
    intent, birthday, budget = fields(crm)
    c = as_user(crm["admin"])
    before = [(f.label, f.width, f.field_type, f.order, f.visible) for f in fields(crm)]
    cases = [  # (changes, the input the error is on, words of the message)
        ({f"f{budget.pk}_width": 0, f"f{intent.pk}_label": "新名称"}, f"f{budget.pk}_width", "1"),
        ({f"f{budget.pk}_width": 101}, f"f{budget.pk}_width", "100"),
        ({f"f{intent.pk}_label": ""}, f"f{intent.pk}_label", "必填"),
        ({f"f{birthday.pk}_field_type": "text"}, f"f{birthday.pk}_field_type",
         "生日：生日字段：只有日期类型的字段可以作为生日"),
        ({f"f{budget.pk}_field_type": "choice", f"f{budget.pk}_code": ""}, f"f{budget.pk}_code",
         "预算：字段代码：选择类型的字段须选择字段代码"),
    ]
    for changes, name, message in cases:
        r = c.post(URL, post_data([intent, birthday, budget], order=[str(budget.pk), str(intent.pk)], **changes))
        assert r.status_code == 400, changes
        errors = r.context["form"].errors
        assert list(errors) == [name] and message in " ".join(errors[name]), (changes, errors)
        assert message in r.content.decode()
        assert [(f.label, f.width, f.field_type, f.order, f.visible) for f in fields(crm)] == before


def test_another_enterprises_fields_are_not_touched(crm, other, as_user):
    from callcenter.crm import services

    theirs = services.customerfield_create(enterprise=other["enterprise"], values={"key": "vip", "label": "VIP"})
    c = as_user(crm["admin"])
    assert "VIP" not in c.get(URL).content.decode()
    data = post_data(fields(crm))
    data.update({f"f{theirs.pk}_label": "偷改", f"f{theirs.pk}_width": 10, f"f{theirs.pk}_field_type": "text",
                 "order": [str(theirs.pk), *data["order"]]})
    assert c.post(URL, data).status_code == 302
    theirs.refresh_from_db()
    assert theirs.label == "VIP" and theirs.width == 25


def test_permissions(crm, as_user):
    intent, birthday, budget = fields(crm)
    agent = as_user(crm["agent"])
    assert agent.get(URL).status_code == 403
    assert agent.post(URL, post_data(fields(crm), **{f"f{intent.pk}_label": "x"})).status_code == 403
    intent.refresh_from_db()
    assert intent.label == "意向等级"
    assert 'data-url-name="crm:popfields"' not in agent.get("/").content.decode()
