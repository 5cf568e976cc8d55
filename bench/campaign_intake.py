"""The intake benchmark of issue 6 (任务发送 T1): create a task from a 50,000-number file.

One enterprise (`benchtask`) holds 100,000 customers in the category 老客户 and 10,000
blacklist entries (outbound or both directions). Each run creates a task from a fresh text
file of 50,000 non-blank lines, written the way users send them (GB18030 with CRLF, some
numbers with +86 / 0086 prefixes, dashes, spaces or full-width digits):

- 25,000 lines are numbers of existing customers (half the file), whose category is
  overwritten with the task's (the category alternates per run, so every run updates them);
- 1,000 lines are blacklisted numbers, 1,000 repeat an earlier line (de-duplication), 200 are
  not numbers;
- the rest are new numbers, whose customers are created in the task's category.

Measured: `services.task_create` with the file's bytes, as the T1 page calls it after the
upload: decoding, the cap, normalising, de-duplication, the blacklist, "called today", the
customer upsert and the bulk writes of TaskNumber and TaskDrop rows, in one transaction (the
inline path; the worker runs the same `intake.apply`). Budget: median <= 5 s, on SQLite and
on PostgreSQL.
"""

from __future__ import annotations

import os
import time

from django.conf import settings
from django.db import connection
from django.utils import timezone

from bench import duration_record
from bench.cases import log, make_enterprise, save

CODE = "benchtask"
CUSTOMERS = 100_000
BLACKLIST = 10_000
LINES = 50_000
EXISTING_IN_FILE = 25_000
BLACKLISTED_IN_FILE = 1_000
REPEATS_IN_FILE = 1_000
INVALID_IN_FILE = 200
RUNS = int(os.environ.get("BENCH_INTAKE_RUNS", "3"))
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def customer_phone(i: int) -> str:
    return f"139{(i * 7919) % 10**8:08d}"


def blacklist_phone(i: int) -> str:
    return f"137{i:08d}"


def new_phone(run: int, i: int) -> str:
    return f"15{run}{i:08d}"


def dress(phone: str, i: int) -> str:
    """A number as people type it: one line in eight is dressed up."""
    kind = i % 8
    if kind == 1:
        return "+86 " + phone
    if kind == 2:
        return f"{phone[:3]}-{phone[3:7]}-{phone[7:]}"
    if kind == 3:
        return "0086" + phone
    if kind == 4:
        return phone.translate(FULL_WIDTH)
    if kind == 5:
        return f" {phone} "
    return phone


def seed():
    from callcenter.accounts.models import Agent
    from callcenter.core.models import Enterprise
    from callcenter.crm import services as crm
    from callcenter.crm.models import Customer
    from callcenter.telephony import services as tel
    from callcenter.telephony.models import BlacklistEntry

    existing = Enterprise.objects.filter(code=CODE).first()
    if existing is not None:
        existing.delete()
    enterprise, admin = make_enterprise(CODE, agents=("1000", "1009"))
    agents = list(Agent.objects.filter(enterprise=enterprise, number__gte="1000").order_by("number"))
    group = tel.group_create(enterprise=enterprise, values={"name": "外呼组"}, members=agents)
    flow = tel.callflow_create(enterprise=enterprise, values={"name": "外呼流程", "transfer_mode": "direct",
                                                              "agent_group": group})
    old = crm.category_create(enterprise=enterprise, name="老客户")
    cats = [crm.category_create(enterprise=enterprise, name=f"活动{n}") for n in (1, 2)]
    t0 = time.perf_counter()
    now = timezone.now()
    for start in range(0, CUSTOMERS, 5000):
        Customer.objects.bulk_create([
            Customer(enterprise=enterprise, category=old, owner=agents[i % len(agents)], phone=customer_phone(i),
                     name=f"客户{i}", created_at=now) for i in range(start, min(start + 5000, CUSTOMERS))],
            batch_size=1000)
    BlacklistEntry.objects.bulk_create([
        BlacklistEntry(enterprise=enterprise, number=blacklist_phone(i), direction="out" if i % 2 else "both")
        for i in range(BLACKLIST)], batch_size=2000)
    log(f"intake: {CUSTOMERS:,} customers and {BLACKLIST:,} blacklist entries in {time.perf_counter() - t0:.1f} s")
    return enterprise, admin, flow, cats


def number_file(run: int) -> bytes:
    """50,000 non-blank lines (and a few blank ones), GB18030 with CRLF."""
    lines: list[str] = []
    new_needed = LINES - EXISTING_IN_FILE - BLACKLISTED_IN_FILE - REPEATS_IN_FILE - INVALID_IN_FILE
    for i in range(EXISTING_IN_FILE):
        lines.append(dress(customer_phone((i * 3 + run) % CUSTOMERS), i))
    for i in range(BLACKLISTED_IN_FILE):
        lines.append(dress(blacklist_phone(i * 7), i))
    for i in range(new_needed):
        lines.append(dress(new_phone(run, i), i))
    for i in range(REPEATS_IN_FILE):
        lines.append(lines[i * 37 % len(lines)].strip())
    for i in range(INVALID_IN_FILE):
        lines.append(f"电话{i}")
    # interleave deterministically, with a blank line every 5,000
    order = sorted(range(len(lines)), key=lambda k: (k * 2654435761) % 2**32)
    out = []
    for n, k in enumerate(order):
        out.append(lines[k])
        if n % 5000 == 4999:
            out.append("")
    return "\r\n".join(out).encode("gb18030") + b"\r\n"


def server_cpu() -> float | None:
    """CPU seconds used so far by the PostgreSQL backend serving this connection (same machine,
    Linux /proc), so a busy machine's wall time can be told from the work done; None on SQLite
    (the database works inside this process) or when it cannot be read."""
    if connection.vendor != "postgresql":
        return None
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115 - read at once
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def wal_position() -> int | None:
    """PostgreSQL's WAL insert position in bytes (what an intake writes to the WAL: its I/O, which a
    busy disk makes wait); None on SQLite."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
        return int(cursor.fetchone()[0])


def bench_intake(db: str) -> list[dict]:
    from callcenter.campaigns import intake, services
    from callcenter.campaigns.models import Task, TaskNumber
    from callcenter.core.choices import Channel
    from callcenter.core.context import acting
    from callcenter.crm.models import Customer

    settings.CALLCENTER = {**settings.CALLCENTER, "TASK_INLINE_NUMBERS": 10**9}  # measure the whole intake inline
    log("intake: seeding")
    enterprise, admin, flow, cats = seed()
    samples, details = [], []
    for run in range(RUNS):
        data = number_file(run)
        category = cats[run % 2]
        customers_before = Customer.objects.filter(enterprise=enterprise).count()
        server0, wal0 = server_cpu(), wal_position()
        t0, cpu0 = time.perf_counter(), time.process_time()
        statements = []

        def count(execute, sql, params, many, context, statements=statements):
            # counted, not captured: Django's query capture quotes every parameter of the IN lists
            statements.append(many)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count), acting(actor=admin, channel=Channel.UI, ip="127.0.0.1"):
            source = intake.read_file(data, f"run{run}.txt")
            t_read = time.perf_counter()
            created = services.task_create(enterprise=enterprise, user=admin, source=source, submit=True, values={
                "name": f"压测任务{run}", "flow": flow, "category": category, "start_at": None, "windows": [],
                "dedupe": True, "recall_called_today": False, "skip_existing_customers": False})
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        server1, wal1 = server_cpu(), wal_position()
        server = round(server1 - server0, 3) if server0 is not None and server1 is not None else None
        task = Task.objects.get(pk=created.task.pk)
        summary = task.intake
        assert not created.in_worker and task.status == "running", (task.status, summary)
        assert summary["lines"] == LINES, summary
        assert summary["dropped"].get("blacklisted") == BLACKLISTED_IN_FILE, summary
        assert summary["dropped"].get("invalid") == INVALID_IN_FILE, summary
        assert summary["customers_updated"] >= EXISTING_IN_FILE - REPEATS_IN_FILE, summary
        assert TaskNumber.objects.filter(task=task).count() == summary["accepted"]
        created_now = Customer.objects.filter(enterprise=enterprise).count() - customers_before
        assert created_now == summary["customers_created"], (created_now, summary)
        samples.append(elapsed)
        # this process's CPU time: on SQLite the database works inside it too, so on a busy machine
        # this is close to what the wall time would be on an idle one
        details.append({"seconds": round(elapsed, 3), "cpu_seconds": round(cpu, 3), "server_cpu_seconds": server,
                        "wal_mib": round((wal1 - wal0) / 2**20, 1) if wal0 is not None else None,
                        "loadavg_1m": round(os.getloadavg()[0], 2),
                        "read_parse_seconds": round(t_read - t0, 3),
                        "queries": len(statements), "accepted": summary["accepted"],
                        "dropped": summary["dropped"], "customers_created": summary["customers_created"],
                        "customers_updated": summary["customers_updated"], "file_bytes": len(data)})
        log(f"campaign-intake-50k run {run + 1}: {elapsed:.2f} s, CPU {cpu:.2f} s"
            + (f" + server {server:.2f} s" if server is not None else "") + f" ({len(statements)} queries; "
            f"accepted {summary['accepted']:,}, created {summary['customers_created']:,}, "
            f"updated {summary['customers_updated']:,}, dropped {summary['dropped']})")
    record = duration_record("campaign-intake-50k", db, samples, 5, lines=LINES, existing_customers=CUSTOMERS,
                             blacklist_entries=BLACKLIST, runs_detail=details,
                             note="services.task_create inline: decode GB18030/CRLF, cap, normalise, de-dupe, "
                                  "blacklist, called-today, customer upsert (half existing), bulk TaskNumber/TaskDrop")
    save(record)
    return [record]


def run_intake(db: str, *, only: set[str], rows: int) -> list[dict]:
    return bench_intake(db)


__all__ = ["run_intake"]
