"""The worker's export job measured in a fresh interpreter (shared by bench/cdrs.py and
bench/customers.py): its time, CPU time and peak memory, and the rows of the file it wrote."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from bench import ROOT


def _rss_kib() -> dict:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _sep, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def export_worker_main(job_id: int) -> None:
    """Runs in a fresh interpreter: the worker's export job, with its time and memory, as one JSON line."""
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from callcenter.core.tasks import run_export_job

    before = _rss_kib()
    t0, c0 = time.perf_counter(), time.process_time()  # process_time: user + system CPU of this process
    run_export_job(job_id)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    after = _rss_kib()
    print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "rss_before_kib": before["VmRSS"],
                      "hwm_before_kib": before["VmHWM"], "peak_rss_kib": after["VmHWM"],
                      "rss_after_kib": after["VmRSS"]}), flush=True)


def run_in_child(job_id: int) -> tuple[dict, float]:
    """Run export job `job_id` as the Huey worker would, in a fresh interpreter: (its stats, wall time
    of the whole process, interpreter start and django.setup() included)."""
    t0 = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", f"from bench.export_job import export_worker_main; export_worker_main({job_id})"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"export worker failed: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def sheet_rows(path: str) -> list[int]:
    """Data rows of each sheet of an xlsx, from its <dimension> (no full read)."""
    rows = []
    with zipfile.ZipFile(path) as zf:
        for name in sorted(n for n in zf.namelist() if n.startswith("xl/worksheets/sheet") and n.endswith(".xml")):
            with zf.open(name) as fh:
                head = fh.read(4096).decode("utf-8", "replace")
            match = re.search(r'<dimension ref="A1(?::[A-Z]+(\d+))?"', head)
            rows.append(int(match.group(1)) - 1 if match and match.group(1) else 0)
    return rows
