"""Call control: the `callctl` process hosting the pure call logic over ARI.

Every inbound call (Stasis args `inbound,<enterprise>,<did>,<trunk>`) and every test
dial runs here. Events from ARI become events of the pure state machines (logic/flow.py,
logic/ivr.py); their commands become ARI requests. Call control writes CDRs, recordings,
missed calls, live channels and agent states through callcenter.calls.services, and the
test-dial event log (CallEvent) that the flow page shows live.

Database work runs in one worker thread (sync_to_async, thread-sensitive), so the
asyncio loop never blocks on the ORM.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import gc
import logging
import random
import re
import time
import uuid
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone

from callcenter.calls import services as calls
from callcenter.calls.choices import AgentStatus, CallDirection, ChannelKind
from callcenter.calls.models import Cdr
from callcenter.pbx.asterisk.ari import AriClient, AriError, Event
from callcenter.pbx.asterisk.render import parse_stasis_args
from callcenter.pbx.callctl import dbconfig, writes
from callcenter.pbx.callctl.logic import base
from callcenter.pbx.callctl.logic.flow import FlowMachine
from callcenter.pbx.callctl.logic.groups import candidates_for
from callcenter.pbx.callctl.logic.ivr import IvrWalker
from callcenter.pbx.callctl.logic.routing import route_inbound
from callcenter.pbx.callctl.queue_members import QueueMembers
from callcenter.pbx.choices import CommandKind, CommandStatus
from callcenter.pbx.models import CallEvent, PbxCommand
from callcenter.workspace.services import agent_call_ended

log = logging.getLogger(__name__)

AGENT_RING_SECONDS = base.AGENT_RING_SECONDS
CONFIG_TTL_SECONDS = 2.0  # call-time configuration (menus, routes, blacklist) is re-read this often
BUSY_TTL_SECONDS = 0.5  # agents paused in the workspace; call control's own calls are tracked in memory
# How long queued writes may wait to share a transaction: 20 ms, and up to twice the time
# the last batch took (at most 100 ms) when the database thread is busy, so that under load
# more writes merge into one statement (callctl/writes.py); live views refresh every 2 s.
WRITE_BATCH_SECONDS = 0.02
WRITE_BATCH_MAX_SECONDS = 0.1
# Writes per transaction at most: reads waiting for the database thread (routing, extensions)
# wait behind one batch, not behind the whole backlog of a busy moment.
WRITE_BATCH_MAX = 400
DIALER_KINDS = ("campaign", "manual")  # calls the campaign dialer placed (campaigns/dialer)
# Admission control: past these, new inbound calls are refused with "congestion" (cause 34) and
# the dialer opens no new lines, so the calls already up keep their prompt handling instead of
# every call slowing down together. Lag: how late a 0.25 s sleep of the event loop wakes up.
OVERLOAD_LAG_SECONDS = 1.0
OVERLOAD_WRITE_BACKLOG = 20_000  # queued database writes (about 1,500 calls' worth)
LAG_PROBE_SECONDS = 0.25
CAUSE_CONGESTION = 34


def freeze_startup_heap() -> None:
    """Move what is loaded by now (Django, models, settings, caches: it lives as long as the
    process) out of the garbage collector's way: full collections no longer walk it. In the
    call-control process they took several percent of the core at 50 calls/s
    (docs/benchmarks.md). Call it once, at process start, before the event loop runs."""
    gc.collect()
    gc.freeze()


def drop_broken_connections() -> None:
    """Close database connections that failed and are no longer usable (the next query opens
    a new one), or that were left outside autocommit.

    Not `close_old_connections()`: that also closes healthy connections older than
    CONN_MAX_AGE, which is 0 on SQLite, so every round trip to the database thread
    reopened the file and re-ran its PRAGMAs (~6 ms of CPU against ~0.4 ms for a query,
    measured: the largest single cost of call control, docs/benchmarks.md). Call control
    is one long-lived process with one database thread: it keeps its connection.
    """
    for conn in connections.all(initialized_only=True):
        if conn.connection is None or conn.in_atomic_block:
            continue
        if conn.get_autocommit() != conn.settings_dict["AUTOCOMMIT"]:
            conn.close()
        elif conn.errors_occurred:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()


def db(func):
    """Run ORM code off the event loop, in the single database thread."""

    def run(*args, **kwargs):
        drop_broken_connections()
        return func(*args, **kwargs)

    return sync_to_async(run, thread_sensitive=True)


class _NeedsDatabase(Exception):
    pass


@dataclass
class AgentLeg:
    channel_id: str
    agent_id: int | None
    extension: str
    record: bool = False
    up: bool = False


@dataclass
class Call:
    """One customer leg and what runs on it (a flow machine or an IVR walker)."""

    key: str  # the customer channel id = CDR call id
    enterprise_id: int
    code: str
    machine: FlowMachine | IvrWalker | None = None
    kind: str = "inbound"  # inbound | test | campaign | manual (the last two: the dialer's, campaigns/dialer)
    caller: str = ""
    command_id: int | None = None
    group: object | None = None  # GroupConfig of a flow's transfer
    group_name: str = ""
    candidates: list = field(default_factory=list)
    dial_targets: list = field(default_factory=list)
    agent_leg: AgentLeg | None = None
    bridge_id: str | None = None
    playbacks: dict[str, int] = field(default_factory=dict)  # ARI playback id -> logic play id
    logic_playbacks: dict[int, str] = field(default_factory=dict)
    timers: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    rang_agent_ids: list[int] = field(default_factory=list)
    answered: bool = False
    ended: bool = False
    in_queue: str = ""


class CallControl:
    def __init__(self, ari: AriClient, *, app: str | None = None, time_scale: float = 1.0,
                 command_poll_seconds: float = 0.3, seed: int | None = None):
        self.ari = ari
        self.app = app or settings.PBX["APP"]
        self.time_scale = time_scale
        self.command_poll_seconds = command_poll_seconds
        self.calls: dict[str, Call] = {}  # by customer channel id
        self.agent_legs: dict[str, Call] = {}  # agent channel id -> the call it serves
        self.busy_agents: set[int] = set()
        self.rng = random.Random(seed)  # noqa: S311 - call distribution, not security
        self.stopping = asyncio.Event()
        self.handled_events = 0
        self._lanes: dict[str, collections.deque] = {}
        self._writes: list[tuple] = []
        self._contexts: dict[tuple, tuple[float, object]] = {}
        self._group_last: dict[int, int] = {}
        self._writes_pending = asyncio.Event()
        self.max_calls = settings.PBX["MAX_CALLS"]
        self.loop_lag = 0.0  # seconds, the latest probe (see _lag_probe)
        self.refused_overload = 0  # inbound calls refused by admission control since the start
        self._overload_logged = 0.0
        # The campaign dialer (campaigns/dialer/service.py), attached by `manage.py dialer`/`callctl`.
        self.dialer = None
        # Members of queues that announce the agent number (C8 接通前播工号, callctl/queue_members.py).
        self.queue_members = QueueMembers(self)

    # --- process ------------------------------------------------------------------------------
    async def run(self) -> None:
        events = asyncio.create_task(self._event_loop(), name="ari-events")
        commands = asyncio.create_task(self._command_loop(), name="commands")
        writer = asyncio.create_task(self._writer(), name="db-writer")
        lag = asyncio.create_task(self._lag_probe(), name="lag-probe")
        tasks = [events, commands, writer, lag]
        if self.dialer is not None:
            tasks.append(asyncio.create_task(self.dialer.run(), name="dialer"))
        await self.stopping.wait()
        if self.dialer is not None:  # it gives its leases up on the way out
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(tasks.pop(), timeout=5)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await db(run_writes)(self._take_writes())  # what was queued before the stop still lands
        # The database thread's connection goes with us (PostgreSQL would otherwise keep a session).
        await db(connections.close_all)()

    def stop(self) -> None:
        self.stopping.set()

    # --- admission control ---------------------------------------------------------------------
    async def _lag_probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await asyncio.sleep(LAG_PROBE_SECONDS)
            self.loop_lag = max(0.0, loop.time() - started - LAG_PROBE_SECONDS)

    def overload(self) -> str:
        """Why call control takes no new calls now ("" when it does): too many calls in progress
        (PBX["MAX_CALLS"]), an event loop running late, or a database falling behind the writes."""
        if len(self.calls) >= self.max_calls:
            return f"{len(self.calls)} calls in progress (limit {self.max_calls})"
        if self.loop_lag > OVERLOAD_LAG_SECONDS:
            return f"event loop {self.loop_lag:.1f} s late"
        if len(self._writes) > OVERLOAD_WRITE_BACKLOG:
            return f"{len(self._writes)} database writes queued"
        return ""

    def _refuse_overloaded(self, reason: str) -> None:
        self.refused_overload += 1
        now = time.monotonic()
        if now - self._overload_logged >= 10:  # a busy moment refuses many calls: one line per 10 s
            self._overload_logged = now
            log.warning("callctl: overloaded (%s): refusing new calls; %d refused since start",
                        reason, self.refused_overload)

    # --- writes ---------------------------------------------------------------------------------
    def write(self, func, *args, **kwargs) -> None:
        """Queue a database write (CDR, channel, state, event log). Writes run in order, batched
        in one transaction by the writer task: a call costs a dozen writes, and one round trip
        to the database thread each would cap call control at a few calls per second."""
        self._writes.append((func, args, kwargs))
        self._writes_pending.set()

    def _take_writes(self, limit: int | None = None) -> list[tuple]:
        if limit is not None and len(self._writes) > limit:
            batch, self._writes = self._writes[:limit], self._writes[limit:]  # the rest: the next batch
            return batch
        batch, self._writes = self._writes, []
        self._writes_pending.clear()
        return batch

    async def _writer(self) -> None:
        loop = asyncio.get_running_loop()
        delay = WRITE_BATCH_SECONDS
        while True:
            await self._writes_pending.wait()
            await asyncio.sleep(delay)  # let a batch gather
            batch = self._take_writes(WRITE_BATCH_MAX)
            if batch:
                started = loop.time()
                await db(run_writes)(batch)
                delay = min(WRITE_BATCH_MAX_SECONDS, max(WRITE_BATCH_SECONDS, 2 * (loop.time() - started)))

    async def _event_loop(self) -> None:
        """Events of one call run in order, in that call's lane; calls run concurrently.

        Handling an event awaits ARI requests and database writes, so one lane for all
        calls would make every call wait for every other (measured: ~13 calls/s).
        """
        async for event in self.ari.events(skip=self.IGNORED_EVENTS):
            key = self._lane_key(event)
            lane = self._lanes.get(key)
            if lane is None:
                self._lanes[key] = collections.deque((event,))
                asyncio.create_task(self._lane(key, self._lanes[key]), name=f"lane-{key}")
            else:
                lane.append(event)

    def _lane_key(self, ev: Event) -> str:
        """The customer call an event belongs to (its channel id), or the channel itself."""
        if ev.type == "Dial" and ev.caller is not None:
            cid = ev.caller.id
        elif ev.playback is not None:
            cid = ev.playback.target_uri.removeprefix("channel:")
        elif ev.channel is not None:
            cid = ev.channel.id
            if ev.type == "StasisStart" and len(ev.args) >= 2 and ev.args[0] == "agent":
                return ev.args[1]
            if ev.type == "StasisStart" and ev.args and ev.args[0] == "qagent":
                return self.queue_members.lane_key(ev) or cid
        else:
            return "-"
        call = self.agent_legs.get(cid)
        return call.key if call is not None else cid

    async def _lane(self, key: str, lane: collections.deque) -> None:
        """Handle a lane's events in order until it is empty, then end (the next event of the
        call starts a new one). The event stays in the deque while it is handled, so the
        dispatcher appends to this lane instead of starting a second one."""
        try:
            while lane:
                event = lane[0]
                try:
                    await self.on_event(event)
                except Exception:  # one bad call must not stop call control for everyone
                    log.exception("callctl: failed on %s", event.type)
                lane.popleft()
                self.handled_events += 1
        finally:
            self._lanes.pop(key, None)  # no await since the deque was seen empty: nothing is lost

    async def _command_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                for command in await db(claim_commands)():
                    asyncio.create_task(self.run_command(command))
            except Exception:
                log.exception("callctl: command poll failed")
            await asyncio.sleep(self.command_poll_seconds)

    # --- events ---------------------------------------------------------------------------------
    # Event types on_event never looks at: dropped by the ARI client before they are parsed
    # (with subscribeAll they are most of the traffic). A hook that needs one removes it here.
    IGNORED_EVENTS = frozenset({
        "ChannelVarset", "ChannelDialplan", "ChannelCreated", "ChannelCallerId", "ChannelConnectedLine",
        "ChannelEnteredBridge", "ChannelLeftBridge", "ChannelHangupRequest", "StasisEnd", "BridgeCreated",
        "BridgeDestroyed", "BridgeMerged", "BridgeBlindTransfer", "BridgeAttendedTransfer", "BridgeVideoSourceChanged",
        "PlaybackStarted", "PlaybackContinuing", "RecordingStarted", "RecordingFinished", "RecordingFailed",
        "ChannelHold", "ChannelUnhold", "ChannelTalkingStarted", "ChannelTalkingFinished", "ChannelToneDetected",
        "ChannelUserevent", "DeviceStateChanged", "EndpointStateChange", "ContactStatusChange", "PeerStatusChange",
        "TextMessageReceived",
    })

    async def on_event(self, ev: Event) -> None:
        if self.queue_members.owns(ev):
            await self.queue_members.on_event(ev)
            return
        channel = ev.channel
        cid = channel.id if channel else ""
        if ev.type == "StasisStart":
            await self._stasis_start(ev)
        elif ev.type == "ChannelDtmfReceived" and cid in self.calls:
            call = self.calls[cid]
            await self.log_event(call, "key", ev.digit)
            await self.feed(call, base.Dtmf(ev.digit))
        elif ev.type == "PlaybackFinished" and ev.playback is not None:
            target = ev.playback.target_uri.removeprefix("channel:")
            call = self.calls.get(target)
            if call and ev.playback.id in call.playbacks:
                play_id = call.playbacks.pop(ev.playback.id)
                call.logic_playbacks.pop(play_id, None)
                await self.log_event(call, "prompt_played", "")
                await self.feed(call, base.PlaybackFinished(play_id))
        elif ev.type == "ChannelStateChange" and cid in self.calls:
            call = self.calls[cid]
            if channel.state == "Ringing":
                await self.log_event(call, "ringing", "")
            elif channel.state == "Up" and call.kind in DIALER_KINDS and self.dialer is not None:
                await self.dialer.answered(call)  # a campaign callee answered (the channel is already ours)
        elif ev.type == "ChannelDestroyed":
            await self._destroyed(ev)
        elif ev.type == "Dial" and ev.dialstatus == "ANSWER" and ev.caller is not None:
            call = self.calls.get(ev.caller.id)
            if call is not None and call.in_queue and ev.peer is not None:
                await self._queue_answered(call, ev.peer.name)

    async def _stasis_start(self, ev: Event) -> None:
        channel = ev.channel
        args = list(ev.args)
        role = args[0] if args else ""
        if role == "agent" and len(args) >= 2:
            call = self.calls.get(args[1])
            if call is None or call.ended:
                await self._hangup(channel.id)
                return
            await self._agent_answered(call, channel.id)
        elif role == "testdial" and channel.id in self.calls:
            call = self.calls[channel.id]
            call.answered = True
            now = timezone.now()
            self.write(calls.cdr_answer, call_id=call.key, answered_at=now)
            await self.log_event(call, "answered", "")
            await self.feed(call, base.Answered())
        elif role == "inbound":
            await self._inbound(ev)
        elif role == "overflow":
            await self._overflow(ev)
        elif role == "internal":
            # An agent dialled an extension: connect it like an IVR's direct dial.
            await self._internal(ev)
        elif role == "campaign":
            # A dialer channel entered the app at its creation; it is dialled after this. One that
            # no dialer here knows is left for the reconciliation of its enterprise's dialer.
            if self.dialer is not None:
                self.dialer.stasis_start(channel.id)
        else:
            log.info("callctl: StasisStart with unknown args %s; hanging up", args)
            await self._hangup(channel.id)

    async def _destroyed(self, ev: Event) -> None:
        cid = ev.channel.id
        cause = ev.cause if ev.cause is not None else base.CAUSE_NORMAL
        self.write(calls.live_channel_remove, channel_ids=[cid])
        if cid in self.agent_legs:
            call = self.agent_legs.pop(cid)
            await self._agent_leg_gone(call, cid, cause)
            return
        call = self.calls.get(cid)
        if call is None:
            return
        if not call.answered and call.kind in ("test", *DIALER_KINDS):
            await self.log_event(call, "hangup", f"{cause} {ev.cause_txt}".strip())
            await self._finish(call, cause, outcome="no_answer")
            return
        await self.log_event(call, "hangup", f"{cause} {ev.cause_txt}".strip())
        call.ended = True
        if call.machine is not None:
            await self.feed(call, base.Hangup(cause))
        await self._finish(call, cause)

    # --- inbound ------------------------------------------------------------------------------
    async def _inbound(self, ev: Event) -> None:
        channel = ev.channel
        reason = self.overload()
        if reason:
            self._refuse_overloaded(reason)
            await self._hangup(channel.id, reason_code=CAUSE_CONGESTION)
            return
        entry = parse_stasis_args(ev.args)
        code, did, trunk = entry.enterprise, entry.target, entry.trunk
        ctx = await self._inbound_context(code, trunk) if entry.kind == "inbound" else None
        if ctx is None:
            await self._hangup(channel.id, reason_code=base.CAUSE_UNALLOCATED)
            return
        caller = channel.caller.number if channel.caller else ""
        call = Call(key=channel.id, enterprise_id=ctx.enterprise_id, code=ctx.code, caller=caller)
        self.calls[channel.id] = call
        now = timezone.now()
        self.write(calls.cdr_open, enterprise_id=ctx.enterprise_id, call_id=channel.id, direction=CallDirection.IN,
                                 started_at=now, caller=caller, callee=did, did=did, trunk_id=ctx.trunk_id)
        self.write(calls.live_channel_upsert, enterprise_id=ctx.enterprise_id, channel_id=channel.id,
                                            kind=ChannelKind.TRUNK, started_at=now, name=channel.name,
                                            state="Up", caller=caller, callee=did)
        decision = await self._route(ctx, caller, did)
        if decision.kind == "refuse" or decision.kind == "unrouted":
            call.ended = True
            await self._hangup(channel.id, reason_code=decision.cause or base.CAUSE_REJECTED)
            return
        with contextlib.suppress(AriError):
            await self.ari.answer(channel.id)
        call.answered = True
        if decision.kind == "ivr":
            menu = ctx.routing.menus.get(decision.menu_id)
            call.machine = IvrWalker(menu, last_agent=decision.last_agent)
            await self.feed(call, base.Answered())
        elif decision.kind == "extension":
            await self._dial_extension(call, decision.target, AGENT_RING_SECONDS)
        elif decision.kind == "group":
            group = await self._cached(("group", ctx.enterprise_id, decision.target),
                                       dbconfig.group_by_name, ctx.enterprise_id, decision.target)
            call.group, call.group_name = group, decision.target
            await self._transfer_to_group(call)

    async def _route(self, ctx, caller: str, did: str):
        """The routing decision, computed here when it needs no database read (the usual case:
        a round trip to the database thread per call cost more than the routing itself); a
        menu that sends callers to their last agent looks that up in the database thread."""
        def needs_database(_number: str):
            raise _NeedsDatabase

        try:
            return route_inbound(ctx.routing, caller=caller, did=did, tz=ctx.tz, last_agent_of=needs_database)
        except _NeedsDatabase:
            return await db(route_inbound_sync)(ctx, caller, did)

    async def _inbound_context(self, code: str, trunk: str):
        """Routing configuration of an enterprise, read at most every CONFIG_TTL_SECONDS.

        Menus, schedules, routes and the blacklist take effect within that time without an
        apply; reading them for every call cost ~9 ms of the database thread per call.
        """
        return await self._cached(("ctx", code, trunk), dbconfig.inbound_context, code, trunk)

    async def _cached(self, key: tuple, func, *args, ttl: float | None = None):
        """`func(*args)` from the database, re-read at most every `ttl` seconds.

        Single-flight: calls arriving while the value loads wait for that one read, so a
        burst of calls costs one query, not one each.
        """
        loop = asyncio.get_running_loop()
        hit = self._contexts.get(key)
        if hit is not None and (hit[0] > loop.time() or isinstance(hit[1], asyncio.Future)):
            value = hit[1]
            return await asyncio.shield(value) if isinstance(value, asyncio.Future) else value
        pending = loop.create_future()
        self._contexts[key] = (float("inf"), pending)
        try:
            value = await db(func)(*args)
        except BaseException as exc:
            self._contexts.pop(key, None)
            pending.set_exception(exc)
            pending.exception()  # retrieved: no "never retrieved" warning when nobody waited
            raise
        pending.set_result(value)
        self._contexts[key] = (loop.time() + (CONFIG_TTL_SECONDS if ttl is None else ttl), value)
        return value

    async def _extension(self, call: Call, number: str):
        extensions = await self._cached(("exts", call.enterprise_id), dbconfig.extensions_of,
                                        call.enterprise_id, call.code)
        return extensions.get(number)

    async def _overflow(self, ev: Event) -> None:
        """A queue's full round went unanswered (未接通转手机): ring the members' bound phones."""
        args = list(ev.args)
        code, extension = (args[1], args[2]) if len(args) >= 3 else ("", "")
        call = self.calls.get(ev.channel.id)
        if call is None:  # call control restarted while the caller was queued
            ctx = await self._inbound_context(code, "")
            if ctx is None:
                await self._hangup(ev.channel.id)
                return
            caller = ev.channel.caller.number if ev.channel.caller else ""
            call = Call(key=ev.channel.id, enterprise_id=ctx.enterprise_id, code=code, caller=caller)
            self.calls[call.key] = call
        call.in_queue = ""  # the call is ours again
        await self.log_event(call, "overflow", extension)
        call.dial_targets = await db(dbconfig.overflow_targets)(call.enterprise_id, code, extension)
        await self._ring_next_target(call)

    async def _ring_next_target(self, call: Call) -> None:
        while call.dial_targets and not call.ended:
            ext = call.dial_targets.pop(0)
            if ext.agent_id in self.busy_agents:
                continue
            if await self._ring_agent(call, ext, AGENT_RING_SECONDS):
                return
        await self._no_agent(call, "overflow")

    async def _internal(self, ev: Event) -> None:
        entry = parse_stasis_args(ev.args)
        code, exten = entry.enterprise, entry.target
        ctx = await self._inbound_context(code, "") if entry.kind == "internal" else None
        if ctx is None:
            await self._hangup(ev.channel.id, reason_code=base.CAUSE_UNALLOCATED)
            return
        caller = ev.channel.caller.number if ev.channel.caller else ""
        call = Call(key=ev.channel.id, enterprise_id=ctx.enterprise_id, code=code, caller=caller)
        self.calls[call.key] = call
        self.write(calls.cdr_open, enterprise_id=ctx.enterprise_id, call_id=call.key,
                                 direction=CallDirection.INTERNAL, started_at=timezone.now(), caller=caller,
                                 callee=exten)
        with contextlib.suppress(AriError):
            await self.ari.answer(call.key)
        call.answered = True
        await self._dial_extension(call, exten, AGENT_RING_SECONDS)

    # --- hang-up from the agent workspace ------------------------------------------------------------
    async def _hangup_command(self, command: PbxCommand) -> None:
        """Hang up a customer channel of the command's enterprise (its CDR still open); the
        ChannelDestroyed that follows ends the call as if the customer had hung up."""
        channel_id = str((command.params or {}).get("channel_id", ""))
        call = self.calls.get(channel_id)
        ours = call is not None and call.enterprise_id == command.enterprise_id
        if not ours and not (channel_id and await db(open_call_of)(command.enterprise_id, channel_id)):
            await db(finish_command)(command.pk, CommandStatus.FAILED, "no such call")
            return
        await self._hangup(channel_id)
        await db(finish_command)(command.pk, CommandStatus.DONE, "hung up")

    # --- test dial (测拨) --------------------------------------------------------------------------
    async def run_command(self, command: PbxCommand) -> None:
        if command.kind == CommandKind.HANGUP:
            await self._hangup_command(command)
            return
        if command.kind != CommandKind.TEST_DIAL:
            self.write(finish_command, command.pk, CommandStatus.FAILED, "unknown command")
            return
        try:
            run = await db(dbconfig.flow_run)(command.params["flow_id"])
        except Exception as exc:
            self.write(finish_command, command.pk, CommandStatus.FAILED, str(exc)[:200])
            return
        number = command.params["number"]
        if run.trunk_endpoint is None:
            self.write(add_event, command.enterprise_id, command.pk, "", "failed", "没有可用的外线")
            self.write(finish_command, command.pk, CommandStatus.FAILED, "no trunk")
            return
        channel_id = f"cc-test-{command.pk}-{uuid.uuid4().hex[:8]}"
        call = Call(key=channel_id, enterprise_id=run.enterprise_id, code=run.code, kind="test", caller=number,
                    command_id=command.pk, machine=FlowMachine(run.config), group=run.group,
                    group_name=run.group_name)
        self.calls[channel_id] = call
        self.write(calls.cdr_open, enterprise_id=run.enterprise_id, call_id=channel_id, direction=CallDirection.TEST,
                                 started_at=timezone.now(), caller=run.caller_id, callee=number,
                                 trunk_id=run.trunk_id, flow_id=run.flow_id, group_name=run.group_name)
        self.write(set_command_call, command.pk, channel_id)
        await self.log_event(call, "dialing", number)
        try:
            await self.ari.originate(f"PJSIP/{number}@{run.trunk_endpoint}", app=self.app,
                                     app_args=["testdial", str(command.pk)], caller_id=run.caller_id or None,
                                     timeout=30, channel_id=channel_id)
        except AriError as exc:
            self.calls.pop(channel_id, None)
            await self.log_event(call, "failed", exc.message if hasattr(exc, "message") else str(exc))
            self.write(calls.cdr_close, call_id=channel_id, ended_at=timezone.now(), cause=38, outcome="failed")
            self.write(finish_command, command.pk, CommandStatus.FAILED, str(exc)[:200])
            return
        self.write(calls.live_channel_upsert, enterprise_id=run.enterprise_id, channel_id=channel_id,
                                            kind=ChannelKind.TRUNK, started_at=timezone.now(),
                                            name=f"PJSIP/{run.trunk_endpoint}", state="Dialing",
                                            caller=run.caller_id, callee=number)

    # --- the machine's commands -----------------------------------------------------------------
    async def feed(self, call: Call, event) -> None:
        if call.machine is None:
            return
        for cmd in call.machine.handle(event):
            await self.execute(call, cmd)

    async def execute(self, call: Call, cmd) -> None:
        if isinstance(cmd, base.Play):
            if call.ended:
                return
            try:
                playback = await self.ari.play(call.key, cmd.media, playback_id=f"pb-{uuid.uuid4().hex}")
            except AriError:
                await self.feed(call, base.PlaybackFinished(cmd.play_id))
                return
            call.playbacks[playback.id] = cmd.play_id
            call.logic_playbacks[cmd.play_id] = playback.id
        elif isinstance(cmd, base.StopPlayback):
            pb = call.logic_playbacks.pop(cmd.play_id, None)
            if pb:
                call.playbacks.pop(pb, None)
                with contextlib.suppress(AriError):
                    await self.ari.stop_playback(pb)
        elif isinstance(cmd, base.StartTimer):
            self._cancel_timer(call, cmd.name)
            loop = asyncio.get_running_loop()
            call.timers[cmd.name] = loop.call_later(
                cmd.seconds * self.time_scale,
                lambda name=cmd.name: asyncio.ensure_future(self._timer_fired(call, name)))
        elif isinstance(cmd, base.CancelTimer):
            self._cancel_timer(call, cmd.name)
        elif isinstance(cmd, base.TransferToGroup):
            await self.log_event(call, "transferring", call.group_name)
            if cmd.ringback and not call.ended:
                with contextlib.suppress(AriError):
                    pb = await self.ari.play(call.key, cmd.ringback, playback_id=f"rb-{uuid.uuid4().hex}")
                    call.playbacks[pb.id] = -1
            await self._transfer_to_group(call)
        elif isinstance(cmd, base.CancelTransfer):
            await self._drop_agent_leg(call)
        elif isinstance(cmd, base.DialExtension):
            await self._dial_extension(call, cmd.extension, cmd.ring_seconds)
        elif isinstance(cmd, base.RememberDefaultIndex):
            self.write(dbconfig.remember_default_index, cmd.menu_id, cmd.index)
        elif isinstance(cmd, base.HangupCall):
            await self._hangup(call.key, reason_code=cmd.cause)

    def _cancel_timer(self, call: Call, name: str) -> None:
        handle = call.timers.pop(name, None)
        if handle is not None:
            handle.cancel()

    async def _timer_fired(self, call: Call, name: str) -> None:
        if call.timers.pop(name, None) is None or call.ended:
            return
        await self.feed(call, base.TimerFired(name))

    # --- agents ---------------------------------------------------------------------------------
    async def _transfer_to_group(self, call: Call) -> None:
        if call.kind == "campaign" and self.dialer is not None:
            await self.dialer.transfer(call)  # idle agents only, and the 2 s abandon rule
            return
        group = call.group
        if group is None:
            await self._no_agent(call, "no group")
            return
        busy = await self._cached(("busy", call.enterprise_id), dbconfig.busy_agent_ids, call.enterprise_id,
                                  ttl=BUSY_TTL_SECONDS) | self.busy_agents
        if group.last_agent_id != self._group_last.get(group.id, group.last_agent_id):
            group = dataclasses.replace(group, last_agent_id=self._group_last[group.id])
        call.candidates = candidates_for(group, idle=lambda agent_id: agent_id not in busy, rng=self.rng)
        await self._ring_next_candidate(call)

    async def _ring_next_candidate(self, call: Call) -> None:
        while call.candidates and not call.ended:
            member = call.candidates.pop(0)
            if member.agent_id in self.busy_agents:
                continue
            ext = await self._extension(call, member.extension)
            if ext is None or ext.kind != "agent":
                continue
            if await self._ring_agent(call, ext, AGENT_RING_SECONDS):
                return
        await self._no_agent(call, "group")

    async def _dial_extension(self, call: Call, extension: str, ring_seconds: int) -> None:
        ext = await self._extension(call, extension)
        if ext is None:
            await self._no_agent(call, f"no extension {extension}")
            return
        if ext.kind == "queue":
            # app_queue distributes the call from here on; events still reach us (subscribeAll).
            call.in_queue = ext.queue_name
            await self.log_event(call, "queue", ext.queue_name)
            self.write(calls.live_channel_upsert, enterprise_id=call.enterprise_id, channel_id=call.key,
                                                kind=ChannelKind.QUEUE_WAIT, started_at=timezone.now(),
                                                caller=call.caller, queue_name=ext.queue_name, state="Up")
            try:
                await self.ari.continue_in_dialplan(call.key, context=f"{call.code}-queues", extension=extension,
                                                    priority=1)
            except AriError:
                await self._no_agent(call, "queue")
            return
        if ext.agent_id in self.busy_agents:
            await self._no_agent(call, "busy")
            return
        if not await self._ring_agent(call, ext, ring_seconds):
            await self._no_agent(call, "unreachable")

    async def _ring_agent(self, call: Call, ext, ring_seconds: int) -> bool:
        if ext.agent_id in self.busy_agents:  # taken by another call since it was picked
            return False
        # Reserved before the originate: calls picking concurrently (every call of a round-robin
        # group starts from the same member) skip this agent instead of ringing a busy phone.
        self.busy_agents.add(ext.agent_id)
        leg_id = f"cc-agent-{uuid.uuid4().hex[:12]}"
        # Known before the originate, so the leg's first events already land in this call's lane.
        call.agent_leg = AgentLeg(leg_id, ext.agent_id, ext.number, record=ext.record)
        self.agent_legs[leg_id] = call
        try:
            await self.ari.originate(f"PJSIP/{ext.endpoint}", app=self.app, app_args=["agent", call.key],
                                     caller_id=call.caller or None, timeout=ring_seconds, channel_id=leg_id)
        except AriError:
            self.busy_agents.discard(ext.agent_id)
            self.agent_legs.pop(leg_id, None)
            call.agent_leg = None
            return False
        call.rang_agent_ids.append(ext.agent_id)
        await self.log_event(call, "agent_ringing", ext.number)
        now = timezone.now()
        self.write(calls.agent_state_set, enterprise_id=call.enterprise_id, agent_id=ext.agent_id,
                                        state=AgentStatus.RINGING, since=now, call_id=call.key)
        self.write(calls.live_channel_upsert, enterprise_id=call.enterprise_id, channel_id=leg_id,
                                            kind=ChannelKind.EXTENSION, started_at=now, name=f"PJSIP/{ext.endpoint}",
                                            state="Ringing", caller=call.caller, callee=ext.number,
                                            agent_id=ext.agent_id)
        return True

    async def _queue_answered(self, call: Call, peer_name: str) -> None:
        """app_queue connected a member: the CDR names the agent (PJSIP/<code>-<number>-<seq>)."""
        match = re.match(rf"PJSIP/{re.escape(call.code)}-(\d{{3,4}})-", peer_name)
        if match is None:
            return
        ext = await self._extension(call, match.group(1))
        if ext is None or ext.agent_id is None:
            return
        await self.log_event(call, "connected", ext.number)
        self.write(calls.cdr_answer, call_id=call.key, answered_at=timezone.now(), agent_id=ext.agent_id,
                                   queue_name=call.in_queue)

    async def _agent_answered(self, call: Call, leg_id: str) -> None:
        if call.kind == "manual" and self.dialer is not None:
            await self.dialer.manual_agent_answered(call, leg_id)  # the agent first, then the number
            return
        leg = call.agent_leg
        if leg is None or leg.channel_id != leg_id:
            await self._hangup(leg_id)
            return
        leg.up = True
        for name in list(call.timers):
            self._cancel_timer(call, name)
        for pb in list(call.playbacks):
            with contextlib.suppress(AriError):
                await self.ari.stop_playback(pb)
        call.playbacks.clear()
        call.logic_playbacks.clear()
        bridge = await self.ari.create_bridge(type="mixing")
        call.bridge_id = bridge.id
        await self.ari.add_channel(bridge.id, [call.key, leg_id])
        now = timezone.now()
        await self.log_event(call, "connected", leg.extension)
        self.write(calls.cdr_answer, call_id=call.key, answered_at=now, agent_id=leg.agent_id,
                                   group_name=call.group_name or None)
        self.write(calls.agent_state_set, enterprise_id=call.enterprise_id, agent_id=leg.agent_id,
                                        state=AgentStatus.BUSY, since=now, call_id=call.key)
        self.write(calls.live_channel_upsert, enterprise_id=call.enterprise_id, channel_id=leg_id,
                                            kind=ChannelKind.EXTENSION, started_at=now, state="Up",
                                            caller=call.caller, callee=leg.extension, agent_id=leg.agent_id)
        if call.kind == "campaign" and self.dialer is not None:
            self.dialer.agent_connected(call, leg)
        if call.group is not None and leg.agent_id is not None:
            self._group_last[call.group.id] = leg.agent_id  # round-robin memory, ahead of the cached config
            self.write(dbconfig.remember_group_agent, call.group.id, leg.agent_id)
        if leg.record:
            name = f"{call.code}-{call.key}"
            with contextlib.suppress(AriError):
                await self.ari.request("POST", f"/bridges/{bridge.id}/record",
                                       params={"name": name, "format": "wav", "ifExists": "overwrite"})
                self.write(calls.recording_add, enterprise_id=call.enterprise_id, call_id=call.key, created_at=now,
                                              agent_id=leg.agent_id, url=f"ari:{name}")
        await self.feed(call, base.AgentAnswered(agent=leg.extension))

    async def _agent_leg_gone(self, call: Call, leg_id: str, cause: int) -> None:
        leg = call.agent_leg
        if leg is not None and leg.agent_id is not None:
            self.busy_agents.discard(leg.agent_id)
            if leg.up:  # idle again, or paused for wrap-up when the call's flow says 挂断后暂停
                self.write(agent_call_ended, enterprise_id=call.enterprise_id, agent_id=leg.agent_id,
                           call_id=call.key, since=timezone.now())
            else:
                self.write(calls.agent_state_set, enterprise_id=call.enterprise_id, agent_id=leg.agent_id,
                                                state=AgentStatus.IDLE, since=timezone.now())
        if call.kind == "manual" and self.dialer is not None and await self.dialer.agent_leg_gone(call, leg, leg_id):
            return
        if leg is None or leg.channel_id != leg_id:
            return
        call.agent_leg = None
        if leg.up:
            # The agent hung up a connected call: the customer leg ends too.
            if not call.ended:
                await self._hangup(call.key)
            return
        await self.log_event(call, "agent_no_answer", leg.extension)
        if call.ended:
            return
        if call.candidates:
            await self._ring_next_candidate(call)
        elif call.dial_targets:
            await self._ring_next_target(call)
        else:
            await self._no_agent(call, "no answer")

    async def _no_agent(self, call: Call, reason: str) -> None:
        if call.kind == "campaign" and self.dialer is not None and await self.dialer.no_agent(call, reason):
            return  # waits for an agent up to 2 s, then abandons with a short message
        await self.log_event(call, "no_agent", reason)
        if call.machine is not None:
            await self.feed(call, base.AgentFailed(reason))
        elif not call.ended:
            await self._hangup(call.key)

    async def _drop_agent_leg(self, call: Call) -> None:
        leg = call.agent_leg
        if leg is not None:
            await self._hangup(leg.channel_id)

    async def _hangup(self, channel_id: str, *, reason_code: int | None = None) -> None:
        with contextlib.suppress(AriError):
            await self.ari.hangup(channel_id, reason_code=reason_code)

    # --- the end of a call ----------------------------------------------------------------------
    async def _finish(self, call: Call, cause: int, outcome: str | None = None) -> None:
        call.ended = True
        self.calls.pop(call.key, None)
        for name in list(call.timers):
            self._cancel_timer(call, name)
        if call.agent_leg is not None:
            await self._hangup(call.agent_leg.channel_id)
        if call.bridge_id:
            with contextlib.suppress(AriError):
                await self.ari.destroy_bridge(call.bridge_id)
        machine = call.machine
        last_key = machine.last_key if machine is not None else ""
        if outcome is None and machine is not None and machine.outcome is not None:
            outcome = str(machine.outcome)
        self.write(calls.cdr_close, call_id=call.key, ended_at=timezone.now(), cause=cause, last_key=last_key or None,
                                  outcome=outcome)
        connected = bool(call.agent_leg and call.agent_leg.up) or (outcome == "connected")
        # A missed call (漏接): inbound, rang an agent (or found nobody to ring), never connected.
        # Calls handed to app_queue are the queue's to count.
        missed = call.kind == "inbound" and not connected and not call.in_queue and (
            call.rang_agent_ids or outcome in ("no_answer", "no_destination", "abandoned"))
        if missed:
            self.write(calls.missed_call_add, enterprise_id=call.enterprise_id, call_id=call.key, caller=call.caller,
                                            at=timezone.now(), rang_agent_ids=call.rang_agent_ids,
                                            group_name=call.group_name)
        if call.command_id is not None:
            await self.log_event(call, "ended", outcome or "")
            self.write(finish_command, call.command_id, CommandStatus.DONE, outcome or "")
        if call.kind in DIALER_KINDS and self.dialer is not None:
            self.dialer.call_finished(call, cause, outcome)  # the attempt's result, retries, SMS

    async def log_event(self, call: Call, kind: str, detail: str) -> None:
        if call.command_id is None:
            return
        self.write(add_event, call.enterprise_id, call.command_id, call.key, kind, detail, timezone.now())


# --- database helpers (sync) ---------------------------------------------------------------------


def run_writes(batch: list[tuple]) -> None:
    """Run queued writes in one transaction, merged into bulk statements where that gives the
    same rows (callctl/writes.py); a bad write is logged and skipped without losing the others."""
    writes.run_writes(batch)


def route_inbound_sync(ctx, caller: str, did: str):
    return route_inbound(ctx.routing, caller=caller, did=did, tz=ctx.tz,
                         last_agent_of=lambda number: dbconfig.last_agent_of(ctx.enterprise_id, number))


def claim_commands(limit: int = 20) -> list[PbxCommand]:
    """Pending commands, each claimed by a guarded update so it runs exactly once."""
    claimed = []
    for command in PbxCommand.objects.filter(status=CommandStatus.PENDING).order_by("created_at")[:limit]:
        with transaction.atomic():
            won = PbxCommand.objects.filter(pk=command.pk, status=CommandStatus.PENDING).update(
                status=CommandStatus.RUNNING, claimed_at=timezone.now())
        if won:
            claimed.append(command)
    return claimed


def open_call_of(enterprise_id: int, call_id: str) -> bool:
    """A call of this enterprise that has not ended (maybe run by another call-control process)."""
    return Cdr.objects.filter(enterprise_id=enterprise_id, call_id=call_id, ended_at__isnull=True).exists()


def finish_command(command_id: int, status: str, result: str) -> None:
    PbxCommand.objects.filter(pk=command_id).update(status=status, result=result[:200], finished_at=timezone.now())


def set_command_call(command_id: int, call_id: str) -> None:
    PbxCommand.objects.filter(pk=command_id).update(call_id=call_id)


def add_event(enterprise_id: int, command_id: int | None, call_id: str, kind: str, detail: str, at=None) -> None:
    """`at` is when call control saw it; the write itself may come a batch later."""
    CallEvent.objects.create(enterprise_id=enterprise_id, command_id=command_id, call_id=call_id, kind=kind,
                             detail=(detail or "")[:300], at=at or timezone.now())
