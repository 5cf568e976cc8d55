"""The AMI client against recorded traffic of a real Asterisk 22.10.1 (PBX-PROTOCOL.md section 5)."""

from __future__ import annotations

import asyncio
import re

import pytest

from callcenter.pbx.asterisk import ami
from tests.pbx.fakes import TRACES, FakeAmi, trace

AMI_TRACES = sorted(p.name for p in TRACES.glob("ami_*.txt"))


@pytest.fixture
def fake_ami():
    server = FakeAmi().start()
    yield server
    server.stop()


def client_for(server: FakeAmi, **kwargs) -> ami.AmiClient:
    kwargs.setdefault("ping_interval", None)
    return ami.AmiClient("127.0.0.1", server.port, server.username, server.secret, timeout=3, **kwargs)


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


# --- framing ------------------------------------------------------------------------------------------------------


def test_all_traces_are_present():
    assert len(AMI_TRACES) >= 20, TRACES


@pytest.mark.parametrize("name", AMI_TRACES)
def test_every_trace_parses_completely(name):
    raw = trace(name)
    banner, messages = ami.parse(raw)
    blocks = [b for b in re.split(r"\r\n\r\n", raw.decode().split("\r\n", 1)[1] if banner else raw.decode())
              if b.strip()]
    assert len(messages) == len(blocks)
    for message in messages:
        assert message.is_response or message.is_event, message
        for key, _value in message.headers:
            assert key and ":" not in key


def test_raw_session():
    banner, messages = ami.parse(trace("ami_raw_session.txt"))
    assert banner == "Asterisk Call Manager/11.0.0"
    login = messages[0]
    assert login.is_response and login["Message"] == "Authentication accepted"
    # CoreShowChannels: start, two channels, complete
    start = messages[1]
    assert start["EventList"] == "start"
    channels = [m for m in messages if m.name == "CoreShowChannel"]
    assert [c["Channel"] for c in channels] == ["Local/s@test-00000000;1", "Local/s@test-00000000;2"]
    assert channels[0]["ApplicationData"] == "callcenter,originated,A"
    assert channels[0]["BridgeId"] == ""  # empty values survive
    assert messages[-1]["Response"] == "Goodbye"


def test_keys_are_case_insensitive_and_repeat():
    _, [message] = ami.parse(b"Event: Newchannel\r\nCHANNEL: PJSIP/1001-01\r\nChanVariable: A=1\r\n"
                             b"ChanVariable: B=x=y\r\n\r\n", expect_banner=False)
    assert message.get("channel") == "PJSIP/1001-01"
    assert message.chan_variables == {"A": "1", "B": "x=y"}
    assert message.as_dict()["ChanVariable"] == ["A=1", "B=x=y"]


def test_bare_lf_and_split_reads():
    parser = ami.Parser()
    data = b"Asterisk Call Manager/11.0.0\nResponse: Success\nActionID: 1\nPing: Pong\n\n"
    out = []
    for i in range(len(data)):  # one byte at a time
        out += parser.feed(data[i:i + 1])
    assert parser.banner == "Asterisk Call Manager/11.0.0"
    assert len(out) == 1 and out[0]["Ping"] == "Pong"


def test_encode_action():
    raw = ami.encode_action("Originate", {"ActionID": "x", "Variable": ["A=1", "B=2"], "Async": True, "Skip": None})
    assert raw == b"Action: Originate\r\nActionID: x\r\nVariable: A=1\r\nVariable: B=2\r\nAsync: true\r\n\r\n"
    with pytest.raises(ValueError):
        ami.encode_action("Command", {"Command": "core show\r\nAction: Logoff"})


def test_reload_failed():
    assert ami.reload_failed("module reload res_pjsip.so", ["Module 'res_pjsip.so' reloaded successfully."]) is None
    assert ami.reload_failed("module reload res_pjsip.so", ["No such module 'res_pjsip.so'"])
    assert ami.reload_failed("queue reload all", [""]) is None
    assert ami.reload_failed("dialplan reload", ["Dialplan reloaded."]) is None


# --- the client against the fake server ---------------------------------------------------------------------------


def test_login_actions_and_event_lists(fake_ami):
    async def go():
        async with client_for(fake_ami, events=False) as client:
            assert client.banner == "Asterisk Call Manager/11.0.0"
            channels = await client.core_show_channels()
            assert [c["Uniqueid"] for c in channels] == ["1795802605.0", "1795802605.1"]
            status = await client.queue_status()
            assert {m.name for m in status} == {"QueueParams", "QueueMember"}
            assert status[0]["Strategy"] == "ringall"
            endpoints = (await client.send_action("PJSIPShowEndpoints")).events
            assert [e["ObjectName"] for e in endpoints] == ["1001", "1002"]
            pong = await client.ping()
            assert pong.get("Ping") == "Pong"
            assert await client.command("core show version") == [
                "Asterisk 22.10.1 built by root @ vm on a x86_64 running Linux on 2026-11-27 17:56:40 UTC"]
            assert await client.command("core reload") == [""]
            bad = await client.send_action("NoSuchAction")
            assert not bad.success and bad.text.startswith("Invalid/unknown command: NoSuchAction")
            with pytest.raises(ami.AmiActionError):
                await client.send_action("NoSuchAction", check=True)
            with pytest.raises(ami.AmiActionError):
                await client.command("no such thing")

    run(go())
    assert fake_ami.actions[0]["Action"] == "Login" and fake_ami.actions[0]["Events"] == "off"
    assert fake_ami.actions[-1]["Action"] == "Logoff"
    assert len({a["ActionID"] for a in fake_ami.actions}) == len(fake_ami.actions)


def test_concurrent_actions_are_matched_by_action_id(fake_ami):
    async def go():
        async with client_for(fake_ami, events=False) as client:
            results = await asyncio.gather(client.core_show_channels(), client.ping(), client.queue_status(),
                                           client.command("core show version"))
            assert len(results[0]) == 2 and results[1].get("Ping") == "Pong"
            assert len(results[2]) == 4 and results[3][0].startswith("Asterisk 22.10.1")

    run(go())


def test_bad_login(fake_ami):
    async def go():
        client = ami.AmiClient("127.0.0.1", fake_ami.port, "amiuser", "wrong", timeout=3, ping_interval=None)
        with pytest.raises(ami.AmiAuthError):
            await client.connect()

    run(go())


def test_unreachable():
    async def go():
        client = ami.AmiClient("127.0.0.1", 1, "u", "p", timeout=2, ping_interval=None)
        with pytest.raises(ami.AmiConnectionError):
            await client.connect()

    run(go())


@pytest.mark.parametrize("name", ["ami_events_during_ari_scenarios.txt", "ami_queue_scenario_events.txt"])
def test_unsolicited_events_reach_iterator_and_callbacks(fake_ami, name):
    raw = trace(name)
    _, expected = ami.parse(raw, expect_banner=raw.startswith(b"Asterisk"))
    expected = [m for m in expected if m.is_event]
    fake_ami.push_after_login = raw.split(b"\r\n", 1)[1] if raw.startswith(b"Asterisk") else raw

    async def go():
        seen_by_callback = []
        client = client_for(fake_ami)
        client.on_event(seen_by_callback.append)
        received = []

        async def consume():
            async for event in client.events():
                received.append(event)
                if len(received) == len(expected) + 1:  # + FullyBooted
                    return

        task = asyncio.create_task(consume())
        await asyncio.sleep(0)
        await client.connect()
        await asyncio.wait_for(task, 10)
        await client.close()
        return received, seen_by_callback

    received, seen = run(go())
    assert received[0].name == "FullyBooted"
    assert [m.headers for m in received[1:]] == [m.headers for m in expected]
    assert len(seen) == len(received)
    names = {m.name for m in received}
    if "queue" in name:
        assert {"QueueCallerJoin", "AgentCalled"} & names
    else:
        assert {"Newchannel", "Hangup"} <= names


def test_reconnects_and_logs_in_again_after_a_drop(fake_ami):
    async def go():
        client = client_for(fake_ami, events=False, backoff=(0.05, 0.2))
        await client.connect()
        assert (await client.ping()).success
        fake_ami.drop_all()
        for _ in range(100):
            if client.logins >= 2 and client.connected:
                break
            await asyncio.sleep(0.05)
        assert client.logins == 2
        assert (await client.ping()).success  # the same client works again
        await client.close()

    run(go())
    assert fake_ami.logins == 2 and fake_ami.connections == 2


def test_pending_action_fails_when_the_connection_drops(fake_ami):
    fake_ami.close_on.add("coreshowchannels")

    async def go():
        client = client_for(fake_ami, events=False, backoff=(0.05, 0.2))
        await client.connect()
        with pytest.raises(ami.AmiConnectionError):
            await client.core_show_channels()
        # send_action waits for the reconnect in progress, then goes through
        assert len(await client.core_show_channels()) == 2
        assert client.logins == 2
        await client.close()

    run(go())


def test_keepalive_ping(fake_ami):
    async def go():
        client = client_for(fake_ami, events=False)
        client.ping_interval = 0.05
        await client.connect()
        await asyncio.sleep(0.3)
        await client.close()

    run(go())
    assert sum(1 for a in fake_ami.actions if a["Action"] == "Ping") >= 2


def test_reload_sync_from_sync_code_and_from_inside_a_loop(fake_ami):
    kwargs = dict(host="127.0.0.1", port=fake_ami.port, username=fake_ami.username, secret=fake_ami.secret,
                  timeout=3)
    done = ami.reload_sync(["module reload res_pjsip.so", "queue reload all", "dialplan reload"], **kwargs)
    assert [c for c, _ in done] == ["module reload res_pjsip.so", "queue reload all", "dialplan reload"]

    async def inside():
        return ami.reload_sync(["dialplan reload"], **kwargs)

    assert asyncio.run(inside())[0][0] == "dialplan reload"
    fake_ami.fail["queue reload all"] = "Unable to reload queues"
    with pytest.raises(ami.AmiActionError, match="Unable"):
        ami.reload_sync(["queue reload all"], **kwargs)
