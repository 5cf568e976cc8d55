"""Playback, recordings (a valid 8 kHz WAV) and bridges."""

from __future__ import annotations

import io
import wave

from tests.pbx.sim.simkit import Ari, async_test, running_sim, world


async def answered(ari: Ari, events, cid: str, number: str = "100") -> None:
    await ari.originate(f"PJSIP/{number}@trunk", channelId=cid)
    await events.wait_for("StasisStart", lambda e: e["channel"]["id"] == cid)


@async_test
async def test_play_returns_201_then_started_and_finished():
    async with running_sim(world(sounds={"welcome": 2.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        await answered(ari, events, "C")
        status, pb, headers = await ari.post("/channels/C/play", media="sound:welcome", playbackId="pb-1")
        assert status == 201
        assert pb == {"id": "pb-1", "media_uri": "sound:welcome", "target_uri": "channel:C", "language": "en",
                      "state": "queued"}
        assert headers["Location"] == "/ari/playbacks/pb-1"
        started = await events.wait_for("PlaybackStarted")
        assert started["playback"]["state"] == "playing" and "channel" not in started
        assert (await ari.get("/playbacks/pb-1"))[1]["state"] == "playing"
        finished = await events.wait_for("PlaybackFinished")
        assert finished["playback"]["state"] == "done"
        assert (await ari.get("/playbacks/pb-1"))[0] == 404
        # The id can be given in the path, and a generated one is a UUID.
        status, pb, _ = await ari.post("/channels/C/play/pb-2", media="digits:123")
        assert (status, pb["id"]) == (201, "pb-2")
        status, pb, _ = await ari.post("/channels/C/play", media="sound:welcome")
        assert len(pb["id"]) == 36


@async_test
async def test_unknown_sound_fails_and_lists_continue():
    async with running_sim(world(sounds={"a": 1.0, "b": 1.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        await answered(ari, events, "C")
        await ari.post("/channels/C/play", media="sound:no-such-file", playbackId="bad")
        await events.wait_for("PlaybackStarted")
        finished = await events.wait_for("PlaybackFinished")
        assert finished["playback"]["state"] == "failed" and finished["playback"]["id"] == "bad"
        status, pb, _ = await ari.post("/channels/C/play", media="sound:a,sound:b", playbackId="two")
        assert pb["next_media_uri"] == "sound:b"
        cont = await events.wait_for("PlaybackContinuing")
        assert (cont["playback"]["media_uri"], cont["playback"]["next_media_uri"]) == ("sound:a", "sound:b")
        await events.wait_for("PlaybackStarted", lambda e: e["playback"]["media_uri"] == "sound:b")
        done = await events.wait_for("PlaybackFinished", lambda e: e["playback"]["id"] == "two")
        assert done["playback"]["state"] == "done" and "next_media_uri" not in done["playback"]


@async_test
async def test_playbacks_queue_and_stop():
    async with running_sim(world(sounds={"long": 100.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        await answered(ari, events, "C")
        await ari.post("/channels/C/play", media="sound:long", playbackId="p1")
        await ari.post("/channels/C/play", media="tone:ring", playbackId="p2")
        await events.wait_for("PlaybackStarted", lambda e: e["playback"]["id"] == "p1")
        assert (await ari.delete("/playbacks/p1"))[0] == 204
        stopped = await events.wait_for("PlaybackFinished")
        assert stopped["playback"]["id"] == "p1" and stopped["playback"]["state"] == "done"
        await events.wait_for("PlaybackStarted", lambda e: e["playback"]["id"] == "p2")
        await ari.delete("/channels/C")
        finished = await events.wait_for("PlaybackFinished")
        assert finished["playback"]["id"] == "p2"
        await events.wait_for("ChannelDestroyed")
        order = [e["type"] for e in events.seen[-5:]]
        assert order == ["ChannelHangupRequest", "PlaybackFinished", "StasisEnd", "ChannelVarset", "ChannelDestroyed"]


@async_test
async def test_record_channel_and_fetch_a_valid_wav():
    async with running_sim(time_scale=0.02) as sim, Ari(sim) as ari:
        events = await ari.events()
        await answered(ari, events, "C")
        status, rec, headers = await ari.post("/channels/C/record", name="call-1", format="wav")
        assert status == 201
        assert rec == {"name": "call-1", "format": "wav", "state": "queued", "target_uri": "channel:C"}
        assert headers["Location"] == "/ari/recordings/live/call-1"
        started = await events.wait_for("RecordingStarted")
        assert started["recording"]["state"] == "recording"
        assert (await ari.post("/channels/C/record", name="call-1", format="wav"))[0] == 409
        assert (await ari.post("/channels/C/record", name="x", format="mp9"))[:2] == (
            422, {"message": "specified format is unknown on this system"})
        assert (await ari.post("/channels/C/record", name="x", format="wav", ifExists="maybe"))[:2] == (
            400, {"message": "ifExists invalid"})
        import asyncio

        await asyncio.sleep(3 * 0.02)  # three simulated seconds
        assert (await ari.post("/recordings/live/call-1/stop"))[0] == 204
        finished = await events.wait_for("RecordingFinished")
        assert finished["recording"]["state"] == "done" and finished["recording"]["duration"] >= 2
        assert (await ari.get("/recordings/stored/call-1"))[1] == {"name": "call-1", "format": "wav"}
        status, data, headers = await ari.request("GET", "/recordings/stored/call-1/file", raw=True)
        assert status == 200 and headers["Content-Type"] == "audio/wav"
        with wave.open(io.BytesIO(data)) as w:
            assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (8000, 2, 1)
            seconds = w.getnframes() / 8000
            assert seconds == finished["recording"]["duration"]
            frames = w.readframes(w.getnframes())
        assert any(frames)  # not silence
        again = (await ari.request("GET", "/recordings/stored/call-1/file", raw=True))[1]
        assert again == data  # the same seed makes the same audio
        assert (await ari.request("GET", "/recordings/stored/nope/file", raw=True))[0] == 404
        assert (await ari.delete("/recordings/stored/call-1"))[0] == 204


@async_test
async def test_bridge_add_and_remove_channels():
    async with running_sim() as sim, Ari(sim) as ari:
        events = await ari.events()
        await answered(ari, events, "C", "200")
        await ari.originate("PJSIP/1001", channelId="A", appArgs="agent")
        await events.wait_for("StasisStart", lambda e: e["channel"]["id"] == "A")
        status, bridge, _ = await ari.post("/bridges", type="mixing", name="b1")
        bid = bridge["id"]
        assert (status, bridge["channels"], bridge["bridge_class"], bridge["creator"]) == (200, [], "stasis", "Stasis")
        assert (await ari.post(f"/bridges/{bid}/addChannel"))[:2] == (400, {"message": "Missing parameter channel"})
        assert (await ari.post(f"/bridges/{bid}/addChannel", channel="ghost"))[:2] == (
            400, {"message": "Channel not found"})
        assert (await ari.post("/bridges/ghost/addChannel", channel="C"))[:2] == (404, {"message": "Bridge not found"})
        assert (await ari.post(f"/bridges/{bid}/removeChannel", channel="C"))[:2] == (
            422, {"message": "Channel not in this bridge"})
        assert (await ari.post(f"/bridges/{bid}/addChannel", channel="C,A"))[0] == 204
        first = await events.wait_for("ChannelEnteredBridge")
        second = await events.wait_for("ChannelEnteredBridge")
        assert (first["channel"]["id"], first["bridge"]["channels"]) == ("C", ["C"])
        assert (second["channel"]["id"], second["bridge"]["channels"]) == ("A", ["C", "A"])
        assert second["bridge"]["technology"] == "native_rtp"
        peers = [await events.wait_for("ChannelVarset", lambda e: e["variable"] == "BRIDGEPEER") for _ in range(2)]
        assert {e["channel"]["id"]: e["value"] for e in peers} == {"C": second["channel"]["name"],
                                                                   "A": first["channel"]["name"]}
        status, listed, _ = await ari.get("/bridges")
        assert [b["channels"] for b in listed] == [["C", "A"]]
        assert (await ari.post(f"/bridges/{bid}/removeChannel", channel="A"))[0] == 204
        left = await events.wait_for("ChannelLeftBridge")
        assert (left["channel"]["id"], left["bridge"]["channels"]) == ("A", ["C"])
        # The customer hangs up while bridged: HangupRequest, LeftBridge, StasisEnd, Destroyed.
        async with ari.session.post(ari.base + "/sim/channels/C/hangup") as resp:
            assert resp.status == 204
        await events.wait_for("ChannelDestroyed", lambda e: e["channel"]["id"] == "C")
        tail = [e["type"] for e in events.of("C")][-5:]
        assert tail == ["ChannelHangupRequest", "ChannelLeftBridge", "StasisEnd", "ChannelVarset",
                        "ChannelDestroyed"]
        assert (await ari.delete(f"/bridges/{bid}"))[0] == 204
        await events.drain(0.05)
        assert (await ari.get(f"/bridges/{bid}"))[0] == 404


@async_test
async def test_bridged_callee_talks_then_hangs_up():
    async with running_sim(world(callee={"talk_time": 5.0, "patience": 1000.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        await answered(ari, events, "C")
        await ari.originate("PJSIP/1001", channelId="A")
        await events.wait_for("StasisStart", lambda e: e["channel"]["id"] == "A")
        _, bridge, _ = await ari.post("/bridges")
        await ari.post(f"/bridges/{bridge['id']}/addChannel", channel="C,A")
        await events.wait_for("ChannelEnteredBridge", lambda e: e["channel"]["id"] == "A")
        gone = await events.wait_for("ChannelDestroyed", timeout=3)
        assert gone["channel"]["id"] == "C" and gone["cause"] == 16
        assert (await ari.get("/channels/A"))[0] == 200


@async_test
async def test_bridge_playback_and_record():
    async with running_sim(world(sounds={"moh": 1.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        await answered(ari, events, "C")
        _, bridge, _ = await ari.post("/bridges", bridgeId="bb")
        assert bridge["id"] == "bb"
        assert (await ari.post("/bridges", bridgeId="bb"))[0] == 409
        await ari.post("/bridges/bb/addChannel", channel="C")
        await events.wait_for("ChannelEnteredBridge")
        status, pb, _ = await ari.post("/bridges/bb/play", media="sound:moh")
        assert status == 201 and pb["target_uri"] == "bridge:bb"
        await events.wait_for("PlaybackFinished")
        status, rec, _ = await ari.post("/bridges/bb/record", name="mix", format="wav")
        assert status == 201 and rec["target_uri"] == "bridge:bb"
        await events.wait_for("RecordingStarted")
        await ari.delete("/bridges/bb")
        finished = await events.wait_for("RecordingFinished")
        assert finished["recording"]["name"] == "mix"
        assert (await ari.get("/recordings/stored/mix"))[0] == 200
