"""What an enterprise pushes to the PBX when configuration is applied (C11/S2), as plain data.

Agents, trunks and queues, reduced to the fields the generated Asterisk files use, so the
renderers in render.py stay pure and two snapshots can be compared to tell what an apply
would change ("有未生效的修改"). Nothing here touches the database: selectors.snapshot()
builds an `EnterpriseConf` from the models.

Stored snapshots (ConfigApply.snapshot) never hold a secret: `to_dict(mask_secrets=True)`
replaces each password with a short digest, which is enough to notice that it changed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields

SECRET_FIELDS = ("secret", "password")


def secret_digest(value: str) -> str:
    if not value:
        return ""
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class PromptRef:
    """A prompt as Asterisk plays it: its name and its file path without the extension."""

    name: str
    path: str


@dataclass(frozen=True)
class AgentConf:
    number: str
    name: str
    kind: str  # normal | admin | staff (disabled agents are left out)
    secret: str  # SIP password of the agent's phone
    record: bool
    caller_id: str = ""  # shown to the callee on outbound calls
    trunk: str = ""  # number of the trunk outbound calls leave by; "" = no outbound dialling
    prefix: str = ""  # 前呼号码 of that trunk, put before the dialled number


@dataclass(frozen=True)
class TrunkConf:
    number: str
    account: str  # SIP registration account (local-server trunks)
    server_type: str  # local | gateway
    server_ip: str = ""
    password: str = ""  # the gateway port's registration password (local-server trunks)
    prefix: str = ""
    lines: int = 1


@dataclass(frozen=True)
class QueueMemberConf:
    number: str
    penalty: int = 0


@dataclass(frozen=True)
class QueueConf:
    name: str
    extension: str
    strategy: str
    ring_seconds: int
    retry_seconds: int
    max_wait_seconds: int
    announce_frequency: int = 0
    music: PromptRef | None = None
    announce: PromptRef | None = None
    members: tuple[QueueMemberConf, ...] = ()
    overflow_to_mobile: bool = False  # 未接通转手机: after a full round, call control rings members' phones
    # 接通前播工号: members are reached through call control, which announces the agent number
    # (with the prompts before and after it, read at call time) before connecting the caller.
    announce_agent_number: bool = False


@dataclass(frozen=True)
class EnterpriseConf:
    code: str
    agents: tuple[AgentConf, ...] = ()
    trunks: tuple[TrunkConf, ...] = ()
    queues: tuple[QueueConf, ...] = field(default_factory=tuple)

    def to_dict(self, *, mask_secrets: bool = True) -> dict:
        # Through JSON, so a fresh snapshot compares equal to a stored one (tuples become lists).
        data = json.loads(json.dumps(asdict(self)))
        if mask_secrets:
            for kind in ("agents", "trunks"):
                for row in data[kind]:
                    for name in SECRET_FIELDS:
                        if name in row:
                            row[name] = secret_digest(row[name])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> EnterpriseConf:
        def prompt(value):
            return PromptRef(**value) if value else None

        queues = []
        for q in data.get("queues", ()):
            q = dict(q)
            q["music"] = prompt(q.get("music"))
            q["announce"] = prompt(q.get("announce"))
            q["members"] = tuple(QueueMemberConf(**m) for m in q.get("members", ()))
            queues.append(QueueConf(**_known(QueueConf, q)))
        return cls(
            code=data["code"],
            agents=tuple(AgentConf(**_known(AgentConf, a)) for a in data.get("agents", ())),
            trunks=tuple(TrunkConf(**_known(TrunkConf, t)) for t in data.get("trunks", ())),
            queues=tuple(queues),
        )


def _known(cls, row: dict) -> dict:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in row.items() if k in names}


# --- what changed ---------------------------------------------------------------------------

KINDS = (("agents", "number"), ("trunks", "number"), ("queues", "extension"))


@dataclass
class Changes:
    """Per kind: keys added and removed, and for each changed key the fields that differ."""

    agents: dict = field(default_factory=lambda: {"added": [], "removed": [], "changed": []})
    trunks: dict = field(default_factory=lambda: {"added": [], "removed": [], "changed": []})
    queues: dict = field(default_factory=lambda: {"added": [], "removed": [], "changed": []})

    @property
    def count(self) -> int:
        return sum(len(getattr(self, kind)[part]) for kind, _ in KINDS for part in ("added", "removed", "changed"))

    def __bool__(self) -> bool:
        return self.count > 0

    def to_dict(self) -> dict:
        return {"agents": self.agents, "trunks": self.trunks, "queues": self.queues, "count": self.count}


ROW_CLASSES = {"agents": AgentConf, "trunks": TrunkConf, "queues": QueueConf}


def _with_defaults(kind: str, row: dict) -> dict:
    """A stored row with the fields added since it was stored at their defaults, so that a
    snapshot taken before a field existed does not show every row as changed."""
    filled = dict(row)
    for f in fields(ROW_CLASSES[kind]):
        if f.name not in filled and f.default is not MISSING:
            filled[f.name] = f.default
    return filled


def diff(old: dict | None, new: dict) -> Changes:
    """Compare two stored snapshots (`EnterpriseConf.to_dict()`); `old` None means never applied."""
    changes = Changes()
    old = old or {}
    for kind, key in KINDS:
        before = {row[key]: _with_defaults(kind, row) for row in old.get(kind, ())}
        after = {row[key]: _with_defaults(kind, row) for row in new.get(kind, ())}
        part = getattr(changes, kind)
        part["added"] = sorted(k for k in after if k not in before)
        part["removed"] = sorted(k for k in before if k not in after)
        for k in sorted(k for k in after if k in before):
            differing = sorted(name for name in set(before[k]) | set(after[k])
                               if before[k].get(name) != after[k].get(name))
            if differing:
                part["changed"].append({"key": k, "fields": differing})
    return changes
