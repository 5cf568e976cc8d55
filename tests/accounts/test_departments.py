"""部门管理 (manual 2.2.5): a tree; delete rules; no cycles; names stored literally and escaped."""

from __future__ import annotations

import html
import re

import pytest

from callcenter.accounts.models import Agent, Department
from callcenter.core.models import AuditLog

PAYLOAD = "<script>alert(1)</script>' OR 1=1 --"


def field_errors(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, text in re.findall(r'<div\b[^>]*\bdata-field="([^"]+)"[^>]*>([^<]*)<', response.content.decode()):
        found.setdefault(name, []).append(html.unescape(text))
    return found


def dept(ent, name, parent=None):
    return Department.objects.create(enterprise=ent["enterprise"], name=name, parent=parent)


@pytest.fixture
def tree(ent):
    """销售部 > 一组 > 甲班; 客服部."""
    sales = dept(ent, "销售部")
    group = dept(ent, "一组", sales)
    team = dept(ent, "甲班", group)
    service = dept(ent, "客服部")
    return {"sales": sales, "group": group, "team": team, "service": service}


def test_add_root_and_child(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post("/accounts/departments/add/", {"name": "销售部", "parent": "", "remark": "总部"})
    assert r.status_code == 302
    root = Department.objects.get(enterprise=ent["enterprise"], name="销售部")
    assert r.url == f"/accounts/departments/{root.pk}/"
    assert root.parent is None and root.remark == "总部"
    r = c.post("/accounts/departments/add/", {"name": "一组", "parent": root.pk, "remark": ""})
    assert r.status_code == 302
    child = Department.objects.get(enterprise=ent["enterprise"], name="一组")
    assert child.parent == root
    assert child.path() == "销售部 / 一组"
    assert AuditLog.objects.filter(object_type="accounts.department", action="create").count() == 2
    body = c.get("/accounts/departments/").content.decode()
    assert "销售部" in body and "一组" in body


def test_edit_department(ent, as_user, tree):
    group, service = tree["group"], tree["service"]
    r = as_user(ent["admin"]).post(f"/accounts/departments/{group.pk}/edit/",
                                   {"name": "一组（新）", "parent": service.pk, "remark": "调整"})
    assert r.status_code == 302
    group.refresh_from_db()
    assert group.name == "一组（新）" and group.parent == service and group.remark == "调整"
    entry = AuditLog.objects.get(object_type="accounts.department", object_id=str(group.pk), action="update")
    assert entry.changes["name"] == ["一组", "一组（新）"]
    assert entry.changes["parent"] == [tree["sales"].pk, service.pk]


def test_delete_leaf_department(ent, as_user, tree):
    team = tree["team"]
    r = as_user(ent["admin"]).post(f"/accounts/departments/{team.pk}/delete/")
    assert r.status_code == 302
    assert not Department.objects.filter(pk=team.pk).exists()


def test_delete_department_with_agents_refused_naming_them(ent, as_user, tree):
    service = tree["service"]
    Agent.objects.filter(pk__in=[ent["sub1"].pk, ent["agent"].pk]).update(department=service)
    c = as_user(ent["admin"])
    assert "811, 820" in c.get(f"/accounts/departments/{service.pk}/delete/").content.decode()
    r = c.post(f"/accounts/departments/{service.pk}/delete/")
    assert r.status_code == 409
    assert "部门“客服部”下还有 2 个坐席（811, 820），请先把他们移到其他部门" in r.content.decode()
    assert Department.objects.filter(pk=service.pk).exists()
    assert Agent.objects.filter(department=service).count() == 2


def test_delete_department_with_children_refused(ent, as_user, tree):
    sales = tree["sales"]
    r = as_user(ent["admin"]).post(f"/accounts/departments/{sales.pk}/delete/")
    assert r.status_code == 409
    assert "部门“销售部”下还有 1 个下级部门，请先删除或移走" in r.content.decode()
    assert Department.objects.filter(pk=sales.pk).exists()


def test_bulk_delete_departments_skips_refused(ent, as_user, tree):
    Agent.objects.filter(pk=ent["agent"].pk).update(department=tree["service"])
    pks = [d.pk for d in tree.values()]
    as_user(ent["admin"]).post("/accounts/departments/bulk-delete/", {"pk": pks, "_confirm": "1"})
    # Only the leaf without agents goes; its parent still had it as a child when checked.
    assert sorted(Department.objects.filter(pk__in=pks).values_list("name", flat=True)) == ["一组", "客服部", "销售部"]


@pytest.mark.parametrize("new_parent", ["self", "child", "grandchild"])
def test_parent_cycle_refused(ent, as_user, tree, new_parent):
    sales = tree["sales"]
    target = {"self": sales, "child": tree["group"], "grandchild": tree["team"]}[new_parent]
    r = as_user(ent["admin"]).post(f"/accounts/departments/{sales.pk}/edit/",
                                   {"name": "销售部", "parent": target.pk, "remark": ""})
    assert r.status_code == 200
    assert "上级部门：上级部门不能是本部门或其下级部门" in field_errors(r)["parent"]
    sales.refresh_from_db()
    assert sales.parent is None


def test_parent_from_other_enterprise_refused(ent, other, as_user):
    theirs = Department.objects.create(enterprise=other["enterprise"], name="外部")
    r = as_user(ent["admin"]).post("/accounts/departments/add/", {"name": "新部门", "parent": theirs.pk})
    assert r.status_code == 200 and "parent" in field_errors(r)
    assert not Department.objects.filter(name="新部门").exists()


def test_duplicate_name_under_same_parent_refused(ent, as_user, tree):
    c = as_user(ent["admin"])
    r = c.post("/accounts/departments/add/", {"name": "一组", "parent": tree["sales"].pk})
    assert "部门名称：同一上级部门下已有同名部门" in field_errors(r)["name"]
    assert Department.objects.filter(name="一组").count() == 1
    # The same name under another parent is fine.
    assert c.post("/accounts/departments/add/", {"name": "一组", "parent": tree["service"].pk}).status_code == 302


def test_department_name_with_metacharacters_stored_literally_and_escaped(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post("/accounts/departments/add/", {"name": PAYLOAD, "parent": "", "remark": PAYLOAD})
    assert r.status_code == 302
    d = Department.objects.get(enterprise=ent["enterprise"], name=PAYLOAD)
    assert d.remark == PAYLOAD
    escaped = html.escape(PAYLOAD)
    for page in ("/accounts/departments/", f"/accounts/departments/{d.pk}/", f"/accounts/departments/{d.pk}/edit/",
                 "/accounts/agents/add/"):
        body = c.get(page).content.decode()
        assert escaped in body, page
        assert "<script>alert(1)</script>" not in body, page
    r = c.get("/accounts/departments/", {"q": "' OR 1=1 --"})
    assert escaped in r.content.decode()
    dept(ent, "客服部")
    r = c.get("/accounts/departments/", {"q": "' OR 1=1 --"})
    assert "客服部" not in re.search(r'<table.*?</table>', r.content.decode(), re.S).group(0)


def test_supervisor_views_but_cannot_change_departments(ent, as_user, tree):
    c = as_user(ent["supervisor"])
    assert c.get("/accounts/departments/").status_code == 200
    assert c.get(f"/accounts/departments/{tree['team'].pk}/").status_code == 200
    assert c.post("/accounts/departments/add/", {"name": "偷建"}).status_code == 403
    assert c.post(f"/accounts/departments/{tree['team'].pk}/edit/", {"name": "改名"}).status_code == 403
    assert c.post(f"/accounts/departments/{tree['team'].pk}/delete/").status_code == 403
    assert sorted(Department.objects.values_list("name", flat=True)) == ["一组", "客服部", "甲班", "销售部"]
