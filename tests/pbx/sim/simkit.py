"""Helpers for the simulated-Asterisk tests: an in-process simulator on free ports, a
raw ARI client (aiohttp) and a raw AMI client (asyncio streams), and the trace files.

Not the adapter's clients: these speak the wire protocol directly, so the tests check
exactly what goes over the wire.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from callcenter.pbx.sim import SimServer, load_config

TRACES = Path(os.environ.get("CALLCENTER_TRACES_DIR") or Path(__file__).resolve().parents[1] / "traces")
USER = PASSWORD = "callcenter"
APP = "callcenter"

# A world where every call is predictable unless a test says otherwise.
QUIET_CALLEES = {"default": {"answer_probability": 1.0, "busy_probability": 0.0, "unreachable_probability": 0.0,
                             "reject_probability": 0.0, "progress_delay": 0.5, "ring_time": 2.0,
                             "talk_time": 1000.0, "patience": 1000.0, "dtmf": ""}}


def async_test(fn: Callable) -> Callable:
    """Run an `async def` test in its own event loop (no pytest-asyncio needed)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 30))
    return wrapper


def world(**overrides: Any) -> dict:
    out: dict[str, Any] = {"callees": json.loads(json.dumps(QUIET_CALLEES))}
    callee = overrides.pop("callee", None)
    if callee:
        out["callees"]["default"].update(callee)
    out.update(overrides)
    return out


@contextlib.asynccontextmanager
async def running_sim(world_cfg: dict | None = None, **cfg: Any):
    cfg.setdefault("time_scale", 0.01)
    config = load_config(env={}, ari_port=0, ami_port=0, world=world_cfg if world_cfg is not None else world(), **cfg)
    server = await SimServer(config).start()
    try:
        yield server
    finally:
        await server.stop()


class Events:
    """The frames of one events WebSocket, kept in order."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws
        self.seen: list[dict] = []
        self._taken: set[int] = set()

    async def _recv(self, timeout: float) -> dict | None:
        try:
            msg = await self.ws.receive(timeout=timeout)
        except TimeoutError:
            return None
        if msg.type != aiohttp.WSMsgType.TEXT:
            return None
        event = json.loads(msg.data)
        self.seen.append(event)
        return event

    async def wait_for(self, typ: str, pred: Callable[[dict], bool] | None = None, timeout: float = 5.0) -> dict:
        """The first event of `typ` matching `pred` not returned before (reading more as needed)."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        checked = 0
        while True:
            for i in range(checked, len(self.seen)):
                event = self.seen[i]
                if i not in self._taken and event["type"] == typ and (pred is None or pred(event)):
                    self._taken.add(i)
                    return event
            checked = len(self.seen)
            left = end - loop.time()
            if left <= 0:
                raise AssertionError(f"no {typ} within {timeout}s; saw {[e['type'] for e in self.seen]}")
            await self._recv(left)

    async def drain(self, seconds: float = 0.2) -> list[dict]:
        loop = asyncio.get_running_loop()
        end = loop.time() + seconds
        while (left := end - loop.time()) > 0:
            await self._recv(left)
        return self.seen

    def of(self, chan_id: str) -> list[dict]:
        """Events about one channel (as channel, or as the peer of a Dial)."""
        return [e for e in self.seen if (e.get("channel") or e.get("peer") or {}).get("id") == chan_id]


class Ari:
    def __init__(self, server: SimServer):
        self.base = server.ari_url
        token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        self.session = aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"})
        self.sockets: list[aiohttp.ClientWebSocketResponse] = []

    async def request(self, method: str, path: str, params: dict | None = None, json_body: Any = None,
                      raw: bool = False) -> tuple[int, Any, Any]:
        async with self.session.request(method, self.base + "/ari" + path, params=params, json=json_body) as resp:
            body = await resp.read()
            if raw:
                return resp.status, body, resp.headers
            text = body.decode()
            return resp.status, (json.loads(text) if text else None), resp.headers

    async def get(self, path: str, **params: Any):
        return await self.request("GET", path, params or None)

    async def post(self, path: str, json_body: Any = None, **params: Any):
        return await self.request("POST", path, params or None, json_body)

    async def delete(self, path: str, **params: Any):
        return await self.request("DELETE", path, params or None)

    async def events(self, app: str = APP, subscribe_all: bool = False) -> Events:
        url = f"{self.base}/ari/events?app={app}" + ("&subscribeAll=true" if subscribe_all else "")
        ws = await self.session.ws_connect(url)
        self.sockets.append(ws)
        return Events(ws)

    async def originate(self, endpoint: str, **params: Any) -> dict:
        params.setdefault("app", APP)
        status, body, _ = await self.post("/channels", endpoint=endpoint, **params)
        assert status == 200, body
        return body

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        await self.session.close()

    async def __aenter__(self) -> Ari:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class Ami:
    """A raw AMI connection; keeps every message it reads."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, banner: bytes):
        self.reader, self.writer, self.banner = reader, writer, banner
        self.events: list[list[tuple[str, str]]] = []

    @classmethod
    async def connect(cls, port: int, *, login: bool = True, events: str = "off") -> Ami:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        banner = await reader.readline()
        ami = cls(reader, writer, banner)
        if login:
            reply = await ami.action("Login", Username=USER, Secret=PASSWORD, Events=events)
            assert dict(reply)["Response"] == "Success", reply
        return ami

    async def send(self, action: str, **fields: str) -> None:
        lines = [f"Action: {action}"] + [f"{k}: {v}" for k, v in fields.items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await self.writer.drain()

    async def read_raw(self, timeout: float = 5.0) -> bytes:
        """One message as bytes, up to and including its blank line."""
        data = b""
        while True:
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if not line:
                raise ConnectionError("AMI closed")
            data += line
            if line == b"\r\n":
                return data

    async def read(self, timeout: float = 5.0) -> list[tuple[str, str]]:
        return parse_message(await self.read_raw(timeout))

    async def action(self, action: str, **fields: str) -> list[tuple[str, str]]:
        """Send and return the Response (events read meanwhile go to `self.events`)."""
        await self.send(action, **fields)
        while True:
            msg = await self.read()
            if msg and msg[0][0] == "Response":
                return msg
            self.events.append(msg)

    async def list_action(self, action: str, **fields: str) -> tuple[list, list[list[tuple[str, str]]], bytes]:
        """(response, events, raw bytes) of an EventList action."""
        await self.send(action, **fields)
        raw = b""
        response = None
        events = []
        while True:
            chunk = await self.read_raw()
            msg = parse_message(chunk)
            if response is None and msg[0][0] != "Response":
                self.events.append(msg)
                continue
            raw += chunk
            if response is None:
                response = msg
                continue
            events.append(msg)
            if dict(msg).get("EventList") == "Complete":
                return response, events, raw

    async def wait_event(self, name: str, pred: Callable[[dict], bool] | None = None,
                         timeout: float = 5.0) -> list[tuple[str, str]]:
        for msg in self.events:
            d = dict(msg)
            if d.get("Event") == name and (pred is None or pred(d)):
                self.events.remove(msg)
                return msg
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            msg = await self.read(max(0.01, end - loop.time()))
            d = dict(msg)
            if d.get("Event") == name and (pred is None or pred(d)):
                return msg
            self.events.append(msg)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await self.writer.wait_closed()


def parse_message(raw: bytes | str) -> list[tuple[str, str]]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    out = []
    for line in text.split("\r\n"):
        if not line:
            continue
        key, _, value = line.partition(": ")
        if key.endswith(":") and not value:
            key = key[:-1]
        out.append((key, value))
    return out


def trace_messages(name: str) -> list[list[tuple[str, str]]]:
    """The AMI messages of a trace file (the banner line dropped)."""
    text = (TRACES / name).read_bytes().decode()  # keep the CRLFs
    if text.startswith("Asterisk Call Manager"):
        text = text.split("\r\n", 1)[1]
    return [parse_message(block) for block in text.split("\r\n\r\n") if block.strip()]


def trace_json(name: str) -> Any:
    return json.loads((TRACES / name).read_text())


def keys(msg: list[tuple[str, str]]) -> list[str]:
    return [k for k, _ in msg]


async def until(pred: Callable[[], bool], timeout: float = 5.0, step: float = 0.005) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not pred():
        if loop.time() > end:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(step)
