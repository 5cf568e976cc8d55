"""Who may open what: the permission matrix per role, direct POSTs without permission, the menu,
data scope (own / own and subordinates / all) and the enterprise boundary."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from callcenter.accounts.api_auth import token_create
from callcenter.accounts.models import Agent, CallerId, Department, LoginLog, Role

URLS = ["/accounts/agents/", "/accounts/agents/add/", "/accounts/callerids/", "/accounts/departments/",
        "/accounts/roles/", "/accounts/loginlogs/", "/auditlogs/", "/accounts/enterprise/"]

ALLOWED = {
    "admin": set(URLS),
    # 班长: view/change/reset/export agent, view/export loginlog, view department, view callerid.
    "supervisor": {"/accounts/agents/", "/accounts/callerids/", "/accounts/departments/", "/accounts/loginlogs/"},
    # 坐席 and 普通员工: only their login log.
    "agent": {"/accounts/loginlogs/"},
    "staff": {"/accounts/loginlogs/"},
    # The other enterprise's administrator runs every screen of their own enterprise.
    "other_admin": set(URLS),
}


def user_for(who, ent, other):
    return other["admin"] if who == "other_admin" else ent[who]


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("who", list(ALLOWED))
def test_permission_matrix(ent, other, as_user, who, url):
    r = as_user(user_for(who, ent, other)).get(url)
    expected = 200 if url in ALLOWED[who] else 403
    assert r.status_code == expected, (who, url, r.status_code)


@pytest.mark.parametrize("url", URLS)
def test_anonymous_is_sent_to_login(db, url):
    r = Client().get(url)
    assert r.status_code == 302 and r.url.startswith("/accounts/login/")


def test_default_roles_hold_the_documented_permissions(ent):
    def perms(name):
        role = Role.objects.get(enterprise=ent["enterprise"], name=name)
        # The task permissions are checked in tests/campaigns/test_tasks.py.
        return {f"{p.content_type.app_label}.{p.codename}" for p in role.permissions.select_related("content_type")
                if p.content_type.app_label != "campaigns"}

    assert perms("班长") == {
        "accounts.view_agent", "accounts.change_agent", "accounts.reset_password_agent", "accounts.export_agent",
        "accounts.view_loginlog", "accounts.export_loginlog", "accounts.view_department", "accounts.view_callerid",
        "calls.view_cdr", "calls.export_cdr", "calls.view_missedcall", "calls.export_missedcall",
        "calls.view_agentstate", "calls.view_qualityreview", "calls.add_qualityreview", "calls.change_qualityreview",
        "calls.export_qualityreview",
        "crm.view_customer", "crm.add_customer", "crm.change_customer", "crm.lock_customer", "crm.transfer_customer",
        "crm.export_customer", "crm.view_customercategory",
        "workspace.use_workspace", "workspace.view_followup", "workspace.add_followup", "workspace.export_followup"}
    own_calls = {"accounts.view_loginlog", "calls.view_cdr", "calls.view_missedcall"}
    assert perms("坐席") == own_calls | {"calls.view_qualityreview", "crm.view_customer", "crm.add_customer",
                                        "crm.change_customer", "crm.lock_customer", "crm.view_customercategory",
                                        "workspace.use_workspace", "workspace.view_followup",
                                        "workspace.add_followup"}
    assert perms("普通员工") == own_calls


# --- direct POSTs without the permission ------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent", "staff", "supervisor"])
def test_post_add_agent_without_permission(ent, as_user, who):
    before = Agent.objects.count()
    r = as_user(ent[who]).post("/accounts/agents/add/", {
        "start": "840", "end": "845", "agent_type": "normal", "login_mode": "callcenter", "data_scope": "own",
        "max_locked_customers": "0", "lock_days": "0", "record_calls": "on"})
    assert r.status_code == 403
    assert Agent.objects.count() == before


@pytest.mark.parametrize("who", ["agent", "staff", "supervisor"])
def test_post_delete_agent_without_permission(ent, as_user, who):
    target = ent["sub2"]  # visible to the supervisor, without data
    r = as_user(ent[who]).post(f"/accounts/agents/{target.pk}/delete/")
    assert r.status_code == 403
    assert Agent.objects.filter(pk=target.pk).exists()


@pytest.mark.parametrize("who", ["agent", "staff", "supervisor"])
def test_post_bulk_delete_agents_without_permission(ent, as_user, who):
    pks = [ent["sub1"].pk, ent["sub2"].pk, ent["agent"].pk]
    r = as_user(ent[who]).post("/accounts/agents/bulk-delete/", {"pk": pks, "_confirm": "1"})
    assert r.status_code == 403
    assert Agent.objects.filter(pk__in=pks).count() == 3


@pytest.mark.parametrize("who", ["agent", "staff", "supervisor"])
def test_post_add_caller_id_without_permission(ent, as_user, who):
    before = CallerId.objects.count()
    r = as_user(ent[who]).post("/accounts/callerids/add/", {"start": "02066660001", "end": ""})
    assert r.status_code == 403
    assert CallerId.objects.count() == before


@pytest.mark.parametrize("who", ["agent", "staff"])
def test_agent_cannot_edit_disable_or_reset(ent, as_user, who):
    c = as_user(ent[who])
    me = ent[who]
    assert c.post(f"/accounts/agents/{me.pk}/edit/", {"name": "改名", "agent_type": "normal"}).status_code == 403
    assert c.post(f"/accounts/agents/{ent['sub1'].pk}/disable/").status_code == 403
    assert c.post(f"/accounts/agents/{ent['sub1'].pk}/reset-password/").status_code == 403
    assert c.post("/accounts/agents/bulk-edit/", {"pk": [ent["sub1"].pk], "_apply": "1",
                                                  "agent_type": "disabled"}).status_code == 403
    me.refresh_from_db()
    assert me.name == f"坐席{me.number}"
    assert Agent.objects.get(pk=ent["sub1"].pk).agent_type == "normal"


def test_supervisor_cannot_grant_roles_or_change_enterprise(ent, as_user):
    c = as_user(ent["supervisor"])
    assert c.post("/accounts/roles/add/", {"name": "超级", "description": ""}).status_code == 403
    assert c.post("/accounts/enterprise/", {"name": "改名", "time_zone": "UTC"}).status_code == 403
    assert not Role.objects.filter(name="超级").exists()
    ent["enterprise"].refresh_from_db()
    assert ent["enterprise"].name == "企业acme"


# --- the menu ---------------------------------------------------------------------------------------


def menu(response) -> str:
    m = re.search(r'<nav[^>]*id="menu"[^>]*>(.*?)</nav>', response.content.decode(), re.S)
    assert m
    return m.group(1)


@pytest.mark.parametrize("who", ["agent", "staff"])
def test_agent_menu_shows_only_own_records(ent, as_user, who):
    nav = menu(as_user(ent[who]).get("/accounts/loginlogs/"))
    assert "登录日志" in nav
    for hidden in ("坐席管理", "外显设置", "部门管理", "角色权限", "操作日志", "企业设置"):
        assert hidden not in nav, hidden
    customers = {"crm:customer_list", "crm:customercategory_list", "workspace:index",
                 "workspace:followup_list", "campaigns:task_list", "campaigns:agenttasknumber_list",
                 "calls:qualityreview_list"} if who == "agent" else set()
    assert set(re.findall(r'data-url-name="([^"]+)"', nav)) == {
        "accounts:loginlog_list", "calls:cdr_list", "calls:missedcall_list", *customers,
        "notices:announcement_list", "notices:todo_list"}  # open to everyone: rows are the user's own


def test_supervisor_and_admin_menus(ent, as_user):
    sup = menu(as_user(ent["supervisor"]).get("/accounts/loginlogs/"))
    assert set(re.findall(r'data-url-name="([^"]+)"', sup)) == {
        "accounts:agent_list", "accounts:loginlog_list", "accounts:department_list", "accounts:callerid_list",
        "calls:cdr_list", "calls:missedcall_list", "crm:customer_list", "crm:customercategory_list",
        "notices:announcement_list", "notices:todo_list", "workspace:index", "workspace:followup_list",
        "campaigns:task_list", "campaigns:task_send", "campaigns:agenttasknumber_list", "calls:qualityreview_list",
        "calls:agent_monitor"}
    admin = menu(as_user(ent["admin"]).get("/accounts/loginlogs/"))
    for label in ("坐席管理", "外显设置", "部门管理", "角色权限", "登录日志", "操作日志", "企业设置"):
        assert label in admin, label


def test_list_hides_buttons_the_user_may_not_use(ent, as_user):
    body = as_user(ent["supervisor"]).get("/accounts/agents/").content.decode()
    assert 'id="btn-add"' not in body
    assert 'id="btn-bulk-delete"' not in body
    assert 'id="btn-bulk-edit"' in body  # 班长 may change agents
    admin_body = as_user(ent["admin"]).get("/accounts/agents/").content.decode()
    assert 'id="btn-add"' in admin_body and 'id="btn-bulk-delete"' in admin_body


# --- data scope -------------------------------------------------------------------------------------


def agent_pks(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/accounts/agents/(\d+)/"', response.content.decode())}


def test_supervisor_sees_self_and_subordinates(ent, as_user):
    c = as_user(ent["supervisor"])
    seen = agent_pks(c.get("/accounts/agents/"))
    assert seen == {ent["supervisor"].pk, ent["sub1"].pk, ent["sub2"].pk}
    assert c.get(f"/accounts/agents/{ent['agent'].pk}/").status_code == 404
    assert c.get(f"/accounts/agents/{ent['admin'].pk}/").status_code == 404
    assert c.get(f"/accounts/agents/{ent['sub1'].pk}/").status_code == 200


def test_supervisor_scope_follows_the_chain(ent, as_user):
    # An agent below a subordinate is in scope too; moving it out takes it out of scope.
    from tests.conftest import make_agent

    deep = make_agent(ent["enterprise"], "813", role="坐席", supervisor=ent["sub1"])
    c = as_user(ent["supervisor"])
    assert deep.pk in agent_pks(c.get("/accounts/agents/"))
    Agent.objects.filter(pk=deep.pk).update(supervisor=None)
    assert deep.pk not in agent_pks(c.get("/accounts/agents/"))


def test_supervisor_cannot_bulk_edit_outside_scope(ent, as_user):
    dept = Department.objects.create(enterprise=ent["enterprise"], name="一组")
    r = as_user(ent["supervisor"]).post("/accounts/agents/bulk-edit/", {
        "pk": [ent["sub1"].pk, ent["agent"].pk], "_apply": "1", "department": dept.pk})
    assert r.status_code == 302
    assert list(Agent.objects.filter(department=dept).values_list("number", flat=True)) == ["811"]


def test_admin_sees_all_agents(ent, other, as_user):
    seen = agent_pks(as_user(ent["admin"]).get("/accounts/agents/"))
    assert seen == set(Agent.objects.filter(enterprise=ent["enterprise"]).values_list("pk", flat=True))
    assert other["agent"].pk not in seen and other["admin"].pk not in seen


@pytest.fixture
def login_logs(ent, other):
    """One login-log row per person, each from its own IP address."""
    rows = {}
    for i, key in enumerate(["admin", "supervisor", "sub1", "sub2", "agent", "staff"], start=1):
        a = ent[key]
        rows[key] = LoginLog.objects.create(enterprise=ent["enterprise"], agent=a, number=a.number,
                                            ip=f"10.9.0.{i}", result="success")
    rows["other"] = LoginLog.objects.create(enterprise=other["enterprise"], agent=other["agent"], number="801",
                                            ip="10.9.9.9", result="success")
    return rows


def ips(response) -> set[str]:
    """IP addresses in the rows of the list table."""
    table = re.search(r'<table\b[^>]*\bid="list-table".*?<tbody>(.*?)</tbody>', response.content.decode(), re.S)
    assert table
    return set(re.findall(r"\b10\.9\.\d+\.\d+\b", table.group(1)))


def test_agent_sees_only_own_login_logs(ent, as_user, login_logs):
    assert ips(as_user(ent["agent"]).get("/accounts/loginlogs/")) == {login_logs["agent"].ip}
    assert ips(as_user(ent["staff"]).get("/accounts/loginlogs/")) == {login_logs["staff"].ip}


def test_supervisor_sees_subordinates_login_logs(ent, as_user, login_logs):
    assert ips(as_user(ent["supervisor"]).get("/accounts/loginlogs/")) == {
        login_logs[k].ip for k in ("supervisor", "sub1", "sub2")}


def test_admin_sees_all_login_logs_of_the_enterprise(ent, as_user, login_logs):
    assert ips(as_user(ent["admin"]).get("/accounts/loginlogs/")) == {
        login_logs[k].ip for k in ("admin", "supervisor", "sub1", "sub2", "agent", "staff")}


def test_agent_cannot_widen_login_log_scope_with_filters(ent, as_user, login_logs):
    c = as_user(ent["agent"])
    assert ips(c.get("/accounts/loginlogs/", {"number": "811"})) == set()
    assert ips(c.get("/accounts/loginlogs/", {"agent": ent["sub1"].pk})) == set()


# --- enterprise boundary ---------------------------------------------------------------------------


@pytest.fixture
def a_objects(ent):
    e = ent["enterprise"]
    return {
        "agents": ent["agent"],
        "departments": Department.objects.create(enterprise=e, name="销售部"),
        "callerids": CallerId.objects.create(enterprise=e, number="02066660001"),
        "roles": Role.objects.get(enterprise=e, name="坐席"),
    }


BOUNDARY = [
    ("agents", ""), ("agents", "edit/"), ("agents", "delete/"), ("agents", "reset-password/"),
    ("agents", "disable/"),
    ("departments", ""), ("departments", "edit/"), ("departments", "delete/"),
    ("callerids", "delete/"), ("callerids", "default/"),
    ("roles", ""), ("roles", "edit/"), ("roles", "delete/"),
]


@pytest.mark.parametrize(("kind", "suffix"), BOUNDARY)
def test_other_enterprise_admin_gets_404(ent, other, as_user, a_objects, kind, suffix):
    obj = a_objects[kind]
    url = f"/accounts/{kind}/{obj.pk}/{suffix}"
    c = as_user(other["admin"])
    if suffix != "disable/":
        assert c.get(url).status_code == 404
    if suffix:  # detail pages are read-only
        assert c.post(url, {"name": "被改", "confirm": "1"}).status_code == 404
    model = type(obj)
    assert model.objects.filter(pk=obj.pk).exists()
    fresh = model.objects.get(pk=obj.pk)
    for field in ("name", "number", "agent_type", "password"):
        if hasattr(obj, field):
            assert getattr(fresh, field) == getattr(obj, field), field


def test_other_enterprise_bulk_actions_ignore_foreign_rows(ent, other, as_user, a_objects):
    c = as_user(other["admin"])
    pks = [ent["agent"].pk, ent["staff"].pk]
    c.post("/accounts/agents/bulk-delete/", {"pk": pks, "_confirm": "1"})
    c.post("/accounts/agents/bulk-edit/", {"pk": pks, "_apply": "1", "agent_type": "disabled"})
    assert set(Agent.objects.filter(pk__in=pks).values_list("agent_type", flat=True)) == {"normal", "staff"}
    c.post("/accounts/departments/bulk-delete/", {"pk": [a_objects["departments"].pk], "_confirm": "1"})
    assert Department.objects.filter(pk=a_objects["departments"].pk).exists()


def test_other_enterprise_admin_gets_404_via_api(ent, other, a_objects):
    _token, key = token_create(agent=other["admin"], name="t")
    auth = {"HTTP_AUTHORIZATION": f"Token {key}"}
    c = Client()
    agent = ent["agent"]
    assert c.get(f"/api/v1/agents/{agent.pk}/", **auth).status_code == 404
    assert c.patch(f"/api/v1/agents/{agent.pk}/", {"name": "被改"}, content_type="application/json",
                   **auth).status_code == 404
    assert c.delete(f"/api/v1/agents/{agent.pk}/", **auth).status_code == 404
    assert c.get(f"/api/v1/departments/{a_objects['departments'].pk}/", **auth).status_code == 404
    assert c.get(f"/api/v1/caller-ids/{a_objects['callerids'].pk}/", **auth).status_code == 404
    assert c.get(f"/api/v1/roles/{a_objects['roles'].pk}/", **auth).status_code == 404
    agent.refresh_from_db()
    assert agent.name == "坐席820"
    # The same token reads its own enterprise's agent.
    assert c.get(f"/api/v1/agents/{other['agent'].pk}/", **auth).status_code == 200
    listed = {row["id"] for row in c.get("/api/v1/agents/", **auth).json()["results"]}
    assert listed == {other["admin"].pk, other["agent"].pk}


def test_agent_form_offers_only_own_enterprise_choices(ent, other, as_user):
    theirs_dept = Department.objects.create(enterprise=other["enterprise"], name="外部部门")
    body = as_user(ent["admin"]).get(f"/accounts/agents/{ent['agent'].pk}/edit/").content.decode()
    assert "外部部门" not in body
    assert f'value="{theirs_dept.pk}"' not in re.search(r'<select name="department".*?</select>', body,
                                                         re.S).group(0)
    assert f'value="{other["agent"].pk}"' not in re.search(r'<select name="supervisor".*?</select>', body,
                                                           re.S).group(0)
    # Posting a foreign department id anyway is refused.
    agent = ent["agent"]
    r = as_user(ent["admin"]).post(f"/accounts/agents/{agent.pk}/edit/", {
        "name": agent.name, "login_mode": "callcenter", "caller_id": agent.caller_id_id,
        "max_locked_customers": "0", "lock_days": "0", "department": theirs_dept.pk, "agent_type": "normal",
        "data_scope": "own"})
    assert r.status_code == 200
    agent.refresh_from_db()
    assert agent.department_id is None
