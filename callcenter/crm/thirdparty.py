"""Third-party customer databases (manual 2.7.4 第三方数据库, 2.7.5 子表): the query engine.

The user's SQL is a single SELECT with exactly one `?` in its WHERE clause. The `?` is bound as
a parameter: it is rewritten to the driver's placeholder outside quoted strings, and a literal
`%` is doubled for the `%s` drivers. Every query runs on a fresh connection with a connect
timeout, in a read-only transaction, under a statement time limit, and fetches at most N rows.
Errors become a `ThirdPartyError` with a message saying why; nothing here waits unbounded.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from callcenter.crm.choices import SourceKind

SUBTABLE_MAX_ROWS = 1000
WRITE_WORDS = {"INSERT", "UPDATE", "DELETE", "DROP", "ALTER", "CREATE", "TRUNCATE", "GRANT", "REVOKE", "REPLACE",
               "MERGE", "COPY", "CALL", "DO", "SET", "INTO", "LOCK", "HANDLER", "LOAD", "EXEC", "EXECUTE",
               "ATTACH", "DETACH", "PRAGMA", "VACUUM", "REINDEX", "ANALYZE", "RENAME", "UPSERT"}
CLAUSE_END = {"GROUP", "ORDER", "LIMIT", "HAVING", "OFFSET", "WINDOW", "FETCH", "UNION", "EXCEPT", "INTERSECT"}
NO_MATCH_PHONE = "\x01-no-such-phone-\x01"
log = logging.getLogger(__name__)


class ThirdPartyError(Exception):
    """A third-party database could not answer; `str(exc)` says why, for the user."""


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    truncated: bool = False


@dataclass
class ThirdPartyResult:
    values: dict = field(default_factory=dict)  # local field key -> third-party value
    notice: str = ""


# --- SQL text -------------------------------------------------------------------------------------------


def split_sql(sql: str, kind: str = SourceKind.POSTGRESQL) -> list[tuple[bool, str]]:
    """The SQL cut into (is_code, text) pieces; quoted strings, quoted names and comments are not code.

    Single quotes double to escape (''), and MySQL also escapes with a backslash. PostgreSQL
    dollar quotes ($$...$$, $tag$...$tag$) are strings too."""
    pieces: list[tuple[bool, str]] = []
    i, start, n = 0, 0, len(sql)
    backslash = kind == SourceKind.MYSQL

    def flush(upto, code):
        if upto > start:
            pieces.append((code, sql[start:upto]))

    while i < n:
        ch = sql[i]
        end = None
        if ch in "'\"`":
            j = i + 1
            while j < n:
                if backslash and sql[j] == "\\" and ch != "`":
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            end = min(j + 1, n)
        elif sql.startswith("--", i) or (ch == "#" and kind == SourceKind.MYSQL):
            j = sql.find("\n", i)
            end = n if j < 0 else j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            end = n if j < 0 else j + 2
        elif ch == "$" and kind == SourceKind.POSTGRESQL:
            m = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", sql[i:])
            if m and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
                tag = m.group(0)
                j = sql.find(tag, i + len(tag))
                end = n if j < 0 else j + len(tag)
        if end is None:
            i += 1
            continue
        flush(i, True)
        pieces.append((False, sql[i:end]))
        start = i = end
    flush(n, True)
    return pieces


def validate_sql(sql: str, kind: str = SourceKind.POSTGRESQL) -> str:
    """The SQL without its trailing `;`, or ValidationError saying what is wrong with it."""
    text = (sql or "").strip()
    while text.endswith(";"):
        text = text[:-1].rstrip()
    if not text:
        raise ValidationError(_("请填写 SQL"), code="empty")
    pieces = split_sql(text, kind)
    if not pieces[-1][0] and pieces[-1][1][:1] in "'\"`$" and not _closed(pieces[-1][1]):
        raise ValidationError(_("SQL 中的引号没有闭合"), code="quote")
    # Code with the quoted parts blanked out: positions stay, contents are gone.
    code = "".join(t if is_code else " " * len(t) for is_code, t in pieces)
    if ";" in code:
        raise ValidationError(_("只能有一条 SQL 语句"), code="statements")
    words = [(m.start(), m.group(0).upper()) for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", code)]
    for pos, word in words:
        if word in WRITE_WORDS:
            if word == "REPLACE" and code[pos + len(word):].lstrip().startswith("("):
                continue  # the REPLACE(str, from, to) function
            raise ValidationError(_("SQL 不能写入数据（含有 %(w)s），只能是 SELECT 查询") % {"w": word},
                                  code="write")
    if not words or words[0][1] not in ("SELECT", "WITH"):
        raise ValidationError(_("只能是 SELECT 查询"), code="not_select")
    marks = [m.start() for m in re.finditer(r"\?", code)]
    if not marks:
        raise ValidationError(_("SQL 的 WHERE 子句中必须有一个 ? 代表来电号码，如 phone=?"), code="no_param")
    if len(marks) > 1:
        raise ValidationError(_("SQL 中只能有一个 ?（现有 %(n)s 个）") % {"n": len(marks)}, code="params")
    mark = marks[0]
    if not _in_where(code, words, mark):
        raise ValidationError(_("? 必须在 WHERE 子句中，如 WHERE phone=?"), code="param_place")
    return text


def _closed(piece: str) -> bool:
    if piece[0] == "$":
        tag = re.match(r"\$[A-Za-z0-9_]*\$", piece).group(0)
        return len(piece) >= 2 * len(tag) and piece.endswith(tag)
    return len(piece) >= 2 and piece.endswith(piece[0])


def _in_where(code: str, words, mark: int) -> bool:
    """True when the `?` follows a WHERE with no GROUP/ORDER/LIMIT/... of the same level in between."""
    wheres = [pos for pos, w in words if pos < mark and w == "WHERE"]
    if not wheres:
        return False
    where = wheres[-1]
    for pos, word in words:
        if where < pos < mark and word in CLAUSE_END and code[where:pos].count("(") <= code[where:pos].count(")"):
            return False
    return code[where:mark].count("(") - code[where:mark].count(")") >= 0


def rewrite(sql: str, kind: str) -> str:
    """The validated SQL with its `?` as the driver's placeholder (`%s` for psycopg and PyMySQL,
    which also need every literal `%` doubled; sqlite3 keeps `?`)."""
    if kind == SourceKind.SQLITE:
        return sql
    out = []
    for is_code, text in split_sql(sql, kind):
        text = text.replace("%", "%%")
        if is_code:
            text = text.replace("?", "%s")
        out.append(text)
    return "".join(out)


# --- running -------------------------------------------------------------------------------------------


def sqlite_dir() -> Path:
    return Path(getattr(settings, "THIRDPARTY_SQLITE_DIR", settings.VAR_DIR / "thirdparty")).resolve()


def sqlite_path(database: str) -> Path:
    """A SQLite source must be a file under THIRDPARTY_SQLITE_DIR (never the call center's own database)."""
    base = sqlite_dir()
    path = Path(database)
    path = (path if path.is_absolute() else base / path).resolve()
    if base not in path.parents:
        raise ThirdPartyError(_("SQLite 文件必须在目录 %(d)s 下") % {"d": base})
    if not path.is_file():
        raise ThirdPartyError(_("SQLite 文件不存在：%(p)s") % {"p": path})
    return path


def run(source, phone: str, *, max_rows: int = 1, sql: str | None = None) -> QueryResult:
    """Run the source's SQL (or `sql` on the source's connection) for `phone`; at most `max_rows` rows.
    `max_rows=0` reads the column names only."""
    kind = source.kind
    text = validate_sql(sql if sql is not None else source.sql, kind)
    query = rewrite(text, kind)
    timeout = max(1, int(source.timeout or 2))
    if kind != SourceKind.SQLITE and _is_our_database(source):
        raise ThirdPartyError(_("不能把本系统自己的数据库设为第三方数据库"))
    runner = {SourceKind.POSTGRESQL: _run_pg, SourceKind.MYSQL: _run_mysql, SourceKind.SQLITE: _run_sqlite}[kind]
    return runner(source, query, str(phone), max_rows, timeout)


LOOPBACK = {"", "localhost", "127.0.0.1", "::1"}


def _is_our_database(source) -> bool:
    """Whether a source names the call center's own database: read-only queries there would
    still read every enterprise's rows, so an enterprise may never point a source at it."""
    from django.db import connection

    own = connection.settings_dict
    if not str(own.get("ENGINE", "")).endswith(("postgresql", "mysql")):
        return False
    own_host = str(own.get("HOST") or "").lower()
    host = str(source.host or "").lower()
    same_host = host == own_host or (host in LOOPBACK and own_host in LOOPBACK)
    own_port = int(own.get("PORT") or (5432 if "postgresql" in own["ENGINE"] else 3306))
    port = int(source.port or (5432 if source.kind == SourceKind.POSTGRESQL else 3306))
    return same_host and port == own_port and (source.database or "") == str(own.get("NAME") or "")


def _finish(columns, rows, max_rows) -> QueryResult:
    truncated = len(rows) > max_rows
    return QueryResult(columns=list(columns), rows=[tuple(r) for r in rows[:max_rows]], truncated=truncated)


def _run_pg(source, query, phone, max_rows, timeout) -> QueryResult:
    import psycopg

    try:
        conn = psycopg.connect(host=source.host or "127.0.0.1", port=source.port or 5432, dbname=source.database,
                               user=source.user or None, password=source.password or None,
                               connect_timeout=timeout, application_name="callcenter-thirdparty")
    except psycopg.Error as exc:
        raise ThirdPartyError(_connect_message(str(exc), source)) from None
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION READ ONLY")
            conn.execute(f"SET LOCAL statement_timeout = {timeout * 1000:d}")
            with conn.cursor(name="callcenter_thirdparty") as cur:
                cur.execute(query, (phone,))
                columns = [d.name for d in cur.description or ()]
                rows = cur.fetchmany(max_rows + 1) if max_rows else []
            return _finish(columns, rows, max_rows)
    except psycopg.errors.QueryCanceled:
        raise ThirdPartyError(_("查询超时（超过 %(s)s 秒）") % {"s": timeout}) from None
    except psycopg.errors.ReadOnlySqlTransaction:
        raise ThirdPartyError(_("SQL 试图写入数据，已拒绝")) from None
    except psycopg.Error as exc:
        raise ThirdPartyError(_("SQL 错误：%(e)s") % {"e": str(exc).strip()}) from None
    finally:
        conn.close()


def _run_mysql(source, query, phone, max_rows, timeout) -> QueryResult:
    import pymysql

    try:
        conn = pymysql.connect(host=source.host or "127.0.0.1", port=source.port or 3306, user=source.user or "",
                               password=source.password or "", database=source.database, charset="utf8mb4",
                               connect_timeout=timeout, read_timeout=timeout + 2, write_timeout=timeout + 2,
                               cursorclass=pymysql.cursors.SSCursor, autocommit=False)
    except pymysql.MySQLError as exc:
        raise ThirdPartyError(_connect_message(_mysql_text(exc), source)) from None
    finished = False
    try:
        mariadb = "mariadb" in conn.get_server_info().lower()
        with conn.cursor(pymysql.cursors.Cursor) as setup:
            setup.execute("SET SESSION TRANSACTION READ ONLY")
            if mariadb:
                setup.execute(f"SET SESSION max_statement_time = {timeout:d}")
            else:
                setup.execute(f"SET SESSION max_execution_time = {timeout * 1000:d}")
            setup.execute("START TRANSACTION READ ONLY")
        cur = conn.cursor()
        cur.execute(query, (phone,))
        columns = [d[0] for d in cur.description or ()]
        rows = list(cur.fetchmany(max_rows + 1)) if max_rows else []
        if len(rows) <= max_rows and max_rows:
            rows += list(cur.fetchmany(1))  # reaches the end of the result: the cursor closes cleanly
        finished = len(rows) <= max_rows and bool(max_rows)
        return _finish(columns, rows, max_rows)
    except pymysql.MySQLError as exc:
        text = _mysql_text(exc)
        code = exc.args[0] if exc.args else 0
        if code in (1969, 3024) or "max_statement_time" in text or "execution time" in text:
            raise ThirdPartyError(_("查询超时（超过 %(s)s 秒）") % {"s": timeout}) from None
        if code == 1792:
            raise ThirdPartyError(_("SQL 试图写入数据，已拒绝")) from None
        if code in (2013, 2006) or "timed out" in text:
            raise ThirdPartyError(_("数据库没有在 %(s)s 秒内应答") % {"s": timeout + 2}) from None
        raise ThirdPartyError(_("SQL 错误：%(e)s") % {"e": text}) from None
    finally:
        if finished:
            try:
                conn.rollback()
                conn.close()
            except Exception:  # noqa: BLE001 - the connection is going away anyway
                conn._force_close()
        else:
            # unread rows: drop the socket instead of draining 100,000 rows
            pending = getattr(conn, "_result", None)
            if pending is not None:
                pending.unbuffered_active = False
            conn._force_close()


def _mysql_text(exc) -> str:
    if len(exc.args) >= 2:
        return f"({exc.args[0]}) {exc.args[1]}"
    return str(exc)


def _run_sqlite(source, query, phone, max_rows, timeout) -> QueryResult:
    path = sqlite_path(source.database)
    try:
        conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=timeout,
                               check_same_thread=False)
    except sqlite3.Error as exc:
        raise ThirdPartyError(_("无法打开 SQLite 文件：%(e)s") % {"e": exc}) from None
    deadline = time.monotonic() + timeout
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10000)
    try:
        cur = conn.execute(query, (phone,))
        columns = [d[0] for d in cur.description or ()]
        rows = cur.fetchmany(max_rows + 1) if max_rows else []
        return _finish(columns, rows, max_rows)
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            raise ThirdPartyError(_("查询超时（超过 %(s)s 秒）") % {"s": timeout}) from None
        if "readonly" in str(exc):
            raise ThirdPartyError(_("SQL 试图写入数据，已拒绝")) from None
        raise ThirdPartyError(_("SQL 错误：%(e)s") % {"e": exc}) from None
    except sqlite3.Error as exc:
        raise ThirdPartyError(_("SQL 错误：%(e)s") % {"e": exc}) from None
    finally:
        conn.close()


def _connect_message(text: str, source) -> str:
    low = text.lower()
    where = f"{source.host or '127.0.0.1'}:{source.port or ''}".rstrip(":")
    if ("password authentication failed" in low or "access denied" in low or "does not exist" in low
            and "role" in low or "no password supplied" in low):
        reason = _("用户名或密码错误")
    elif "timeout" in low or "timed out" in low:
        reason = _("连接超时")
    elif "refused" in low or "can't connect" in low or "could not translate host" in low or "unknown host" in low \
            or "name or service" in low or "no route" in low:
        reason = _("无法连接到 %(h)s") % {"h": where}
    elif "unknown database" in low or ("database" in low and "does not exist" in low):
        reason = _("数据库不存在")
    else:
        reason = _("连接失败")
    return _("%(reason)s：%(detail)s") % {"reason": reason, "detail": text.strip().splitlines()[0][:300]}


# --- what the screen pop uses ------------------------------------------------------------------------------


def test_source(source, phone: str) -> QueryResult:
    return run(source, phone, max_rows=1)


def read_columns(source, sql: str | None = None) -> list[str]:
    """The SQL's column names, from a run that fetches nothing."""
    return run(source, NO_MATCH_PHONE, max_rows=0, sql=sql).columns


def lookup(enterprise_id: int, phone: str) -> ThirdPartyResult:
    """Mapped values of every enabled source for `phone` (later sources win); a slow or down source
    leaves a notice instead of an exception."""
    found = gather(enterprise_id, phone, with_sub_tables=False)
    return ThirdPartyResult(values=found.values, notice=found.notice)


def sub_tables(enterprise_id: int, phone: str, *, max_rows: int = SUBTABLE_MAX_ROWS) -> list[tuple]:
    """[(title, columns [(name, label)], rows [[value, ...]], notice)] of the enabled sub-tables."""
    return gather(enterprise_id, phone, with_lookup=False, max_rows=max_rows).tabs


def provided(enterprise_id: int, phone: str) -> dict[str, str]:
    """The local field keys whose value the third party has for `phone` (non-empty): those are not
    stored locally. A source that is down or has no row for the number provides nothing, so the
    local values stay (local storage keeps what the third party lacks)."""
    return {k: v for k, v in gather(enterprise_id, phone, with_sub_tables=False).values.items() if v != ""}


# --- concurrent, cached fetches ------------------------------------------------------------------------------

CACHE_SECONDS = 30  # a refresh of the screen pop within this time does not query again
FAILURE_CACHE_SECONDS = 5  # a down source is not waited for again on every refresh
MAX_THREADS = 8


@dataclass
class Gathered:
    values: dict = field(default_factory=dict)  # local field key -> third-party value
    notice: str = ""
    tabs: list[tuple] = field(default_factory=list)  # as sub_tables() returns them


@dataclass
class _Job:
    key: str  # cache key
    source: object
    sql: str
    max_rows: int
    outcome: dict | None = None  # {"columns", "rows" (text), "truncated"} or {"error"}


def _cache_key(kind: str, pk: int, source, sql: str, phone: str, max_rows: int) -> str:
    """Per source (or sub-table) and number; the connection settings and SQL are part of the key,
    so an edited source is queried afresh."""
    parts = [source.kind, source.host or "", str(source.port or ""), source.database or "", source.user or "",
             str(source.timeout), sql, str(max_rows), phone]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"cc:thirdparty:{kind}:{pk}:{digest}"


def _run_job(job: _Job, phone: str, language: str) -> dict:
    """One query on its own connection, under the source's time limit; never raises."""
    with translation.override(language):
        try:
            found = run(job.source, phone, max_rows=job.max_rows, sql=job.sql)
        except (ThirdPartyError, ValidationError) as exc:
            return {"error": "；".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)}
        except Exception as exc:  # noqa: BLE001 - a driver's surprise must not break the screen pop
            log.warning("third-party query failed: %r", exc)
            return {"error": _("查询失败：%(e)s") % {"e": exc}}
        return {"columns": found.columns, "rows": [[_text(v) for v in row] for row in found.rows],
                "truncated": found.truncated}


def _deadline(jobs: list[_Job]) -> float:
    """How long to wait for every query: connect and statement limits each take up to the timeout
    (MySQL's read timeout is 2 s longer), plus a margin."""
    return 2 * max(max(1, int(j.source.timeout or 2)) for j in jobs) + 3


def _fetch(jobs: list[_Job], phone: str) -> None:
    """Fill each job's outcome: from the cache, else by running the queries concurrently."""
    if not jobs:
        return
    cached = cache.get_many([j.key for j in jobs])
    todo = []
    for j in jobs:
        if j.key in cached:
            j.outcome = cached[j.key]
        else:
            todo.append(j)
    if not todo:
        return
    language = translation.get_language() or settings.LANGUAGE_CODE
    if len(todo) == 1:
        todo[0].outcome = _run_job(todo[0], phone, language)
    else:
        pool = ThreadPoolExecutor(max_workers=min(len(todo), MAX_THREADS), thread_name_prefix="thirdparty")
        try:
            futures = {pool.submit(_run_job, j, phone, language): j for j in todo}
            done, _pending = wait(futures, timeout=_deadline(todo))
            for future, j in futures.items():
                j.outcome = future.result() if future in done else {
                    "error": _("查询超时（超过 %(s)s 秒）") % {"s": _deadline(todo)}, "nocache": True}
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
    good = {j.key: j.outcome for j in todo if "error" not in j.outcome}
    bad = {j.key: j.outcome for j in todo if "error" in j.outcome and not j.outcome.get("nocache")}
    if good:
        cache.set_many(good, CACHE_SECONDS)
    if bad:
        cache.set_many(bad, FAILURE_CACHE_SECONDS)


def gather(enterprise_id: int, phone: str, *, with_lookup: bool = True, with_sub_tables: bool = True,
           max_rows: int = SUBTABLE_MAX_ROWS) -> Gathered:
    """What the screen pop and the customer page show for `phone`: the enabled sources' mapped values
    and the enabled sub-tables' rows. Every query runs at once in its own thread and connection,
    each under its source's time limit, and its result is kept for CACHE_SECONDS per source and
    number, so a page refresh does not query again. A slow or down source becomes a notice."""
    from callcenter.crm.models import ThirdPartySource, ThirdPartySubTable

    out = Gathered()
    if not phone:
        return out
    lookups, tables = [], []
    if with_lookup:
        for source in ThirdPartySource.objects.filter(enterprise_id=enterprise_id, enabled=True).order_by("id"):
            mapping = {k: v for k, v in (source.mapping or {}).items() if v}
            if mapping:
                sql = source.sql
                lookups.append((source, mapping, _Job(_cache_key("source", source.pk, source, sql, phone, 1),
                                                      source, sql, 1)))
    if with_sub_tables:
        for table in (ThirdPartySubTable.objects.filter(enterprise_id=enterprise_id, enabled=True,
                                                        source__enabled=True)
                      .select_related("source").order_by("order", "id")):
            tables.append((table, _Job(_cache_key("subtable", table.pk, table.source, table.sql, phone, max_rows),
                                       table.source, table.sql, max_rows)))
    _fetch([j for *_x, j in lookups] + [j for _t, j in tables], phone)
    notices = []
    for source, mapping, job in lookups:
        outcome = job.outcome
        if "error" in outcome:
            notices.append(_("第三方数据库“%(s)s”不可用，显示本地资料：%(e)s")
                           % {"s": source.name, "e": outcome["error"]})
            continue
        if not outcome["rows"]:
            continue
        row = dict(zip(outcome["columns"], outcome["rows"][0], strict=False))
        for local, column in mapping.items():
            if column in row:
                out.values[local] = row[column]
    out.notice = "；".join(notices)
    for table, job in tables:
        outcome = job.outcome
        if "error" in outcome:
            out.tabs.append((table.name, [], [], _("子表不可用：%(e)s") % {"e": outcome["error"]}))
            continue
        settings_by_name = {c.get("name"): c for c in table.columns or [] if isinstance(c, dict)}
        shown = []
        for i, name in enumerate(outcome["columns"]):
            conf = settings_by_name.get(name, {})
            if conf.get("visible", True):
                shown.append((conf.get("order", i), i, name, conf.get("label") or name))
        shown.sort()
        columns = [(name, label) for _o, _i, name, label in shown]
        rows = [[row[i] for _o, i, _n, _l in shown] for row in outcome["rows"]]
        notice = _("只显示前 %(n)s 行") % {"n": max_rows} if outcome["truncated"] else ""
        out.tabs.append((table.name, columns, rows, notice))
    return out


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("utf-8", "replace")
    return str(value)
