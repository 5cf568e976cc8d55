"""Third-party customer databases (S4) and sub-tables (S5) against the real MariaDB and PostgreSQL
of this machine: each test database is created here and dropped in teardown."""

from __future__ import annotations

import sqlite3
import time
import uuid

import psycopg
import pymysql
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.crm import services, thirdparty
from callcenter.crm.models import ThirdPartySource, ThirdPartySubTable
from callcenter.crm.thirdparty import rewrite, validate_sql
from tests.crm.conftest import make_customer

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
MARIA = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": ""}
LOOKUP = "SELECT phone, cname, corp, level FROM customers WHERE phone = ?"
ROWS = [("13800138000", "第三方张三", "三方公司", "A"), ("13900139000", "李四", "", "B")]


# --- SQL validation and the placeholder rewrite (no database) -------------------------------------------


@pytest.mark.parametrize("sql, code", [
    ("SELECT * FROM customers", "no_param"),
    ("SELECT * FROM customers WHERE phone = ? OR mobile = ?", "params"),
    ("SELECT * FROM customers WHERE phone = ?; SELECT 1", "statements"),
    ("SELECT 1; DROP TABLE customers WHERE phone = ?", "statements"),
    ("DELETE FROM customers WHERE phone = ?", "write"),
    ("UPDATE customers SET name = 'x' WHERE phone = ?", "write"),
    ("INSERT INTO log SELECT * FROM customers WHERE phone = ?", "write"),
    ("SELECT * INTO backup FROM customers WHERE phone = ?", "write"),
    ("WITH d AS (DELETE FROM customers RETURNING *) SELECT * FROM d WHERE phone = ?", "write"),
    ("SELECT * FROM customers ORDER BY ?", "param_place"),
    ("SELECT ? FROM customers", "param_place"),
    ("SELECT * FROM customers WHERE phone = 'x' LIMIT ?", "param_place"),
    ("SHOW TABLES WHERE x = ?", "not_select"),
    ("", "empty"),
])
def test_bad_sql_refused(sql, code):
    with pytest.raises(ValidationError) as exc:
        validate_sql(sql)
    assert exc.value.code == code, exc.value.messages


@pytest.mark.parametrize("sql", [
    "SELECT * FROM customers WHERE phone = ?",
    "select * from customers where phone=?;",
    "SELECT name FROM customers WHERE mobile = ? AND note <> 'a;b?c'",
    "SELECT replace(phone, '-', '') AS p FROM t WHERE replace(phone, '-', '') = ?",
    "SELECT * FROM c WHERE id IN (SELECT cid FROM phones WHERE phone = ?) ORDER BY id LIMIT 5",
    "SELECT \"where\", `x?` FROM c -- what? \nWHERE tel = ? /* ; ? */",
])
def test_good_sql_accepted(sql):
    assert validate_sql(sql, "mysql").rstrip(";") == validate_sql(sql, "mysql")


def test_rewrite_outside_quotes_and_percent_escaped():
    sql = "SELECT '?', 'it''s 50%' FROM t WHERE phone = ? AND x LIKE '%1'"
    assert rewrite(sql, "postgresql") == "SELECT '?', 'it''s 50%%' FROM t WHERE phone = %s AND x LIKE '%%1'"
    assert rewrite(sql, "mysql") == rewrite(sql, "postgresql")
    assert rewrite(sql, "sqlite") == sql
    # MySQL backslash escapes do not end the string
    assert rewrite(r"SELECT 'a\'?' FROM t WHERE p = ?", "mysql") == r"SELECT 'a\'?' FROM t WHERE p = %s"


@settings(max_examples=200, deadline=None)
@given(literal=st.text(alphabet=st.characters(blacklist_characters="'\\\x00", blacklist_categories=("Cs",))),
       column=st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True))
def test_rewrite_binds_only_the_real_question_mark(literal, column):
    """Whatever a quoted literal holds (?, %, ;), the %s driver sees exactly one parameter."""
    sql = f"SELECT '{literal}' AS v FROM t WHERE {column} = ?"  # noqa: S608
    if column.upper() in thirdparty.WRITE_WORDS | thirdparty.CLAUSE_END | {"SELECT", "WHERE", "FROM", "AS"}:
        return
    text = validate_sql(sql, "mysql")
    assert rewrite(text, "mysql") % ("X",) == f"SELECT '{literal}' AS v FROM t WHERE {column} = X"  # noqa: S608


# --- real databases ---------------------------------------------------------------------------------------


@pytest.fixture
def pg_db():
    name = "cc_tp_" + uuid.uuid4().hex[:10]
    with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(dbname=name, autocommit=True, **PG) as conn:
            conn.execute("CREATE TABLE customers (phone text PRIMARY KEY, cname text, corp text, level text)")
            conn.execute("CREATE SEQUENCE counter")
            for row in ROWS:
                conn.execute("INSERT INTO customers VALUES (%s, %s, %s, %s)", row)
        yield name
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **PG) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def maria_db():
    name = "cc_tp_" + uuid.uuid4().hex[:10]
    admin = pymysql.connect(autocommit=True, **MARIA)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            cur.execute(f"CREATE TABLE `{name}`.customers (phone varchar(32) PRIMARY KEY, cname varchar(60), "
                        "corp varchar(60), level varchar(8))")
            cur.executemany(f"INSERT INTO `{name}`.customers VALUES (%s, %s, %s, %s)", ROWS)  # noqa: S608
        yield name
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def pg_source(enterprise, db, **extra):
    values = {"name": "pg", "kind": "postgresql", "host": PG["host"], "port": PG["port"], "database": db,
              "user": "postgres", "password": "", "sql": LOOKUP, "timeout": 2, **extra}
    return services.source_save(enterprise=enterprise, values=values)


def maria_source(enterprise, db, **extra):
    values = {"name": "maria", "kind": "mysql", "host": MARIA["host"], "port": MARIA["port"], "database": db,
              "user": "root", "password": "", "sql": LOOKUP, "timeout": 2, **extra}
    return services.source_save(enterprise=enterprise, values=values)


MAPPING = {"name": "cname", "company": "corp", "intent": "level"}


def ready(source):
    services.source_reload_columns(source=source)
    services.source_set_mapping(source=source, mapping=MAPPING)
    return services.source_set_enabled(source=source, enabled=True)


@pytest.mark.django_db
@pytest.mark.parametrize("make", [pg_source, maria_source], ids=["postgresql", "mariadb"])
def test_lookup_overwrites_mapped_fields(crm, request, make):
    db = request.getfixturevalue("pg_db" if make is pg_source else "maria_db")
    source = ready(make(crm["enterprise"], db))
    assert source.columns == ["phone", "cname", "corp", "level"]
    found = thirdparty.test_source(source, "13800138000")
    assert found.rows == [("13800138000", "第三方张三", "三方公司", "A")]
    assert thirdparty.test_source(source, "10000").rows == []
    result = thirdparty.lookup(crm["enterprise"].pk, "13800138000")
    assert result.values == {"name": "第三方张三", "company": "三方公司", "intent": "A"} and result.notice == ""


@pytest.mark.django_db
def test_write_refused_before_any_connection(crm, monkeypatch):
    def no_connect(*a, **k):
        raise AssertionError("connected")

    monkeypatch.setattr(psycopg, "connect", no_connect)
    monkeypatch.setattr(pymysql, "connect", no_connect)
    for kind in ("postgresql", "mysql"):
        source = ThirdPartySource(enterprise=crm["enterprise"], kind=kind, database="x", sql=LOOKUP)
        for sql in ("DELETE FROM customers WHERE phone = ?", "SELECT 1; DROP TABLE customers WHERE a = ?"):
            with pytest.raises(ValidationError):
                thirdparty.run(source, "1", sql=sql)
    with pytest.raises(ValidationError) as exc:
        services.source_save(enterprise=crm["enterprise"], values={
            "name": "w", "kind": "mysql", "database": "x", "sql": "UPDATE c SET a=1 WHERE phone = ?"})
    assert "SELECT" in str(exc.value)
    assert not ThirdPartySource.objects.exists()


@pytest.mark.django_db
def test_pg_read_only_transaction(crm, pg_db):
    source = pg_source(crm["enterprise"], pg_db)
    with pytest.raises(thirdparty.ThirdPartyError, match="写入"):
        thirdparty.run(source, "13800138000", sql="SELECT nextval('counter') FROM customers WHERE phone = ?")


@pytest.mark.django_db
def test_maria_read_only_transaction(crm, maria_db):
    source = maria_source(crm["enterprise"], maria_db)
    sql = "SELECT @@tx_read_only, @@max_statement_time FROM customers WHERE phone = ?"
    found = thirdparty.run(source, "13800138000", sql=sql)
    assert found.rows == [(1, 2.0)]


@pytest.mark.django_db
def test_failed_credentials_say_why(crm, pg_db, maria_db):
    bad = maria_source(crm["enterprise"], maria_db, password="wrong-password")
    with pytest.raises(thirdparty.ThirdPartyError) as exc:
        thirdparty.test_source(bad, "1")
    assert "用户名或密码错误" in str(exc.value) and "Access denied for user 'root'" in str(exc.value)
    ghost = pg_source(crm["enterprise"], pg_db, name="pg2", user="no_such_role")
    with pytest.raises(thirdparty.ThirdPartyError) as exc:
        thirdparty.test_source(ghost, "1")
    assert "用户名或密码错误" in str(exc.value) and "no_such_role" in str(exc.value)
    down = pg_source(crm["enterprise"], pg_db, name="pg3", port=1)
    with pytest.raises(thirdparty.ThirdPartyError, match="无法连接"):
        thirdparty.test_source(down, "1")


@pytest.mark.django_db
@pytest.mark.parametrize("make, sleep", [(pg_source, "pg_sleep(5) IS NOT NULL"), (maria_source, "SLEEP(5) = 0")],
                         ids=["postgresql", "mariadb"])
def test_slow_query_hits_time_limit(crm, request, make, sleep):
    db = request.getfixturevalue("pg_db" if make is pg_source else "maria_db")
    source = make(crm["enterprise"], db, timeout=1)
    started = time.monotonic()
    with pytest.raises(thirdparty.ThirdPartyError, match="超时"):
        thirdparty.run(source, "13800138000", sql=f"SELECT cname FROM customers WHERE phone = ? AND {sleep}")  # noqa: S608
    assert time.monotonic() - started < 4


@pytest.mark.django_db
def test_slow_source_detail_page_shows_local_data_with_notice(crm, pg_db, as_user):
    # stored before the source was in use: the third party now has the name, so it shows instead
    cust = make_customer(crm, crm["agent"], phone="13800138000", name="本地张三")
    source = ready(pg_source(crm["enterprise"], pg_db, timeout=1))
    r = as_user(crm["admin"]).get(f"/crm/customers/{cust.pk}/")
    assert ">第三方张三<" in r.content.decode() and ">本地张三<" not in r.content.decode()
    source.sql = "SELECT phone, cname, corp, level FROM customers WHERE phone = ? AND pg_sleep(5) IS NOT NULL"
    source.save()
    started = time.monotonic()
    r = as_user(crm["admin"]).get(f"/crm/customers/{cust.pk}/")
    body = r.content.decode()
    assert r.status_code == 200 and time.monotonic() - started < 4
    assert ">本地张三<" in body and "third-party-notice" in body and "超时" in body


@pytest.mark.django_db
@pytest.mark.parametrize("make, sql", [
    (pg_source, "SELECT g AS n, g * 2 AS double FROM generate_series(1, 100000) g WHERE ? <> ''"),
    (maria_source, "SELECT seq AS n, seq * 2 AS `double` FROM seq_1_to_100000 WHERE ? <> ''"),
], ids=["postgresql", "mariadb"])
def test_sub_table_capped_with_notice(crm, request, make, sql, as_user):
    db = request.getfixturevalue("pg_db" if make is pg_source else "maria_db")
    source = make(crm["enterprise"], db)
    services.source_set_enabled(source=source, enabled=True)
    table = services.subtable_save(enterprise=crm["enterprise"], values={"source": source, "name": "消费记录",
                                                                        "sql": sql, "order": 1})
    services.subtable_fetch_columns(table=table)
    table.refresh_from_db()
    table.columns[1].update(label="两倍")
    services.subtable_save(enterprise=crm["enterprise"], values={"columns": table.columns}, table=table)
    started = time.monotonic()
    [(title, columns, rows, notice)] = thirdparty.sub_tables(crm["enterprise"].pk, "13800138000")
    assert time.monotonic() - started < 3
    assert title == "消费记录" and columns == [("n", "n"), ("double", "两倍")]
    assert len(rows) == thirdparty.SUBTABLE_MAX_ROWS and rows[0] == ["1", "2"] and "1000" in notice
    cust = make_customer(crm, crm["agent"], phone="13800138000")
    page = as_user(crm["admin"]).get(f"/crm/customers/{cust.pk}/").content.decode()
    assert "消费记录" in page and "sub-table-notice" in page


@pytest.mark.django_db
def test_sqlite_file_source(crm, tmp_path, settings):
    settings.THIRDPARTY_SQLITE_DIR = tmp_path
    path = tmp_path / "crm.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (phone text, cname text, corp text, level text)")
        conn.executemany("INSERT INTO customers VALUES (?, ?, ?, ?)", ROWS)
    source = services.source_save(enterprise=crm["enterprise"], values={
        "name": "file", "kind": "sqlite", "database": "crm.sqlite3", "sql": LOOKUP + " AND corp <> '?%'"})
    ready(source)
    assert thirdparty.lookup(crm["enterprise"].pk, "13900139000").values == {"name": "李四", "company": "",
                                                                              "intent": "B"}
    with pytest.raises(thirdparty.ThirdPartyError, match="超时"):
        thirdparty.run(source, "1", sql="WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
                                        "SELECT count(*) FROM r WHERE i > 0 AND ? <> ''")
    outside = ThirdPartySource(enterprise=crm["enterprise"], kind="sqlite", database=str(settings.SQLITE_PATH),
                               sql=LOOKUP)
    with pytest.raises(thirdparty.ThirdPartyError, match="必须在目录"):
        thirdparty.test_source(outside, "1")


# --- screens and API --------------------------------------------------------------------------------------


def form_values(db, **extra):
    return {"name": "客户库", "kind": "postgresql", "host": PG["host"], "port": PG["port"], "database": db,
            "user": "postgres", "password": "s3cret-Pass!", "sql": LOOKUP, "timeout": 2, **extra}


@pytest.mark.django_db
def test_screens_add_test_enable_reload_map(crm, pg_db, as_user):
    c = as_user(crm["admin"])
    r = c.post("/crm/thirdpartysources/add/", form_values(pg_db))
    assert r.status_code == 302, r.content.decode()[:3000]
    source = ThirdPartySource.objects.get()
    with connection.cursor() as cur:
        cur.execute("SELECT password FROM crm_thirdpartysource WHERE id = %s", [source.pk])
        raw = cur.fetchone()[0]
    assert raw and "s3cret-Pass!" not in raw and source.password == "s3cret-Pass!"
    detail = c.get(f"/crm/thirdpartysources/{source.pk}/").content.decode()
    assert "s3cret-Pass!" not in detail and "已设置" in detail
    edit = c.get(f"/crm/thirdpartysources/{source.pk}/edit/").content.decode()
    assert "s3cret-Pass!" not in edit and raw not in edit
    # an edit with the password left empty keeps it
    assert c.post(f"/crm/thirdpartysources/{source.pk}/edit/", form_values(pg_db, password="", timeout=3)
                  ).status_code == 302
    source.refresh_from_db()
    assert source.password == "s3cret-Pass!" and source.timeout == 3

    r = c.post(f"/crm/thirdpartysources/{source.pk}/do/test/", {"phone": "13800138000"})
    assert "第三方张三" in r.content.decode() and 'id="test-row"' in r.content.decode()
    assert c.post(f"/crm/thirdpartysources/{source.pk}/do/reload/").status_code == 302
    source.refresh_from_db()
    assert source.columns == ["phone", "cname", "corp", "level"]
    r = c.get(f"/crm/thirdpartysources/{source.pk}/mapping/")
    assert "意向等级" in r.content.decode() and "cname" in r.content.decode()
    r = c.post(f"/crm/thirdpartysources/{source.pk}/mapping/", {"m_name": "cname", "m_intent": "level"})
    assert r.status_code == 302
    assert c.post(f"/crm/thirdpartysources/{source.pk}/do/enable/").status_code == 302
    source.refresh_from_db()
    assert source.enabled and source.mapping == {"name": "cname", "intent": "level"}
    cust = make_customer(crm, crm["agent"], phone="13800138000", name="本地", data={"intent": "B"})
    page = as_user(crm["agent"]).get(f"/crm/customers/{cust.pk}/").content.decode()
    assert "第三方张三" in page and "third-party-fields" in page


@pytest.mark.django_db
def test_screen_test_shows_failure_reason(crm, maria_db, as_user):
    source = maria_source(crm["enterprise"], maria_db, password="nope")
    r = as_user(crm["admin"]).post(f"/crm/thirdpartysources/{source.pk}/do/test/", {"phone": "1"})
    assert "Access denied" in r.content.decode() and 'id="test-error"' in r.content.decode()
    r = as_user(crm["admin"]).post(f"/crm/thirdpartysources/{source.pk}/do/enable/", follow=True)
    source.refresh_from_db()
    assert not source.enabled and "用户名或密码错误" in r.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("sql, message", [
    ("SELECT * FROM customers", "必须有一个 ?"),
    ("SELECT * FROM customers WHERE phone = ? OR corp = ?", "只能有一个 ?"),
    ("SELECT * FROM customers WHERE phone = ?; SELECT 1", "只能有一条"),
    ("DROP TABLE customers WHERE phone = ?", "不能写入"),
])
def test_bad_sql_on_the_form_changes_nothing(crm, as_user, sql, message):
    r = as_user(crm["admin"]).post("/crm/thirdpartysources/add/", form_values("x", sql=sql))
    assert r.status_code == 200 and message in r.content.decode()
    assert not ThirdPartySource.objects.exists()
    r = as_user(crm["admin"]).post("/api/v1/third-party-sources/", form_values("x", sql=sql),
                                   content_type="application/json")
    assert r.status_code == 400 and message in str(r.json())
    assert not ThirdPartySource.objects.exists()


@pytest.mark.django_db
def test_sub_table_screens(crm, maria_db, as_user):
    source = maria_source(crm["enterprise"], maria_db)
    services.source_set_enabled(source=source, enabled=True)
    c = as_user(crm["admin"])
    r = c.post("/crm/thirdpartysubtables/add/", {"source": source.pk, "name": "等级", "order": 1, "enabled": "on",
                                                 "sql": "SELECT level, cname FROM customers WHERE phone = ? OR 1=1"})
    assert r.status_code == 302, r.content.decode()[:2000]
    table = ThirdPartySubTable.objects.get()
    r = c.post(f"/crm/thirdpartysubtables/{table.pk}/do/check/", follow=True)
    assert "SQL 无误" in r.content.decode()
    c.post(f"/crm/thirdpartysubtables/{table.pk}/do/columns/")
    table.refresh_from_db()
    assert [col["name"] for col in table.columns] == ["level", "cname"]
    r = c.post(f"/crm/thirdpartysubtables/{table.pk}/do/save/", {"label_0": "等级", "order_0": 2, "visible_0": "on",
                                                                 "label_1": "姓名", "order_1": 1})
    assert r.status_code == 302
    [(title, columns, rows, notice)] = thirdparty.sub_tables(crm["enterprise"].pk, "x")
    assert columns == [("level", "等级")] and sorted(rows) == [["A"], ["B"]] and notice == ""
    r = c.post("/crm/thirdpartysubtables/add/", {"source": source.pk, "name": "坏", "order": 2,
                                                 "sql": "SELECT * FROM customers WHERE phone = ? AND x = ?"})
    assert r.status_code == 200 and "只能有一个 ?" in r.content.decode()
    assert c.post(f"/crm/thirdpartysources/{source.pk}/delete/").status_code == 409


@pytest.mark.django_db
def test_api_password_write_only_and_test_action(crm, pg_db, as_user):
    c = as_user(crm["admin"])
    r = c.post("/api/v1/third-party-sources/", form_values(pg_db), content_type="application/json")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert "password" not in body and body["has_password"] is True
    pk = body["id"]
    assert "s3cret" not in c.get(f"/api/v1/third-party-sources/{pk}/").content.decode()
    r = c.post(f"/api/v1/third-party-sources/{pk}/test/", {"phone": "13800138000"}, content_type="application/json")
    assert r.json()["ok"] and r.json()["rows"][0][1] == "第三方张三"
    r = c.post(f"/api/v1/third-party-sources/{pk}/reload-columns/", content_type="application/json")
    assert r.json()["columns"] == ["phone", "cname", "corp", "level"]
    r = c.patch(f"/api/v1/third-party-sources/{pk}/", {"mapping": {"name": "nope"}}, content_type="application/json")
    assert r.status_code == 400
    r = c.post("/api/v1/third-party-sub-tables/", {"source": pk, "name": "t", "sql": "SELECT g FROM generate_series("
                                                   "1, 5000) g WHERE ? <> ''"}, content_type="application/json")
    assert r.status_code == 201, r.json()
    r = c.post(f"/api/v1/third-party-sub-tables/{r.json()['id']}/test/", {"phone": "1"},
               content_type="application/json")
    assert r.json()["truncated"] is True and len(r.json()["rows"]) == 1000


@pytest.mark.django_db
def test_other_enterprise_404_and_agent_403(crm, other, as_user):
    source = services.source_save(enterprise=crm["enterprise"], values={
        "name": "s", "kind": "mysql", "database": "x", "sql": LOOKUP, "password": "pw"})
    stranger = as_user(other["admin"])
    for url in (f"/crm/thirdpartysources/{source.pk}/", f"/crm/thirdpartysources/{source.pk}/edit/",
                f"/crm/thirdpartysources/{source.pk}/mapping/", f"/api/v1/third-party-sources/{source.pk}/"):
        assert stranger.get(url).status_code == 404, url
    assert stranger.post(f"/crm/thirdpartysources/{source.pk}/do/test/", {"phone": "1"}).status_code == 404
    assert stranger.post(f"/api/v1/third-party-sources/{source.pk}/test/", {"phone": "1"},
                         content_type="application/json").status_code == 404
    assert stranger.get("/api/v1/third-party-sources/").json()["results"] == []
    agent = as_user(crm["agent"])
    for url in ("/crm/thirdpartysources/", f"/crm/thirdpartysources/{source.pk}/", "/crm/thirdpartysubtables/",
                "/api/v1/third-party-sources/"):
        assert agent.get(url).status_code == 403, url
    assert agent.post(f"/crm/thirdpartysources/{source.pk}/do/test/", {"phone": "1"}).status_code == 403
    assert agent.post(f"/api/v1/third-party-sources/{source.pk}/test/", {"phone": "1"},
                      content_type="application/json").status_code == 403



def test_a_source_may_not_point_at_the_call_centers_own_database(ent, monkeypatch):
    from django.db import connection

    from callcenter.crm import thirdparty
    from callcenter.crm.models import ThirdPartySource

    # Pretend the call center runs on PostgreSQL at 127.0.0.1:5432, database "callcenter".
    for key, value in {"ENGINE": "django.db.backends.postgresql", "HOST": "127.0.0.1", "PORT": 5432,
                       "NAME": "callcenter"}.items():
        monkeypatch.setitem(connection.settings_dict, key, value)
    source = ThirdPartySource(enterprise=ent["enterprise"], name="偷看", kind="postgresql", host="localhost",
                              port=5432, database="callcenter", user="postgres",
                              sql="SELECT username FROM accounts_agent WHERE number = ?")
    with pytest.raises(thirdparty.ThirdPartyError, match="本系统自己的数据库"):
        thirdparty.run(source, "800")
    source.database = "their_crm"
    assert not thirdparty._is_our_database(source)
