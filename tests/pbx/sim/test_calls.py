"""Originate and hang up: the event order of PBX-PROTOCOL.md §4 and of the recorded traces."""

from __future__ import annotations

import asyncio

from tests.pbx.sim.simkit import Ari, async_test, running_sim, trace_json, world

TEST_DIALPLAN = (
    "[test]\n"
    "exten => s,1,NoOp(test context -> Stasis callcenter)\n"
    " same => n,Answer()\n"
    " same => n,Stasis(callcenter,from-test)\n"
    "[hold]\n"
    "exten => s,1,Answer()\n"
    " same => n,Wait(600)\n"
)


def kinds(events: list[dict], ids: set[str] | None = None) -> list[str]:
    out = []
    for e in events:
        chan = e.get("channel") or e.get("peer") or {}
        if ids is not None and chan.get("id") not in ids:
            continue
        label = e["type"]
        if e["type"] == "Dial":
            label += f"({e['dialstatus']})"
        out.append(label)
    return out


@async_test
async def test_answered_originate_follows_section_4a():
    async with running_sim(world(callee={"dtmf": "1", "dtmf_delay": 1.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        snap = await ari.originate("PJSIP/15551234@trunk", appArgs="customer", channelId="C",
                                   callerId="Shop <4001>")
        assert snap["state"] == "Down"
        assert snap["dialplan"]["app_name"] == "AppDial2"
        assert snap["caller"] == {"name": "Shop", "number": "4001"} == snap["connected"]
        start = await events.wait_for("StasisStart")
        assert start["args"] == ["customer"]
        assert start["channel"]["state"] == "Up"
        assert start["channel"]["dialplan"]["app_data"] == "callcenter,customer"
        assert kinds(events.seen) == ["Dial()", "ChannelStateChange", "Dial(RINGING)", "ChannelStateChange",
                                      "Dial(ANSWER)", "ChannelVarset", "StasisStart"]
        dials = [e for e in events.seen if e["type"] == "Dial"]
        assert all(e["dialstring"] == "15551234@trunk" and e["forward"] == "" and "caller" not in e for e in dials)
        assert [e["channel"]["state"] for e in events.seen if e["type"] == "ChannelStateChange"] == ["Ringing", "Up"]
        for e in events.seen:  # every frame carries the envelope fields
            assert e["application"] == "callcenter" and e["asterisk_id"] == "02:fc:00:00:00:01"
            assert len(e["timestamp"]) == 28 and e["timestamp"].endswith("+0000")
        dtmf = await events.wait_for("ChannelDtmfReceived")
        assert dtmf["digit"] == "1" and dtmf["duration_ms"] > 0
        # The customer hangs up (a BYE): HangupRequest, StasisEnd, Destroyed(16).
        async with ari.session.post(ari.base + "/sim/channels/C/hangup") as resp:
            assert resp.status == 204
        gone = await events.wait_for("ChannelDestroyed")
        assert (gone["cause"], gone["cause_txt"]) == (16, "Normal Clearing") and "tech_cause" not in gone
        tail = kinds(events.seen)[-4:]
        assert tail == ["ChannelHangupRequest", "StasisEnd", "ChannelVarset", "ChannelDestroyed"]


@async_test
async def test_originate_timeout_ends_with_cause_19_and_no_noanswer():
    async with running_sim(world(callee={"answer_probability": 0.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        await ari.originate("PJSIP/15550000@trunk", channelId="T", timeout=30)
        gone = await events.wait_for("ChannelDestroyed")
        assert (gone["cause"], gone["cause_txt"], gone["tech_cause"]) == (19, "User alerting, no answer", 480)
        assert kinds(events.seen) == ["Dial()", "ChannelStateChange", "Dial(RINGING)", "ChannelDestroyed"]
        assert (await ari.get("/channels/T"))[0] == 404


@async_test
async def test_busy_callee():
    async with running_sim(world(callee={"busy_probability": 1.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        await ari.originate("PJSIP/15550001@trunk", channelId="B")
        gone = await events.wait_for("ChannelDestroyed")
        assert kinds(events.seen) == ["Dial()", "ChannelHangupRequest", "Dial(BUSY)", "ChannelDestroyed"]
        request = events.seen[1]
        assert (request["cause"], request["tech_cause"]) == (17, 486)
        assert (gone["cause"], gone["cause_txt"], gone["tech_cause"]) == (17, "User busy", 486)


@async_test
async def test_other_failures_map_sip_to_cause_and_dialstatus():
    callees = world()
    callees["callees"]["numbers"] = {"404": {"unreachable_probability": 1.0, "unreachable_sip": 404},
                                     "603": {"answer_probability": 0.0, "reject_probability": 1.0}}
    async with running_sim(callees) as sim, Ari(sim) as ari:
        events = await ari.events()
        await ari.originate("PJSIP/404@trunk", channelId="u")
        await ari.originate("PJSIP/603@trunk", channelId="r")
        for cid, cause, sip, status in (("u", 1, 404, "NOANSWER"), ("r", 21, 603, "NOANSWER")):
            gone = await events.wait_for("ChannelDestroyed", lambda e, c=cid: e["channel"]["id"] == c)
            assert (gone["cause"], gone["tech_cause"]) == (cause, sip)
            assert kinds(events.of(cid))[-3:] == ["ChannelHangupRequest", f"Dial({status})", "ChannelDestroyed"]


@async_test
async def test_trunk_line_limit_gives_congestion():
    async with running_sim(world(trunks={"small": {"lines": 2}})) as sim, Ari(sim) as ari:
        events = await ari.events()
        for i in range(3):
            await ari.originate(f"PJSIP/1390000000{i}@small", channelId=f"L{i}")
        gone = await events.wait_for("ChannelDestroyed")
        assert gone["channel"]["id"] == "L2"
        assert (gone["cause"], gone["cause_txt"], gone["tech_cause"]) == (34, "Circuit/channel congestion", 503)
        assert kinds(events.of("L2")) == ["Dial()", "ChannelHangupRequest", "Dial(CONGESTION)", "ChannelDestroyed"]
        for i in range(2):
            await events.wait_for("StasisStart", lambda e, i=i: e["channel"]["id"] == f"L{i}")
        # A line freed is a line available again.
        await ari.delete("/channels/L0")
        await events.wait_for("ChannelDestroyed", lambda e: e["channel"]["id"] == "L0")
        await ari.originate("PJSIP/13900000009@small", channelId="L9")
        await events.wait_for("StasisStart", lambda e: e["channel"]["id"] == "L9")


@async_test
async def test_local_originate_matches_trace_scenario_a():
    trace = trace_json("ari_events_scenario_A_local_test.json")
    async with running_sim(world(dialplan=TEST_DIALPLAN)) as sim, Ari(sim) as ari:
        events = await ari.events()
        snap = await ari.originate("Local/s@test", appArgs="originated,A", callerId="Test A <5551000>")
        expected = trace_json("ari_POST_channels_originate_A.json")["body"]
        assert list(snap) == list(expected)
        assert snap["name"].startswith("Local/s@test-") and snap["name"].endswith(";1")
        assert {k: v for k, v in snap.items() if k not in ("id", "name", "creationtime")} == {
            k: v for k, v in expected.items() if k not in ("id", "name", "creationtime")}
        await events.wait_for("StasisStart", lambda e: e["args"] == ["from-test"])
        status, listed, _ = await ari.get("/channels")
        assert [c["dialplan"] | {"priority": 0} for c in listed] == [
            c["dialplan"] | {"priority": 0} for c in trace_json("ari_GET_channels_during_A.json")["body"]]
        assert (await ari.delete(f"/channels/{snap['id']}"))[0] == 204
        await events.wait_for("ChannelDestroyed", lambda e: e["channel"]["id"] == snap["id"])
        got = [(e["type"], (e.get("channel") or e.get("peer"))["name"][-2:], e.get("cause"), e.get("soft"))
               for e in events.seen]
        want = [(e["type"], (e.get("channel") or e.get("peer"))["name"][-2:], e.get("cause"), e.get("soft"))
                for e in trace]
        assert got == want
        other = listed[1]["id"]
        assert (await ari.delete(f"/channels/{other}"))[:2] == (404, {"message": "Channel not found"})


@async_test
async def test_hold_bridge_scenario_matches_trace_scenario_b():
    trace = trace_json("ari_events_scenario_B_hold_bridge.json")
    async with running_sim(world(dialplan=TEST_DIALPLAN)) as sim, Ari(sim) as ari:
        events = await ari.events()
        status, snap, _ = await ari.post("/channels", json_body={"variables": {"CALLCENTER_QUEUE": "support"}},
                                         endpoint="Local/s@hold", app="callcenter", appArgs="originated,B",
                                         callerId="Test B <5552000>")
        cid = snap["id"]
        await events.wait_for("StasisStart")
        await asyncio.sleep(0.02)
        assert (await ari.post(f"/channels/{cid}/answer"))[0] == 204
        status, bridge, _ = await ari.post("/bridges", type="mixing", name="cc-bridge-1")
        assert list(bridge) == list(trace_json("ari_POST_bridges.json")["body"])
        assert (await ari.post(f"/bridges/{bridge['id']}/addChannel", channel=cid))[0] == 204
        await events.wait_for("ChannelEnteredBridge")
        assert (await ari.post(f"/channels/{cid}/variable", variable="AGENT", value="1001"))[0] == 204
        await events.wait_for("ChannelVarset", lambda e: e["variable"] == "AGENT")
        assert (await ari.get(f"/channels/{cid}/variable", variable="AGENT"))[:2] == (200, {"value": "1001"})
        status, got_bridge, _ = await ari.get(f"/bridges/{bridge['id']}")
        assert got_bridge["channels"] == [cid] and got_bridge["technology"] == "simple_bridge"
        assert (await ari.post(f"/channels/{cid}/hold"))[0] == 204
        assert (await ari.delete(f"/channels/{cid}/hold"))[0] == 204
        assert (await ari.post(f"/bridges/{bridge['id']}/removeChannel", channel=cid))[0] == 204
        await events.wait_for("ChannelLeftBridge")
        assert (await ari.delete(f"/channels/{cid}", reason="normal"))[0] == 204
        await events.wait_for("ChannelDestroyed", lambda e: e["channel"]["name"].endswith(";2"))
        assert (await ari.delete(f"/bridges/{bridge['id']}"))[0] == 204
        await events.drain(0.05)
        got = [(e["type"], (e.get("channel") or e.get("peer"))["name"][-2:], e.get("variable")) for e in events.seen]
        want = [(e["type"], (e.get("channel") or e.get("peer"))["name"][-2:], e.get("variable")) for e in trace]
        assert got == want


@async_test
async def test_hangup_validation_and_reasons():
    async with running_sim() as sim, Ari(sim) as ari:
        events = await ari.events()
        await ari.originate("PJSIP/1@trunk", channelId="H")
        await events.wait_for("StasisStart")
        assert (await ari.delete("/channels/nope", reason="busy"))[:2] == (404, {"message": "Channel not found"})
        assert (await ari.delete("/channels/H", reason="busy", reason_code="17"))[:2] == (
            400, {"message": "The reason and reason_code can't both be specified"})
        assert (await ari.delete("/channels/H", reason="bored"))[:2] == (
            400, {"message": "Invalid reason for hangup reason provided"})
        assert (await ari.delete("/channels/H", reason_code="x"))[:2] == (
            400, {"message": "Invalid reason for hangup reason code provided"})
        assert (await ari.get("/channels/H"))[0] == 200
        assert (await ari.delete("/channels/H", reason="busy"))[0] == 204
        gone = await events.wait_for("ChannelDestroyed")
        request = [e for e in events.seen if e["type"] == "ChannelHangupRequest"][0]
        assert (request["cause"], request["soft"]) == (32, True)
        assert (gone["cause"], gone["cause_txt"]) == (17, "User busy") and "tech_cause" not in gone
        await ari.originate("PJSIP/2@trunk", channelId="H2")
        await events.wait_for("StasisStart", lambda e: e["channel"]["id"] == "H2")
        assert (await ari.delete("/channels/H2", reason_code="21"))[0] == 204
        gone = await events.wait_for("ChannelDestroyed", lambda e: e["channel"]["id"] == "H2")
        assert gone["cause"] == 21


@async_test
async def test_hangup_while_ringing_cancels_the_dial():
    async with running_sim(world(callee={"ring_time": 100.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        await ari.originate("PJSIP/1@trunk", channelId="R", timeout=-1)
        await events.wait_for("Dial", lambda e: e["dialstatus"] == "RINGING")
        assert (await ari.delete("/channels/R"))[0] == 204
        await events.wait_for("ChannelDestroyed")
        assert kinds(events.seen)[-3:] == ["ChannelHangupRequest", "Dial(CANCEL)", "ChannelDestroyed"]
        assert "StasisStart" not in kinds(events.seen)


@async_test
async def test_create_then_dial():
    async with running_sim(world(callee={"busy_probability": 0.0})) as sim, Ari(sim) as ari:
        events = await ari.events()
        status, snap, _ = await ari.post("/channels/create", endpoint="PJSIP/777@trunk", app="callcenter",
                                         appArgs="leg", channelId="X")
        assert status == 200 and snap["state"] == "Down"
        start = await events.wait_for("StasisStart")
        assert start["channel"]["state"] == "Down" and start["args"] == ["leg"]
        assert (await ari.post("/channels/X/play", media="sound:beep"))[:2] == (
            412, {"message": "Channel in invalid state"})
        assert (await ari.post("/channels/X/dial", timeout=30))[0] == 204
        assert (await ari.post("/channels/X/dial"))[0] == 409
        await events.wait_for("Dial", lambda e: e["dialstatus"] == "ANSWER")
        assert kinds(events.seen) == ["ChannelVarset", "StasisStart", "Dial()", "ChannelStateChange", "Dial(RINGING)",
                                      "ChannelStateChange", "Dial(ANSWER)"]
        status, body, _ = await ari.post("/channels/create", endpoint="PJSIP/778@trunk", app="callcenter",
                                         channelId="Y")
        await events.wait_for("StasisStart", lambda e: e["channel"]["id"] == "Y")
        await ari.post("/channels/Y/answer")
        assert (await ari.post("/channels/Y/answer"))[:2] == (412, {"message": "Channel in invalid state"})


@async_test
async def test_operations_need_stasis():
    async with running_sim(world(dialplan=TEST_DIALPLAN)) as sim, Ari(sim) as ari:
        events = await ari.events()
        snap = await ari.originate("Local/s@hold", appArgs="x")
        await events.wait_for("StasisStart")
        status, listed, _ = await ari.get("/channels")
        half2 = next(c["id"] for c in listed if c["name"].endswith(";2"))
        for path in ("/answer", "/play?media=sound:beep", "/continue", "/record?name=r&format=wav"):
            status, body, _ = await ari.post(f"/channels/{half2}{path}")
            assert (status, body) == (409, {"message": "Channel not in Stasis application"}), path
        assert (await ari.post(f"/channels/{half2}/variable", variable="A", value="1"))[0] == 409
        # Reading a variable works outside Stasis.
        assert (await ari.get(f"/channels/{half2}/variable", variable="CALLERID(num)"))[0] == 200
        assert (await ari.get(f"/channels/{half2}/variable", variable="NOPE"))[:2] == (
            404, {"message": "Provided variable was not found"})
        assert (await ari.get(f"/channels/{half2}/variable"))[:2] == (400, {"message": "Variable name is required"})
        assert (await ari.post(f"/channels/{snap['id']}/answer"))[0] == 204
        # Hanging up works on any channel.
        assert (await ari.delete(f"/channels/{half2}"))[0] == 204
        await events.wait_for("ChannelDestroyed", lambda e: e["channel"]["id"] == snap["id"])


@async_test
async def test_continue_runs_the_dialplan():
    plan = TEST_DIALPLAN + "[after]\nexten => s,1,NoOp(back)\n same => n,Hangup(21)\n"
    async with running_sim(world(dialplan=plan)) as sim, Ari(sim) as ari:
        events = await ari.events()
        await ari.originate("PJSIP/5@trunk", channelId="K")
        await events.wait_for("StasisStart")
        assert (await ari.post("/channels/K/continue", context="after"))[0] == 204
        await events.wait_for("StasisEnd")
        gone = await events.wait_for("ChannelDestroyed")
        assert gone["cause"] == 21
        dialplan = [e["dialplan_app"] for e in events.seen if e["type"] == "ChannelDialplan"]
        assert dialplan == ["NoOp", "Hangup"]


@async_test
async def test_originate_unknown_endpoint_without_auto_endpoints():
    async with running_sim(world(auto_endpoints=False, phones={"1001": {"mode": "offline"}})) as sim, Ari(sim) as ari:
        for endpoint in ("PJSIP/9999", "PJSIP/1001", "PJSIP/123@nowhere"):
            status, body, _ = await ari.post("/channels", endpoint=endpoint, app="callcenter")
            assert (status, body) == (500, {"error": "Allocation failed"}), endpoint
        assert (await ari.get("/channels"))[1] == []
