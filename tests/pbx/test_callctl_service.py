"""Call control end to end: the real ARI client and CallControl against the simulated Asterisk
(in-process, on free local ports), with the database as the web sees it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from callcenter.calls.models import Cdr, LiveChannel, MissedCall
from callcenter.pbx.asterisk.ari import AriClient
from callcenter.pbx.callctl.service import CallControl
from callcenter.pbx.choices import CommandKind, CommandStatus
from callcenter.pbx.models import CallEvent, PbxCommand
from callcenter.pbx.sim.config import load_config
from callcenter.pbx.sim.server import SimServer
from callcenter.telephony.models import (
    AgentGroup,
    AgentGroupMember,
    CallFlow,
    DidRoute,
    IvrMenu,
    Prompt,
    Schedule,
    Trunk,
)
from tests.conftest import make_agent, make_enterprise, write_wav

SCALE = 0.02  # 1 simulated second = 20 ms


def _setup(tmp_path, *, mode: str, transfer_key: str = "", play_seconds: int = 0):
    created = make_enterprise("tel")
    e = created.enterprise
    media = Path(settings.MEDIA_ROOT)
    write_wav(media / "prompts" / "test" / "welcome.wav", 4.0)
    prompt = Prompt.objects.create(enterprise=e, name="欢迎", file="prompts/test/welcome.wav", duration_ms=4000)
    agents = [make_agent(e, n) for n in ("801", "802")]
    group = AgentGroup.objects.create(enterprise=e, name="一组", order_rule="sequential")
    for i, a in enumerate(agents):
        AgentGroupMember.objects.create(group=group, agent=a, position=i)
    trunk = Trunk.objects.create(enterprise=e, account="tel001", number="02088880001", concurrent_lines=10)
    flow = CallFlow.objects.create(enterprise=e, name="测试流程", prompt=prompt, transfer_mode=mode,
                                   transfer_key=transfer_key, play_seconds=play_seconds, agent_group=group)
    return e, flow, trunk, agents


def _sim_config(**world):
    base = {"callees": {"default": {"answer_probability": 1.0, "busy_probability": 0, "unreachable_probability": 0,
                                    "ring_time": [1.0, 1.0], "progress_delay": [0.2, 0.2], "talk_time": [5.0, 5.0],
                                    "dtmf": ""}},
            "phone_defaults": {"mode": "auto", "ring_time": [1.0, 1.0], "talk_time": [3.0, 3.0]}}
    for key, value in world.items():
        base[key] = value
    return load_config(ari_port=0, ami_port=0, time_scale=SCALE, seed=7, world=base)


async def _with_callctl(config, body):
    server = await SimServer(config).start()
    ari = AriClient(server.ari_url, config.ari_user, config.ari_password, "callcenter")
    control = CallControl(ari, time_scale=SCALE, command_poll_seconds=0.05, seed=1)
    task = asyncio.create_task(control.run())
    try:
        await asyncio.sleep(0.2)  # the events socket is open
        return await body(server, control)
    finally:
        control.stop()
        await task
        await ari.close()
        await server.stop()


async def _wait(predicate, timeout=10.0):
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await sync_to_async(predicate)():
            return True
        await asyncio.sleep(0.05)
    return False


def _inbound_to_801(tmp_path, did: str, *, patience: float):
    """An enterprise whose DID `did` rings agent 801 through an IVR's default extension, and a
    simulated world where agents' phones ring until answered by hand (nobody does)."""
    e, _flow, trunk, agents = _setup(tmp_path, mode="play_to_end")
    menu = IvrMenu.objects.create(enterprise=e, name="主菜单", default_extensions="801", ring_wait_seconds=1)
    schedule = Schedule.objects.create(enterprise=e, name="全天", default_menu=menu)
    DidRoute.objects.create(enterprise=e, trunk=trunk, did=did, schedule=schedule)
    dialplan = ("[from-trunk]\nexten => _X.,1,Stasis(callcenter,inbound,tel,${EXTEN},02088880001)\n"
                " same => n,Hangup()\n")
    config = _sim_config(dialplan=dialplan, phone_defaults={"mode": "manual"},
                         inbound={"profile": {"talk_time": [6.0, 6.0], "patience": patience}})
    return e, agents, config


def _run_test_dial(e, flow, number, config):
    command = PbxCommand.objects.create(enterprise=e, kind=CommandKind.TEST_DIAL,
                                        params={"flow_id": flow.pk, "number": number})

    async def body(server, control):
        done = await _wait(lambda: PbxCommand.objects.get(pk=command.pk).status in (CommandStatus.DONE,
                                                                                    CommandStatus.FAILED), 15)
        assert done, list(CallEvent.objects.filter(command=command).values_list("kind", "detail"))
        await asyncio.sleep(0.3)  # the agent leg's hangup reaches call control

    asyncio.run(_with_callctl(config, body))
    command.refresh_from_db()
    return command, [(ev.kind, ev.detail) for ev in CallEvent.objects.filter(command=command)]


@pytest.mark.django_db(transaction=True)
def test_test_dial_play_to_end_transfers_to_the_first_idle_agent(tmp_path):
    e, flow, trunk, agents = _setup(tmp_path, mode="play_to_end")
    command, events = _run_test_dial(e, flow, "13800138000", _sim_config())
    kinds = [k for k, _d in events]
    assert kinds[0] == "dialing"
    assert kinds.index("answered") < kinds.index("prompt_played") < kinds.index("transferring")
    assert ("agent_ringing", "801") in events and ("connected", "801") in events
    assert kinds[-2:] == ["hangup", "ended"]
    assert command.status == CommandStatus.DONE and command.result == "connected"
    cdr = Cdr.objects.get(call_id=command.call_id)
    assert cdr.direction == "test" and cdr.callee == "13800138000" and cdr.agent_id == agents[0].pk
    assert cdr.answered_at is not None and cdr.ended_at is not None and cdr.flow_id == flow.pk
    assert not LiveChannel.objects.filter(enterprise=e).exists()


@pytest.mark.django_db(transaction=True)
def test_key_only_without_a_key_hangs_up(tmp_path):
    e, flow, trunk, agents = _setup(tmp_path, mode="key_only", transfer_key="1")
    command, events = _run_test_dial(e, flow, "13800138001", _sim_config())
    kinds = [k for k, _d in events]
    assert "transferring" not in kinds
    assert command.result == "no_key"


@pytest.mark.django_db(transaction=True)
def test_key_only_with_the_key_transfers(tmp_path):
    e, flow, trunk, agents = _setup(tmp_path, mode="key_only", transfer_key="1")
    config = _sim_config(callees={"default": {"answer_probability": 1.0, "busy_probability": 0,
                                              "unreachable_probability": 0, "ring_time": [1.0, 1.0],
                                              "talk_time": [8.0, 8.0], "dtmf": [["1", 1.0]]}})
    command, events = _run_test_dial(e, flow, "13800138002", config)
    assert ("key", "1") in events
    assert ("connected", "801") in events
    assert Cdr.objects.get(call_id=command.call_id).last_key == "1"


@pytest.mark.django_db(transaction=True)
def test_busy_callee_ends_with_the_cause(tmp_path):
    e, flow, trunk, agents = _setup(tmp_path, mode="play_to_end")
    config = _sim_config(callees={"default": {"answer_probability": 0, "busy_probability": 1.0}})
    command, events = _run_test_dial(e, flow, "13800138003", config)
    assert any(k == "hangup" and d.startswith("17") for k, d in events)
    assert Cdr.objects.get(call_id=command.call_id).cause == 17


@pytest.mark.django_db(transaction=True)
def test_inbound_call_through_did_schedule_and_ivr_reaches_the_default_extension(tmp_path):
    e, flow, trunk, agents = _setup(tmp_path, mode="play_to_end")
    prompt = Prompt.objects.get(enterprise=e)
    menu = IvrMenu.objects.create(enterprise=e, name="主菜单", prompt=prompt, default_extensions="802",
                                  ring_wait_seconds=1)
    schedule = Schedule.objects.create(enterprise=e, name="全天", default_menu=menu)
    DidRoute.objects.create(enterprise=e, trunk=trunk, did="4008001234", schedule=schedule)
    dialplan = ("[from-trunk]\nexten => _X.,1,Stasis(callcenter,inbound,tel,${EXTEN},02088880001)\n"
                " same => n,Hangup()\n")
    config = _sim_config(dialplan=dialplan, inbound={"profile": {"talk_time": [6.0, 6.0], "patience": 60.0}})

    async def body(server, control):
        server.pbx.inbound_call("4008001234", "13912345678")
        seen = await _wait(lambda: LiveChannel.objects.filter(enterprise=e, kind="extension").exists(), 10)
        assert seen, "the agent's channel never showed in the channel monitor"
        ended = await _wait(lambda: Cdr.objects.filter(enterprise=e, direction="in", ended_at__isnull=False)
                            .exists(), 15)
        assert ended

    asyncio.run(_with_callctl(config, body))
    cdr = Cdr.objects.get(enterprise=e, direction="in")
    assert cdr.caller == "13912345678" and cdr.did == "4008001234" and cdr.agent_id == agents[1].pk


@pytest.mark.django_db(transaction=True)
def test_inbound_call_nobody_answers_is_a_missed_call(tmp_path):
    e, agents, config = _inbound_to_801(tmp_path, "4008001235", patience=60.0)

    async def body(server, control):
        server.pbx.inbound_call("4008001235", "13700000000")
        # the missed call is written when call control finishes the call, after the CDR is closed
        return await _wait(lambda: MissedCall.objects.filter(enterprise=e).exists(), 20)

    assert asyncio.run(_with_callctl(config, body))
    missed = MissedCall.objects.get(enterprise=e)
    assert missed.caller == "13700000000" and missed.rang_agent_id == agents[0].pk


@pytest.mark.django_db(transaction=True)
def test_recording_of_a_connected_call_plays_through_the_back_office(tmp_path, settings):
    from django.test import Client

    from callcenter.accounts.models import Agent
    from callcenter.calls.models import Recording

    e, flow, trunk, agents = _setup(tmp_path, mode="direct")
    admin = Agent.objects.get(enterprise=e, number="800")
    command = PbxCommand.objects.create(enterprise=e, kind=CommandKind.TEST_DIAL,
                                        params={"flow_id": flow.pk, "number": "13800138009"})

    async def body(server, control):
        settings.PBX = {**settings.PBX, "ARI_URL": server.ari_url}
        assert await _wait(lambda: PbxCommand.objects.get(pk=command.pk).status == CommandStatus.DONE, 15)

        def fetch():
            cdr = Cdr.objects.get(call_id=PbxCommand.objects.get(pk=command.pk).call_id)
            c = Client()
            c.force_login(admin, backend="callcenter.accounts.backends.AgentBackend")
            return c.get(f"/calls/cdrs/{cdr.pk}/recording/")

        return await sync_to_async(fetch)()

    response = asyncio.run(_with_callctl(_sim_config(), body))
    assert Recording.objects.filter(enterprise=e, agent=agents[0]).exists()
    assert response.status_code == 200
    assert response.content[:4] == b"RIFF" and response.content[8:12] == b"WAVE"


@pytest.mark.django_db(transaction=True)
def test_inbound_call_to_a_queue_names_the_member_who_answered(tmp_path, settings):
    from callcenter.pbx.services import config_write_initial
    from callcenter.telephony.models import Queue, QueueMember

    e, flow, trunk, agents = _setup(tmp_path, mode="play_to_end")
    queue = Queue.objects.create(enterprise=e, name="客服", extension="600", strategy="linear")
    QueueMember.objects.create(queue=queue, agent=agents[1], position=0)
    menu = IvrMenu.objects.create(enterprise=e, name="主菜单", default_extensions="600", ring_wait_seconds=1)
    schedule = Schedule.objects.create(enterprise=e, name="全天", default_menu=menu)
    DidRoute.objects.create(enterprise=e, trunk=trunk, did="4008001236", schedule=schedule)
    settings.PBX = {**settings.PBX, "CONFIG_DIR": tmp_path / "asterisk"}
    config_write_initial(enterprise=e)
    config = _sim_config(inbound={"profile": {"talk_time": [6.0, 6.0], "patience": 60.0}})
    config.config_dir = str(tmp_path / "asterisk")

    async def body(server, control):
        server.pbx.inbound_call("4008001236", "13600000000", trunk="tel-trunk-02088880001")
        return await _wait(lambda: Cdr.objects.filter(enterprise=e, direction="in", agent__isnull=False).exists(),
                           15)

    assert asyncio.run(_with_callctl(config, body))
    cdr = Cdr.objects.get(enterprise=e, direction="in")
    assert cdr.agent_id == agents[1].pk and cdr.queue_name == "客服"


@pytest.mark.django_db(transaction=True)
def test_queue_overflows_to_the_members_mobiles_after_a_full_round(tmp_path, settings):
    from callcenter.pbx.services import config_write_initial
    from callcenter.telephony.models import Queue, QueueMember

    e, flow, trunk, agents = _setup(tmp_path, mode="play_to_end")
    agents[1].phone = "13911112222"
    agents[1].save()
    queue = Queue.objects.create(enterprise=e, name="客服", extension="600", strategy="linear", ring_seconds=2,
                                 retry_seconds=1, max_wait_seconds=120, overflow_to_mobile=True)
    QueueMember.objects.create(queue=queue, agent=agents[1], position=0)
    menu = IvrMenu.objects.create(enterprise=e, name="主菜单", default_extensions="600", ring_wait_seconds=1)
    schedule = Schedule.objects.create(enterprise=e, name="全天", default_menu=menu)
    DidRoute.objects.create(enterprise=e, trunk=trunk, did="4008001237", schedule=schedule)
    settings.PBX = {**settings.PBX, "CONFIG_DIR": tmp_path / "asterisk"}
    config_write_initial(enterprise=e)
    extensions = (tmp_path / "asterisk" / "current" / "extensions.conf").read_text()
    assert "Queue(tel-q600,r,,,3)" in extensions and "Stasis(callcenter,overflow,tel,600)" in extensions
    # the agents' desk phones ring but nobody picks up; the mobile (a PSTN callee) answers
    config = _sim_config(phone_defaults={"mode": "manual"},
                         inbound={"profile": {"talk_time": [8.0, 8.0], "patience": 120.0}})
    config.config_dir = str(tmp_path / "asterisk")

    async def body(server, control):
        server.pbx.inbound_call("4008001237", "13600000001", trunk="tel-trunk-02088880001")
        return await _wait(lambda: Cdr.objects.filter(enterprise=e, direction="in", agent__isnull=False).exists(),
                           20)

    assert asyncio.run(_with_callctl(config, body))
    cdr = Cdr.objects.get(enterprise=e, direction="in")
    assert cdr.agent_id == agents[1].pk  # reached on the mobile


@pytest.mark.django_db(transaction=True)
def test_admission_control_refuses_new_calls_with_congestion_past_the_call_limit(tmp_path, settings):
    """Past PBX["MAX_CALLS"] a new inbound call is hung up with cause 34 (congestion) before any
    database work; once a call ends, calls are taken again."""
    settings.PBX = {**settings.PBX, "MAX_CALLS": 1}
    e, _agents, config = _inbound_to_801(tmp_path, "4008001236", patience=30.0)

    async def body(server, control):
        first = server.pbx.inbound_call("4008001236", "13700000001")
        assert await _wait(lambda: Cdr.objects.filter(enterprise=e).exists(), 10)
        second = server.pbx.inbound_call("4008001236", "13700000002")
        assert await _wait(lambda: second.cause != 0, 10)
        assert (second.cause, control.refused_overload) == (34, 1)
        assert "limit 1" in control.overload()
        assert first.cause == 0  # the call already in progress goes on
        assert await _wait(lambda: not control.calls, 20)  # the caller gives up: the call ends
        assert control.overload() == ""
        server.pbx.inbound_call("4008001236", "13700000003")
        assert await _wait(lambda: Cdr.objects.filter(enterprise=e, caller="13700000003").exists(), 10)

    asyncio.run(_with_callctl(config, body))
    assert not Cdr.objects.filter(enterprise=e, caller="13700000002").exists()
