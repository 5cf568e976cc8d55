"""In-test fakes of Asterisk's AMI and ARI that answer with the recorded traces of a real
Asterisk 22.10.1 (../shared/asterisk-traces)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
from pathlib import Path

from callcenter.pbx.asterisk.ami import Parser

# shared/ lies beside the repository (a developer's tree and CI's clone alike).
TRACES = Path(os.environ.get("CALLCENTER_TRACES_DIR") or Path(__file__).resolve().parent / "traces")

BANNER = b"Asterisk Call Manager/11.0.0\r\n"


def trace(name: str) -> bytes:
    return (TRACES / name).read_bytes()


def with_action_id(raw: bytes, action_id: str | None) -> bytes:
    """A recorded reply re-addressed to our ActionID (or without one, as Asterisk does)."""
    text = raw.decode()
    if action_id is None:
        return re.sub(r"ActionID: [^\r\n]*\r\n", "", text).encode()
    return re.sub(r"ActionID: [^\r\n]*", f"ActionID: {action_id}", text).encode()


COMMAND_TRACES = {
    "core reload": "ami_Command_core_reload.txt",
    "core show version": "ami_Command_core_show_version.txt",
}
ACTION_TRACES = {
    "coreshowchannels": "ami_CoreShowChannels.txt",
    "queuestatus": "ami_QueueStatus.txt",
    "queuesummary": "ami_QueueSummary.txt",
    "pjsipshowendpoints": "ami_PJSIPShowEndpoints.txt",
    "ping": "ami_Ping.txt",
    "queueadd": "ami_QueueAdd.txt",
    "queueremove": "ami_QueueRemove.txt",
    "queuepause": "ami_QueuePause.txt",
    "status": "ami_Status.txt",
    "hangup": "ami_Hangup_Local_600_from-internal-00000003_1.txt",
    "originate": "ami_Originate_queue_caller.txt",
}


def _command_reply(action_id: str | None, lines: list[str], *, ok: bool = True) -> bytes:
    out = [f"Response: {'Success' if ok else 'Error'}"]
    if action_id:
        out.append(f"ActionID: {action_id}")
    out.append("Message: Command output follows")
    out += [f"Output: {line}" for line in (lines or [""])]
    return ("\r\n".join(out) + "\r\n\r\n").encode()


class FakeAmi:
    """An AMI server on 127.0.0.1:<random port> in its own thread.

    `commands` records every Command sent; `fail` maps a CLI command to the output that makes
    it fail; `push_after_login` is raw event bytes sent once a client logs in;
    `drop_after` closes the first connection after that many actions.
    """

    def __init__(self, *, username="amiuser", secret="amisecret"):
        self.username, self.secret = username, secret
        self.actions: list[dict] = []
        self.commands: list[str] = []
        self.logins = 0
        self.connections = 0
        self.fail: dict[str, str] = {}
        self.push_after_login = b""
        self.drop_after: int | None = None
        self.close_on: set[str] = set()  # actions (lower case) answered by closing the connection
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: list[asyncio.StreamWriter] = []

    # -- lifecycle (a thread of its own, so sync code can use it) -----------------------------------------

    def start(self) -> FakeAmi:
        ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._handle, "127.0.0.1", self.port))
            self.port = self._server.sockets[0].getsockname()[1]
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(5)
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown():
            self._server.close()
            for w in self._writers:
                w.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def drop_all(self) -> None:
        """Close every open connection (the server keeps listening)."""
        def close():
            for w in self._writers:
                w.close()
        self._loop.call_soon_threadsafe(close)

    # -- protocol -----------------------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        connection = self.connections
        self._writers.append(writer)
        writer.write(BANNER)
        parser = Parser(expect_banner=False)
        logged_in = False
        handled = 0
        try:
            while True:
                data = await reader.read(4096)
                if not data:
                    break
                for message in parser.feed(data):
                    action = (message.get("Action") or "").lower()
                    action_id = message.get("ActionID")
                    self.actions.append(message.as_dict())
                    handled += 1
                    if action == "login":
                        if message.get("Username") == self.username and message.get("Secret") == self.secret:
                            logged_in = True
                            self.logins += 1
                            writer.write(with_action_id(trace("ami_login.txt"), action_id))
                            if (message.get("Events") or "on").lower() != "off":
                                writer.write(b"Event: FullyBooted\r\nPrivilege: system,all\r\nUptime: 16\r\n"
                                             b"LastReload: 16\r\nStatus: Fully Booted\r\n\r\n")
                                if self.push_after_login:
                                    writer.write(self.push_after_login)
                        else:
                            writer.write(_reply(action_id, "Error", "Authentication failed"))
                    elif action in self.close_on:
                        self.close_on.discard(action)
                        writer.close()
                        return
                    elif not logged_in:
                        writer.write(_reply(action_id, "Error", "Permission denied"))
                    elif action == "logoff":
                        writer.write(with_action_id(trace("ami_Logoff.txt"), action_id))
                        await writer.drain()
                        writer.close()
                        return
                    elif action == "command":
                        writer.write(self._command(message.get("Command") or "", action_id))
                    elif action in ACTION_TRACES:
                        writer.write(with_action_id(trace(ACTION_TRACES[action]), action_id))
                    else:
                        bad = with_action_id(trace("ami_BadAction.txt"), action_id)
                        writer.write(bad.replace(b"NoSuchAction", (message.get("Action") or "").encode()))
                    await writer.drain()
                    if self.drop_after is not None and connection == 1 and handled >= self.drop_after:
                        writer.close()
                        return
        except (ConnectionError, OSError):
            pass
        finally:
            if writer in self._writers:
                self._writers.remove(writer)

    def _command(self, cli: str, action_id: str | None) -> bytes:
        self.commands.append(cli)
        if cli in self.fail:
            return _command_reply(action_id, [self.fail[cli]])
        if cli in COMMAND_TRACES:
            return with_action_id(trace(COMMAND_TRACES[cli]), action_id)
        if cli.startswith("module reload "):
            module = cli.split(" ", 2)[2]
            return _command_reply(action_id, [f"Module '{module}' reloaded successfully."])
        if cli == "dialplan reload":
            return _command_reply(action_id, ["Dialplan reloaded."])
        if cli == "queue reload all":
            return _command_reply(action_id, [])
        return _command_reply(action_id, [f"No such command '{cli}' (type 'core show help {cli}' for other "
                                          "possible commands)"], ok=False)


def _reply(action_id: str | None, response: str, message: str) -> bytes:
    lines = [f"Response: {response}"]
    if action_id:
        lines.append(f"ActionID: {action_id}")
    lines.append(f"Message: {message}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


# --- ARI ----------------------------------------------------------------------------------------------------


def ari_trace(name: str) -> dict:
    return json.loads((TRACES / name).read_text())


def ari_events() -> list[dict]:
    return [json.loads(line) for line in (TRACES / "ari_events_all.jsonl").read_text().splitlines() if line.strip()]
