"""C8 接通前播工号 end to end: a queue that announces the agent number, applied as configuration,
run by app_queue in the simulated Asterisk with call control (the real ARI client) reaching
its members. The caller hears the prompt before, the agent number and the prompt after, on
the channel app_queue connected it to, and only then the agent."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from callcenter.calls.models import AgentState, Cdr
from callcenter.pbx.asterisk.ari import AriClient
from callcenter.telephony.models import DidRoute, IvrMenu, Prompt, Queue, QueueMember, Schedule
from tests.conftest import write_wav
from tests.pbx.test_callctl_service import _setup, _sim_config, _wait, _with_callctl


def _announcing_queue(tmp_path, settings, *, did: str, announce: bool = True, members=(1,), phones=None):
    from callcenter.pbx.services import config_write_initial

    e, _flow, trunk, agents = _setup(tmp_path, mode="play_to_end")
    media = Path(settings.MEDIA_ROOT)
    write_wav(media / "prompts" / "test" / "before.wav", 1.0)
    write_wav(media / "prompts" / "test" / "after.wav", 1.5)
    before = Prompt.objects.create(enterprise=e, name="工号前", file="prompts/test/before.wav", duration_ms=1000)
    after = Prompt.objects.create(enterprise=e, name="工号后", file="prompts/test/after.wav", duration_ms=1500)
    queue = Queue.objects.create(enterprise=e, name="客服", extension="600", strategy="linear", ring_seconds=20,
                                 retry_seconds=1, announce_agent_number=True, before_number_prompt=before,
                                 after_number_prompt=after)
    for position, index in enumerate(members):
        QueueMember.objects.create(queue=queue, agent=agents[index], position=position)
    menu = IvrMenu.objects.create(enterprise=e, name="主菜单", default_extensions="600", ring_wait_seconds=1)
    schedule = Schedule.objects.create(enterprise=e, name="全天", default_menu=menu)
    DidRoute.objects.create(enterprise=e, trunk=trunk, did=did, schedule=schedule)
    settings.PBX = {**settings.PBX, "CONFIG_DIR": tmp_path / "asterisk"}
    config_write_initial(enterprise=e)
    if not announce:  # switched off after the apply: the prompts are read at call time
        Queue.objects.filter(pk=queue.pk).update(announce_agent_number=False)
    world = {"inbound": {"profile": {"talk_time": [6.0, 6.0], "patience": 60.0}}}
    if phones:
        world["phones"] = phones
    config = _sim_config(**world)
    config.config_dir = str(tmp_path / "asterisk")
    return e, agents, before, after, config


def _run(e, config, did: str, caller: str):
    """Place an inbound call; the events every channel saw (a second app subscribed to all)."""
    seen: list[dict] = []

    async def body(server, control):
        monitor = AriClient(server.ari_url, config.ari_user, config.ari_password, "monitor")

        async def watch():
            async for event in monitor.events(subscribe_all=True):
                seen.append(event.raw)

        watcher = asyncio.create_task(watch())
        await asyncio.sleep(0.2)
        try:
            server.pbx.inbound_call(did, caller, trunk="tel-trunk-02088880001")
            ended = await _wait(lambda: Cdr.objects.filter(enterprise=e, direction="in", ended_at__isnull=False)
                                .exists(), 20)
            await asyncio.sleep(0.3)  # the agent's leg ends and its state is written
            return ended
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await monitor.close()

    assert asyncio.run(_with_callctl(config, body))
    return seen


def _member_channel(seen: list[dict], agent: str) -> str:
    starts = [ev for ev in seen if ev["type"] == "StasisStart" and ev["args"][:1] == ["qagent"]
              and ev["args"][3] == agent]
    assert starts, "app_queue never offered the caller to agent " + agent
    return starts[-1]["channel"]["id"]


@pytest.mark.django_db(transaction=True)
def test_the_caller_hears_the_prompts_and_the_agent_number_then_the_agent(tmp_path, settings):
    e, agents, before, after, config = _announcing_queue(tmp_path, settings, did="4008001240")
    seen = _run(e, config, "4008001240", "13600000040")
    local = _member_channel(seen, "802")
    at = {id(ev): i for i, ev in enumerate(seen)}
    plays = [ev for ev in seen
             if ev["type"].startswith("Playback") and ev["playback"]["target_uri"] == f"channel:{local}"]
    started = [ev["playback"]["media_uri"] for ev in plays if ev["type"] == "PlaybackStarted"]
    sounds = settings.PBX["SOUNDS_DIR"].rstrip("/")
    assert started == [f"sound:{sounds}/prompts/test/before", "digits:802", f"sound:{sounds}/prompts/test/after"]
    finished = [ev for ev in plays if ev["type"] == "PlaybackFinished"]
    assert len(finished) == 1 and finished[0]["playback"]["state"] == "done"
    # The caller was connected to the member's channel (so hears it) before the announcement...
    caller_connected = [ev for ev in seen if ev["type"] == "Dial" and ev["dialstatus"] == "ANSWER"
                        and ev.get("caller", {}).get("caller", {}).get("number") == "13600000040"]
    assert caller_connected and at[id(caller_connected[0])] < at[id(plays[0])]
    # ...the agent had answered before it, and is bridged with that channel only after it.
    agent_up = [ev for ev in seen if ev["type"] == "StasisStart" and ev["args"][:1] == ["agent"]]
    assert agent_up and at[id(agent_up[0])] < at[id(plays[0])]
    agent_leg = agent_up[0]["channel"]["id"]
    bridged = [ev for ev in seen if ev["type"] == "ChannelEnteredBridge"
               and ev["channel"]["id"] in (local, agent_leg) and ev["bridge"]["bridge_class"] == "stasis"]
    assert {ev["channel"]["id"] for ev in bridged} == {local, agent_leg}
    assert min(at[id(ev)] for ev in bridged) > at[id(finished[0])]
    cdr = Cdr.objects.get(enterprise=e, direction="in")
    assert cdr.agent_id == agents[1].pk and cdr.queue_name == "客服" and cdr.answered_at is not None
    assert AgentState.objects.get(agent=agents[1]).state == "idle"


@pytest.mark.django_db(transaction=True)
def test_a_member_who_does_not_answer_stops_ringing_and_the_next_is_announced(tmp_path, settings):
    e, agents, before, after, config = _announcing_queue(
        tmp_path, settings, did="4008001241", members=(0, 1), phones={"tel-801": {"mode": "manual"}})
    seen = _run(e, config, "4008001241", "13600000041")
    first, second = _member_channel(seen, "801"), _member_channel(seen, "802")
    destroyed = {ev["channel"]["id"]: ev for ev in seen if ev["type"] == "ChannelDestroyed"}
    assert first in destroyed  # app_queue gave 801 up after its ring time...
    rang_801 = [ev["peer"]["id"] for ev in seen if ev["type"] == "Dial" and ev["dialstatus"] == ""
                and ev["peer"]["name"].startswith("PJSIP/tel-801-")]
    assert rang_801 and all(leg in destroyed for leg in rang_801)  # ...and 801's phone stopped ringing
    started = [ev["playback"]["media_uri"] for ev in seen if ev["type"] == "PlaybackStarted"
               and ev["playback"]["target_uri"] == f"channel:{second}"]
    assert "digits:802" in started
    assert not [ev for ev in seen
                if ev["type"] == "PlaybackStarted" and ev["playback"]["target_uri"] == f"channel:{first}"]
    cdr = Cdr.objects.get(enterprise=e, direction="in")
    assert cdr.agent_id == agents[1].pk and cdr.queue_name == "客服"
    assert AgentState.objects.get(agent=agents[0]).state == "idle"


@pytest.mark.django_db(transaction=True)
def test_switched_off_after_the_apply_connects_without_an_announcement(tmp_path, settings):
    e, agents, before, after, config = _announcing_queue(tmp_path, settings, did="4008001242", announce=False)
    seen = _run(e, config, "4008001242", "13600000042")
    local = _member_channel(seen, "802")
    assert not [ev for ev in seen if ev["type"].startswith("Playback")
                and ev["playback"]["target_uri"] == f"channel:{local}"]
    assert [ev for ev in seen if ev["type"] == "ChannelEnteredBridge" and ev["channel"]["id"] == local]
    cdr = Cdr.objects.get(enterprise=e, direction="in")
    assert cdr.agent_id == agents[1].pk and cdr.answered_at is not None
