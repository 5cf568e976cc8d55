"""ARI over HTTP and WebSocket (aiohttp): the resources of PBX-PROTOCOL.md §1-§2.

Requests are authenticated (Basic, then `?api_key=user:pass`) before anything else, as
res/res_ari.c does; parameters come from the query string, a form body or the keys of a
JSON body (`variables` only from JSON). Errors are `{"message": ...}` with Asterisk's
wording; responses carry `Server: Asterisk/<version>` and `Cache-Control: no-cache, no-store`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from callcenter.pbx.sim import causes
from callcenter.pbx.sim.events import AriConnection
from callcenter.pbx.sim.model import Bridge, Channel, ari_time
from callcenter.pbx.sim.wav import synth_wav, wav_size
from callcenter.pbx.sim.world import RECORDING_FORMATS, AriError

if TYPE_CHECKING:
    from callcenter.pbx.sim.world import Pbx

log = logging.getLogger("callcenter.pbx.sim")

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
TRUE = {"true", "yes", "1", "on", "y", "t"}
VERSION_KEY = web.AppKey("asterisk_version", str)

Handler = Callable[..., Awaitable[web.StreamResponse]]


def jresp(status: int, body: Any, headers: dict | None = None) -> web.Response:
    hdrs = {"Content-Type": "application/json"}
    if headers:
        hdrs.update(headers)
    return web.Response(status=status, body=_dumps(body).encode(), headers=hdrs)


def no_content() -> web.Response:
    return web.Response(status=204)


def error(status: int, message: str, key: str = "message") -> web.Response:
    return jresp(status, {key: message})


def unauthorized() -> web.Response:
    return jresp(401, {"message": "Authentication required"},
                 {"WWW-Authenticate": 'Basic realm="Asterisk REST Interface"'})


def http_error_page(status: int, title: str, text: str, version: str) -> web.Response:
    """ast_http_error(): the plain HTML page Asterisk sends where no ARI JSON applies."""
    body = ("<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n"
            f"<title>{status} {title}</title>\r\n</head><body>\r\n<h1>{title}</h1>\r\n<p>{text}</p>\r\n"
            f"<hr />\r\n<address>Asterisk/{version}</address>\r\n</body></html>\r\n")
    return web.Response(status=status, body=body.encode(), headers={"Content-Type": "text/html"})


def as_bool(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return str(value).strip().lower() in TRUE


def as_int(value: Any, default: int = 0) -> int:
    """atoi()-like, as the generated ARI argument parsers are."""
    if value is None or value == "":
        return default
    match = re.match(r"\s*([-+]?\d+)", str(value))
    return int(match.group(1)) if match else 0


def as_list(value: Any) -> list[str]:
    if not value:
        return []
    return [v.strip() for v in str(value).split(",") if v.strip()]


def check_credentials(request: web.Request, params: dict, users: dict[str, str]) -> bool:
    header = request.headers.get("Authorization", "")
    userid = password = None
    if header[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(header[6:].strip()).decode("utf-8", "replace")
        except (binascii.Error, ValueError):
            return False
        userid, sep, password = decoded.partition(":")
        if not sep:
            return False
    else:
        key = request.query.get("api_key") or params.get("api_key") or ""
        userid, sep, password = key.partition(":")
        if not userid or not password:
            return False
    expected = users.get(userid)
    return expected is not None and expected == password


def parse_variables(obj: Any) -> tuple[dict[str, str], set[str]]:
    """resource_channels.c json_to_ast_variables()."""
    if obj is None:
        return {}, set()
    if not isinstance(obj, dict):
        raise AriError(400, "The 'variables' field must be a JSON object")
    values: dict[str, str] = {}
    report: set[str] = set()
    for key, value in obj.items():
        if not key:
            continue
        if isinstance(value, str):
            values[key] = value
        elif isinstance(value, dict):
            inner = value.get("value")
            if not isinstance(inner, str):
                raise AriError(400, "Each object value in 'variables' must include string field 'value'")
            flag = value.get("report_events")
            if flag is not None and not isinstance(flag, bool):
                raise AriError(400, "Field 'report_events' in 'variables' entries must be boolean")
            values[key] = inner
            if flag:
                report.add(key)
        else:
            raise AriError(400, "Each value in 'variables' must be a string or an object with 'value' and "
                                "optional 'report_events'")
    return values, report


class Route:
    def __init__(self, method: str, pattern: str, handler: Handler):
        self.method = method
        self.regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self.handler = handler


class AriApp:
    """The /ari/ resources of one simulated Asterisk."""

    def __init__(self, pbx: Pbx):
        self.pbx = pbx
        cfg = pbx.config
        self.users = {cfg.ari_user: cfg.ari_password}
        self.routes: list[Route] = []
        r = self._route
        r("GET", "/asterisk/info", self.asterisk_info)
        r("GET", "/asterisk/ping", self.asterisk_ping)
        r("GET", "/applications", self.applications)
        r("GET", "/applications/{name}", self.application)
        r("GET", "/channels", self.channels_list)
        r("POST", "/channels", self.originate)
        r("POST", "/channels/create", self.create)
        r("GET", "/channels/{cid}", self.channel_get)
        r("POST", "/channels/{cid}", self.originate)
        r("DELETE", "/channels/{cid}", self.channel_hangup)
        r("POST", "/channels/{cid}/dial", self.channel_dial)
        r("POST", "/channels/{cid}/answer", self.channel_answer)
        r("POST", "/channels/{cid}/continue", self.channel_continue)
        r("POST", "/channels/{cid}/play", self.channel_play)
        r("POST", "/channels/{cid}/play/{pid}", self.channel_play)
        r("POST", "/channels/{cid}/record", self.channel_record)
        r("GET", "/channels/{cid}/variable", self.channel_var_get)
        r("POST", "/channels/{cid}/variable", self.channel_var_set)
        r("POST", "/channels/{cid}/hold", self.channel_hold)
        r("DELETE", "/channels/{cid}/hold", self.channel_hold)
        r("POST", "/channels/{cid}/ring", self.channel_noop)
        r("DELETE", "/channels/{cid}/ring", self.channel_noop)
        r("POST", "/channels/{cid}/moh", self.channel_noop)
        r("DELETE", "/channels/{cid}/moh", self.channel_noop)
        r("POST", "/channels/{cid}/silence", self.channel_noop)
        r("DELETE", "/channels/{cid}/silence", self.channel_noop)
        r("POST", "/channels/{cid}/mute", self.channel_noop)
        r("DELETE", "/channels/{cid}/mute", self.channel_noop)
        r("POST", "/channels/{cid}/dtmf", self.channel_noop)
        r("GET", "/bridges", self.bridges_list)
        r("POST", "/bridges", self.bridge_create)
        r("GET", "/bridges/{bid}", self.bridge_get)
        r("POST", "/bridges/{bid}", self.bridge_create)
        r("DELETE", "/bridges/{bid}", self.bridge_delete)
        r("POST", "/bridges/{bid}/addChannel", self.bridge_add)
        r("POST", "/bridges/{bid}/removeChannel", self.bridge_remove)
        r("POST", "/bridges/{bid}/play", self.bridge_play)
        r("POST", "/bridges/{bid}/play/{pid}", self.bridge_play)
        r("POST", "/bridges/{bid}/record", self.bridge_record)
        r("GET", "/playbacks/{pid}", self.playback_get)
        r("DELETE", "/playbacks/{pid}", self.playback_stop)
        r("GET", "/recordings/live/{name}", self.live_get)
        r("DELETE", "/recordings/live/{name}", self.live_cancel)
        r("POST", "/recordings/live/{name}/stop", self.live_stop)
        r("GET", "/recordings/stored", self.stored_list)
        r("GET", "/recordings/stored/{name}", self.stored_get)
        r("DELETE", "/recordings/stored/{name}", self.stored_delete)
        r("GET", "/recordings/stored/{name}/file", self.stored_file)
        r("GET", "/endpoints", self.endpoints)
        r("GET", "/endpoints/{tech}", self.endpoints)
        r("GET", "/endpoints/{tech}/{resource}", self.endpoint_get)
        r("GET", "/deviceStates", self.device_states)
        r("GET", "/sounds", self.sounds)

    def _route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append(Route(method, pattern, handler))

    # --- plumbing ----------------------------------------------------------------------
    async def read_params(self, request: web.Request) -> tuple[dict[str, str], Any]:
        params: dict[str, str] = {}
        for key, value in request.query.items():
            params[key] = f"{params[key]},{value}" if key in params else value
        body_json: Any = None
        if request.body_exists:
            raw = await request.read()
            ctype = request.content_type
            if ctype == "application/x-www-form-urlencoded":
                from urllib.parse import parse_qsl

                for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
                    params[key] = f"{params[key]},{value}" if key in params else value
            elif raw.strip():
                try:
                    body_json = json.loads(raw)
                except ValueError:
                    raise AriError(400, "Error parsing request body")
                if isinstance(body_json, dict):
                    for key, value in body_json.items():
                        if key == "variables" or isinstance(value, (dict, list)) or value is None:
                            continue
                        if isinstance(value, bool):
                            value = "true" if value else "false"
                        params.setdefault(key, str(value))
        return params, body_json

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info.get("tail", "")
        try:
            params, body = await self.read_params(request)
        except AriError as exc:
            return error(exc.status, exc.message, exc.key)
        if not check_credentials(request, params, self.users):
            return unauthorized()
        if path.endswith("/") or path == "":
            slashless = path.rstrip("/")
            return error(404, f"ARI URLs do not end with a slash. Try /ari/{slashless}")
        path = "/" + path
        if path == "/events":
            if request.method != "GET":
                return error(405, "Invalid method")
            return await self.events_ws(request, params)
        matched = False
        for route in self.routes:
            m = route.regex.match(path)
            if not m:
                continue
            matched = True
            if route.method != request.method:
                continue
            try:
                return await route.handler(request, params, body, **m.groupdict())
            except AriError as exc:
                return error(exc.status, exc.message, exc.key)
        if matched:
            return error(405, "Invalid method")
        return error(404, "Resource not found")

    def _chan(self, cid: str) -> Channel:
        chan = self.pbx.get(cid)
        if chan is None or chan.dead:
            raise AriError(404, "Channel not found")
        return chan

    def _control(self, cid: str) -> Channel:
        return self.pbx.require_stasis(self.pbx.get(cid))

    # --- asterisk, applications -------------------------------------------------------
    async def asterisk_info(self, request, params, body) -> web.Response:
        cfg = self.pbx.config
        return jresp(200, {
            "build": {"os": "Linux", "kernel": "simulated", "machine": "x86_64", "options": "OPTIONAL_API",
                      "date": ari_time(self.pbx.startup)[:19].replace("T", " ") + " UTC", "user": "callcenter"},
            "system": {"version": cfg.version, "entity_id": cfg.entity_id},
            "config": {"name": cfg.system_name, "default_language": "en",
                       "setid": {"user": "asterisk", "group": "asterisk"}},
            "status": {"startup_time": ari_time(self.pbx.startup), "last_reload_time": ari_time(self.pbx.last_reload)},
        })

    async def asterisk_ping(self, request, params, body) -> web.Response:
        return jresp(200, {"asterisk_id": self.pbx.config.entity_id, "ping": "pong",
                           "timestamp": ari_time(self.pbx.clock())})

    def _app_json(self, name: str) -> dict:
        pbx = self.pbx
        return {"name": name,
                "channel_ids": [c.id for c in pbx.channels.values() if name in c.apps],
                "bridge_ids": [b.id for b in pbx.bridges.values() if name in pbx.bridge_apps(b)],
                "endpoint_ids": [], "device_names": [], "events_allowed": [], "events_disallowed": []}

    async def applications(self, request, params, body) -> web.Response:
        return jresp(200, [self._app_json(name) for name in self.pbx.hub.active_apps()])

    async def application(self, request, params, body, name) -> web.Response:
        if not self.pbx.hub.is_active(name):
            raise AriError(404, "Application not found")
        return jresp(200, self._app_json(name))

    # --- channels ----------------------------------------------------------------------
    async def channels_list(self, request, params, body) -> web.Response:
        cv = self.pbx.channelvars
        return jresp(200, [c.ari(cv) for c in self.pbx.channels.values()])

    async def channel_get(self, request, params, body, cid) -> web.Response:
        return jresp(200, self._chan(cid).ari(self.pbx.channelvars))

    async def originate(self, request, params, body, cid=None) -> web.Response:
        if cid is not None:
            params["channelId"] = cid
        variables, report = parse_variables(body.get("variables") if isinstance(body, dict) else None)
        return jresp(200, self.pbx.originate(params, variables, report))

    async def create(self, request, params, body) -> web.Response:
        variables, report = parse_variables(body.get("variables") if isinstance(body, dict) else None)
        return jresp(200, self.pbx.create(params, variables, report))

    async def channel_hangup(self, request, params, body, cid) -> web.Response:
        chan = self._chan(cid)
        reason, reason_code = params.get("reason") or "", params.get("reason_code") or ""
        if reason and reason_code:
            raise AriError(400, "The reason and reason_code can't both be specified")
        if reason_code:
            if not re.match(r"^\s*[-+]?\d+", reason_code):
                raise AriError(400, "Invalid reason for hangup reason code provided")
            cause = as_int(reason_code)
        elif reason:
            if reason not in causes.HANGUP_REASONS:
                raise AriError(400, "Invalid reason for hangup reason provided")
            cause = causes.HANGUP_REASONS[reason]
        else:
            cause = causes.NORMAL
        self.pbx.soon(self.pbx.hangup, chan, cause)
        return no_content()

    async def channel_dial(self, request, params, body, cid) -> web.Response:
        chan = self.pbx.get(cid)
        self.pbx.require_stasis(chan)
        self.pbx.dial(chan, params.get("caller") or None, as_int(params.get("timeout"), 0))
        return no_content()

    async def channel_answer(self, request, params, body, cid) -> web.Response:
        self.pbx.answer(self._control(cid))
        return no_content()

    async def channel_continue(self, request, params, body, cid) -> web.Response:
        chan = self._control(cid)
        self.pbx.continue_in_dialplan(chan, params.get("context") or "", params.get("extension") or "",
                                      as_int(params.get("priority"), 0), params.get("label") or "")
        return no_content()

    def _play(self, target: Channel | Bridge, params: dict, pid: str | None, language: str) -> web.Response:
        if as_int(params.get("skipms"), 3000) < 0:
            raise AriError(400, "skipms cannot be negative")
        if as_int(params.get("offsetms"), 0) < 0:
            raise AriError(400, "offsetms cannot be negative")
        media = as_list(params.get("media"))
        if not media:
            raise AriError(400, "media: Missing required parameter")
        pid = pid or params.get("playbackId") or None
        if pid and pid in self.pbx.playbacks:
            raise AriError(500, "Failed to queue media for playback")
        pb = self.pbx.play(target, media, params.get("lang") or language, pid)
        return jresp(201, pb.ari(), {"Location": f"/ari/playbacks/{pb.id}"})

    async def channel_play(self, request, params, body, cid, pid=None) -> web.Response:
        chan = self._control(cid)
        self.pbx.require_media_state(chan)
        return self._play(chan, params, pid, chan.language)

    @staticmethod
    def _check_record_limits(params: dict) -> None:
        if as_int(params.get("maxDurationSeconds"), 0) < 0:
            raise AriError(400, "max_duration_seconds cannot be negative")
        if as_int(params.get("maxSilenceSeconds"), 0) < 0:
            raise AriError(400, "max_silence_seconds cannot be negative")

    def _record(self, target: Channel | Bridge, params: dict) -> web.Response:
        name = params.get("name") or ""
        fmt = params.get("format") or ""
        if not name:
            raise AriError(400, "Recording name invalid")
        terminate_on = params.get("terminateOn") or "none"
        if terminate_on not in ("none", "any", "*", "#"):
            raise AriError(400, "terminateOn invalid")
        if_exists = params.get("ifExists") or "fail"
        if if_exists not in ("fail", "overwrite", "append"):
            raise AriError(400, "ifExists invalid")
        if not fmt:
            raise AriError(400, "format cannot be empty")
        if fmt not in RECORDING_FORMATS:
            raise AriError(422, "specified format is unknown on this system")
        rec = self.pbx.record(target, name=name, fmt=fmt, max_duration=float(as_int(params.get("maxDurationSeconds"))),
                              if_exists=if_exists, terminate_on=terminate_on, beep=as_bool(params.get("beep")))
        from urllib.parse import quote

        return jresp(201, rec.ari(), {"Location": f"/ari/recordings/live/{quote(name, safe='')}"})

    async def channel_record(self, request, params, body, cid) -> web.Response:
        self._check_record_limits(params)
        chan = self._control(cid)
        return self._record(chan, params)

    async def channel_var_get(self, request, params, body, cid) -> web.Response:
        name = params.get("variable") or ""
        if not name:
            raise AriError(400, "Variable name is required")
        chan = self.pbx.get(cid)
        if chan is None or chan.dead:
            raise AriError(404, "Provided channel was not found")
        try:
            value = self.pbx.lookup(chan, name)
        except KeyError:
            if name.endswith(")"):
                raise AriError(500, "Unable to read provided function")
            raise AriError(404, "Provided variable was not found")
        return jresp(200, {"value": value})

    async def channel_var_set(self, request, params, body, cid) -> web.Response:
        name = params.get("variable") or ""
        if not name:
            raise AriError(400, "Variable name is required")
        chan = self._control(cid)
        value = params.get("value") or ""
        if as_bool(params.get("report_events")):
            chan.report_vars.add(name)
        self.pbx.soon(self.pbx.set_var, chan, name, value)
        return no_content()

    async def channel_hold(self, request, params, body, cid) -> web.Response:
        chan = self._control(cid)
        if chan.tech == "PJSIP":
            typ = "ChannelHold" if request.method == "POST" else "ChannelUnhold"
            self.pbx.soon(self.pbx.ari_chan, chan, typ)
        return no_content()

    async def channel_noop(self, request, params, body, cid) -> web.Response:
        self._control(cid)
        return no_content()

    # --- bridges -----------------------------------------------------------------------
    def _bridge(self, bid: str) -> Bridge:
        bridge = self.pbx.bridges.get(bid)
        if bridge is None:
            raise AriError(404, "Bridge not found")
        if bridge.bridge_class != "stasis":
            raise AriError(409, "Bridge not in Stasis application")
        return bridge

    async def bridges_list(self, request, params, body) -> web.Response:
        return jresp(200, [b.ari() for b in self.pbx.bridges.values()])

    async def bridge_get(self, request, params, body, bid) -> web.Response:
        bridge = self.pbx.bridges.get(bid)
        if bridge is None:
            raise AriError(404, "Bridge not found")
        return jresp(200, bridge.ari())

    async def bridge_create(self, request, params, body, bid=None) -> web.Response:
        if bid is not None and bid in self.pbx.bridges:  # POST /bridges/{id} on an existing bridge
            return jresp(200, self._bridge(bid).ari())
        bid = bid or params.get("bridgeId") or None
        bridge = self.pbx.bridge_create(params.get("type") or "mixing", params.get("name") or "", bid)
        return jresp(200, bridge.ari())

    async def bridge_delete(self, request, params, body, bid) -> web.Response:
        bridge = self._bridge(bid)
        self.pbx.soon(self.pbx.bridge_destroy, bridge)
        return no_content()

    def _channel_list(self, params: dict) -> list[Channel]:
        ids = as_list(params.get("channel"))
        if not ids:
            raise AriError(400, "Missing parameter channel")
        out = []
        for ident in ids:
            chan = self.pbx.get(ident)
            if chan is None or chan.dead:
                raise AriError(400, "Channel not found")
            if chan.stasis is None:
                raise AriError(422, "Channel not in Stasis application")
            out.append(chan)
        return out

    async def bridge_add(self, request, params, body, bid) -> web.Response:
        bridge = self._bridge(bid)
        chans = self._channel_list(params)
        for chan in chans:
            if chan.recording is not None:
                raise AriError(409, f"Channel {chan.id} currently recording")

        def add() -> None:
            for chan in chans:
                if not chan.dead and not bridge.dead and chan.stasis is not None:
                    self.pbx.bridge_add(bridge, chan)
        self.pbx.soon(add)
        return no_content()

    async def bridge_remove(self, request, params, body, bid) -> web.Response:
        bridge = self._bridge(bid)
        chans = self._channel_list(params)
        for chan in chans:
            if chan.bridge is not bridge:
                raise AriError(422, "Channel not in this bridge")

        def remove() -> None:
            for chan in chans:
                if chan.bridge is bridge:
                    self.pbx.bridge_leave(chan)
        self.pbx.soon(remove)
        return no_content()

    async def bridge_play(self, request, params, body, bid, pid=None) -> web.Response:
        bridge = self._bridge(bid)
        return self._play(bridge, params, pid, "en")

    async def bridge_record(self, request, params, body, bid) -> web.Response:
        self._check_record_limits(params)
        bridge = self._bridge(bid)
        return self._record(bridge, params)

    # --- playbacks, recordings ---------------------------------------------------------
    async def playback_get(self, request, params, body, pid) -> web.Response:
        pb = self.pbx.playbacks.get(pid)
        if pb is None:
            raise AriError(404, "Playback not found")
        return jresp(200, pb.ari())

    async def playback_stop(self, request, params, body, pid) -> web.Response:
        pb = self.pbx.playbacks.get(pid)
        if pb is None:
            raise AriError(404, "Playback not found")
        self.pbx.soon(self.pbx.stop_playback, pb)
        return no_content()

    async def live_get(self, request, params, body, name) -> web.Response:
        rec = self.pbx.live_recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        return jresp(200, rec.ari())

    async def live_stop(self, request, params, body, name) -> web.Response:
        rec = self.pbx.live_recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        self.pbx.recording_stop(rec)
        return no_content()

    async def live_cancel(self, request, params, body, name) -> web.Response:
        rec = self.pbx.live_recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        self.pbx.recording_stop(rec, cancel=True)
        return no_content()

    async def stored_list(self, request, params, body) -> web.Response:
        return jresp(200, [r.ari() for r in self.pbx.stored_recordings.values()])

    async def stored_get(self, request, params, body, name) -> web.Response:
        rec = self.pbx.stored_recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        return jresp(200, rec.ari())

    async def stored_delete(self, request, params, body, name) -> web.Response:
        if self.pbx.stored_recordings.pop(name, None) is None:
            raise AriError(404, "Recording not found")
        return no_content()

    async def stored_file(self, request, params, body, name) -> web.StreamResponse:
        rec = self.pbx.stored_recordings.get(name)
        if rec is None:
            raise AriError(404, "Recording not found")
        resp = web.StreamResponse(status=200, headers={"Content-Type": f"audio/{rec.format}"})
        resp.content_length = wav_size(rec.duration)
        await resp.prepare(request)
        for chunk in synth_wav(rec.seed, rec.duration):
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    # --- endpoints, device states, sounds ----------------------------------------------
    def _endpoints(self) -> list[dict]:
        pbx = self.pbx
        out = []
        for name in sorted(set(pbx.phones) | set(pbx.trunks)):
            phone = pbx.phones.get(name)
            if phone is not None:
                chans = phone.channels
                state = "online" if phone.registered else "offline"
            else:
                chans = list(pbx.trunks[name].channels)
                state = "online"
            out.append({"technology": "PJSIP", "resource": name, "state": state,
                        "channel_ids": [c.id for c in chans if not c.dead]})
        return out

    async def endpoints(self, request, params, body, tech=None) -> web.Response:
        items = self._endpoints()
        if tech is not None and tech.upper() != "PJSIP":
            raise AriError(404, "No Endpoints found - invalid tech " + tech)
        return jresp(200, items)

    async def endpoint_get(self, request, params, body, tech, resource) -> web.Response:
        for item in self._endpoints():
            if tech.upper() == "PJSIP" and item["resource"] == resource:
                return jresp(200, item)
        raise AriError(404, "Endpoint not found")

    async def device_states(self, request, params, body) -> web.Response:
        return jresp(200, [])

    async def sounds(self, request, params, body) -> web.Response:
        names = sorted((self.pbx.world.get("sounds") or {}).keys())
        if not names:
            raise AriError(404, "No sounds found that matched the query")
        return jresp(200, [{"id": n, "text": "", "formats": [{"language": "en", "format": "wav"}]} for n in names])

    # --- events ------------------------------------------------------------------------
    async def events_ws(self, request: web.Request, params: dict) -> web.StreamResponse:
        apps = as_list(params.get("app"))
        if not apps:
            return http_error_page(400, "Bad Request", "HTTP request is missing param: [app]",
                                   self.pbx.config.version)
        ws = web.WebSocketResponse(protocols=("ari",), autoping=True, max_msg_size=0)
        await ws.prepare(request)
        conn = AriConnection(apps, as_bool(params.get("subscribeAll")), remote=str(request.remote))
        hub = self.pbx.hub
        hub.register(conn)
        log.info("ARI websocket %s connected for %s", conn.remote, ",".join(apps))

        async def writer() -> None:
            while True:
                text = await conn.queue.get()
                if text is None:
                    break
                await ws.send_str(text)

        task = asyncio.ensure_future(writer())
        try:
            async for _msg in ws:
                pass  # requests over the socket are not part of the subset
        finally:
            hub.unregister(conn)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            log.info("ARI websocket %s closed", conn.remote)
        return ws


async def asterisk_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: the headers every Asterisk HTTP response carries."""
    if request.path.startswith("/ari"):
        response.headers["Server"] = f"Asterisk/{request.app[VERSION_KEY]}"
        if not isinstance(response, web.WebSocketResponse):
            response.headers["Cache-Control"] = "no-cache, no-store"
