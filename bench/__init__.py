"""Benchmarks of the callcenter back office: `make bench`, i.e. `python -m bench`.

Each benchmark runs against a dedicated database (a file under var/bench/ for SQLite, a
fresh `callcenter_bench` database for PostgreSQL), never the development or test one, and
writes one JSON record per measurement to bench/results/<name>-<db>.json. Those records
are committed as the record of the last measurement (machine and load average included).

Budgets:
  loginlog-list-*           p95 of GET /accounts/loginlogs/ over 1,000,000 rows   <= 100 ms
  agents-add-1000           median of 3 runs of agents_create_range (1,000 agents) <= 5 s
  import-rename-5000        batch rename of 5,000 agents from the Excel template  <= 10 s
  import-department-5000    batch department move of 5,000 agents                  <= 10 s
  pbx-apply-1000            median of 3 config_apply (1,000 agents, 100 trunks, 200 queues),
                            AMI reloads against the simulated Asterisk included      <= 2 s
  callctl-throughput        call control on one core against the simulated Asterisk on
                            the other: completed calls/s over 20 s >= 50, calls in progress >= 1,000
  cdr-list-*                p95 of GET /calls/cdrs/ over 1,000,000 CDRs: page 1, half-way down, last
                            page, by agent, by number, by task                        <= 100 ms
  cdr-export-1m             the worker's export job of 1,000,000 CDRs, in a fresh interpreter
                            (bench/cdrs.py)                       <= 60 s and peak RSS <= 200 MiB
  campaign-sim-<ratio>      an 8-hour, 50-agent campaign in virtual time at 100/150/200/300 %
                            (bench/campaign_sim.py; no database, results as db "none")    <= 60 s each
  campaign-crash            the dialer killed with SIGKILL 3 times per round, 100 rounds
                            (bench/campaign_crash.py)          0 dialled twice by one attempt, 0 lost
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Both overridable, so two benchmark runs on one machine do not share a database.
VAR_DIR = Path(os.environ.get("BENCH_VAR_DIR", ROOT / "var" / "bench"))
DEFAULT_ROWS = 1_000_000
POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
POSTGRES_DB = os.environ.get("BENCH_POSTGRES_DB", "callcenter_bench")


def p95(samples: list[float]) -> float:
    """Nearest-rank 95th percentile: with 20 samples, the second largest."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def machine_info(db_version: str = "") -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "db_version": db_version,
        # Other work on the machine skews the figures; the load average says how much there was.
        "loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def write_result(record: dict) -> Path:
    """One file per benchmark and database; written whole or not at all."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {**record, "date": datetime.now(UTC).isoformat(timespec="seconds")}
    path = RESULTS_DIR / f"{record['name']}-{record['db']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n")
    tmp.replace(path)
    return path


def latency_record(name: str, db: str, samples_ms: list[float], budget_ms: float, **extra) -> dict:
    value = p95(samples_ms)
    return {
        "name": name, "db": db, "runs": len(samples_ms),
        "median_ms": round(statistics.median(samples_ms), 2), "p95_ms": round(value, 2),
        "min_ms": round(min(samples_ms), 2), "max_ms": round(max(samples_ms), 2),
        "budget": f"p95 <= {budget_ms:g} ms", "budget_ms": budget_ms, "within_budget": value <= budget_ms,
        **extra,
    }


def duration_record(name: str, db: str, samples_s: list[float], budget_s: float, **extra) -> dict:
    value = statistics.median(samples_s)
    return {
        "name": name, "db": db, "runs": len(samples_s),
        "median_s": round(value, 3), "samples_s": [round(s, 3) for s in samples_s],
        "budget": f"median <= {budget_s:g} s", "budget_s": budget_s, "within_budget": value <= budget_s,
        **extra,
    }


def summary_line(record: dict) -> str:
    if "calls_per_second" in record:
        figure = f"{record['calls_per_second']:6.1f} calls/s, {record['max_concurrent']} concurrent"
    elif "crash_rounds" in record:
        figure = (f"{record['crash_rounds']} rounds, {record['kills']} kills, {record['violations']} violations "
                  f"({record['dialled_twice_by_one_attempt']} twice, {record['numbers_lost']} lost)")
    elif "p99_ms" in record:
        figure = f"p99 {record['p99_ms']:8.1f} ms  (median {record['median_ms']:.1f} ms)"
    elif "peak_rss_mib" in record:
        figure = f"{record['median_s']:6.2f} s, peak RSS {record['peak_rss_mib']:.0f} MiB"
    elif "p95_ms" in record:
        figure = f"p95 {record['p95_ms']:8.1f} ms  (median {record['median_ms']:.1f} ms)"
    else:
        figure = f"median {record['median_s']:6.2f} s  (runs {', '.join(f'{s:.2f}' for s in record['samples_s'])})"
    verdict = "ok  " if record["within_budget"] else "OVER"
    return f"{record['name']:<26} {record['db']:<9} {verdict} {figure:<48} budget {record['budget']}"
