"""The benchmarks themselves; imported only after django.setup() on the bench database."""

from __future__ import annotations

import io
import statistics
import time
import zlib
from datetime import timedelta

import openpyxl
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import duration_record, latency_record, machine_info, p95, write_result

BACKEND = "callcenter.accounts.backends.AgentBackend"
PASSWORD = "bench-pass-1"
USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "CallCenterClient/3.2 (Windows 10)",
]
RESULTS = ["success"] * 17 + ["bad_password", "bad_password", "locked"]  # 85 % success


def log(msg: str) -> None:
    print(f"  [{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def db_vendor() -> str:
    return "postgres" if connection.vendor == "postgresql" else connection.vendor


def db_version() -> str:
    with connection.cursor() as cur:
        cur.execute("select sqlite_version()" if connection.vendor == "sqlite" else "show server_version")
        return f"{connection.vendor} {cur.fetchone()[0]}"


def save(record: dict) -> dict:
    record["machine"] = machine_info(db_version())
    write_result(record)
    return record


def make_enterprise(code: str, *, agents: tuple[str, str] | None = None):
    """An enterprise with its administrator 800 and optionally a range of agents (shared password)."""
    from callcenter.accounts import services
    from callcenter.accounts.models import Agent

    created = services.enterprise_create(code=code, name=f"压测{code}", licensed_lines=50,
                                         caller_id="0208" + str(zlib.crc32(code.encode()) % 10**7).zfill(7),
                                         admin_password=PASSWORD)
    if agents:
        start, end = int(agents[0]), int(agents[1])
        for first in range(start, end + 1, 1000):  # at most 1,000 per call
            services.agents_create_range(enterprise=created.enterprise, start=str(first),
                                         end=str(min(first + 999, end)), password=PASSWORD)
    return created.enterprise, Agent.objects.get(pk=created.admin.pk)


def explain(sql: str) -> list[str]:
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + sql)
            return [row[-1] for row in cur.fetchall()]
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cur.fetchall()]


def slowest(queries, n: int = 3) -> list[dict]:
    timed = sorted(queries, key=lambda q: float(q["time"]), reverse=True)[:n]
    return [{"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"][:400]} for q in timed]


# --- a) login-log list over a million rows -----------------------------------------------------


def load_login_logs(enterprise, agents, rows: int) -> float:
    """Insert `rows` login-log rows, one per 30 s going back in time, spread over `agents`."""
    t0 = time.perf_counter()
    ids = [a.pk for a in agents]
    numbers = [a.number for a in agents]
    n = len(agents)
    start = timezone.now() - timedelta(seconds=30 * rows)
    if connection.vendor == "postgresql":
        sql = """
            INSERT INTO accounts_loginlog (enterprise_id, agent_id, number, at, ip, user_agent, channel, result)
            SELECT %(ent)s,
                   CASE WHEN g %% 53 = 0 THEN NULL ELSE (%(ids)s::bigint[])[(1 + (g * 7919) %% %(n)s)::int] END,
                   CASE WHEN g %% 53 = 0 THEN '9999' ELSE (%(nums)s::text[])[(1 + (g * 7919) %% %(n)s)::int] END,
                   %(start)s::timestamptz + g * interval '30 seconds',
                   ('10.' || (g %% 200) || '.' || ((g / 200) %% 250) || '.' || (1 + g %% 250))::inet,
                   (%(uas)s::text[])[(1 + g %% %(nua)s)::int],
                   CASE WHEN g %% 20 = 0 THEN 'sso' ELSE 'web' END,
                   CASE WHEN g %% 53 = 0 THEN 'unknown' ELSE (%(results)s::text[])[(1 + g %% %(nres)s)::int] END
            FROM generate_series(0::bigint, %(rows)s::bigint - 1) AS g
        """
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, {"ent": enterprise.pk, "ids": ids, "nums": numbers, "n": n, "start": start,
                              "uas": USER_AGENTS, "nua": len(USER_AGENTS), "results": RESULTS,
                              "nres": len(RESULTS), "rows": rows})
        with connection.cursor() as cur:  # what autovacuum would have done by the time anyone reads
            cur.execute("VACUUM ANALYZE accounts_loginlog")
    else:
        adapt = connection.ops.adapt_datetimefield_value
        sql = ("INSERT INTO accounts_loginlog (enterprise_id, agent_id, number, at, ip, user_agent, channel, result)"
               " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")

        def chunk(lo: int, hi: int):
            for g in range(lo, hi):
                unknown = g % 53 == 0  # 53 is prime to 1,000: every agent still gets rows
                k = (g * 7919) % n
                yield (enterprise.pk, None if unknown else ids[k], "9999" if unknown else numbers[k],
                       adapt(start + timedelta(seconds=30 * g)),
                       f"10.{g % 200}.{(g // 200) % 250}.{1 + g % 250}", USER_AGENTS[g % len(USER_AGENTS)],
                       "sso" if g % 20 == 0 else "web", "unknown" if unknown else RESULTS[g % len(RESULTS)])

        step = 200_000
        for lo in range(0, rows, step):
            with transaction.atomic(), connection.cursor() as cur:
                cur.executemany(sql, chunk(lo, min(lo + step, rows)))
        with connection.cursor() as cur:  # fold the bulk load's write-ahead log into the file, as time would
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - t0


def bench_loginlog(db: str, rows: int, requests: int = 20, warmup: int = 3) -> list[dict]:
    from callcenter.accounts.models import Agent, LoginLog

    log(f"login log: enterprise with 1,000 agents and {rows:,} rows")
    enterprise, admin = make_enterprise("benchlog", agents=("1000", "1999"))
    agents = list(Agent.objects.filter(enterprise=enterprise).exclude(pk=admin.pk).order_by("number"))
    load_s = load_login_logs(enterprise, agents, rows)
    total = LoginLog.objects.filter(enterprise=enterprise).count()
    log(f"loaded {total:,} rows in {load_s:.1f} s")
    target = agents[len(agents) // 2]
    agent_rows = LoginLog.objects.filter(enterprise=enterprise, agent=target).count()
    assert agent_rows > 0, target

    client = Client()
    client.force_login(admin, backend=BACKEND)
    cases = [
        ("loginlog-list-page1", "/accounts/loginlogs/", {}),
        ("loginlog-list-last", "/accounts/loginlogs/?page=last", {}),
        ("loginlog-list-agent", f"/accounts/loginlogs/?agent={target.pk}", {"agent_rows": agent_rows}),
    ]
    records = []
    for name, url, extra in cases:
        for _ in range(warmup):
            assert client.get(url).status_code == 200, url
        samples, cpu = [], []
        for _ in range(requests):
            t0, c0 = time.perf_counter(), time.thread_time()
            response = client.get(url)
            samples.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.thread_time() - c0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        assert b'id="list-table"' in response.content and response.content.count(b"<tr>") > 50, url
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        page_sql = next(q["sql"] for q in ctx.captured_queries
                        if q["sql"].startswith('SELECT "accounts_loginlog"') and "ORDER BY" in q["sql"])
        record = latency_record(
            name, db, samples, 100, url=url, rows=total, load_seconds=round(load_s, 1),
            # CPU time of this thread (Python + SQLite; PostgreSQL works in its own process):
            # far below the wall time means the process waited for a core.
            p95_cpu_ms=round(p95(cpu), 2), median_cpu_ms=round(statistics.median(cpu), 2),
            queries=len(ctx.captured_queries), slowest_queries=slowest(ctx.captured_queries),
            page_query_plan=explain(page_sql), **extra)
        save(record)
        records.append(record)
        log(f"{name}: p95 {record['p95_ms']:.1f} ms, median {record['median_ms']:.1f} ms, "
            f"{record['queries']} queries")
    return records


# --- b) adding a range of 1,000 agents -------------------------------------------------------------


def bench_agents_add(db: str, runs: int = 3) -> list[dict]:
    from callcenter.accounts import services
    from callcenter.accounts.models import Agent, Department, Role
    from callcenter.core.choices import Channel
    from callcenter.core.context import acting

    log("agents: add 1000-1999 with agents_create_range")
    enterprise, admin = make_enterprise("benchadd")
    defaults = {"name": "坐席", "role": Role.objects.get(enterprise=enterprise, name="坐席"),
                "department": Department.objects.create(enterprise=enterprise, name="一部"),
                "supervisor": admin}
    samples = []
    for run in range(runs):
        t0 = time.perf_counter()
        with acting(actor=admin, ip="127.0.0.1", channel=Channel.UI):
            result = services.agents_create_range(enterprise=enterprise, start="1000", end="1999",
                                                  defaults=defaults)
        samples.append(time.perf_counter() - t0)
        assert len(result.agents) == 1000 and len(result.passwords) == 1000
        log(f"run {run + 1}: {samples[-1]:.2f} s")
        Agent.objects.filter(pk__in=[a.pk for a in result.agents]).delete()
    record = duration_record("agents-add-1000", db, samples, 5, agents=1000,
                             note="random 6-digit password per agent (temporary Argon2 hash), one audit row each")
    save(record)
    return [record]


# --- c) batch rename / move department from the Excel template -------------------------------------


def xlsx(importer, rows: list[list[str]]) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append([c.header + (" *" if c.required else "") for c in importer.columns])
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def bench_imports(db: str, runs: int = 3, only: set[str] | None = None) -> list[dict]:
    from callcenter.accounts.importers import AgentMoveDepartmentImporter, AgentRenameImporter
    from callcenter.accounts.models import Agent, Department
    from callcenter.core.choices import Channel
    from callcenter.core.context import acting
    from callcenter.core.importing import check_file, read_rows, run_import

    log("imports: enterprise with 5,000 agents (1000-5999) and 10 x 5 departments")
    enterprise, admin = make_enterprise("benchimp", agents=("1000", "5999"))
    paths = []
    for i in range(1, 11):
        top = Department.objects.create(enterprise=enterprise, name=f"事业部{i}")
        for j in range(1, 6):
            Department.objects.create(enterprise=enterprise, name=f"{j}组", parent=top)
            paths.append(f"事业部{i}/{j}组")  # "{j}组" alone is ambiguous: the full path is needed
    numbers = [str(n) for n in range(1000, 6000)]

    def rename_rows(run):
        return [[num, f"员工{num}-{run}"] for num in numbers]

    def department_rows(run):
        return [[num, paths[(k + run) % len(paths)]] for k, num in enumerate(numbers)]

    records = []
    for name, importer_class, make_rows, field in (
        ("import-rename-5000", AgentRenameImporter, rename_rows, "name"),
        ("import-department-5000", AgentMoveDepartmentImporter, department_rows, "department"),
    ):
        if only and name not in only:
            continue
        samples, read_s = [], []
        for run in range(runs):
            data = xlsx(importer_class(enterprise=enterprise, user=admin), make_rows(run))
            t0 = time.perf_counter()
            check_file(data)
            header, body = read_rows(data)
            t1 = time.perf_counter()
            importer = importer_class(enterprise=enterprise, user=admin)
            with acting(actor=admin, ip="127.0.0.1", channel=Channel.IMPORT):
                result = run_import(importer, header, body)
            samples.append(time.perf_counter() - t0)
            read_s.append(t1 - t0)
            assert result.saved == 5000 and not result.errors, (result.saved, result.errors[:3])
            log(f"{name} run {run + 1}: {samples[-1]:.2f} s (reading the file {read_s[-1]:.2f} s)")
        probe = Agent.objects.get(enterprise=enterprise, number="1234")
        if field == "name":
            assert probe.name == f"员工1234-{runs - 1}"
        else:
            assert probe.department.path().replace(" / ", "/") == paths[(234 + runs - 1) % len(paths)]
        record = duration_record(name, db, samples, 10, rows=5000, file_bytes=len(data),
                                 read_seconds_median=round(statistics.median(read_s), 3))
        save(record)
        records.append(record)
    return records
