"""REST API under /api/v1/: authentication, tenancy and data scope, filters, keyset
pagination, the service rules behind each write, and the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from callcenter.accounts import services
from callcenter.accounts.api_auth import token_create
from callcenter.accounts.models import Agent, ApiToken, CallerId, Department, LoginLog, Role
from callcenter.core.models import AuditLog, Enterprise
from tests.conftest import make_agent

API = "/api/v1"


def token_client(agent) -> Client:
    _token, key = token_create(agent=agent, name="test")
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


@pytest.fixture
def api():
    """`api(agent)` -> a client authenticated by an API token of that agent."""
    return token_client


def collect(client, url, params=None) -> list[dict]:
    """Every row of a list, following `next` links; fails on a repeated row."""
    rows, seen = [], set()
    r = client.get(url, params or {})
    for _page in range(1000):
        assert r.status_code == 200, r.content
        body = r.json()
        for row in body["results"]:
            assert row["id"] not in seen, f"row {row['id']} on two pages"
            seen.add(row["id"])
            rows.append(row)
        if not body["next"]:
            return rows
        r = client.get(body["next"])
    raise AssertionError("pagination does not end")


def numbers(rows) -> list[str]:
    return [row["number"] for row in rows]


# --- authentication -------------------------------------------------------------------------------


def test_token_authentication(ent, api):
    client = api(ent["admin"])
    r = client.get(f"{API}/agents/")
    assert r.status_code == 200
    assert numbers(r.json()["results"]) == ["800", "810", "811", "812", "820", "830"]
    token = ApiToken.objects.get(agent=ent["admin"])
    assert token.last_used_at is not None
    assert len(token.key_hash) == 64 and token.prefix and token.prefix not in token.key_hash


def test_session_authentication(ent, as_user):
    r = as_user(ent["admin"]).get(f"{API}/agents/")
    assert r.status_code == 200
    assert len(r.json()["results"]) == 6


def test_session_write_needs_csrf(ent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ent["admin"], backend="callcenter.accounts.backends.AgentBackend")
    r = client.patch(f"{API}/agents/{ent['sub1'].pk}/", {"name": "x"}, content_type="application/json")
    assert r.status_code == 403
    assert Agent.objects.get(pk=ent["sub1"].pk).name == "坐席811"


@pytest.mark.parametrize("path", ["agents/", "departments/", "caller-ids/", "roles/", "login-logs/", "enterprise/"])
def test_no_authentication_is_refused(ent, client, path):
    r = client.get(f"{API}/{path}")
    assert r.status_code in (401, 403)
    assert "results" not in r.json()


@pytest.mark.parametrize("header", ["Token not-a-real-key", "Token ", "Bearer abc"])
def test_bad_credentials_are_refused(ent, header):
    r = Client(HTTP_AUTHORIZATION=header).get(f"{API}/agents/")
    assert r.status_code in (401, 403)


def test_disabled_agents_token_is_refused(ent, api):
    client = api(ent["supervisor"])
    assert client.get(f"{API}/agents/").status_code == 200
    services.agent_disable(agent=ent["supervisor"])
    assert client.get(f"{API}/agents/").status_code == 401


def test_sso_link(ent, api, client):
    r = api(ent["agent"]).post(f"{API}/sso-links/")
    assert r.status_code == 201
    assert "/accounts/sso/" in r.json()["url"] and r.json()["expires_in"] == 60
    assert client.post(f"{API}/sso-links/").status_code in (401, 403)


# --- lists: tenancy, scope, filters ------------------------------------------------------------------


def test_lists_are_confined_to_the_enterprise(ent, other, api):
    Department.objects.create(enterprise=other["enterprise"], name="外企部")
    mine = Department.objects.create(enterprise=ent["enterprise"], name="销售部")
    client = api(ent["admin"])
    assert [d["id"] for d in client.get(f"{API}/departments/").json()["results"]] == [mine.pk]
    assert numbers(client.get(f"{API}/caller-ids/").json()["results"]) == list(
        CallerId.objects.filter(enterprise=ent["enterprise"]).values_list("number", flat=True))
    roles = client.get(f"{API}/roles/").json()["results"]
    assert sorted(r["name"] for r in roles) == ["坐席", "普通员工", "班长"]
    assert {r["id"] for r in roles} == set(
        Role.objects.filter(enterprise=ent["enterprise"]).values_list("pk", flat=True))
    assert "801" not in numbers(client.get(f"{API}/agents/").json()["results"])


def test_supervisor_sees_own_subtree(ent, api):
    make_agent(ent["enterprise"], "813", supervisor=ent["sub2"])
    client = api(ent["supervisor"])
    assert numbers(collect(client, f"{API}/agents/")) == ["810", "811", "812", "813"]
    assert client.get(f"{API}/agents/{ent['agent'].pk}/").status_code == 404


def test_agent_role_without_view_permission_gets_403(ent, api):
    client = api(ent["agent"])
    assert client.get(f"{API}/agents/").status_code == 403
    assert client.get(f"{API}/departments/").status_code == 403
    assert client.get(f"{API}/agents/{ent['agent'].pk}/").status_code == 403


def test_login_logs_are_scoped(ent, other, api):
    for agent in (ent["admin"], ent["sub1"], ent["agent"], other["agent"]):
        LoginLog.objects.create(enterprise=agent.enterprise, agent=agent, number=agent.number, result="success")
    assert sorted(numbers(api(ent["admin"]).get(f"{API}/login-logs/").json()["results"])) == ["800", "811", "820"]
    assert numbers(api(ent["agent"]).get(f"{API}/login-logs/").json()["results"]) == ["820"]
    assert numbers(api(ent["supervisor"]).get(f"{API}/login-logs/").json()["results"]) == ["811"]
    r = api(ent["agent"]).post(f"{API}/login-logs/", {"number": "x"}, content_type="application/json")
    assert r.status_code == 405


@pytest.mark.parametrize(("query", "expected"), [
    ({"agent_type": "staff"}, ["830"]),
    ({"q": "81"}, ["810", "811", "812"]),
    ({"q": "坐席820"}, ["820"]),
    ({"number_from": "811", "number_to": "820"}, ["811", "812", "820"]),
])
def test_list_filters_are_those_of_the_ui(ent, api, query, expected):
    assert numbers(api(ent["admin"]).get(f"{API}/agents/", query).json()["results"]) == expected


def test_filter_by_related_row(ent, other, api):
    client = api(ent["admin"])
    assert numbers(client.get(f"{API}/agents/", {"supervisor": ent["supervisor"].pk}).json()["results"]) == [
        "811", "812"]
    theirs = Department.objects.create(enterprise=other["enterprise"], name="外企部")
    r = client.get(f"{API}/agents/", {"department": theirs.pk})
    assert r.status_code == 400 or r.json()["results"] == []


def test_keyset_pagination_covers_every_row_once(ent, api):
    services.agents_create_range(enterprise=ent["enterprise"], start="900", end="936")
    client = api(ent["admin"])
    rows = collect(client, f"{API}/agents/", {"page_size": 7})
    expected = sorted(Agent.objects.filter(enterprise=ent["enterprise"]).values_list("number", flat=True))
    assert numbers(rows) == expected and len(rows) == 43
    first = client.get(f"{API}/agents/", {"page_size": 7}).json()
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert "page_size=7" in first["next"]
    back = client.get(second["previous"]).json()
    assert [r["id"] for r in back["results"]] == [r["id"] for r in first["results"]]


def test_keyset_pagination_with_filters_and_ties(ent, api):
    """Departments sort by name; equal names are ordered by id across page edges."""
    e = ent["enterprise"]
    parents = [Department.objects.create(enterprise=e, name=f"部{i}") for i in range(5)]
    for p in parents:
        Department.objects.create(enterprise=e, name="一组", parent=p)
    rows = collect(api(ent["admin"]), f"{API}/departments/", {"page_size": 2})
    assert len(rows) == 10
    ones = [r for r in rows if r["name"] == "一组"]
    assert len(ones) == 5 and [r["id"] for r in ones] == sorted(r["id"] for r in ones)
    filtered = collect(api(ent["admin"]), f"{API}/departments/", {"page_size": 2, "q": "一组"})
    assert [r["id"] for r in filtered] == [r["id"] for r in ones]


def test_login_log_pagination_newest_first_with_equal_times(ent, api):
    logs = [LoginLog.objects.create(enterprise=ent["enterprise"], agent=ent["admin"], number="800", result="success")
            for _ in range(9)]
    now = timezone.now()
    LoginLog.objects.filter(pk__in=[x.pk for x in logs[:5]]).update(at=now)
    LoginLog.objects.filter(pk__in=[x.pk for x in logs[5:]]).update(at=now - timedelta(minutes=1))
    rows = collect(api(ent["admin"]), f"{API}/login-logs/", {"page_size": 2})
    assert [r["id"] for r in rows] == [x.pk for x in reversed(logs[:5])] + [x.pk for x in reversed(logs[5:])]


def test_bad_cursor_starts_from_the_first_page(ent, api):
    r = api(ent["admin"]).get(f"{API}/agents/", {"after": "garbage", "page_size": 2})
    assert r.status_code == 200 and numbers(r.json()["results"]) == ["800", "810"]


# --- agents: create, update, delete ----------------------------------------------------------------------


def test_create_a_range_returns_passwords(ent, api):
    r = api(ent["admin"]).post(f"{API}/agents/", {"start": "900", "end": "904", "name": "新"},
                               content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert numbers(body["agents"]) == ["900", "901", "902", "903", "904"]
    assert [a["name"] for a in body["agents"]] == ["新900", "新901", "新902", "新903", "新904"]
    assert sorted(body["passwords"]) == ["900", "901", "902", "903", "904"]
    assert all(len(p) == 6 and p.isdigit() for p in body["passwords"].values())
    created = Agent.objects.filter(enterprise=ent["enterprise"], number__in=body["passwords"])
    assert created.count() == 5 and all(a.must_change_password for a in created)
    a900 = created.get(number="900")
    assert a900.check_password(body["passwords"]["900"])
    assert a900.username == "acme:900"


def test_create_one_with_a_shared_password(ent, api):
    r = api(ent["admin"]).post(f"{API}/agents/", {"start": "0950", "password": "abcdef"},
                               content_type="application/json")
    assert r.status_code == 201
    assert r.json()["passwords"] == {}
    assert Agent.objects.get(enterprise=ent["enterprise"], number="0950").check_password("abcdef")


@pytest.mark.parametrize(("payload", "field"), [
    ({"start": "905", "end": "900"}, "end"),
    ({"start": "90a", "end": "905"}, "start"),
    ({"start": "12", "end": "15"}, "start"),
    ({"start": "900", "end": "12345"}, "end"),
    ({"start": "900", "end": "1000"}, "end"),
    ({"start": "900", "end": "911"}, "end"),           # above MAX_AGENT_RANGE (set to 10)
    ({"start": "809", "end": "812"}, "start"),         # 810-812 exist
    ({"start": "799", "end": "801"}, "start"),         # 800 is the administrator
    ({"end": "905"}, "start"),
    ({"start": "900", "password": "123"}, "password"),
])
def test_bad_range_is_refused_naming_the_field(ent, api, settings, payload, field):
    settings.CALLCENTER = {**settings.CALLCENTER, "MAX_AGENT_RANGE": 10}
    before = Agent.objects.count()
    audits = AuditLog.objects.count()
    r = api(ent["admin"]).post(f"{API}/agents/", payload, content_type="application/json")
    assert r.status_code == 400
    assert r["Content-Type"].startswith("application/json")
    assert field in r.json() and r.json()[field], r.json()
    assert Agent.objects.count() == before
    assert AuditLog.objects.count() == audits


def test_agent_role_cannot_create(ent, api):
    r = api(ent["agent"]).post(f"{API}/agents/", {"start": "900"}, content_type="application/json")
    assert r.status_code == 403
    assert not Agent.objects.filter(number="900").exists()


def test_patch_agent(ent, api):
    dept = Department.objects.create(enterprise=ent["enterprise"], name="销售部")
    r = api(ent["admin"]).patch(f"{API}/agents/{ent['sub1'].pk}/", {"name": "改名", "department": dept.pk,
                                                                   "number": "999"},
                                content_type="application/json")
    assert r.status_code == 200, r.content
    a = Agent.objects.get(pk=ent["sub1"].pk)
    assert (a.name, a.department_id, a.number) == ("改名", dept.pk, "811")  # the number is not changed


def test_admin_800_cannot_be_disabled_or_deleted(ent, api):
    client = api(ent["admin"])
    admin = ent["admin"]
    r = client.patch(f"{API}/agents/{admin.pk}/", {"agent_type": "disabled"}, content_type="application/json")
    assert r.status_code == 400 and "agent_type" in r.json()
    r = client.delete(f"{API}/agents/{admin.pk}/")
    assert r.status_code == 400
    assert Agent.objects.get(pk=admin.pk).agent_type == "admin"
    # nor by anyone else allowed to change and delete agents
    from django.contrib.auth.models import Permission

    ent["supervisor"].data_scope = "all"
    ent["supervisor"].save()
    ent["supervisor"].role.permissions.add(Permission.objects.get(codename="delete_agent"))
    other_admin = api(ent["supervisor"])
    r = other_admin.patch(f"{API}/agents/{admin.pk}/", {"agent_type": "disabled"}, content_type="application/json")
    assert r.status_code == 400 and "agent_type" in r.json()
    r = other_admin.delete(f"{API}/agents/{admin.pk}/")
    assert r.status_code == 400 and "800" in str(r.json())
    assert Agent.objects.get(pk=admin.pk).agent_type == "admin"


def test_no_second_administrator(ent, api):
    r = api(ent["admin"]).patch(f"{API}/agents/{ent['agent'].pk}/", {"agent_type": "admin"},
                                content_type="application/json")
    assert r.status_code == 400 and "agent_type" in r.json()
    assert Agent.objects.get(pk=ent["agent"].pk).agent_type == "normal"


def test_supervisor_cycle_is_refused(ent, api):
    r = api(ent["admin"]).patch(f"{API}/agents/{ent['supervisor'].pk}/", {"supervisor": ent["sub1"].pk},
                                content_type="application/json")
    assert r.status_code == 400 and "supervisor" in r.json()
    assert Agent.objects.get(pk=ent["supervisor"].pk).supervisor_id is None


def test_related_rows_of_another_enterprise_are_refused(ent, other, api):
    theirs = CallerId.objects.filter(enterprise=other["enterprise"]).first()
    dept = Department.objects.create(enterprise=other["enterprise"], name="外企部")
    client = api(ent["admin"])
    url = f"{API}/agents/{ent['sub1'].pk}/"
    for field, value in (("caller_id", theirs.pk), ("department", dept.pk), ("supervisor", other["agent"].pk),
                         ("role", Role.objects.filter(enterprise=other["enterprise"]).first().pk)):
        r = client.patch(url, {field: value}, content_type="application/json")
        assert r.status_code == 400 and field in r.json(), field
    a = Agent.objects.get(pk=ent["sub1"].pk)
    assert a.department_id is None and a.supervisor_id == ent["supervisor"].pk
    assert a.caller_id.enterprise_id == ent["enterprise"].pk and a.role.enterprise_id == ent["enterprise"].pk


def test_delete_agent(ent, api):
    client = api(ent["admin"])
    assert client.delete(f"{API}/agents/{ent['supervisor'].pk}/").status_code == 400  # has subordinates
    assert client.delete(f"{API}/agents/{ent['agent'].pk}/").status_code == 204
    assert not Agent.objects.filter(pk=ent["agent"].pk).exists()
    assert Agent.objects.filter(pk=ent["supervisor"].pk).exists()


def test_reset_password(ent, api):
    r = api(ent["admin"]).post(f"{API}/agents/{ent['sub1'].pk}/reset-password/")
    assert r.status_code == 200
    a = Agent.objects.get(pk=ent["sub1"].pk)
    assert a.check_password(r.json()["password"]) and a.must_change_password
    assert api(ent["agent"]).post(f"{API}/agents/{ent['sub1'].pk}/reset-password/").status_code == 403


# --- other enterprise's objects, permissions ---------------------------------------------------------------


def test_another_enterprises_objects_are_404(ent, other, api):
    dept = Department.objects.create(enterprise=other["enterprise"], name="外企部")
    caller_id = CallerId.objects.filter(enterprise=other["enterprise"]).first()
    role = Role.objects.filter(enterprise=other["enterprise"]).first()
    log = LoginLog.objects.create(enterprise=other["enterprise"], agent=other["agent"], number="801",
                                  result="success")
    client = api(ent["admin"])
    for path, pk in (("agents", other["agent"].pk), ("departments", dept.pk), ("caller-ids", caller_id.pk),
                     ("roles", role.pk)):
        url = f"{API}/{path}/{pk}/"
        assert client.get(url).status_code == 404, url
        patched = client.patch(url, {"name": "x"}, content_type="application/json").status_code
        assert patched == (405 if path == "caller-ids" else 404), url  # caller IDs are never edited
        assert client.delete(url).status_code == 404, url
    assert client.get(f"{API}/login-logs/{log.pk}/").status_code == 404
    assert client.post(f"{API}/caller-ids/{caller_id.pk}/set-default/").status_code == 404
    assert client.post(f"{API}/agents/{other['agent'].pk}/reset-password/").status_code == 404
    assert Agent.objects.get(pk=other["agent"].pk).name == "坐席801"
    assert Department.objects.filter(pk=dept.pk).exists() and CallerId.objects.filter(pk=caller_id.pk).exists()
    assert Role.objects.filter(pk=role.pk).exists()


def test_agent_without_change_permission_cannot_patch(ent, api):
    for who in ("agent", "staff"):
        agent = ent[who]
        r = api(agent).patch(f"{API}/agents/{agent.pk}/", {"name": "自己改"}, content_type="application/json")
        assert r.status_code == 403
        assert Agent.objects.get(pk=agent.pk).name == f"坐席{agent.number}"


def test_supervisor_changes_only_own_subtree(ent, api):
    client = api(ent["supervisor"])
    assert client.patch(f"{API}/agents/{ent['sub1'].pk}/", {"name": "下级"},
                        content_type="application/json").status_code == 200
    assert client.patch(f"{API}/agents/{ent['agent'].pk}/", {"name": "别组"},
                        content_type="application/json").status_code == 404
    assert client.delete(f"{API}/agents/{ent['sub2'].pk}/").status_code == 403  # no delete permission
    assert Agent.objects.get(pk=ent["sub1"].pk).name == "下级"
    assert Agent.objects.get(pk=ent["agent"].pk).name == "坐席820"


# --- caller IDs ------------------------------------------------------------------------------------


def test_add_caller_ids(ent, api):
    r = api(ent["admin"]).post(f"{API}/caller-ids/", {"number": "02000000001", "end": "02000000003"},
                               content_type="application/json")
    assert r.status_code == 201, r.content
    assert numbers(r.json()) == ["02000000001", "02000000002", "02000000003"]
    assert CallerId.objects.filter(enterprise=ent["enterprise"]).count() == 4


@pytest.mark.parametrize(("payload", "field"), [
    ({"number": "02000000001", "end": "02000000010"}, "end"),   # 1 + 10 > 2 x 5 lines
    ({"number": "02000000009", "end": "02000000001"}, "end"),
    ({"number": "abc"}, "number"),
])
def test_bad_caller_ids_are_refused_naming_the_field(ent, api, payload, field):
    r = api(ent["admin"]).post(f"{API}/caller-ids/", payload, content_type="application/json")
    assert r.status_code == 400
    assert field in r.json(), r.json()
    assert CallerId.objects.filter(enterprise=ent["enterprise"]).count() == 1


def test_single_caller_id_over_the_cap_names_the_number_field(ent, api):
    services.caller_ids_add(enterprise=ent["enterprise"], start="02000000001", end="02000000009")
    assert CallerId.objects.filter(enterprise=ent["enterprise"]).count() == 10
    r = api(ent["admin"]).post(f"{API}/caller-ids/", {"number": "02100000000"}, content_type="application/json")
    assert r.status_code == 400
    assert "number" in r.json() and "最多 10 个" in r.json()["number"][0], r.json()
    assert CallerId.objects.filter(enterprise=ent["enterprise"]).count() == 10


def test_duplicate_caller_id_is_refused(ent, api):
    existing = CallerId.objects.get(enterprise=ent["enterprise"])
    r = api(ent["admin"]).post(f"{API}/caller-ids/", {"number": existing.number}, content_type="application/json")
    assert r.status_code == 400 and "number" in r.json()


def test_last_caller_id_cannot_be_deleted(ent, api):
    only = CallerId.objects.get(enterprise=ent["enterprise"])
    r = api(ent["admin"]).delete(f"{API}/caller-ids/{only.pk}/")
    assert r.status_code == 400
    assert "至少要保留一个外显号码" in str(r.json())
    assert CallerId.objects.filter(pk=only.pk).exists()


def test_caller_id_in_use_cannot_be_deleted_unused_can(ent, api):
    used = CallerId.objects.get(enterprise=ent["enterprise"])
    spare = services.caller_ids_add(enterprise=ent["enterprise"], start="02000000001")[0]
    client = api(ent["admin"])
    r = client.delete(f"{API}/caller-ids/{used.pk}/")
    assert r.status_code == 400 and "800" in str(r.json())
    assert client.delete(f"{API}/caller-ids/{spare.pk}/").status_code == 204
    assert not CallerId.objects.filter(pk=spare.pk).exists()


def test_caller_ids_cannot_be_edited(ent, api):
    cid = CallerId.objects.get(enterprise=ent["enterprise"])
    r = api(ent["admin"]).patch(f"{API}/caller-ids/{cid.pk}/", {"number": "123456"}, content_type="application/json")
    assert r.status_code == 405


def test_set_default_caller_id(ent, other, api):
    new = services.caller_ids_add(enterprise=ent["enterprise"], start="02000000001")[0]
    theirs_before = Agent.objects.get(pk=other["agent"].pk).caller_id_id
    r = api(ent["admin"]).post(f"{API}/caller-ids/{new.pk}/set-default/")
    assert r.status_code == 200
    assert r.json() == {"agents": 6}
    assert set(Agent.objects.filter(enterprise=ent["enterprise"]).values_list("caller_id", flat=True)) == {new.pk}
    assert Agent.objects.get(pk=other["agent"].pk).caller_id_id == theirs_before
    assert api(ent["admin"]).post(f"{API}/caller-ids/{new.pk}/set-default/").json() == {"agents": 0}


def test_set_default_needs_change_permission(ent, api):
    new = services.caller_ids_add(enterprise=ent["enterprise"], start="02000000001")[0]
    for who in ("supervisor", "agent"):
        assert api(ent[who]).post(f"{API}/caller-ids/{new.pk}/set-default/").status_code == 403
    assert not Agent.objects.filter(caller_id=new).exists()


# --- departments and roles ---------------------------------------------------------------------------


def test_department_rules(ent, api):
    client = api(ent["admin"])
    r = client.post(f"{API}/departments/", {"name": "销售部"}, content_type="application/json")
    assert r.status_code == 201
    sales = Department.objects.get(pk=r.json()["id"])
    assert sales.enterprise_id == ent["enterprise"].pk
    r = client.post(f"{API}/departments/", {"name": "一组", "parent": sales.pk}, content_type="application/json")
    group = Department.objects.get(pk=r.json()["id"])
    r = client.patch(f"{API}/departments/{sales.pk}/", {"parent": group.pk}, content_type="application/json")
    assert r.status_code == 400 and "parent" in r.json()
    Agent.objects.filter(pk=ent["sub1"].pk).update(department=group)
    r = client.delete(f"{API}/departments/{group.pk}/")
    assert r.status_code == 400 and "811" in str(r.json())
    assert client.delete(f"{API}/departments/{sales.pk}/").status_code == 400  # has a child
    assert Department.objects.filter(enterprise=ent["enterprise"]).count() == 2


@pytest.mark.parametrize("parent", [False, True])
def test_duplicate_department_name_is_refused(ent, api, parent):
    """Same rule as the UI form: no two departments of the same name under one parent."""
    top = Department.objects.create(enterprise=ent["enterprise"], name="销售部")
    payload = {"name": "一组", "parent": top.pk} if parent else {"name": "销售部"}
    if parent:
        Department.objects.create(enterprise=ent["enterprise"], name="一组", parent=top)
    before = Department.objects.count()
    r = api(ent["admin"]).post(f"{API}/departments/", payload, content_type="application/json")
    assert r.status_code == 400 and "name" in r.json(), r.content
    assert Department.objects.count() == before


def test_roles(ent, api):
    client = api(ent["admin"])
    r = client.post(f"{API}/roles/", {"name": "质检", "permissions": ["accounts.view_agent", "accounts.export_agent"]},
                    content_type="application/json")
    assert r.status_code == 201, r.content
    assert sorted(r.json()["permissions"]) == ["accounts.export_agent", "accounts.view_agent"]
    role = Role.objects.get(pk=r.json()["id"])
    assert role.enterprise_id == ent["enterprise"].pk
    assert sorted(role.permissions.values_list("codename", flat=True)) == ["export_agent", "view_agent"]
    r = client.post(f"{API}/roles/", {"name": "坐席"}, content_type="application/json")
    assert r.status_code == 400 and "name" in r.json()
    used = Role.objects.get(enterprise=ent["enterprise"], name="坐席")
    assert client.delete(f"{API}/roles/{used.pk}/").status_code == 400
    assert client.delete(f"{API}/roles/{role.pk}/").status_code == 204


def test_role_cannot_hold_platform_permissions(ent, api):
    r = api(ent["admin"]).post(f"{API}/roles/", {"name": "越权", "permissions": ["core.change_enterprise"]},
                               content_type="application/json")
    assert r.status_code == 400 and "permissions" in r.json()
    assert not Role.objects.filter(name="越权").exists()


# --- the enterprise ------------------------------------------------------------------------------------


def test_enterprise_get_returns_own(ent, other, api):
    r = api(ent["admin"]).get(f"{API}/enterprise/")
    assert r.status_code == 200
    assert r.json()["code"] == "acme" and r.json()["licensed_lines"] == 5
    assert api(other["agent"]).get(f"{API}/enterprise/").json()["code"] == "beta"


def test_enterprise_patch_by_admin_ignores_licensed_lines(ent, api):
    r = api(ent["admin"]).patch(f"{API}/enterprise/", {"name": "新名称", "licensed_lines": 999, "code": "hack"},
                                content_type="application/json")
    assert r.status_code == 200
    assert r.json()["name"] == "新名称" and r.json()["licensed_lines"] == 5 and r.json()["code"] == "acme"
    e = Enterprise.objects.get(pk=ent["enterprise"].pk)
    assert (e.name, e.licensed_lines, e.code) == ("新名称", 5, "acme")


@pytest.mark.parametrize("who", ["agent", "supervisor", "staff"])
def test_enterprise_patch_without_permission_is_403(ent, api, who):
    r = api(ent[who]).patch(f"{API}/enterprise/", {"name": "越权"}, content_type="application/json")
    assert r.status_code == 403
    assert Enterprise.objects.get(pk=ent["enterprise"].pk).name == "企业acme"


# --- audit -------------------------------------------------------------------------------------------


def test_api_writes_are_audited_on_the_api_channel(ent, api):
    client = api(ent["admin"])
    AuditLog.objects.all().delete()  # the fixture's own rows
    client.post(f"{API}/agents/", {"start": "900", "end": "901"}, content_type="application/json")
    client.patch(f"{API}/agents/{ent['sub1'].pk}/", {"name": "改名"}, content_type="application/json")
    client.delete(f"{API}/agents/{ent['agent'].pk}/")
    client.patch(f"{API}/enterprise/", {"name": "新名称"}, content_type="application/json")
    r = client.post(f"{API}/departments/", {"name": "销售部"}, content_type="application/json")
    logs = AuditLog.objects.all()
    assert set(logs.values_list("channel", flat=True)) == {"api"}
    assert {(x.action, x.object_type, x.object_id) for x in logs} >= {
        ("create", "accounts.agent", str(Agent.objects.get(number="900").pk)),
        ("update", "accounts.agent", str(ent["sub1"].pk)),
        ("delete", "accounts.agent", str(ent["agent"].pk)),
        ("update", "core.enterprise", str(ent["enterprise"].pk)),
        ("create", "accounts.department", str(r.json()["id"])),
    }
    update = logs.get(action="update", object_type="accounts.agent")
    assert update.changes == {"name": ["坐席811", "改名"]}
    # who did it: the token's agent, from where
    assert set(logs.values_list("actor_id", flat=True)) == {ent["admin"].pk}
    assert set(logs.values_list("enterprise_id", flat=True)) == {ent["enterprise"].pk}
    assert set(logs.values_list("ip", flat=True)) == {"127.0.0.1"}


def test_session_api_writes_are_audited_with_the_actor(ent, as_user):
    AuditLog.objects.all().delete()  # the fixture's own rows
    as_user(ent["admin"]).patch(f"{API}/agents/{ent['sub1'].pk}/", {"name": "改名"}, content_type="application/json")
    log = AuditLog.objects.get(object_type="accounts.agent")
    assert (log.channel, log.actor_id) == ("api", ent["admin"].pk)


def test_refused_writes_leave_no_audit_rows(ent, api):
    client = api(ent["admin"])
    AuditLog.objects.all().delete()  # the fixture's own rows
    client.patch(f"{API}/agents/{ent['admin'].pk}/", {"agent_type": "disabled"}, content_type="application/json")
    client.post(f"{API}/agents/", {"start": "905", "end": "900"}, content_type="application/json")
    client.delete(f"{API}/caller-ids/{CallerId.objects.get(enterprise=ent['enterprise']).pk}/")
    assert not AuditLog.objects.exists()
