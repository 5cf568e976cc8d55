"""AMI: framing, actions and events compared field by field with the recorded traces."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.pbx.sim.simkit import (
    Ami,
    Ari,
    async_test,
    keys,
    parse_message,
    running_sim,
    trace_messages,
    until,
    world,
)

QUEUES_CONF = """
[general]
persistentmembers = no

[support]
strategy = ringall
timeout = 15
member => PJSIP/1001
member => PJSIP/1002

[sales]
strategy = leastrecent
"""

DIALPLAN = (
    "[test]\n"
    "exten => s,1,NoOp(test context -> Stasis callcenter)\n"
    " same => n,Answer()\n"
    " same => n,Stasis(callcenter,from-test)\n"
    "[from-internal]\n"
    "exten => 600,1,NoOp(queue)\n"
    " same => n,Answer()\n"
    " same => n,Queue(support)\n"
)


def queue_world(tmp_path: Path, **extra) -> tuple[dict, str]:
    (tmp_path / "current").mkdir()
    (tmp_path / "current" / "queues.conf").write_text(QUEUES_CONF)
    phones = {"1001": {"mode": "offline"}, "1002": {"mode": "offline"}}
    return world(phones=phones, dialplan=DIALPLAN, **extra), str(tmp_path)


def without(msg, *names):
    return [(k, v) for k, v in msg if k not in names]


@async_test
async def test_banner_login_and_session_actions():
    async with running_sim() as sim:
        ami = await Ami.connect(sim.ami_port, login=False)
        assert ami.banner == b"Asterisk Call Manager/11.0.0\r\n"
        reply = await ami.action("CoreShowChannels", ActionID="x1")
        assert reply == [("Response", "Error"), ("ActionID", "x1"), ("Message", "Permission denied")]
        reply = await ami.action("Login", Username="callcenter", Secret="callcenter", ActionID="Login-1")
        assert keys(reply) == keys(trace_messages("ami_login.txt")[0])
        assert dict(reply)["Message"] == "Authentication accepted"
        booted = await ami.read()  # Events default to on: FullyBooted follows
        assert keys(booted) == keys(trace_messages("ami_events_during_ari_scenarios.txt")[1])
        reply = await ami.action("Ping", ActionID="Ping-1")
        assert keys(reply) == keys(trace_messages("ami_Ping.txt")[0])
        assert dict(reply)["Ping"] == "Pong"
        reply = await ami.action("NoSuchAction", ActionID="NoSuchAction-1")
        expected = trace_messages("ami_BadAction.txt")[0]
        assert without(reply, "ActionID") == without(expected, "ActionID")
        reply = await ami.action("Logoff", ActionID="Logoff-1")
        assert without(reply, "ActionID") == without(trace_messages("ami_Logoff.txt")[0], "ActionID")
        assert await ami.reader.read() == b""  # closed
        await ami.close()


@async_test
async def test_bad_login_is_refused_and_closed():
    async with running_sim() as sim:
        ami = await Ami.connect(sim.ami_port, login=False)
        reply = await ami.action("Login", Username="callcenter", Secret="nope")
        assert reply == [("Response", "Error"), ("Message", "Authentication failed")]
        assert await ami.reader.read() == b""
        await ami.close()


@async_test
async def test_core_show_channels_framing_matches_trace():
    expected = trace_messages("ami_CoreShowChannels.txt")
    async with running_sim(world(dialplan=DIALPLAN)) as sim, Ari(sim) as ari:
        events = await ari.events()
        await ari.originate("Local/s@test", appArgs="originated,A", callerId="Test A <5551000>")
        await events.wait_for("StasisStart", lambda e: e["args"] == ["from-test"])
        ami = await Ami.connect(sim.ami_port)
        response, items, raw = await ami.list_action("CoreShowChannels", ActionID="CoreShowChannels-1")
        assert [keys(m) for m in [response, *items]] == [keys(m) for m in expected]
        fixed = ("ActionID", "Uniqueid", "Linkedid", "Duration", "Channel")
        assert [without(m, *fixed) for m in items] == [without(m, *fixed) for m in expected[1:]]
        assert raw.count(b"\r\n\r\n") == len(expected)
        empty = await ami.list_action("CoreShowChannels")
        assert dict(empty[1][-1])["ListItems"] == "2" and "ActionID" not in dict(empty[0])
        await ami.close()


@async_test
async def test_queue_status_and_summary_framing_match_traces(tmp_path):
    cfg, config_dir = queue_world(tmp_path)
    async with running_sim(cfg, config_dir=config_dir) as sim:
        ami = await Ami.connect(sim.ami_port)
        response, items, _ = await ami.list_action("QueueStatus", ActionID="QueueStatus-1")
        expected = trace_messages("ami_QueueStatus.txt")
        assert [keys(m) for m in [response, *items]] == [keys(m) for m in expected]
        assert [without(m, "ActionID", "LoginTime") for m in items] == [
            without(m, "ActionID", "LoginTime") for m in expected[1:]]
        response, items, _ = await ami.list_action("QueueSummary", ActionID="QueueSummary-1")
        expected = trace_messages("ami_QueueSummary.txt")
        assert [without(m, "ActionID") for m in [response, *items]] == [
            without(m, "ActionID") for m in expected]
        response, items, _ = await ami.list_action("QueueStatus", Queue="sales")
        assert [dict(m)["Event"] for m in items] == ["QueueParams", "QueueStatusComplete"]
        await ami.close()


@async_test
async def test_queue_member_actions_and_events_match_traces(tmp_path):
    cfg, config_dir = queue_world(tmp_path)
    async with running_sim(cfg, config_dir=config_dir) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent")
        reply = await ami.action("QueueAdd", Queue="sales", Interface="PJSIP/1002", MemberName="Agent 1002",
                                 ActionID="QueueAdd-1")
        assert without(reply, "ActionID") == without(trace_messages("ami_QueueAdd.txt")[0], "ActionID")
        added = await ami.wait_event("QueueMemberAdded")
        trace_events = {dict(m).get("Event"): m for m in trace_messages("ami_queue_scenario_events.txt")}
        assert keys(added) == keys(trace_events["QueueMemberAdded"])
        reply = await ami.action("QueueAdd", Queue="sales", Interface="PJSIP/1002")
        assert dict(reply)["Message"] == "Unable to add interface: Already there"
        reply = await ami.action("QueueAdd", Queue="nope", Interface="PJSIP/1002")
        assert dict(reply)["Message"] == "Unable to add interface to queue: No such queue"
        reply = await ami.action("QueuePause", Interface="PJSIP/1002", Paused="true", Queue="sales", Reason="lunch",
                                 ActionID="QueuePause-1")
        assert without(reply, "ActionID") == without(trace_messages("ami_QueuePause.txt")[0], "ActionID")
        paused = await ami.wait_event("QueueMemberPause")
        assert keys(paused) == keys(trace_events["QueueMemberPause"])
        assert dict(paused)["PausedReason"] == "lunch"
        response, items, _ = await ami.list_action("QueueStatus", Queue="sales", ActionID="QueueStatus-2")
        expected = trace_messages("ami_QueueStatus_sales.txt")
        assert [without(m, "ActionID", "LoginTime", "LastPause") for m in items] == [
            without(m, "ActionID", "LoginTime", "LastPause") for m in expected[1:]]
        reply = await ami.action("QueuePause", Interface="PJSIP/9999", Paused="false")
        assert dict(reply)["Message"] == "Interface not found"
        reply = await ami.action("QueueRemove", Queue="sales", Interface="PJSIP/1002", ActionID="QueueRemove-1")
        assert without(reply, "ActionID") == without(trace_messages("ami_QueueRemove.txt")[0], "ActionID")
        removed = await ami.wait_event("QueueMemberRemoved")
        assert keys(removed) == keys(trace_events["QueueMemberRemoved"])
        reply = await ami.action("QueueRemove", Queue="support", Interface="PJSIP/1001")
        assert dict(reply)["Message"] == "Member not dynamic"
        await ami.close()


@async_test
async def test_commands_and_reloads(tmp_path):
    cfg, config_dir = queue_world(tmp_path)
    async with running_sim(cfg, config_dir=config_dir) as sim:
        ami = await Ami.connect(sim.ami_port)
        reply = await ami.action("Command", Command="core show version", ActionID="Command-2")
        expected = trace_messages("ami_Command_core_show_version.txt")[0]
        assert keys(reply) == keys(expected)
        assert dict(reply)["Output"].startswith("Asterisk 22.10.1 built by ")
        reply = await ami.action("Command", Command="core reload", ActionID="Command-1")
        assert without(reply, "ActionID") == without(trace_messages("ami_Command_core_reload.txt")[0], "ActionID")
        reply = await ami.action("Command", Command="module reload res_pjsip.so")
        assert reply == [("Response", "Success"), ("Message", "Command output follows"),
                         ("Output", "Module 'res_pjsip.so' reloaded successfully.")]
        reply = await ami.action("Command", Command="queue reload all")
        assert reply == [("Response", "Success"), ("Message", "Command output follows"), ("Output", "")]
        reply = await ami.action("Command", Command="dialplan reload")
        assert dict(reply)["Output"] == "Dialplan reloaded."
        reply = await ami.action("Command", Command="frobnicate now")
        assert dict(reply)["Response"] == "Error" and dict(reply)["Output"].startswith("No such command 'frobnicate")
        assert dict(await ami.action("Reload", Module="res_pjsip.so"))["Message"] == "Module Reloaded"
        assert dict(await ami.action("Reload", Module="res_nothing.so"))["Message"] == "No such module"
        # QueueReload re-reads the rendered queues.conf.
        (tmp_path / "current" / "queues.conf").write_text(QUEUES_CONF + "\n[vip]\nstrategy = linear\n"
                                                          "member => PJSIP/1003,0,Agent 1003\n")
        assert dict(await ami.action("QueueReload"))["Message"] == "Queue reloaded successfully"
        response, items, _ = await ami.list_action("QueueStatus", Queue="vip")
        assert [(dict(m).get("Event"), dict(m).get("Name")) for m in items] == [
            ("QueueParams", None), ("QueueMember", "Agent 1003"), ("QueueStatusComplete", None)]
        await ami.close()


@async_test
async def test_unsolicited_channel_events_match_trace_blocks():
    trace = trace_messages("ami_events_during_ari_scenarios.txt")
    first = {}
    for m in trace:
        first.setdefault(dict(m).get("Event"), m)
    async with running_sim(world(dialplan=DIALPLAN)) as sim, Ari(sim) as ari:
        ami = await Ami.connect(sim.ami_port, events="on")
        await ami.read()  # FullyBooted
        events = await ari.events()
        snap = await ari.originate("Local/s@test", appArgs="originated,A", callerId="Test A <5551000>")
        await events.wait_for("StasisStart", lambda e: e["args"] == ["from-test"])
        _, bridge, _ = await ari.post("/bridges")
        await ari.post(f"/bridges/{bridge['id']}/addChannel", channel=snap["id"])
        await events.wait_for("ChannelEnteredBridge")
        await ari.delete(f"/channels/{snap['id']}")
        await events.wait_for("ChannelDestroyed", lambda e: e["channel"]["id"] == snap["id"])
        await ari.delete(f"/bridges/{bridge['id']}")
        await asyncio.sleep(0.05)
        got: dict[str, list] = {}
        while True:
            try:
                msg = await ami.read(timeout=0.2)
            except TimeoutError:
                break
            got.setdefault(dict(msg)["Event"], []).append(msg)
        for name in ("Newchannel", "Newstate", "Newexten", "VarSet", "DialBegin", "DialEnd", "HangupRequest",
                     "SoftHangupRequest", "Hangup", "BridgeCreate", "BridgeEnter", "BridgeLeave", "BridgeDestroy"):
            assert name in got, name
            assert keys(got[name][0]) == keys(first[name]), name
            assert dict(got[name][0])["Privilege"] == dict(first[name])["Privilege"], name
        news = [dict(m) for m in got["Newchannel"]]
        assert [(n["ChannelStateDesc"], n["CallerIDNum"]) for n in news] == [("Down", "<unknown>"),
                                                                             ("Ring", "<unknown>")]
        assert news[1]["Linkedid"] == news[0]["Uniqueid"]
        await ami.close()


@async_test
async def test_queue_caller_events_match_trace(tmp_path):
    trace = {dict(m).get("Event"): m for m in trace_messages("ami_queue_scenario_events.txt")}
    cfg, config_dir = queue_world(tmp_path)
    async with running_sim(cfg, config_dir=config_dir) as sim:
        ami = await Ami.connect(sim.ami_port, events="call,agent")
        reply = await ami.action("Originate", Channel="Local/600@from-internal", Application="Wait", Data="60",
                                 CallerID="Caller <5553000>", Async="true", ActionID="Originate-1")
        assert without(reply, "ActionID") == without(trace_messages("ami_Originate_queue_caller.txt")[0], "ActionID")
        join = await ami.wait_event("QueueCallerJoin")
        assert keys(join) == keys(trace["QueueCallerJoin"])
        assert [v for k, v in join if k in ("Queue", "Position", "Count")] == ["support", "1", "1"]
        response, items, _ = await ami.list_action("QueueStatus", Queue="support", ActionID="QueueStatus-9")
        expected = trace_messages("ami_QueueStatus_with_caller.txt")
        assert [keys(m) for m in items] == [keys(m) for m in expected[1:]]
        entry = dict(items[-2])
        assert (entry["Event"], entry["Position"], entry["CallerIDNum"]) == ("QueueEntry", "1", "5553000")
        response, items, _ = await ami.list_action("CoreShowChannels", ActionID="c")
        apps = {dict(m)["Channel"][-2:]: (dict(m)["Application"], dict(m)["ApplicationData"], dict(m)["Priority"])
                for m in items[:-1]}
        assert apps == {";1": ("Wait", "60", "1"), ";2": ("Queue", "support", "3")}
        caller = next(dict(m)["Channel"] for m in items[:-1] if dict(m)["Channel"].endswith(";1"))
        reply = await ami.action("Hangup", Channel=caller, ActionID="Hangup-1")
        expected = trace_messages("ami_Hangup_Local_600_from-internal-00000003_1.txt")[0]
        assert without(reply, "ActionID") == without(expected, "ActionID")
        abandon = await ami.wait_event("QueueCallerAbandon")
        leave = await ami.wait_event("QueueCallerLeave")
        assert keys(abandon) == keys(trace["QueueCallerAbandon"])
        assert keys(leave) == keys(trace["QueueCallerLeave"])
        assert dict(await ami.action("Hangup", Channel="PJSIP/none-00000000"))["Message"] == "No such channel"
        await until(lambda: not sim.pbx.channels)
        await ami.close()


@async_test
async def test_message_parsing_accepts_bare_lf_and_case_insensitive_keys():
    async with running_sim() as sim:
        reader, writer = await asyncio.open_connection("127.0.0.1", sim.ami_port)
        await reader.readline()
        writer.write(b"action: login\nusername: callcenter\nsecret: callcenter\nevents: off\nactionid: a\n\n")
        writer.write(b"ACTION: Ping\n\n")
        data = b""
        while data.count(b"\r\n\r\n") < 2:
            data += await asyncio.wait_for(reader.read(4096), 5)
        first, second = data.split(b"\r\n\r\n")[:2]
        assert parse_message(first + b"\r\n") == [("Response", "Success"), ("ActionID", "a"),
                                                  ("Message", "Authentication accepted")]
        assert dict(parse_message(second + b"\r\n"))["Ping"] == "Pong"
        writer.close()


@async_test
async def test_failed_originates_on_ami_section_4b():
    cfg = world()
    cfg["callees"]["numbers"] = {"486": {"busy_probability": 1.0}, "480": {"answer_probability": 0.0}}
    async with running_sim(cfg) as sim, Ari(sim) as ari:
        ami = await Ami.connect(sim.ami_port, events="call")
        await ari.events()
        for number, timeout in (("486", 30), ("480", 5)):
            snap = await ari.originate(f"PJSIP/{number}@trunk", timeout=timeout)
            hangup = dict(await ami.wait_event("Hangup", lambda d, u=snap["id"]: d["Uniqueid"] == u))
            mine = [dict(m) for m in ami.events if dict(m).get("Uniqueid", dict(m).get("DestUniqueid")) == snap["id"]]
            names = [m["Event"] for m in mine]
            if number == "486":
                assert names == ["Newchannel", "DialBegin", "HangupRequest", "DialEnd"]
                assert (mine[2]["Cause"], mine[2]["TechCause"], mine[3]["DialStatus"]) == ("17", "486", "BUSY")
                assert (hangup["Cause"], hangup["Cause-txt"], hangup["TechCause"]) == ("17", "User busy", "486")
            else:
                assert names == ["Newchannel", "DialBegin", "Newstate", "DialState"]  # no DialEnd on a timeout
                assert (hangup["Cause"], hangup["TechCause"]) == ("19", "480")
            ami.events.clear()
        await ami.close()
