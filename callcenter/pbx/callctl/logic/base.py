"""Events in, commands out: the vocabulary shared by the flow and IVR state machines.

Events are what call control saw on ARI (reduced to what the logic needs); commands are
what it must do next. Playbacks and timers carry ids so that a late event from something
already stopped or cancelled (ARI sends PlaybackFinished after DELETE /playbacks, a timer
may fire in the same tick it is cancelled) is recognised and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

# Q.850 causes used when the logic ends a call (PBX-PROTOCOL.md section 6).
CAUSE_NORMAL = 16
CAUSE_BUSY = 17
CAUSE_NO_ANSWER = 19
CAUSE_REJECTED = 21
CAUSE_UNALLOCATED = 1

DTMF_DIGITS = frozenset("0123456789*#")

# An agent whose phone rings this long unanswered is passed over (call control, the dialer
# and the dialer's virtual-time model share it).
AGENT_RING_SECONDS = 20


# --- events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answered:
    """The leg the logic runs on is up and in our Stasis application."""


@dataclass(frozen=True)
class PlaybackFinished:
    play_id: int


@dataclass(frozen=True)
class Dtmf:
    digit: str


@dataclass(frozen=True)
class TimerFired:
    name: str


@dataclass(frozen=True)
class AgentAnswered:
    """The group transfer reached an agent (flow) / the dialled extension answered (IVR)."""

    agent: str = ""


@dataclass(frozen=True)
class AgentFailed:
    """Nobody took the transfer: every candidate busy, offline or not answering."""

    reason: str = ""


@dataclass(frozen=True)
class Hangup:
    """The caller/callee leg hung up (its Q.850 cause from ChannelDestroyed)."""

    cause: int = CAUSE_NORMAL


Event = Answered | PlaybackFinished | Dtmf | TimerFired | AgentAnswered | AgentFailed | Hangup


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Play:
    media: str
    play_id: int


@dataclass(frozen=True)
class StopPlayback:
    play_id: int


@dataclass(frozen=True)
class StartTimer:
    name: str
    seconds: float


@dataclass(frozen=True)
class CancelTimer:
    name: str


@dataclass(frozen=True)
class TransferToGroup:
    """Offer the call to the flow's agent group (groups.order_candidates picks who)."""

    ringback: str | None = None


@dataclass(frozen=True)
class CancelTransfer:
    """Stop offering the call to agents (the caller hung up while it was being transferred)."""


@dataclass(frozen=True)
class DialExtension:
    extension: str
    ring_seconds: int


@dataclass(frozen=True)
class RememberDefaultIndex:
    """Persist IvrMenu.last_default_index (round-robin memory of the default extensions)."""

    menu_id: int
    index: int


@dataclass(frozen=True)
class HangupCall:
    cause: int = CAUSE_NORMAL


Command = (Play | StopPlayback | StartTimer | CancelTimer | TransferToGroup | CancelTransfer | DialExtension
           | RememberDefaultIndex | HangupCall)
