"""坐席管理 (manual 2.2.3): add by range, input rules, agent 800, delete/disable, reset password,
bulk edit/delete, audit, escaping, keyset pagination and query counts."""

from __future__ import annotations

import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from callcenter.accounts import related
from callcenter.accounts.models import Agent, CallerId, Department, Role
from callcenter.accounts.services import permissions_from_names
from callcenter.core.models import AuditLog
from tests.conftest import PASSWORD, make_agent

PAYLOAD = "<script>alert(1)</script>' OR 1=1 --"


# --- helpers ------------------------------------------------------------------------------------


def add_data(start, end="", **extra):
    data = {"start": start, "end": end, "agent_type": "normal", "login_mode": "callcenter", "data_scope": "own",
            "max_locked_customers": "0", "lock_days": "0", "record_calls": "on"}
    data.update(extra)
    return data


def edit_data(agent: Agent, **overrides) -> dict:
    """What the edit form posts for `agent` unchanged, with `overrides` applied."""
    def pk(obj):
        return "" if obj is None else str(obj.pk)

    data = {
        "name": agent.name, "phone": agent.phone, "supervisor": pk(agent.supervisor),
        "outbound_trunk": agent.outbound_trunk, "login_mode": agent.login_mode, "caller_id": pk(agent.caller_id),
        "max_locked_customers": str(agent.max_locked_customers), "lock_days": str(agent.lock_days),
        "department": pk(agent.department), "agent_type": agent.agent_type, "role": pk(agent.role),
        "data_scope": agent.data_scope, "remark1": agent.remark1, "remark2": agent.remark2,
        "remark3": agent.remark3, "remark4": agent.remark4, "screen_pop_url": agent.screen_pop_url,
        "third_party_user": agent.third_party_user, "third_party_password": "",
    }
    if agent.record_calls:
        data["record_calls"] = "on"
    if agent.failover_to_mobile:
        data["failover_to_mobile"] = "on"
    data.update(overrides)
    return data


def field_errors(response) -> dict[str, list[str]]:
    """Field errors shown on a form page: {field name: [label：message, ...]}."""
    found: dict[str, list[str]] = {}
    for name, text in re.findall(r'<div\b[^>]*\bdata-field="([^"]+)"[^>]*>([^<]*)<', response.content.decode()):
        found.setdefault(name, []).append(html.unescape(text))
    return found


def make_manager(ent, perms: list[str], number: str = "850") -> Agent:
    """A non-administrator with data scope "all" and exactly `perms`."""
    role = Role.objects.create(enterprise=ent["enterprise"], name=f"经理{number}")
    role.permissions.set(permissions_from_names(perms))
    return make_agent(ent["enterprise"], number, role=role.name, scope="all")


def count():
    return Agent.objects.count()


def row_pks(response) -> list[int]:
    """Agent ids of the list's rows, in order (each row links to its detail page once)."""
    return [int(pk) for pk in re.findall(r'href="/accounts/agents/(\d+)/"', response.content.decode())]


def link(response, element_id: str) -> str:
    """The href of the <a> with this id."""
    tag = re.search(rf'<a\b[^>]*\bid="{element_id}"[^>]*>', response.content.decode())
    assert tag, element_id
    return html.unescape(re.search(r'\bhref="([^"]*)"', tag.group(0)).group(1))


def table_rows(response, table_id: str) -> list[list[str]]:
    """The text of each body cell of the table with this id, row by row."""
    body = response.content.decode()
    table = re.search(rf'<table\b[^>]*\bid="{table_id}".*?</table>', body, re.S)
    assert table, table_id
    tbody = re.search(r"<tbody>(.*?)</tbody>", table.group(0), re.S)
    rows = []
    for row in re.findall(r"<tr\b[^>]*>(.*?)</tr>", tbody.group(1), re.S):
        cells = re.findall(r"<td\b[^>]*>(.*?)</td>", row, re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def new_passwords(response) -> dict[str, str]:
    return {number: pw for number, pw in table_rows(response, "new-passwords")}


def bulk_agents(ent, numbers, **fields):
    e = ent["enterprise"]
    caller = CallerId.objects.filter(enterprise=e).first()
    Agent.objects.bulk_create([
        Agent(enterprise=e, number=n, username=f"{e.code}:{n}", name=f"批量{n}", caller_id=caller, **fields)
        for n in numbers])


# --- 1. add one agent and a range -----------------------------------------------------------------


def test_add_one_agent(ent, as_user):
    c = as_user(ent["admin"])
    before = count()
    r = c.post("/accounts/agents/add/", add_data("840", name="张三"))
    assert r.status_code == 200
    assert count() == before + 1
    agent = Agent.objects.get(enterprise=ent["enterprise"], number="840")
    assert agent.name == "张三"
    assert agent.must_change_password
    assert agent.caller_id is not None and agent.caller_id.enterprise_id == ent["enterprise"].pk
    assert agent.username == "acme:840"
    passwords = new_passwords(r)
    assert list(passwords) == ["840"]
    assert re.fullmatch(r"\d{6}", passwords["840"])
    assert agent.check_password(passwords["840"])


def test_add_range_801_805(ent, as_user):
    c = as_user(ent["admin"])
    before = count()
    r = c.post("/accounts/agents/add/", add_data("801", "805"))
    assert r.status_code == 200
    assert count() == before + 5
    agents = list(Agent.objects.filter(enterprise=ent["enterprise"], number__in=[f"80{i}" for i in range(1, 6)]))
    assert sorted(a.number for a in agents) == ["801", "802", "803", "804", "805"]
    passwords = new_passwords(r)
    assert sorted(passwords) == ["801", "802", "803", "804", "805"]
    for agent in agents:
        assert agent.must_change_password
        assert agent.caller_id_id is not None
        assert agent.record_calls and agent.agent_type == "normal" and agent.login_mode == "callcenter"
        assert re.fullmatch(r"\d{6}", passwords[agent.number])
        assert agent.check_password(passwords[agent.number])
        assert passwords[agent.number] not in agent.password  # only a hash is stored
    # Shown once: the detail and list pages never show them again.
    for page in ("/accounts/agents/", f"/accounts/agents/{agents[0].pk}/"):
        text = c.get(page).content.decode()
        assert all(pw not in text for pw in passwords.values())


def test_new_agent_must_change_password_at_first_login(ent, as_user):
    r = as_user(ent["admin"]).post("/accounts/agents/add/", add_data("840"))
    pw = new_passwords(r)["840"]
    c = Client()
    r = c.post("/accounts/login/", {"enterprise_code": "acme", "number": "840", "password": pw})
    assert r.status_code == 302
    r = c.get("/")
    assert r.status_code == 302 and r.url == "/accounts/password/"


# --- 2. bad input: the message names the field, nothing changes ------------------------------------


@pytest.mark.parametrize(("start", "end", "field", "text"), [
    ("1000", "2000", "end", "结束坐席号：一次最多添加 1000 个坐席"),
    ("12", "", "start", "开始坐席号：坐席号“12”必须是3到4位数字"),
    ("12345", "", "start", "开始坐席号：坐席号“12345”必须是3到4位数字"),
    ("801", "12345", "end", "结束坐席号：坐席号“12345”必须是3到4位数字"),
    ("8a1", "", "start", "开始坐席号：坐席号“8a1”不是数字"),
    ("801", "8a5", "end", "结束坐席号：坐席号“8a5”不是数字"),
    ("805", "801", "end", "结束坐席号：结束号不能小于开始号"),
    ("801", "1000", "end", "结束坐席号：起止坐席号位数必须相同"),
])
def test_add_bad_numbers_refused(ent, as_user, start, end, field, text):
    before = count()
    r = as_user(ent["admin"]).post("/accounts/agents/add/", add_data(start, end))
    assert r.status_code == 200
    assert text in field_errors(r).get(field, []), field_errors(r)
    assert count() == before


def test_add_range_overlapping_existing_agents_lists_taken_numbers(ent, as_user):
    before = count()
    r = as_user(ent["admin"]).post("/accounts/agents/add/", add_data("805", "815"))
    assert "开始坐席号：以下坐席号已存在：810, 811, 812" in field_errors(r)["start"]
    assert count() == before
    assert not Agent.objects.filter(number__in=["805", "806", "813"]).exists()


def test_add_range_containing_800_refused(ent, as_user):
    before = count()
    r = as_user(ent["admin"]).post("/accounts/agents/add/", add_data("795", "801"))
    assert any("800" in m for m in field_errors(r)["start"])
    assert count() == before


def test_add_second_administrator_refused(ent, as_user):
    before = count()
    r = as_user(ent["admin"]).post("/accounts/agents/add/", add_data("840", agent_type="admin"))
    errors = field_errors(r)
    assert "agent_type" in errors and errors["agent_type"][0].startswith("坐席类型：")
    assert count() == before
    assert Agent.objects.filter(enterprise=ent["enterprise"], agent_type="admin").count() == 1


def test_add_with_another_enterprises_caller_id_refused(ent, other, as_user):
    foreign = CallerId.objects.get(enterprise=other["enterprise"])
    before = count()
    r = as_user(ent["admin"]).post("/accounts/agents/add/", add_data("840", caller_id=foreign.pk))
    assert "caller_id" in field_errors(r)
    assert count() == before


def test_edit_to_administrator_type_refused(ent, as_user):
    agent = ent["agent"]
    r = as_user(ent["admin"]).post(f"/accounts/agents/{agent.pk}/edit/", edit_data(agent, agent_type="admin"))
    assert r.status_code == 200 and "agent_type" in field_errors(r)
    agent.refresh_from_db()
    assert agent.agent_type == "normal"


def test_supervisor_cannot_be_own_subordinate(ent, as_user):
    sup, sub = ent["supervisor"], ent["sub1"]
    r = as_user(ent["admin"]).post(f"/accounts/agents/{sup.pk}/edit/", edit_data(sup, supervisor=sub.pk))
    assert "坐席上级：坐席上级不能是本人或本人的下级" in field_errors(r)["supervisor"]
    sup.refresh_from_db()
    assert sup.supervisor is None


# --- 3. agent 800 ---------------------------------------------------------------------------------


def test_800_cannot_be_deleted(ent, as_user):
    admin = ent["admin"]
    manager = make_manager(ent, ["accounts.view_agent", "accounts.delete_agent", "accounts.change_agent"])
    r = as_user(manager).post(f"/accounts/agents/{admin.pk}/delete/")
    assert r.status_code == 409
    assert "800 是企业管理员，不能删除" in r.content.decode()
    assert Agent.objects.filter(pk=admin.pk).exists()
    # The administrator cannot delete themself either.
    r = as_user(admin).post(f"/accounts/agents/{admin.pk}/delete/")
    assert r.status_code == 409
    assert Agent.objects.filter(pk=admin.pk).exists()


def test_800_cannot_be_disabled_by_disable_view(ent, as_user):
    admin = ent["admin"]
    manager = make_manager(ent, ["accounts.view_agent", "accounts.change_agent"])
    c = as_user(manager)
    r = c.post(f"/accounts/agents/{admin.pk}/disable/", follow=True)
    assert "800 是企业管理员，不能禁用或更改类型" in r.content.decode()
    admin.refresh_from_db()
    assert admin.agent_type == "admin" and admin.is_active
    r = as_user(admin).post(f"/accounts/agents/{admin.pk}/disable/", follow=True)
    assert "不能禁用自己" in r.content.decode()
    admin.refresh_from_db()
    assert admin.agent_type == "admin"


@pytest.mark.parametrize("new_type", ["disabled", "normal", "staff"])
def test_800_type_cannot_be_changed_by_edit_form(ent, as_user, new_type):
    admin = ent["admin"]
    for user in (admin, make_manager(ent, ["accounts.view_agent", "accounts.change_agent"])):
        as_user(user).post(f"/accounts/agents/{admin.pk}/edit/",
                           edit_data(admin, agent_type=new_type, data_scope="own", name="新名字"))
        admin.refresh_from_db()
        assert admin.agent_type == "admin"
        assert admin.data_scope == "all"
        assert Agent.objects.filter(enterprise=ent["enterprise"], agent_type="admin").count() == 1


def test_800_edit_form_shows_type_disabled(ent, as_user):
    admin = ent["admin"]
    body = as_user(admin).get(f"/accounts/agents/{admin.pk}/edit/").content.decode()
    select = re.search(r'<select name="agent_type"[^>]*>', body).group(0)
    assert "disabled" in select


def test_800_type_cannot_be_changed_by_bulk_edit(ent, as_user):
    admin = ent["admin"]
    r = as_user(ent["admin"]).post("/accounts/agents/bulk-edit/", {
        "pk": [admin.pk], "_apply": "1", "agent_type": "staff"})
    assert r.status_code == 200
    assert "800 是企业管理员" in r.content.decode()
    admin.refresh_from_db()
    assert admin.agent_type == "admin"


# --- 4. delete, related data, disable ----------------------------------------------------------------


def test_delete_agent_with_subordinates_refused_and_offers_disable(ent, as_user):
    sup = ent["supervisor"]
    c = as_user(ent["admin"])
    r = c.get(f"/accounts/agents/{sup.pk}/delete/")
    body = r.content.decode()
    assert "坐席 810 有关联数据（下级坐席 2），不能删除，可以改为禁用" in body
    assert f'action="/accounts/agents/{sup.pk}/disable/"' in body
    assert 'id="btn-confirm-delete"' not in body
    r = c.post(f"/accounts/agents/{sup.pk}/delete/")
    assert r.status_code == 409
    assert "下级坐席 2" in r.content.decode()
    assert f'action="/accounts/agents/{sup.pk}/disable/"' in r.content.decode()
    assert Agent.objects.filter(pk=sup.pk).exists()
    # The offered way out works.
    c.post(f"/accounts/agents/{sup.pk}/disable/")
    sup.refresh_from_db()
    assert sup.agent_type == "disabled"


@pytest.fixture
def fake_calls():
    """A related-data counter as a later app (calls) would register it."""
    counts: dict[int, int] = {}
    entry = ("通话记录", lambda agent: counts.get(agent.pk, 0))
    related.register(*entry)
    yield counts
    related._counters.remove(entry)


def test_registered_counter_blocks_delete(ent, as_user, fake_calls):
    agent = ent["agent"]
    fake_calls[agent.pk] = 3
    r = as_user(ent["admin"]).post(f"/accounts/agents/{agent.pk}/delete/")
    assert r.status_code == 409
    assert "坐席 820 有关联数据（通话记录 3），不能删除，可以改为禁用" in r.content.decode()
    assert Agent.objects.filter(pk=agent.pk).exists()


def test_registered_counter_at_zero_does_not_block(ent, as_user, fake_calls):
    agent = ent["agent"]
    r = as_user(ent["admin"]).post(f"/accounts/agents/{agent.pk}/delete/")
    assert r.status_code == 302
    assert not Agent.objects.filter(pk=agent.pk).exists()


def test_delete_agent_without_data(ent, as_user):
    agent = ent["agent"]
    c = as_user(ent["admin"])
    assert 'id="btn-confirm-delete"' in c.get(f"/accounts/agents/{agent.pk}/delete/").content.decode()
    r = c.post(f"/accounts/agents/{agent.pk}/delete/")
    assert r.status_code == 302 and r.url == "/accounts/agents/"
    assert not Agent.objects.filter(pk=agent.pk).exists()
    entry = AuditLog.objects.get(object_type="accounts.agent", object_id=str(agent.pk), action="delete")
    assert entry.actor_id == ent["admin"].pk


def test_delete_needs_post(ent, as_user):
    agent = ent["agent"]
    as_user(ent["admin"]).get(f"/accounts/agents/{agent.pk}/delete/")
    assert Agent.objects.filter(pk=agent.pk).exists()


def test_disabled_agent_cannot_sign_in(ent, as_user):
    agent = ent["agent"]
    as_user(ent["admin"]).post(f"/accounts/agents/{agent.pk}/disable/")
    agent.refresh_from_db()
    assert agent.agent_type == "disabled"
    r = Client().post("/accounts/login/", {"enterprise_code": "acme", "number": "820", "password": PASSWORD})
    assert r.status_code == 401


# --- 5. reset password -------------------------------------------------------------------------------


def test_reset_password(ent, as_user):
    agent = ent["agent"]
    r = as_user(ent["admin"]).post(f"/accounts/agents/{agent.pk}/reset-password/")
    assert r.status_code == 200
    m = re.search(r'id="new-password">([^<]*)<', r.content.decode())
    assert m and re.fullmatch(r"\d{6}", m.group(1))
    new = m.group(1)
    agent.refresh_from_db()
    assert agent.must_change_password

    old = Client()
    r = old.post("/accounts/login/", {"enterprise_code": "acme", "number": "820", "password": PASSWORD})
    assert r.status_code == 401

    c = Client()
    r = c.post("/accounts/login/", {"enterprise_code": "acme", "number": "820", "password": new})
    assert r.status_code == 302
    for path in ("/", "/accounts/loginlogs/"):
        r = c.get(path)
        assert r.status_code == 302 and r.url == "/accounts/password/"
    r = c.post("/accounts/password/", {"old_password": new, "new_password1": "my-own-pass-1",
                                        "new_password2": "my-own-pass-1"})
    assert r.status_code == 302
    assert c.get("/accounts/loginlogs/").status_code == 200
    agent.refresh_from_db()
    assert not agent.must_change_password
    assert agent.check_password("my-own-pass-1")


def test_reset_password_get_does_not_reset(ent, as_user):
    agent = ent["agent"]
    r = as_user(ent["admin"]).get(f"/accounts/agents/{agent.pk}/reset-password/")
    assert r.status_code == 200 and 'id="new-password"' not in r.content.decode()
    agent.refresh_from_db()
    assert agent.check_password(PASSWORD) and not agent.must_change_password


def test_supervisor_resets_subordinate_but_not_others(ent, as_user):
    c = as_user(ent["supervisor"])
    assert c.post(f"/accounts/agents/{ent['sub1'].pk}/reset-password/").status_code == 200
    assert c.post(f"/accounts/agents/{ent['agent'].pk}/reset-password/").status_code == 404
    ent["agent"].refresh_from_db()
    assert ent["agent"].check_password(PASSWORD)


def test_nobody_else_resets_the_administrators_password(ent, as_user):
    # A role with "reset password" and scope "all" must not be a way to take over agent 800.
    admin = ent["admin"]
    manager = make_manager(ent, ["accounts.view_agent", "accounts.reset_password_agent"])
    r = as_user(manager).post(f"/accounts/agents/{admin.pk}/reset-password/", follow=True)
    body = r.content.decode()
    assert "800 是企业管理员，只有管理员本人可以修改其密码" in body
    assert 'id="new-password"' not in body
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD) and not admin.must_change_password
    # The same through the API.
    from callcenter.accounts.api_auth import token_create

    _token, key = token_create(agent=manager, name="t")
    r = Client().post(f"/api/v1/agents/{admin.pk}/reset-password/", HTTP_AUTHORIZATION=f"Token {key}")
    assert r.status_code == 400 and "password" not in r.json()
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)
    # The manager may still reset an ordinary agent's password.
    r = as_user(manager).post(f"/accounts/agents/{ent['agent'].pk}/reset-password/")
    assert 'id="new-password"' in r.content.decode()


def test_supervisor_with_scope_all_cannot_reset_800(ent, as_user):
    # 班长 may change agents in scope, themself included (data scope too); even with scope
    # widened to "all" the administrator's password stays out of reach.
    sup = ent["supervisor"]
    Agent.objects.filter(pk=sup.pk).update(data_scope="all")
    r = as_user(sup).post(f"/accounts/agents/{ent['admin'].pk}/reset-password/")
    assert r.status_code == 302
    ent["admin"].refresh_from_db()
    assert ent["admin"].check_password(PASSWORD)
    # The administrator may reset their own.
    r = as_user(ent["admin"]).post(f"/accounts/agents/{ent['admin'].pk}/reset-password/")
    assert 'id="new-password"' in r.content.decode()


# --- 10. SQL/HTML metacharacters ----------------------------------------------------------------------


def test_agent_name_with_metacharacters_stored_literally_and_escaped(ent, as_user):
    agent = ent["agent"]
    c = as_user(ent["admin"])
    r = c.post(f"/accounts/agents/{agent.pk}/edit/", edit_data(agent, name=PAYLOAD, remark1=PAYLOAD))
    assert r.status_code == 302
    agent.refresh_from_db()
    assert agent.name == PAYLOAD and agent.remark1 == PAYLOAD
    escaped = html.escape(PAYLOAD)  # &lt;script&gt;alert(1)&lt;/script&gt;&#x27; OR 1=1 --
    for page in ("/accounts/agents/", f"/accounts/agents/{agent.pk}/", f"/accounts/agents/{agent.pk}/edit/"):
        body = c.get(page).content.decode()
        assert escaped in body, page
        assert "<script>alert(1)</script>" not in body, page
    # Searching for the SQL fragment finds only that agent, not every row.
    r = c.get("/accounts/agents/", {"q": "' OR 1=1 --"})
    assert row_pks(r) == [agent.pk]
    r = c.get("/accounts/agents/", {"q": "x' OR '1'='1"})
    assert row_pks(r) == []


# --- 16. bulk edit and bulk delete --------------------------------------------------------------------


def test_bulk_edit_moves_agents_to_department(ent, as_user):
    dept = Department.objects.create(enterprise=ent["enterprise"], name="二组")
    movers = [ent["sub1"], ent["sub2"], ent["agent"]]
    r = as_user(ent["admin"]).post("/accounts/agents/bulk-edit/", {
        "pk": [a.pk for a in movers], "_apply": "1", "department": dept.pk})
    assert r.status_code == 302
    assert sorted(Agent.objects.filter(department=dept).values_list("number", flat=True)) == ["811", "812", "820"]
    # Fields left empty are not changed.
    for a in movers:
        a.refresh_from_db()
        assert a.agent_type == "normal" and a.role.name == "坐席"
    assert Agent.objects.get(pk=ent["staff"].pk).department is None


def test_bulk_edit_disabling_800_is_refused(ent, as_user):
    c = as_user(ent["admin"])
    pks = [ent["admin"].pk, ent["agent"].pk, ent["staff"].pk]
    r = c.post("/accounts/agents/bulk-edit/", {"pk": pks, "_apply": "1", "agent_type": "disabled"})
    assert r.status_code == 200
    assert "800: 800 是企业管理员，不能禁用或更改类型" in html.unescape(r.content.decode())
    assert set(Agent.objects.filter(pk__in=pks).values_list("agent_type", flat=True)) == {"admin", "normal", "staff"}


def test_bulk_edit_cannot_touch_other_enterprise(ent, other, as_user):
    dept = Department.objects.create(enterprise=ent["enterprise"], name="二组")
    theirs = other["agent"]
    as_user(ent["admin"]).post("/accounts/agents/bulk-edit/", {
        "pk": [theirs.pk, ent["agent"].pk], "_apply": "1", "department": dept.pk})
    theirs.refresh_from_db()
    assert theirs.department is None
    assert Agent.objects.get(pk=ent["agent"].pk).department == dept


def test_bulk_delete_skips_800_and_agents_with_data(ent, as_user):
    manager = make_manager(ent, ["accounts.view_agent", "accounts.delete_agent"])
    pks = [ent["admin"].pk, ent["supervisor"].pk, ent["agent"].pk, ent["staff"].pk]
    c = as_user(manager)
    preview = c.post("/accounts/agents/bulk-delete/", {"pk": pks}).content.decode()
    assert "800 是企业管理员，不能删除" in preview
    assert "下级坐席 2" in preview
    assert Agent.objects.filter(pk__in=pks).count() == 4  # the preview deletes nothing
    r = c.post("/accounts/agents/bulk-delete/", {"pk": pks, "_confirm": "1"}, follow=True)
    body = r.content.decode()
    assert "已删除 2 条" in body and "2 条不能删除，已跳过" in body
    assert sorted(Agent.objects.filter(pk__in=pks).values_list("number", flat=True)) == ["800", "810"]


# --- 17. audit ---------------------------------------------------------------------------------------


def test_edit_writes_audit_row_with_diff(ent, as_user):
    agent = ent["agent"]
    admin = ent["admin"]
    r = as_user(admin).post(f"/accounts/agents/{agent.pk}/edit/", edit_data(agent, name="李四", lock_days="7"),
                            REMOTE_ADDR="10.1.2.3")
    assert r.status_code == 302
    entry = AuditLog.objects.filter(object_type="accounts.agent", object_id=str(agent.pk),
                                    action="update").get()
    assert entry.channel == "ui"
    assert entry.actor_id == admin.pk and entry.actor_label == str(admin)
    assert entry.ip == "10.1.2.3"
    assert entry.enterprise_id == ent["enterprise"].pk
    assert entry.changes == {"name": ["坐席820", "李四"], "lock_days": [0, 7]}


def test_edit_without_changes_writes_no_audit_row(ent, as_user):
    agent = ent["agent"]
    as_user(ent["admin"]).post(f"/accounts/agents/{agent.pk}/edit/", edit_data(agent))
    assert not AuditLog.objects.filter(object_type="accounts.agent", action="update").exists()


def test_third_party_password_kept_when_blank_and_masked_in_audit(ent, as_user):
    agent = ent["agent"]
    c = as_user(ent["admin"])
    c.post(f"/accounts/agents/{agent.pk}/edit/", edit_data(agent, third_party_password="tp-secret"))
    agent.refresh_from_db()
    assert agent.third_party_password == "tp-secret"
    c.post(f"/accounts/agents/{agent.pk}/edit/", edit_data(agent, name="改名"))
    agent.refresh_from_db()
    assert agent.third_party_password == "tp-secret"
    for entry in AuditLog.objects.filter(object_type="accounts.agent"):
        assert "tp-secret" not in str(entry.changes)


# --- 14. query counts ----------------------------------------------------------------------------------


def list_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path)
    assert r.status_code == 200
    return len(ctx.captured_queries)


def test_agent_list_query_count_does_not_grow(ent, as_user, django_assert_max_num_queries):
    e = ent["enterprise"]
    dept = Department.objects.create(enterprise=e, name="一组")
    role = Role.objects.get(enterprise=e, name="坐席")
    extra = dict(department=dept, supervisor=ent["supervisor"], role=role)
    bulk_agents(ent, [str(n) for n in range(100, 110)], **extra)
    c = as_user(ent["admin"])
    c.get("/accounts/agents/")  # warm caches (content types, sessions)
    few = list_queries(c, "/accounts/agents/")
    bulk_agents(ent, [str(n) for n in range(110, 160)], **extra)
    many = list_queries(c, "/accounts/agents/")
    assert Agent.objects.filter(enterprise=e).count() >= 60
    assert few == many
    with django_assert_max_num_queries(15):
        assert len(row_pks(c.get("/accounts/agents/"))) == 50


def test_login_log_list_query_count_does_not_grow(ent, as_user, django_assert_max_num_queries):
    from callcenter.accounts.models import LoginLog

    e = ent["enterprise"]
    people = [ent[k] for k in ("admin", "supervisor", "sub1", "sub2", "agent", "staff")]

    def add_logs(n):
        LoginLog.objects.bulk_create([
            LoginLog(enterprise=e, agent=people[i % len(people)], number=people[i % len(people)].number,
                     ip="10.0.0.1", result="success") for i in range(n)])

    add_logs(10)
    c = as_user(ent["admin"])
    c.get("/accounts/loginlogs/")
    few = list_queries(c, "/accounts/loginlogs/")
    add_logs(50)
    many = list_queries(c, "/accounts/loginlogs/")
    assert few == many
    with django_assert_max_num_queries(15):
        assert c.get("/accounts/loginlogs/").status_code == 200


# --- 15. keyset pagination -------------------------------------------------------------------------------


def follow_pages(client, first_url) -> list[list[int]]:
    pages, url = [], first_url
    while True:
        r = client.get(url)
        pages.append(row_pks(r))
        nxt = link(r, "page-next")
        if nxt == "#":  # no next page
            return pages
        url = "/accounts/agents/" + nxt
        assert len(pages) < 10


def test_keyset_pagination_next_last_and_reverse_sort(ent, as_user):
    e = ent["enterprise"]
    bulk_agents(ent, [str(n) for n in range(100, 220)])  # 120 agents, 3 digits: text order = number order
    numbers = dict(Agent.objects.filter(enterprise=e).values_list("pk", "number"))
    expected = sorted(numbers, key=lambda pk: numbers[pk])
    assert len(expected) == 126
    c = as_user(ent["admin"])

    pages = follow_pages(c, "/accounts/agents/")
    assert [len(p) for p in pages] == [50, 50, 26]
    flat = [pk for p in pages for pk in p]
    assert len(set(flat)) == len(flat)  # no overlap
    assert flat == expected  # every row, in number order

    # page 3 reached by following "next" twice
    r1 = c.get("/accounts/agents/")
    r2 = c.get("/accounts/agents/" + link(r1, "page-next"))
    r3 = c.get("/accounts/agents/" + link(r2, "page-next"))
    assert row_pks(r3) == expected[100:]
    assert "after=" in link(r2, "page-next") and "offset" not in link(r2, "page-next")

    # "last" holds the final full page
    last = c.get("/accounts/agents/" + link(r1, "page-last"))
    assert row_pks(last) == expected[-50:]

    # ?sort=-number reverses the order across pages
    desc = follow_pages(c, "/accounts/agents/?sort=-number")
    assert [pk for p in desc for pk in p] == list(reversed(expected))
    assert [len(p) for p in desc] == [50, 50, 26]


def test_pagination_keeps_filters(ent, as_user):
    bulk_agents(ent, [str(n) for n in range(100, 220)])
    c = as_user(ent["admin"])
    r = c.get("/accounts/agents/", {"q": "批量1"})  # names 批量100..批量199
    nxt = link(r, "page-next")
    assert "q=" in nxt
    r2 = c.get("/accounts/agents/" + nxt)
    numbers = set(Agent.objects.filter(pk__in=row_pks(r) + row_pks(r2)).values_list("number", flat=True))
    assert numbers == {str(n) for n in range(100, 200)}


def test_bad_cursor_falls_back_to_first_page(ent, as_user):
    c = as_user(ent["admin"])
    first = row_pks(c.get("/accounts/agents/"))
    assert row_pks(c.get("/accounts/agents/", {"after": "!!garbage!!"})) == first


def test_number_range_filter_compares_numbers_not_text(ent, as_user):
    from tests.conftest import make_agent

    make_agent(ent["enterprise"], "1000")
    make_agent(ent["enterprise"], "0999")
    html = as_user(ent["admin"]).get("/accounts/agents/?number_from=900&number_to=999&per_page=100").content.decode()
    cells = re.findall(r"<td><span class=\"cell\"[^>]*>(\d{3,4})</span></td>", html)
    assert "1000" not in cells and "0999" not in cells
    html = as_user(ent["admin"]).get("/accounts/agents/?number_from=1000").content.decode()
    assert re.findall(r"<td><span class=\"cell\"[^>]*>(\d{3,4})</span></td>", html)[:1] == ["1000"]


def test_agent_type_is_shown_as_a_coloured_badge(ent, as_user):
    html = as_user(ent["admin"]).get("/accounts/agents/").content.decode()
    assert '<span class="badge text-bg-danger">企业管理员</span>' in html
    assert '<span class="badge text-bg-info">普通员工</span>' in html


# --- 外呼外线: one of the enterprise's trunks ----------------------------------------------------------


@pytest.fixture
def trunks(ent, other):
    from callcenter.telephony.models import Trunk

    own = Trunk.objects.create(enterprise=ent["enterprise"], account="acme-t1", number="02088880002",
                               concurrent_lines=10)
    foreign = Trunk.objects.create(enterprise=other["enterprise"], account="beta-t1", number="02199990001",
                                   concurrent_lines=10)
    return {"own": own, "foreign": foreign}


def test_outbound_trunk_is_chosen_from_the_enterprises_trunks(ent, trunks, as_user):
    agent, c = ent["agent"], as_user(ent["admin"])
    page = c.get(f"/accounts/agents/{agent.pk}/edit/").content.decode()
    assert 'value="02088880002"' in page and "02199990001" not in page  # a select of this enterprise's trunks
    r = c.post(f"/accounts/agents/{agent.pk}/edit/", edit_data(agent, outbound_trunk="02088880002"))
    assert r.status_code == 302
    agent.refresh_from_db()
    assert agent.outbound_trunk == "02088880002"


@pytest.mark.parametrize("value", ["02199990001", "beta-t1", "no-such-trunk"])
def test_outbound_trunk_of_another_enterprise_or_unknown_is_refused(ent, trunks, as_user, value):
    from callcenter.accounts.api_auth import token_create

    agent, c = ent["agent"], as_user(ent["admin"])
    r = c.post(f"/accounts/agents/{agent.pk}/edit/", edit_data(agent, outbound_trunk=value))
    assert r.status_code == 200 and "outbound_trunk" in field_errors(r)
    before = count()
    r = c.post("/accounts/agents/add/", add_data("840", outbound_trunk=value))
    assert r.status_code == 200 and "outbound_trunk" in field_errors(r) and count() == before
    _token, key = token_create(agent=ent["admin"], name="t")
    r = Client().patch(f"/api/v1/agents/{agent.pk}/", {"outbound_trunk": value}, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Token {key}")
    assert r.status_code == 400 and "outbound_trunk" in r.json()
    agent.refresh_from_db()
    assert agent.outbound_trunk == ""


def test_outbound_trunk_by_account_is_accepted_through_the_api(ent, trunks):
    from callcenter.accounts.api_auth import token_create

    _token, key = token_create(agent=ent["admin"], name="t")
    r = Client().patch(f"/api/v1/agents/{ent['agent'].pk}/", {"outbound_trunk": "acme-t1"},
                       content_type="application/json", HTTP_AUTHORIZATION=f"Token {key}")
    assert r.status_code == 200, r.content
    ent["agent"].refresh_from_db()
    assert ent["agent"].outbound_trunk == "acme-t1"
