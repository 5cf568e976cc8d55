"""Benchmarks of the call records (T7 通话详单) over a million rows.

  cdr-list-page1 / -deep / -last   GET /calls/cdrs/ as the administrator: page 1, a page half-way
                                   down (keyset cursor at row 500,000), the last page   p95 <= 100 ms
  cdr-list-agent / -number / -task the same list filtered by one agent (~1,000 rows of 1M), one
                                   number (4 rows) and one campaign task (~18,000 rows) p95 <= 100 ms
  cdr-export-1m                    the worker's export job of all 1,000,000 rows to xlsx, run in a
                                   fresh interpreter as the Huey worker runs it: <= 60 s, peak RSS <= 200 MiB

Rows: 1,000,000 CDRs of one enterprise of 1,000 agents over ~350 days (one every 30 s), 90 %
outbound campaign calls of 50 tasks (in blocks of 1,000), 10 % inbound; two in three answered by
an agent, one in ten of those recorded; 1,000 of them quality-reviewed. Generated in SQL on
PostgreSQL (generate_series) and by executemany on SQLite.
"""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta
from pathlib import Path

from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench import duration_record, latency_record, p95
from bench.cases import BACKEND, explain, log, make_enterprise, measure_get, save, slowest
from bench.export_job import run_in_child, sheet_rows

CODE = "benchcdr"
AGENTS = ("1000", "1999")
TASKS = 50
TASK_BLOCK = 1000  # consecutive outbound calls of one task
NUMBERS = 250_000  # distinct customer numbers: each appears rows / NUMBERS times
TRUNK = "02088889000"
DID = "4008009000"
REVIEWS = 1000


def callee_of(g: int) -> str:
    return f"138{g % NUMBERS:08d}"


def _cdr_rows(enterprise_id: int, agents: list[tuple[int, str]], task_ids: list[int], start, lo: int, hi: int):
    """Rows g in [lo, hi) for SQLite's executemany, the same as the PostgreSQL INSERT ... SELECT."""
    from django.db import connection as conn

    adapt = conn.ops.adapt_datetimefield_value
    n = len(agents)
    for g in range(lo, hi):
        inbound = g % 10 == 0
        answered = g % 3 != 0
        at = start + timedelta(seconds=30 * g)
        ring = 5 + g % 20
        talk = 30 + g % 300 if answered else 0
        agent_id, number = agents[(g * 7919) % n] if answered else (None, "")
        cause = 16 if answered else {0: 19, 3: 17, 6: 34}[g % 9]
        yield (enterprise_id, f"b{g}", "in" if inbound else "out",
               callee_of(g) if inbound else TRUNK, DID if inbound else callee_of(g), DID if inbound else "",
               agent_id, number, "外呼组" if not inbound else "客服组", "", adapt(at),
               adapt(at + timedelta(seconds=ring)) if answered else None,
               adapt(at + timedelta(seconds=ring + talk)), ring, talk, cause, "", "", "",
               None if inbound else task_ids[(g // TASK_BLOCK) % len(task_ids)])


CDR_COLUMNS = ("enterprise_id, call_id, direction, caller, callee, did, agent_id, agent_number, group_name, "
               "queue_name, started_at, answered_at, ended_at, ring_seconds, talk_seconds, cause, cause_text, "
               "last_key, outcome, task_id")


def load_cdrs(enterprise, agents, task_ids: list[int], rows: int) -> float:
    t0 = time.perf_counter()
    start = timezone.now() - timedelta(seconds=30 * rows)
    pairs = [(a.pk, a.number) for a in agents]
    if connection.vendor == "postgresql":
        sql = f"""
            INSERT INTO calls_cdr ({CDR_COLUMNS})
            SELECT %(ent)s, 'b' || g, CASE WHEN g %% 10 = 0 THEN 'in' ELSE 'out' END,
                   CASE WHEN g %% 10 = 0 THEN '138' || lpad((g %% %(numbers)s)::text, 8, '0') ELSE %(trunk)s END,
                   CASE WHEN g %% 10 = 0 THEN %(did)s ELSE '138' || lpad((g %% %(numbers)s)::text, 8, '0') END,
                   CASE WHEN g %% 10 = 0 THEN %(did)s ELSE '' END,
                   CASE WHEN g %% 3 = 0 THEN NULL ELSE (%(ids)s::bigint[])[(1 + (g * 7919) %% %(n)s)::int] END,
                   CASE WHEN g %% 3 = 0 THEN '' ELSE (%(nums)s::text[])[(1 + (g * 7919) %% %(n)s)::int] END,
                   CASE WHEN g %% 10 = 0 THEN '客服组' ELSE '外呼组' END, '',
                   %(start)s::timestamptz + g * interval '30 seconds',
                   CASE WHEN g %% 3 = 0 THEN NULL
                        ELSE %(start)s::timestamptz + g * interval '30 seconds' + (5 + g %% 20) * interval '1 second'
                   END,
                   %(start)s::timestamptz + g * interval '30 seconds' + (5 + g %% 20
                        + CASE WHEN g %% 3 = 0 THEN 0 ELSE 30 + g %% 300 END) * interval '1 second',
                   5 + g %% 20, CASE WHEN g %% 3 = 0 THEN 0 ELSE 30 + g %% 300 END,
                   CASE WHEN g %% 3 <> 0 THEN 16 WHEN g %% 9 = 0 THEN 19 WHEN g %% 9 = 3 THEN 17 ELSE 34 END,
                   '', '', '',
                   CASE WHEN g %% 10 = 0 THEN NULL
                        ELSE (%(tasks)s::bigint[])[(1 + (g / %(block)s) %% %(ntasks)s)::int] END
            FROM generate_series(0::bigint, %(rows)s::bigint - 1) AS g
        """
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(sql, {"ent": enterprise.pk, "numbers": NUMBERS, "trunk": TRUNK, "did": DID,
                              "ids": [p[0] for p in pairs], "nums": [p[1] for p in pairs], "n": len(pairs),
                              "start": start, "tasks": task_ids, "block": TASK_BLOCK, "ntasks": len(task_ids),
                              "rows": rows})
    else:
        placeholders = ", ".join(["%s"] * len(CDR_COLUMNS.split(",")))
        sql = f"INSERT INTO calls_cdr ({CDR_COLUMNS}) VALUES ({placeholders})"
        step = 200_000
        for lo in range(0, rows, step):
            with transaction.atomic(), connection.cursor() as cur:
                cur.executemany(sql, _cdr_rows(enterprise.pk, pairs, task_ids, start, lo, min(lo + step, rows)))
    _load_recordings_and_reviews(enterprise, agents)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            for table in ("calls_cdr", "calls_recording", "calls_qualityreview"):
                cur.execute(f"VACUUM ANALYZE {table}")
        else:
            cur.execute("ANALYZE")
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return time.perf_counter() - t0


def _load_recordings_and_reviews(enterprise, agents) -> None:
    """A recording for one answered outbound call in ten; a quality review for 1,000 calls."""
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "INSERT INTO calls_recording (enterprise_id, call_id, agent_id, file, url, duration_seconds, created_at)"
            " SELECT enterprise_id, call_id, agent_id, '', 'ari:' || call_id, talk_seconds, ended_at"
            " FROM calls_cdr WHERE enterprise_id = %s AND agent_id IS NOT NULL AND id %% 10 = 1",
            [enterprise.pk])
        cur.execute(
            "UPDATE calls_cdr SET recording_id = (SELECT r.id FROM calls_recording r"
            " WHERE r.call_id = calls_cdr.call_id) WHERE enterprise_id = %s AND agent_id IS NOT NULL"
            " AND id %% 10 = 1", [enterprise.pk])
        admin = agents[0]
        cur.execute(
            "INSERT INTO calls_qualityreview (enterprise_id, cdr_id, agent_id, score, comment, reviewer_id,"
            " reviewed_at) SELECT enterprise_id, id, agent_id, 60 + id %% 40, '抽检', %s, ended_at FROM calls_cdr"
            " WHERE enterprise_id = %s AND agent_id IS NOT NULL AND id %% 997 = 0 ORDER BY id LIMIT %s",
            [admin.pk, enterprise.pk, REVIEWS])


_SEED = None


def ensure_seed(rows: int):
    global _SEED
    if _SEED is not None:
        return _SEED
    from callcenter.accounts.models import Agent
    from callcenter.calls.models import Cdr
    from callcenter.campaigns.models import Task
    from callcenter.crm import services as crm
    from callcenter.telephony import services as tel

    log(f"cdrs: enterprise {CODE} with agents {AGENTS[0]}-{AGENTS[1]}, {TASKS} tasks and {rows:,} call records")
    enterprise, admin = make_enterprise(CODE, agents=AGENTS)
    agents = list(Agent.objects.filter(enterprise=enterprise).exclude(pk=admin.pk).order_by("number"))
    group = tel.group_create(enterprise=enterprise, values={"name": "外呼组"}, members=agents[:20])
    flow = tel.callflow_create(enterprise=enterprise, values={"name": "回访流程", "transfer_mode": "direct",
                                                              "agent_group": group})
    category = crm.category_create(enterprise=enterprise, name="回访客户")
    tasks = Task.objects.bulk_create([Task(enterprise=enterprise, name=f"回访任务{i + 1:02d}", flow=flow,
                                           category=category, status="ended", submitted=True, created_by=admin)
                                      for i in range(TASKS)])
    task_ids = [t.pk for t in tasks] if all(t.pk for t in tasks) else list(
        Task.objects.filter(enterprise=enterprise).order_by("pk").values_list("pk", flat=True))
    load_s = load_cdrs(enterprise, agents, task_ids, rows)
    total = Cdr.objects.filter(enterprise=enterprise).count()
    assert total == rows, (total, rows)
    log(f"loaded {total:,} call records in {load_s:.1f} s")
    _SEED = {"enterprise": enterprise, "admin": admin, "agents": agents, "task_ids": task_ids, "rows": rows,
             "load_s": load_s}
    return _SEED


def _client(user) -> Client:
    client = Client()
    client.force_login(user, backend=BACKEND)
    return client


# --- the list -----------------------------------------------------------------------------------------


def bench_list(db: str, seed: dict, only: set[str], requests: int = 20, warmup: int = 3) -> list[dict]:
    from callcenter.calls.models import Cdr
    from callcenter.core.pagination import encode_cursor

    enterprise = seed["enterprise"]
    client = _client(seed["admin"])
    ordered = Cdr.objects.filter(enterprise=enterprise).order_by("-started_at", "-id")
    middle = ordered.values_list("started_at", "pk")[seed["rows"] // 2]
    cursor = encode_cursor([middle[0].isoformat(), middle[1]])
    agent = seed["agents"][len(seed["agents"]) // 2]
    task_id = seed["task_ids"][len(seed["task_ids"]) // 2]
    number = callee_of(123_457)
    counts = {
        "agent": Cdr.objects.filter(enterprise=enterprise, agent=agent).count(),
        "number": Cdr.objects.filter(enterprise=enterprise, callee=number).count()
        + Cdr.objects.filter(enterprise=enterprise, caller=number).count(),
        "task": Cdr.objects.filter(enterprise=enterprise, task_id=task_id).count(),
    }
    cases = [
        ("cdr-list-page1", "/calls/cdrs/", 50, {}),
        ("cdr-list-deep", f"/calls/cdrs/?after={cursor}", 50, {"cursor_row": seed["rows"] // 2}),
        ("cdr-list-last", "/calls/cdrs/?page=last", 50, {}),
        ("cdr-list-agent", f"/calls/cdrs/?agent={agent.pk}", counts["agent"], {"matching_rows": counts["agent"]}),
        ("cdr-list-number", f"/calls/cdrs/?number={number}", counts["number"], {"matching_rows": counts["number"]}),
        ("cdr-list-task", f"/calls/cdrs/?task_id={task_id}", counts["task"], {"matching_rows": counts["task"]}),
    ]
    records = []
    for name, url, expect_rows, extra in cases:
        if name not in only:
            continue
        samples, cpu, response = measure_get(client, url, requests, warmup)
        shown = len(re.findall(rb'href="/calls/cdrs/\d+/"', response.content))
        assert shown == min(expect_rows, 50), (url, shown, expect_rows)
        with CaptureQueriesContext(connection) as ctx:
            client.get(url)
        page_sql = next(q["sql"] for q in ctx.captured_queries
                        if q["sql"].startswith('SELECT "calls_cdr"') and "ORDER BY" in q["sql"])
        record = latency_record(
            name, db, samples, 100, url=url, rows=seed["rows"], load_seconds=round(seed["load_s"], 1),
            rows_shown=shown, p95_cpu_ms=round(p95(cpu), 2), median_cpu_ms=round(statistics.median(cpu), 2),
            queries=len(ctx.captured_queries), slowest_queries=slowest(ctx.captured_queries),
            page_query_plan=explain(page_sql), **extra)
        records.append(save(record))
        log(f"{name}: p95 {record['p95_ms']:.1f} ms, median {record['median_ms']:.1f} ms, {record['queries']} queries")
    return records


# --- the export ---------------------------------------------------------------------------------------


def bench_export(db: str, seed: dict) -> list[dict]:
    from callcenter.core.choices import JobKind, JobStatus
    from callcenter.core.models import Job

    log(f"export: {seed['rows']:,} call records through the worker's export job, in a child process")
    response = _client(seed["admin"]).get("/calls/cdrs/export/")
    assert response.status_code == 302, response.status_code  # over EXPORT_STREAM_ROWS: a job
    job = Job.objects.filter(enterprise=seed["enterprise"], kind=JobKind.EXPORT).latest("pk")
    stats, wall = run_in_child(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE and job.succeeded == seed["rows"], (job.status, job.succeeded, job.message)
    sheets = sheet_rows(job.result_file)
    assert sum(sheets) == seed["rows"] and max(sheets) <= 1_000_000, sheets
    size = Path(job.result_file).stat().st_size
    Path(job.result_file).unlink()
    peak_mib = stats["peak_rss_kib"] / 1024
    seconds = stats["seconds"]
    record = duration_record(
        "cdr-export-1m", db, [seconds], 60, rows=seed["rows"], file_bytes=size, sheet_rows=sheets,
        process_wall_s=round(wall, 2), cpu_s=round(stats["cpu_seconds"], 2), peak_rss_mib=round(peak_mib, 1),
        rss_after_setup_mib=round(stats["rss_before_kib"] / 1024, 1), memory_budget_mib=200,
        memory="peak RSS (VmHWM) of the child process that ran the worker's run_export_job, interpreter and "
               "Django included; rss_after_setup_mib is its RSS before the job",
        note="GET /calls/cdrs/export/ as the administrator (over EXPORT_STREAM_ROWS, so a Job), then "
             "callcenter.core.tasks.run_export_job in a fresh interpreter, as the Huey worker runs it; median_s "
             "is the job's own time, process_wall_s includes the interpreter's start and django.setup(); cpu_s is "
             "the job's CPU time (user + system): far below median_s means the process waited for a core")
    record["budget"] = "<= 60 s and peak RSS <= 200 MiB"
    record["within_budget"] = seconds <= 60 and peak_mib <= 200
    log(f"export: {seconds:.1f} s ({stats['cpu_seconds']:.1f} s CPU), peak RSS {peak_mib:.0f} MiB (after setup "
        f"{stats['rss_before_kib'] / 1024:.0f} MiB), {size / 1e6:.1f} MB, sheets {sheets}")
    return [save(record)]


def run_cdrs(db: str, *, only: set[str], rows: int) -> list[dict]:
    seed = ensure_seed(rows)
    records = []
    if any(n.startswith("cdr-list") for n in only):
        records += bench_list(db, seed, only)
    if "cdr-export-1m" in only:
        records += bench_export(db, seed)
    return records
