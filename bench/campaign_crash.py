"""campaign-crash: the dialer's crash test, repeated (issue 6; DESIGN.md budget "dialer crash: kill -9
at random moments, many times: 0 numbers dialled twice by one attempt, 0 numbers lost").

Each round (callcenter/campaigns/dialer/crash.py) writes a campaign of 15 numbers to the
benchmark database, runs `manage.py dialer` as its own process against one simulated Asterisk
(its own process, shared by the rounds), kills the dialer with SIGKILL at 3 random moments and
starts it again each time, lets the task end, and checks what the PBX dialled against the
attempt rows: every origination has a committed attempt of its number, no attempt is dialled
twice, per number originations = attempt rows <= 1 + retries, no attempt left dialling, no
number lost. The budget is zero violations over all rounds; 100 rounds take about 20 minutes
(a round ~10 s: the callees' times are a few simulated seconds at a time scale of 0.25, and the
dialers are forked from one process that imported Django once: crash.Zygote).

    python -m bench --only campaign-crash --db sqlite
    BENCH_CRASH_ROUNDS=10 python -m bench --only campaign-crash      # fewer rounds

Writes bench/results/campaign-crash-<db>.json.
"""

from __future__ import annotations

import os
import resource
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import machine_info, summary_line, write_result

ROUNDS = int(os.environ.get("BENCH_CRASH_ROUNDS", "100"))
SEED0 = 600  # round i uses seed SEED0 + i: a failing round is replayed from its seed


def run(db: str, *, only: set[str], rows: int) -> list[dict]:
    from bench import cases
    from callcenter.campaigns.dialer.crash import CrashConfig, Sim, Zygote, run_round

    base = Path(tempfile.mkdtemp(prefix="bench-crash-"))
    sim = Sim(CrashConfig(seed=SEED0), base)
    zygote = Zygote(CrashConfig(seed=SEED0), sim, base)  # every round's dialers are forked from it
    t0, cpu0 = time.perf_counter(), time.process_time()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = [round(x, 2) for x in os.getloadavg()]
    seconds, violations, failing = [], [], []
    totals: Counter = Counter()
    reconciled: Counter = Counter()
    try:
        for i in range(ROUNDS):
            cfg = CrashConfig(numbers=15, kills=3, retries=1, seed=SEED0 + i, log_dir=base / f"round-{i}")
            result = run_round(cfg, sim=sim, code=f"crash{db[:2]}{i}", zygote=zygote)
            seconds.append(result.seconds)
            totals.update(rounds=1, kills=result.kills, numbers=result.numbers, attempts=result.attempts,
                          originations=result.originations, ended=int(result.ended))
            reconciled.update(result.reconciled)
            if result.violations or not result.ended:
                failing.append(cfg.seed)
                violations += [f"seed {cfg.seed}: {v}" for v in result.violations or ["the task did not end"]]
            print(f"   campaign-crash {db} round {i + 1}/{ROUNDS}: {result.kills} kills, "
                  f"{result.attempts} attempts, {len(result.violations)} violations, {result.seconds:.0f} s",
                  flush=True)
    finally:
        zygote.stop()
        sim.stop()
    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_cpu = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
    twice = sum(1 for v in violations if "dialled" in v and "times" in v)
    lost = sum(1 for v in violations if "not done" in v or "numbers before" in v)
    record = {
        "name": "campaign-crash", "db": db, "runs": totals["rounds"], "crash_rounds": totals["rounds"],
        "kills": totals["kills"], "numbers": totals["numbers"], "attempts": totals["attempts"],
        "originations": totals["originations"], "rounds_ended": totals["ended"],
        "violations": len(violations), "dialled_twice_by_one_attempt": twice, "numbers_lost": lost,
        "failing_seeds": failing, "first_violations": violations[:20], "reconciled": dict(reconciled),
        "median_round_s": round(statistics.median(seconds), 1) if seconds else None,
        "max_round_s": max(seconds) if seconds else None,
        "total_s": round(time.perf_counter() - t0, 1),
        # the harness (this process: seeding, checks) and the dialer and simulated-PBX processes
        "cpu_seconds": round(time.process_time() - cpu0, 1), "children_cpu_seconds": round(children_cpu, 1),
        "loadavg_at_start": load0,
        "budget": "0 violations (0 dialled twice, 0 lost)", "within_budget": not violations and totals["rounds"] > 0,
        "machine": machine_info(cases.db_version()),
    }
    write_result(record)
    print(summary_line(record), flush=True)
    return [record]
