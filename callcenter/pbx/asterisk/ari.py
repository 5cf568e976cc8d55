"""An async client of the Asterisk REST Interface (PBX-PROTOCOL.md sections 1-4).

Call control reaches channels, bridges, playbacks and recordings through `AriClient`
(aiohttp, a pool of keep-alive connections) and receives events from the WebSocket
``/ari/events?app=...&subscribeAll=true`` (websockets), reconnecting with backoff when the
socket drops. Replies and events are
parsed into small dataclasses (`Channel`, `Bridge`, `Playback`, `LiveRecording`, `Event`)
that keep the raw JSON beside the typed fields. Failures raise `AriError` subclasses
carrying the HTTP status and Asterisk's message.

The same client talks to a real Asterisk 20/22 and to the simulated one (pbx/sim).
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

log = logging.getLogger(__name__)


# --- errors ------------------------------------------------------------------------------------------


class AriError(Exception):
    """An ARI request failed: `status` is the HTTP status (0 when unreachable)."""

    def __init__(self, status: int, message: str, body: Any = None):
        super().__init__(f"ARI {status}: {message}")
        self.status = status
        self.message = message
        self.body = body


class AriConnectionError(AriError):
    pass


class AriBadRequest(AriError):
    pass


class AriAuthError(AriError):
    pass


class AriForbidden(AriError):
    pass


class AriNotFound(AriError):
    pass


class AriConflict(AriError):
    """409: e.g. channel not in Stasis, id already exists."""


class AriInvalidState(AriError):
    """412: e.g. answer or media on a channel that is not up."""


class AriUnprocessable(AriError):
    """422: e.g. channel not in Stasis when added to a bridge."""


class AriServerError(AriError):
    """500: e.g. allocation failed (unknown endpoint on originate)."""


ERRORS = {400: AriBadRequest, 401: AriAuthError, 403: AriForbidden, 404: AriNotFound, 409: AriConflict,
          412: AriInvalidState, 422: AriUnprocessable}


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def error_for(status: int, body: Any) -> AriError:
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or json.dumps(body, ensure_ascii=False)
    else:
        message = str(body or "").strip() or _reason(status)
    cls = ERRORS.get(status) or (AriServerError if status >= 500 else AriError)
    return cls(status, message, body)


# --- resources ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerId:
    name: str = ""
    number: str = ""

    @classmethod
    def from_json(cls, data: dict | None) -> CallerId:
        data = data or {}
        return cls(name=data.get("name", ""), number=data.get("number", ""))


@dataclass(frozen=True)
class DialplanCep:
    context: str = ""
    exten: str = ""
    priority: int = 0
    app_name: str = ""
    app_data: str = ""

    @classmethod
    def from_json(cls, data: dict | None) -> DialplanCep:
        data = data or {}
        return cls(context=data.get("context", ""), exten=data.get("exten", ""),
                   priority=int(data.get("priority") or 0), app_name=data.get("app_name", ""),
                   app_data=data.get("app_data", ""))


@dataclass(frozen=True)
class Channel:
    id: str
    name: str
    state: str
    caller: CallerId
    connected: CallerId
    dialplan: DialplanCep
    creationtime: str = ""
    language: str = ""
    accountcode: str = ""
    protocol_id: str = ""
    channelvars: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict) -> Channel:
        return cls(
            id=data["id"], name=data.get("name", ""), state=data.get("state", ""),
            caller=CallerId.from_json(data.get("caller")), connected=CallerId.from_json(data.get("connected")),
            dialplan=DialplanCep.from_json(data.get("dialplan")), creationtime=data.get("creationtime", ""),
            language=data.get("language", ""), accountcode=data.get("accountcode", ""),
            protocol_id=data.get("protocol_id", ""), channelvars=dict(data.get("channelvars") or {}), raw=data,
        )


@dataclass(frozen=True)
class Bridge:
    id: str
    technology: str = ""
    bridge_type: str = ""
    bridge_class: str = ""
    creator: str = ""
    name: str = ""
    channels: tuple[str, ...] = ()
    creationtime: str = ""
    video_mode: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict) -> Bridge:
        return cls(id=data["id"], technology=data.get("technology", ""), bridge_type=data.get("bridge_type", ""),
                   bridge_class=data.get("bridge_class", ""), creator=data.get("creator", ""),
                   name=data.get("name", ""), channels=tuple(data.get("channels") or ()),
                   creationtime=data.get("creationtime", ""), video_mode=data.get("video_mode", ""), raw=data)


@dataclass(frozen=True)
class Playback:
    id: str
    media_uri: str = ""
    target_uri: str = ""
    language: str = ""
    state: str = ""
    next_media_uri: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict) -> Playback:
        return cls(id=data["id"], media_uri=data.get("media_uri", ""), target_uri=data.get("target_uri", ""),
                   language=data.get("language", ""), state=data.get("state", ""),
                   next_media_uri=data.get("next_media_uri", ""), raw=data)


@dataclass(frozen=True)
class LiveRecording:
    name: str
    format: str = ""
    state: str = ""
    target_uri: str = ""
    duration: int | None = None
    cause: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict) -> LiveRecording:
        return cls(name=data["name"], format=data.get("format", ""), state=data.get("state", ""),
                   target_uri=data.get("target_uri", ""), duration=data.get("duration"),
                   cause=data.get("cause", ""), raw=data)


@dataclass(frozen=True)
class Event:
    """One event frame. Fields absent from an event type stay empty/None; `raw` has everything."""

    type: str
    timestamp: str = ""
    application: str = ""
    asterisk_id: str = ""
    channel: Channel | None = None
    bridge: Bridge | None = None
    playback: Playback | None = None
    recording: LiveRecording | None = None
    peer: Channel | None = None  # Dial: the channel being dialled
    caller: Channel | None = None  # Dial: the calling channel (absent on an ARI originate)
    args: tuple[str, ...] = ()
    replace_channel: Channel | None = None
    digit: str = ""
    duration_ms: int | None = None
    cause: int | None = None
    cause_txt: str = ""
    tech_cause: int | None = None
    soft: bool = False
    variable: str = ""
    value: str = ""
    dialstatus: str | None = None
    dialstring: str = ""
    forward: str = ""
    raw: dict = field(default_factory=dict, repr=False, compare=False)


def _opt(cls, value):
    return cls.from_json(value) if isinstance(value, dict) else None


def parse_event(data: dict | str | bytes) -> Event:
    """An event frame (JSON object) as an `Event`."""
    if not isinstance(data, dict):
        data = json.loads(data)
    if "type" not in data:
        raise ValueError("ARI event without a type")
    return Event(
        type=data["type"], timestamp=data.get("timestamp", ""), application=data.get("application", ""),
        asterisk_id=data.get("asterisk_id", ""), channel=_opt(Channel, data.get("channel")),
        bridge=_opt(Bridge, data.get("bridge")), playback=_opt(Playback, data.get("playback")),
        recording=_opt(LiveRecording, data.get("recording")), peer=_opt(Channel, data.get("peer")),
        caller=_opt(Channel, data.get("caller")), args=tuple(data.get("args") or ()),
        replace_channel=_opt(Channel, data.get("replace_channel")), digit=data.get("digit", ""),
        duration_ms=data.get("duration_ms"), cause=data.get("cause"), cause_txt=data.get("cause_txt", ""),
        tech_cause=data.get("tech_cause"), soft=bool(data.get("soft", False)),
        variable=data.get("variable", ""), value=data.get("value", ""), dialstatus=data.get("dialstatus"),
        dialstring=data.get("dialstring", ""), forward=data.get("forward", ""), raw=data,
    )


# --- the client ---------------------------------------------------------------------------------------------


def _csv(value: str | Iterable[str] | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return ",".join(str(v) for v in value)


def _params(**kwargs) -> dict:
    out = {}
    for key, value in kwargs.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


class AriClient:
    """ARI over HTTP (aiohttp) for commands and over a WebSocket for events."""

    def __init__(self, base_url: str = "http://127.0.0.1:8088", username: str = "", password: str = "",
                 app: str = "callcenter", *, timeout: float = 10.0, backoff: tuple[float, float] = (0.5, 30.0),
                 max_connections: int = 200):
        self.base_url = base_url.rstrip("/")
        self.username, self.password, self.app = username, password, app
        self.backoff = backoff
        self.connects = 0  # WebSocket connections opened, reconnects included
        self.skipped = 0  # event frames dropped unparsed (`events(skip=...)`)
        self._prefix = self.base_url + "/ari"
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Call control keeps hundreds of calls in flight, each with requests outstanding.
        # httpx's pool looked through every connection for every queued request (quadratic:
        # at 50 calls/s it took 99 % of the core, docs/benchmarks.md); aiohttp's connector
        # hands out idle keep-alive connections in constant time, and requests beyond
        # `max_connections` wait their turn.
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._closing = False

    def _http(self) -> aiohttp.ClientSession:
        """The session, made on first use (it belongs to the running event loop)."""
        session = self._session
        if session is None or session.closed:
            # Idle connections are dropped after 10 s, before Asterisk's http.conf
            # session_keep_alive (15 s by default) closes them under a request in flight.
            connector = aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0, keepalive_timeout=10)
            session = self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, headers=self._headers, auto_decompress=False,
                skip_auto_headers=("User-Agent", "Accept-Encoding"))
        return session

    async def close(self) -> None:
        self._closing = True
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> AriClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # -- plumbing -------------------------------------------------------------------------------------------

    async def request(self, method: str, path: str, *, params: dict | None = None, json_body: dict | None = None):
        """One call; the decoded JSON body (None for 204). Raises AriError on a non-2xx status."""
        try:
            async with self._http().request(method, self._prefix + path, params=params or None,
                                            json=json_body) as response:
                status = response.status
                content = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise AriConnectionError(0, f"{method} {path}: {exc or type(exc).__name__}") from exc
        body: Any = None
        if content:
            text = content.decode("utf-8", errors="replace")
            try:
                body = json.loads(text)
            except ValueError:
                body = text
        if status >= 400:
            raise error_for(status, body)
        return body

    # -- channels ---------------------------------------------------------------------------------------------

    async def originate(self, endpoint: str, *, app: str | None = None, app_args: str | Iterable[str] | None = None,
                        extension: str | None = None, context: str | None = None, priority: int | None = None,
                        label: str | None = None, caller_id: str | None = None, timeout: int | None = None,
                        channel_id: str | None = None, other_channel_id: str | None = None,
                        originator: str | None = None, formats: str | None = None,
                        variables: dict[str, str] | None = None) -> Channel:
        """POST /channels: dial `endpoint` into our app (default) or a dialplan location."""
        if extension is None and app is None:
            app = self.app
        body = _params(endpoint=endpoint, app=app, appArgs=_csv(app_args), extension=extension, context=context,
                       priority=priority, label=label, callerId=caller_id, timeout=timeout, channelId=channel_id,
                       otherChannelId=other_channel_id, originator=originator, formats=formats)
        if variables:
            body["variables"] = {k: str(v) for k, v in variables.items()}
        return Channel.from_json(await self.request("POST", "/channels", json_body=body))

    async def create(self, endpoint: str, *, app: str | None = None, app_args: str | Iterable[str] | None = None,
                     channel_id: str | None = None, other_channel_id: str | None = None,
                     originator: str | None = None, formats: str | None = None,
                     variables: dict[str, str] | None = None) -> Channel:
        """POST /channels/create: a Down channel in Stasis, dialled later with `dial`."""
        body = _params(endpoint=endpoint, app=app or self.app, appArgs=_csv(app_args), channelId=channel_id,
                       otherChannelId=other_channel_id, originator=originator, formats=formats)
        if variables:
            body["variables"] = {k: str(v) for k, v in variables.items()}
        return Channel.from_json(await self.request("POST", "/channels/create", json_body=body))

    async def dial(self, channel_id: str, *, caller: str | None = None, timeout: int | None = None) -> None:
        await self.request("POST", f"/channels/{channel_id}/dial", params=_params(caller=caller, timeout=timeout))

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/answer")

    async def ring(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/ring")

    async def hangup(self, channel_id: str, *, reason: str | None = None, reason_code: int | None = None) -> None:
        """DELETE /channels/{id}; `reason` (normal, busy, no_answer...) or a Q.850 `reason_code`."""
        await self.request("DELETE", f"/channels/{channel_id}",
                           params=_params(reason=reason, reason_code=reason_code))

    async def get_channel(self, channel_id: str) -> Channel:
        return Channel.from_json(await self.request("GET", f"/channels/{channel_id}"))

    async def list_channels(self) -> list[Channel]:
        return [Channel.from_json(c) for c in await self.request("GET", "/channels") or []]

    async def continue_in_dialplan(self, channel_id: str, *, context: str | None = None,
                                   extension: str | None = None, priority: int | None = None,
                                   label: str | None = None) -> None:
        await self.request("POST", f"/channels/{channel_id}/continue",
                           params=_params(context=context, extension=extension, priority=priority, label=label))

    async def hold(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/hold")

    async def unhold(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{channel_id}/hold")

    async def send_dtmf(self, channel_id: str, dtmf: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/dtmf", params={"dtmf": dtmf})

    async def get_variable(self, channel_id: str, variable: str) -> str:
        body = await self.request("GET", f"/channels/{channel_id}/variable", params={"variable": variable})
        return (body or {}).get("value", "")

    async def set_variable(self, channel_id: str, variable: str, value: str) -> None:
        await self.request("POST", f"/channels/{channel_id}/variable",
                           params={"variable": variable, "value": value})

    # -- media ----------------------------------------------------------------------------------------------------

    async def play(self, channel_id: str, media: str | Iterable[str], *, lang: str | None = None,
                   offsetms: int | None = None, skipms: int | None = None,
                   playback_id: str | None = None) -> Playback:
        params = _params(media=_csv(media), lang=lang, offsetms=offsetms, skipms=skipms, playbackId=playback_id)
        return Playback.from_json(await self.request("POST", f"/channels/{channel_id}/play", params=params))

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{playback_id}")

    async def record(self, channel_id: str, name: str, *, format: str = "wav",  # noqa: A002 - ARI's name
                     max_duration: int | None = None, max_silence: int | None = None, if_exists: str | None = None,
                     beep: bool | None = None, terminate_on: str | None = None, bridge: bool = False) -> LiveRecording:
        """POST /channels/{id}/record (or /bridges/{id}/record with bridge=True, the mixed call)."""
        params = _params(name=name, format=format, maxDurationSeconds=max_duration, maxSilenceSeconds=max_silence,
                         ifExists=if_exists, beep=beep, terminateOn=terminate_on)
        kind = "bridges" if bridge else "channels"
        return LiveRecording.from_json(await self.request("POST", f"/{kind}/{channel_id}/record", params=params))

    async def stop_recording(self, name: str) -> None:
        await self.request("POST", f"/recordings/live/{name}/stop")

    # -- bridges ----------------------------------------------------------------------------------------------------

    async def create_bridge(self, *, type: str = "mixing", bridge_id: str | None = None,  # noqa: A002
                            name: str | None = None) -> Bridge:
        body = await self.request("POST", "/bridges", params=_params(type=type, bridgeId=bridge_id, name=name))
        return Bridge.from_json(body)

    async def get_bridge(self, bridge_id: str) -> Bridge:
        return Bridge.from_json(await self.request("GET", f"/bridges/{bridge_id}"))

    async def list_bridges(self) -> list[Bridge]:
        return [Bridge.from_json(b) for b in await self.request("GET", "/bridges") or []]

    async def add_channel(self, bridge_id: str, channel: str | Iterable[str], *, role: str | None = None,
                          absorb_dtmf: bool | None = None, mute: bool | None = None) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/addChannel",
                           params=_params(channel=_csv(channel), role=role, absorbDTMF=absorb_dtmf, mute=mute))

    async def remove_channel(self, bridge_id: str, channel: str | Iterable[str]) -> None:
        await self.request("POST", f"/bridges/{bridge_id}/removeChannel", params={"channel": _csv(channel)})

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{bridge_id}")

    # -- other ------------------------------------------------------------------------------------------------------

    async def asterisk_info(self) -> dict:
        return await self.request("GET", "/asterisk/info")

    async def applications(self) -> list[dict]:
        return await self.request("GET", "/applications") or []

    # -- events -----------------------------------------------------------------------------------------------------

    def events_url(self, *, subscribe_all: bool = True) -> str:
        scheme, netloc, path, _, _ = urlsplit(self.base_url)
        ws_scheme = "wss" if scheme == "https" else "ws"
        query = urlencode({"app": self.app, "subscribeAll": "true" if subscribe_all else "false"})
        return urlunsplit((ws_scheme, netloc, path.rstrip("/") + "/ari/events", query, ""))

    async def events(self, *, subscribe_all: bool = True, reconnect: bool = True,
                     skip: frozenset[str] | set[str] = frozenset()) -> AsyncIterator[Event]:
        """Events of our app, forever: the socket is reopened with backoff when it drops.

        Events that happen while the socket is down are lost (ARI keeps no backlog); call
        control reconciles against `list_channels` after a reconnect. Event types in `skip`
        are dropped as soon as their frame is decoded, before any `Event` is built for them
        (with subscribeAll most frames are ChannelVarset, bridge and dialplan noise).
        """
        import websockets

        token = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        delay, ceiling = self.backoff
        while not self._closing:
            try:
                # No permessage-deflate: Asterisk's server does not offer it, and against a
                # server that does (the simulator) it costs both ends CPU on every frame.
                async with websockets.connect(self.events_url(subscribe_all=subscribe_all),
                                              additional_headers={"Authorization": f"Basic {token}"},
                                              open_timeout=10, ping_interval=20, max_size=2**22,
                                              compression=None) as socket:
                    self.connects += 1
                    delay = self.backoff[0]
                    async for frame in socket:
                        try:
                            data = json.loads(frame)
                            if not isinstance(data, dict):
                                raise ValueError("not an object")
                            if data.get("type") in skip:
                                self.skipped += 1
                                continue
                            event = parse_event(data)
                        except ValueError:
                            log.warning("ARI: unparseable event frame %.200r", frame)
                            continue
                        yield event
            except websockets.InvalidStatus as exc:
                status = exc.response.status_code
                if status in (401, 403) or not reconnect:
                    raise error_for(status, exc.response.body.decode(errors="replace")) from exc
                log.warning("ARI events: HTTP %s; retrying", status)
            except (OSError, TimeoutError, websockets.ConnectionClosed, websockets.InvalidHandshake) as exc:
                if not reconnect:
                    raise AriConnectionError(0, f"events: {exc}") from exc
                log.warning("ARI events socket lost (%s); reconnecting", exc)
            else:
                if not reconnect:
                    return
            if self._closing:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, ceiling)
