"""The dialer end to end: call control + dialer (the real ARI client) against the simulated
Asterisk in this process, on the database as the web sees it (T3, the dialer of issue 6)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from asgiref.sync import sync_to_async

from callcenter.calls.models import AgentState, Cdr
from callcenter.campaigns.models import Attempt, DialerLease, Task, TaskNumber
from tests.campaigns.dialer_kit import campaign, run_dialer, sim_config, wait_for

ANSWERS, BUSY, UNREACHABLE, NO_ANSWER = "13900000001", "13900000002", "13900000003", "13900000004"
CALLEES = {BUSY: {"answer_probability": 0, "busy_probability": 1.0},
           UNREACHABLE: {"answer_probability": 0, "unreachable_probability": 1.0},
           NO_ANSWER: {"answer_probability": 0}}


def _ended(task):
    return lambda: Task.objects.get(pk=task.pk).status == "ended"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


@pytest.mark.django_db(transaction=True)
def test_a_small_campaign_runs_to_its_end_with_the_right_results():
    c = campaign("e2e", phones=[ANSWERS, BUSY, UNREACHABLE, NO_ANSWER, "13900000005"], retries=1, retry_delay=10)
    task = c["task"]

    async def body(server, control):
        assert await wait_for(_ended(task), 40), TaskNumber.objects.filter(task=task).values_list("phone", "status")
        await asyncio.sleep(0.3)
        originations = (await server_originations(server))["originations"]
        return originations

    originations = run_dialer(sim_config(CALLEES), body)
    task.refresh_from_db()
    assert task.status == "ended" and task.end_reason == "completed" and task.ended_at is not None
    numbers = {n.phone: n for n in TaskNumber.objects.filter(task=task)}
    assert numbers[ANSWERS].result == "transferred" and numbers[ANSWERS].agent_id == c["agents"][0].pk
    assert numbers[ANSWERS].talk_seconds >= 0 and numbers[ANSWERS].attempts == 1
    # Failed numbers are retried once (重呼次数 1): two attempts each, the result of the last.
    assert (numbers[BUSY].result, numbers[BUSY].attempts) == ("busy", 2)
    assert (numbers[UNREACHABLE].result, numbers[UNREACHABLE].attempts) == ("failed", 2)
    assert (numbers[NO_ANSWER].result, numbers[NO_ANSWER].attempts) == ("no_answer", 2)
    assert all(n.status == "done" for n in numbers.values())
    attempts = list(Attempt.objects.filter(task=task))
    assert len(attempts) == 1 + 2 + 2 + 2 + 1 and all(a.status == "done" for a in attempts)
    # What the PBX dialled is what the attempts say, each with its attempt id on the channel.
    assert sorted(int(o["vars"]["CC_ATTEMPT"]) for o in originations) == sorted(a.pk for a in attempts)
    by_attempt = {a.pk: a for a in attempts}
    for o in originations:
        assert o["number"] == by_attempt[int(o["vars"]["CC_ATTEMPT"])].number.phone
    # Each call has its CDR, outbound, carrying the task and the attempt.
    cdrs = {cdr.attempt_id: cdr for cdr in Cdr.objects.filter(enterprise=c["enterprise"])}
    assert set(cdrs) == set(by_attempt)
    for attempt_id, cdr in cdrs.items():
        assert cdr.direction == "out" and cdr.task_id == task.pk and cdr.ended_at is not None
        assert cdr.callee == by_attempt[attempt_id].number.phone and cdr.flow_id == c["flow"].pk
    transferred = cdrs[numbers[ANSWERS].attempt_rows.get().pk]
    assert transferred.agent_id == c["agents"][0].pk and transferred.answered_at is not None
    assert not Attempt.objects.filter(status="dialing").exists()
    # The dialer gave its lease up when it stopped.
    assert not DialerLease.objects.filter(enterprise=c["enterprise"]).exists()
    assert AgentState.objects.get(agent=c["agents"][0]).state == "idle"


async def server_originations(server) -> dict:
    async with httpx.AsyncClient() as client:
        return (await client.get(server.ari_url + "/sim/originations")).json()


@pytest.mark.django_db(transaction=True)
def test_no_agent_within_two_seconds_is_an_abandoned_call_with_a_message():
    # Nobody is ready: the callee is answered, the flow transfers, and after 2 s hears the message.
    c = campaign("aban", phones=[ANSWERS], mode="direct", idle=False, extra=1)

    async def body(server, control):
        assert await wait_for(_ended(c["task"]), 20)

    run_dialer(sim_config(), body, agent_wait=2.0)  # the production rule: 2 s
    number = TaskNumber.objects.get(task=c["task"])
    attempt = Attempt.objects.get(task=c["task"])
    assert number.result == attempt.result == "abandoned"
    assert attempt.answered_at is not None and attempt.agent_id is None
    # The message played before the hangup: the call lasted at least wait + message (simulated s).
    held = (attempt.ended_at - attempt.answered_at).total_seconds()
    from tests.campaigns.dialer_kit import SCALE

    assert held >= (2.0 + 2.5) * SCALE


@pytest.mark.django_db(transaction=True)
def test_sms_is_sent_when_the_callee_stayed_long_enough(settings, tmp_path):
    from callcenter.campaigns import sms

    c = campaign("sms", phones=[ANSWERS, "13900000009"], mode="direct", sms_enabled=True, sms_min_seconds=10,
                 sms_text="感谢接听")
    # One stays 20 s with the agent, the other hangs up half a second after reaching them.
    callees = {ANSWERS: {"talk_time": [20, 20]}, "13900000009": {"talk_time": [0.5, 0.5]}}

    async def body(server, control):
        assert await wait_for(_ended(c["task"]), 20)

    run_dialer(sim_config(callees), body)
    sent = sms.outbox(tmp_path / "sms-outbox.jsonl")
    assert [m["phone"] for m in sent] == [ANSWERS]
    assert sent[0]["text"] == "感谢接听" and sent[0]["task_id"] == c["task"].pk


@pytest.mark.django_db(transaction=True)
def test_pause_after_hangup_leaves_the_agent_paused():
    c = campaign("paus", phones=[ANSWERS], mode="direct", agents=1, pause_after_hangup=True)

    async def body(server, control):
        assert await wait_for(_ended(c["task"]), 20)
        return await wait_for(lambda: AgentState.objects.get(agent=c["agents"][0]).state == "paused", 5)

    assert run_dialer(sim_config(), body)


@pytest.mark.django_db(transaction=True)
def test_two_dialers_started_at_once_only_one_paces():
    c = campaign("two", phones=[f"1390000{i:04d}" for i in range(8)], mode="direct", agents=2, extra=2)

    async def body(server, controls):
        assert await wait_for(_ended(c["task"]), 40)
        return [ctl.dialer.stats["originated"] for ctl in controls]

    counts = run_dialer(sim_config(), body, dialers=2, holders=["one", "two"], apps=["callcenter", "callcenter-b"])
    assert sorted(counts) == [0, 8], counts
    assert Attempt.objects.filter(task=c["task"]).count() == 8


@pytest.mark.django_db(transaction=True)
def test_a_paused_task_is_not_dialled_and_a_scheduled_one_starts_at_its_time():
    from datetime import timedelta

    from django.utils import timezone

    c = campaign("sched", phones=[ANSWERS], mode="direct", status="scheduled",
                 start_at=timezone.now() + timedelta(hours=1))
    paused = campaign("pausd", phones=["13900000007"], mode="direct", status="paused")

    async def body(server, control):
        start = timezone.now() + timedelta(seconds=1.5)
        await sync_to_async(lambda: Task.objects.filter(pk=c["task"].pk).update(start_at=start))()
        await asyncio.sleep(0.5)
        early = await sync_to_async(lambda: Task.objects.get(pk=c["task"].pk).status)()
        assert await wait_for(_ended(c["task"]), 20)
        return early

    assert run_dialer(sim_config(), body) == "scheduled"
    task = Task.objects.get(pk=c["task"].pk)
    assert task.started_at >= task.start_at
    assert not Attempt.objects.filter(task=paused["task"]).exists()
    assert Task.objects.get(pk=paused["task"].pk).status == "paused"


@pytest.mark.django_db(transaction=True)
def test_an_overloaded_call_control_opens_no_lines_until_it_recovers(settings):
    settings.PBX = {**settings.PBX, "MAX_CALLS": 0}  # admission control: overloaded from the start
    c = campaign("ovl", phones=[ANSWERS, "13900000005"])

    async def body(server, control):
        await asyncio.sleep(1.5)  # many dialer ticks (50 ms each)
        held = (await server_originations(server))["total"]
        claimed = await sync_to_async(Attempt.objects.filter(task=c["task"]).count)()
        control.max_calls = 3000
        assert await wait_for(_ended(c["task"]), 40)
        return held, claimed

    held, claimed = run_dialer(sim_config(CALLEES), body)
    assert (held, claimed) == (0, 0)
    assert TaskNumber.objects.filter(task=c["task"], result="transferred").count() == 2
