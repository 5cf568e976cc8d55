"""Third-party data on the screen pop and the customer pages (S4, S5), against a real SQLite file
and the real PostgreSQL of this machine:

- mapped fields show the third party's values, and what the third party has for a number is not
  stored locally when a customer is saved (local storage keeps only what the third party lacks);
- the main lookups and the sub-tables run at once, each on its own connection under its time
  limit, and their results are kept for 30 s per source and number; a slow source leaves the
  local data with a notice.
"""

from __future__ import annotations

import sqlite3
import time
import uuid

import psycopg
import pytest
import time_machine
from django.core.cache import cache

from callcenter.crm import services, thirdparty
from callcenter.crm.models import Customer
from tests.crm.conftest import make_customer

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
KNOWN, UNKNOWN = "13800138000", "13700000000"


@pytest.fixture
def tp_file(settings, tmp_path):
    """A third party's customers in an SQLite file: 13800138000 is known, 13700000000 is not."""
    settings.THIRDPARTY_SQLITE_DIR = tmp_path
    path = tmp_path / "theirs.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (phone text, cname text, corp text, level text)")
        conn.execute("INSERT INTO customers VALUES (?, ?, ?, ?)", (KNOWN, "第三方张三", "三方公司", "A"))
        conn.execute("CREATE TABLE orders (phone text, item text, amount integer)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(KNOWN, "宽带", 100), (KNOWN, "手机", 2000)])
    conn.close()
    return path


@pytest.fixture
def source(crm, tp_file):
    """An enabled SQLite source mapping 客户名称 and 意向等级 (not 公司, not 预算)."""
    s = services.source_save(enterprise=crm["enterprise"], values={
        "name": "三方库", "kind": "sqlite", "database": tp_file.name,
        "sql": "SELECT phone, cname, corp, level FROM customers WHERE phone = ?"})
    services.source_reload_columns(source=s)
    services.source_set_mapping(source=s, mapping={"name": "cname", "intent": "level"})
    return services.source_set_enabled(source=s, enabled=True)


@pytest.fixture
def pg_db():
    name = "cc_tpp_" + uuid.uuid4().hex[:10]
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(dbname=name, autocommit=True, **PG) as conn:
            conn.execute("CREATE TABLE visits (phone text, shop text)")
            conn.execute("INSERT INTO visits VALUES (%s, %s)", (KNOWN, "天河店"))
        yield name
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pg_source(crm, db, *, timeout: int):
    s = services.source_save(enterprise=crm["enterprise"], values={
        "name": f"pg{timeout}", "kind": "postgresql", "host": PG["host"], "port": PG["port"], "database": db,
        "user": "postgres", "sql": "SELECT phone, shop FROM visits WHERE phone = ?", "timeout": timeout})
    return services.source_set_enabled(source=s, enabled=True)


def sub_table(crm, source, name, sql, order=1):
    return services.subtable_save(enterprise=crm["enterprise"], values={"source": source, "name": name,
                                                                        "sql": sql, "order": order})


# --- local storage keeps only what the third party lacks -------------------------------------------------------


def test_saving_from_the_form_keeps_only_what_the_third_party_lacks(crm, source, as_user):
    c = as_user(crm["admin"])
    form = {"category": crm["retail"].pk, "owner": crm["agent"].pk, "company": "本地公司", "f_budget": "10"}
    r = c.post("/crm/customers/add/", {**form, "phone": KNOWN, "name": "本地名", "f_intent": "B"})
    assert r.status_code == 302, r.content.decode()[:2000]
    known = Customer.objects.get(phone=KNOWN)
    # the third party has the name and the level: not stored; company and budget are not mapped: stored
    assert known.name == "" and known.company == "本地公司" and known.data == {"budget": 10}
    page = c.get(f"/crm/customers/{known.pk}/").content.decode()
    assert ">第三方张三<" in page and ">A<" in page and ">本地公司<" in page

    # a number the third party does not know keeps everything locally
    r = c.post("/crm/customers/add/", {**form, "phone": UNKNOWN, "name": "本地名", "f_intent": "B"})
    assert r.status_code == 302
    unknown = Customer.objects.get(phone=UNKNOWN)
    assert unknown.name == "本地名" and unknown.data == {"intent": "B", "budget": 10}


def test_edit_form_shows_third_party_values_read_only_and_drops_stale_local_copies(crm, source, as_user):
    # stored before the source was in use: a stale local name and level
    cust = services.customer_create(enterprise=crm["enterprise"], third_party=False, values={
        "category": crm["retail"], "phone": KNOWN, "name": "旧名", "owner": crm["agent"]},
        data={"intent": "B", "budget": 3})
    c = as_user(crm["admin"])
    form = c.get(f"/crm/customers/{cust.pk}/edit/").context["form"]
    assert form.fields["name"].disabled and form.initial["name"] == "第三方张三"
    assert form.fields["f_intent"].disabled and form.initial["f_intent"] == "A"
    assert not form.fields["company"].disabled and not form.fields["f_budget"].disabled
    r = c.post(f"/crm/customers/{cust.pk}/edit/", {"category": crm["corp"].pk, "phone": KNOWN, "name": "想改名",
                                                     "company": "", "owner": crm["agent"].pk, "f_intent": "B",
                                                     "f_budget": "7"})
    assert r.status_code == 302, r.content.decode()[:2000]
    cust.refresh_from_db()
    assert cust.name == "" and cust.data == {"budget": 7} and cust.category == crm["corp"]


def test_required_mapped_field_is_satisfied_by_the_third_party(crm, source, as_user):
    from callcenter.crm.models import CustomerField

    CustomerField.objects.filter(key="intent").update(required=True)
    c = as_user(crm["admin"])
    base = {"category": crm["retail"].pk, "owner": crm["agent"].pk, "name": "", "company": ""}
    assert c.post("/crm/customers/add/", {**base, "phone": KNOWN}).status_code == 302
    r = c.post("/crm/customers/add/", {**base, "phone": UNKNOWN})
    assert r.status_code == 200 and "必填" in r.content.decode()
    assert list(Customer.objects.values_list("phone", flat=True)) == [KNOWN]


def test_screen_pop_create_and_api_follow_the_same_rule(crm, source, as_user):
    agent = as_user(crm["agent"])
    r = agent.post("/workspace/customers/add/", {"phone": KNOWN, "name": "弹屏填的名", "company": "x",
                                                 "category": crm["retail"].pk})
    assert r.status_code == 200
    cust = Customer.objects.get(phone=KNOWN)
    assert cust.name == "" and cust.company == "x"
    assert "第三方张三" in r.content.decode()  # the pop shows the third party's name
    r = as_user(crm["admin"]).patch(f"/api/v1/customers/{cust.pk}/", {"name": "接口改名", "data": {"intent": "B"}},
                                    content_type="application/json")
    assert r.status_code == 200, r.json()
    cust.refresh_from_db()
    assert cust.name == "" and "intent" not in cust.data


def test_disabled_or_down_source_keeps_local_values(crm, source, tp_file, as_user):
    services.source_set_enabled(source=source, enabled=False)
    cust = make_customer(crm, crm["agent"], phone=KNOWN, name="本地名", data={"intent": "B"})
    assert (cust.name, cust.data) == ("本地名", {"intent": "B"})
    services.source_set_enabled(source=source, enabled=True)
    tp_file.unlink()  # the third party is gone: nothing is known to be there, nothing is dropped
    cache.clear()
    services.customer_update(customer=cust, changes={"company": "新公司"})
    cust.refresh_from_db()
    assert (cust.name, cust.data, cust.company) == ("本地名", {"intent": "B"}, "新公司")
    pop = as_user(crm["agent"]).get("/workspace/pop/", {"phone": KNOWN}).content.decode()
    assert "本地名" in pop and "不可用" in pop


# --- concurrent and cached lookups ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_lookup_and_sub_tables_run_at_once(crm, source, pg_db, as_user):
    pg = pg_source(crm, pg_db, timeout=3)
    # two sub-tables of 1.5 s each, and the SQLite lookup: one after another they would take over 3 s
    sub_table(crm, pg, "到店一", "SELECT shop FROM visits WHERE phone = ? AND pg_sleep(1.5) IS NOT NULL", 1)
    sub_table(crm, pg, "到店二", "SELECT shop AS s FROM visits WHERE phone = ? AND pg_sleep(1.5) IS NOT NULL", 2)
    sub_table(crm, source, "订单", "SELECT item, amount FROM orders WHERE phone = ? ORDER BY amount", 3)
    started = time.monotonic()
    found = thirdparty.gather(crm["enterprise"].pk, KNOWN)
    elapsed = time.monotonic() - started
    assert 1.5 <= elapsed < 2.8, elapsed
    assert found.values == {"name": "第三方张三", "intent": "A"} and found.notice == ""
    assert [(t[0], t[2], t[3]) for t in found.tabs] == [
        ("到店一", [["天河店"]], ""), ("到店二", [["天河店"]], ""), ("订单", [["宽带", "100"], ["手机", "2000"]], "")]


@pytest.mark.django_db
def test_a_slow_sub_table_leaves_local_data_and_a_notice(crm, source, pg_db, as_user):
    make_customer(crm, crm["agent"], phone=KNOWN, name="", data={"budget": 8})
    pg = pg_source(crm, pg_db, timeout=1)
    sub_table(crm, pg, "慢表", "SELECT shop FROM visits WHERE phone = ? AND pg_sleep(5) IS NOT NULL", 1)
    sub_table(crm, source, "订单", "SELECT item FROM orders WHERE phone = ?", 2)
    agent = as_user(crm["agent"])
    started = time.monotonic()
    r = agent.get("/workspace/pop/", {"phone": KNOWN})
    assert time.monotonic() - started < 4
    pop = r.context["pop"]
    shown = {f["key"]: f["value"] for f in pop.fields}
    assert shown["name"] == "第三方张三" and shown["budget"] == 8
    tabs = {t["name"]: t for t in pop.third_party["tabs"]}
    assert "超时" in tabs["慢表"]["notice"] and tabs["慢表"]["rows"] == []
    assert tabs["订单"]["rows"] == [["宽带"], ["手机"]]
    assert "超时" in r.content.decode()
    # the failure is remembered for a few seconds: a refresh does not wait for the slow table again
    started = time.monotonic()
    agent.get("/workspace/pop/", {"phone": KNOWN})
    assert time.monotonic() - started < 0.8


def test_results_are_cached_for_30_seconds_per_source_and_number(crm, source, tp_file, as_user):
    agent = as_user(crm["agent"])

    def shown_name(phone=KNOWN):
        pop = agent.get("/workspace/pop/", {"phone": phone}).context["pop"]
        return {f["key"]: f["value"] for f in pop.fields}.get("name")

    with time_machine.travel(time.time(), tick=False) as clock:
        assert shown_name() == "第三方张三"
        with sqlite3.connect(tp_file) as conn:
            conn.execute("UPDATE customers SET cname = '改名了'")
            conn.execute("INSERT INTO customers VALUES (?, '新客户', '', 'B')", (UNKNOWN,))
        conn.close()
        clock.shift(29)
        assert shown_name() == "第三方张三"  # a refresh within 30 s does not query again
        assert shown_name(UNKNOWN) == "新客户"  # another number is its own entry
        clock.shift(2)
        assert shown_name() == "改名了"


@pytest.mark.django_db
def test_an_edited_source_is_queried_afresh(crm, source, tp_file):
    assert thirdparty.lookup(crm["enterprise"].pk, KNOWN).values["name"] == "第三方张三"
    services.source_save(enterprise=crm["enterprise"], source=source,
                         values={"sql": "SELECT phone, corp AS cname, level FROM customers WHERE phone = ?"})
    assert thirdparty.lookup(crm["enterprise"].pk, KNOWN).values["name"] == "三方公司"
