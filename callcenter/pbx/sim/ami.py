"""AMI over TCP (asyncio streams): PBX-PROTOCOL.md §5, framed as main/manager.c frames it.

`Asterisk Call Manager/11.0.0` on connect; messages are `Key: Value` lines ended by an
empty line (CRLF, a bare LF accepted); replies are `Response`, `ActionID` (if sent),
`Message`; lists are an ack with `EventList: start`, the events, and a `...Complete`
event. Unsolicited events go to every logged-in session whose `Events` mask allows them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from typing import TYPE_CHECKING

from callcenter.pbx.sim import causes
from callcenter.pbx.sim.model import hms
from callcenter.pbx.sim.world import AriError

if TYPE_CHECKING:
    from callcenter.pbx.sim.world import Pbx

log = logging.getLogger("callcenter.pbx.sim")

BANNER = b"Asterisk Call Manager/11.0.0\r\n"
MAX_MESSAGE = 64 * 1024
MAX_BUFFER = 8 * 1024 * 1024
MODULES = {
    "app_queue.so": "queues", "res_pjsip.so": "pjsip", "chan_pjsip.so": "pjsip", "pbx_config.so": "dialplan",
    "res_pjsip_session.so": "pjsip", "res_pjsip_registrar.so": "pjsip", "res_pjsip_outbound_registration.so": "pjsip",
    "res_musiconhold.so": None,
    "res_ari.so": None, "res_stasis.so": None, "manager": None, "http": None, "logger": None, "acl": None,
    "cdr": None, "cel": None, "features": None, "udptl": None, "dnsmgr": None,
}
EVENT_CLASSES = {"system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf", "reporting",
                 "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security", "message"}


class Message:
    def __init__(self, headers: list[tuple[str, str]]):
        self.headers = headers
        self._lower = {}
        for key, value in headers:
            self._lower.setdefault(key.lower(), value)

    def get(self, key: str, default: str = "") -> str:
        return self._lower.get(key.lower(), default)

    def getall(self, key: str) -> list[str]:
        k = key.lower()
        return [v for kk, v in self.headers if kk.lower() == k]


def parse_event_mask(text: str) -> frozenset[str]:
    value = text.strip().lower()
    if value in ("on", "yes", "true", "1", "all", ""):
        return frozenset({"all"})
    if value in ("off", "no", "false", "0", "none"):
        return frozenset()
    return frozenset(p.strip() for p in value.split(",") if p.strip() in EVENT_CLASSES | {"all"})


class AmiSession:
    def __init__(self, server: AmiServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.server = server
        self.pbx = server.pbx
        self.reader = reader
        self.writer = writer
        self.authenticated = False
        self.events: frozenset[str] = frozenset()
        self.closing = False

    def write(self, data: bytes) -> None:
        if self.closing:
            return
        transport = self.writer.transport
        if transport is None or transport.is_closing():
            self.closing = True
            return
        if transport.get_write_buffer_size() > MAX_BUFFER:
            log.warning("AMI client is not reading; closing it")
            self.close()
            return
        self.writer.write(data)

    def close(self) -> None:
        self.closing = True
        self.pbx.hub.ami_sessions.discard(self)
        with contextlib.suppress(Exception):
            self.writer.close()

    async def read_message(self) -> Message | None:
        headers: list[tuple[str, str]] = []
        size = 0
        while True:
            line = await self.reader.readline()
            if not line:
                return None
            size += len(line)
            if size > MAX_MESSAGE:
                return None
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                if headers:
                    return Message(headers)
                continue
            key, sep, value = text.partition(":")
            if sep:
                headers.append((key.strip(), value.lstrip(" ")))

    async def run(self) -> None:
        self.write(BANNER)
        try:
            while not self.closing:
                msg = await self.read_message()
                if msg is None:
                    break
                keep = await self.dispatch(msg)
                if not keep:
                    await self.writer.drain()
                    break
                if self.writer.transport is not None and self.writer.transport.get_write_buffer_size() > 65536:
                    await self.writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.close()

    # --- replies -----------------------------------------------------------------------
    @staticmethod
    def _aid(m: Message) -> str:
        aid = m.get("ActionID")
        return f"ActionID: {aid}\r\n" if aid else ""

    def respond(self, m: Message, kind: str, message: str | None = None, extra: str = "") -> None:
        text = f"Response: {kind}\r\n{self._aid(m)}"
        if message is not None:
            text += f"Message: {message}\r\n"
        self.write((text + extra + "\r\n").encode())

    def ack(self, m: Message, message: str) -> None:
        self.respond(m, "Success", message)

    def err(self, m: Message, message: str) -> None:
        self.respond(m, "Error", message)

    def list_start(self, m: Message, message: str) -> None:
        self.write(f"Response: Success\r\n{self._aid(m)}EventList: start\r\nMessage: {message}\r\n\r\n".encode())

    def list_complete(self, m: Message, event: str, count: int, extra: str = "") -> None:
        self.write(f"Event: {event}\r\n{self._aid(m)}EventList: Complete\r\nListItems: {count}\r\n{extra}\r\n".encode())

    # --- dispatch ----------------------------------------------------------------------
    async def dispatch(self, m: Message) -> bool:
        action = m.get("Action").strip()
        if not action:
            self.err(m, "Missing action in request")
            return True
        name = action.lower()
        if not self.authenticated and name not in ("login", "logoff", "challenge"):
            self.err(m, "Permission denied")
            return True
        handler = getattr(self, f"action_{name}", None)
        if handler is None:
            self.err(m, f"Invalid/unknown command: {action}. Use Action: ListCommands to show available commands.")
            return True
        try:
            result = handler(m)
            if asyncio.iscoroutine(result):
                result = await result
        except AriError as exc:
            self.err(m, exc.message)
            return True
        return result is not False

    # --- session -----------------------------------------------------------------------
    async def action_login(self, m: Message) -> bool:
        if self.authenticated:
            self.ack(m, "Already authenticated")
            return True
        cfg = self.pbx.config
        if m.get("Username") != cfg.ami_user or m.get("Secret") != cfg.ami_secret:
            await asyncio.sleep(min(1.0, self.pbx.scale))
            self.err(m, "Authentication failed")
            return False
        self.authenticated = True
        self.ack(m, "Authentication accepted")
        self.events = parse_event_mask(m.get("Events", "on"))
        if self.events and ("all" in self.events or "system" in self.events):
            now = self.pbx.clock()
            self.write((f"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: {int(now - self.pbx.startup)}\r\n"
                        f"LastReload: {int(now - self.pbx.last_reload)}\r\nStatus: Fully Booted\r\n\r\n").encode())
        self.pbx.hub.ami_sessions.add(self)
        return True

    def action_challenge(self, m: Message) -> None:
        self.err(m, "Must specify AuthType")

    def action_logoff(self, m: Message) -> bool:
        self.respond(m, "Goodbye", "Thanks for all the fish.")
        return False

    def action_ping(self, m: Message) -> None:
        now = time.time()
        self.respond(m, "Success", None, f"Ping: Pong\r\nTimestamp: {now:.6f}\r\n")

    def action_events(self, m: Message) -> None:
        self.events = parse_event_mask(m.get("EventMask", "off"))
        self.respond(m, "Success", None, f"Events: {'On' if self.events else 'Off'}\r\n")

    def action_listcommands(self, m: Message) -> None:
        names = sorted(n[len("action_"):] for n in dir(self) if n.startswith("action_"))
        self.respond(m, "Success", None, "".join(f"{n}: {n}\r\n" for n in names))

    # --- commands and reloads ------------------------------------------------------------
    def _reload(self, module: str | None) -> bool:
        if not module:
            self.pbx.reload("all")
            return True
        key = module if module.endswith(".so") or module in MODULES else f"{module}.so"
        if key not in MODULES:
            return False
        what = MODULES[key]
        if what:
            self.pbx.reload(what, key)
        return True

    def cli(self, command: str) -> tuple[bool, str]:
        words = command.split()
        low = [w.lower() for w in words]
        cfg = self.pbx.config
        if low[:3] == ["core", "show", "version"]:
            built = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(self.pbx.startup))
            return True, f"Asterisk {cfg.version} built by callcenter @ sim on a x86_64 running Linux on {built} UTC"
        if low[:2] == ["module", "reload"]:
            if len(words) == 2:
                self.pbx.reload("all")
                return True, ""
            out = []
            for module in words[2:]:
                if not self._reload(module):
                    return False, f"The module '{module}' does not exist."
                out.append(f"Module '{module}' reloaded successfully.")
            return True, "\n".join(out)
        if low[:2] == ["queue", "reload"]:
            self.pbx.reload("queues", "app_queue.so")
            return True, ""
        if low[:2] == ["dialplan", "reload"]:
            self.pbx.reload("dialplan", "pbx_config.so")
            return True, "Dialplan reloaded."
        if low == ["core", "reload"] or low == ["reload"]:
            self.pbx.reload("all")
            return True, ""
        if low[:2] == ["pjsip", "reload"]:
            self.pbx.reload("pjsip", "res_pjsip.so")
            return True, ""
        if low[:3] == ["core", "show", "channels"]:
            lines = [f"{'Channel':<20} {'Location':<25} {'State':<7} Application(Data)"]
            for c in self.pbx.channels.values():
                lines.append(f"{c.name[:20]:<20} {(c.exten + '@' + c.context + ':' + str(c.priority))[:25]:<25} "
                             f"{c.state:<7} {c.app_name}({c.app_data})")
            n = len(self.pbx.channels)
            lines.append(f"{n} active channel{'s' if n != 1 else ''}")
            lines.append(f"{self.pbx.stats['channels']} calls processed")
            return True, "\n".join(lines)
        if low[:2] == ["queue", "show"]:
            lines = []
            for q in self.pbx.queues.queues.values():
                if len(words) > 2 and q.name != words[2]:
                    continue
                lines.append(f"{q.name} has {len(q.entries)} calls (max {q.maxlen or 'unlimited'}) in "
                             f"'{q.strategy}' strategy ({int(q.holdtime)}s holdtime, {int(q.talktime)}s talktime), "
                             f"W:{q.weight}, C:{q.completed}, A:{q.abandoned}, SL:0.0%, SL2:0.0% within 0s")
                lines.append("   Members: " if q.members else "   No Members")
                for mem in q.members:
                    lines.append(f"      {mem.name} ({mem.interface}) ({'dynamic' if mem.dynamic else 'static'})"
                                 f"{' (paused)' if mem.paused else ''} has taken {mem.calls} calls")
                lines.append("   Callers: " if q.entries else "   No Callers")
                lines.append("")
            return True, "\n".join(lines)
        return False, f"No such command '{command}' (type 'core show help {command}' for other possible commands)"

    def action_command(self, m: Message) -> None:
        command = m.get("Command").strip()
        if not command:
            self.err(m, "No command provided")
            return
        ok, output = self.cli(command)
        lines = "".join(f"Output: {line}\r\n" for line in output.split("\n"))
        self.respond(m, "Success" if ok else "Error", "Command output follows", lines)

    def action_reload(self, m: Message) -> None:
        if self._reload(m.get("Module").strip() or None):
            self.ack(m, "Module Reloaded")
        else:
            self.err(m, "No such module")

    def action_queuereload(self, m: Message) -> None:
        queue = m.get("Queue")
        if queue and queue not in self.pbx.queues.queues:
            self.pbx.reload("queues", "app_queue.so")
            if queue not in self.pbx.queues.queues:
                self.err(m, "Error encountered while reloading queue")
                return
        else:
            self.pbx.reload("queues", "app_queue.so")
        self.ack(m, "Queue reloaded successfully")

    # --- channels ------------------------------------------------------------------------
    def action_coreshowchannels(self, m: Message) -> None:
        aid = self._aid(m)
        self.list_start(m, "Channels will follow")
        count = 0
        now = self.pbx.now()
        for c in list(self.pbx.channels.values()):
            count += 1
            self.write((f"Event: CoreShowChannel\r\n{aid}{c.ami_block()}Application: {c.app_name}\r\n"
                        f"ApplicationData: {c.app_data}\r\nDuration: {hms(now - c.created_sim)}\r\n"
                        f"BridgeId: {c.bridge.id if c.bridge else ''}\r\n\r\n").encode())
        self.list_complete(m, "CoreShowChannelsComplete", count)

    def action_status(self, m: Message) -> None:
        aid = self._aid(m)
        wanted = m.get("Channel")
        chans = [c for c in self.pbx.channels.values() if not wanted or c.name == wanted]
        if wanted and not chans:
            self.err(m, "No such channel")
            return
        self.list_start(m, "Channel status will follow")
        now = self.pbx.now()
        for c in chans:
            self.write((f"Event: Status\r\nPrivilege: Call\r\n{c.ami_block()}Type: {c.tech}\r\nDNID: \r\n"
                        f"EffectiveConnectedLineNum: {c.conn_num or '<unknown>'}\r\n"
                        f"EffectiveConnectedLineName: {c.conn_name or '<unknown>'}\r\nTimeToHangup: 0\r\n"
                        f"BridgeID: {c.bridge.id if c.bridge else ''}\r\nApplication: {c.app_name}\r\n"
                        f"Data: {c.app_data}\r\nNativeformats: (ulaw)\r\nReadformat: ulaw\r\nReadtrans: \r\n"
                        f"Writeformat: ulaw\r\nWritetrans: \r\nCallgroup: 0\r\nPickupgroup: 0\r\n"
                        f"Seconds: {int(now - c.created_sim)}\r\n{aid}\r\n").encode())
        self.list_complete(m, "StatusComplete", len(chans), f"Items: {len(chans)}\r\n")

    def action_hangup(self, m: Message) -> None:
        name = m.get("Channel").strip()
        if not name:
            self.err(m, "No channel specified")
            return
        cause_text = m.get("Cause").strip()
        cause = int(cause_text) if cause_text.isdigit() else 0
        if len(name) > 2 and name.startswith("/") and name.endswith("/"):
            try:
                regex = re.compile(name[1:-1])
            except re.error:
                self.err(m, "Invalid regex")
                return
            chans = [c for c in self.pbx.channels.values() if regex.search(c.name)]
            for c in chans:
                self.pbx.hangup(c, cause)
            self.list_start(m, "Channels hung up will follow")
            aid = self._aid(m)
            for c in chans:
                self.write(f"Event: ChannelHungup\r\n{aid}Channel: {c.name}\r\n\r\n".encode())
            self.list_complete(m, "ChannelsHungupListComplete", len(chans))
            return
        chan = self.pbx.get(name)
        if chan is None or chan.dead:
            self.err(m, "No such channel")
            return
        self.pbx.hangup(chan, cause)
        self.ack(m, "Channel Hungup")

    def action_originate(self, m: Message) -> None:
        target = m.get("Channel").strip()
        if not target:
            self.err(m, "Channel not specified")
            return
        app, data = m.get("Application").strip(), m.get("Data")
        exten, context = m.get("Exten").strip(), m.get("Context").strip() or "default"
        priority = int(m.get("Priority") or 1) if (m.get("Priority") or "1").isdigit() else 1
        pbx = self.pbx
        try:
            chan = pbx.make_outbound(target, uid=m.get("ChannelId") or None, other_uid=m.get("OtherChannelId") or None)
        except AriError:
            self.err(m, "Originate failed")
            return
        from callcenter.pbx.sim.world import parse_callerid

        if m.get("CallerID"):
            name, number = parse_callerid(m.get("CallerID"))
            pbx.set_caller(chan, name, number)
            if chan.peer is not None:
                pbx.set_caller(chan.peer, name, number)
        for item in m.getall("Variable"):
            for pair in item.split(","):
                k, sep, v = pair.partition("=")
                if sep:
                    chan.vars[k.strip()] = v
        aid = m.get("ActionID")
        session = self

        def response(ok: bool, reason: int) -> None:
            where = f"Application: {app}\r\nData: {data}\r\n" if app else f"Context: {context}\r\nExten: {exten}\r\n"
            session.pbx.ami("OriginateResponse", (
                (f"ActionID: {aid}\r\n" if aid else "")
                + f"Response: {'Success' if ok else 'Failure'}\r\nChannel: {chan.name}\r\n{where}"
                f"Reason: {reason}\r\nUniqueid: {chan.id}\r\nCallerIDNum: {chan.caller_num or '<unknown>'}\r\n"
                f"CallerIDName: {chan.caller_name or '<unknown>'}\r\n"))

        def answered(c) -> None:
            response(True, 4)
            if app:
                c.app_only = True
                c.app_name, c.app_data = app, data
                pbx.run_app(c, app, data)
            else:
                pbx.run_pbx(c, context, exten or "s", priority)

        def gone(c) -> None:
            if c.answered_sim is None:
                response(False, {causes.BUSY: 5, causes.CONGESTION: 8}.get(c.cause, 3))

        chan.after_answer = answered
        chan.on_gone = gone
        timeout_ms = int(m.get("Timeout") or 30000) if (m.get("Timeout") or "30000").isdigit() else 30000
        pbx.soon(pbx.start_dial, chan, max(1, timeout_ms // 1000))
        self.ack(m, "Originate successfully queued")

    # --- queues --------------------------------------------------------------------------
    def action_queuestatus(self, m: Message) -> None:
        aid = self._aid(m)
        events = self.pbx.queues.status_events(m.get("Queue").strip(), m.get("Member").strip())
        self.list_start(m, "Queue status will follow")
        for name, body in events:
            self.write(f"Event: {name}\r\n{body}{aid}\r\n".encode())
        self.list_complete(m, "QueueStatusComplete", len(events))

    def action_queuesummary(self, m: Message) -> None:
        aid = self._aid(m)
        events = self.pbx.queues.summary_events(m.get("Queue").strip())
        self.list_start(m, "Queue summary will follow")
        for body in events:
            self.write(f"Event: QueueSummary\r\n{body}{aid}\r\n".encode())
        self.list_complete(m, "QueueSummaryComplete", len(events))

    def action_queuepause(self, m: Message) -> None:
        interface, paused = m.get("Interface").strip(), m.get("Paused").strip()
        if not interface or not paused:
            self.err(m, "Need 'Interface' and 'Paused' parameters.")
            return
        on = paused.lower() in ("true", "yes", "1", "on")
        if not self.pbx.queues.pause(interface, on, m.get("Queue").strip(), m.get("Reason")):
            self.err(m, "Interface not found")
            return
        self.ack(m, "Interface paused successfully" if on else "Interface unpaused successfully")

    def action_queueadd(self, m: Message) -> None:
        queue, interface = m.get("Queue").strip(), m.get("Interface").strip()
        if not queue:
            self.err(m, "'Queue' not specified.")
            return
        if not interface:
            self.err(m, "'Interface' not specified.")
            return
        penalty = m.get("Penalty").strip()
        problem = self.pbx.queues.add_member(
            queue, interface, penalty=int(penalty) if penalty.lstrip("-").isdigit() else 0,
            paused=m.get("Paused").strip().lower() in ("true", "yes", "1", "on"), name=m.get("MemberName").strip(),
            state_interface=m.get("StateInterface").strip(), reason=m.get("Reason"))
        if problem:
            self.err(m, problem)
        else:
            self.ack(m, "Added interface to queue")

    def action_queueremove(self, m: Message) -> None:
        queue, interface = m.get("Queue").strip(), m.get("Interface").strip()
        if not queue or not interface:
            self.err(m, "Need 'Queue' and 'Interface' parameters.")
            return
        problem = self.pbx.queues.remove_member(queue, interface)
        if problem:
            self.err(m, problem)
        else:
            self.ack(m, "Removed interface from queue")

    # --- endpoints -----------------------------------------------------------------------
    def action_pjsipshowendpoints(self, m: Message) -> None:
        aid = self._aid(m)
        pbx = self.pbx
        names = sorted(set(pbx.phones) | set(pbx.trunks))
        self.list_start(m, "A listing of Endpoints follows, presented as EndpointList events")
        for name in names:
            phone = pbx.phones.get(name)
            if phone is not None:
                state = phone.device_state_text()
                active = sum(1 for c in phone.channels if not c.dead)
            else:
                active = pbx.trunks[name].in_use
                state = "In use" if active else "Not in use"
            self.write((f"Event: EndpointList\r\n{aid}ObjectType: endpoint\r\nObjectName: {name}\r\nTransport: \r\n"
                        f"Aor: {name}\r\nAuths: {name}-auth\r\nOutboundAuths: \r\nContacts: \r\n"
                        f"DeviceState: {state}\r\nActiveChannels: {active}\r\n\r\n").encode())
        self.list_complete(m, "EndpointListComplete", len(names))


class AmiServer:
    def __init__(self, pbx: Pbx):
        self.pbx = pbx
        self.server: asyncio.base_events.Server | None = None
        self.sessions: set[AmiSession] = set()

    async def start(self, host: str, port: int) -> int:
        self.server = await asyncio.start_server(self._client, host, port, reuse_address=True)
        return self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = AmiSession(self, reader, writer)
        self.sessions.add(session)
        try:
            await session.run()
        finally:
            self.sessions.discard(session)

    async def stop(self) -> None:
        for session in list(self.sessions):
            session.close()
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()
