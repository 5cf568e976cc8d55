"""Builders of the dialer tests: an enterprise with agents, a group, a flow, a trunk and a running
task, written straight to the database (the dialer's input), and a harness running call control
with the dialer against the simulated Asterisk in this process."""

from __future__ import annotations

import asyncio
from datetime import time
from pathlib import Path

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

SCALE = 0.2  # 1 simulated second = 200 ms: the 2 s abandon rule needs room on a loaded machine
DIAL_TIMEOUT = 8  # simulated seconds a callee rings unanswered
# How long a transfer waits for an agent in these tests (simulated seconds). Production waits 2 s
# (rules.AGENT_WAIT_SECONDS); on a loaded machine 2 s x SCALE is too short for the database reads and
# the agent's originate, so only the abandonment test uses the real figure.
AGENT_WAIT = 10.0

__all__ = ["AGENT_WAIT", "DIAL_TIMEOUT", "SCALE", "campaign", "set_idle", "sim_config", "run_dialer", "wait_for",
           "make_numbers"]


def set_idle(enterprise, agents, *, seconds_ago: float = 60) -> None:
    """The agents are logged in and ready (坐席 就绪), idle for `seconds_ago`."""
    from datetime import timedelta

    from callcenter.calls import services as calls

    since = timezone.now() - timedelta(seconds=seconds_ago)
    for a in agents:
        calls.agent_state_set(enterprise_id=enterprise.pk, agent_id=a.pk, state="idle", since=since)


def make_numbers(task, phones, *, status="pending"):
    from callcenter.campaigns.models import Task, TaskNumber

    TaskNumber.objects.bulk_create([TaskNumber(enterprise_id=task.enterprise_id, task=task, phone=p, line_no=i + 1,
                                               status=status) for i, p in enumerate(phones)])
    Task.objects.filter(pk=task.pk).update(numbers_total=TaskNumber.objects.filter(task=task).count())


def campaign(code: str = "dial", *, phones=(), mode: str = "play_to_end", agents: int = 2, ratio: int = 100,
             extra: int = 0, retries: int = 0, retry_delay: int = 10, reserved: int = 10, concurrent: int = 10,
             status: str = "running", submitted: bool = True, windows=(), start_at=None, prompt_seconds: float = 2.0,
             cps: int = 50, idle: bool = True, **flow_extra):
    """An enterprise ready to dial: agents 801.. in a group, a flow, a trunk, a customer category and
    a task with `phones`. Returns a dict of the rows."""
    from callcenter.campaigns.models import Task, TaskWindow
    from callcenter.core.models import Enterprise
    from callcenter.crm.models import CustomerCategory
    from callcenter.telephony.models import AgentGroup, AgentGroupMember, CallFlow, Prompt, Trunk
    from tests.conftest import make_agent, make_enterprise, write_wav

    created = make_enterprise(code)
    e = created.enterprise
    Enterprise.objects.filter(pk=e.pk).update(dialer_cps_limit=cps)
    e.refresh_from_db()
    media = Path(settings.MEDIA_ROOT)
    write_wav(media / "prompts" / code / "welcome.wav", prompt_seconds)
    prompt = Prompt.objects.create(enterprise=e, name="欢迎", file=f"prompts/{code}/welcome.wav",
                                   duration_ms=int(prompt_seconds * 1000))
    people = [make_agent(e, str(801 + i), role="坐席") for i in range(agents)]
    group = AgentGroup.objects.create(enterprise=e, name="外呼组", order_rule="sequential")
    for i, a in enumerate(people):
        AgentGroupMember.objects.create(group=group, agent=a, position=i)
    trunk = Trunk.objects.create(enterprise=e, account=f"{code}001", number="02088880001", concurrent_lines=concurrent,
                                 reserved_lines=reserved)
    flow = CallFlow.objects.create(enterprise=e, name="外呼流程", prompt=prompt if mode != "direct" else None,
                                   transfer_mode=mode, agent_group=group, dial_ratio=ratio, extra_lines=extra,
                                   retries=retries, retry_delay_seconds=retry_delay, **flow_extra)
    category = CustomerCategory.objects.create(enterprise=e, name="外呼客户")
    task = Task.objects.create(enterprise=e, name="测试任务", flow=flow, category=category, status=status,
                               submitted=submitted, start_at=start_at,
                               started_at=timezone.now() if status == "running" else None)
    for start, end in windows:
        TaskWindow.objects.create(task=task, start=time.fromisoformat(start), end=time.fromisoformat(end))
    make_numbers(task, phones)
    if idle:
        set_idle(e, people)
    return {"enterprise": e, "admin": created.admin, "agents": people, "group": group, "flow": flow, "trunk": trunk,
            "category": category, "task": task, "prompt": prompt}


def sim_config(callees: dict | None = None, *, default: dict | None = None, phone: dict | None = None, **world):
    from callcenter.pbx.sim.config import load_config

    base = {"callees": {"default": {"answer_probability": 1.0, "busy_probability": 0, "unreachable_probability": 0,
                                    "ring_time": [1.0, 1.0], "progress_delay": [0.2, 0.2], "talk_time": [5.0, 5.0],
                                    "patience": 60.0, "dtmf": ""} | (default or {}),
                        "numbers": callees or {}},
            "phone_defaults": {"mode": "auto", "ring_time": [0.5, 0.5], "talk_time": None} | (phone or {})}
    base.update(world)
    return load_config(ari_port=0, ami_port=0, time_scale=SCALE, seed=7, world=base)


async def wait_for(predicate, timeout: float = 20.0, every: float = 0.05) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await sync_to_async(predicate)():
            return True
        await asyncio.sleep(every)
    return False


async def _run(config, body, dialers: int, holders, apps, lease_seconds: float, agent_wait: float):
    from callcenter.campaigns.dialer.service import Dialer
    from callcenter.pbx.asterisk.ari import AriClient
    from callcenter.pbx.callctl.service import CallControl
    from callcenter.pbx.sim.server import SimServer

    server = await SimServer(config).start()
    controls, runs, clients = [], [], []
    try:
        for i in range(dialers):
            app = apps[i] if apps else "callcenter"
            ari = AriClient(server.ari_url, config.ari_user, config.ari_password, app)
            control = CallControl(ari, app=app, time_scale=SCALE, command_poll_seconds=0.05, seed=1 + i)
            control.dialer = Dialer(control, holder=holders[i] if holders else f"test-{i}",
                                    lease_seconds=lease_seconds, tick_seconds=0.05, dial_timeout=DIAL_TIMEOUT,
                                    agent_wait_seconds=agent_wait)
            clients.append(ari)
            controls.append(control)
            runs.append(asyncio.create_task(control.run()))
        await asyncio.sleep(0.3)  # the events sockets are open
        return await body(server, controls[0] if dialers == 1 else controls)
    finally:
        for control in controls:
            control.stop()
        for task in runs:
            await task
        for ari in clients:
            await ari.close()
        await server.stop()


def run_dialer(config, body, *, dialers: int = 1, holders=None, apps=None, lease_seconds: float = 5.0,
               agent_wait: float = AGENT_WAIT):
    """Run `await body(server, control)` with call control + dialer (several: a list of controls)
    against an in-process simulated Asterisk."""
    return asyncio.run(_run(config, body, dialers, holders, apps, lease_seconds, agent_wait))
