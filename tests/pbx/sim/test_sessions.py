"""The simulator outlives its clients; a second socket replaces the first; inbound calls
and agent phones driven through /sim/."""

from __future__ import annotations

import asyncio

import aiohttp

from tests.pbx.sim.simkit import Ari, async_test, running_sim, until, world


@async_test
async def test_killed_client_reconnects_and_sees_live_channels():
    async with running_sim() as sim:
        ari = Ari(sim)
        events = await ari.events()
        await ari.originate("PJSIP/1@trunk", channelId="live-1", json_body=None)
        await events.wait_for("StasisStart")
        # The client dies: its connections drop without a WebSocket close frame.
        await ari.session.connector.close()
        await ari.session.close()
        await until(lambda: not sim.pbx.hub.is_active("callcenter"))
        assert "live-1" in sim.pbx.channels  # the call is still up
        sim.pbx.far_dtmf(sim.pbx.channels["live-1"], "5")  # an event nobody hears

        async with Ari(sim) as again:
            status, listed, _ = await again.get("/channels")
            assert status == 200
            assert [(c["id"], c["state"], c["dialplan"]["app_name"]) for c in listed] == [("live-1", "Up", "Stasis")]
            events2 = await again.events()
            await again.post("/channels/live-1/play", media="sound:beep")
            await events2.wait_for("PlaybackFinished")
            assert (await again.delete("/channels/live-1"))[0] == 204
            gone = await events2.wait_for("ChannelDestroyed")
            assert gone["channel"]["id"] == "live-1"
            assert all(e["type"] != "ChannelDtmfReceived" for e in events2.seen)


@async_test
async def test_second_socket_replaces_the_first():
    async with running_sim() as sim, Ari(sim) as ari:
        first = await ari.events()
        second = await ari.events()
        replaced = await first.wait_for("ApplicationReplaced")
        assert set(replaced) == {"type", "timestamp", "application", "asterisk_id"}
        assert replaced["application"] == "callcenter"
        await ari.originate("PJSIP/1@trunk", channelId="R1")
        await second.wait_for("StasisStart")
        await first.drain(0.1)
        assert [e["type"] for e in first.seen] == ["ApplicationReplaced"]
        assert not [e for e in second.seen if e["type"] == "ApplicationReplaced"]


@async_test
async def test_stasis_to_an_absent_app_fails():
    async with running_sim() as sim, Ari(sim) as ari:
        await ari.originate("PJSIP/1@trunk", app="nobody", channelId="N")
        await until(lambda: "N" not in sim.pbx.channels, timeout=3)
        assert sim.pbx.stats["stasis_start"] == 0


@async_test
async def test_subscribe_all_sees_channels_of_other_apps():
    async with running_sim() as sim, Ari(sim) as ari:
        mine = await ari.events()
        spy = await ari.events(app="monitor", subscribe_all=True)
        await ari.originate("PJSIP/1@trunk", channelId="S")
        await mine.wait_for("StasisStart")
        created = await spy.wait_for("ChannelCreated")
        assert created["channel"]["id"] == "S" and created["application"] == "monitor"
        await spy.wait_for("StasisStart")


@async_test
async def test_inbound_call_enters_stasis_with_the_did():
    async with running_sim(world(inbound={"trunk": "pstn"})) as sim, Ari(sim) as ari:
        events = await ari.events()
        call = {"did": "4008001234", "caller": "13912345678"}
        async with ari.session.post(ari.base + "/sim/inbound", json=call) as r:
            assert r.status == 200
            snap = (await r.json())["channel"]
        start = await events.wait_for("StasisStart")
        assert start["args"] == ["inbound", "4008001234"]
        chan = start["channel"]
        assert chan["id"] == snap["id"] and chan["state"] == "Ring"
        assert chan["name"].startswith("PJSIP/pstn-")
        assert chan["caller"]["number"] == "13912345678"
        assert (chan["dialplan"]["context"], chan["dialplan"]["exten"]) == ("from-trunk", "4008001234")
        assert chan["dialplan"]["app_data"] == "callcenter,inbound,4008001234"
        # The caller was not subscribed before Stasis: StasisStart is the first event.
        assert events.seen[0]["type"] == "StasisStart"
        assert (await ari.post(f"/channels/{chan['id']}/play", media="sound:beep"))[0] == 201  # early media
        assert (await ari.post(f"/channels/{chan['id']}/answer"))[0] == 204
        up = await events.wait_for("ChannelStateChange")
        assert up["channel"]["state"] == "Up"


@async_test
async def test_inbound_caller_abandons_after_patience():
    async with running_sim(world(inbound={"profile": {"patience": 5.0}})) as sim, Ari(sim) as ari:
        events = await ari.events()
        chan = sim.pbx.inbound_call("100")
        await events.wait_for("StasisStart")
        gone = await events.wait_for("ChannelDestroyed", timeout=3)
        assert gone["channel"]["id"] == chan.id and gone["cause"] == 16
        assert [e["type"] for e in events.seen][-4:] == ["ChannelHangupRequest", "StasisEnd", "ChannelVarset",
                                                         "ChannelDestroyed"]


@async_test
async def test_inbound_traffic_generator():
    cfg = world(inbound={"dids": ["4001", "4002"], "rate_per_hour": 36000.0, "profile": {"patience": 1.0}})
    async with running_sim(cfg, time_scale=0.01) as sim:
        await asyncio.sleep(0.3)  # 30 simulated seconds at 10 calls/s
        made = sim.pbx.stats["inbound"]
        assert 150 < made < 500, made


@async_test
async def test_manual_phone_answered_by_a_web_user():
    async with running_sim(world(phones={"1001": {"mode": "manual"}})) as sim, Ari(sim) as ari:
        events = await ari.events()
        base = ari.base + "/sim/phones/1001"
        async with ari.session.post(base + "/answer") as resp:
            assert resp.status == 409
        await ari.originate("PJSIP/1001", channelId="P", timeout=-1)
        await events.wait_for("Dial", lambda e: e["dialstatus"] == "RINGING")
        await asyncio.sleep(0.2)
        assert (await ari.get("/channels/P"))[1]["state"] == "Ringing"
        async with ari.session.get(ari.base + "/sim/state") as resp:
            state = await resp.json()
        assert state["phones"]["1001"]["device_state"] == "Ringing"
        async with ari.session.post(base + "/answer") as resp:
            assert resp.status == 200
        await events.wait_for("StasisStart")
        async with ari.session.post(base + "/hangup") as resp:
            assert resp.status == 200
        gone = await events.wait_for("ChannelDestroyed")
        assert gone["cause"] == 16
        # Marked offline: the endpoint is unregistered, originate fails as in Asterisk.
        async with ari.session.post(base, json={"mode": "offline"}) as resp:
            assert (await resp.json())["registered"] is False
        assert (await ari.post("/channels", endpoint="PJSIP/1001", app="callcenter"))[:2] == (
            500, {"error": "Allocation failed"})
        assert [e["state"] for e in (await ari.get("/endpoints"))[1] if e["resource"] == "1001"] == ["offline"]


@async_test
async def test_busy_phone_answers_486():
    async with running_sim(world(phones={"1001": {"mode": "manual"}})) as sim, Ari(sim) as ari:
        events = await ari.events()
        await ari.originate("PJSIP/1001", channelId="P1", timeout=-1)
        await events.wait_for("Dial", lambda e: e["dialstatus"] == "RINGING")
        await ari.originate("PJSIP/1001", channelId="P2")
        gone = await events.wait_for("ChannelDestroyed")
        assert (gone["channel"]["id"], gone["cause"], gone["tech_cause"]) == ("P2", 17, 486)


@async_test
async def test_sim_control_validates_input():
    async with running_sim() as sim, aiohttp.ClientSession() as s:
        url = sim.ari_url + "/sim"
        async with s.post(url + "/inbound", json={}) as r:
            assert r.status == 400
        async with s.post(url + "/inbound", data=b"not json") as r:
            assert r.status == 400
        async with s.post(url + "/channels/nope/hangup") as r:
            assert r.status == 404
        async with s.post(url + "/phones/1001", json={"mode": "asleep"}) as r:
            assert r.status == 400
        async with s.put(url + "/callees/138", json={"busy_probability": 1}) as r:
            assert r.status == 200
        assert sim.pbx.world["callees"]["numbers"]["138"] == {"busy_probability": 1}
