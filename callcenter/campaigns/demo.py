"""The demo enterprise's campaign (issue 6, item 11): after `make run` a task is running, so a
newcomer sees calls flow, progress move and the agent monitor change within a minute.

- A running task ("演示外呼任务") of 1,000 numbers through the demo flow (产品推广: plays the
  welcome prompt, then transfers to 销售一组, agents 801-803), with no windows (it dials at any
  hour). `ensure_running_task` adds one whenever the demo has none running, so every `make run`
  shows one (earlier ones stay in the task list with their results).
- The demo agents are simulated (var/pbx-sim.json: their phones answer by themselves): the ones
  that have never been online are marked ready (就绪), so the dialer has agents to pace for.
  An agent who signs in to the workspace and goes offline stays offline.
- The trunk reserves 10 lines for group calls (群呼外线数).
"""

from __future__ import annotations

import random

from django.db import transaction
from django.utils import timezone

DEMO_TASK = "演示外呼任务"
DEMO_NUMBERS = 1000
SIMULATED_AGENTS = ("801", "802", "803", "804", "805", "806")


def demo_numbers(count: int = DEMO_NUMBERS, seed: int = 20240601) -> list[str]:
    """Mobile numbers the simulated PBX answers with the world's default callee (none is a demo
    customer's, nor on a blacklist)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < count:
        phone = f"1{rng.choice('58')}{rng.randrange(10**9):09d}"
        if phone not in seen:
            seen.add(phone)
            out.append(phone)
    return out


def agents_ready(enterprise) -> int:
    """Simulated agents that have no live state yet (or are offline and never chose to be) are ready."""
    from callcenter.accounts.models import Agent
    from callcenter.calls import services as calls
    from callcenter.calls.choices import AgentStatus
    from callcenter.calls.models import AgentState
    from callcenter.workspace.models import AgentStateChange

    chose = set(AgentStateChange.objects.filter(enterprise=enterprise).values_list("agent_id", flat=True))
    states = dict(AgentState.objects.filter(enterprise=enterprise).values_list("agent_id", "state"))
    n = 0
    for agent_id in Agent.objects.filter(enterprise=enterprise, number__in=SIMULATED_AGENTS).values_list(
            "pk", flat=True):
        if agent_id in chose or states.get(agent_id, AgentStatus.OFFLINE) != AgentStatus.OFFLINE:
            continue
        calls.agent_state_set(enterprise_id=enterprise.pk, agent_id=agent_id, state=AgentStatus.IDLE)
        n += 1
    return n


def ensure_running_task(enterprise):
    """A running demo task, made through the task service as the T1 page makes it; None when one runs."""
    from callcenter.accounts.models import Agent
    from callcenter.campaigns import intake, services
    from callcenter.campaigns.choices import TaskStatus
    from callcenter.campaigns.models import Task
    from callcenter.crm.models import CustomerCategory
    from callcenter.telephony.models import CallFlow

    if Task.objects.filter(enterprise=enterprise, name__startswith=DEMO_TASK,
                           status__in=[TaskStatus.RUNNING, TaskStatus.SCHEDULED, TaskStatus.IMPORTING]).exists():
        return None
    flow = CallFlow.objects.filter(enterprise=enterprise, name="产品推广").first()
    category = (CustomerCategory.objects.filter(enterprise=enterprise, name="零售客户").first()
                or CustomerCategory.objects.filter(enterprise=enterprise).order_by("pk").first())
    if flow is None or category is None:
        return None
    earlier = Task.objects.filter(enterprise=enterprise, name__startswith=DEMO_TASK).count()
    name = DEMO_TASK if not earlier else f"{DEMO_TASK}{earlier + 1}"
    admin = Agent.objects.filter(enterprise=enterprise, number="800").first()
    # A different list each time: numbers called today by an earlier demo task would be dropped.
    numbers = demo_numbers(seed=20240601 + earlier)
    with transaction.atomic():
        created = services.task_create(
            enterprise=enterprise, user=admin,
            values={"name": name, "flow": flow, "category": category, "start_at": None, "windows": [],
                    "dedupe": True, "recall_called_today": False, "skip_existing_customers": False},
            source=intake.read_text("\n".join(numbers)), submit=True)
    return created.task


def seed(enterprise) -> dict:
    """Everything the demo campaign needs; safe to run again."""
    from callcenter.telephony.models import Trunk

    Trunk.objects.filter(enterprise=enterprise, reserved_lines=0, concurrent_lines__gte=10).update(reserved_lines=10)
    ready = agents_ready(enterprise)
    task = ensure_running_task(enterprise)
    return {"agents_ready": ready, "task": task, "at": timezone.now()}
