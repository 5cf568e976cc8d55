"""Queues that announce the agent number (C8 接通前播工号), hosted by call control.

app_queue distributes the callers of such a queue as of any other (strategy, ring time,
retries, penalties, the phone's busy state), but its members are Local channels into our
Stasis application (render.py, ``Local/<agent>@<code>-qagent-<queue>/n``). For each one:

1. StasisStart ``qagent,<code>,<queue>,<agent>,<caller channel id>`` on the Local ``;2``
   half, unanswered: app_queue is ringing this member for that caller. Call control rings
   the agent's phone (an originate into Stasis, ``agent,<caller>``) and marks the agent
   ringing, as for a group call.
2. The agent answers: call control answers the Local channel, so app_queue connects the
   caller to it, and plays to the caller, on that channel, the prompt before, the agent
   number (``digits:``) and the prompt after (`logic.queues.announcement`), in one playback.
3. PlaybackFinished (or nothing to play): the Local channel and the agent's phone are
   bridged; the CDR names the agent and the queue; the agent is busy.
4. Either side ending ends the other: app_queue hanging up the Local channel (another
   member answered, the ring time is over, the caller left) stops the agent's phone; the
   agent not answering or busy hangs up the Local channel with that cause, so app_queue
   goes on to the next member; the agent hanging up a connected call ends the caller's.

The prompts are read at call time (cached like the other call-time configuration); whether
a queue's members go through call control at all is applied configuration (queues.conf).
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

from callcenter.calls import services as calls
from callcenter.calls.choices import AgentStatus, ChannelKind
from callcenter.pbx.asterisk.ari import AriError, Event
from callcenter.pbx.asterisk.render import parse_stasis_args
from callcenter.pbx.callctl import dbconfig
from callcenter.pbx.callctl.logic import base
from callcenter.pbx.callctl.logic.queues import announcement

if TYPE_CHECKING:
    from callcenter.pbx.callctl.service import Call, CallControl

log = logging.getLogger("callcenter.pbx.callctl.service")

RING_GUARD_SECONDS = 5  # the agent's phone rings this much longer than app_queue's timeout, which ends it first


@dataclass(frozen=True)
class QueueAnnounce:
    """What call control needs of a queue whose members it reaches (read at call time)."""

    name: str
    ring_seconds: int
    enabled: bool  # 接通前播工号
    before: str | None = None  # 播工号前语音 (ARI media)
    after: str | None = None  # 播工号后语音


def queue_announce(enterprise_id: int, extension: str) -> QueueAnnounce | None:
    from callcenter.telephony.models import Queue

    queue = (Queue.objects.filter(enterprise_id=enterprise_id, extension=extension)
             .select_related("before_number_prompt", "after_number_prompt").first())
    if queue is None:
        return None
    return QueueAnnounce(name=queue.name, ring_seconds=queue.ring_seconds, enabled=queue.announce_agent_number,
                         before=dbconfig.media(queue.before_number_prompt),
                         after=dbconfig.media(queue.after_number_prompt))


@dataclass(eq=False)
class MemberLeg:
    """One member offered one caller: the Local channel app_queue rings and the agent's phone."""

    local_id: str
    call: Call
    ext: dbconfig.Extension
    queue: str  # the queue's extension
    queue_name: str
    media: tuple[str, ...]
    agent_leg_id: str = ""
    agent_up: bool = False
    local_gone: bool = False
    agent_gone: bool = False
    playback_id: str = ""
    connected: bool = False


class QueueMembers:
    def __init__(self, control: CallControl):
        self.control = control
        self.legs: dict[str, MemberLeg] = {}  # Local channel id and agent leg id -> the member leg

    # --- dispatch (called by CallControl) ------------------------------------------------------
    def lane_key(self, ev: Event) -> str | None:
        """The caller's call for a member's first event (its channel is not known yet)."""
        if ev.type == "StasisStart" and len(ev.args) >= 5 and ev.args[0] == "qagent":
            return ev.args[4]
        return None

    def owns(self, ev: Event) -> bool:
        if ev.type == "StasisStart":
            return (len(ev.args) >= 1 and ev.args[0] == "qagent") or (
                ev.channel is not None and ev.channel.id in self.legs)
        if ev.type == "PlaybackFinished":
            return ev.playback is not None and ev.playback.target_uri.removeprefix("channel:") in self.legs
        if ev.type == "ChannelDestroyed":
            return ev.channel is not None and ev.channel.id in self.legs
        return False

    async def on_event(self, ev: Event) -> None:
        if ev.type == "StasisStart":
            if ev.args and ev.args[0] == "qagent":
                await self._offered(ev)
            else:
                leg = self.legs.get(ev.channel.id)
                if leg is not None:
                    await self._agent_answered(leg)
        elif ev.type == "PlaybackFinished":
            leg = self.legs.get(ev.playback.target_uri.removeprefix("channel:"))
            if leg is not None and ev.playback.id == leg.playback_id:
                leg.playback_id = ""
                await self.control.log_event(leg.call, "prompt_played", "")
                await self._connect(leg)
        elif ev.type == "ChannelDestroyed":
            leg = self.legs.get(ev.channel.id)
            if leg is None:
                return
            cause = ev.cause if ev.cause is not None else base.CAUSE_NORMAL
            if ev.channel.id == leg.local_id:
                await self._local_gone(leg)
            else:
                await self._agent_gone(leg, cause)

    # --- the steps -----------------------------------------------------------------------------
    async def _offered(self, ev: Event) -> None:
        from callcenter.pbx.callctl.service import Call

        control = self.control
        local_id = ev.channel.id
        entry = parse_stasis_args(ev.args)
        call = control.calls.get(entry.call)
        if call is None and entry.call:
            # Call control restarted while the caller waited in the queue: the call is ours again.
            ctx = await control._inbound_context(entry.enterprise, "")
            if ctx is not None:
                caller = ev.channel.caller.number if ev.channel.caller else ""
                call = Call(key=entry.call, enterprise_id=ctx.enterprise_id, code=entry.enterprise, caller=caller)
                control.calls[call.key] = call
        if call is None or call.ended:
            await control._hangup(local_id, reason_code=base.CAUSE_NORMAL)
            return
        ext = await control._extension(call, entry.target)
        config = await control._cached(("qannounce", call.enterprise_id, entry.queue), queue_announce,
                                       call.enterprise_id, entry.queue)
        if ext is None or ext.kind != "agent" or config is None:
            await control._hangup(local_id, reason_code=base.CAUSE_UNALLOCATED)
            return
        if ext.agent_id in control.busy_agents:  # on a call of ours, or being rung for one
            await control._hangup(local_id, reason_code=base.CAUSE_BUSY)
            return
        call.in_queue = call.in_queue or config.name
        leg = MemberLeg(local_id, call, ext, entry.queue, config.name,
                        announcement(ext.number, enabled=config.enabled, before=config.before, after=config.after))
        leg.agent_leg_id = f"cc-qagent-{uuid.uuid4().hex[:12]}"
        # Reserved before the originate, and known before it, so the leg's events land in this call's lane.
        control.busy_agents.add(ext.agent_id)
        for channel_id in (local_id, leg.agent_leg_id):
            self.legs[channel_id] = leg
            control.agent_legs[channel_id] = call
        try:
            await control.ari.originate(f"PJSIP/{ext.endpoint}", app=control.app, app_args=["agent", call.key],
                                        caller_id=call.caller or None, channel_id=leg.agent_leg_id,
                                        timeout=config.ring_seconds + RING_GUARD_SECONDS)
        except AriError:
            self._forget(leg.agent_leg_id)
            control.busy_agents.discard(ext.agent_id)
            await control._hangup(local_id, reason_code=base.CAUSE_BUSY)
            return
        call.rang_agent_ids.append(ext.agent_id)
        await control.log_event(call, "agent_ringing", ext.number)
        now = timezone.now()
        control.write(calls.agent_state_set, enterprise_id=call.enterprise_id, agent_id=ext.agent_id,
                      state=AgentStatus.RINGING, since=now, call_id=call.key)
        control.write(calls.live_channel_upsert, enterprise_id=call.enterprise_id, channel_id=leg.agent_leg_id,
                      kind=ChannelKind.EXTENSION, started_at=now, name=f"PJSIP/{ext.endpoint}", state="Ringing",
                      caller=call.caller, callee=ext.number, agent_id=ext.agent_id)

    async def _agent_answered(self, leg: MemberLeg) -> None:
        control = self.control
        if leg.local_gone or leg.call.ended:
            await control._hangup(leg.agent_leg_id)
            return
        leg.agent_up = True
        try:
            await control.ari.answer(leg.local_id)  # app_queue now connects the caller to the Local channel
        except AriError:  # app_queue gave the member up in the same instant
            await control._hangup(leg.agent_leg_id)
            return
        if not leg.media:
            await self._connect(leg)
            return
        await control.log_event(leg.call, "announce", leg.ext.number)
        try:
            playback = await control.ari.play(leg.local_id, leg.media, playback_id=f"qa-{uuid.uuid4().hex}")
        except AriError:
            await self._connect(leg)
            return
        leg.playback_id = playback.id

    async def _connect(self, leg: MemberLeg) -> None:
        from callcenter.pbx.callctl.service import AgentLeg

        control, call, ext = self.control, leg.call, leg.ext
        if leg.connected or leg.local_gone or leg.agent_gone:
            return
        leg.connected = True
        try:
            bridge = await control.ari.create_bridge(type="mixing")
            await control.ari.add_channel(bridge.id, [leg.local_id, leg.agent_leg_id])
        except AriError:
            log.warning("callctl: queue %s: could not connect agent %s", leg.queue, ext.number)
            await control._hangup(leg.local_id)
            await control._hangup(leg.agent_leg_id)
            return
        call.bridge_id = bridge.id
        call.agent_leg = AgentLeg(leg.agent_leg_id, ext.agent_id, ext.number, record=ext.record, up=True)
        now = timezone.now()
        await control.log_event(call, "connected", ext.number)
        control.write(calls.cdr_answer, call_id=call.key, answered_at=now, agent_id=ext.agent_id,
                      queue_name=leg.queue_name)
        control.write(calls.agent_state_set, enterprise_id=call.enterprise_id, agent_id=ext.agent_id,
                      state=AgentStatus.BUSY, since=now, call_id=call.key)
        control.write(calls.live_channel_upsert, enterprise_id=call.enterprise_id, channel_id=leg.agent_leg_id,
                      kind=ChannelKind.EXTENSION, started_at=now, state="Up", caller=call.caller,
                      callee=ext.number, agent_id=ext.agent_id)
        if ext.record:
            name = f"{call.code}-{call.key}"
            with contextlib.suppress(AriError):
                await control.ari.record(bridge.id, name, format="wav", if_exists="overwrite", bridge=True)
                control.write(calls.recording_add, enterprise_id=call.enterprise_id, call_id=call.key,
                              created_at=now, agent_id=ext.agent_id, url=f"ari:{name}")

    async def _local_gone(self, leg: MemberLeg) -> None:
        """app_queue hung the member up: another member answered, the ring time ran out, the
        caller left, or the connected call ended on the caller's side."""
        leg.local_gone = True
        self._forget(leg.local_id)
        if not leg.agent_gone:
            await self.control._hangup(leg.agent_leg_id)

    async def _agent_gone(self, leg: MemberLeg, cause: int) -> None:
        control, call = self.control, leg.call
        leg.agent_gone = True
        self._forget(leg.agent_leg_id)
        control.write(calls.live_channel_remove, channel_ids=[leg.agent_leg_id])
        if leg.connected and call.agent_leg is not None and call.agent_leg.channel_id == leg.agent_leg_id:
            # The agent hung up a connected call: as for any agent (wrap-up, the caller's side ends).
            await control._agent_leg_gone(call, leg.agent_leg_id, cause)
        else:
            control.busy_agents.discard(leg.ext.agent_id)
            control.write(calls.agent_state_set, enterprise_id=call.enterprise_id, agent_id=leg.ext.agent_id,
                          state=AgentStatus.IDLE, since=timezone.now())
            if not leg.agent_up:
                await control.log_event(call, "agent_no_answer", leg.ext.number)
        if not leg.local_gone:
            # Not answered (no answer, busy, unreachable): app_queue sees the member fail and goes on.
            await control._hangup(leg.local_id, reason_code=cause if not leg.agent_up else None)

    def _forget(self, channel_id: str) -> None:
        self.legs.pop(channel_id, None)
        self.control.agent_legs.pop(channel_id, None)
