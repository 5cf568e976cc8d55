"""app_queue strategies over many calls with a fixed seed, and the queue events."""

from __future__ import annotations

import contextlib
from collections import Counter

from tests.pbx.sim.simkit import Ami, async_test, keys, running_sim, until, world

MEMBERS = ("PJSIP/1001", "PJSIP/1002", "PJSIP/1003")
DIALPLAN = "[from-trunk]\nexten => _[a-z].,1,Answer()\n same => n,Queue(${EXTEN})\n same => n,Hangup()\n"


def queues_conf(strategy: str, members=MEMBERS, extra: str = "") -> str:
    lines = [f"[{strategy}]", f"strategy = {strategy}", "timeout = 5", "retry = 1", extra]
    lines += [f"member => {m}" for m in members]
    return "\n".join(lines) + "\n"


def queue_world(conf: str, **phone_overrides) -> dict:
    phones = {m.split("/")[1]: {"mode": "auto", "ring_time": 0.5, "progress_delay": 0.1} for m in MEMBERS}
    phones.update(phone_overrides)
    return world(phones=phones, dialplan=DIALPLAN, queues_conf=conf,
                 inbound={"profile": {"talk_time": 2.0, "patience": 1000.0}})


async def run_calls(sim, queue: str, n: int, ami: Ami) -> tuple[list[str], list[set[str]]]:
    """Place `n` calls one after another; (member connected per call, members rung per call)."""
    for _ in range(n):
        chan = sim.pbx.inbound_call(queue)
        await until(lambda c=chan: c.dead, timeout=5, step=0.002)
    connected: list[str] = []
    rung: dict[str, set[str]] = {}
    while True:
        try:
            msg = dict(await ami.read(timeout=0.1))
        except TimeoutError:
            break
        if msg.get("Event") == "AgentCalled":
            rung.setdefault(msg["Uniqueid"], set()).add(msg["Interface"])
        elif msg.get("Event") == "AgentConnect":
            connected.append(msg["Interface"])
    return connected, list(rung.values())


@async_test
async def test_ringall_rings_every_available_member():
    async with running_sim(queue_world(queues_conf("ringall")), time_scale=0.002) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent")
        connected, rung = await run_calls(sim, "ringall", 10, ami)
        assert len(connected) == 10
        assert all(r == set(MEMBERS) for r in rung)
        sim.pbx.queues.pause("PJSIP/1002", True)
        connected, rung = await run_calls(sim, "ringall", 5, ami)
        assert all(r == {"PJSIP/1001", "PJSIP/1003"} for r in rung) and len(rung) == 5
        assert "PJSIP/1002" not in connected


@async_test
async def test_linear_always_takes_the_first_available():
    async with running_sim(queue_world(queues_conf("linear")), time_scale=0.002) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent")
        connected, rung = await run_calls(sim, "linear", 10, ami)
        assert connected == ["PJSIP/1001"] * 10
        assert all(r == {"PJSIP/1001"} for r in rung)
        sim.pbx.phones["1001"].mode = "offline"
        connected, _ = await run_calls(sim, "linear", 5, ami)
        assert connected == ["PJSIP/1002"] * 5


@async_test
async def test_linear_moves_on_when_the_first_does_not_answer():
    cfg = queue_world(queues_conf("linear"), **{"1001": {"mode": "manual"}})
    async with running_sim(cfg, time_scale=0.002) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent")
        connected, rung = await run_calls(sim, "linear", 3, ami)
        assert connected == ["PJSIP/1002"] * 3  # 1001 rang out (timeout = 5) each time
        assert sim.pbx.queues.queues["linear"].members[0].calls == 0


@async_test
async def test_rrmemory_goes_round():
    async with running_sim(queue_world(queues_conf("rrmemory")), time_scale=0.002) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent")
        connected, rung = await run_calls(sim, "rrmemory", 9, ami)
        assert connected == list(MEMBERS) * 3
        assert all(len(r) == 1 for r in rung)


@async_test
async def test_fewestcalls_prefers_the_least_used():
    async with running_sim(queue_world(queues_conf("fewestcalls")), time_scale=0.002) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent")
        q = sim.pbx.queues.queues["fewestcalls"]
        q.members[0].calls, q.members[1].calls, q.members[2].calls = 5, 2, 0
        connected, _ = await run_calls(sim, "fewestcalls", 6, ami)
        # 1003 catches up with 1002 (2 calls), then they take turns; 1001 (5) is never needed.
        assert connected[:2] == ["PJSIP/1003", "PJSIP/1003"]
        assert "PJSIP/1001" not in connected
        assert [m.calls for m in q.members] == [5, 4, 4]


@async_test
async def test_leastrecent_takes_the_longest_idle():
    async with running_sim(queue_world(queues_conf("leastrecent")), time_scale=0.002) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent")
        q = sim.pbx.queues.queues["leastrecent"]
        q.members[0].lastcall, q.members[1].lastcall, q.members[2].lastcall = 300, 100, 200
        connected, _ = await run_calls(sim, "leastrecent", 6, ami)
        assert connected == ["PJSIP/1002", "PJSIP/1003", "PJSIP/1001"] * 2


@async_test
async def test_random_is_roughly_uniform_and_seeded():
    picks = []
    for _ in range(2):
        async with running_sim(queue_world(queues_conf("random")), time_scale=0.001, seed=7) as sim:
            ami = await Ami.connect(sim.ami_port, events="agent")
            connected, rung = await run_calls(sim, "random", 90, ami)
            picks.append(connected)
            assert all(len(r) == 1 for r in rung)
    counts = Counter(picks[0])
    assert set(counts) == set(MEMBERS)
    assert all(15 <= c <= 45 for c in counts.values()), counts
    assert picks[0] == picks[1]  # same seed, same draws


@async_test
async def test_penalty_tiers():
    conf = "[tiers]\nstrategy = ringall\ntimeout = 5\nretry = 1\nmember => PJSIP/1001,0\nmember => PJSIP/1002,1\n"
    async with running_sim(queue_world(conf), time_scale=0.002) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent")
        connected, rung = await run_calls(sim, "tiers", 3, ami)
        assert all(r == {"PJSIP/1001"} for r in rung)
        sim.pbx.queues.pause("PJSIP/1001", True)
        connected, rung = await run_calls(sim, "tiers", 2, ami)
        assert connected == ["PJSIP/1002"] * 2


@async_test
async def test_agent_events_carry_caller_and_member_blocks():
    async with running_sim(queue_world(queues_conf("linear")), time_scale=0.005) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent,call")
        chan = sim.pbx.inbound_call("linear", "13900000001")
        called = await ami.wait_event("AgentCalled")
        connect = await ami.wait_event("AgentConnect")
        leave = await ami.wait_event("QueueCallerLeave")
        complete = await ami.wait_event("AgentComplete", timeout=5)
        block = ["Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "ConnectedLineNum",
                 "ConnectedLineName", "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid",
                 "Linkedid"]
        dest = ["Dest" + k for k in block]
        assert keys(called) == ["Event", "Privilege", *block, *dest, "Queue", "Interface", "MemberName"]
        assert keys(connect) == ["Event", "Privilege", *block, *dest, "Queue", "Interface", "MemberName",
                                 "HoldTime", "RingTime"]
        assert keys(complete) == ["Event", "Privilege", *block, *dest, "Queue", "Interface", "MemberName",
                                  "HoldTime", "TalkTime", "Reason"]
        assert dict(called)["Privilege"] == "agent,all"
        assert dict(complete)["Reason"] == "caller" and int(dict(complete)["TalkTime"]) >= 2
        assert dict(connect)["CallerIDNum"] == "13900000001"
        assert dict(called)["DestLinkedid"] == chan.id
        assert dict(leave)["Count"] == "0"
        await until(lambda: not sim.pbx.channels)
        q = sim.pbx.queues.queues["linear"]
        assert (q.completed, q.members[0].calls) == (1, 1)


@async_test
async def test_caller_abandons_while_members_ring():
    cfg = queue_world(queues_conf("ringall"), **{k: {"mode": "manual"} for k in ("1001", "1002", "1003")})
    cfg["inbound"]["profile"]["patience"] = 3.0
    async with running_sim(cfg, time_scale=0.005) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent,call")
        sim.pbx.inbound_call("ringall")
        for _ in MEMBERS:
            await ami.wait_event("AgentCalled")
        abandon = await ami.wait_event("QueueCallerAbandon")
        assert dict(abandon)["Queue"] == "ringall"
        cancels = [await ami.wait_event("DialEnd", lambda d: d["DialStatus"] == "CANCEL") for _ in MEMBERS]
        assert len(cancels) == 3
        await until(lambda: not sim.pbx.channels)
        assert sim.pbx.queues.queues["ringall"].abandoned == 1


@async_test
async def test_member_answered_by_a_person_through_sim_api():
    import aiohttp

    cfg = queue_world("[linear]\nstrategy = linear\ntimeout = 1000\nmember => PJSIP/1001\n",
                      **{"1001": {"mode": "manual"}})
    cfg["inbound"]["profile"]["talk_time"] = 1000.0  # only the agent ends this call
    async with running_sim(cfg, time_scale=0.005) as sim, aiohttp.ClientSession() as http:
        ami = await Ami.connect(sim.ami_port, events="agent")
        caller = sim.pbx.inbound_call("linear")
        await ami.wait_event("AgentCalled")
        await until(lambda: sim.pbx.phones["1001"].ringing_channel() is not None)
        async with http.post(sim.ari_url + "/sim/phones/1001/answer") as resp:
            assert resp.status == 200
        await ami.wait_event("AgentConnect")
        async with http.post(sim.ari_url + "/sim/phones/1001/hangup") as resp:
            assert resp.status == 200
        complete = await ami.wait_event("AgentComplete")
        assert dict(complete)["Reason"] == "agent"
        await until(lambda: caller.dead)  # the dialplan carried on to Hangup()


LOCAL_DIALPLAN = ("[from-trunk]\nexten => _[a-z].,1,Answer()\n same => n,Set(__WHO=${CALLERID(num)})\n"
                  " same => n,Set(_ONCE=yes)\n same => n,Queue(${EXTEN})\n same => n,Hangup()\n"
                  "[members]\nexten => 1001,1,Set(GOT=${WHO})\n same => n,Set(GOT_ONCE=${ONCE})\n"
                  " same => n,Dial(PJSIP/${EXTEN})\n same => n,Hangup()\n")
LOCAL_CONF = ("[loc]\nstrategy = ringall\ntimeout = 5\nretry = 1\nringinuse = no\n"
              "member => Local/1001@members/n,0,1001,PJSIP/1001\n")


@async_test
async def test_a_local_member_inherits_the_callers_variables():
    """Queue passes `__X` on as `__X` and `_X` as `X` to the member (main/channel.c), and the
    Local channel copies its variables to its `;2` half, where the dialplan reads them."""
    cfg = world(phones={"1001": {"mode": "manual"}}, dialplan=LOCAL_DIALPLAN, queues_conf=LOCAL_CONF,
                inbound={"profile": {"talk_time": 2.0, "patience": 1000.0}})
    async with running_sim(cfg) as sim:
        sim.pbx.inbound_call("loc", "13800000001")
        await until(lambda: any(c.name.endswith(";2") and "GOT" in c.vars for c in sim.pbx.channels.values()))
        half = next(c for c in sim.pbx.channels.values() if c.name.endswith(";2"))
        assert half.vars["GOT"] == "13800000001" and half.vars["__WHO"] == "13800000001"
        assert half.vars["GOT_ONCE"] == "yes" and half.vars["ONCE"] == "yes" and "_ONCE" not in half.vars
        assert (half.caller_num, half.context, half.exten) == ("13800000001", "members", "1001")


@async_test
async def test_with_ringinuse_no_a_member_being_rung_is_not_rung_for_another_caller():
    """app_queue's pending members: the phone (the state interface) is still free while the
    Local channel for the first caller rings, yet the member is not offered the second."""
    dialplan = LOCAL_DIALPLAN.replace(" same => n,Dial(PJSIP/${EXTEN})\n", " same => n,Wait(60)\n")
    cfg = world(phones={"1001": {"mode": "manual"}}, dialplan=dialplan, queues_conf=LOCAL_CONF,
                inbound={"profile": {"talk_time": 2.0, "patience": 1000.0}})
    async with running_sim(cfg) as sim:
        ami = await Ami.connect(sim.ami_port, events="agent")
        sim.pbx.inbound_call("loc", "13800000001")
        sim.pbx.inbound_call("loc", "13800000002")
        called = dict(await ami.wait_event("AgentCalled"))
        assert called["CallerIDNum"] == "13800000001"
        assert sim.pbx.queues.member_status(sim.pbx.queues.queues["loc"].members[0]) == 1  # the phone is free
        with contextlib.suppress(TimeoutError):
            again = dict(await ami.wait_event("AgentCalled", timeout=0.04))  # 4 s of the 5 s ring time
            raise AssertionError(f"rung twice: {again}")
        await ami.close()
