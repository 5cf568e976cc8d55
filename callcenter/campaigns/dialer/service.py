"""The dialer: the pacing loop of outbound campaigns, inside the call-control process.

`manage.py dialer` (and `manage.py callctl`, the Procfile's line) runs call control
(pbx/callctl/service.py) with a `Dialer` attached. Call control hosts the calls; the dialer
decides when to place them and what became of them:

- **Leases.** Every few seconds it takes or renews the lease (`DialerLease`) of each
  enterprise with work; only the holder paces an enterprise's tasks, and every claim checks
  the lease inside its transaction. A second dialer waits until the lease expires (a
  crashed holder's after `lease_seconds`; a stopped one gives it up at once).
- **Reconciliation.** On taking a lease it reconciles the enterprise (reconcile.py) before
  it paces: attempts left `dialing` are matched with the PBX's live channels.
- **Pacing (C6).** Each tick, for each flow of the running tasks inside their windows:
  ``lines_to_open`` (logic/pacing.py) from the group's idle agents (idle at least the
  flow's 发送间隔), its ratio and extra lines, its calls not yet bridged, the trunks' free
  reserved group-call lines (群呼外线数, and their free lines) and the enterprise's
  calls-per-second limit. That many numbers are claimed (claims.py), retries due first.
- **Originate.** Per attempt: create the channel in our Stasis app (id and CC_ATTEMPT
  variable from the attempt), commit its id, then dial it (claims.py says why in this order).
- **Calls.** Answered calls run the flow's state machine (call control's code, as for a test
  dial). A transfer that reaches no agent within 2 s is abandoned: the callee hears a short
  message, then the line is released. Results, retries and SMS are written at the end
  (claims.finish).
- **Manual batch dialling (T2).** An agent's 【下一个号码】 commits an attempt of a draft or
  paused task for that agent; the dialer rings the agent's phone, then dials the number
  and bridges the two.
- **The task's life.** SCHEDULED tasks start at their start time; RUNNING ones with no
  number left end by themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import os
import socket
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from callcenter.calls import services as calls
from callcenter.calls.choices import AgentStatus, CallDirection, ChannelKind
from callcenter.campaigns.dialer import claims, rules
from callcenter.pbx.asterisk.ari import AriError, parse_event
from callcenter.pbx.asterisk.render import trunk_endpoint_name
from callcenter.pbx.callctl import dbconfig
from callcenter.pbx.callctl.logic import base
from callcenter.pbx.callctl.logic.flow import FlowMachine
from callcenter.pbx.callctl.logic.groups import candidates_for
from callcenter.pbx.callctl.logic.pacing import PacingInput, lines_to_open
from callcenter.pbx.callctl.service import AGENT_RING_SECONDS, BUSY_TTL_SECONDS, Call, CallControl, db

log = logging.getLogger(__name__)

DIAL_TIMEOUT_SECONDS = 30  # the callee's phone rings this long (simulated seconds)
STASIS_WAIT_SECONDS = 5.0  # a created channel reaches our app within this (wall) time
VOID_RETRY_SECONDS = 30  # a number whose originate the PBX refused is due again after this
END_CHECK_SECONDS = 2.0  # how often running tasks are checked for "all numbers done"
DISCOVER_SECONDS = 2.0  # how often enterprises with work are looked for
SWEEP_SECONDS = 15.0  # how often the dialer checks its own calls and attempts against the PBX
SWEEP_MIN_AGE_SECONDS = 60.0  # an attempt this old that no call of ours follows was lost: reconciled
LOST_EVENT_SECONDS = 10.0  # a call of ours whose channel has been gone this long missed its hangup event


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass
class DialerCall:
    """What the dialer knows of one of its calls, beside call control's `Call`."""

    attempt_id: int
    task_id: int
    number_id: int
    enterprise_id: int
    flow_id: int
    phone: str
    kind: str = "campaign"  # campaign | manual
    trunk_id: int | None = None
    caller_id: str = ""  # the number the callee sees
    channel_name: str = ""
    agent_id: int | None = None  # manual: the agent whose line dials; else who took the call
    sent: bool = False  # the attempt's call id is committed: the channel is (to be) dialled
    sent_at: float = 0.0  # loop time
    answered_at: datetime | None = None
    connected_at: datetime | None = None
    transfer_asked: bool = False
    transfer_deadline: float | None = None  # loop time
    abandoned: bool = False
    reconciled: bool = False
    done: bool = False
    stasis: asyncio.Future | None = field(default=None, repr=False)


class Dialer:
    def __init__(self, control: CallControl, *, holder: str | None = None, lease_seconds: float = 15.0,
                 tick_seconds: float = 1.0, dial_timeout: int = DIAL_TIMEOUT_SECONDS, enterprises=(),
                 agent_wait_seconds: float = rules.AGENT_WAIT_SECONDS):
        self.control = control
        self.agent_wait_seconds = agent_wait_seconds  # a transfer with no agent this long is abandoned
        self.enterprises = tuple(enterprises)  # enterprise codes this dialer is limited to (all: empty)
        self.ari = control.ari
        self.holder = holder or default_holder()
        self.lease_seconds = lease_seconds
        self.tick_seconds = tick_seconds
        self.dial_timeout = dial_timeout
        self.held: set[int] = set()
        self.calls: dict[str, DialerCall] = {}  # by channel id
        self.originated: dict[int, deque[float]] = {}  # enterprise -> loop times of recent originations
        self.stats: Counter[str] = Counter()
        self._rotation: dict[int, int] = {}  # flow id -> which of its tasks claims first
        self._next_discover = 0.0
        self._next_end_check = 0.0
        self._next_sweep = 0.0
        self.sweep_seconds = SWEEP_SECONDS
        self._warned: set[tuple] = set()
        self._tasks: set[asyncio.Task] = set()

    @property
    def scale(self) -> float:
        return self.control.time_scale

    # --- the loop ---------------------------------------------------------------------------------------
    async def run(self) -> None:
        log.info("dialer %s: started (lease %ss, tick %ss)", self.holder, self.lease_seconds, self.tick_seconds)
        # Reconciliation lists the PBX's channels; events from then on must reach us.
        for _ in range(100):
            if getattr(self.ari, "connects", 1) > 0 or self.control.stopping.is_set():
                break
            await asyncio.sleep(0.05)
        try:
            while not self.control.stopping.is_set():
                try:
                    await self.tick()
                except Exception:
                    log.exception("dialer: tick failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.control.stopping.wait(), timeout=self.tick_seconds)
        finally:
            if self.held:
                with contextlib.suppress(Exception):
                    await db(claims.lease_release)(set(self.held), self.holder)
                log.info("dialer %s: released the leases of %s", self.holder, sorted(self.held))
                self.held.clear()

    async def tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        if now >= self._next_discover:
            self._next_discover = now + min(DISCOVER_SECONDS, self.lease_seconds / 3)
            await self.renew_leases()
        check_end = now >= self._next_end_check
        if check_end:
            self._next_end_check = now + END_CHECK_SECONDS
        for enterprise_id in sorted(self.held):
            await self.pace_enterprise(enterprise_id, check_end=check_end)
        if self.held and now >= self._next_sweep:
            self._next_sweep = now + self.sweep_seconds
            await self.sweep()

    def _spawn(self, coro, name: str) -> asyncio.Task:
        """A task of the dialer's own: kept (the loop holds tasks weakly) and its failure logged."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("dialer: %s failed", task.get_name(), exc_info=task.exception())

    async def sweep(self) -> None:
        """The running process's own reconciliation: attempts of its enterprises that no call of its
        follows (a failure between claim and dial) are reconciled as after a crash; calls of its whose
        channel is gone (a hangup event lost, e.g. while the events socket reconnected) are ended."""
        from callcenter.campaigns.dialer.reconcile import reconcile

        try:
            await reconcile(self, sorted(self.held), min_age_seconds=SWEEP_MIN_AGE_SECONDS * max(self.scale, 1e-3),
                            periodic=True)
            live = {c.id for c in await self.ari.list_channels()}
        except AriError as exc:
            log.warning("dialer: sweep skipped (%s)", exc)
            return
        now = asyncio.get_running_loop().time()
        for key, info in list(self.calls.items()):
            if info.sent and key not in live and now - info.sent_at > LOST_EVENT_SECONDS:
                call = self.control.calls.get(key)
                if call is None:
                    self.calls.pop(key, None)
                    continue
                log.warning("dialer: %s is gone from the PBX without its hangup event; ended", key)
                await self.control._destroyed(parse_event({"type": "ChannelDestroyed", "cause": 0,
                                                           "cause_txt": "Unknown",
                                                           "channel": {"id": key, "name": info.channel_name}}))

    async def renew_leases(self) -> None:
        wanted = set(await db(claims.enterprises_with_work)(self.enterprises)) | self.held
        gained = []
        for enterprise_id in sorted(wanted):
            ok = await db(claims.lease_acquire)(enterprise_id, self.holder, self.lease_seconds)
            if ok and enterprise_id not in self.held:
                gained.append(enterprise_id)
            elif not ok and enterprise_id in self.held:
                log.warning("dialer %s: lost the lease of enterprise %s", self.holder, enterprise_id)
                self.held.discard(enterprise_id)
        if gained:
            from callcenter.campaigns.dialer.reconcile import reconcile

            await reconcile(self, gained)
            self.held.update(gained)
            log.info("dialer %s: holds the leases of %s", self.holder, sorted(self.held))

    # --- pacing -------------------------------------------------------------------------------------------
    async def pace_enterprise(self, enterprise_id: int, *, check_end: bool) -> None:
        await db(claims.start_due_tasks)(enterprise_id)
        await self.pick_manual(enterprise_id)
        plan = await db(claims.plan)(enterprise_id)
        if plan is None:
            return
        if plan.tasks:
            await self.pace(plan)
        if check_end:
            for task_id in await db(claims.end_finished_tasks)(enterprise_id):
                log.info("dialer: task %s has no number left; ended", task_id)

    def _recent(self, enterprise_id: int) -> deque[float]:
        recent = self.originated.setdefault(enterprise_id, deque())
        horizon = asyncio.get_running_loop().time() - 1.0
        while recent and recent[0] < horizon:
            recent.popleft()
        return recent

    def _mine(self, enterprise_id: int, kind: str | None = None) -> list[DialerCall]:
        return [c for c in self.calls.values() if c.enterprise_id == enterprise_id and not c.done
                and (kind is None or c.kind == kind)]

    def _warn_once(self, key: tuple, message: str, *args) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message, *args)

    async def pace(self, plan: claims.Plan) -> None:
        e = plan.enterprise_id
        overload = self.control.overload()
        if overload:  # call control's admission control: no new lines until it catches up
            self._warn_once(("overload", e), "dialer: call control overloaded (%s); enterprise %s opens no lines",
                            overload, e)
            return
        group_calls = self._mine(e, "campaign")
        trunk_calls = self._mine(e)
        reserved = sum(t.reserved for t in plan.trunks)
        if reserved <= 0:
            self._warn_once(("no-reserved", e), "dialer: enterprise %s has no trunk lines reserved for group calls "
                                                "(群呼外线数); its tasks cannot dial", e)
        group_free = reserved - len(group_calls)
        trunk_free = sum(t.concurrent for t in plan.trunks) - plan.other_trunk_calls - len(trunk_calls)
        cap = max(0, min(group_free, trunk_free))
        by_flow: dict[int, list[claims.TaskPace]] = {}
        for task in plan.tasks:
            if task.has_due and rules.in_windows(plan.now, task.windows, plan.tz):
                by_flow.setdefault(task.flow_id, []).append(task)
        for flow_id, tasks in by_flow.items():
            flow = plan.flows.get(flow_id)
            if flow is None:
                continue
            members = set(flow.members)
            idle = [max(0.0, (plan.now - since).total_seconds()) / self.scale
                    for agent_id, since in plan.idle_since.items()
                    if agent_id in members and agent_id not in self.control.busy_agents]
            in_progress = sum(1 for c in group_calls if c.flow_id == flow_id and c.connected_at is None)
            recent = self._recent(e)
            decision = lines_to_open(PacingInput(
                ratio_percent=flow.ratio, extra_lines=flow.extra, interval_seconds=flow.interval,
                idle_agent_seconds=idle, busy_agents=max(0, len(members) - len(idle)), in_progress=in_progress,
                group_lines_free=cap, cps_limit=plan.cps_limit, originated_last_second=len(recent)))
            n = decision.open
            if n <= 0:
                continue
            start = self._rotation.get(flow_id, 0) % len(tasks)
            self._rotation[flow_id] = start + 1
            order = tasks[start:] + tasks[:start]
            for i, task in enumerate(order):
                share = math.ceil(n / (len(order) - i))
                got = await db(claims.claim)(e, task.id, share, self.holder)
                n -= len(got)
                cap -= len(got)
                for claimed in got:
                    recent.append(asyncio.get_running_loop().time())
                    trunk = self._pick_trunk(plan)
                    # Ours from the claim on: paced, swept and counted against the caps as a call.
                    self.calls[rules.channel_id(claimed.attempt_id)] = DialerCall(
                        claimed.attempt_id, claimed.task_id, claimed.number_id, claimed.enterprise_id, flow_id,
                        claimed.phone, trunk_id=trunk.id if trunk else None)
                    self._spawn(self.originate(claimed, plan.code, flow_id, trunk), f"dial-{claimed.attempt_id}")
                if n <= 0:
                    break

    def _pick_trunk(self, plan: claims.Plan) -> claims.TrunkLine | None:
        """The enabled trunk with the most free reserved lines."""
        used = Counter(c.trunk_id for c in self._mine(plan.enterprise_id))
        best = None
        for t in plan.trunks:
            free = min(t.reserved, t.concurrent) - used[t.id]
            if t.reserved > 0 and (best is None or free > best[0]):
                best = (free, t)
        return best[1] if best else (plan.trunks[0] if plan.trunks else None)

    async def _flow_run(self, flow_id: int):
        return await self.control._cached(("flowrun", flow_id), dbconfig.flow_run, flow_id)

    # --- originating ----------------------------------------------------------------------------------
    async def originate(self, c: claims.Claimed, code: str, flow_id: int, trunk: claims.TrunkLine | None) -> None:
        """Create the channel, commit its id on the attempt, dial it (claims.py: why in this order)."""
        key = rules.channel_id(c.attempt_id)
        info = self.calls.get(key) or DialerCall(c.attempt_id, c.task_id, c.number_id, c.enterprise_id, flow_id,
                                                 c.phone, trunk_id=trunk.id if trunk else None)
        self.calls[key] = info
        call = Call(key=key, enterprise_id=c.enterprise_id, code=code, kind="campaign", caller=c.phone)
        try:
            run = await self._flow_run(flow_id)
            call.machine, call.group, call.group_name = FlowMachine(run.config), run.group, run.group_name
            self.control.calls[key] = call
            if trunk is None:
                self._warn_once(("no-trunk", c.enterprise_id), "dialer: enterprise %s has no enabled trunk",
                                c.enterprise_id)
                await self._void(call, info)
                return
            await self._create_and_dial(call, info, run, trunk, code)
        except Exception:
            log.exception("dialer: originating attempt %s failed", c.attempt_id)
            await self._abort(call, info)

    async def _abort(self, call: Call, info: DialerCall) -> None:
        """An unexpected failure while placing a call: never dialled -> voided (its channel, if made,
        hung up); maybe dialled -> left to the call's events, or to the sweep."""
        if info.sent:
            return
        self._forget(call.key)
        with contextlib.suppress(Exception):
            await self.control._hangup(call.key)
        try:
            await db(claims.void)(info.attempt_id, delay_seconds=VOID_RETRY_SECONDS * self.scale)
        except Exception:
            log.exception("dialer: attempt %s left for the sweep", info.attempt_id)

    async def _create_and_dial(self, call: Call, info: DialerCall, run, trunk: claims.TrunkLine, code: str) -> None:
        key = call.key
        loop = asyncio.get_running_loop()
        info.stasis = loop.create_future()
        endpoint = f"PJSIP/{trunk.prefix}{info.phone}@{trunk_endpoint_name(code, trunk.number)}"
        variables = {rules.ATTEMPT_VARIABLE: str(info.attempt_id)}
        if run.caller_id:
            variables["CALLERID(num)"] = run.caller_id
        try:
            await self.ari.create(endpoint, app=self.control.app, app_args=["campaign", str(info.attempt_id)],
                                  channel_id=key, variables=variables)
        except AriError as exc:
            log.warning("dialer: creating %s failed (%s); attempt %s voided", key, exc, info.attempt_id)
            if exc.status == 0:  # unreachable: the channel may exist after all; it is never dialled
                await self.control._hangup(key)
            await self._void(call, info)
            return
        try:
            await asyncio.wait_for(asyncio.shield(info.stasis), timeout=STASIS_WAIT_SECONDS)
        except TimeoutError:
            log.warning("dialer: %s never entered our application; attempt %s voided", key, info.attempt_id)
            await self.control._hangup(key)
            await self._void(call, info)
            return
        if call.ended or not await db(claims.mark_sent)(info.attempt_id, key, self.holder):
            # Voided meanwhile (a reconciliation) or the lease is gone: never dial it.
            self._forget(key)
            await self.control._hangup(key)
            return
        info.sent = True
        info.sent_at = loop.time()
        info.caller_id = run.caller_id
        info.channel_name = f"PJSIP/{trunk_endpoint_name(code, trunk.number)}"
        now = timezone.now()
        self.control.write(calls.cdr_open, enterprise_id=info.enterprise_id, call_id=key,
                           direction=CallDirection.OUT, started_at=now, caller=run.caller_id, callee=info.phone,
                           trunk_id=trunk.id, agent_id=info.agent_id if info.kind == "manual" else None,
                           flow_id=info.flow_id, group_name=run.group_name if info.kind == "campaign" else "",
                           task_id=info.task_id, attempt_id=info.attempt_id)
        self.control.write(calls.live_channel_upsert, enterprise_id=info.enterprise_id, channel_id=key,
                           kind=ChannelKind.TRUNK, started_at=now,
                           name=info.channel_name, state="Dialing",
                           caller=run.caller_id, callee=info.phone,
                           agent_id=info.agent_id if info.kind == "manual" else None)
        self.stats["originated"] += 1
        try:
            await self.ari.dial(key, timeout=self.dial_timeout)
        except AriError as exc:
            if exc.status == 0:
                return  # unknown whether it was dialled: the channel's events (or a reconciliation) will say
            log.warning("dialer: dialling %s refused (%s)", key, exc)
            await self.control._hangup(key)  # its ChannelDestroyed finishes the attempt as failed

    async def _void(self, call: Call, info: DialerCall) -> None:
        self._forget(call.key)
        await db(claims.void)(info.attempt_id, delay_seconds=VOID_RETRY_SECONDS * self.scale)

    def _forget(self, key: str) -> None:
        info = self.calls.pop(key, None)
        if info is not None:
            info.done = True
        call = self.control.calls.pop(key, None)
        if call is not None:
            call.ended = True
            for name in list(call.timers):
                self.control._cancel_timer(call, name)

    # --- events (hooks called by call control) -------------------------------------------------------
    def stasis_start(self, channel_id: str) -> bool:
        """A campaign channel entered our application (at its creation). False: not one of ours."""
        info = self.calls.get(channel_id)
        if info is None:
            return False
        if info.stasis is not None and not info.stasis.done():
            info.stasis.set_result(True)
        return True

    async def answered(self, call: Call) -> None:
        """The callee answered (ChannelStateChange Up)."""
        info = self.calls.get(call.key)
        if info is None or call.answered:
            return
        call.answered = True
        info.answered_at = timezone.now()
        log.debug("dialer: %s answered", call.key)
        self.control.write(calls.live_channel_upsert, enterprise_id=call.enterprise_id, channel_id=call.key,
                           kind=ChannelKind.TRUNK, started_at=info.answered_at, name=info.channel_name, state="Up",
                           caller=info.caller_id,
                           callee=info.phone, agent_id=info.agent_id if info.kind == "manual" else None)
        if info.kind == "manual":
            leg = call.agent_leg
            if leg is None or not leg.up or call.bridge_id is None:
                await self.control._hangup(call.key)
                return
            with contextlib.suppress(AriError):
                await self.ari.add_channel(call.bridge_id, [call.key])
            info.connected_at = info.answered_at
            self.control.write(calls.cdr_answer, call_id=call.key, answered_at=info.answered_at,
                               agent_id=leg.agent_id)
            return
        self.control.write(calls.cdr_answer, call_id=call.key, answered_at=info.answered_at)
        await self.control.feed(call, base.Answered())

    async def transfer(self, call: Call) -> None:
        """The flow asks for its agent group: offer the call to the group's idle agents. Abandoned when
        no agent is rung within `agent_wait_seconds` (2 s: rules.AGENT_WAIT_SECONDS; no_agent)."""
        info = self.calls.get(call.key)
        control = self.control
        if info is not None and not info.transfer_asked:
            info.transfer_asked = True
            loop = asyncio.get_running_loop()
            info.transfer_deadline = loop.time() + self.agent_wait_seconds * self.scale
            call.timers["agent_wait"] = loop.call_later(
                self.agent_wait_seconds * self.scale,
                lambda: asyncio.ensure_future(self._agent_wait_over(call)))
        group = call.group
        if group is None:
            await control._no_agent(call, "no group")
            return
        idle = await control._cached(("dialer-idle", call.enterprise_id), claims_idle_agents, call.enterprise_id,
                                     ttl=BUSY_TTL_SECONDS)
        if group.last_agent_id != control._group_last.get(group.id, group.last_agent_id):
            group = dataclasses.replace(group, last_agent_id=control._group_last[group.id])
        call.candidates = candidates_for(group, idle=lambda a: a in idle and a not in control.busy_agents,
                                         rng=control.rng)
        await control._ring_next_candidate(call)

    async def no_agent(self, call: Call, reason: str) -> bool:
        """Nobody took the transfer: look again until the wait is over, then abandon. True: handled."""
        info = self.calls.get(call.key)
        if info is None or info.kind != "campaign":
            return False
        if info.abandoned or call.ended:
            return True
        loop = asyncio.get_running_loop()
        if info.transfer_deadline is not None and loop.time() < info.transfer_deadline:
            self.control._cancel_timer(call, "agent_retry")
            call.timers["agent_retry"] = loop.call_later(
                rules.AGENT_RETRY_SECONDS * self.scale, lambda: asyncio.ensure_future(self._look_again(call)))
            return True
        await self.abandon(call, reason)
        return True

    async def _look_again(self, call: Call) -> None:
        call.timers.pop("agent_retry", None)
        info = self.calls.get(call.key)
        if info is None or call.ended or info.abandoned or call.agent_leg is not None:
            return
        await self.transfer(call)

    async def _agent_wait_over(self, call: Call) -> None:
        call.timers.pop("agent_wait", None)
        info = self.calls.get(call.key)
        if info is None or call.ended or info.abandoned or info.connected_at is not None:
            return
        if call.agent_leg is None:  # an agent being rung keeps the call until they answer or not
            await self.abandon(call, "no agent within the wait")

    async def abandon(self, call: Call, reason: str) -> None:
        """No agent: the callee hears the short message instead of silence, then the line is freed."""
        info = self.calls.get(call.key)
        if info is None or info.abandoned or call.ended:
            return
        info.abandoned = True
        log.debug("dialer: %s abandoned (%s)", call.key, reason)
        self.stats["abandoned"] += 1
        await self.control.log_event(call, "abandoned", reason)
        # Ended for call control: no agent is offered it any more, and one answering late is hung up.
        call.ended = True
        call.candidates = []
        call.dial_targets = []
        for name in ("agent_retry", "agent_wait"):
            self.control._cancel_timer(call, name)
        if call.machine is not None:
            for cmd in call.machine.handle(base.AgentFailed(reason)):
                if not isinstance(cmd, base.HangupCall):
                    await self.control.execute(call, cmd)
        await self.control._drop_agent_leg(call)
        loop = asyncio.get_running_loop()
        try:
            playback = await self.ari.play(call.key, rules.ABANDON_MEDIA, playback_id=f"ab-{uuid.uuid4().hex}")
            call.playbacks[playback.id] = -1
        except AriError:
            await self.control._hangup(call.key)
            return
        call.timers["abandon_message"] = loop.call_later(
            rules.ABANDON_MESSAGE_SECONDS * self.scale,
            lambda: asyncio.ensure_future(self.control._hangup(call.key)))

    def agent_connected(self, call: Call, leg) -> None:
        info = self.calls.get(call.key)
        if info is not None and info.connected_at is None:
            info.connected_at = timezone.now()
            info.agent_id = leg.agent_id
            log.debug("dialer: %s connected to agent %s", call.key, leg.agent_id)

    async def agent_leg_gone(self, call: Call, leg, leg_id: str) -> bool:
        """An agent leg ended. For a manual call whose number was never dialled, the request is
        dropped (the attempt voided). True: handled."""
        info = self.calls.get(call.key)
        if info is None or info.kind != "manual" or leg is None or leg.channel_id != leg_id:
            return False
        if info.sent:
            return False  # the customer leg is (being) dialled: hanging it up ends the call as usual
        call.agent_leg = None
        await self._void(call, info)
        return True

    def call_finished(self, call: Call, cause: int, outcome: str | None) -> None:
        """The customer leg is gone: write the attempt's result (claims.finish, batched)."""
        info = self.calls.pop(call.key, None)
        if info is None or info.done:
            return
        info.done = True
        if not info.sent:
            return
        now = timezone.now()
        if not call.answered:
            result = rules.result_for_cause(cause)
        elif info.kind == "manual":
            result = rules.TRANSFERRED if info.connected_at is not None else rules.ANSWERED
        elif info.abandoned:
            result = rules.ABANDONED
        else:
            result = rules.result_for_answered(outcome, transfer_asked=info.transfer_asked,
                                               connected=info.connected_at is not None)
        talk = round((now - info.connected_at).total_seconds()) if info.connected_at else 0
        log.debug("dialer: %s ended: %s (cause %s, outcome %s)", call.key, result, cause, outcome)
        self.stats[f"result_{result}"] += 1
        self.control.write(claims.finish, claims.AttemptEnd(
            attempt_id=info.attempt_id, result=result, ended_at=now, cause=None if call.answered else cause,
            answered_at=info.answered_at, agent_id=info.agent_id if info.connected_at else None, talk_seconds=talk,
            reconciled=info.reconciled, time_scale=self.scale))

    # --- manual batch dialling (T2) ---------------------------------------------------------------------
    async def pick_manual(self, enterprise_id: int) -> None:
        taken = {c.attempt_id for c in self.calls.values() if c.kind == "manual"}
        for req in await db(claims.manual_requests)([enterprise_id], exclude=taken):
            self._spawn(self.manual_start(req), f"manual-{req.attempt_id}")

    async def manual_start(self, req: claims.Dialing) -> None:
        """Ring the agent's own phone first; when they answer, the number is dialled (manual_agent_answered)."""
        key = rules.channel_id(req.attempt_id)
        info = DialerCall(req.attempt_id, req.task_id, req.number_id, req.enterprise_id, req.flow_id, req.phone,
                          kind="manual", agent_id=req.agent_id)
        self.calls[key] = info
        code, number = await db(agent_code_number)(req.agent_id)
        call = Call(key=key, enterprise_id=req.enterprise_id, code=code, kind="manual", caller=req.phone)
        self.control.calls[key] = call
        ext = await db(dbconfig.resolve_extension)(req.enterprise_id, code, number) if number else None
        if ext is None or ext.kind != "agent" or not await self.control._ring_agent(call, ext, AGENT_RING_SECONDS):
            log.info("dialer: manual request %s: agent %s unreachable", req.attempt_id, number)
            await self._void(call, info)

    async def manual_agent_answered(self, call: Call, leg_id: str) -> None:
        info = self.calls.get(call.key)
        leg = call.agent_leg
        if info is None or leg is None or leg.channel_id != leg_id or call.ended:
            await self.control._hangup(leg_id)
            return
        leg.up = True
        bridge = await self.ari.create_bridge(type="mixing")
        call.bridge_id = bridge.id
        await self.ari.add_channel(bridge.id, [leg_id])
        self.control.write(calls.agent_state_set, enterprise_id=call.enterprise_id, agent_id=leg.agent_id,
                           state=AgentStatus.BUSY, since=timezone.now(), call_id=call.key)
        try:
            run = await self._flow_run(info.flow_id)
            plan = await db(claims.plan)(info.enterprise_id)
        except Exception:
            log.exception("dialer: manual request %s: flow unreadable", info.attempt_id)
            await self.control._hangup(leg_id)
            return
        trunk = self._pick_trunk(plan) if plan is not None else None
        if trunk is None:
            await self.control._hangup(leg_id)
            return
        info.trunk_id = trunk.id
        # Not awaited here: this runs in the call's event lane, where the new channel's StasisStart
        # (which _create_and_dial waits for) queues behind us.
        self._spawn(self._guarded_dial(call, info, run, trunk), f"manual-dial-{call.key}")

    async def _guarded_dial(self, call: Call, info: DialerCall, run, trunk: claims.TrunkLine) -> None:
        try:
            await self._create_and_dial(call, info, run, trunk, call.code)
        except Exception:
            log.exception("dialer: dialling manual request %s failed", info.attempt_id)
            await self._abort(call, info)
            if call.agent_leg is not None:
                await self.control._hangup(call.agent_leg.channel_id)

    # --- reads --------------------------------------------------------------------------------------------
    def snapshot(self) -> dict:
        return {"holder": self.holder, "held": sorted(self.held), "calls": len(self.calls), **self.stats}


def claims_idle_agents(enterprise_id: int) -> set[int]:
    from callcenter.calls.models import AgentState

    return set(AgentState.objects.filter(enterprise_id=enterprise_id, state=AgentStatus.IDLE)
               .values_list("agent_id", flat=True))


def agent_code_number(agent_id: int) -> tuple[str, str]:
    from callcenter.accounts.models import Agent

    row = Agent.objects.filter(pk=agent_id).values("number", "enterprise__code").first()
    return (row["enterprise__code"], row["number"]) if row else ("", "")
