"""挂断后暂停 (call flow, manual 2.2.6): after a call on such a flow, the agent is paused for
wrap-up (示忙, reason 话后整理) instead of idle, is offered no call until they press
【话后处理完成】, and is idle again after it. Call control runs against the simulated Asterisk."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from callcenter.calls.models import AgentState, Cdr
from callcenter.pbx.choices import CommandKind, CommandStatus
from callcenter.pbx.models import PbxCommand
from callcenter.workspace import services
from callcenter.workspace.models import AgentStateChange
from tests.conftest import client_for
from tests.pbx.test_callctl_service import _setup, _sim_config, _wait, _with_callctl


def _grant_workspace(agent):
    from callcenter.accounts.models import Permission

    agent.user_permissions.add(Permission.objects.get(content_type__app_label="workspace", codename="use_workspace"))


def _dial(e, flow, number):
    return PbxCommand.objects.create(enterprise=e, kind=CommandKind.TEST_DIAL,
                                     params={"flow_id": flow.pk, "number": number})


def _done(command):
    return PbxCommand.objects.get(pk=command.pk).status in (CommandStatus.DONE, CommandStatus.FAILED)


@pytest.mark.django_db(transaction=True)
def test_pause_after_hangup_pauses_the_agent_for_wrap_up(tmp_path):
    e, flow, trunk, agents = _setup(tmp_path, mode="direct")
    flow.pause_after_hangup = True
    flow.save()
    first, second = agents
    _grant_workspace(first)
    first_dial = _dial(e, flow, "13800138000")
    seen = {}

    async def body(server, control):
        assert await _wait(lambda: _done(first_dial), 15)
        # the agent leg's end reaches call control after the customer's
        seen["paused"] = await _wait(lambda: AgentState.objects.filter(agent=first, state="paused").exists(), 5)
        # paused for wrap-up: the next call of the group goes to the other agent (call control
        # re-reads paused agents every BUSY_TTL_SECONDS)
        await asyncio.sleep(0.6)
        second_dial = await sync_to_async(_dial)(e, flow, "13800138001")
        assert await _wait(lambda: _done(second_dial), 15)
        seen["second"] = await sync_to_async(PbxCommand.objects.get)(pk=second_dial.pk)
        await asyncio.sleep(0.3)

    asyncio.run(_with_callctl(_sim_config(), body))
    assert seen["paused"]
    first_dial.refresh_from_db()
    assert Cdr.objects.get(call_id=first_dial.call_id).agent_id == first.pk
    assert Cdr.objects.get(call_id=seen["second"].call_id).agent_id == second.pk
    state = AgentState.objects.get(agent=first)
    assert state.state == "paused"
    change = AgentStateChange.objects.filter(agent=first).latest("at")
    assert (change.state, change.reason) == ("paused", "话后整理")

    # the workspace shows it, and 【话后处理完成】 makes the agent ready
    c = client_for(first)
    assert c.get("/workspace/current-call/").json()["state"] == "paused"
    assert c.post("/workspace/wrapup/").json() == {"ok": True, "state": "idle"}
    assert AgentState.objects.get(agent=first).state == "idle"


@pytest.mark.django_db
def test_the_flow_decides_paused_or_idle(ent):
    from callcenter.calls import services as calls
    from callcenter.telephony.models import CallFlow

    e, agent = ent["enterprise"], ent["agent"]
    pausing = CallFlow.objects.create(enterprise=e, name="暂停", transfer_mode="direct", pause_after_hangup=True)
    plain = CallFlow.objects.create(enterprise=e, name="不暂停", transfer_mode="direct")
    from django.utils import timezone

    for call_id, flow in (("c-pause", pausing), ("c-plain", plain), ("c-inbound", None)):
        calls.cdr_open(enterprise_id=e.pk, call_id=call_id, direction="out", started_at=timezone.now(),
                       callee="13800138000", flow_id=flow.pk if flow else None)
    expected = {"c-pause": "paused", "c-plain": "idle", "c-inbound": "idle", "": "idle"}
    for call_id, state in expected.items():
        assert services.agent_call_ended(enterprise_id=e.pk, agent_id=agent.pk, call_id=call_id) == state
        assert AgentState.objects.get(agent=agent).state == state
    assert list(AgentStateChange.objects.filter(agent=agent).values_list("reason", flat=True)) == ["话后整理"]
