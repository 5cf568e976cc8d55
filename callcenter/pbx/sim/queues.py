"""app_queue, simulated: queues.conf, members, callers waiting, and the ring strategies.

Queues come from the rendered `queues.conf` of the config dir (re-read on `queue reload`,
`QueueReload`, `Reload Module: app_queue.so`) plus the world's `queues_conf`. Dynamic
members added with QueueAdd survive a reload, as in Asterisk.

Strategies (apps/app_queue.c calc_metric): ringall rings every available member of the
lowest penalty; linear rings members in configured order; rrmemory/rrordered go round
the members starting after the last one rung; fewestcalls picks the fewest completed
calls; leastrecent the longest since the last completed call; random (and wrandom,
weighted by penalty) draw with the queue's seeded generator.

With `ringinuse=no` (queue or member) a member already being rung for one caller is not
rung for another (app_queue's pending_members): with a Local member whose state_interface
is the phone, the phone only rings once the Local channel's dialplan calls it.

Dial and Queue pass the caller's inheritable variables (`_X`, `__X`) to the channels they
call; a Local member's `;2` half gets the caller ID the `;1` half was given.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from callcenter.pbx.sim import causes
from callcenter.pbx.sim.confparse import parse_conf

if TYPE_CHECKING:
    from callcenter.pbx.sim.model import Channel
    from callcenter.pbx.sim.world import Pbx

log = logging.getLogger("callcenter.pbx.sim")

STRATEGIES = {"ringall", "linear", "rrmemory", "rrordered", "fewestcalls", "leastrecent", "random", "wrandom"}


@dataclass(eq=False)
class Member:
    interface: str
    name: str
    state_interface: str
    penalty: int = 0
    paused: bool = False
    reason: str = ""
    dynamic: bool = False
    calls: int = 0
    lastcall: int = 0
    lastpause: int = 0
    logintime: int = 0
    wrapuptime: int = 0
    ringinuse: bool = True
    wrap_until: float = 0.0
    in_call: bool = False
    last_status: int = -1

    @property
    def membership(self) -> str:
        return "dynamic" if self.dynamic else "static"


@dataclass(eq=False)
class Entry:
    chan: Channel
    queue: Queue
    opos: int
    start: float
    pos: int = 0
    ringing: dict = field(default_factory=dict)  # member channel -> Member
    ring_started: float = 0.0
    tried: set = field(default_factory=set)
    ring_timer: Any = None
    retry_timer: Any = None
    timeout_timer: Any = None
    connected: tuple | None = None
    connect_time: float = 0.0
    done: bool = False


@dataclass(eq=False)
class Queue:
    name: str
    strategy: str = "ringall"
    timeout: float = 15.0
    retry: float = 5.0
    wrapuptime: int = 0
    maxlen: int = 0
    weight: int = 0
    servicelevel: int = 0
    members: list[Member] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    completed: int = 0
    abandoned: int = 0
    holdtime: float = 0.0
    talktime: float = 0.0
    rrpos: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def member(self, interface: str) -> Member | None:
        for m in self.members:
            if m.interface == interface:
                return m
        return None


class QueueManager:
    def __init__(self, pbx: Pbx):
        self.pbx = pbx
        self.queues: dict[str, Queue] = {}
        self.pending: dict[str, int] = {}  # member interface -> ring attempts in progress

    # --- configuration -----------------------------------------------------------------
    def _conf_text(self) -> str:
        text = self.pbx.world.get("queues_conf") or ""
        path = self.pbx.config.queues_conf_path()
        if path is not None:
            text += "\n" + path.read_text(encoding="utf-8", errors="replace")
        return text

    def reload(self) -> None:
        now_epoch = int(self.pbx.clock())
        seen = set()
        for section in parse_conf(self._conf_text()):
            if section.name == "general":
                continue
            seen.add(section.name)
            q = self.queues.get(section.name)
            if q is None:
                q = self.queues[section.name] = Queue(section.name,
                                                      rng=random.Random(f"{self.pbx.config.seed}/queue/{section.name}"))
            strategy = (section.get("strategy") or "ringall").strip().lower()
            if strategy not in STRATEGIES:
                log.warning("queue %s: unknown strategy %r, using ringall", section.name, strategy)
                strategy = "ringall"
            q.strategy = strategy
            q.timeout = _num(section.get("timeout"), 15.0)
            q.retry = _num(section.get("retry"), 5.0)
            q.wrapuptime = int(_num(section.get("wrapuptime"), 0))
            q.maxlen = int(_num(section.get("maxlen"), 0))
            q.weight = int(_num(section.get("weight"), 0))
            q.servicelevel = int(_num(section.get("servicelevel"), 0))
            ringinuse = (section.get("ringinuse") or "yes").strip().lower() in ("yes", "true", "1", "on")
            old = {m.interface: m for m in q.members}
            members: list[Member] = []
            for line in section.getall("member"):
                parts = [p.strip() for p in line.split(",")]
                interface = parts[0]
                if not interface:
                    continue
                m = old.pop(interface, None)
                if m is None or m.dynamic:
                    m = Member(interface, interface, interface, logintime=now_epoch)
                m.dynamic = False
                m.ringinuse = ringinuse
                m.penalty = int(_num(parts[1] if len(parts) > 1 else "", 0))
                m.name = parts[2] if len(parts) > 2 and parts[2] else interface
                m.state_interface = parts[3] if len(parts) > 3 and parts[3] else interface
                if len(parts) > 4 and parts[4]:
                    m.ringinuse = parts[4].lower() in ("yes", "true", "1", "on")
                m.wrapuptime = int(_num(parts[5] if len(parts) > 5 else "", q.wrapuptime))
                if len(parts) > 6 and parts[6]:
                    m.paused = parts[6].lower() in ("yes", "true", "1", "on")
                members.append(m)
            # Dynamic members stay across a reload.
            members.extend(m for m in old.values() if m.dynamic)
            q.members = members
        for name in list(self.queues):
            if name not in seen and not self.queues[name].entries:
                del self.queues[name]
        for q in self.queues.values():
            self._kick(q)

    # --- member state ------------------------------------------------------------------
    def member_status(self, m: Member) -> int:
        tech, _, ep = m.state_interface.partition("/")
        if tech.upper() != "PJSIP":
            return 5
        phone = self.pbx.phones.get(ep) or self.pbx.phone_for(ep)
        if phone is None:
            return 5
        return phone.device_state()

    def _available(self, q: Queue, m: Member) -> bool:
        if m.paused or self.pbx.now() < m.wrap_until:
            return False
        if not m.ringinuse and self.pending.get(m.interface):
            return False
        return self.member_status(m) == 1

    def _ring_started(self, leg: Channel, m: Member) -> None:
        self.pending[m.interface] = self.pending.get(m.interface, 0) + 1

    def _ring_ended(self, leg: Channel, m: Member) -> None:
        left = self.pending.get(m.interface, 0) - 1
        if left > 0:
            self.pending[m.interface] = left
        else:
            self.pending.pop(m.interface, None)

    def device_changed(self, phone) -> None:
        interface = f"PJSIP/{phone.endpoint}"
        free = False
        for q in self.queues.values():
            for m in q.members:
                if m.state_interface != interface and m.interface != interface:
                    continue
                status = self.member_status(m)
                if status != m.last_status:
                    m.last_status = status
                    if self.pbx.ami_on():
                        self.pbx.ami("QueueMemberStatus", self.member_blob(q, m), "agent,all")
                free = free or status == 1
        if free:
            self.pbx.soon(self.kick_all)

    def kick_all(self) -> None:
        for q in self.queues.values():
            self._kick(q)

    def member_blob(self, q: Queue, m: Member) -> str:
        return (f"Queue: {q.name}\r\nMemberName: {m.name}\r\nInterface: {m.interface}\r\n"
                f"StateInterface: {m.state_interface}\r\nMembership: {m.membership}\r\nPenalty: {m.penalty}\r\n"
                f"CallsTaken: {m.calls}\r\nLastCall: {m.lastcall}\r\nLastPause: {m.lastpause}\r\n"
                f"LoginTime: {m.logintime}\r\nInCall: {int(m.in_call)}\r\nStatus: {self.member_status(m)}\r\n"
                f"Paused: {int(m.paused)}\r\nPausedReason: {m.reason}\r\nRinginuse: {int(m.ringinuse)}\r\n"
                f"Wrapuptime: {m.wrapuptime}\r\n")

    # --- AMI actions ---------------------------------------------------------------------
    def add_member(self, queue: str, interface: str, *, penalty: int = 0, paused: bool = False,
                   name: str = "", state_interface: str = "", reason: str = "") -> str | None:
        q = self.queues.get(queue)
        if q is None:
            return "Unable to add interface to queue: No such queue"
        if q.member(interface):
            return "Unable to add interface: Already there"
        now = int(self.pbx.clock())
        m = Member(interface, name or interface, state_interface or interface, penalty=penalty, paused=paused,
                   reason=reason if paused else "", dynamic=True, logintime=now, lastpause=now if paused else 0,
                   wrapuptime=q.wrapuptime)
        q.members.append(m)
        if self.pbx.ami_on():
            self.pbx.ami("QueueMemberAdded", self.member_blob(q, m), "agent,all")
        self.pbx.soon(self._kick, q)
        return None

    def remove_member(self, queue: str, interface: str) -> str | None:
        q = self.queues.get(queue)
        if q is None:
            return "Unable to remove interface from queue: No such queue"
        m = q.member(interface)
        if m is None:
            return "Unable to remove interface: Not there"
        if not m.dynamic:
            return "Member not dynamic"
        q.members.remove(m)
        if self.pbx.ami_on():
            self.pbx.ami("QueueMemberRemoved", self.member_blob(q, m), "agent,all")
        return None

    def pause(self, interface: str, paused: bool, queue: str = "", reason: str = "") -> bool:
        found = False
        now = int(self.pbx.clock())
        for q in self.queues.values():
            if queue and q.name != queue:
                continue
            m = q.member(interface)
            if m is None:
                continue
            found = True
            m.paused = paused
            m.reason = reason if paused else ""
            if paused:
                m.lastpause = now
            if self.pbx.ami_on():
                self.pbx.ami("QueueMemberPause", self.member_blob(q, m), "agent,all")
            if not paused:
                self.pbx.soon(self._kick, q)
        return found

    # --- callers -----------------------------------------------------------------------
    def join(self, chan: Channel, name: str, timeout: float = 0.0) -> bool:
        q = self.queues.get(name)
        if q is None:
            self.pbx.set_var(chan, "QUEUESTATUS", "UNKNOWN")
            return False
        if q.maxlen and len(q.entries) >= q.maxlen:
            self.pbx.set_var(chan, "QUEUESTATUS", "FULL")
            return False
        entry = Entry(chan, q, opos=len(q.entries) + 1, start=self.pbx.now())
        q.entries.append(entry)
        entry.pos = len(q.entries)
        chan.queue_entry = entry
        self.pbx.stats["queue_joined"] += 1
        if self.pbx.ami_on():
            self.pbx.ami("QueueCallerJoin", f"{chan.ami_block()}Queue: {q.name}\r\nPosition: {entry.pos}\r\n"
                                            f"Count: {len(q.entries)}\r\n", "agent,all")
        if timeout > 0:
            entry.timeout_timer = self.pbx.later(timeout, self._entry_timeout, entry, chan=chan)
        self.pbx.soon(self._kick, q)
        return True

    def _leave(self, entry: Entry) -> None:
        q = entry.queue
        if entry not in q.entries:
            return
        q.entries.remove(entry)
        for i, e in enumerate(q.entries, 1):
            e.pos = i
        if self.pbx.ami_on():
            self.pbx.ami("QueueCallerLeave", f"{entry.chan.ami_block()}Queue: {q.name}\r\nPosition: {entry.pos}\r\n"
                                             f"Count: {len(q.entries)}\r\n", "agent,all")

    def _stop_ringing(self, entry: Entry, status: str, cause: int) -> None:
        for handle in (entry.ring_timer, entry.retry_timer):
            if handle is not None:
                handle.cancel()
        entry.ring_timer = entry.retry_timer = None
        for leg, m in list(entry.ringing.items()):
            leg.queue_call = None
            self._ring_ended(leg, m)
            if not leg.dead:
                leg.hanging_up = True
                self.pbx.dial_event(leg, status)
                self.pbx.destroy(leg, cause)
        entry.ringing.clear()

    def _entry_timeout(self, entry: Entry) -> None:
        if entry.done or entry.connected:
            return
        entry.done = True
        self._stop_ringing(entry, "CANCEL", causes.NORMAL)
        self._leave(entry)
        entry.chan.queue_entry = None
        self.pbx.set_var(entry.chan, "QUEUESTATUS", "TIMEOUT")
        self.pbx.pbx_next(entry.chan)

    def caller_gone(self, chan: Channel) -> None:
        entry = chan.queue_entry
        chan.queue_entry = None
        if entry is None or entry.done:
            return
        entry.done = True
        if entry.timeout_timer is not None:
            entry.timeout_timer.cancel()
        if entry.connected:
            return
        q = entry.queue
        q.abandoned += 1
        self.pbx.stats["queue_abandoned"] += 1
        if self.pbx.ami_on():
            hold = int(self.pbx.now() - entry.start)
            self.pbx.ami("QueueCallerAbandon", f"{chan.ami_block()}Queue: {q.name}\r\nPosition: {entry.pos}\r\n"
                                               f"OriginalPosition: {entry.opos}\r\nHoldTime: {hold}\r\n", "agent,all")
        self._stop_ringing(entry, "CANCEL", causes.NORMAL)
        self._leave(entry)

    # --- ringing members -----------------------------------------------------------------
    def _kick(self, q: Queue) -> None:
        for entry in list(q.entries):
            if entry.done or entry.connected or entry.ringing or entry.retry_timer is not None:
                continue
            if entry.chan.dead:
                continue
            self._try(q, entry)

    def _candidates(self, q: Queue, entry: Entry) -> list[tuple[int, Member]]:
        avail = [(i, m) for i, m in enumerate(q.members) if self._available(q, m)]
        if not avail:
            return []
        fresh = [(i, m) for i, m in avail if m not in entry.tried]
        if not fresh:  # everyone tried once: start over
            entry.tried.clear()
            fresh = avail
        if q.strategy != "wrandom":
            low = min(m.penalty for _, m in fresh)
            fresh = [(i, m) for i, m in fresh if m.penalty == low]
        return fresh

    def pick(self, q: Queue, entry: Entry, cands: list[tuple[int, Member]]) -> list[Member]:
        s = q.strategy
        if s == "ringall":
            return [m for _, m in cands]
        if s == "linear":
            return [cands[0][1]]
        if s in ("rrmemory", "rrordered"):
            after = [(i, m) for i, m in cands if i >= q.rrpos]
            i, m = (after or cands)[0]
            q.rrpos = i + 1
            return [m]
        if s == "fewestcalls":
            return [min(cands, key=lambda c: (c[1].calls, c[0]))[1]]
        if s == "leastrecent":
            return [min(cands, key=lambda c: (c[1].lastcall, c[0]))[1]]
        if s == "random":
            return [q.rng.choice(cands)[1]]
        if s == "wrandom":
            return [min(cands, key=lambda c: (q.rng.randrange((1 + c[1].penalty) * 1000), c[0]))[1]]
        return [m for _, m in cands]

    def _try(self, q: Queue, entry: Entry) -> None:
        cands = self._candidates(q, entry)
        if not cands:
            return
        caller = entry.chan
        for m in self.pick(q, entry, cands):
            try:
                leg = self.pbx.make_outbound(m.interface, uid=None, other_uid=None, linkedid=caller.linkedid,
                                             caller=caller)
            except Exception:  # an interface that cannot be called is skipped, as app_queue does
                entry.tried.add(m)
                continue
            leg.app_name, leg.app_data = "AppQueue", "(Outgoing Line)"
            leg.caller_name, leg.caller_num = caller.caller_name, caller.caller_num
            leg.conn_name, leg.conn_num = caller.caller_name, caller.caller_num
            self.pbx.inherit_vars(caller, leg)
            if leg.peer is not None:  # core_local.c: the ;2 half calls on with the caller's ID
                self.pbx.set_caller(leg.peer, caller.caller_name, caller.caller_num)
            self._ring_started(leg, m)
            leg.queue_call = (entry, m)
            leg.after_answer = self._answered
            entry.ringing[leg] = m
            entry.tried.add(m)
            self.pbx.stats["queue_rung"] += 1
            if self.pbx.ami_on():
                self.pbx.ami("AgentCalled", f"{caller.ami_block()}{leg.ami_block('Dest')}Queue: {q.name}\r\n"
                                            f"Interface: {m.interface}\r\nMemberName: {m.name}\r\n", "agent,all")
            self.pbx.start_dial(leg, 0)
        if entry.ringing:
            entry.ring_started = self.pbx.now()
            entry.ring_timer = self.pbx.later(q.timeout, self._ring_timeout, entry)
        else:
            entry.retry_timer = self.pbx.later(q.retry, self._retry, entry)

    def _retry(self, entry: Entry) -> None:
        entry.retry_timer = None
        if not entry.done and not entry.connected:
            self._kick(entry.queue)

    def _ring_timeout(self, entry: Entry) -> None:
        entry.ring_timer = None
        if entry.done or entry.connected:
            return
        q = entry.queue
        ring_time = int(self.pbx.now() - entry.ring_started)
        for leg, m in list(entry.ringing.items()):
            if self.pbx.ami_on() and not leg.dead:
                self.pbx.ami("AgentRingNoAnswer", f"{entry.chan.ami_block()}{leg.ami_block('Dest')}Queue: {q.name}\r\n"
                                                  f"Interface: {m.interface}\r\nMemberName: {m.name}\r\n"
                                                  f"RingTime: {ring_time}\r\n", "agent,all")
        self._stop_ringing(entry, "NOANSWER", causes.NORMAL)
        entry.retry_timer = self.pbx.later(q.retry, self._retry, entry)

    def member_ringing(self, leg: Channel) -> None:
        pass  # device state changes already tell AMI; nothing else to do

    def member_gone(self, leg: Channel) -> None:
        """A member's leg ended before it was connected (busy, declined, unreachable)."""
        info = leg.queue_call
        leg.queue_call = None
        if info is None:
            return
        entry, m = info
        if entry.ringing.pop(leg, None) is not None:
            self._ring_ended(leg, m)
        if entry.connected or entry.done:
            return
        if not entry.ringing:
            if entry.ring_timer is not None:
                entry.ring_timer.cancel()
                entry.ring_timer = None
            entry.retry_timer = self.pbx.later(entry.queue.retry, self._retry, entry)

    def _answered(self, leg: Channel) -> None:
        info = leg.queue_call
        if info is None:
            self.pbx.destroy(leg, causes.NORMAL)
            return
        entry, m = info
        if entry.done or entry.connected or entry.chan.dead:
            leg.queue_call = None
            self.pbx.destroy(leg, causes.NORMAL)
            return
        q = entry.queue
        pbx = self.pbx
        if entry.ringing.pop(leg, None) is not None:
            self._ring_ended(leg, m)
        leg.queue_call = None
        self._stop_ringing(entry, "CANCEL", causes.ANSWERED_ELSEWHERE)
        if entry.timeout_timer is not None:
            entry.timeout_timer.cancel()
        entry.connected = (m, leg)
        entry.connect_time = pbx.now()
        caller = entry.chan
        hold = pbx.now() - entry.start
        ring = pbx.now() - entry.ring_started
        q.holdtime = (q.holdtime * 3 + hold) / 4
        m.in_call = True
        pbx.stats["queue_connected"] += 1
        if pbx.ami_on():
            pbx.ami("AgentConnect", f"{caller.ami_block()}{leg.ami_block('Dest')}Queue: {q.name}\r\n"
                                    f"Interface: {m.interface}\r\nMemberName: {m.name}\r\nHoldTime: {int(hold)}\r\n"
                                    f"RingTime: {int(ring)}\r\n", "agent,all")
        self._leave(entry)
        if caller.state != "Up":
            caller.answered_sim = pbx.now()
            pbx.set_state(caller, "Up")
            if caller.party is not None:
                caller.party.on_answer()
        pbx.internal_bridge([caller, leg], on_leave=lambda gone, bridge: self._complete(entry, gone, bridge))

    def _complete(self, entry: Entry, gone: Channel, bridge) -> None:
        if entry.done and not entry.connected:
            return
        if entry.connected is None:
            return
        m, leg = entry.connected
        entry.connected = None
        entry.done = True
        q = entry.queue
        pbx = self.pbx
        caller = entry.chan
        caller.queue_entry = None
        talk = pbx.now() - entry.connect_time
        hold = entry.connect_time - entry.start
        q.talktime = (q.talktime * 3 + talk) / 4
        q.completed += 1
        m.calls += 1
        m.lastcall = int(pbx.clock())
        m.in_call = False
        m.wrap_until = pbx.now() + m.wrapuptime
        reason = "caller" if gone is caller else "agent"
        if pbx.ami_on():
            pbx.ami("AgentComplete", f"{caller.ami_block()}{leg.ami_block('Dest')}Queue: {q.name}\r\n"
                                     f"Interface: {m.interface}\r\nMemberName: {m.name}\r\nHoldTime: {int(hold)}\r\n"
                                     f"TalkTime: {int(talk)}\r\nReason: {reason}\r\n", "agent,all")
        if gone is caller:
            pbx.remove_internal(bridge, leg)
            pbx.destroy(leg, causes.NORMAL)
        else:
            pbx.remove_internal(bridge, caller)
            pbx.set_var(caller, "QUEUESTATUS", "")
            pbx.pbx_next(caller)
        if m.wrapuptime:
            pbx.later(m.wrapuptime, self.kick_all)
        pbx.soon(self.kick_all)

    # --- reports -----------------------------------------------------------------------
    def status_events(self, queue: str = "", member: str = "") -> list[tuple[str, str]]:
        """(event name, body) for QueueStatus, in Asterisk's order."""
        out: list[tuple[str, str]] = []
        for q in self.queues.values():
            if queue and q.name != queue:
                continue
            out.append(("QueueParams", (
                f"Queue: {q.name}\r\nMax: {q.maxlen}\r\nStrategy: {q.strategy}\r\nCalls: {len(q.entries)}\r\n"
                f"Holdtime: {int(q.holdtime)}\r\nTalkTime: {int(q.talktime)}\r\nCompleted: {q.completed}\r\n"
                f"Abandoned: {q.abandoned}\r\nServiceLevel: {q.servicelevel}\r\nServicelevelPerf: 0.0\r\n"
                f"ServicelevelPerf2: 0.0\r\nWeight: {q.weight}\r\n")))
            for m in q.members:
                if member and member not in (m.interface, m.name):
                    continue
                out.append(("QueueMember", (
                    f"Queue: {q.name}\r\nName: {m.name}\r\nLocation: {m.interface}\r\n"
                    f"StateInterface: {m.state_interface}\r\nMembership: {m.membership}\r\nPenalty: {m.penalty}\r\n"
                    f"CallsTaken: {m.calls}\r\nLastCall: {m.lastcall}\r\nLastPause: {m.lastpause}\r\n"
                    f"LoginTime: {m.logintime}\r\nInCall: {int(m.in_call)}\r\nStatus: {self.member_status(m)}\r\n"
                    f"Paused: {int(m.paused)}\r\nPausedReason: {m.reason}\r\nWrapuptime: {m.wrapuptime}\r\n")))
            if member:
                continue
            for e in q.entries:
                c = e.chan
                out.append(("QueueEntry", (
                    f"Queue: {q.name}\r\nPosition: {e.pos}\r\nChannel: {c.name}\r\nUniqueid: {c.id}\r\n"
                    f"CallerIDNum: {c.caller_num or '<unknown>'}\r\nCallerIDName: {c.caller_name or '<unknown>'}\r\n"
                    f"ConnectedLineNum: {c.conn_num or '<unknown>'}\r\n"
                    f"ConnectedLineName: {c.conn_name or '<unknown>'}\r\n"
                    f"Wait: {int(self.pbx.now() - e.start)}\r\nPriority: 0\r\n")))
        return out

    def summary_events(self, queue: str = "") -> list[str]:
        out = []
        now = self.pbx.now()
        for q in self.queues.values():
            if queue and q.name != queue:
                continue
            statuses = [self.member_status(m) for m in q.members]
            logged_in = sum(1 for s in statuses if s != 5)
            available = sum(1 for m, s in zip(q.members, statuses, strict=True) if s == 1 and not m.paused)
            longest = max((int(now - e.start) for e in q.entries), default=0)
            out.append(f"Queue: {q.name}\r\nLoggedIn: {logged_in}\r\nAvailable: {available}\r\n"
                       f"Callers: {len(q.entries)}\r\nHoldTime: {int(q.holdtime)}\r\nTalkTime: {int(q.talktime)}\r\n"
                       f"LongestHoldTime: {longest}\r\n")
        return out

    def state(self) -> dict:
        return {
            name: {
                "strategy": q.strategy,
                "timeout": q.timeout,
                "retry": q.retry,
                "completed": q.completed,
                "abandoned": q.abandoned,
                "members": [{"interface": m.interface, "name": m.name, "penalty": m.penalty, "paused": m.paused,
                             "dynamic": m.dynamic, "calls": m.calls, "lastcall": m.lastcall,
                             "status": self.member_status(m), "in_call": m.in_call} for m in q.members],
                "callers": [{"channel": e.chan.id, "position": e.pos, "wait": round(self.pbx.now() - e.start, 3)}
                            for e in q.entries],
            }
            for name, q in self.queues.items()
        }


def _num(text: str | None, default: float) -> float:
    try:
        return float(text) if text not in (None, "") else default
    except ValueError:
        return default
