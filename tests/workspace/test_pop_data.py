"""The screen pop's data path (X1): the number's calls and follow-ups in the agent's data scope,
a constant number of queries however long the history, and the enterprise's pop settings read
from a cache that a save clears at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callcenter.calls import services as calls
from callcenter.calls.models import Cdr
from callcenter.core.scope import scoped
from callcenter.crm import services as crm_services
from callcenter.crm.models import Customer
from callcenter.workspace import services
from callcenter.workspace.models import FollowUp
from callcenter.workspace.selectors import FOLLOWUP_LIMIT, HISTORY_LIMIT

PHONE = "13800138000"


@pytest.fixture
def crm(ent):
    e = ent["enterprise"]
    retail = crm_services.category_create(enterprise=e, name="零售")
    crm_services.customerfield_create(enterprise=e, values={"key": "level", "label": "级别", "order": 1, "width": 50})
    return {**ent, "retail": retail}


def customer(crm, owner, phone=PHONE, **data):
    return crm_services.customer_create(enterprise=crm["enterprise"], values={
        "category": crm["retail"], "phone": phone, "name": "王先生", "owner": owner}, data=data)


def call(agent, call_id, *, days_ago, caller="02088880001", callee="02088880002", direction="in"):
    calls.cdr_open(enterprise_id=agent.enterprise_id, call_id=call_id, direction=direction,
                   started_at=timezone.now() - timedelta(days=days_ago), caller=caller, callee=callee,
                   agent_id=agent.pk)


def pop_of(client, phone=PHONE):
    r = client.get("/api/v1/workspace/screen-pop/", {"phone": phone})
    assert r.status_code == 200, r.content
    return r.json()


def test_pop_shows_the_numbers_calls_and_notes_in_the_agents_scope_newest_first(crm, other, as_user):
    sub1, sub2, agent, sup, admin = crm["sub1"], crm["sub2"], crm["agent"], crm["supervisor"], crm["admin"]
    cust = customer(crm, sub1)
    call(sub1, "in-sub1", days_ago=3, caller=PHONE)
    call(sub1, "out-sub1", days_ago=1, callee=PHONE, direction="out")
    call(sub2, "in-sub2", days_ago=2, caller=PHONE)
    call(agent, "in-agent", days_ago=4, caller=PHONE)
    call(sub1, "someone-else", days_ago=0, caller="13900139000")
    call(other["agent"], "other-enterprise", days_ago=0, caller=PHONE)
    services.followup_create(agent=sub1, phone=PHONE, text="号码上的记录", customer=None)
    # a note on the customer written under another number of theirs still shows
    services.followup_create(agent=sub1, phone="13900139000", text="客户的另一个号码", customer=cust)
    services.followup_create(agent=sub2, phone=PHONE, text="sub2 的记录")
    services.followup_create(agent=sub1, phone="13700137000", text="无关")

    def seen(user):
        data = pop_of(as_user(user))
        return [h["call_id"] for h in data["history"]], {f["text"] for f in data["followups"]}

    assert seen(sub1) == (["out-sub1", "in-sub1"], {"号码上的记录", "客户的另一个号码"})  # own rows only
    history, notes = seen(sup)  # own and subordinates
    assert history == ["out-sub1", "in-sub2", "in-sub1"]
    assert notes == {"号码上的记录", "客户的另一个号码", "sub2 的记录"}
    history, notes = seen(admin)  # the whole enterprise, never another one's
    assert history == ["out-sub1", "in-sub2", "in-sub1", "in-agent"] and "无关" not in notes
    # the pop's SQL gives what core.scope.scoped() gives, for every kind of scope
    for user in (sub1, sup, admin, agent, sub2):
        expected_calls = scoped(Cdr.objects.filter(Q(caller=PHONE) | Q(callee=PHONE)), user)
        expected_notes = scoped(FollowUp.objects.filter(Q(phone=PHONE) | Q(customer=cust)), user)
        data = pop_of(as_user(user))
        visible = scoped(Customer.objects.filter(phone=PHONE), user).first()
        assert (data["customer"] or {}).get("id") == (visible.pk if visible else None)
        assert data["out_of_scope"] == (visible is None) and data["fields"][3:4] == (
            [{"key": "category", "label": "客户分类", "value": "零售", "width": 25, "cols": 3, "third_party": False}]
            if visible else [])
        assert [h["id"] for h in data["history"]] == [
            c.pk for c in expected_calls.order_by("-started_at", "-id")[:HISTORY_LIMIT]]
        assert [(f["id"], f["agent"]) for f in data["followups"]] == [
            (f.pk, str(f.agent)) for f in expected_notes.order_by("-created_at", "-id")[:FOLLOWUP_LIMIT]]


def test_pop_history_is_the_newest_calls_and_costs_the_same_queries_however_long(crm, as_user):
    agent = crm["sub1"]
    customer(crm, agent)
    customer(crm, agent, phone="13900139000")
    for i in range(HISTORY_LIMIT + 5):
        call(agent, f"c{i}", days_ago=i, caller=PHONE)
        services.followup_create(agent=agent, phone=PHONE, text=f"记录{i}")
    c = as_user(agent)
    pop_of(c)  # the pop settings are read once, then cached
    with CaptureQueriesContext(connection) as long_history:
        data = pop_of(c)
    assert [h["call_id"] for h in data["history"]] == [f"c{i}" for i in range(HISTORY_LIMIT)]
    assert len(data["followups"]) == 20
    with CaptureQueriesContext(connection) as no_history:
        assert pop_of(c, "13900139000")["history"] == []
    assert len(long_history) == len(no_history)
    sql = " ".join(q["sql"] for q in long_history.captured_queries)
    # session, agent, permissions (2), customer, calls, follow-ups: no settings, no third-party sources
    assert len(long_history) <= 7, [q["sql"][:80] for q in long_history.captured_queries]
    assert "crm_customerfield" not in sql and "crm_thirdparty" not in sql and "core_enterprise" not in sql


def test_a_saved_pop_setting_shows_on_the_next_pop(crm, tp_sqlite, as_user):
    """The enterprise's pop settings are cached; saving a field, a source or the enterprise clears them."""
    e = crm["enterprise"]
    agent = crm["sub1"]
    customer(crm, agent, level="VIP")
    c = as_user(agent)

    def fields():
        return [(f["key"], f["label"], f["cols"]) for f in pop_of(c)["fields"]][4:]

    assert fields() == [("level", "级别", 6)]
    note = crm_services.customerfield_create(enterprise=e, values={"key": "note", "label": "备注", "order": 2})
    assert fields() == [("level", "级别", 6), ("note", "备注", 3)]
    level = note.__class__.objects.get(enterprise=e, key="level")
    crm_services.popfields_save(enterprise=e, rows=[{"field": note, "label": "备注信息", "width": 100},
                                                    {"field": level, "visible": False}])
    assert fields() == [("note", "备注信息", 12)]
    crm_services.customerfield_delete(field=note)
    assert fields() == []

    e.screen_pop_url = "https://crm.example.com/?p={phone}"
    e.save()
    assert pop_of(c)["third_party_url"] == f"https://crm.example.com/?p={PHONE}"

    source = crm_services.source_save(enterprise=e, values={
        "name": "三方库", "kind": "sqlite", "database": tp_sqlite.name,
        "sql": "SELECT phone, cname FROM customers WHERE phone = ?"})
    crm_services.source_reload_columns(source=source)
    crm_services.source_set_mapping(source=source, mapping={"name": "cname"})
    assert pop_of(c)["customer"]["name"] == "王先生" and pop_of(c)["third_party"]["values"] == {}  # not enabled
    crm_services.source_set_enabled(source=source, enabled=True)
    data = pop_of(c)
    assert data["third_party"]["values"] == {"name": "第三方张三"}
    assert data["fields"][0] == {"key": "name", "label": "客户名称", "value": "第三方张三", "width": 25, "cols": 3,
                                 "third_party": True}


@pytest.fixture
def tp_sqlite(settings, tmp_path):
    import sqlite3

    from django.core.cache import cache

    cache.clear()  # third-party results are cached per source and number
    settings.THIRDPARTY_SQLITE_DIR = tmp_path
    path = tmp_path / "theirs.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (phone text, cname text)")
        conn.execute("INSERT INTO customers VALUES (?, ?)", (PHONE, "第三方张三"))
    conn.close()
    return path


def test_pop_queries_look_up_the_number_not_the_agents_rows(crm, as_user):
    """On SQLite (no planner statistics, as in a real deployment) every pop query is an index
    lookup on the number, the customer or a primary key: none walks the agent's calls or notes."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's planner; PostgreSQL plans by statistics")
    agent = crm["sub1"]
    customer(crm, agent)
    for i in range(30):
        call(agent, f"c{i}", days_ago=i, caller="13900139000")
        services.followup_create(agent=agent, phone="13900139000", text=f"记录{i}")
    c = as_user(agent)
    pop_of(c)
    with CaptureQueriesContext(connection) as ctx:
        pop_of(c)
    plans = []
    with connection.cursor() as cur:
        for q in ctx.captured_queries:
            if "calls_cdr" in q["sql"] or "workspace_followup" in q["sql"] or "crm_customer" in q["sql"]:
                cur.execute("EXPLAIN QUERY PLAN " + q["sql"])
                plans += [row[-1] for row in cur.fetchall()]
    assert len(plans) >= 6, plans
    assert not [p for p in plans if p.startswith("SCAN")], plans
    assert not [p for p in plans if "cdr_ent_agent" in p or "followup_ent_agent" in p or "cust_ent_owner" in p
                or "(enterprise_id=?)" in p], plans
