"""python -m bench [--db sqlite|postgres|both] [--only NAME[,NAME]] [--rows N]

Each database is measured in its own child process: settings read DATABASE_URL and
CALLCENTER_VAR_DIR once, at django.setup(). The database is created afresh and migrated
before the run. Exit status 1 when a benchmark misses its budget.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import DEFAULT_ROWS, POSTGRES_ADMIN_URL, POSTGRES_DB, ROOT, VAR_DIR, summary_line

GROUPS = {
    "agents": ["agents-add-1000"],
    "imports": ["import-rename-5000", "import-department-5000"],
    "pbx": ["pbx-apply-1000"],
    "callctl": ["callctl-throughput"],
    "customers": ["customers-list-page1", "customers-list-deep", "customers-list-last", "customers-list-category",
                  "customers-list-phone", "customers-list-agent", "customers-api-list", "customers-pop-api",
                  "customers-pop-page", "customers-export-1m", "customers-import-100k"],
    "screenpop": ["screenpop-browser"],
    "campaign-sim": ["campaign-sim-100", "campaign-sim-150", "campaign-sim-200", "campaign-sim-300"],
    "cdrs": ["cdr-list-page1", "cdr-list-deep", "cdr-list-last", "cdr-list-agent", "cdr-list-number",
             "cdr-list-task", "cdr-export-1m"],
    "campaign-intake": ["campaign-intake-50k"],
    "campaign-crash": ["campaign-crash"],
    "loginlog": ["loginlog-list-page1", "loginlog-list-last", "loginlog-list-agent"],
}

# group -> "module:function"; the function takes (db, *, only: set[str], rows: int) and
# returns the JSON records of its measurements.
RUNNERS = {
    "agents": "bench.cases:run_agents",
    "imports": "bench.cases:run_imports",
    "pbx": "bench.cases:run_pbx",
    "callctl": "bench.cases:run_callctl",
    "customers": "bench.customers:run_customers",
    "screenpop": "bench.customers:run_screenpop",
    "campaign-sim": "bench.campaign_sim:run",
    "cdrs": "bench.cdrs:run_cdrs",
    "campaign-intake": "bench.campaign_intake:run_intake",
    "campaign-crash": "bench.campaign_crash:run",
    "loginlog": "bench.cases:run_loginlog",
}


def selected(only: str | None) -> dict[str, list[str]]:
    """Groups to run and, within them, the benchmark names asked for (by name or prefix)."""
    if not only:
        return GROUPS
    tokens = [t.strip() for t in only.split(",") if t.strip()]
    chosen = {}
    for group, names in GROUPS.items():
        hits = [n for n in names if any(n.startswith(t) or group == t for t in tokens)]
        if hits:
            chosen[group] = hits
    if not chosen:
        known = ", ".join([*GROUPS, *(n for names in GROUPS.values() for n in names)])
        raise SystemExit(f"--only {only!r} matches no benchmark; known: {known}")
    return chosen


def prepare_database(db: str) -> None:
    """Point settings at a fresh, dedicated database (before django.setup())."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "callcenter.settings"
    os.environ["CALLCENTER_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    var = VAR_DIR / db
    var.mkdir(parents=True, exist_ok=True)
    os.environ["CALLCENTER_VAR_DIR"] = str(var)
    if db == "sqlite":
        os.environ.pop("DATABASE_URL", None)
        for suffix in ("", "-wal", "-shm"):
            (var / f"callcenter.sqlite3{suffix}").unlink(missing_ok=True)
    else:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {POSTGRES_DB}")
        base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        os.environ["DATABASE_URL"] = f"{base}/{POSTGRES_DB}"


def run_child(db: str, only: str | None, rows: int, report: Path) -> None:
    prepare_database(db)
    import warnings

    import django

    # whitenoise warns that collectstatic has not run: irrelevant to server-side timings.
    warnings.filterwarnings("ignore", message="No directory at")

    django.setup()
    from django.core.management import call_command

    from bench import cases

    t0 = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    version = cases.db_version()
    print(f"== {db}: {version}, migrated in {time.perf_counter() - t0:.1f} s", flush=True)
    groups = selected(only)
    records = []
    for group in groups:  # in GROUPS order: loginlog last, its million rows slow the deletes of the others
        module, _, func = RUNNERS[group].partition(":")
        runner = getattr(importlib.import_module(module), func)
        records += runner(db, only=set(groups[group]), rows=rows)
    with report.open("a") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--only", help="benchmark names or prefixes, comma-separated (e.g. loginlog, import-rename)")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="login-log rows (default 1,000,000)")
    parser.add_argument("--child-report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    selected(args.only)  # refuse an unknown name before any work

    if args.child_report:
        run_child(args.db, args.only, args.rows, args.child_report)
        return 0

    dbs = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    failed = []
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "records.jsonl"
        report.touch()
        for db in dbs:
            cmd = [sys.executable, "-m", "bench", "--db", db, "--rows", str(args.rows), "--child-report", str(report)]
            if args.only:
                cmd += ["--only", args.only]
            if subprocess.run(cmd, cwd=ROOT, check=False).returncode != 0:
                failed.append(db)
        records = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]

    print()
    print(f"{'benchmark':<26} {'db':<9} {'':4} {'result':<48} budget")
    for record in records:
        print(summary_line(record))
    over = [r for r in records if not r["within_budget"]]
    if failed:
        print(f"\nbenchmark run failed on: {', '.join(failed)}")
    if over:
        print(f"\n{len(over)} benchmark(s) over budget")
    print(f"\nresults in {Path('bench/results')}/<name>-<db>.json")
    return 1 if failed or over else 0


if __name__ == "__main__":
    raise SystemExit(main())
