"""After a crash: match the attempts left `dialing` with the PBX's live channels, instead of
dialling again (DESIGN.md "Crash safety of the dialer").

Run by the dialer when it takes an enterprise's lease, before it paces. The simulated Asterisk,
like a real one, outlives a killed call-control process: its channels stay, in our Stasis
application, and are listed by ``GET /channels``. For each attempt still `dialing`:

- no call id committed -> it was never dialled (claims.py): its channel, if it was created,
  is hung up and the attempt voided; the number is due again. (A manual request younger than
  claims.MANUAL_PICKUP_SECONDS is left for the dialer to pick up.)
- call id committed, channel live -> the call is adopted: ringing or not yet dialled, it is
  dialled (a second dial of a dialled channel is refused, so it is dialled exactly once) and
  followed; answered and bridged to an agent, it is followed to its end; answered and alone,
  its flow starts.
- call id committed, no channel -> it ended while no one watched: the attempt is finished
  with the result `failed` (unknown) and retried per the flow; its CDR is closed.

Then: campaign channels with no attempt to follow, and agent legs whose customer is gone,
are hung up; agents shown ringing or talking on calls that are gone become idle; channel
monitor rows of gone channels are removed.
"""

from __future__ import annotations

import contextlib
import logging

from django.utils import timezone

from callcenter.calls import services as calls
from callcenter.calls.choices import CallDirection
from callcenter.campaigns.dialer import claims, rules
from callcenter.pbx.asterisk.ari import AriError, AriNotFound, parse_event
from callcenter.pbx.callctl.logic import base
from callcenter.pbx.callctl.logic.flow import FlowMachine
from callcenter.pbx.callctl.service import AgentLeg, Call, db

log = logging.getLogger(__name__)

AGENT_LEG_PREFIX = "cc-agent-"


async def reconcile(dialer, enterprise_ids: list[int], *, min_age_seconds: float = 0.0,
                    periodic: bool = False) -> dict:
    """`periodic`: the running dialer's own sweep (service.Dialer.sweep): only attempts older than
    `min_age_seconds` that none of its calls follows; agents, channel-monitor rows and stray
    channels are left alone (they may belong to calls being set up right now)."""
    from callcenter.campaigns.dialer.service import DialerCall

    control, ari = dialer.control, dialer.ari
    channels = {c.id: c for c in await ari.list_channels()}
    live = set(channels)
    bridged: dict[str, list[str]] = {}
    with contextlib.suppress(AriError):
        for bridge in await ari.list_bridges():
            for cid in bridge.channels:
                bridged[cid] = [bridge.id, *[o for o in bridge.channels if o != cid]]
    now = timezone.now()
    report = {"voided": 0, "adopted": 0, "finished": 0, "orphans": 0}
    if not periodic:
        # First the agents: those shown on calls that are gone are free for the calls adopted below.
        await db(claims.stale_agent_states)(enterprise_ids, live)
        await db(claims.stale_live_channels)(enterprise_ids, live)
    following: set[str] = set()
    finished: list[int] = []
    for d in await db(claims.dialing)(enterprise_ids):
        key = rules.channel_id(d.attempt_id)
        if key in dialer.calls:
            following.add(key)
            continue
        if min_age_seconds and (now - d.created_at).total_seconds() < min_age_seconds:
            continue
        channel = channels.get(key)
        if not d.call_id:
            if d.agent_id is not None and (now - d.created_at).total_seconds() < claims.MANUAL_PICKUP_SECONDS:
                continue  # a manual request the dialer will pick up
            if channel is not None:
                await control._hangup(key)
            if await db(claims.void)(d.attempt_id):
                report["voided"] += 1
            continue
        if channel is None:
            await db(claims.finish)(claims.AttemptEnd(
                attempt_id=d.attempt_id, result=rules.FAILED, ended_at=now, reconciled=True,
                time_scale=dialer.scale))
            finished.append(d.attempt_id)
            report["finished"] += 1
            continue
        info = DialerCall(d.attempt_id, d.task_id, d.number_id, d.enterprise_id, d.flow_id, d.phone,
                          kind="manual" if d.agent_id is not None else "campaign", agent_id=d.agent_id, sent=True,
                          reconciled=True)
        await _adopt(dialer, info, channel, bridged.get(key), d)
        following.add(key)
        report["adopted"] += 1
    if finished:
        await db(claims.close_campaign_cdrs)(finished, now)
    if periodic:
        if any(report.values()):
            log.warning("dialer %s: swept enterprises %s: %s", dialer.holder, enterprise_ids, report)
        dialer.stats.update({f"sweep_{k}": v for k, v in report.items()})
        return report
    # Campaign channels nobody follows (their attempt voided, finished, or never committed).
    strays = {rules.attempt_of_channel(cid): cid for cid in live
              if rules.attempt_of_channel(cid) is not None and cid not in following and cid not in dialer.calls}
    if strays:
        owners = await db(claims.attempts_enterprises)(list(strays))
        for attempt_id, cid in strays.items():
            if owners.get(attempt_id) is None or owners[attempt_id] in enterprise_ids:
                await control._hangup(cid)
                report["orphans"] += 1
    # Agent legs whose customer is gone.
    for cid, channel in channels.items():
        if cid.startswith(AGENT_LEG_PREFIX) and cid not in control.agent_legs:
            customer = _agent_leg_customer(channel)
            if customer and customer not in live:
                await control._hangup(cid)
                report["orphans"] += 1
    log.info("dialer %s: reconciled enterprises %s: %s", dialer.holder, enterprise_ids, report)
    dialer.stats.update({f"reconcile_{k}": v for k, v in report.items()})
    return report


def _agent_leg_customer(channel) -> str:
    """The customer channel an agent leg serves: its Stasis arguments are ``agent,<customer>``."""
    parts = (channel.dialplan.app_data or "").split(",")
    return parts[2] if len(parts) >= 3 and parts[1] == "agent" else ""


async def _adopt(dialer, info, channel, bridge: list[str] | None, d: claims.Dialing) -> None:
    control = dialer.control
    key = channel.id
    code = await db(_enterprise_code)(d.enterprise_id)
    run = await dialer._flow_run(d.flow_id)
    call = Call(key=key, enterprise_id=d.enterprise_id, code=code, kind=info.kind, caller=d.phone,
                machine=FlowMachine(run.config) if info.kind == "campaign" else None,
                group=run.group, group_name=run.group_name)
    dialer.calls[key] = info
    control.calls[key] = call
    # The CDR may have been lost with the crashed process's last batch (opening is idempotent).
    control.write(calls.cdr_open, enterprise_id=d.enterprise_id, call_id=key, direction=CallDirection.OUT,
                  started_at=d.created_at, caller=run.caller_id, callee=d.phone, flow_id=d.flow_id,
                  group_name=run.group_name, task_id=d.task_id, attempt_id=d.attempt_id)
    if channel.state != "Up":
        # Ringing, or created but not dialled yet: dial it (refused when it already was).
        with contextlib.suppress(AriError):
            await dialer.ari.dial(key, timeout=dialer.dial_timeout)
        await _recheck(dialer, call, channel)
        return
    now = timezone.now()
    call.answered = True
    info.answered_at = now
    others = [c for c in (bridge or [])[1:] if c != key]
    if bridge and others:
        # Talking to an agent: follow the conversation to its end.
        agent_id = await db(_agent_on_call)(d.enterprise_id, key)
        leg = AgentLeg(others[0], agent_id, "", up=True)
        call.agent_leg = leg
        call.bridge_id = bridge[0]
        control.agent_legs[others[0]] = call
        if agent_id is not None:
            control.busy_agents.add(agent_id)
        info.connected_at = now
        info.agent_id = agent_id
        await _recheck(dialer, call, channel, leg=others[0])
        await _recheck(dialer, call, channel)
        return
    if info.kind == "manual":
        await control._hangup(key)  # the agent's leg is gone: nobody to talk to
        return
    control.write(calls.cdr_answer, call_id=key, answered_at=now)
    await control.feed(call, base.Answered())
    await _recheck(dialer, call, channel)


async def _recheck(dialer, call, listed, *, leg: str | None = None) -> None:
    """What happened between the listing and the registration of the call (its events were not
    ours yet): gone -> ended as the PBX would have said; answered -> answered. `leg`: check the
    call's agent leg instead."""
    cid = leg or call.key
    try:
        now = await dialer.ari.get_channel(cid)
    except AriNotFound:
        raw = dict(listed.raw, id=cid) if leg else listed.raw
        await dialer.control._destroyed(parse_event({"type": "ChannelDestroyed", "channel": raw,
                                                     "cause": 0, "cause_txt": "Unknown"}))
        return
    except AriError:
        return
    if leg is None and now.state == "Up" and not call.answered:
        await dialer.answered(call)


def _enterprise_code(enterprise_id: int) -> str:
    from callcenter.core.models import Enterprise

    return Enterprise.objects.filter(pk=enterprise_id).values_list("code", flat=True).first() or ""


def _agent_on_call(enterprise_id: int, call_id: str) -> int | None:
    from callcenter.calls.models import AgentState

    return AgentState.objects.filter(enterprise_id=enterprise_id, call_id=call_id).values_list(
        "agent_id", flat=True).first()
