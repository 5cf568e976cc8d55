"""Reconciliation after a crash, case by case: attempts left `dialing` by a dead dialer are matched
with the simulated Asterisk's live channels (campaigns/dialer/reconcile.py), never dialled twice."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone

from callcenter.calls.models import AgentState, Cdr
from callcenter.campaigns.dialer import claims, rules
from callcenter.campaigns.models import Attempt, Task, TaskNumber
from tests.campaigns.dialer_kit import AGENT_WAIT, DIAL_TIMEOUT, SCALE, campaign, sim_config, wait_for

NOT_SENT, SENT_NOT_DIALLED, GONE, RINGING, ANSWERED_ALONE = (f"1390000000{i}" for i in range(1, 6))


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


async def _crashed_dialer(server, plan: dict) -> None:
    """What a dialer killed mid-way leaves on the PBX: channels created (some dialled) for the attempts."""
    from callcenter.pbx.asterisk.ari import AriClient

    ari = AriClient(server.ari_url, "callcenter", "callcenter", "callcenter")
    events = asyncio.create_task(_drain(ari))
    await asyncio.sleep(0.3)  # the app is registered: created channels enter it
    try:
        for phone, (attempt_id, dial) in plan.items():
            key = rules.channel_id(attempt_id)
            await ari.create(f"PJSIP/{phone}@dial-trunk-02088880001", app="callcenter",
                             app_args=["campaign", str(attempt_id)], channel_id=key,
                             variables={rules.ATTEMPT_VARIABLE: str(attempt_id)})
            await asyncio.sleep(0.05)
            if dial:
                await ari.dial(key, timeout=DIAL_TIMEOUT)
        await asyncio.sleep(0.5 / 0.2 * SCALE)  # the quick callee answers
    finally:
        events.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await events
        await ari.close()  # the dialer dies: its events socket goes


async def _drain(ari):
    async for _event in ari.events():
        pass


@pytest.mark.django_db(transaction=True)
def test_reconciliation_voids_adopts_redials_and_finishes_what_a_crash_left():
    from callcenter.campaigns.dialer.service import Dialer
    from callcenter.pbx.asterisk.ari import AriClient
    from callcenter.pbx.callctl.service import CallControl
    from callcenter.pbx.sim.server import SimServer

    c = campaign("dial", phones=[NOT_SENT, SENT_NOT_DIALLED, GONE, RINGING, ANSWERED_ALONE], mode="direct",
                 retries=1, agents=3)
    e, task = c["enterprise"], c["task"]
    assert claims.lease_acquire(e.pk, "dead", 60)
    got = {g.phone: g for g in claims.claim(e.pk, task.pk, 5, "dead")}
    for phone in (SENT_NOT_DIALLED, GONE, RINGING, ANSWERED_ALONE):
        assert claims.mark_sent(got[phone].attempt_id, rules.channel_id(got[phone].attempt_id), "dead")
    # The dead dialer's lease expires; a new one takes over and reconciles.
    from callcenter.campaigns.models import DialerLease

    DialerLease.objects.filter(enterprise=e).update(expires_at=timezone.now() - timedelta(seconds=1))
    # An agent shown talking on a call that is gone.
    AgentState.objects.filter(agent=c["agents"][1]).update(state="busy", call_id="cc-task-999999")
    callees = {RINGING: {"ring_time": [4.0, 4.0]}, ANSWERED_ALONE: {"ring_time": [0.2, 0.2], "talk_time": [3, 3]},
               GONE: {"answer_probability": 0, "unreachable_probability": 1.0, "progress_delay": [0.1, 0.1]}}
    config = sim_config(callees)

    async def main():
        server = await SimServer(config).start()
        await _crashed_dialer(server, {NOT_SENT: (got[NOT_SENT].attempt_id, False),
                                       SENT_NOT_DIALLED: (got[SENT_NOT_DIALLED].attempt_id, False),
                                       GONE: (got[GONE].attempt_id, True),
                                       RINGING: (got[RINGING].attempt_id, True),
                                       ANSWERED_ALONE: (got[ANSWERED_ALONE].attempt_id, True)})
        before = (await _get(server, "/sim/originations"))["total"]
        ari = AriClient(server.ari_url, "callcenter", "callcenter", "callcenter")
        control = CallControl(ari, time_scale=SCALE, command_poll_seconds=0.05, seed=1)
        control.dialer = Dialer(control, holder="new", lease_seconds=5, tick_seconds=0.05, dial_timeout=DIAL_TIMEOUT,
                                agent_wait_seconds=AGENT_WAIT)
        run = asyncio.create_task(control.run())
        try:
            assert await wait_for(lambda: Task.objects.get(pk=task.pk).status == "ended", 40)
            await asyncio.sleep(0.3)
            origs = (await _get(server, "/sim/originations"))["originations"]
            return before, origs, dict(control.dialer.stats)
        finally:
            control.stop()
            await run
            await ari.close()
            await server.stop()

    before, originations, stats = asyncio.run(main())
    assert before == 3  # the dead dialer dialled three of its attempts (one failed while it was dead)
    assert stats["reconcile_voided"] == 1 and stats["reconcile_finished"] == 1 and stats["reconcile_adopted"] == 3
    # The attempt never sent is gone and its number was dialled afresh; every attempt dialled once.
    assert not Attempt.objects.filter(pk=got[NOT_SENT].attempt_id).exists()
    per_attempt = Counter(int(o["vars"]["CC_ATTEMPT"]) for o in originations)
    assert set(per_attempt.values()) == {1}
    assert set(per_attempt) == set(Attempt.objects.filter(task=task).values_list("pk", flat=True))
    # The created but undialled channel was dialled by the new dialer (once).
    assert per_attempt[got[SENT_NOT_DIALLED].attempt_id] == 1
    attempts = {a.pk: a for a in Attempt.objects.filter(task=task)}
    gone = attempts[got[GONE].attempt_id]
    assert (gone.result, gone.reconciled) == ("failed", True)
    for phone in (RINGING, ANSWERED_ALONE):
        adopted = attempts[got[phone].attempt_id]
        assert adopted.reconciled and adopted.result == "transferred", (phone, adopted.result)
    numbers = {n.phone: n for n in TaskNumber.objects.filter(task=task)}
    assert numbers[GONE].attempts == 2  # the unknown result counted as failed: retried once
    assert all(n.status == "done" for n in numbers.values())
    assert not Attempt.objects.filter(status="dialing").exists()
    assert Cdr.objects.filter(attempt_id=got[RINGING].attempt_id, task_id=task.pk).exists()
    assert AgentState.objects.get(agent=c["agents"][1]).state == "idle"


async def _get(server, path):
    async with httpx.AsyncClient() as client:
        return (await client.get(server.ari_url + path)).json()


@pytest.mark.django_db(transaction=True)
def test_the_running_dialer_sweeps_an_attempt_nobody_follows():
    """A failure between claim and dial inside a running dialer (no restart, so no reconciliation at
    lease time) leaves an attempt nobody follows: the dialer's own sweep voids it."""
    from callcenter.campaigns.dialer.service import Dialer
    from callcenter.pbx.asterisk.ari import AriClient
    from callcenter.pbx.callctl.service import CallControl
    from callcenter.pbx.sim.server import SimServer
    from tests.campaigns.dialer_kit import make_numbers

    # A running task keeps the enterprise leased: its one number rings unanswered, twice.
    c = campaign("sweep", phones=[RINGING], mode="direct", retries=1, retry_delay=10)
    e = c["enterprise"]
    other = Task.objects.create(enterprise=e, name="草稿", flow=c["flow"], category=c["category"], status="paused")
    make_numbers(other, [ANSWERED_ALONE])
    callees = {RINGING: {"answer_probability": 0}}

    async def main():
        from asgiref.sync import sync_to_async

        server = await SimServer(sim_config(callees)).start()
        ari = AriClient(server.ari_url, "callcenter", "callcenter", "callcenter")
        control = CallControl(ari, time_scale=SCALE, command_poll_seconds=0.05, seed=1)
        control.dialer = Dialer(control, holder="live", lease_seconds=5, tick_seconds=0.05, dial_timeout=DIAL_TIMEOUT,
                                agent_wait_seconds=AGENT_WAIT)
        control.dialer.sweep_seconds = 0.3
        run = asyncio.create_task(control.run())
        try:
            assert await wait_for(lambda: e.pk in control.dialer.held, 10)

            def lose_an_attempt():  # committed, then lost before its channel was made
                number = TaskNumber.objects.get(task=other)
                TaskNumber.objects.filter(pk=number.pk).update(status="dialing", attempts=1)
                return Attempt.objects.create(enterprise=e, task=other, number=number, status="dialing",
                                              created_at=timezone.now() - timedelta(minutes=5))

            lost = await sync_to_async(lose_an_attempt)()
            assert await wait_for(lambda: control.dialer.stats["sweep_voided"] == 1, 10), control.dialer.stats
            return lost, dict(control.dialer.stats)
        finally:
            control.stop()
            await run
            await ari.close()
            await server.stop()

    lost, stats = asyncio.run(main())
    assert stats["reconcile_voided"] == 0  # not the reconciliation at lease time: the sweep
    assert not Attempt.objects.filter(pk=lost.pk).exists()
    number = TaskNumber.objects.get(task=other)
    assert (number.status, number.attempts) == ("pending", 0)
