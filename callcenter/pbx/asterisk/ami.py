"""An asyncio client of the Asterisk Manager Interface (PBX-PROTOCOL.md section 5).

Used for configuration reloads (C11/S2), status (CoreShowChannels, QueueStatus) and queue
events. It speaks the framing of a real Asterisk 22 as recorded in asterisk-traces/:

- on connect, one banner line ``Asterisk Call Manager/11.0.0``;
- then messages of ``Key: Value`` lines (CRLF, a bare LF accepted), each ended by an
  empty line; keys are case-insensitive and may repeat (``Output``, ``ChanVariable``);
- a reply starts with ``Response:`` and echoes our ``ActionID``; a list reply
  (``EventList: start``) is followed by events carrying the same ActionID up to the one
  with ``EventList: Complete``;
- anything else starting with ``Event:`` is unsolicited and goes to the event subscribers.

`AmiClient` logs in, keeps the session alive with ``Ping``, and after a dropped connection
reconnects with backoff and logs in again. `run_sync` lets synchronous code (the apply
service, management commands) use it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

BANNER_PREFIX = "Asterisk Call Manager/"


class AmiError(Exception):
    """Base of AMI failures."""


class AmiConnectionError(AmiError):
    """The manager cannot be reached, or the connection dropped."""


class AmiAuthError(AmiError):
    """Login refused."""


class AmiActionError(AmiError):
    """The manager answered ``Response: Error``."""

    def __init__(self, message: str, response: AmiResponse | None = None):
        super().__init__(message)
        self.response = response


# --- messages and framing ---------------------------------------------------------------------------


@dataclass
class Message:
    """One AMI message: its lines in order (keys may repeat)."""

    headers: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        key = key.lower()
        for k, v in self.headers:
            if k.lower() == key:
                return v
        return default

    def getall(self, key: str) -> list[str]:
        key = key.lower()
        return [v for k, v in self.headers if k.lower() == key]

    def __getitem__(self, key: str) -> str:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key) is not None

    @property
    def is_response(self) -> bool:
        return bool(self.headers) and self.headers[0][0].lower() == "response"

    @property
    def is_event(self) -> bool:
        return "Event" in self and not self.is_response

    @property
    def name(self) -> str:
        """The event name, or the response status (Success, Error, Goodbye...)."""
        return self.get("Event") or self.get("Response") or ""

    @property
    def action_id(self) -> str | None:
        return self.get("ActionID")

    def as_dict(self) -> dict[str, Any]:
        """Keys as sent; a repeated key becomes a list."""
        out: dict[str, Any] = {}
        for k, v in self.headers:
            if k in out:
                out[k] = out[k] if isinstance(out[k], list) else [out[k]]
                out[k].append(v)
            else:
                out[k] = v
        return out

    @property
    def chan_variables(self) -> dict[str, str]:
        return dict(item.split("=", 1) for item in self.getall("ChanVariable") if "=" in item)


class Parser:
    """Sans-IO framing: feed bytes, get the banner (once) and complete messages."""

    def __init__(self, *, expect_banner: bool = True):
        self._buffer = b""
        self._expect_banner = expect_banner
        self._current: list[tuple[str, str]] = []
        self.banner: str | None = None

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        messages: list[Message] = []
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            line = raw.rstrip(b"\r").decode("utf-8", errors="replace")
            if self._expect_banner:
                self._expect_banner = False
                if line.startswith(BANNER_PREFIX):
                    self.banner = line
                    continue
            if line == "":
                if self._current:
                    messages.append(Message(self._current))
                    self._current = []
                continue
            key, sep, value = line.partition(":")
            if sep:
                self._current.append((key.strip(), value[1:] if value.startswith(" ") else value))
            else:
                # Old-style command output (no "Output:" prefix) or a stray line.
                self._current.append(("Output", line))
        return messages

    @property
    def pending(self) -> bytes:
        return self._buffer


def parse(data: bytes | str, *, expect_banner: bool = True) -> tuple[str | None, list[Message]]:
    """Parse a whole recorded exchange: (banner, messages)."""
    parser = Parser(expect_banner=expect_banner)
    messages = parser.feed(data.encode() if isinstance(data, str) else data)
    if not data.endswith(b"\n\n" if isinstance(data, bytes) else "\n\n"):
        messages += parser.feed(b"\r\n")
    return parser.banner, messages


def encode_action(action: str, fields: dict[str, Any]) -> bytes:
    """``Action: X`` then the fields; a list value repeats its key (e.g. Variable)."""
    lines = [f"Action: {action}"]
    for key, value in fields.items():
        if value is None:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, bool):
                item = "true" if item else "false"
            text = str(item)
            if "\n" in text or "\r" in text:
                raise ValueError(f"AMI field {key!r} may not contain a line break")
            lines.append(f"{key}: {text}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class AmiResponse:
    """A reply, with the events of an event list (CoreShowChannels, QueueStatus...)."""

    message: Message
    events: list[Message] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return (self.message.get("Response") or "").lower() in ("success", "goodbye", "follows")

    @property
    def text(self) -> str:
        return self.message.get("Message") or ""

    @property
    def output(self) -> list[str]:
        """Lines of a Command action's output."""
        return self.message.getall("Output")

    def get(self, key: str, default: str | None = None) -> str | None:
        return self.message.get(key, default)


# --- the client ---------------------------------------------------------------------------------------


@dataclass
class _Pending:
    future: asyncio.Future
    events: list[Message] = field(default_factory=list)
    listing: bool = False
    response: Message | None = None


def _is_list_start(message: Message) -> bool:
    return ((message.get("EventList") or "").lower() == "start"
            and (message.get("Response") or "").lower() == "success")


EventCallback = Callable[[Message], Awaitable[None] | None]


class AmiClient:
    """One logged-in manager session, kept up across drops."""

    def __init__(self, host: str = "127.0.0.1", port: int = 5038, username: str = "", secret: str = "", *,
                 events: bool | str = True, timeout: float = 10.0, ping_interval: float | None = 20.0,
                 reconnect: bool = True, backoff: tuple[float, float] = (0.5, 30.0)):
        self.host, self.port, self.username, self.secret = host, port, username, secret
        self.events_mask = ("on" if events else "off") if isinstance(events, bool) else events
        self.timeout = timeout
        self.ping_interval = ping_interval
        self.reconnect = reconnect
        self.backoff = backoff
        self.banner: str | None = None
        self.logins = 0  # successful logins, reconnects included
        self._ids = itertools.count(1)
        self._pending: dict[str, _Pending] = {}
        self._callbacks: list[EventCallback] = []
        self._queues: list[asyncio.Queue] = []
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: set[asyncio.Task] = set()
        self._ready = asyncio.Event()
        self._closing = False
        self._write_lock = asyncio.Lock()

    # -- connection -------------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def connect(self) -> None:
        """Connect, read the banner and log in; raises on failure (no retry the first time)."""
        self._closing = False
        await self._open()
        self._spawn(self._keepalive())

    async def _open(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port), self.timeout)
            banner = await asyncio.wait_for(self._reader.readline(), self.timeout)
        except (TimeoutError, OSError) as exc:
            await self._drop_transport()
            raise AmiConnectionError(f"AMI {self.host}:{self.port}: {exc or type(exc).__name__}") from exc
        self.banner = banner.decode(errors="replace").strip()
        if not self.banner.startswith(BANNER_PREFIX):
            await self._drop_transport()
            raise AmiConnectionError(f"AMI {self.host}:{self.port}: not an Asterisk manager ({self.banner!r})")
        self._spawn(self._read_loop(self._reader))
        try:
            reply = await self._send("Login", {"Username": self.username, "Secret": self.secret,
                                               "Events": self.events_mask}, login=True)
        except AmiError:
            await self._drop_transport()
            raise
        if not reply.success:
            await self._drop_transport()
            raise AmiAuthError(reply.text or "Authentication failed")
        self.logins += 1
        self._ready.set()

    async def close(self) -> None:
        """Log off and stop reconnecting."""
        self._closing = True
        if self.connected:
            with contextlib.suppress(AmiError, OSError, asyncio.TimeoutError):
                await asyncio.wait_for(self._send("Logoff", {}), 2)
        self._ready.clear()
        await self._drop_transport()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for queue in self._queues:
            queue.put_nowait(None)

    async def __aenter__(self) -> AmiClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _drop_transport(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1)

    # -- reading -----------------------------------------------------------------------------------------

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        parser = Parser(expect_banner=False)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for message in parser.feed(data):
                    await self._dispatch(message)
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            if reader is self._reader:
                self._connection_lost()

    async def _dispatch(self, message: Message) -> None:
        action_id = message.action_id
        pending = self._pending.get(action_id) if action_id else None
        if pending is not None:
            if message.is_response:
                if _is_list_start(message):
                    pending.listing = True
                    pending.response = message
                    return
                if not pending.future.done():
                    pending.future.set_result(AmiResponse(message))
                self._pending.pop(action_id, None)
                return
            if pending.listing:
                if (message.get("EventList") or "").lower() == "complete":
                    if not pending.future.done():
                        pending.future.set_result(AmiResponse(pending.response or message, pending.events))
                    self._pending.pop(action_id, None)
                else:
                    pending.events.append(message)
                return
        if message.is_event:
            await self._publish(message)

    async def _publish(self, message: Message) -> None:
        for queue in self._queues:
            queue.put_nowait(message)
        for callback in list(self._callbacks):
            try:
                result = callback(message)
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("AMI event callback failed on %s", message.name)

    def _connection_lost(self) -> None:
        was_ready = self._ready.is_set()
        self._ready.clear()
        self._reader = None
        for action_id, pending in list(self._pending.items()):
            if not pending.future.done():
                pending.future.set_exception(AmiConnectionError("AMI connection lost"))
            self._pending.pop(action_id, None)
        if self._closing:
            return
        if was_ready and self.reconnect:
            log.warning("AMI connection to %s:%s lost; reconnecting", self.host, self.port)
            self._spawn(self._reconnect_loop())

    async def _reconnect_loop(self) -> None:
        delay, ceiling = self.backoff
        while not self._closing:
            await asyncio.sleep(delay)
            try:
                await self._drop_transport()
                await self._open()
                log.info("AMI reconnected to %s:%s", self.host, self.port)
                return
            except AmiError as exc:
                log.warning("AMI reconnect failed: %s", exc)
                delay = min(delay * 2, ceiling)

    async def _keepalive(self) -> None:
        if not self.ping_interval:
            return
        while not self._closing:
            await asyncio.sleep(self.ping_interval)
            if not self.connected:
                continue
            try:
                await self.ping()
            except AmiError:
                # No pong: treat the connection as dead so the reader reconnects.
                log.warning("AMI ping failed; dropping the connection")
                await self._drop_transport()

    # -- actions -------------------------------------------------------------------------------------------

    async def _send(self, action: str, fields: dict[str, Any], *, login: bool = False,
                    timeout: float | None = None) -> AmiResponse:
        writer = self._writer
        if writer is None:
            raise AmiConnectionError("AMI not connected")
        action_id = f"{action}-{next(self._ids)}"
        future = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(future)
        payload = encode_action(action, {"ActionID": action_id, **fields})
        try:
            async with self._write_lock:
                writer.write(payload)
                await writer.drain()
            return await asyncio.wait_for(future, timeout or self.timeout)
        except TimeoutError:
            raise AmiConnectionError(f"AMI action {action} timed out") from None
        except OSError as exc:
            raise AmiConnectionError(f"AMI write failed: {exc}") from exc
        finally:
            self._pending.pop(action_id, None)

    async def send_action(self, action: str, fields: dict[str, Any] | None = None, *, timeout: float | None = None,
                          check: bool = False, **kwargs: Any) -> AmiResponse:
        """Send one action and await its reply (and its event list, if any).

        Waits for a reconnect in progress up to the timeout. `check=True` raises
        AmiActionError on ``Response: Error``.
        """
        if not self._ready.is_set():
            if self._closing or not self._tasks:
                raise AmiConnectionError("AMI not connected")
            try:
                await asyncio.wait_for(self._ready.wait(), timeout or self.timeout)
            except TimeoutError:
                raise AmiConnectionError("AMI not connected") from None
        reply = await self._send(action, {**(fields or {}), **kwargs}, timeout=timeout)
        if check and not reply.success:
            raise AmiActionError(f"{action}: {reply.text or 'error'}", reply)
        return reply

    async def command(self, cli: str, *, timeout: float | None = None) -> list[str]:
        """Run a CLI command; its output lines. Raises AmiActionError if the command failed."""
        reply = await self.send_action("Command", {"Command": cli}, timeout=timeout)
        if not reply.success:
            raise AmiActionError(f"{cli}: {reply.text or 'error'}", reply)
        return reply.output

    async def ping(self) -> AmiResponse:
        return await self.send_action("Ping", check=True)

    async def core_show_channels(self) -> list[Message]:
        return (await self.send_action("CoreShowChannels", check=True)).events

    async def queue_status(self, queue: str | None = None, member: str | None = None) -> list[Message]:
        return (await self.send_action("QueueStatus", {"Queue": queue, "Member": member}, check=True)).events

    # -- events -----------------------------------------------------------------------------------------------

    def on_event(self, callback: EventCallback) -> Callable[[], None]:
        """Call `callback(message)` for every unsolicited event; returns an unsubscribe function."""
        self._callbacks.append(callback)
        return lambda: self._callbacks.remove(callback) if callback in self._callbacks else None

    async def events(self) -> AsyncIterator[Message]:
        """Unsolicited events as they arrive, across reconnects, until close()."""
        queue: asyncio.Queue = asyncio.Queue()
        self._queues.append(queue)
        try:
            while True:
                message = await queue.get()
                if message is None:
                    return
                yield message
        finally:
            self._queues.remove(queue)


# --- reloads and the sync bridge ---------------------------------------------------------------------------

# CLI command per generated file; each is sent once per apply, after the swap.
RELOAD_COMMANDS = {
    "pjsip.conf": "module reload res_pjsip.so",
    "queues.conf": "queue reload all",
    "extensions.conf": "dialplan reload",
    "musiconhold.conf": "module reload res_musiconhold.so",
}

_FAILURE_MARKERS = ("no such module", "does not support reload", "not fully initialized", "failed",
                    "error", "unable", "not found")


def reload_failed(command: str, output: Iterable[str]) -> str | None:
    """Why the CLI reload command failed, judged by its output; None if it worked."""
    lines = [line for line in output if line.strip()]
    if command.startswith("module reload"):
        if any("reloaded successfully" in line.lower() for line in lines):
            return None
        return "; ".join(lines) or "no confirmation"
    for line in lines:
        if any(marker in line.lower() for marker in _FAILURE_MARKERS):
            return line
    return None


async def run_reloads(client: AmiClient, commands: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Send each reload command once, in order; stop at the first failure (AmiActionError)."""
    done = []
    for command in commands:
        output = await client.command(command)
        why = reload_failed(command, output)
        if why:
            raise AmiActionError(f"{command}: {why}")
        done.append((command, output))
    return done


def run_sync(factory: Callable[[], Awaitable[Any]], *, timeout: float | None = None) -> Any:
    """Run a coroutine from synchronous code, whether or not this thread has a running loop.

    A fresh event loop each time: in a worker thread when the caller is itself inside a
    loop (an async view, call control), in this thread otherwise.
    """
    async def bounded():
        return await asyncio.wait_for(factory(), timeout) if timeout else await factory()

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(bounded())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, bounded()).result()


def reload_sync(commands: list[str], *, host: str, port: int, username: str, secret: str,
                timeout: float = 10.0) -> list[tuple[str, list[str]]]:
    """Log in, send the reload commands once each, log off (used by config_apply)."""
    async def go():
        client = AmiClient(host, port, username, secret, events=False, timeout=timeout, ping_interval=None,
                           reconnect=False)
        await client.connect()
        try:
            return await run_reloads(client, commands)
        finally:
            await client.close()

    return run_sync(go, timeout=timeout * (len(commands) + 2))
