"""The benchmarks themselves; imported only after django.setup() on the bench database."""

from __future__ import annotations

import io
import os
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


def measure_get(client, url: str, requests: int, warmup: int) -> tuple[list[float], list[float], object]:
    """GET `url` `warmup` times unmeasured, then `requests` times: (wall ms, CPU ms of this thread, last response).
    Every response must be 200."""
    for _ in range(warmup):
        assert client.get(url).status_code == 200, url
    samples, cpu = [], []
    response = None
    for _ in range(requests):
        t0, c0 = time.perf_counter(), time.thread_time()
        response = client.get(url)
        samples.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.thread_time() - c0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples, cpu, response


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
        samples, cpu, response = measure_get(client, url, requests, warmup)
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


# --- d) rendering and applying the PBX configuration of a large enterprise -------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _SimThread:
    """The simulated Asterisk in a thread of this process (its own event loop), on free ports."""

    def __init__(self, **config):
        import threading

        self.config = config
        self.loop = None
        self.server = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="pbx-sim", daemon=True)

    def _run(self) -> None:
        import asyncio

        from callcenter.pbx.sim.config import load_config
        from callcenter.pbx.sim.server import SimServer

        async def main():
            self.loop = asyncio.get_running_loop()
            self.stopped = asyncio.Event()
            self.server = await SimServer(load_config(env={}, **self.config)).start()
            self.ready.set()
            await self.stopped.wait()
            await self.server.stop()

        asyncio.run(main())

    def __enter__(self):
        self.thread.start()
        if not self.ready.wait(20):
            raise RuntimeError("the simulated Asterisk did not start")
        return self.server

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stopped.set)
        self.thread.join(10)


def seed_pbx_enterprise(code: str, *, agents: int = 1000, trunks: int = 100, queues: int = 200,
                        members_per_queue: int = 10):
    """An enterprise with `agents` agents (1000...), `trunks` trunks and `queues` queues with members."""
    from callcenter.accounts.models import Agent
    from callcenter.telephony.models import Queue, QueueMember, Trunk

    enterprise, admin = make_enterprise(code, agents=("1000", str(1000 + agents - 1)))
    Trunk.objects.bulk_create(
        Trunk(enterprise=enterprise, account=f"{code}{i:03d}", number=f"0208{i:07d}", concurrent_lines=30,
              prefix="" if i % 2 else "9", server_type="local" if i % 2 else "gateway",
              server_ip=None if i % 2 else f"10.1.{i // 250}.{1 + i % 250}")
        for i in range(trunks))
    agent_ids = list(Agent.objects.filter(enterprise=enterprise).exclude(pk=admin.pk).order_by("number")
                     .values_list("pk", flat=True))
    strategies = ["ringall", "linear", "rrmemory", "fewestcalls", "leastrecent", "random"]
    qs = Queue.objects.bulk_create(
        Queue(enterprise=enterprise, name=f"队列{i:03d}", extension=str(7000 + i), strategy=strategies[i % 6])
        for i in range(queues))
    QueueMember.objects.bulk_create(
        QueueMember(queue=q, agent_id=agent_ids[(qi * members_per_queue + k) % len(agent_ids)], position=k,
                    penalty=k % 3)
        for qi, q in enumerate(qs) for k in range(members_per_queue))
    return enterprise, admin


def bench_pbx_apply(db: str, runs: int = 3) -> list[dict]:
    from django.conf import settings
    from django.db.models import F

    from callcenter.pbx import selectors, services
    from callcenter.pbx.choices import ApplyStatus
    from callcenter.telephony.models import Queue

    log("pbx apply: enterprise with 1,000 agents, 100 trunks, 200 queues x 10 members")
    enterprise, admin = seed_pbx_enterprise("benchpbx")
    root = services.config_root()
    if root.exists():
        import shutil

        shutil.rmtree(root)
    root.mkdir(parents=True)
    services.config_write_initial(enterprise=enterprise)  # what a first install does; a real PBX reads it
    render_s, apply_s, reloads, sizes = [], [], [], {}
    with _SimThread(ari_port=_free_port(), ami_port=_free_port(), config_dir=str(root),
                    ami_user=settings.PBX["AMI_USER"], ami_secret=settings.PBX["AMI_SECRET"]) as sim:
        settings.PBX = {**settings.PBX, "AMI_PORT": sim.ami_port, "AMI_HOST": "127.0.0.1"}
        for run in range(runs):
            # Touch every file: a queue setting (queues.conf), an agent's name (pjsip.conf caller id)
            # and one agent's type, staff or not (extensions.conf), so each apply reloads all three.
            Queue.objects.filter(enterprise=enterprise).update(ring_seconds=F("ring_seconds") + 1)
            from callcenter.accounts.models import Agent

            Agent.objects.filter(enterprise=enterprise, number="1000").update(name=f"坐席-{run}")
            Agent.objects.filter(enterprise=enterprise, number="1001").update(  # staff: no outbound dialling
                agent_type="staff" if run % 2 == 0 else "normal")
            # 1. snapshot + build_release + swap (no reload), timed alone
            t0 = time.perf_counter()
            conf = selectors.snapshot(enterprise)
            t1 = time.perf_counter()
            release, _files = services.build_release(root, f"bench-render-{run}", conf, services.active_release(root),
                                                     app=settings.PBX["APP"], keep_codes={enterprise.code})
            t2 = time.perf_counter()
            previous = services.active_release(root)
            services._point_current(root, release)
            t3 = time.perf_counter()
            services._point_current(root, previous)  # back, so the full apply below sees real changes
            render_s.append({"snapshot": t1 - t0, "build_release": t2 - t1, "swap": t3 - t2, "total": t3 - t0})
            sizes = {p.name: p.stat().st_size for p in release.iterdir() if p.is_file()}
            # 2. the whole apply: snapshot, diff, record, render, swap, AMI reloads against the sim
            t0 = time.perf_counter()
            record = services.config_apply(enterprise=enterprise, user=admin)
            apply_s.append(time.perf_counter() - t0)
            assert record.status == ApplyStatus.OK, (record.status, record.message)
            reloads.append(record.summary.get("reloads"))
            log(f"run {run + 1}: render+swap {render_s[-1]['total']:.2f} s "
                f"(snapshot {render_s[-1]['snapshot']:.2f}, build {render_s[-1]['build_release']:.2f}), "
                f"config_apply {apply_s[-1]:.2f} s, reloads {reloads[-1]}")
        sim_state = {"pjsip_endpoints": len(sim.pbx.phones), "queues": len(sim.pbx.queues.state())}
    records = []
    common = dict(agents=1000, trunks=100, queues=200, queue_members=2000, file_bytes=sizes, sim=sim_state)
    record = duration_record(
        "pbx-apply-1000", db, apply_s, 2, **common, reloads=reloads,
        render_swap_median_s=round(statistics.median(r["total"] for r in render_s), 3),
        render_swap_runs=[{k: round(v, 3) for k, v in r.items()} for r in render_s],
        note="config_apply end to end: snapshot, diff against the last apply, ConfigApply row, render into a "
             "fresh release, symlink swap, AMI login + reloads of pjsip/queues/dialplan against the simulated "
             "Asterisk (in this process, a thread; it re-reads the swapped files on reload)")
    save(record)
    records.append(record)
    return records


# --- e) call control throughput against the simulated Asterisk ---------------------------------------

CC_CODE = "benchcc"
CC_DID = "4008009000"
CC_TRUNK = "02088889000"


def seed_callctl_enterprise(agents: int = 1200, callers: int = 500) -> list[str]:
    """1,200 agents in one round-robin group; a database route sends the listed callers to it."""
    from callcenter.accounts.models import Agent
    from callcenter.telephony.models import AgentGroup, AgentGroupMember, Route, Trunk

    enterprise, admin = make_enterprise(CC_CODE, agents=("1000", str(1000 + agents - 1)))
    Trunk.objects.create(enterprise=enterprise, account=f"{CC_CODE}001", number=CC_TRUNK, concurrent_lines=100_000)
    group = AgentGroup.objects.create(enterprise=enterprise, name="压测组", order_rule="round_robin")
    AgentGroupMember.objects.bulk_create(
        AgentGroupMember(group=group, agent_id=pk, position=i)
        for i, pk in enumerate(Agent.objects.filter(enterprise=enterprise).exclude(pk=admin.pk)
                               .order_by("number").values_list("pk", flat=True)))
    numbers = [f"1390{i:07d}" for i in range(callers)]
    Route.objects.create(enterprise=enterprise, kind="db", name="压测来电", numbers="\n".join(numbers),
                         destination_kind="group", destination="压测组")
    return numbers


class _DbTimer:
    """Wraps call control's `db` helper: busy time of the database thread, per function."""

    def __init__(self, service):
        from collections import defaultdict

        self.service = service
        self.original = service.db
        self.per_func = defaultdict(lambda: [0, 0.0])
        self.busy = 0.0

    def install(self) -> None:
        original = self.original

        def timed_db(func):
            name = getattr(func, "__qualname__", repr(func))

            def run(*args, **kwargs):
                t0 = time.perf_counter()
                try:
                    return func(*args, **kwargs)
                finally:
                    dt = time.perf_counter() - t0
                    self.busy += dt
                    entry = self.per_func[name]
                    entry[0] += 1
                    entry[1] += dt

            return original(run)  # the service's own wrapper: same thread, same connection handling

        self.service.db = timed_db

    def uninstall(self) -> None:
        self.service.db = self.original

    def reset(self) -> None:
        self.per_func.clear()
        self.busy = 0.0

    def top(self, n: int = 12) -> list[dict]:
        rows = sorted(self.per_func.items(), key=lambda kv: kv[1][1], reverse=True)[:n]
        return [{"func": k, "calls": c, "total_s": round(t, 3), "mean_ms": round(1000 * t / c, 3)}
                for k, (c, t) in rows]


def _proc_cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: PTH123, SIM115
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_callctl(db: str, *, window: float = 20.0, warmup: float = 5.0, offered_per_s: float = 80.0,
                  ramp_per_s: float = 100.0, ramp_limit_s: float = 40.0) -> list[dict]:
    import asyncio
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import httpx
    from django.conf import settings

    from bench import ROOT
    from callcenter.pbx.asterisk.ari import AriClient
    from callcenter.pbx.callctl import service
    from callcenter.pbx.callctl.service import CallControl

    log("callctl: enterprise with 1,200 agents in a round-robin group, a database route to it")
    callers = seed_callctl_enterprise()
    app = settings.PBX["APP"]
    ari_port, ami_port = _free_port(), _free_port()
    world = {
        "auto_endpoints": True, "default_trunk_lines": 1_000_000, "trunks": {"trunk1": {"lines": 1_000_000}},
        "phone_defaults": {"mode": "auto", "answer_probability": 1.0, "progress_delay": 0.1,
                           "ring_time": [0.3, 0.6], "talk_time": None},
        "inbound": {"dids": [CC_DID], "rate_per_hour": 0, "trunk": "trunk1", "callers": callers,
                    "profile": {"answer_probability": 1.0, "patience": 600.0, "talk_time": [2.0, 2.0]}},
        "dialplan": (f"[from-trunk]\nexten => _X.,1,Stasis({app},inbound,{CC_CODE},${{EXTEN}},{CC_TRUNK})\n"
                     " same => n,Hangup()\n"),
    }
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0]
    sim_core = cores[1] if len(cores) > 1 else cores[0]
    ctl_core = cores[0]
    user = password = "bench"  # noqa: S105 - a throwaway simulator

    def pin_sim() -> None:
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {sim_core})

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CALLCENTER_SIM_", "CALLCENTER_PBX_", "DATABASE_URL"))}
    env["PYTHONPATH"] = str(ROOT)
    tmp = tempfile.TemporaryDirectory()
    cfg = Path(tmp.name) / "sim.json"
    cfg.write_text(json.dumps({"ari_port": ari_port, "ami_port": ami_port, "ari_user": user, "ari_password": password,
                               "time_scale": 1.0, "seed": 11, "app": app, "world": world}))
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "callcenter.pbx.sim", "--config", str(cfg), "-v", "0"], cwd=ROOT, env=env,
        preexec_fn=pin_sim, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: PLW1509
    base = f"http://127.0.0.1:{ari_port}"
    old_affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if old_affinity is not None:
        os.sched_setaffinity(0, {ctl_core})
    timer = _DbTimer(service)
    timer.install()
    finished: list[tuple[float, bool]] = []
    load_before = os.getloadavg()
    service.freeze_startup_heap()  # as `manage.py callctl` does at start

    async def main() -> dict:
        # The simulator shares a busy machine: its control API may answer slowly under load.
        async with httpx.AsyncClient(base_url=base, auth=(user, password), timeout=60) as http:
            for _ in range(200):
                try:
                    if (await http.get("/sim/state")).status_code == 200:
                        break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
            ari = AriClient(base, user, password, app)
            control = CallControl(ari, time_scale=1.0, command_poll_seconds=1.0, seed=3)
            original_finish = control._finish

            async def counted_finish(call, cause, outcome=None):
                await original_finish(call, cause, outcome)
                if call.kind == "inbound":
                    finished.append((time.perf_counter(), bool(call.bridge_id)))

            control._finish = counted_finish
            task = asyncio.create_task(control.run())
            await asyncio.sleep(0.5)

            async def sample(until: float, peaks: dict, stop_when=None) -> None:
                while time.perf_counter() < until:
                    in_progress = len(control.calls)
                    connected = sum(1 for c in control.calls.values() if c.bridge_id)
                    peaks["calls"] = max(peaks.get("calls", 0), in_progress)
                    peaks["connected"] = max(peaks.get("connected", 0), connected)
                    peaks.setdefault("series", []).append((round(time.perf_counter() - peaks["t0"], 1),
                                                           in_progress, connected))
                    if stop_when and stop_when(in_progress, connected):
                        return
                    await asyncio.sleep(0.5)

            async def drain(limit: float) -> None:
                end = time.perf_counter() + limit
                while control.calls and time.perf_counter() < end:
                    await asyncio.sleep(0.25)

            # Phase 1: sustained throughput, short calls (2 s talk), offered above the goal.
            await http.post("/sim/traffic", json={"rate_per_hour": offered_per_s * 3600,
                                                  "profile": {"answer_probability": 1.0, "patience": 600.0,
                                                              "talk_time": [2.0, 2.0]}})
            t0 = time.perf_counter()
            peaks1: dict = {"t0": t0}
            await sample(t0 + warmup, peaks1)
            timer.reset()
            cpu0, sim_cpu0, n0 = time.process_time(), _proc_cpu_seconds(proc.pid), len(finished)
            w0 = time.perf_counter()
            await sample(w0 + window, peaks1)
            w1 = time.perf_counter()
            cpu1, sim_cpu1 = time.process_time(), _proc_cpu_seconds(proc.pid)
            in_window = [ok for (t, ok) in finished[n0:] if w0 <= t <= w1]
            db_top, db_busy = timer.top(), timer.busy
            await http.post("/sim/traffic", json={"rate_per_hour": 0})
            await drain(60)
            phase1 = {
                "offered_calls_per_s": offered_per_s, "window_s": window,
                "completed_calls": len(in_window), "completed_connected": sum(in_window),
                "calls_per_second": round(len(in_window) / (w1 - w0), 1),
                "peak_in_progress": peaks1["calls"],
                "callctl_cpu_pct": round(100 * (cpu1 - cpu0) / (w1 - w0), 1),
                "callctl_cpu_ms_per_call": round(1000 * (cpu1 - cpu0) / max(1, len(in_window)), 2),
                "sim_cpu_pct": round(100 * (sim_cpu1 - sim_cpu0) / (w1 - w0), 1),
                "db_thread_busy_pct": round(100 * db_busy / (w1 - w0), 1),
                "db_top": db_top, "left_after_drain": len(control.calls),
                "series": peaks1["series"][::4],
            }
            log(f"throughput: {phase1['calls_per_second']} calls/s completed ({phase1['completed_connected']} "
                f"connected) at {offered_per_s}/s offered; peak {phase1['peak_in_progress']} in progress; "
                f"callctl CPU {phase1['callctl_cpu_pct']} %, DB thread busy {phase1['db_thread_busy_pct']} %, "
                f"sim CPU {phase1['sim_cpu_pct']} %")

            # Phase 2: calls that stay up (talk 1 h): how many are held at once.
            await http.post("/sim/traffic", json={"rate_per_hour": ramp_per_s * 3600,
                                                  "profile": {"answer_probability": 1.0, "patience": 7200.0,
                                                              "talk_time": [3600.0, 3600.0]}})
            t0 = time.perf_counter()
            peaks2: dict = {"t0": t0}
            await sample(t0 + ramp_limit_s, peaks2, stop_when=lambda calls, connected: connected >= 1150)
            ramp_s = time.perf_counter() - t0
            await http.post("/sim/traffic", json={"rate_per_hour": 0})
            state = (await http.get("/sim/state")).json()
            sim_channels = len(state["channels"])
            phase2 = {"offered_calls_per_s": ramp_per_s, "ramp_s": round(ramp_s, 1),
                      "peak_in_progress": peaks2["calls"], "peak_connected": peaks2["connected"],
                      "sim_channels_at_end": sim_channels, "series": peaks2["series"][::4]}
            log(f"concurrency: peak {phase2['peak_in_progress']} calls in progress, {phase2['peak_connected']} "
                f"connected to agents after {ramp_s:.0f} s; sim holds {sim_channels} channels")
            control.stop()
            await task
            await ari.close()
            return {"phase1": phase1, "phase2": phase2}

    try:
        result = asyncio.run(main())
    finally:
        timer.uninstall()
        if old_affinity is not None:
            os.sched_setaffinity(0, old_affinity)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        tmp.cleanup()
    p1, p2 = result["phase1"], result["phase2"]
    rate, peak = p1["calls_per_second"], max(p2["peak_in_progress"], p1["peak_in_progress"])
    record = {
        "name": "callctl-throughput", "db": db,
        "calls_per_second": rate, "max_concurrent": peak, "max_connected": p2["peak_connected"],
        "budget": "calls/s >= 50 and concurrent >= 1000", "within_budget": rate >= 50 and peak >= 1000,
        "callctl_core": ctl_core, "sim_core": sim_core, "throughput": p1, "concurrency": p2,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "scenario": "sim in its own process (python -m callcenter.pbx.sim, time_scale 1) pinned to one core, "
                    "CallControl in the bench process pinned to the other; Poisson inbound traffic from the sim's "
                    "generator to a DID; a database route sends every caller to a 1,200-agent round-robin group; "
                    "agent phones auto-answer after 0.3-0.6 s; caller hangs up after the talk time",
    }
    save(record)
    return [record]


# Entry points named in bench/__main__.py RUNNERS.
def run_agents(db: str, *, only: set[str], rows: int) -> list[dict]:
    return bench_agents_add(db)


def run_imports(db: str, *, only: set[str], rows: int) -> list[dict]:
    return bench_imports(db, only=only)


def run_pbx(db: str, *, only: set[str], rows: int) -> list[dict]:
    return bench_pbx_apply(db)


def run_callctl(db: str, *, only: set[str], rows: int) -> list[dict]:
    return bench_callctl(db)


def run_loginlog(db: str, *, only: set[str], rows: int) -> list[dict]:
    return bench_loginlog(db, rows)
