"""The dialer's crash test (issue 6, DESIGN.md "Crash safety of the dialer"), shared by
tests/campaigns/test_crash.py and `make bench` (bench/campaign_crash.py).

A round: a campaign is written to the database; the simulated Asterisk runs as its own process
(it outlives call control, as a real Asterisk does); `manage.py dialer` runs as another and is
killed with SIGKILL at random moments, several times, and started again each time. When the
task has ended, what the PBX dialled (``GET /sim/originations``: each call placed through a
trunk, with its CC_ATTEMPT channel variable) is compared with the database:

- every origination carries a committed attempt, of the number it dialled;
- no attempt was dialled twice;
- for every number, its originations = its attempt rows <= 1 + 重呼次数;
- no attempt is left `dialing`; no number is lost (every one is done, with a result).

A round is kept short (`make bench` runs 100): the callees' ring, talk and no-answer times and
the retry delay are a few simulated seconds, so the campaign lasts about as long as its kills
take; and each dialer is forked from a process that has imported Django already (`Zygote`), so
a restart costs the drawn down time instead of seconds of imports.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class CrashConfig:
    numbers: int = 30
    kills: int = 3
    retries: int = 1
    agents: int = 6
    ratio: int = 200
    extra: int = 1
    seed: int = 1
    time_scale: float = 0.25
    run_seconds: tuple[float, float] = (0.3, 1.5)  # how long the dialer runs before a kill
    down_seconds: tuple[float, float] = (0.0, 1.0)  # how long it stays dead
    retry_delay_seconds: int = 4  # the flow's 重呼间隔 (simulated seconds)
    fork: bool = True  # dialers forked from a zygote (imports done once), not `python manage.py dialer`
    finish_timeout: float = 180.0
    lease_seconds: float = 3.0
    tick_seconds: float = 0.1
    child_env: dict = field(default_factory=dict)  # e.g. the test database's name
    log_dir: Path | None = None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


# --- the campaign ---------------------------------------------------------------------------------------


def prepare(code: str, cfg: CrashConfig) -> dict:
    """An enterprise with simulated agents (idle), a flow that plays a prompt and transfers, a trunk
    and a running task of `cfg.numbers` numbers. Needs Django set up."""
    from datetime import timedelta

    from django.utils import timezone

    from callcenter.accounts import services as accounts
    from callcenter.accounts.models import Agent
    from callcenter.calls import services as calls
    from callcenter.campaigns.models import Task, TaskNumber
    from callcenter.core.models import Enterprise
    from callcenter.crm.models import CustomerCategory
    from callcenter.telephony.models import AgentGroup, AgentGroupMember, CallFlow, Trunk

    created = accounts.enterprise_create(code=code, name=f"崩溃测试{code}", licensed_lines=50,
                                         caller_id="02088889999")  # a random password: nobody signs in
    e = created.enterprise
    Enterprise.objects.filter(pk=e.pk).update(dialer_cps_limit=20)
    agents = []
    for i in range(cfg.agents):
        agent = Agent(enterprise=e, number=str(801 + i), name=f"坐席{801 + i}", record_calls=False)
        agent.set_unusable_password()
        agent.save()
        agents.append(agent)
    group = AgentGroup.objects.create(enterprise=e, name="崩溃组", order_rule="round_robin")
    for i, a in enumerate(agents):
        AgentGroupMember.objects.create(group=group, agent=a, position=i)
    Trunk.objects.create(enterprise=e, account=f"{code}-t1", number="02088881111", concurrent_lines=30,
                         reserved_lines=20)
    # No prompt file: "direct" transfers at once; the callee's ring, talk and patience vary.
    flow = CallFlow.objects.create(enterprise=e, name="崩溃流程", transfer_mode="direct", agent_group=group,
                                   dial_ratio=cfg.ratio, extra_lines=cfg.extra, retries=cfg.retries,
                                   retry_delay_seconds=cfg.retry_delay_seconds)
    category = CustomerCategory.objects.create(enterprise=e, name="崩溃客户")
    task = Task.objects.create(enterprise=e, name="崩溃任务", flow=flow, category=category, status="running",
                               submitted=True, started_at=timezone.now())
    rng = random.Random(cfg.seed)
    phones = sorted({f"13{rng.randrange(10**9):09d}" for _ in range(cfg.numbers * 2)})[:cfg.numbers]
    TaskNumber.objects.bulk_create([TaskNumber(enterprise=e, task=task, phone=p, line_no=i + 1)
                                    for i, p in enumerate(phones)])
    Task.objects.filter(pk=task.pk).update(numbers_total=len(phones))
    since = timezone.now() - timedelta(minutes=5)
    for a in agents:
        calls.agent_state_set(enterprise_id=e.pk, agent_id=a.pk, state="idle", since=since)
    return {"enterprise_id": e.pk, "task_id": task.pk, "numbers": len(phones), "code": code}


def sim_world() -> dict:
    return {
        # Calls long enough that some outlive a restart (and are adopted: 0.5-2.5 s of talk at the
        # time scale of 0.25, beside run and down times of 0.3-1.5 s and 0-1 s), short enough that
        # the campaign ends soon after its last restart. A no-answer gives up after 8 simulated
        # seconds, before the dialer's own 30 s dial timeout.
        "callees": {"default": {"answer_probability": 0.5, "busy_probability": 0.15, "unreachable_probability": 0.1,
                                "progress_delay": [0.2, 1.0], "ring_time": [1.0, 4.0], "busy_delay": [0.5, 2.0],
                                "talk_time": [2.0, 10.0], "patience": 10.0, "network_timeout": 8.0}},
        "phone_defaults": {"mode": "auto", "ring_time": [0.3, 1.0], "talk_time": None, "progress_delay": 0.1},
    }


# --- processes --------------------------------------------------------------------------------------------


class Sim:
    """The simulated Asterisk in its own process (python -m callcenter.pbx.sim)."""

    def __init__(self, cfg: CrashConfig, log_dir: Path):
        self.port, self.ami = free_port(), free_port()
        conf = log_dir / "sim.json"
        conf.write_text(json.dumps({"ari_port": self.port, "ami_port": self.ami, "time_scale": cfg.time_scale,
                                    "seed": cfg.seed, "world": sim_world()}))
        env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_SIM_")}
        self.log = (log_dir / "sim.log").open("ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "callcenter.pbx.sim", "--config", str(conf), "-v", "0"],  # noqa: S603
                                     cwd=ROOT, env=env, stdout=self.log, stderr=self.log)
        wait_port(self.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def originations(self, since: int = 0) -> dict:
        import httpx

        return httpx.get(f"{self.url}/sim/originations", params={"since": since}, timeout=30).json()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# The dialers of a round are forked from a zygote: a process that has imported Django and the
# project (call control, the dialer) once, and never opens a database connection or a socket to the
# PBX itself. Each start forks it and runs `manage.py dialer` in the child: a new process, with the
# command line, settings and environment of a fresh `python manage.py dialer`, its own connections,
# event loop and random state, killed by SIGKILL like any other. A restart then costs the down time
# the round draws instead of a second of CPU for the imports (seconds on a loaded machine: four
# starts were most of a round's time and CPU).
_ZYGOTE = r"""
import json, os, random, signal, sys, traceback
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "callcenter.settings")
import django
django.setup()
from django.core.management import execute_from_command_line
from callcenter.campaigns.management.commands import dialer  # noqa: F401
from callcenter.campaigns.dialer import reconcile, service  # noqa: F401


def reap(*_):
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


signal.signal(signal.SIGCHLD, reap)
print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        print(pid, flush=True)
        continue
    code = 1
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        random.seed()
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(null)
        execute_from_command_line(["manage.py", *request["args"]])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
"""


class Forked:
    """A dialer the zygote forked (not our child: the zygote reaps it), with the part of
    `subprocess.Popen` a round uses."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                with open(f"/proc/{self.pid}/stat") as fh:
                    state = fh.read().rsplit(")", 1)[1].split()[0]
            except (FileNotFoundError, ProcessLookupError, IndexError):
                state = "gone"
            if state in ("gone", "Z", "X"):
                self.returncode = -1  # ended; the zygote has (or is about to have) its status
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        end = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if end is not None and time.monotonic() > end:
                raise subprocess.TimeoutExpired(f"dialer {self.pid}", timeout)
            time.sleep(0.01)
        return self.returncode


class Zygote:
    """The process the dialers are forked from; one may serve several rounds (same simulated PBX
    and environment)."""

    def __init__(self, cfg: CrashConfig, sim: Sim, log_dir: Path):
        self.env = dict(os.environ, CALLCENTER_PBX_ARI_URL=sim.url, **cfg.child_env)
        self.log_path = log_dir / "zygote.log"
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen([sys.executable, "-c", _ZYGOTE], cwd=ROOT, env=self.env,  # noqa: S603
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self._ready = False

    def _reply(self) -> str:
        line = self.proc.stdout.readline().decode().strip()
        if not line:
            self.log.flush()
            raise RuntimeError("the dialer zygote ended: " + self.log_path.read_text(errors="replace")[-2000:])
        return line

    def fork(self, args: list[str], log: Path) -> Forked:
        if not self._ready:
            self._reply()  # "ready": imports done
            self._ready = True
        self.proc.stdin.write(json.dumps({"args": args, "log": str(log)}).encode() + b"\n")
        self.proc.stdin.flush()
        return Forked(int(self._reply()))

    def stop(self) -> None:
        """Its dialers are stopped first (DialerProcess.stop): it only ends itself."""
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


class DialerProcess:
    """`manage.py dialer` under test: started, SIGKILLed, started again; forked from `zygote`, or
    (without one) a fresh `python manage.py dialer` each time."""

    def __init__(self, cfg: CrashConfig, sim: Sim, log_dir: Path, holder: str, code: str,
                 zygote: Zygote | None = None):
        self.cfg, self.sim, self.log_dir, self.holder, self.code = cfg, sim, log_dir, holder, code
        self.zygote = zygote
        self.proc: subprocess.Popen | Forked | None = None
        self.starts = 0
        self.logs: list[Path] = []

    def _args(self) -> list[str]:
        return ["dialer", "--time-scale", str(self.cfg.time_scale), "--dialer-id", self.holder,
                "--lease-seconds", str(self.cfg.lease_seconds), "--tick-seconds", str(self.cfg.tick_seconds),
                "--enterprise", self.code]

    def start(self) -> None:
        self.starts += 1
        path = self.log_dir / f"dialer-{self.starts}.log"
        self.logs.append(path)
        if self.zygote is not None:
            path.touch()  # read by wait_ready before the child may have opened it
            self.proc = self.zygote.fork(self._args(), path)
            return
        env = dict(os.environ, CALLCENTER_PBX_ARI_URL=self.sim.url, **self.cfg.child_env)
        with path.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "manage.py", *self._args()], cwd=ROOT, env=env,  # noqa: S603
                                         stdout=log, stderr=log)

    def wait_ready(self, timeout: float = 60.0) -> bool:
        """Until this process holds its leases (it has reconciled and paces)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                return False
            if "holds the leases" in self.logs[-1].read_text(errors="replace"):
                return True
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def reconciled(self) -> Counter:
        total: Counter = Counter()
        for path in self.logs:
            for m in re.finditer(r"reconciled enterprises \[[^\]]*\]: (\{[^}]*\})", path.read_text(errors="replace")):
                total.update({k: int(v) for k, v in re.findall(r"'(\w+)': (\d+)", m.group(1))})
        return total


# --- a round and its checks --------------------------------------------------------------------------------


@dataclass
class RoundResult:
    seed: int
    numbers: int
    attempts: int
    originations: int
    kills: int
    seconds: float
    ended: bool
    violations: list[str]
    results: dict
    reconciled: dict
    events: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def check(task_id: int, originations: list[dict], retries: int, numbers_before: int) -> list[str]:
    """The crash-safety invariants (see the module); an empty list when all hold."""
    from callcenter.campaigns.models import Attempt, Task, TaskNumber

    problems: list[str] = []
    attempts = {a["pk"]: a for a in Attempt.objects.filter(task_id=task_id).values(
        "pk", "number_id", "number__phone", "status")}
    per_attempt = Counter()
    per_number = Counter()
    for o in originations:
        raw = o.get("vars", {}).get("CC_ATTEMPT")
        if raw is None or not str(raw).isdigit():
            problems.append(f"origination {o['channel']} carries no attempt id")
            continue
        att = attempts.get(int(raw))
        if att is None:
            problems.append(f"origination {o['channel']} of attempt {raw}: no committed attempt")
            continue
        if not o["number"].endswith(att["number__phone"]):
            problems.append(f"attempt {raw} is of {att['number__phone']} but dialled {o['number']}")
        per_attempt[att["pk"]] += 1
        per_number[att["number_id"]] += 1
    for attempt_id, n in per_attempt.items():
        if n > 1:
            problems.append(f"attempt {attempt_id} dialled {n} times")
    rows = Counter(a["number_id"] for a in attempts.values())
    for number_id in set(rows) | set(per_number):
        if rows[number_id] != per_number[number_id]:
            problems.append(f"number {number_id}: {per_number[number_id]} originations, {rows[number_id]} attempt rows")
        if rows[number_id] > 1 + retries:
            problems.append(f"number {number_id}: {rows[number_id]} attempts > 1 + {retries} retries")
    dialing = [pk for pk, a in attempts.items() if a["status"] == "dialing"]
    if dialing:
        problems.append(f"attempts left dialing: {dialing[:10]}")
    numbers = list(TaskNumber.objects.filter(task_id=task_id).values("pk", "status", "result"))
    if len(numbers) != numbers_before:
        problems.append(f"{numbers_before} numbers before, {len(numbers)} after")
    lost = [n["pk"] for n in numbers if n["status"] != "done" or not n["result"]]
    if lost:
        problems.append(f"numbers not done with a result: {lost[:10]}")
    if Task.objects.get(pk=task_id).status != "ended":
        problems.append("the task did not end")
    return problems


def run_round(cfg: CrashConfig, *, sim: Sim | None = None, code: str | None = None,
              zygote: Zygote | None = None) -> RoundResult:
    """One round: prepare, run with kills, check. A `sim` and a `zygote` may be shared by several
    rounds."""
    import tempfile

    from callcenter.campaigns.models import Attempt, Task, TaskNumber

    rng = random.Random(cfg.seed)
    log_dir = cfg.log_dir or Path(tempfile.mkdtemp(prefix="dialer-crash-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    own_sim = sim is None
    sim = sim or Sim(cfg, log_dir)
    code = code or f"crash{cfg.seed}"
    t0 = time.monotonic()
    own_zygote = zygote is None and cfg.fork
    if own_zygote:
        zygote = Zygote(cfg, sim, log_dir)  # imports while the campaign is written
    dialer = DialerProcess(cfg, sim, log_dir, holder=f"crash-{code}", code=code, zygote=zygote)
    try:
        since = sim.originations(0)["total"]
        campaign = prepare(code, cfg)
        task_id = campaign["task_id"]
        events: list[str] = [f"{time.monotonic() - t0:.1f}s campaign written"]
        dialer.start()
        kills = 0
        for _ in range(cfg.kills):
            if not dialer.wait_ready():
                break
            events.append(f"{time.monotonic() - t0:.1f}s ready")
            time.sleep(rng.uniform(*cfg.run_seconds))
            if Task.objects.get(pk=task_id).status == "ended":
                break
            dialing = Attempt.objects.filter(task_id=task_id, status="dialing").count()
            dialer.kill()
            kills += 1
            events.append(f"{time.monotonic() - t0:.1f}s killed with {dialing} attempts dialing")
            time.sleep(rng.uniform(*cfg.down_seconds))
            dialer.start()
            events.append(f"{time.monotonic() - t0:.1f}s restarted")
        end = time.monotonic() + cfg.finish_timeout
        while time.monotonic() < end and Task.objects.get(pk=task_id).status != "ended":
            time.sleep(0.2)
        ended = Task.objects.get(pk=task_id).status == "ended"
        events.append(f"{time.monotonic() - t0:.1f}s task {'ended' if ended else 'not ended'}")
        dialer.stop()
        originations = sim.originations(since)["originations"]
        problems = check(task_id, originations, cfg.retries, campaign["numbers"])
        results = dict(Counter(TaskNumber.objects.filter(task_id=task_id).values_list("result", flat=True)))
        return RoundResult(seed=cfg.seed, numbers=campaign["numbers"],
                           attempts=Attempt.objects.filter(task_id=task_id).count(), originations=len(originations),
                           kills=kills, seconds=round(time.monotonic() - t0, 1), ended=ended, violations=problems,
                           results=results, reconciled=dict(dialer.reconciled()), events=events)
    finally:
        dialer.stop()
        if own_zygote:
            zygote.stop()
        if own_sim:
            sim.stop()
