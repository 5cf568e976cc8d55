"""The simulated Asterisk core: channels, Stasis, bridges, media, the dialplan, the far ends.

Everything runs on one asyncio loop; "later" schedules a callback after a simulated
delay (seconds x `time_scale`). Events go out through `events.Hub` in the order
PBX-PROTOCOL.md §4 gives, e.g. for an answered originate::

    Dial("") -> ChannelStateChange(Ringing) -> Dial(RINGING) -> ChannelStateChange(Up)
    -> Dial(ANSWER) -> ChannelVarset(STASISSTATUS) -> StasisStart

The ARI and AMI layers (`ari.py`, `ami.py`) only parse requests and call the methods
here; errors are raised as `AriError` with the status and message a real Asterisk gives.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

from callcenter.pbx.sim import causes
from callcenter.pbx.sim.apps import DialplanMixin
from callcenter.pbx.sim.config import SimConfig
from callcenter.pbx.sim.confparse import parse_conf
from callcenter.pbx.sim.dialplan import Dialplan
from callcenter.pbx.sim.errors import AriError, alloc_failed
from callcenter.pbx.sim.events import Hub
from callcenter.pbx.sim.media import MediaMixin
from callcenter.pbx.sim.model import (
    Bridge,
    Channel,
    LiveRecording,
    Playback,
    StoredRecording,
    ari_time,
)
from callcenter.pbx.sim.parties import Phone, Trunk, callee_profile, dtmf_plan, plan_callee, sample
from callcenter.pbx.sim.queues import QueueManager

log = logging.getLogger("callcenter.pbx.sim")

RECORDING_FORMATS = {"wav", "wav16", "gsm", "ulaw", "alaw", "sln", "g722", "g729", "ogg", "WAV"}
MAX_ID = 149
MAX_ORIGINATIONS_KEPT = 200_000




class Party:
    """A simulated far end attached to a PJSIP channel."""

    kind = "party"

    def __init__(self, pbx: Pbx, chan: Channel, *, talk_time: float | None, patience: float | None,
                 dtmf: list[tuple[str, float]] | None = None, dtmf_duration_ms: int = 120):
        self.pbx = pbx
        self.chan = chan
        self.talk_time = talk_time
        self.patience = patience
        self.dtmf = dtmf or []
        self.dtmf_duration_ms = dtmf_duration_ms
        self.connected = False
        self.patience_timer = None

    def start_patience(self) -> None:
        if self.patience is not None and math.isfinite(self.patience) and not self.connected:
            self.patience_timer = self.pbx.later(self.patience, self._give_up, chan=self.chan)

    def _give_up(self) -> None:
        if not self.connected:
            self.pbx.remote_hangup(self.chan)

    def on_answer(self) -> None:
        delay = 0.0
        for digit, wait in self.dtmf:
            delay += wait
            self.pbx.later(delay, self.pbx.far_dtmf, self.chan, digit, self.dtmf_duration_ms, chan=self.chan)

    def on_connected(self) -> None:
        if self.connected:
            return
        self.connected = True
        if self.patience_timer is not None:
            self.patience_timer.cancel()
        if self.talk_time is not None and math.isfinite(self.talk_time):
            self.pbx.later(self.talk_time, self.pbx.remote_hangup, self.chan, chan=self.chan)


class CalleeParty(Party):
    kind = "callee"

    def on_answer(self) -> None:
        super().on_answer()
        self.start_patience()


class CallerParty(Party):
    kind = "caller"


class AgentParty(Party):
    kind = "agent"


class Pbx(DialplanMixin, MediaMixin):
    def __init__(self, config: SimConfig, loop: asyncio.AbstractEventLoop | None = None):
        self.config = config
        self.world = config.world
        self.scale = max(float(config.time_scale), 1e-6)
        self.loop = loop or asyncio.get_event_loop()
        self.t0 = self.loop.time()
        self.wall0 = time.time()
        self.hub = Hub(config.entity_id, self.clock)
        self.channelvars = tuple(config.channelvars)
        self.channels: dict[str, Channel] = {}
        self.by_name: dict[str, Channel] = {}
        self.bridges: dict[str, Bridge] = {}
        self.playbacks: dict[str, Playback] = {}
        self.live_recordings: dict[str, LiveRecording] = {}
        self.stored_recordings: dict[str, StoredRecording] = {}
        self.trunks: dict[str, Trunk] = {}
        self.phones: dict[str, Phone] = {}
        self.pjsip_endpoints: dict[str, dict] = {}
        self.dialplan = Dialplan()
        self.queues = QueueManager(self)
        self._uid_seq = itertools.count()
        self._pjsip_idx = itertools.count(0)
        self._local_idx = itertools.count(0)
        self._call_seq = itertools.count(1)
        self.stats: Counter[str] = Counter()
        # Every call placed to a far end through a trunk, in order: what the dialer's crash test
        # compares with its attempt rows (GET /sim/originations).
        self.originations: deque[dict] = deque(maxlen=MAX_ORIGINATIONS_KEPT)
        self.startup = self.clock()
        self.last_reload = self.startup
        self.rng = random.Random(f"{config.seed}/world")
        self._inbound_handle: asyncio.TimerHandle | None = None
        self._next_arrival: float | None = None
        self.load()

    # --- clocks and timers -------------------------------------------------------------
    def now(self) -> float:
        """Simulated seconds since start."""
        return (self.loop.time() - self.t0) / self.scale

    def clock(self) -> float:
        """The clock of event timestamps (epoch seconds)."""
        if self.config.clock == "wall":
            return time.time()
        return self.wall0 + self.now()

    def later(self, delay: float, fn: Callable, *args: Any, chan: Channel | None = None) -> asyncio.TimerHandle:
        handle = self.loop.call_later(max(0.0, delay) * self.scale, fn, *args)
        if chan is not None:
            timers = chan.timers
            if len(timers) > 32:
                timers[:] = [t for t in timers if not t.cancelled()]
            timers.append(handle)
        return handle

    def soon(self, fn: Callable, *args: Any) -> None:
        self.loop.call_soon(fn, *args)

    def call_rng(self, kind: str) -> random.Random:
        return random.Random(f"{self.config.seed}/{kind}/{next(self._call_seq)}")

    # --- configuration -----------------------------------------------------------------
    def load(self) -> None:
        """(Re)read the world's endpoints, the dialplan and the queues."""
        world = self.world
        for name, spec in (world.get("trunks") or {}).items():
            spec = spec or {}
            trunk = self.trunks.get(name) or self.trunks.setdefault(name, Trunk(name, 0))
            trunk.lines = int(spec.get("lines", world.get("default_trunk_lines", 30)))
        self._load_pjsip()
        defaults = world.get("phone_defaults") or {}
        for ep, spec in (world.get("phones") or {}).items():
            self.configure_phone(str(ep), create=True, spec=spec or {})
        configured = set(world.get("trunks") or {})
        for ep, section in self.pjsip_endpoints.items():
            if section["kind"] == "trunk":
                lines = section["lines"] or int(world.get("default_trunk_lines", 30))
                if ep not in self.trunks:
                    self.trunks[ep] = Trunk(ep, lines)
                elif ep not in configured:
                    self.trunks[ep].lines = lines
            elif ep not in self.phones and ep not in self.trunks:
                self.phones[ep] = Phone(ep, defaults.get("mode", "auto"), dict(defaults))
        self.reload_dialplan()
        self.queues.reload()

    def _load_pjsip(self) -> None:
        """Endpoints of the rendered pjsip.conf: trunks (outbound auth, a registration,
        identify_by, or "trunk" in the name) and agent phones; their context and set_var."""
        path = self.config.pjsip_conf_path()
        self.pjsip_endpoints = {}
        if not path:
            return
        sections = parse_conf(path.read_text(encoding="utf-8", errors="replace"))
        for section in sections:
            if (section.get("type") or "").lower() != "endpoint":
                continue
            # Phones authenticate to us (auth=); trunks authenticate out, are identified by
            # address or username, or say so in their name.
            is_trunk = any(section.get(k) for k in ("outbound_auth", "identify_by", "from_domain")) or (
                "trunk" in section.name.lower())
            variables = {}
            for item in section.getall("set_var"):
                key, sep, value = item.partition("=")
                if sep:
                    variables[key.strip()] = value
            busy_at = section.get("device_state_busy_at")
            lines = int(busy_at) if busy_at and busy_at.isdigit() and int(busy_at) > 0 else None
            self.pjsip_endpoints[section.name] = {
                "kind": "trunk" if is_trunk else "phone", "context": section.get("context") or "",
                "vars": variables, "lines": lines, "callerid": section.get("callerid") or "",
            }

    def reload_dialplan(self) -> None:
        plan = Dialplan()
        text = self.world.get("dialplan") or ""
        if self.config.app != "callcenter":
            text = text.replace("Stasis(callcenter,", f"Stasis({self.config.app},")
        plan.load(text)
        path = self.config.extensions_conf_path()
        if path:
            plan.load(path.read_text(encoding="utf-8", errors="replace"))
        self.dialplan = plan

    def reload(self, what: str = "all", module: str = "All") -> None:
        if what in ("all", "pjsip"):
            self._load_pjsip()
            self.load()
        if what in ("all", "dialplan"):
            self.reload_dialplan()
        if what in ("all", "queues"):
            self.queues.reload()
        self.last_reload = self.clock()
        if self.ami_on():
            self.ami("Reload", f"Module: {module}\r\nStatus: 0\r\n", "system,all")

    def configure_phone(self, endpoint: str, *, create: bool = False, spec: dict | None = None) -> Phone | None:
        phone = self.phones.get(endpoint)
        if phone is None and create:
            defaults = dict(self.world.get("phone_defaults") or {})
            defaults.update(spec or {})
            phone = self.phones[endpoint] = Phone(endpoint, str(defaults.get("mode", "auto")), defaults)
        elif phone is not None and spec:
            phone.profile.update(spec)
            if "mode" in spec:
                phone.mode = str(spec["mode"])
        return phone

    def phone_for(self, endpoint: str) -> Phone | None:
        """The phone behind `endpoint`, made on first use when `auto_endpoints` is on."""
        if endpoint in self.phones:
            return self.phones[endpoint]
        if endpoint in self.trunks:
            return None
        if self.world.get("auto_endpoints", True):
            return self.configure_phone(endpoint, create=True)
        return None

    def trunk_for(self, name: str) -> Trunk | None:
        if name in self.trunks:
            return self.trunks[name]
        if self.world.get("auto_endpoints", True) and name not in self.phones:
            trunk = self.trunks[name] = Trunk(name, int(self.world.get("default_trunk_lines", 30)))
            return trunk
        return None

    # --- events ------------------------------------------------------------------------
    def _recipients(self, chan: Channel) -> set[str] | list[str]:
        extra = self.hub.subscribe_all_apps() if self.hub.apps else ()
        if not extra:
            return chan.apps
        return chan.apps.union(extra)

    def ari_chan(self, chan: Channel, typ: str, fields: dict | None = None, recipients=None) -> None:
        recipients = self._recipients(chan) if recipients is None else recipients
        if not recipients or not self.hub.has_listeners(recipients):
            return
        event = {"type": typ, "timestamp": ari_time(self.clock())}
        if fields:
            event.update(fields)
        event["channel"] = chan.ari(self.channelvars)
        self.hub.send_ari(event, recipients)

    def ari_event(self, event: dict, recipients) -> None:
        if recipients and self.hub.has_listeners(recipients):
            out = {"type": event.pop("type"), "timestamp": ari_time(self.clock())}
            out.update(event)
            self.hub.send_ari(out, recipients)

    def ami_on(self) -> bool:
        return bool(self.hub.ami_sessions) and self.hub.ami_listening()

    def ami(self, name: str, body: str, privilege: str = "call,all") -> None:
        self.hub.send_ami(name, privilege, body)

    # --- channels ----------------------------------------------------------------------
    def new_uid(self) -> str:
        uid = f"{int(time.time())}.{next(self._uid_seq)}"
        return f"{self.config.system_name}-{uid}" if self.config.system_name else uid

    def get(self, ident: str) -> Channel | None:
        return self.channels.get(ident) or self.by_name.get(ident)

    def _new_channel(self, tech: str, resource: str, name: str, *, uid: str | None = None, state: str = "Down",
                     context: str = "default", exten: str = "s", priority: int = 1, app_name: str = "",
                     app_data: str = "", linkedid: str | None = None) -> Channel:
        uid = uid or self.new_uid()
        chan = Channel(uid=uid, name=name, tech=tech, resource=resource, state=state, context=context,
                       exten=exten, priority=priority, app_name=app_name, app_data=app_data,
                       created=self.clock(), created_sim=self.now(),
                       protocol_id=(f"{uuid.uuid4()}" if tech == "PJSIP" else ""), linkedid=linkedid)
        self.channels[uid] = chan
        self.by_name[name] = chan
        self.stats["channels"] += 1
        if self.ami_on():
            self.ami("Newchannel", chan.ami_block())
        extra = self.hub.subscribe_all_apps() if self.hub.apps else ()
        if extra:
            self.ari_chan(chan, "ChannelCreated", recipients=list(extra))
        return chan

    def _pjsip_channel(self, endpoint: str, **kw: Any) -> Channel:
        chan = self._new_channel("PJSIP", endpoint, f"PJSIP/{endpoint}-{next(self._pjsip_idx):08x}", **kw)
        conf = self.pjsip_endpoints.get(endpoint)
        if conf and conf["vars"]:  # pjsip.conf set_var=
            chan.vars.update(conf["vars"])
        return chan

    def set_state(self, chan: Channel, state: str) -> None:
        if chan.state == state or chan.dead:
            return
        chan.state = state
        self.ari_chan(chan, "ChannelStateChange")
        if self.ami_on():
            self.ami("Newstate", chan.ami_block())
        if chan.phone is not None:
            self.queues.device_changed(chan.phone)
        # A Local half answered answers the originated half.
        if state == "Up" and chan.peer is not None and chan.name.endswith(";2"):
            peer = chan.peer
            if not peer.dead and peer.state != "Up":
                self.far_answer(peer)

    def set_var(self, chan: Channel, name: str, value: str, *, event: bool = True) -> None:
        chan.vars[name] = value
        if event and not chan.dead:
            self.ari_chan(chan, "ChannelVarset", {"variable": name, "value": value})
            if self.ami_on():
                self.ami("VarSet", f"{chan.ami_block()}Variable: {name}\r\nValue: {value}\r\n", "dialplan,all")

    def inherit_vars(self, parent: Channel, child: Channel) -> None:
        """main/channel.c ast_channel_inherit_variables(), as Dial and Queue run it on each
        channel they call: `__X` passes on as `__X` (to every descendant), `_X` as `X`
        (one level); other variables stay behind."""
        for key, value in parent.vars.items():
            if key.startswith("__"):
                child.vars[key] = value
            elif key.startswith("_"):
                child.vars[key[1:]] = value

    def set_caller(self, chan: Channel, name: str, number: str) -> None:
        chan.caller_name, chan.caller_num = name, number
        chan.conn_name, chan.conn_num = name, number

    def lookup(self, chan: Channel, expr: str) -> str:
        """A variable or dialplan function as `${...}` and GET .../variable see it."""
        upper = expr.upper()
        if expr.endswith(")") and "(" in expr:
            func, _, arg = expr[:-1].partition("(")
            func, arg = func.upper(), arg.strip().lower()
            if func == "CALLERID":
                return {"num": chan.caller_num, "number": chan.caller_num, "name": chan.caller_name,
                        "all": f'"{chan.caller_name}" <{chan.caller_num}>'}.get(arg, chan.caller_num)
            if func == "CONNECTEDLINE":
                return chan.conn_name if arg == "name" else chan.conn_num
            if func == "CHANNEL":
                return {"name": chan.name, "uniqueid": chan.id, "linkedid": chan.linkedid, "state": chan.state,
                        "language": chan.language, "channeltype": chan.tech}.get(arg, "")
            raise KeyError(expr)
        builtin = {"EXTEN": chan.exten, "CONTEXT": chan.context, "PRIORITY": str(chan.priority),
                   "UNIQUEID": chan.id, "CHANNEL": chan.name, "LANGUAGE": chan.language}
        if expr in chan.vars:
            return chan.vars[expr]
        for inherited in (f"__{expr}", f"_{expr}"):  # Set(__X=...) is read as ${X}
            if inherited in chan.vars:
                return chan.vars[inherited]
        if upper in builtin:
            return builtin[upper]
        raise KeyError(expr)

    def _assign(self, chan: Channel, key: str, value: str) -> None:
        """Set(KEY=value), including the CALLERID() and CONNECTEDLINE() functions."""
        upper = key.upper()
        if upper in ("CALLERID(NUM)", "CALLERID(NUMBER)"):
            chan.caller_num = value
        elif upper == "CALLERID(NAME)":
            chan.caller_name = value
        elif upper in ("CONNECTEDLINE(NUM)", "CONNECTEDLINE(NUMBER)"):
            chan.conn_num = value
        elif upper == "CONNECTEDLINE(NAME)":
            chan.conn_name = value
        elif not key.endswith(")"):
            self.set_var(chan, key, value)

    def _lookup_soft(self, chan: Channel) -> Callable[[str], str]:
        def look(expr: str) -> str:
            try:
                return self.lookup(chan, expr)
            except KeyError:
                return ""
        return look

    # --- originate / create / dial ----------------------------------------------------
    def _resolve(self, endpoint: str) -> dict:
        tech, _, device = endpoint.partition("/")
        if tech.upper() == "PJSIP":
            if "/" in device:  # PJSIP/trunk/sip:number@host
                ep, _, uri = device.partition("/")
                number = uri.split(":", 1)[-1].split("@", 1)[0]
                trunk = self.trunk_for(ep)
                if trunk is None:
                    raise alloc_failed()
                return {"kind": "trunk", "trunk": trunk, "number": number, "endpoint": ep}
            if "@" in device:  # PJSIP/number@trunk
                number, _, ep = device.rpartition("@")
                trunk = self.trunk_for(ep)
                if trunk is None:
                    raise alloc_failed()
                return {"kind": "trunk", "trunk": trunk, "number": number, "endpoint": ep}
            if device in self.trunks:
                return {"kind": "trunk", "trunk": self.trunks[device], "number": "", "endpoint": device}
            phone = self.phone_for(device)
            if phone is None or not phone.registered:
                raise alloc_failed()
            return {"kind": "phone", "phone": phone, "endpoint": device}
        if tech.upper() == "LOCAL":
            spec = device.split("/", 1)[0]
            exten, _, context = spec.partition("@")
            return {"kind": "local", "exten": exten, "context": context or "default", "spec": spec}
        raise alloc_failed()

    def make_outbound(self, endpoint: str, *, uid: str | None, other_uid: str | None, linkedid: str | None = None,
                  caller: Channel | None = None) -> Channel:
        target = self._resolve(endpoint)
        for ident in (uid, other_uid):
            if ident and ident in self.channels:
                raise AriError(409, "Channel with given unique ID already exists")
        dialstring = endpoint.partition("/")[2]
        ctx = self.world.get("endpoint_context", "default")
        if target["kind"] == "local":
            idx = next(self._local_idx)
            base = f"Local/{target['spec']}-{idx:08x}"
            ch1 = self._new_channel("Local", target["spec"], base + ";1", uid=uid, context=target["context"],
                                    exten=target["exten"], app_name="AppDial2", app_data="(Outgoing Line)",
                                    linkedid=linkedid)
            if other_uid is None and uid is not None:
                other_uid = f"{uid};2"
            ch2 = self._new_channel("Local", target["spec"], base + ";2", uid=other_uid, state="Ring",
                                    context=target["context"], exten=target["exten"],
                                    linkedid=linkedid or ch1.linkedid)
            ch1.peer, ch2.peer = ch2, ch1
            chan = ch1
        else:
            ep = target["endpoint"]
            chan = self._pjsip_channel(ep, uid=uid, context=ctx, exten="s", app_name="AppDial2",
                                       app_data="(Outgoing Line)", linkedid=linkedid)
            if target["kind"] == "trunk":
                trunk = target["trunk"]
                chan.trunk = trunk
                # Lines are taken when the channel is made: beyond them, 503 (congestion).
                chan.congested = trunk.in_use >= trunk.lines
                if not chan.congested:
                    trunk.channels.add(chan)
                chan.vars["SIM_NUMBER"] = target["number"]
            else:
                chan.phone = target["phone"]
                chan.phone.channels.append(chan)
        chan.outbound = True
        chan.dialstring = dialstring
        chan.dial_caller = caller
        return chan

    def originate(self, params: dict, variables: dict[str, str], report_vars: set[str]) -> dict:
        uid = params.get("channelId") or None
        other_uid = params.get("otherChannelId") or None
        if (uid and len(uid) > MAX_ID) or (other_uid and len(other_uid) > MAX_ID):
            raise AriError(400, f"Uniqueid length exceeds maximum of {MAX_ID}")
        endpoint = params.get("endpoint") or ""
        if not endpoint:
            raise AriError(400, "Endpoint must be specified")
        if params.get("originator") and params.get("formats"):
            raise AriError(400, "Originator and formats can't both be specified")
        tech, _, device = endpoint.partition("/")
        if not tech or not device:
            raise AriError(400, "Invalid endpoint specified")
        app = params.get("app") or ""
        extension = params.get("extension") or ""
        if app:
            args = [a for a in (params.get("appArgs") or "").split(",")] if params.get("appArgs") else []
            after: Any = ("stasis", app, args)
        elif extension:
            context = params.get("context") or "default"
            priority = int(params.get("priority") or 0) or 1
            label = params.get("label")
            if label:
                if label.isdigit():
                    priority = int(label)
                else:
                    found = self.dialplan.find_label(context, extension, label)
                    if found is None:
                        raise AriError(404, "Requested label can not be found")
                    priority = found
            after = ("dialplan", context, extension, priority)
        else:
            raise AriError(400, "Application or extension must be specified")
        timeout = int(params.get("timeout") or 30)
        if timeout == 0:
            timeout = 30
        if params.get("originator") and not self.get(params["originator"]):
            raise AriError(400, "Provided originator channel was not found")
        chan = self.make_outbound(endpoint, uid=uid, other_uid=other_uid)
        caller_id = params.get("callerId") or ""
        if caller_id:
            name, number = parse_callerid(caller_id)
            self.set_caller(chan, name, number)
            if chan.peer is not None:
                self.set_caller(chan.peer, name, number)
        for key, value in variables.items():
            chan.vars[key] = value
        chan.report_vars |= report_vars
        if app:
            for c in (chan, chan.peer):
                if c is not None:
                    c.apps.add(app)
                    c.explicit_apps.add(app)
        chan.after_answer = after
        self.stats["originated"] += 1
        snapshot = chan.ari(self.channelvars)
        self.soon(self.start_dial, chan, timeout)
        return snapshot

    def create(self, params: dict, variables: dict[str, str], report_vars: set[str]) -> dict:
        if params.get("originator") and params.get("formats"):
            raise AriError(400, "Originator and formats can't both be specified")
        endpoint = params.get("endpoint") or ""
        if not endpoint:
            raise AriError(400, "Endpoint must be specified")
        tech, _, device = endpoint.partition("/")
        if not tech or not device:
            raise AriError(400, "Invalid endpoint specified")
        app = params.get("app") or ""
        args = (params.get("appArgs") or "").split(",") if params.get("appArgs") else []
        chan = self.make_outbound(endpoint, uid=params.get("channelId") or None,
                              other_uid=params.get("otherChannelId") or None)
        for key, value in variables.items():
            if key.upper().startswith(("CALLERID(", "CONNECTEDLINE(")):
                self._assign(chan, key, value)  # Asterisk applies dialplan functions among the variables
            else:
                chan.vars[key] = value
        chan.report_vars |= report_vars
        chan.ari_created = True
        if app:
            chan.apps.add(app)
            chan.explicit_apps.add(app)
        snapshot = chan.ari(self.channelvars)
        self.soon(self._enter_created, chan, app, args)
        return snapshot

    def _enter_created(self, chan: Channel, app: str, args: list[str]) -> None:
        if chan.dead:
            return
        if not app or not self.stasis_enter(chan, app, args):
            self.destroy(chan, causes.NORMAL)

    def dial(self, chan: Channel, caller_id: str | None, timeout: int) -> None:
        self.require_stasis(chan)
        if chan.state not in ("Down", "Rsrvd"):
            raise AriError(409, "Channel is not in the 'Down' state")
        if not chan.ari_created or chan.dial_started:
            raise AriError(409, "Dialing a channel not created by ARI")
        caller = self.get(caller_id) if caller_id else None
        if caller is not None:
            chan.dial_caller = caller
        chan.dial_started = True
        self.soon(self.start_dial, chan, timeout if timeout > 0 else -1)

    def dial_event(self, chan: Channel, status: str) -> None:
        caller = chan.dial_caller
        recipients = set(self._recipients(chan))
        if caller is not None and not caller.dead:
            recipients |= caller.apps
        else:
            caller = None
        if recipients and self.hub.has_listeners(recipients):
            event: dict[str, Any] = {"type": "Dial", "dialstatus": status, "forward": "",
                                     "dialstring": chan.dialstring}
            if caller is not None:
                event["caller"] = caller.ari(self.channelvars)
            event["peer"] = chan.ari(self.channelvars)
            self.ari_event(event, recipients)
        if self.ami_on():
            head = caller.ami_block() if caller is not None else ""
            if status == "":
                self.ami("DialBegin", f"{head}{chan.ami_block('Dest')}DialString: {chan.dialstring}\r\n")
            else:
                name = "DialState" if status in ("RINGING", "PROCEEDING", "PROGRESS") else "DialEnd"
                self.ami(name, f"{head}{chan.ami_block('Dest')}DialStatus: {status}\r\n")

    def start_dial(self, chan: Channel, timeout: int) -> None:
        if chan.dead:
            return
        chan.dial_started = True
        peer = chan.peer
        if peer is not None:
            # core_local.c local_call(): ;1's variables are copied to ;2, then its caller ID.
            for key, value in chan.vars.items():
                self.set_var(peer, key, value)
            if peer.caller_num or peer.caller_name:
                self.ari_chan(peer, "ChannelCallerId", {
                    "caller_presentation": 0, "caller_presentation_txt": "Presentation Allowed, Not Screened"})
                self.ari_chan(peer, "ChannelConnectedLine")
        self.dial_event(chan, "")
        if timeout and timeout > 0:
            chan.dial_timer = self.later(timeout, self._dial_timeout, chan, chan=chan)
        if chan.trunk is not None:
            self.stats["trunk_dials"] += 1
            self.originations.append({"channel": chan.id, "number": chan.vars.get("SIM_NUMBER", ""),
                                      "endpoint": chan.dialstring, "sim_time": round(self.now(), 3),
                                      "vars": {k: v for k, v in chan.vars.items() if k.startswith("CC_")}})
        if chan.trunk is not None:
            self._call_trunk(chan)
        elif chan.phone is not None:
            self._ring_phone(chan)
        elif chan.peer is not None:
            peer = chan.peer
            if not self.dialplan.exists(peer.context, peer.exten, 1):
                log.info("Local %s: no such extension", chan.name)
                self.destroy(chan, 0)
                return
            self.run_pbx(peer, peer.context, peer.exten, 1)

    def _call_trunk(self, chan: Channel) -> None:
        if chan.congested:
            self.stats["congestion"] += 1
            self.later(0.05, self.far_fail, chan, 503, chan=chan)
            return
        number = chan.vars.get("SIM_NUMBER", "")
        plan = plan_callee(callee_profile(self.world, number), self.call_rng("callee"))
        chan.party = CalleeParty(self, chan, talk_time=plan.talk_time, patience=plan.patience, dtmf=plan.dtmf,
                                 dtmf_duration_ms=plan.dtmf_duration_ms)
        chan.party.plan = plan
        if plan.ringing:
            self.later(plan.progress_delay, self.far_ringing, chan, chan=chan)
        if plan.outcome == "answer":
            self.later(plan.ring_time, self.far_answer, chan, chan=chan)
        elif math.isfinite(plan.ring_time):
            self.later(plan.ring_time, self.far_fail, chan, plan.sip, chan=chan)

    def _ring_phone(self, chan: Channel) -> None:
        phone = chan.phone
        # Calls already ringing or up on the phone (not one set up in the same instant whose
        # INVITE has not gone out yet: of two at once, the first rings and the second is busy).
        others = [c for c in phone.channels if c is not chan and not c.dead and (c.dial_started or not c.outbound)]
        if others:  # one call at a time: a second one gets 486
            self.later(0.05, self.far_fail, chan, 486, chan=chan)
            return
        rng = self.call_rng("phone")
        profile = phone.profile
        progress = sample(profile.get("progress_delay", 0.2), rng)
        self.later(progress, self.far_ringing, chan, chan=chan)
        talk = profile.get("talk_time")
        chan.party = AgentParty(self, chan, talk_time=sample(talk, rng) if talk is not None else None,
                                patience=None, dtmf=dtmf_plan(profile, rng))
        if phone.mode == "auto" and rng.random() < float(profile.get("answer_probability", 1.0)):
            self.later(progress + sample(profile.get("ring_time", 2.0), rng), self.far_answer, chan, chan=chan)

    def far_ringing(self, chan: Channel) -> None:
        """180 Ringing from the far end."""
        if chan.dead or chan.state not in ("Down",):
            return
        self.set_state(chan, "Ringing")
        self.dial_event(chan, "RINGING")
        # Ringing travels back through a Local pair to the originated half.
        caller = chan.dial_caller
        if caller is not None and caller.peer is not None and caller.name.endswith(";2"):
            self.far_ringing(caller.peer)
        if chan.queue_call is not None:
            self.queues.member_ringing(chan)

    def far_answer(self, chan: Channel) -> None:
        """200 OK from the far end (or the Local half answering)."""
        if chan.dead or chan.state == "Up":
            return
        if chan.dial_timer is not None:
            chan.dial_timer.cancel()
            chan.dial_timer = None
        chan.answered_sim = self.now()
        self.stats["answered"] += 1
        self.set_state(chan, "Up")
        if chan.dial_started:
            self.dial_event(chan, "ANSWER")
        if chan.party is not None:
            chan.party.on_answer()
        after, chan.after_answer = chan.after_answer, None
        if after is None:
            return
        if callable(after):
            after(chan)
        elif after[0] == "stasis":
            _, app, args = after
            if not self.stasis_enter(chan, app, args):
                self.destroy(chan, causes.NORMAL)
        elif after[0] == "dialplan":
            _, context, exten, priority = after
            self.run_pbx(chan, context, exten, priority)

    def far_fail(self, chan: Channel, sip: int) -> None:
        """A final failure response (486, 404, 503...) from the far end before answer."""
        if chan.dead or chan.state == "Up":
            return
        cause = causes.sip_to_cause(sip)
        self.stats[f"failed_{sip}"] += 1
        chan.hanging_up = True
        self.ari_chan(chan, "ChannelHangupRequest", {"cause": cause, "tech_cause": sip})
        if self.ami_on():
            self.ami("HangupRequest", f"{chan.ami_block()}Cause: {cause}\r\nTechCause: {sip}\r\n")
        if chan.dial_started:
            self.dial_event(chan, causes.dialstatus_for_cause(cause))
        self.destroy(chan, cause, sip)

    def _dial_timeout(self, chan: Channel) -> None:
        if chan.dead or chan.state == "Up":
            return
        self.stats["timeout"] += 1
        # ARI originate: no HangupRequest and no Dial(NOANSWER), only ChannelDestroyed (code).
        self.destroy(chan, causes.NO_ANSWER, 480 if chan.tech == "PJSIP" else 0)

    def remote_hangup(self, chan: Channel, cause: int = causes.NORMAL) -> None:
        """The far end hangs up (BYE, or CANCEL before answer)."""
        if chan.dead or chan.hanging_up:
            return
        if chan.state != "Up" and chan.outbound:
            self.far_fail(chan, 487)
            return
        self.stats["remote_hangups"] += 1
        chan.hanging_up = True
        self.ari_chan(chan, "ChannelHangupRequest", {"cause": cause})
        if self.ami_on():
            self.ami("HangupRequest", f"{chan.ami_block()}Cause: {cause}\r\n")
        self.destroy(chan, cause)

    def hangup(self, chan: Channel, cause: int) -> None:
        """DELETE /channels/{id}, AMI Hangup: a soft hangup requested by the application."""
        if chan.dead or chan.hanging_up:
            return
        chan.hanging_up = True
        self.ari_chan(chan, "ChannelHangupRequest", {"cause": causes.SOFT_HANGUP_EXPLICIT, "soft": True})
        if self.ami_on():
            self.ami("SoftHangupRequest", f"{chan.ami_block()}Cause: {causes.SOFT_HANGUP_EXPLICIT}\r\n")
        if chan.outbound and chan.dial_started and chan.state != "Up":
            self.dial_event(chan, "CANCEL")
        self.destroy(chan, cause)

    def far_dtmf(self, chan: Channel, digit: str, duration_ms: int = 120) -> None:
        """A key pressed at the far end of `chan`."""
        if chan.dead:
            return
        self.ari_chan(chan, "ChannelDtmfReceived", {"digit": digit, "duration_ms": duration_ms})
        if self.ami_on():
            self.ami("DTMFEnd", f"{chan.ami_block()}Digit: {digit}\r\nDurationMs: {duration_ms}\r\n"
                                "Direction: Received\r\n", "dtmf,all")
        rec = chan.recording
        if rec is not None and rec.state == "recording" and (
                rec.terminate_on == "any" or rec.terminate_on == digit):
            self.recording_stop(rec)
        # Through a basic bridge and a Local pair, the key reaches the Stasis side.
        bridge = chan.bridge
        if bridge is not None and bridge.bridge_class != "stasis":
            for other in bridge.channels:
                if other is not chan and other.peer is not None and other.name.endswith(";2"):
                    self.far_dtmf(other.peer, digit, duration_ms)

    # --- teardown ----------------------------------------------------------------------
    def _teardown(self, chan: Channel, cause: int, tech_cause: int = 0) -> None:
        chan.hanging_up = True
        chan.cause, chan.tech_cause = cause, tech_cause
        chan.pbx_token += 1
        for handle in chan.timers:
            handle.cancel()
        chan.timers.clear()
        if chan.dial_timer is not None:
            chan.dial_timer.cancel()
            chan.dial_timer = None
        self._stop_media(chan)
        if chan.bridge is not None:
            self.bridge_leave(chan)
        if chan.stasis is not None:
            self._stasis_end(chan, hangup=True)
        if chan.queue_entry is not None:
            self.queues.caller_gone(chan)
        if chan.queue_call is not None:
            self.queues.member_gone(chan)
        if chan.trunk is not None:
            chan.trunk.channels.discard(chan)
        if chan.phone is not None:
            with contextlib.suppress(ValueError):
                chan.phone.channels.remove(chan)

    def _finish(self, chan: Channel) -> None:
        if chan.dead:
            return
        chan.dead = True
        self.channels.pop(chan.id, None)
        if self.by_name.get(chan.name) is chan:
            del self.by_name[chan.name]
        if self.ami_on():
            tech = f"TechCause: {chan.tech_cause}\r\n" if chan.tech_cause else ""
            self.ami("Hangup", f"{chan.ami_block()}Cause: {chan.cause}\r\nCause-txt: "
                               f"{causes.cause_text(chan.cause)}\r\n{tech}")
        fields: dict[str, Any] = {"cause": chan.cause, "cause_txt": causes.cause_text(chan.cause)}
        if chan.tech_cause:
            fields["tech_cause"] = chan.tech_cause
        self.ari_chan(chan, "ChannelDestroyed", fields)
        if chan.phone is not None:
            self.queues.device_changed(chan.phone)
        self.stats["destroyed"] += 1
        if chan.on_gone is not None:
            self.soon(chan.on_gone, chan)

    def destroy(self, chan: Channel, cause: int, tech_cause: int = 0) -> None:
        """Hang `chan` up now with `cause` (its HangupRequest, if any, is already sent)."""
        if chan.dead:
            return
        self._teardown(chan, cause, tech_cause)
        peer = chan.peer
        if peer is None or peer.dead or peer.hanging_up:
            self._finish(chan)
            return
        # A Local pair ends together, in the order of the traces (scenario A and B).
        peer.hanging_up = True
        self.ari_chan(peer, "ChannelHangupRequest", {"cause": causes.NORMAL})
        if self.ami_on():
            self.ami("HangupRequest", f"{peer.ami_block()}Cause: {causes.NORMAL}\r\n")
        if peer.stasis is not None:
            self._teardown(peer, causes.NORMAL)
            self.ari_chan(peer, "ChannelHangupRequest", {"cause": causes.NORMAL, "soft": True})
            self._finish(peer)
            self._finish(chan)
        else:
            self._finish(chan)
            self._teardown(peer, causes.NORMAL)
            self.ari_chan(peer, "ChannelHangupRequest", {"cause": causes.NORMAL, "soft": True})
            self._finish(peer)

    # --- Stasis ------------------------------------------------------------------------
    def require_stasis(self, chan: Channel | None, ident: str = "") -> Channel:
        if chan is None or chan.dead:
            raise AriError(404, "Channel not found")
        if chan.stasis is None:
            raise AriError(409, "Channel not in Stasis application")
        return chan

    @staticmethod
    def require_media_state(chan: Channel) -> None:
        if chan.state in ("Down", "Rsrvd", "Ringing"):
            raise AriError(412, "Channel in invalid state")

    def stasis_enter(self, chan: Channel, app: str, args: list[str]) -> bool:
        chan.app_name = "Stasis"
        chan.app_data = ",".join([app, *args])
        if not self.hub.is_active(app):
            log.info("Stasis app '%s' not registered (%s)", app, chan.name)
            self.set_var(chan, "STASISSTATUS", "FAILED")
            return False
        self.set_var(chan, "STASISSTATUS", "")
        chan.apps.add(app)
        chan.stasis = app
        chan.stasis_args = list(args)
        chan.in_app = "Stasis"
        self.stats["stasis_start"] += 1
        self.ari_chan(chan, "StasisStart", {"args": list(args)})
        return True

    def _stasis_end(self, chan: Channel, *, hangup: bool) -> None:
        app = chan.stasis
        chan.stasis = None
        chan.in_app = None
        self.ari_chan(chan, "StasisEnd")
        self.set_var(chan, "STASISSTATUS", "SUCCESS")
        if not hangup and app not in chan.explicit_apps:
            chan.apps.discard(app)

    def answer(self, chan: Channel) -> None:
        self.require_stasis(chan)
        self.require_media_state(chan)
        if chan.state != "Up":
            chan.answered_sim = self.now()
            self.set_state(chan, "Up")
            if chan.party is not None:
                chan.party.on_answer()

    def continue_in_dialplan(self, chan: Channel, context: str, extension: str, priority: int,
                             label: str) -> None:
        self.require_stasis(chan)
        self.require_media_state(chan)
        if not context:
            context = chan.context
            extension = extension or chan.exten
        else:
            extension = extension or "s"
        if label:
            if label.lstrip("-").isdigit():
                prio = int(label)
            else:
                found = self.dialplan.find_label(context, extension, label)
                if found is None:
                    raise AriError(404, "Requested label can not be found")
                prio = found
            if prio == 0:
                raise AriError(400, "Requested priority is illegal")
        elif priority:
            prio = priority
        elif not context or (context == chan.context and not extension):
            prio = chan.priority + 1
        else:
            prio = 1
        self.soon(self._do_continue, chan, context, extension, prio)

    def _do_continue(self, chan: Channel, context: str, extension: str, priority: int) -> None:
        if chan.dead or chan.stasis is None:
            return
        if chan.bridge is not None:
            self.bridge_leave(chan)
        self._stasis_end(chan, hangup=False)
        self.run_pbx(chan, context, extension, priority)

    # --- bridges -----------------------------------------------------------------------
    def bridge_apps(self, bridge: Bridge) -> set[str]:
        apps: set[str] = set()
        for c in bridge.channels:
            if c.stasis is not None:
                apps |= c.apps
        return apps

    def bridge_create(self, bridge_type: str, name: str, bridge_id: str | None) -> Bridge:
        if bridge_id and bridge_id in self.bridges:
            raise AriError(409, f"Bridge with id '{bridge_id}' already exists")
        flags = tuple(t.strip() for t in (bridge_type or "mixing").split(",") if t.strip())
        kind = "holding" if "holding" in flags else "mixing"
        bridge = Bridge(id=bridge_id or str(uuid.uuid4()), name=name or "", created=self.clock(),
                        bridge_type=kind, flags=flags)
        self.bridges[bridge.id] = bridge
        if self.ami_on():
            self.ami("BridgeCreate", _ami_bridge(bridge))
        watchers = self.hub.subscribe_all_apps() if self.hub.apps else ()
        if watchers:  # subscribeAll sees every bridge; others only those their channels are in
            self.ari_event({"type": "BridgeCreated", "bridge": bridge.ari()}, watchers)
        return bridge

    def internal_bridge(self, chans: list[Channel], on_leave: Callable[[Channel, Bridge], None]) -> Bridge:
        bridge = Bridge(id=str(uuid.uuid4()), name="", created=self.clock(), bridge_class="basic", creator="")
        bridge.on_leave = on_leave  # type: ignore[attr-defined]
        self.bridges[bridge.id] = bridge
        if self.ami_on():
            self.ami("BridgeCreate", _ami_bridge(bridge))
        for chan in chans:
            if chan.bridge is not None:
                self.bridge_leave(chan)
            self.bridge_add(bridge, chan)
        return bridge

    def remove_internal(self, bridge: Bridge, chan: Channel) -> None:
        if chan.bridge is bridge:
            bridge.on_leave = None  # type: ignore[attr-defined]
            self.bridge_leave(chan)
        if not bridge.channels and self.bridges.pop(bridge.id, None) is not None and self.ami_on():
            self.ami("BridgeDestroy", _ami_bridge(bridge))

    def bridge_add(self, bridge: Bridge, chan: Channel) -> None:
        if chan.bridge is bridge:
            return
        if chan.bridge is not None:
            self.bridge_leave(chan)
        bridge.channels.append(chan)
        chan.bridge = bridge
        recipients = self.bridge_apps(bridge) | set(self._recipients(chan))
        if recipients and self.hub.has_listeners(recipients):
            self.ari_chan(chan, "ChannelEnteredBridge", {"bridge": bridge.ari()}, recipients=recipients)
        if self.ami_on():
            self.ami("BridgeEnter", f"{_ami_bridge(bridge)}{chan.ami_block()}")
        if len(bridge.channels) >= 2:
            for c in bridge.channels:
                self.set_var(c, "BRIDGEPEER", ",".join(o.name for o in bridge.channels if o is not c))
        self._refresh_connected(bridge)

    def bridge_leave(self, chan: Channel) -> None:
        bridge = chan.bridge
        if bridge is None:
            return
        recipients = self.bridge_apps(bridge) | set(self._recipients(chan))
        bridge.channels.remove(chan)
        chan.bridge = None
        if recipients and self.hub.has_listeners(recipients):
            self.ari_chan(chan, "ChannelLeftBridge", {"bridge": bridge.ari()}, recipients=recipients)
        if self.ami_on():
            self.ami("BridgeLeave", f"{_ami_bridge(bridge)}{chan.ami_block()}")
        on_leave = getattr(bridge, "on_leave", None)
        if on_leave is not None:
            self.soon(on_leave, chan, bridge)

    def bridge_destroy(self, bridge: Bridge) -> None:
        apps = self.bridge_apps(bridge)
        self._stop_media(bridge)
        for chan in list(bridge.channels):
            self.bridge_leave(chan)
        bridge.dead = True
        self.bridges.pop(bridge.id, None)
        if self.ami_on():
            self.ami("BridgeDestroy", _ami_bridge(bridge))
        apps |= set(self.hub.subscribe_all_apps() if self.hub.apps else ())
        if apps:
            self.ari_event({"type": "BridgeDestroyed", "bridge": bridge.ari()}, apps)

    def _refresh_connected(self, bridge: Bridge) -> None:
        """Start the talk clock of far ends that now hear another party."""
        for chan in bridge.channels:
            if chan.party is not None and not chan.party.connected and self._hears_party(chan):
                chan.party.on_connected()
        # Across Local pairs: a party bridged to ;1 now hears whoever ;2 is bridged to.
        for chan in bridge.channels:
            if chan.peer is not None and chan.peer.bridge is not None and chan.peer.bridge is not bridge:
                for other in chan.peer.bridge.channels:
                    if other.party is not None and not other.party.connected and self._hears_party(other):
                        other.party.on_connected()

    def _hears_party(self, chan: Channel, depth: int = 0) -> bool:
        bridge = chan.bridge
        if bridge is None or depth > 3:
            return False
        for other in bridge.channels:
            if other is chan or other.dead:
                continue
            if other.tech == "PJSIP" and other.state == "Up":
                return True
            if other.peer is not None and other.peer.bridge is not None:
                peer_bridge = other.peer.bridge
                for far in peer_bridge.channels:
                    if far is not other.peer and far.tech == "PJSIP" and far.state == "Up":
                        return True
        return False

    # --- inbound traffic ---------------------------------------------------------------
    def inbound_call(self, did: str, caller: str = "", *, trunk: str | None = None,
                     profile: dict | None = None) -> Channel | None:
        """A call from the PSTN to `did`: a PJSIP channel in Ring running the inbound
        dialplan (by default Stasis(callcenter,inbound,<did>))."""
        spec = self.world.get("inbound") or {}
        trunk_name = trunk or spec.get("trunk") or "trunk1"
        trunk_obj = self.trunks.get(trunk_name) or self.trunk_for(trunk_name) or Trunk(trunk_name, 10**9)
        if trunk_obj.in_use >= trunk_obj.lines:
            self.stats["inbound_blocked"] += 1
            return None
        rng = self.call_rng("inbound")
        if not caller:
            callers = spec.get("callers") or []
            caller = rng.choice(callers) if callers else "1" + rng.choice("3456789") + "".join(
                rng.choice("0123456789") for _ in range(9))
        conf = self.pjsip_endpoints.get(trunk_name)
        context = (conf or {}).get("context") or spec.get("context") or "from-trunk"
        chan = self._pjsip_channel(trunk_name, state="Ring", context=context, exten=did)
        self.set_caller(chan, "", caller)
        chan.conn_name, chan.conn_num = "", ""
        chan.trunk = trunk_obj
        trunk_obj.channels.add(chan)
        prof = dict(spec.get("profile") or {})
        prof.update(profile or {})
        chan.party = CallerParty(self, chan, talk_time=sample(prof.get("talk_time", 60.0), rng, 60.0),
                                 patience=sample(prof.get("patience", 60.0), rng, 60.0),
                                 dtmf=dtmf_plan(prof, rng), dtmf_duration_ms=int(prof.get("dtmf_duration_ms", 120)))
        chan.party.start_patience()
        self.stats["inbound"] += 1
        if self.dialplan.exists(context, did, 1):
            self.soon(self.run_pbx, chan, context, did, 1)
        else:
            app = spec.get("app") or self.config.app
            self.soon(self._inbound_stasis, chan, app, did)
        return chan

    def _inbound_stasis(self, chan: Channel, app: str, did: str) -> None:
        if chan.dead:
            return
        if not self.stasis_enter(chan, app, ["inbound", did]):
            self.destroy(chan, causes.NORMAL)

    def start_traffic(self) -> None:
        self._schedule_inbound()

    def stop_traffic(self) -> None:
        if self._inbound_handle is not None:
            self._inbound_handle.cancel()
            self._inbound_handle = None
        self._next_arrival = None

    def _schedule_inbound(self) -> None:
        spec = self.world.get("inbound") or {}
        rate = float(spec.get("rate_per_hour") or 0.0)
        if rate <= 0 or not spec.get("dids"):
            self._next_arrival = None
            return
        self._next_arrival = self.now() + self.rng.expovariate(rate / 3600.0)
        self._inbound_handle = self.later(self._next_arrival - self.now(), self._inbound_tick)

    def _inbound_tick(self) -> None:
        # Poisson arrivals on the simulated clock; a late timer catches up, so the rate
        # holds however coarse the loop's timers are at small time scales.
        spec = self.world.get("inbound") or {}
        rate = float(spec.get("rate_per_hour") or 0.0)
        dids = spec.get("dids") or []
        if rate <= 0 or not dids or self._next_arrival is None:
            self._next_arrival = None
            return
        now = self.now()
        while self._next_arrival <= now:
            pick = self.rng.choice(dids)
            if isinstance(pick, dict):  # {"did": ..., "trunk": ...}
                self.inbound_call(str(pick.get("did") or ""), trunk=pick.get("trunk"))
            else:
                self.inbound_call(str(pick))
            self._next_arrival += self.rng.expovariate(rate / 3600.0)
        self._inbound_handle = self.later(self._next_arrival - now, self._inbound_tick)

    # --- the far end, driven by people (/sim/) -----------------------------------------
    def phone_answer(self, endpoint: str) -> Channel:
        phone = self.phones.get(endpoint)
        if phone is None:
            raise AriError(404, "Phone not found")
        chan = phone.ringing_channel() or next((c for c in phone.channels if c.state == "Down" and not c.dead), None)
        if chan is None:
            raise AriError(409, "Phone is not ringing")
        self.far_answer(chan)
        return chan

    def phone_dial(self, endpoint: str, number: str) -> Channel:
        """The person at `endpoint` dials `number`: the phone's channel runs the dialplan
        of its pjsip.conf context, as a real SIP phone's INVITE would."""
        phone = self.phone_for(endpoint)
        if phone is None:
            raise AriError(404, "Phone not found")
        if not phone.registered:
            raise AriError(409, "Phone is not registered")
        if any(not c.dead for c in phone.channels):
            raise AriError(409, "Phone is busy")
        conf = self.pjsip_endpoints.get(endpoint) or {}
        context = conf.get("context") or self.world.get("endpoint_context", "default")
        chan = self._pjsip_channel(endpoint, state="Ring", context=context, exten=number)
        name, num = parse_callerid(conf.get("callerid") or endpoint)
        self.set_caller(chan, name, num or endpoint)
        chan.conn_name = chan.conn_num = ""
        chan.phone = phone
        phone.channels.append(chan)
        talk = phone.profile.get("talk_time")
        chan.party = AgentParty(self, chan, talk_time=sample(talk, self.call_rng("phone")) if talk else None,
                                patience=None)
        self.queues.device_changed(phone)
        if self.dialplan.exists(context, number, 1):
            self.soon(self.run_pbx, chan, context, number, 1)
        else:
            self.soon(self.destroy, chan, causes.UNALLOCATED)
        return chan

    def phone_hangup(self, endpoint: str) -> Channel:
        phone = self.phones.get(endpoint)
        if phone is None:
            raise AriError(404, "Phone not found")
        chans = [c for c in phone.channels if not c.dead]
        if not chans:
            raise AriError(409, "Phone has no call")
        chan = chans[0]
        if chan.state == "Up":
            self.remote_hangup(chan)
        else:
            self.far_fail(chan, 603)  # declined
        return chan

    def shutdown(self) -> None:
        self.stop_traffic()
        for chan in list(self.channels.values()):
            for handle in chan.timers:
                handle.cancel()


def parse_callerid(text: str) -> tuple[str, str]:
    """`"Name" <num>` / `Name <num>` / `num` -> (name, number)."""
    text = text.strip()
    if "<" in text and text.endswith(">"):
        name, _, num = text[:-1].rpartition("<")
        return name.strip().strip('"'), num.strip()
    if text.replace("+", "").replace("-", "").isdigit():
        return "", text
    return text.strip('"'), ""








def _ami_bridge(bridge: Bridge) -> str:
    return (f"BridgeUniqueid: {bridge.id}\r\nBridgeType: {bridge.bridge_type}\r\n"
            f"BridgeTechnology: {bridge.technology}\r\nBridgeCreator: {bridge.creator or '<unknown>'}\r\n"
            f"BridgeName: {bridge.name or '<unknown>'}\r\nBridgeNumChannels: {len(bridge.channels)}\r\n"
            f"BridgeVideoSourceMode: none\r\n")
