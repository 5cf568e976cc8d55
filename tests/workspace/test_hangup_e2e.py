"""End to end: a test dial reaches agent 801, 801's workspace shows the caller, and the
workspace's hang-up ends the call through call control (simulated Asterisk)."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from callcenter.calls.models import AgentState, Cdr
from callcenter.pbx.choices import CommandKind, CommandStatus
from callcenter.pbx.models import PbxCommand
from tests.conftest import client_for
from tests.pbx.test_callctl_service import _setup, _sim_config, _wait, _with_callctl


@pytest.mark.django_db(transaction=True)
def test_workspace_shows_the_call_and_hangs_it_up(tmp_path):
    from callcenter.accounts.models import Permission

    e, flow, trunk, agents = _setup(tmp_path, mode="play_to_end")
    agent = agents[0]
    for codename in ("use_workspace", "view_followup", "add_followup"):
        agent.user_permissions.add(Permission.objects.get(content_type__app_label="workspace", codename=codename))
    long = {"answer_probability": 1.0, "busy_probability": 0, "unreachable_probability": 0,
            "ring_time": [1.0, 1.0], "progress_delay": [0.2, 0.2], "talk_time": [3000.0, 3000.0], "dtmf": ""}
    config = _sim_config(callees={"default": long},
                         phone_defaults={"mode": "auto", "ring_time": [1.0, 1.0], "talk_time": [3000.0, 3000.0]})
    dial = PbxCommand.objects.create(enterprise=e, kind=CommandKind.TEST_DIAL,
                                     params={"flow_id": flow.pk, "number": "13800138000"})
    client = client_for(agent)
    seen = {}

    async def body(server, control):
        bridged = await _wait(lambda: AgentState.objects.filter(agent=agent, state="busy").exists(), 15)
        assert bridged
        current = (await sync_to_async(client.get)("/workspace/current-call/")).json()
        seen["current"] = current
        reply = await sync_to_async(client.post)("/workspace/hangup/")
        seen["hangup"] = reply.status_code
        ended = await _wait(lambda: Cdr.objects.filter(call_id=current["call_id"], ended_at__isnull=False).exists(),
                            10)
        seen["ended"] = ended
        await asyncio.sleep(0.3)

    asyncio.run(_with_callctl(config, body))
    dial.refresh_from_db()
    assert seen["current"]["phone"] == "13800138000" and seen["current"]["bridged"]
    assert seen["current"]["call_id"] == dial.call_id
    assert seen["hangup"] == 200 and seen["ended"]
    hangup = PbxCommand.objects.get(kind=CommandKind.HANGUP)
    assert hangup.status == CommandStatus.DONE and hangup.params["channel_id"] == dial.call_id
    assert Cdr.objects.get(call_id=dial.call_id).ended_at is not None
    assert AgentState.objects.get(agent=agent).state == "idle"
