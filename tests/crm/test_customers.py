"""Customers (R1) and field codes (R2) over HTTP, on the real database."""

from __future__ import annotations

from datetime import timedelta

import openpyxl
import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callcenter.core.models import AuditLog, Job
from callcenter.crm.models import Customer, CustomerCategory
from tests.crm.conftest import make_customer, xlsx

pytestmark = pytest.mark.django_db


# --- create / validation -------------------------------------------------------------------


def test_admin_adds_customer_with_custom_fields(crm, as_user):
    c = as_user(crm["admin"])
    r = c.post("/crm/customers/add/", {"category": crm["retail"].pk, "phone": "+86 138-0013-8000", "name": "张三",
                                        "owner": crm["agent"].pk, "f_intent": "A / A1", "f_birthday": "1990-05-01",
                                        "f_budget": "1200"})
    assert r.status_code == 302, r.content.decode()[:2000]
    cust = Customer.objects.get()
    assert cust.phone == "13800138000"
    assert cust.data == {"intent": "A / A1", "birthday": "1990-05-01", "budget": 1200}
    assert AuditLog.objects.filter(object_type="crm.customer", action="create").exists()
    detail = c.get(f"/crm/customers/{cust.pk}/")
    assert "A / A1" in detail.content.decode()


def test_bad_custom_value_names_the_field(crm, as_user):
    c = as_user(crm["admin"])
    r = c.post("/crm/customers/add/", {"category": crm["retail"].pk, "phone": "abc", "name": "x"})
    assert r.status_code == 200
    assert "不是有效的电话号码" in r.content.decode()
    r = c.post("/api/v1/customers/", {"category": crm["retail"].pk, "phone": "13800000001",
                                      "data": {"intent": "Z", "budget": "lots"}}, content_type="application/json")
    assert r.status_code == 400
    body = r.json()
    assert "意向等级" in str(body["f_intent"]) and "预算" in str(body["f_budget"])
    assert not Customer.objects.exists()


def test_field_code_children_endpoint(crm, as_user):
    c = as_user(crm["agent"])
    r = c.get(f"/crm/fieldcodes/{crm['level'].pk}/children/")
    values = r.json()["values"]
    assert [v["value"] for v in values] == ["A", "B"]
    a = values[0]
    r = c.get(f"/crm/fieldcodes/{crm['level'].pk}/children/?parent={a['id']}")
    assert [v["value"] for v in r.json()["values"]] == ["A1", "A2"]


def test_second_birthday_field_refused(crm, as_user):
    r = as_user(crm["admin"]).post("/api/v1/customer-fields/", {"key": "bday2", "label": "生日2", "field_type": "date",
                                                                 "is_birthday": True}, content_type="application/json")
    assert r.status_code == 400 and "最多一个" in str(r.json())


# --- categories --------------------------------------------------------------------------------


def test_category_in_use_cannot_be_deleted(crm, as_user):
    make_customer(crm, crm["agent"])
    c = as_user(crm["admin"])
    r = c.post(f"/crm/customercategorys/{crm['retail'].pk}/delete/")
    assert r.status_code == 409
    assert CustomerCategory.objects.filter(pk=crm["retail"].pk).exists()
    assert c.post(f"/crm/customercategorys/{crm['corp'].pk}/delete/").status_code == 302


# --- import ------------------------------------------------------------------------------------


def test_import_reports_bad_rows_and_saves_good_ones(crm, as_user):
    c = as_user(crm["admin"])
    tpl = c.get("/crm/customers/import/template/")
    assert tpl.status_code == 200
    header = [cell.value for cell in openpyxl.load_workbook(__import__("io").BytesIO(tpl.content)).active[1]]
    assert header[:2] == ["客户名称", "电话 *"] and "意向等级" in header
    rows = [["客户名称", "电话", "公司", "归属坐席", "意向等级", "生日", "预算"],
            ["好", "13900001111", "", "820", "A/A2", "1991-01-02", "10"],
            ["坏号码", "12ab", "", "", "A", "", ""],
            ["未知代码", "13900002222", "", "", "Z", "", ""],
            ["重复", "139-0000-1111", "", "", "B", "", ""],
            ["坏日期", "13900003333", "", "", "", "1991-13-40", ""]]
    r = c.post("/crm/customers/import/", {"importer": "customers", "category": crm["corp"].pk,
                                          "file": xlsx(rows)})
    assert r.status_code == 302
    job = Job.objects.get()
    assert (job.succeeded, job.failed) == (1, 4)
    cust = Customer.objects.get()
    assert cust.category == crm["corp"] and cust.owner == crm["agent"] and cust.data["intent"] == "A / A2"
    wb = openpyxl.load_workbook(job.result_file)
    reasons = {row[0]: row[1] for row in wb.active.iter_rows(min_row=2, values_only=True)}
    assert "电话" in reasons[3] and "有效" in reasons[3]
    assert "不在字段代码" in reasons[4]
    assert "在文件中重复" in reasons[5]
    assert "生日" in reasons[6]


def test_import_refuses_non_xlsx(crm, as_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    c = as_user(crm["admin"])
    f = SimpleUploadedFile("customers.xlsx", b"name,phone\na,138\n", content_type="text/csv")
    r = c.post("/crm/customers/import/", {"importer": "customers", "category": crm["retail"].pk, "file": f})
    assert r.status_code == 400
    assert "不是 Excel" in r.content.decode()
    assert not Customer.objects.exists() and not Job.objects.exists()


def test_import_requires_category(crm, as_user):
    r = as_user(crm["admin"]).post("/crm/customers/import/", {"importer": "customers",
                                                              "file": xlsx([["电话"], ["13900001111"]])})
    assert r.status_code == 400 and not Customer.objects.exists()


# --- locks -------------------------------------------------------------------------------------


def test_locking_past_the_limit_is_refused(crm, as_user):
    agent = crm["agent"]
    agent.max_locked_customers = 2
    agent.lock_days = 3
    agent.save()
    custs = [make_customer(crm, agent, phone=f"1380000000{i}") for i in range(3)]
    c = as_user(agent)
    for cust in custs[:2]:
        assert c.post("/crm/customers/lock/", {"pk": cust.pk}).status_code == 302
    r = c.post("/crm/customers/lock/", {"pk": custs[2].pk})
    assert r.status_code == 409
    assert "最多锁定 2 个客户" in r.content.decode()
    custs[2].refresh_from_db()
    assert custs[2].locked_by is None
    custs[0].refresh_from_db()
    assert custs[0].locked_until - timezone.now() > timedelta(days=2, hours=23)
    r = c.post(f"/api/v1/customers/{custs[2].pk}/lock/")
    assert r.status_code == 403 and "最多锁定" in str(r.json())


def test_locked_customer_belongs_to_the_locking_agent(crm, as_user):
    """Another agent: 403 (in scope) or 404 (out of scope); supervisor and admin still open it."""
    sub1 = crm["sub1"]
    cust = make_customer(crm, sub1)
    assert as_user(sub1).post("/crm/customers/lock/", {"pk": cust.pk}).status_code == 302
    # an agent who sees every customer, but is not sub1's supervisor
    from callcenter.accounts.models import Role
    peer = crm["sub2"]
    peer.data_scope = "all"
    peer.save()
    assert Role.objects.get(enterprise=crm["enterprise"], name="坐席") == peer.role
    assert as_user(peer).get(f"/crm/customers/{cust.pk}/").status_code == 403
    assert as_user(peer).post(f"/crm/customers/{cust.pk}/edit/", {"phone": "1"}).status_code == 403
    assert as_user(peer).get(f"/api/v1/customers/{cust.pk}/").status_code == 403
    # out of data scope: 404
    assert as_user(crm["agent"]).get(f"/crm/customers/{cust.pk}/").status_code == 404
    assert as_user(crm["agent"]).get(f"/api/v1/customers/{cust.pk}/").status_code == 404
    # the locking agent, their supervisor and the administrator
    assert as_user(sub1).get(f"/crm/customers/{cust.pk}/").status_code == 200
    assert as_user(crm["supervisor"]).get(f"/crm/customers/{cust.pk}/").status_code == 200
    assert as_user(crm["admin"]).get(f"/crm/customers/{cust.pk}/").status_code == 200
    assert as_user(crm["admin"]).get(f"/api/v1/customers/{cust.pk}/").status_code == 200


def test_periodic_job_unlocks_expired_locks(crm):
    from callcenter.crm import services, tasks

    agent = crm["agent"]
    agent.lock_days = 1
    agent.save()
    cust = make_customer(crm, agent)
    keep = make_customer(crm, agent, phone="13800000009")
    services.customer_lock(customer=cust, agent=agent)
    with time_machine.travel(timezone.now() + timedelta(hours=12)):
        services.customer_lock(customer=keep, agent=agent)
    with time_machine.travel(timezone.now() + timedelta(days=1, hours=1)):
        assert tasks.unlock_expired_locks.call_local() == 1
    cust.refresh_from_db()
    keep.refresh_from_db()
    assert cust.locked_by is None and cust.locked_until is None
    assert keep.locked_by == agent


# --- merge / transfer / bulk -------------------------------------------------------------------


def test_merge_keeps_chosen_values_and_moves_registered_rows(crm, as_user):
    from callcenter.crm import related

    moved = []
    related.register_merge("测试", lambda src, dst: moved.append((src.pk, dst.pk)) or 1)
    try:
        a = make_customer(crm, crm["agent"], phone="13800000001", name="甲", data={"intent": "A"})
        b = make_customer(crm, crm["agent"], phone="13800000002", name="乙", data={"intent": "B", "budget": "5"})
        r = as_user(crm["admin"]).post("/crm/customers/merge/", {
            "pk": [a.pk, b.pk], "_apply": "1", "survivor": a.pk, "keep_name": b.pk, "keep_phone": a.pk,
            "keep_intent": b.pk})
        assert r.status_code == 302
    finally:
        related.unregister_merge("测试")
    a.refresh_from_db()
    assert (a.name, a.phone, a.data["intent"], a.data["budget"]) == ("乙", "13800000001", "B", 5)
    assert not Customer.objects.filter(pk=b.pk).exists()
    assert moved == [(b.pk, a.pk)]


def test_merge_across_enterprises_refused(crm, other):
    from django.core.exceptions import ValidationError

    from callcenter.crm import services

    mine = make_customer(crm, crm["agent"])
    cat = services.category_create(enterprise=other["enterprise"], name="x")
    theirs = services.customer_create(enterprise=other["enterprise"], values={"category": cat, "phone": "13800000005"})
    with pytest.raises(ValidationError, match="不同企业"):
        services.customers_merge(survivor=mine, others=[theirs])
    assert Customer.objects.count() == 2


def test_merge_api_other_enterprise_ids_refused(crm, other, as_user):
    from callcenter.crm import services

    mine = make_customer(crm, crm["agent"])
    cat = services.category_create(enterprise=other["enterprise"], name="x")
    theirs = services.customer_create(enterprise=other["enterprise"], values={"category": cat, "phone": "13800000005"})
    r = as_user(crm["admin"]).post("/api/v1/customers/merge/", {"survivor": mine.pk, "others": [theirs.pk]},
                                   content_type="application/json")
    assert r.status_code == 400
    assert Customer.objects.count() == 2


def test_transfer_and_bulk_edit_and_bulk_delete_current_query(crm, as_user):
    for i in range(3):
        make_customer(crm, crm["agent"], phone=f"1380000001{i}")
    make_customer(crm, crm["sub1"], phone="13800000020").__class__.objects.filter(phone="13800000020").update(
        category=crm["corp"])
    c = as_user(crm["admin"])
    query = f"category={crm['retail'].pk}"
    r = c.post("/crm/customers/transfer/", {"select_all": "1", "query": query, "_apply": "1",
                                            "to_agent": crm["sub2"].pk})
    assert r.status_code == 302
    assert Customer.objects.filter(owner=crm["sub2"]).count() == 3
    r = c.post("/crm/customers/bulk-edit/", {"select_all": "1", "query": query, "_apply": "1", "field": "intent",
                                             "value": "A1"})
    assert r.status_code == 302
    assert {x.data.get("intent") for x in Customer.objects.filter(category=crm["retail"])} == {"A / A1"}
    r = c.post("/crm/customers/bulk-delete/", {"select_all": "1", "query": query, "_confirm": "1"})
    assert r.status_code == 302
    assert Customer.objects.count() == 1


def test_agent_owning_customers_cannot_be_deleted(crm, as_user):
    make_customer(crm, crm["agent"])
    r = as_user(crm["admin"]).post(f"/accounts/agents/{crm['agent'].pk}/delete/")
    assert r.status_code == 409
    assert "客户 1" in r.content.decode()


# --- permissions, tenancy, list ---------------------------------------------------------------


def test_permission_matrix(crm, as_user):
    cust = make_customer(crm, crm["agent"])
    assert as_user(crm["staff"]).get("/crm/customers/").status_code == 403
    agent = as_user(crm["agent"])
    assert agent.get("/crm/customers/").status_code == 200
    assert agent.get("/crm/customers/export/").status_code == 403
    assert agent.get("/crm/customers/import/").status_code == 403
    assert agent.post("/crm/customers/merge/", {"pk": [cust.pk]}).status_code == 403
    assert agent.get("/crm/customerfields/").status_code == 403
    assert as_user(crm["supervisor"]).get("/crm/customers/export/").status_code == 200
    admin = as_user(crm["admin"])
    for url in ("/crm/customers/", "/crm/customercategorys/", "/crm/customerfields/", "/crm/fieldcodes/",
                f"/crm/fieldcodes/{crm['level'].pk}/", "/crm/customers/add/", "/crm/customers/import/"):
        assert admin.get(url).status_code == 200, url
    menu = admin.get("/crm/customers/").content.decode()
    for label in ("管理客户资料", "客户分类", "客户字段", "客户字段代码"):
        assert label in menu


def test_other_enterprise_gets_404(crm, other, as_user):
    cust = make_customer(crm, crm["agent"])
    c = as_user(other["admin"])
    assert c.get(f"/crm/customers/{cust.pk}/").status_code == 404
    assert c.get(f"/api/v1/customers/{cust.pk}/").status_code == 404
    assert c.get(f"/api/v1/customer-categories/{crm['retail'].pk}/").status_code == 404
    assert c.get(f"/api/v1/field-codes/{crm['level'].pk}/").status_code == 404
    assert c.get(f"/crm/fieldcodes/{crm['level'].pk}/children/").status_code == 404
    assert c.get("/api/v1/customers/").json()["results"] == []


def test_list_filters_sort_and_bounded_queries(crm, as_user):
    for i in range(30):
        make_customer(crm, crm["agent"] if i % 2 else crm["sub1"], phone=f"138000001{i:02d}", name=f"客户{i:02d}",
                      data={"intent": "A"})
    c = as_user(crm["admin"])
    r = c.get("/crm/customers/?phone=138-0000-0105")
    assert r.status_code == 200 and "客户05" in r.content.decode() and "客户06" not in r.content.decode()
    r = c.get(f"/crm/customers/?owner={crm['sub1'].pk}&sort=name&per_page=10")
    assert r.status_code == 200
    with CaptureQueriesContext(connection) as small:
        c.get("/crm/customers/?per_page=10")
    with CaptureQueriesContext(connection) as big:
        c.get("/crm/customers/?per_page=30")
    assert len(big.captured_queries) == len(small.captured_queries) < 30
    cursor = r.context["page"].next_cursor
    page2 = c.get(f"/crm/customers/?owner={crm['sub1'].pk}&sort=name&per_page=10&after={cursor}")
    body = page2.content.decode()
    assert "客户00" not in body and "客户18" not in body and "客户20" in body, body[body.find("list-table"):][:3000]
    r = c.get(f"/api/v1/customers/?locked=no&category={crm['retail'].pk}")
    assert len(r.json()["results"]) == 30


def test_export_includes_custom_fields(crm, as_user):
    make_customer(crm, crm["agent"], data={"intent": "B"})
    r = as_user(crm["admin"]).get("/crm/customers/export/")
    assert r.status_code == 200
    ws = openpyxl.load_workbook(__import__("io").BytesIO(b"".join(r.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert "意向等级" in rows[0] and "B" in rows[1]


def test_demo_seed(ent):
    from callcenter.crm.demo import seed
    from callcenter.crm.models import CustomerField, FieldCode
    from tests.conftest import make_agent

    for n in range(801, 807):
        make_agent(ent["enterprise"], str(n), role="坐席")
    seed(ent["enterprise"])
    assert Customer.objects.filter(enterprise=ent["enterprise"]).count() == 200
    assert Customer.objects.filter(phone="13800138000", owner__number="801").exists()
    assert CustomerCategory.objects.filter(enterprise=ent["enterprise"]).count() == 2
    assert CustomerField.objects.get(enterprise=ent["enterprise"], is_birthday=True).field_type == "date"
    assert "A / A1 立即购买" in FieldCode.objects.get(enterprise=ent["enterprise"]).paths()


def test_birthday_reminder_goes_to_the_owning_agent(ent):
    from datetime import date

    from callcenter.crm.models import Customer, CustomerCategory, CustomerField
    from callcenter.notices.models import Todo
    from callcenter.notices.services import birthday_todos

    e = ent["enterprise"]
    category = CustomerCategory.objects.create(enterprise=e, name="生日测试")
    CustomerField.objects.create(enterprise=e, key="birthday", label="生日", field_type="date", is_birthday=True)
    born = Customer.objects.create(enterprise=e, category=category, name="寿星", phone="13800000001",
                                   owner=ent["agent"],
                                   data={"birthday": "1990-11-27"})
    Customer.objects.create(enterprise=e, category=category, name="别人", phone="13800000002", owner=ent["agent"],
                            data={"birthday": "1990-11-28"})
    birthday_todos(date(2026, 11, 27))
    todo = Todo.objects.get(agent=ent["agent"], kind="birthday")
    assert todo.source_id == born.pk and "寿星" in todo.title
