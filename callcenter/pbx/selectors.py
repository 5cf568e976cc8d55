"""Reads of the pbx app: the configuration snapshot of an enterprise, what is waiting to be
applied (C11 "有未生效的修改"), and the SIP password of an agent's phone."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import PurePosixPath

from django.conf import settings

from callcenter.accounts.choices import AgentType
from callcenter.pbx.asterisk.snapshot import (
    AgentConf,
    Changes,
    EnterpriseConf,
    PromptRef,
    QueueConf,
    QueueMemberConf,
    TrunkConf,
    diff,
)
from callcenter.pbx.choices import ApplyStatus
from callcenter.pbx.models import ConfigApply


def sip_secret(enterprise_code: str, number: str) -> str:
    """The SIP password of agent `number`'s phone: derived from the site secret, never stored."""
    key = (settings.PBX.get("SIP_SECRET_KEY") or settings.SECRET_KEY).encode()
    return hmac.new(key, f"sip:{enterprise_code}:{number}".encode(), hashlib.sha256).hexdigest()[:20]


def prompt_ref(prompt) -> PromptRef | None:
    """Where the PBX finds a Prompt row's audio (played as `sound:<path>`)."""
    if prompt is None or not prompt.file:
        return None
    stem = str(PurePosixPath(prompt.file.name).with_suffix(""))
    return PromptRef(name=prompt.name, path=f"{str(settings.PBX['SOUNDS_DIR']).rstrip('/')}/{stem}")


def snapshot(enterprise) -> EnterpriseConf:
    """Agents (not disabled), enabled trunks and enabled queues of `enterprise`, as the PBX needs them."""
    from callcenter.accounts.models import Agent
    from callcenter.telephony.models import Queue, QueueMember, Trunk

    trunks = list(Trunk.objects.filter(enterprise=enterprise, enabled=True).order_by("number"))
    by_key = {t.number: t for t in trunks} | {t.account: t for t in trunks if t.account}
    default_trunk = trunks[0] if trunks else None

    agents = []
    for agent in (Agent.objects.filter(enterprise=enterprise).exclude(agent_type=AgentType.DISABLED)
                  .select_related("caller_id").order_by("number")):
        trunk = None
        if agent.agent_type != AgentType.STAFF:
            trunk = by_key.get(agent.outbound_trunk) or default_trunk
        caller_id = agent.caller_id.number if agent.caller_id_id else ""
        agents.append(AgentConf(
            number=agent.number, name=agent.name, kind=agent.agent_type,
            secret=sip_secret(enterprise.code, agent.number), record=agent.record_calls,
            caller_id=(caller_id or trunk.number) if trunk else "",
            trunk=trunk.number if trunk else "", prefix=trunk.prefix if trunk else "",
        ))
    active = {a.number for a in agents}

    members: dict[int, list[QueueMemberConf]] = {}
    for m in (QueueMember.objects.filter(queue__enterprise=enterprise).select_related("agent")
              .order_by("queue_id", "position", "id")):
        if m.agent.number in active:
            members.setdefault(m.queue_id, []).append(QueueMemberConf(number=m.agent.number, penalty=m.penalty))
    queues = [
        QueueConf(
            name=q.name, extension=q.extension, strategy=q.strategy, ring_seconds=q.ring_seconds,
            retry_seconds=q.retry_seconds, max_wait_seconds=q.max_wait_seconds,
            announce_frequency=q.announce_frequency if q.announce_id else 0,
            music=prompt_ref(q.music), announce=prompt_ref(q.announce), members=tuple(members.get(q.pk, ())),
            overflow_to_mobile=q.overflow_to_mobile, announce_agent_number=q.announce_agent_number,
        )
        for q in (Queue.objects.filter(enterprise=enterprise, enabled=True).select_related("music", "announce")
                  .order_by("extension"))
    ]
    return EnterpriseConf(
        code=enterprise.code,
        agents=tuple(agents),
        trunks=tuple(
            TrunkConf(number=t.number, account=t.account, server_type=t.server_type,
                      server_ip=t.server_ip or "", password=t.server_password or "", prefix=t.prefix,
                      lines=t.concurrent_lines)
            for t in trunks
        ),
        queues=tuple(queues),
    )


def last_applied(enterprise) -> ConfigApply | None:
    """The last apply that reached the PBX: its snapshot is what the PBX runs for `enterprise`."""
    return (ConfigApply.objects.filter(enterprise=enterprise, status=ApplyStatus.OK)
            .order_by("-started_at", "-id").first())


def pending_changes(enterprise) -> Changes:
    """What an apply would change now, compared with the last successful apply."""
    last = last_applied(enterprise)
    return diff(last.snapshot if last else None, snapshot(enterprise).to_dict())
