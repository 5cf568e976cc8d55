"""The simulated far ends: callees behind trunks, inbound callers, agents at their phones.

Each call draws its behaviour once, from its own random generator seeded by the world's
seed and the call's sequence number, so a run with the same seed and the same requests
makes the same calls.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any


def sample(spec: Any, rng: random.Random, default: float = 0.0) -> float:
    """A duration from a spec: number, [lo, hi] (uniform), {"uniform": [lo, hi]},
    {"exp": mean}, {"normal": [mu, sigma]}, {"lognormal": [mu, sigma]}; "min"/"max" clamp."""
    if spec is None:
        return default
    if isinstance(spec, (int, float)):
        return float(spec)
    if isinstance(spec, (list, tuple)):
        lo, hi = float(spec[0]), float(spec[-1])
        return rng.uniform(lo, hi)
    if isinstance(spec, dict):
        if "uniform" in spec:
            value = rng.uniform(*map(float, spec["uniform"]))
        elif "exp" in spec:
            value = rng.expovariate(1.0 / max(float(spec["exp"]), 1e-9))
        elif "normal" in spec:
            value = rng.gauss(*map(float, spec["normal"]))
        elif "lognormal" in spec:
            value = rng.lognormvariate(*map(float, spec["lognormal"]))
        elif "value" in spec:
            value = float(spec["value"])
        else:
            value = default
        if "min" in spec:
            value = max(value, float(spec["min"]))
        if "max" in spec:
            value = min(value, float(spec["max"]))
        return max(0.0, value)
    return float(spec)


def dtmf_plan(profile: dict, rng: random.Random) -> list[tuple[str, float]]:
    """[(digit, delay since the previous key or the answer), ...]."""
    spec = profile.get("dtmf") or ""
    if not spec or rng.random() >= float(profile.get("dtmf_probability", 1.0)):
        return []
    if isinstance(spec, str):
        return [(d, sample(profile.get("dtmf_delay", 2.0), rng)) for d in spec]
    plan = []
    for item in spec:
        if isinstance(item, dict):
            digit, delay = str(item.get("digit") or item.get("digits") or ""), item.get("after")
        else:
            digit, delay = str(item[0]), (item[1] if len(item) > 1 else None)
        delay_value = sample(delay if delay is not None else profile.get("dtmf_delay", 2.0), rng)
        for i, d in enumerate(digit):
            plan.append((d, delay_value if i == 0 else 0.2))
    return plan


@dataclass
class CalleePlan:
    """What a callee reached through a trunk does with this call."""

    outcome: str  # answer | busy | noanswer | unreachable | reject
    progress_delay: float = 0.5  # until 180 Ringing
    ring_time: float = 0.0  # until 200 OK (answer) or the final failure
    sip: int = 0  # failure status
    talk_time: float = 60.0
    patience: float = 60.0
    dtmf: list[tuple[str, float]] = field(default_factory=list)
    dtmf_duration_ms: int = 120
    ringing: bool = True


def callee_profile(world: dict, number: str) -> dict:
    callees = world.get("callees", {})
    profile = dict(callees.get("default", {}))
    prefixes = callees.get("prefixes", {}) or {}
    for prefix in sorted(prefixes, key=len):
        if number.startswith(prefix):
            profile.update(prefixes[prefix])
    exact = (callees.get("numbers", {}) or {}).get(number)
    if exact:
        profile.update(exact)
    if number in (callees.get("unreachable") or []):
        profile["unreachable_probability"] = 1.0
    return profile


def plan_callee(profile: dict, rng: random.Random) -> CalleePlan:
    progress = sample(profile.get("progress_delay", 0.5), rng)
    talk = sample(profile.get("talk_time", 60.0), rng, 60.0)
    patience = sample(profile.get("patience", 60.0), rng, 60.0)
    common = dict(talk_time=talk, patience=patience, dtmf_duration_ms=int(profile.get("dtmf_duration_ms", 120)))
    draw = rng.random()
    p_unreach = float(profile.get("unreachable_probability", 0.0))
    p_busy = float(profile.get("busy_probability", 0.0))
    p_reject = float(profile.get("reject_probability", 0.0))
    p_answer = float(profile.get("answer_probability", 0.0))
    if draw < p_unreach:
        return CalleePlan("unreachable", progress, progress, sip=int(profile.get("unreachable_sip", 404)),
                          ringing=False, **common)
    draw -= p_unreach
    if draw < p_busy:
        return CalleePlan("busy", progress, sample(profile.get("busy_delay", 1.0), rng), sip=486,
                          ringing=bool(profile.get("ring_before_busy", False)), **common)
    draw -= p_busy
    if draw < p_reject:
        ring = sample(profile.get("ring_time", 5.0), rng)
        return CalleePlan("reject", progress, progress + ring, sip=int(profile.get("reject_sip", 603)), **common)
    draw -= p_reject
    # The probabilities are of all calls, drawn in this order; what is left rings unanswered.
    if draw < p_answer:
        ring = sample(profile.get("ring_time", 5.0), rng)
        return CalleePlan("answer", progress, progress + ring, dtmf=dtmf_plan(profile, rng), **common)
    give_up = profile.get("network_timeout")  # the network's own no-answer timer, if any
    ring = sample(give_up, rng) if give_up is not None else math.inf
    return CalleePlan("noanswer", progress, progress + ring, sip=480, **common)


@dataclass
class Phone:
    """An agent's PJSIP endpoint; `mode`: auto (a simulated agent answers), manual (a
    person answers through /sim/), offline (not registered)."""

    endpoint: str
    mode: str = "auto"
    profile: dict = field(default_factory=dict)
    channels: list = field(default_factory=list)

    @property
    def registered(self) -> bool:
        return self.mode != "offline"

    def ringing_channel(self):
        for chan in self.channels:
            if chan.state == "Ringing" and not chan.dead:
                return chan
        return None

    def active_channel(self):
        for chan in self.channels:
            if chan.state == "Up" and not chan.dead:
                return chan
        return None

    def device_state(self) -> int:
        """AMI device state numbers (QueueMember Status)."""
        if not self.registered:
            return 5
        if any(c.state == "Up" and not c.dead for c in self.channels):
            return 2
        if any(c.state in ("Ringing", "Down") and not c.dead for c in self.channels):
            return 6
        return 1

    def device_state_text(self) -> str:
        return {1: "Not in use", 2: "In use", 5: "Unavailable", 6: "Ringing"}[self.device_state()]


@dataclass
class Trunk:
    name: str
    lines: int
    channels: set = field(default_factory=set)

    @property
    def in_use(self) -> int:
        return len(self.channels)
