"""Transfer modes end to end, and call control surviving a restart of the PBX.

The real ARI client and CallControl against the simulated Asterisk (in-process, on free
local ports), as in test_callctl_service.py. Timing assertions read the CallEvent rows'
wall-clock times and divide by the time scale: one simulated second is SCALE real seconds.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from callcenter.calls.models import Cdr
from callcenter.pbx.asterisk.ari import AriClient
from callcenter.pbx.callctl.service import CallControl
from callcenter.pbx.choices import CommandKind, CommandStatus
from callcenter.pbx.models import CallEvent, PbxCommand
from callcenter.pbx.sim.config import load_config
from callcenter.pbx.sim.server import SimServer
from callcenter.telephony.models import AgentGroup, AgentGroupMember, CallFlow, Prompt, Trunk
from tests.conftest import make_agent, make_enterprise, write_wav

# Larger than test_callctl_service's 0.02: these tests compare times, and each event is a
# database write on a shared, noisy machine. 1 simulated second = 100 ms here.
SCALE = 0.1


def _setup(*, mode: str, prompt_seconds: float = 4.0, **flow_fields):
    e = make_enterprise("mode").enterprise
    write_wav(Path(settings.MEDIA_ROOT) / "prompts" / "modes" / "welcome.wav", prompt_seconds)
    prompt = Prompt.objects.create(enterprise=e, name="欢迎", file="prompts/modes/welcome.wav",
                                   duration_ms=int(prompt_seconds * 1000))
    agents = [make_agent(e, n) for n in ("801", "802")]
    group = AgentGroup.objects.create(enterprise=e, name="一组", order_rule="sequential")
    for i, a in enumerate(agents):
        AgentGroupMember.objects.create(group=group, agent=a, position=i)
    Trunk.objects.create(enterprise=e, account="mode001", number="02088880002", concurrent_lines=10)
    flow = CallFlow.objects.create(enterprise=e, name="模式流程", prompt=prompt, transfer_mode=mode,
                                   agent_group=group, **flow_fields)
    return e, flow, agents


def _config(*, ari_port: int = 0, dtmf=""):
    world = {"callees": {"default": {"answer_probability": 1.0, "busy_probability": 0, "unreachable_probability": 0,
                                     "ring_time": [1.0, 1.0], "progress_delay": [0.2, 0.2],
                                     "talk_time": [30.0, 30.0], "dtmf": dtmf}},
             "phone_defaults": {"mode": "auto", "ring_time": [1.0, 1.0], "talk_time": [2.0, 2.0]}}
    return load_config(env={}, ari_port=ari_port, ami_port=0, time_scale=SCALE, seed=7, world=world)


async def _wait(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await sync_to_async(predicate)():
            return True
        await asyncio.sleep(0.05)
    return False


def _command(e, flow, number) -> PbxCommand:
    return PbxCommand.objects.create(enterprise=e, kind=CommandKind.TEST_DIAL,
                                     params={"flow_id": flow.pk, "number": number})


def _finished(command_id):
    return lambda: PbxCommand.objects.get(pk=command_id).status in (CommandStatus.DONE, CommandStatus.FAILED)


def _test_dial(e, flow, number, config):
    """Run one test dial to its end; the command and its events as (kind, detail, seconds since
    the first event, in simulated seconds)."""
    command = _command(e, flow, number)

    async def go():
        server = await SimServer(config).start()
        ari = AriClient(server.ari_url, config.ari_user, config.ari_password, "callcenter")
        control = CallControl(ari, time_scale=SCALE, command_poll_seconds=0.05, seed=1)
        task = asyncio.create_task(control.run())
        try:
            done = await _wait(_finished(command.pk), 15)
            assert done, list(CallEvent.objects.filter(command=command).values_list("kind", "detail"))
        finally:
            control.stop()
            await task
            await ari.close()
            await server.stop()

    asyncio.run(go())
    command.refresh_from_db()
    rows = list(CallEvent.objects.filter(command=command).order_by("at", "pk"))
    t0 = rows[0].at
    return command, [(r.kind, r.detail, (r.at - t0).total_seconds() / SCALE) for r in rows]


def _at(events, kind) -> float:
    return next(t for k, _d, t in events if k == kind)


@pytest.mark.django_db(transaction=True)
def test_play_seconds_transfers_after_n_seconds_cutting_the_prompt_short():
    e, flow, agents = _setup(mode="play_seconds", prompt_seconds=10.0, play_seconds=3)
    command, events = _test_dial(e, flow, "13800138100", _config())
    kinds = [k for k, _d, _t in events]
    assert kinds.index("answered") < kinds.index("transferring")
    waited = _at(events, "transferring") - _at(events, "answered")
    # The transfer comes at N = 3 s after the answer: never sooner, and before the 10 s prompt
    # would have ended (the upper bound is loose: a loaded machine delays the event log).
    assert 3.0 <= waited < 10.0, events
    assert "prompt_played" not in kinds[:kinds.index("transferring")], "the prompt was cut short, not played out"
    assert ("connected", "801") in [(k, d) for k, d, _t in events]
    assert command.result == "connected"


@pytest.mark.django_db(transaction=True)
def test_play_only_hangs_up_after_the_plays_and_never_transfers():
    e, flow, agents = _setup(mode="play_only", prompt_seconds=3.0, play_count=2, transfer_key="1")
    # A key press must not transfer either: play_only ignores the transfer key.
    command, events = _test_dial(e, flow, "13800138101", _config(dtmf=[["1", 1.0]]))
    kinds = [k for k, _d, _t in events]
    assert kinds.count("prompt_played") == 2
    assert not {"transferring", "agent_ringing", "connected"} & set(kinds)
    assert kinds.index("prompt_played") < kinds.index("hangup")
    assert kinds[-2:] == ["hangup", "ended"]
    # Two 3 s plays back to back, then we hang up.
    assert 6.0 <= _at(events, "hangup") - _at(events, "answered") < 20.0, events
    assert command.result == "played"
    cdr = Cdr.objects.get(call_id=command.call_id)
    assert cdr.agent_id is None and cdr.ended_at is not None and cdr.last_key == "1"


@pytest.mark.django_db(transaction=True)
def test_replay_key_plays_the_prompt_again_before_the_transfer():
    # key_only: the prompt (4 s) ends, the callee presses the replay key 9 in the key wait,
    # hears the prompt once more, and then presses the transfer key 1.
    e, flow, agents = _setup(mode="key_only", prompt_seconds=4.0, replay_key="9", transfer_key="1")
    command, events = _test_dial(e, flow, "13800138102", _config(dtmf=[["9", 5.0], ["1", 6.0]]))
    kinds = [k for k, _d, _t in events]
    before = kinds[:kinds.index("transferring")]
    assert before.count("prompt_played") == 2, events
    assert [d for k, d, _t in events if k == "key"] == ["9", "1"]
    first, second = [t for k, _d, t in events if k == "prompt_played"]
    assert second - first >= 4.0, "the replay is a whole play of the 4 s prompt"
    assert kinds.index("prompt_played") < kinds.index("key") < len(before) - 1 - before[::-1].index("prompt_played")
    assert ("connected", "801") in [(k, d) for k, d, _t in events]
    assert Cdr.objects.get(call_id=command.call_id).last_key == "1"


@pytest.mark.django_db(transaction=True)
def test_replay_key_during_the_prompt_restarts_it_and_delays_the_transfer():
    # play_to_end with a 4 s prompt: 9 at 2 s restarts it, so the transfer comes at 2 + 4 s.
    e, flow, agents = _setup(mode="play_to_end", prompt_seconds=4.0, replay_key="9")
    command, events = _test_dial(e, flow, "13800138103", _config(dtmf=[["9", 2.0]]))
    kinds = [k for k, _d, _t in events]
    assert kinds.index("key") < kinds.index("prompt_played") < kinds.index("transferring")
    assert 6.0 <= _at(events, "transferring") - _at(events, "answered") < 10.0, events
    assert command.result == "connected"


@pytest.mark.django_db(transaction=True)
def test_call_control_reconnects_when_the_pbx_restarts_on_the_same_port():
    e, flow, agents = _setup(mode="direct")
    before, after = _command(e, flow, "13800138104"), None

    async def go():
        nonlocal after
        first = await SimServer(_config()).start()
        port = first.ari_port
        config = first.config
        ari = AriClient(first.ari_url, config.ari_user, config.ari_password, "callcenter", backoff=(0.1, 0.5))
        control = CallControl(ari, time_scale=SCALE, command_poll_seconds=0.05, seed=1)
        task = asyncio.create_task(control.run())
        second = None
        try:
            assert await _wait(_finished(before.pk), 15)
            assert ari.connects == 1
            await first.stop()  # Asterisk goes away: the events socket drops
            await asyncio.sleep(0.5)
            second = await SimServer(_config(ari_port=port)).start()
            assert second.ari_port == port
            loop = asyncio.get_running_loop()
            end = loop.time() + 10
            while ari.connects < 2 and loop.time() < end:
                await asyncio.sleep(0.05)
            assert ari.connects == 2, "the events socket was not reopened"
            after = await sync_to_async(_command)(e, flow, "13800138105")
            assert await _wait(_finished(after.pk), 15)
        finally:
            control.stop()
            await task
            await ari.close()
            if second is not None:
                await second.stop()

    asyncio.run(go())
    for command in (before, after):
        command.refresh_from_db()
        assert command.status == CommandStatus.DONE and command.result == "connected", (command.result, list(
            CallEvent.objects.filter(command=command).values_list("kind", "detail")))
    kinds = list(CallEvent.objects.filter(command=after).values_list("kind", flat=True))
    assert kinds.index("answered") < kinds.index("connected") < kinds.index("ended")
