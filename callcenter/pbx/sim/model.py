"""Objects of the simulated core and their wire shapes (ARI JSON, AMI channel blocks).

Field names and their order follow the traces of a real Asterisk 22
(`shared/asterisk-traces/ari_GET_channel.json`, `ami_CoreShowChannels.txt`).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcenter.pbx.sim.causes import STATE_NUM

if TYPE_CHECKING:
    from asyncio import TimerHandle


def ari_time(t: float) -> str:
    """`2026-01-02T03:04:05.678+0000`, the format of ARI timestamps and creationtime."""
    sec = int(t)
    ms = int((t - sec) * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec)) + f".{ms:03d}+0000"


def hms(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Channel:
    """One channel of the core. `party` is the simulated far end (callee, caller, agent)."""

    def __init__(self, *, uid: str, name: str, tech: str, resource: str, state: str,
                 context: str, exten: str, priority: int = 1, app_name: str = "", app_data: str = "",
                 created: float, created_sim: float, protocol_id: str = "", linkedid: str | None = None):
        self.id = uid
        self.name = name
        self.tech = tech
        self.resource = resource
        self.state = state
        self.protocol_id = protocol_id
        self.caller_name = ""
        self.caller_num = ""
        self.conn_name = ""
        self.conn_num = ""
        self.accountcode = ""
        self.language = "en"
        self.context = context
        self.exten = exten
        self.priority = priority
        self.app_name = app_name
        self.app_data = app_data
        self.created = created  # event clock
        self.created_sim = created_sim
        self.linkedid = linkedid or uid
        self.vars: dict[str, str] = {}
        self.report_vars: set[str] = set()
        self.apps: set[str] = set()  # ARI apps subscribed to this channel
        self.explicit_apps: set[str] = set()  # subscribed by originate/create
        self.stasis: str | None = None  # the app the channel is in, if any
        self.stasis_args: list[str] = []
        self.bridge: Bridge | None = None
        self.peer: Channel | None = None  # the other half of a Local pair
        self.party: Any = None
        self.timers: list[TimerHandle] = []
        self.play_queue: deque[Playback] = deque()
        self.playing: Playback | None = None
        self.recording: LiveRecording | None = None
        self.dead = False
        self.hanging_up = False
        self.cause = 0
        self.tech_cause = 0
        # How the channel was reached and what it does once answered.
        self.dialstring = ""
        self.outbound = False
        self.ari_created = False  # POST /channels/create: may be /dial-ed
        self.dial_started = False
        self.after_answer: Any = None  # callable run once the far end answers
        self.dial_timer: TimerHandle | None = None
        self.dial_caller: Channel | None = None  # the channel whose Dial/Queue rang this one
        self.answered_sim: float | None = None
        self.trunk: Any = None
        self.phone: Any = None
        self.queue_entry: Any = None  # the caller's place in a queue
        self.queue_call: Any = None  # on a member's channel: the ring attempt
        self.pbx_token = 0  # bumped to stop a running dialplan
        self.in_app: str | None = None  # blocking dialplan app (Wait, Queue, Dial...)
        self.congested = False
        self.app_only = False
        self.on_gone: Any = None  # called (soon) with the channel once it is destroyed

    # --- snapshots -------------------------------------------------------------------
    def ari(self, channelvars: list[str] | tuple = ()) -> dict:
        snap = {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "protocol_id": self.protocol_id,
            "caller": {"name": self.caller_name, "number": self.caller_num},
            "connected": {"name": self.conn_name, "number": self.conn_num},
            "accountcode": self.accountcode,
            "dialplan": {"context": self.context, "exten": self.exten, "priority": self.priority,
                         "app_name": self.app_name, "app_data": self.app_data},
            "creationtime": ari_time(self.created),
            "language": self.language,
        }
        if channelvars or self.report_vars:
            cv = {name: self.vars.get(name, "") for name in channelvars}
            for name in self.report_vars:
                cv[name] = self.vars.get(name, "")
            if cv:
                snap["channelvars"] = cv
        return snap

    def ami_block(self, prefix: str = "") -> str:
        p = prefix
        return (
            f"{p}Channel: {self.name}\r\n"
            f"{p}ChannelState: {STATE_NUM.get(self.state, 10)}\r\n"
            f"{p}ChannelStateDesc: {self.state}\r\n"
            f"{p}CallerIDNum: {self.caller_num or '<unknown>'}\r\n"
            f"{p}CallerIDName: {self.caller_name or '<unknown>'}\r\n"
            f"{p}ConnectedLineNum: {self.conn_num or '<unknown>'}\r\n"
            f"{p}ConnectedLineName: {self.conn_name or '<unknown>'}\r\n"
            f"{p}Language: {self.language}\r\n"
            f"{p}AccountCode: {self.accountcode}\r\n"
            f"{p}Context: {self.context}\r\n"
            f"{p}Exten: {self.exten}\r\n"
            f"{p}Priority: {self.priority}\r\n"
            f"{p}Uniqueid: {self.id}\r\n"
            f"{p}Linkedid: {self.linkedid}\r\n"
        )

    @property
    def is_up(self) -> bool:
        return self.state == "Up"


@dataclass
class Bridge:
    id: str
    name: str
    created: float
    bridge_type: str = "mixing"
    flags: tuple[str, ...] = ()
    bridge_class: str = "stasis"
    creator: str = "Stasis"
    channels: list[Channel] = field(default_factory=list)
    playing: Playback | None = None
    play_queue: deque = field(default_factory=deque)
    recording: LiveRecording | None = None
    dead: bool = False

    @property
    def technology(self) -> str:
        n = len(self.channels)
        if n >= 3:
            return "softmix"
        if (n == 2 and "dtmf_events" not in self.flags and "proxy_media" not in self.flags
                and all(c.tech == "PJSIP" for c in self.channels)):
            return "native_rtp"
        return "simple_bridge"

    def ari(self) -> dict:
        return {
            "id": self.id,
            "technology": self.technology,
            "bridge_type": self.bridge_type,
            "bridge_class": self.bridge_class,
            "creator": self.creator,
            "name": self.name,
            "channels": [c.id for c in self.channels],
            "creationtime": ari_time(self.created),
            "video_mode": "talker",
        }


@dataclass
class Playback:
    id: str
    media: list[str]
    target_uri: str
    language: str
    channel: Channel | None = None
    bridge: Bridge | None = None
    index: int = 0
    state: str = "queued"
    timer: Any = None

    def ari(self) -> dict:
        snap = {"id": self.id, "media_uri": self.media[self.index]}
        if self.index < len(self.media) - 1:
            snap["next_media_uri"] = self.media[self.index + 1]
        snap["target_uri"] = self.target_uri
        snap["language"] = self.language
        snap["state"] = self.state
        return snap


@dataclass
class LiveRecording:
    name: str
    format: str
    target_uri: str
    channel: Channel | None = None
    bridge: Bridge | None = None
    state: str = "queued"
    started_sim: float | None = None
    duration: int | None = None
    max_duration: float = 0
    terminate_on: str = "none"
    seed: str = ""
    timer: Any = None

    def ari(self) -> dict:
        snap: dict[str, Any] = {"name": self.name, "format": self.format, "state": self.state,
                                "target_uri": self.target_uri}
        if self.duration is not None:
            snap["duration"] = self.duration
        return snap


@dataclass
class StoredRecording:
    name: str
    format: str
    duration: float
    seed: str

    def ari(self) -> dict:
        return {"name": self.name, "format": self.format}
