"""The ARI client against recorded traffic of a real Asterisk 22.10.1 (PBX-PROTOCOL.md sections 1-4).

An aiohttp server replays ari_http_log.json request by request (checking that the client
sends the same method, path and parameters) and streams ari_events_all.jsonl over the
events WebSocket.
"""

from __future__ import annotations

import asyncio
import base64
import json

import pytest
from aiohttp import WSMsgType, web

from callcenter.pbx.asterisk import ari
from tests.pbx.fakes import TRACES, ari_events, ari_trace

USER, PASSWORD = "ariuser", "arisecret"
EVENT_FILES = ["ari_events_all.json", "ari_events_scenario_A_local_test.json", "ari_events_scenario_B_hold_bridge.json"]


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


class FakeAri:
    """Serves a script of (method, path, params, status, body), in order, plus the events socket."""

    def __init__(self, script=None, events=None):
        self.script = list(script or [])
        self.events = events if events is not None else ari_events()
        self.requests: list[dict] = []
        self.ws_connections = 0
        self.ws_queries: list[dict] = []
        self.drop_events_after: int | None = None
        self.runner = None
        self.url = ""

    def authorized(self, request) -> bool:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return request.headers.get("Authorization") == expected or request.query.get("api_key") == f"{USER}:{PASSWORD}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not self.authorized(request):
            recorded = ari_trace("ari_error_401.json")
            return web.Response(status=401, text=recorded["body"], content_type="application/json",
                                headers={"WWW-Authenticate": recorded["headers"]["WWW-Authenticate"]})
        path = request.path.removeprefix("/ari")
        if path == "/events":
            return await self.events_socket(request)
        body = await request.json() if request.can_read_body and request.content_type == "application/json" else {}
        params = {**dict(request.query), **{k: v for k, v in body.items()}}
        self.requests.append({"method": request.method, "path": path, "params": params, "json": body})
        if not self.script:
            return web.json_response({"message": "unexpected request"}, status=500)
        method, want_path, want_params, status, reply = self.script.pop(0)
        assert (request.method, path) == (method, want_path)
        want = {k: v for k, v in (want_params or {}).items() if v is not None}
        got = {k: v for k, v in params.items() if k != "variables" or v}
        assert got == want, (method, path, got, want)
        if status == 204:
            return web.Response(status=204)
        return web.json_response(reply, status=status)

    async def events_socket(self, request: web.Request) -> web.StreamResponse:
        if not request.query.get("app"):
            return web.Response(status=400, text="")
        self.ws_connections += 1
        self.ws_queries.append(dict(request.query))
        socket = web.WebSocketResponse(protocols=("ari",))
        await socket.prepare(request)
        for i, event in enumerate(self.events):
            if self.drop_events_after is not None and self.ws_connections == 1 and i >= self.drop_events_after:
                break
            await socket.send_str(json.dumps(event))
        if self.ws_connections == 1:
            await socket.close()
        else:
            async for msg in socket:  # keep the second connection open until the client leaves
                if msg.type == WSMsgType.CLOSE:
                    break
        return socket

    async def start(self) -> FakeAri:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        await self.runner.cleanup()


def client_for(fake: FakeAri, **kwargs) -> ari.AriClient:
    return ari.AriClient(fake.url, kwargs.pop("username", USER), kwargs.pop("password", PASSWORD), "callcenter",
                         backoff=(0.05, 0.2), **kwargs)


# --- events --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", EVENT_FILES + ["ari_events_all.jsonl"])
def test_every_recorded_event_parses(name):
    path = TRACES / name
    if name.endswith(".jsonl"):
        frames = [line for line in path.read_text().splitlines() if line.strip()]
    else:
        # ari_events_all.json wraps each frame as {"recv_t": ..., "raw": {...}}
        frames = [json.dumps(e.get("raw", e)) for e in json.loads(path.read_text())]
    assert frames
    for frame in frames:
        event = ari.parse_event(frame)
        data = json.loads(frame)
        assert event.type == data["type"] and event.application == "callcenter"
        assert event.asterisk_id == "02:fc:00:00:00:01" and event.timestamp
        if "channel" in data:
            assert event.channel.id == data["channel"]["id"]
            assert event.channel.dialplan.context == data["channel"]["dialplan"]["context"]
        if event.type == "StasisStart":
            assert event.args and event.args[0] in ("originated", "from-test")
        if event.type == "ChannelDestroyed":
            assert isinstance(event.cause, int) and event.cause_txt
        if event.type == "Dial":
            assert event.peer is not None and event.dialstatus is not None
        if event.type in ("ChannelEnteredBridge", "ChannelLeftBridge"):
            assert event.bridge.bridge_class == "stasis"
        if event.type == "ChannelVarset":
            assert event.variable


def test_scenario_a_order():
    events = [ari.parse_event(e) for e in json.loads((TRACES / "ari_events_scenario_A_local_test.json").read_text())]
    starts = [e for e in events if e.type == "StasisStart"]
    assert {e.args for e in starts} == {("originated", "A"), ("from-test",)}
    destroyed = [e for e in events if e.type == "ChannelDestroyed"]
    assert len(destroyed) == 2
    hangup = next(e for e in events if e.type == "ChannelHangupRequest")
    assert hangup.soft


def test_resource_parsers():
    channel = ari.Channel.from_json(ari_trace("ari_GET_channel.json")["body"])
    assert channel.caller == ari.CallerId("Test B", "5552000")
    assert channel.dialplan.app_data == "callcenter,originated,B" and channel.state == "Up"
    bridge = ari.Bridge.from_json(ari_trace("ari_GET_bridge.json")["body"])
    assert bridge.channels == ("1795802611.2",) and bridge.name == "cc-bridge-1"


# --- requests: replay of the recorded session -------------------------------------------------------------------------


def _log():
    return json.loads((TRACES / "ari_http_log.json").read_text())


async def _call(client: ari.AriClient, method: str, path: str, params: dict | None):
    """The client method a logged request corresponds to."""
    params = params or {}
    parts = path.strip("/").split("/")
    if (method, path) == ("GET", "/asterisk/info"):
        return await client.asterisk_info()
    if (method, path) == ("GET", "/applications"):
        return await client.applications()
    if (method, path) == ("GET", "/bridges"):
        return await client.list_bridges()
    if (method, path) == ("GET", "/channels"):
        return await client.list_channels()
    if (method, path) == ("POST", "/channels"):
        return await client.originate(params["endpoint"], app=params.get("app"), app_args=params.get("appArgs"),
                                      caller_id=params.get("callerId"), variables=params.get("variables"))
    if (method, path) == ("POST", "/bridges"):
        return await client.create_bridge(type=params["type"], name=params.get("name"))
    if parts[0] == "channels" and len(parts) == 2:
        if method == "DELETE":
            return await client.hangup(parts[1], reason=params.get("reason"))
        return await client.get_channel(parts[1])
    if parts[0] == "channels" and parts[2] == "answer":
        return await client.answer(parts[1])
    if parts[0] == "channels" and parts[2] == "hold":
        return await (client.hold(parts[1]) if method == "POST" else client.unhold(parts[1]))
    if parts[0] == "channels" and parts[2] == "variable":
        if method == "POST":
            return await client.set_variable(parts[1], params["variable"], params["value"])
        return await client.get_variable(parts[1], params["variable"])
    if parts[0] == "bridges" and len(parts) == 2:
        if method == "DELETE":
            return await client.destroy_bridge(parts[1])
        return await client.get_bridge(parts[1])
    if parts[0] == "bridges" and parts[2] == "addChannel":
        return await client.add_channel(parts[1], params["channel"].split(","))
    if parts[0] == "bridges" and parts[2] == "removeChannel":
        return await client.remove_channel(parts[1], params["channel"])
    return await client.request(method, path, params=params or None)


def test_replay_of_the_recorded_http_session():
    log = _log()
    script = []
    for entry in log:
        method, path = entry["http"].split(" ", 1)
        script.append((method, path, entry["params"], entry["status"], entry["body"]))

    async def go():
        fake = await FakeAri(script).start()
        results = []
        async with client_for(fake) as client:
            for entry in log:
                method, path = entry["http"].split(" ", 1)
                try:
                    results.append(await _call(client, method, path, entry["params"]))
                except ari.AriError as exc:
                    results.append(exc)
        await fake.stop()
        return fake, results

    fake, results = run(go())
    assert not fake.script, "every recorded request was made"
    for entry, result in zip(log, results, strict=True):
        if entry["status"] >= 400:
            assert isinstance(result, ari.AriNotFound) and result.status == 404
            assert result.message == entry["body"]["message"]
        elif entry["status"] == 204:
            assert result is None
    originate = results[[e["http"] for e in log].index("POST /channels")]
    assert isinstance(originate, ari.Channel) and originate.id == "1795802605.0" and originate.state == "Down"
    assert results[[e["http"] for e in log].index("GET /channels/1795802611.2/variable")] == "1001"
    bridge = results[[e["http"] for e in log].index("POST /bridges")]
    assert isinstance(bridge, ari.Bridge) and bridge.id == "a4082480-1b4c-4d4a-ac47-c8d4e1c90de9"


def test_originate_sends_variables_in_a_json_body():
    reply = ari_trace("ari_POST_channels_originate_A.json")["body"]
    script = [("POST", "/channels", {
        "endpoint": "PJSIP/13800138000@acme-trunk-02088880001", "app": "callcenter", "appArgs": "campaign,42,7",
        "callerId": "Acme <02088881234>", "timeout": 30, "channelId": "att-7",
        "variables": {"CC_ATTEMPT": "7", "CC_TASK": "42"}}, 200, reply)]

    async def go():
        fake = await FakeAri(script).start()
        async with client_for(fake) as client:
            channel = await client.originate("PJSIP/13800138000@acme-trunk-02088880001", app_args=["campaign", 42, 7],
                                             caller_id="Acme <02088881234>", timeout=30, channel_id="att-7",
                                             variables={"CC_ATTEMPT": 7, "CC_TASK": "42"})
        await fake.stop()
        return fake, channel

    fake, channel = run(go())
    assert channel.name == "Local/s@test-00000000;1"
    assert fake.requests[0]["json"]["variables"] == {"CC_ATTEMPT": "7", "CC_TASK": "42"}


def test_play_record_dial_and_errors():
    playback = {"id": "pb-1", "media_uri": "sound:welcome", "target_uri": "channel:c1", "language": "en",
                "state": "queued"}
    recording = {"name": "rec-1", "format": "wav", "state": "queued", "target_uri": "bridge:b1"}
    script = [
        ("POST", "/channels/c1/play", {"media": "sound:welcome,digits:801", "playbackId": "pb-1"}, 201, playback),
        ("DELETE", "/playbacks/pb-1", None, 204, None),
        ("POST", "/bridges/b1/record", {"name": "rec-1", "format": "wav", "ifExists": "overwrite"}, 201, recording),
        ("POST", "/recordings/live/rec-1/stop", None, 204, None),
        ("POST", "/channels/create", {"endpoint": "PJSIP/acme-801", "app": "callcenter", "appArgs": "agent"}, 200,
         ari_trace("ari_POST_channels_originate_B.json")["body"]),
        ("POST", "/channels/c2/dial", {"timeout": "20"}, 204, None),
        ("DELETE", "/channels/c2", {"reason": "busy"}, 204, None),
        ("POST", "/channels/c1/continue", {"context": "acme-queues", "extension": "600"}, 204, None),
        ("POST", "/channels", {"endpoint": "PJSIP/nobody", "app": "callcenter"}, 500, {"error": "Allocation failed"}),
        ("POST", "/channels/c3/answer", None, 412, {"message": "Channel in invalid state"}),
        ("POST", "/bridges/b1/addChannel", {"channel": "c4"}, 422, {"message": "Channel not in Stasis application"}),
        ("POST", "/channels/c5/variable", {"variable": "X", "value": "1"}, 409,
         {"message": "Channel not in Stasis application"}),
    ]

    async def go():
        fake = await FakeAri(script).start()
        async with client_for(fake) as client:
            pb = await client.play("c1", ["sound:welcome", "digits:801"], playback_id="pb-1")
            assert pb.id == "pb-1" and pb.state == "queued"
            await client.stop_playback("pb-1")
            rec = await client.record("b1", "rec-1", if_exists="overwrite", bridge=True)
            assert rec.name == "rec-1"
            await client.stop_recording("rec-1")
            created = await client.create("PJSIP/acme-801", app_args="agent")
            assert created.id == "1795802611.2"
            assert await client.dial("c2", timeout=20) is None
            await client.hangup("c2", reason="busy")
            await client.continue_in_dialplan("c1", context="acme-queues", extension="600")
            with pytest.raises(ari.AriServerError) as err:
                await client.originate("PJSIP/nobody")
            assert err.value.status == 500 and err.value.message == "Allocation failed"
            with pytest.raises(ari.AriInvalidState):
                await client.answer("c3")
            with pytest.raises(ari.AriUnprocessable):
                await client.add_channel("b1", "c4")
            with pytest.raises(ari.AriConflict, match="not in Stasis"):
                await client.set_variable("c5", "X", "1")
        await fake.stop()
        return fake

    fake = run(go())
    assert not fake.script


def test_bad_credentials_and_unreachable():
    async def go():
        fake = await FakeAri([]).start()
        async with client_for(fake, password="wrong") as client:
            with pytest.raises(ari.AriAuthError) as err:
                await client.list_channels()
            assert err.value.status == 401 and err.value.message == "Authentication required"
            with pytest.raises(ari.AriAuthError):
                async for _event in client.events():
                    pass
        await fake.stop()
        async with ari.AriClient("http://127.0.0.1:1", USER, PASSWORD, timeout=2) as client:
            with pytest.raises(ari.AriConnectionError):
                await client.list_channels()

    run(go())


def test_event_stream_and_reconnect():
    """The first socket closes half-way through; the client reconnects and keeps yielding events."""
    recorded = ari_events()

    async def go():
        fake = FakeAri([], events=recorded)
        fake.drop_events_after = 10
        await fake.start()
        received = []
        async with client_for(fake) as client:
            async for event in client.events():
                received.append(event)
                if len(received) == 10 + len(recorded):
                    break
            connects = client.connects
        await fake.stop()
        return fake, received, connects

    fake, received, connects = run(go())
    assert connects == 2 and fake.ws_connections == 2
    assert fake.ws_queries[0] == {"app": "callcenter", "subscribeAll": "true"}
    assert [e.type for e in received[10:]] == [e["type"] for e in recorded]
    assert all(isinstance(e, ari.Event) for e in received)


def test_skipped_event_types_are_dropped_before_parsing():
    """Call control skips the types it never looks at (with subscribeAll, most of the traffic)."""
    recorded = ari_events()
    skip = {"ChannelVarset", "ChannelDialplan"}

    async def go():
        fake = FakeAri([], events=recorded)
        fake.drop_events_after = None
        await fake.start()
        wanted = [e for e in recorded if e["type"] not in skip]
        received = []
        async with client_for(fake) as client:
            async for event in client.events(skip=skip):
                received.append(event)
                if len(received) == len(wanted):
                    break
            skipped = client.skipped
        await fake.stop()
        return wanted, received, skipped

    wanted, received, skipped = run(go())
    assert [e.type for e in received] == [e["type"] for e in wanted]
    assert skipped == len(recorded) - len(wanted) > 0
