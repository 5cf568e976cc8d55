"""ARI over HTTP: authentication, errors and the shapes of the traces."""

from __future__ import annotations

import aiohttp

from tests.pbx.sim.simkit import Ari, async_test, running_sim, trace_json


@async_test
async def test_401_has_asterisk_body_and_challenge():
    expected = trace_json("ari_error_401.json")
    async with running_sim() as sim, aiohttp.ClientSession() as anon:
        for url in ("/ari/channels", "/ari/asterisk/info", "/ari/does/not/exist"):
            async with anon.get(sim.ari_url + url) as resp:
                assert resp.status == 401
                assert await resp.text() == expected["body"]
                assert resp.headers["WWW-Authenticate"] == expected["headers"]["WWW-Authenticate"]
                assert resp.headers["Content-Type"] == "application/json"
                assert resp.headers["Server"] == expected["headers"]["Server"]
                assert resp.headers["Cache-Control"] == expected["headers"]["Cache-Control"]
        bad = aiohttp.encode_basic_auth("callcenter", "wrong")
        async with anon.get(sim.ari_url + "/ari/channels", headers={"Authorization": bad}) as resp:
            assert resp.status == 401
        # A wrong Basic header is not rescued by a right api_key (Basic is checked first).
        async with anon.get(sim.ari_url + "/ari/channels?api_key=callcenter:callcenter",
                            headers={"Authorization": bad}) as resp:
            assert resp.status == 401
        async with anon.get(sim.ari_url + "/ari/channels?api_key=callcenter:callcenter") as resp:
            assert resp.status == 200
            assert await resp.json() == []


async def _ws_status(url: str) -> int:
    async with aiohttp.ClientSession() as s:
        try:
            async with s.ws_connect(url):
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


@async_test
async def test_events_socket_needs_credentials_and_app():
    async with running_sim() as sim:
        assert await _ws_status(sim.ari_url + "/ari/events?app=callcenter") == 401
        assert await _ws_status(sim.ari_url + "/ari/events?api_key=callcenter:callcenter") == 400
        assert await _ws_status(sim.ari_url + "/ari/events?app=callcenter&api_key=callcenter:callcenter") == 101


@async_test
async def test_errors_are_json_messages():
    async with running_sim() as sim, Ari(sim) as ari:
        status, body, headers = await ari.get("/channels/does-not-exist")
        assert (status, body) == (404, trace_json("ari_error_404_channel.json")["body"])
        assert headers["Content-Type"] == "application/json"
        status, body, _ = await ari.get("/channels/")
        assert (status, body) == (404, {"message": "ARI URLs do not end with a slash. Try /ari/channels"})
        assert (await ari.get("/nothing/here"))[:2] == (404, {"message": "Resource not found"})
        assert (await ari.request("PUT", "/channels"))[:2] == (405, {"message": "Invalid method"})
        status, body, _ = await ari.post("/channels")
        assert (status, body) == (400, {"message": "Endpoint must be specified"})
        status, body, _ = await ari.post("/channels", endpoint="PJSIP")
        assert (status, body) == (400, {"message": "Invalid endpoint specified"})
        status, body, _ = await ari.post("/channels", endpoint="PJSIP/1001")
        assert (status, body) == (400, {"message": "Application or extension must be specified"})
        status, body, _ = await ari.post("/channels", endpoint="Dahdi/1", app="callcenter")
        assert (status, body) == (500, {"error": "Allocation failed"})
        assert (await ari.get("/bridges/nope"))[:2] == (404, {"message": "Bridge not found"})
        assert (await ari.delete("/playbacks/nope"))[:2] == (404, {"message": "Playback not found"})
        assert (await ari.post("/recordings/live/nope/stop"))[:2] == (404, {"message": "Recording not found"})


@async_test
async def test_listing_shapes_match_the_traces():
    async with running_sim() as sim, Ari(sim) as ari:
        status, info, _ = await ari.get("/asterisk/info")
        expected = trace_json("ari_GET_asterisk_info.json")["body"]
        assert status == 200
        assert {k: sorted(v) for k, v in info.items()} == {k: sorted(v) for k, v in expected.items()}
        assert info["system"] == expected["system"]
        for path in ("/channels", "/bridges", "/deviceStates", "/applications"):
            assert (await ari.get(path))[:2] == (200, [])
        await ari.post("/channels", endpoint="PJSIP/1001", app="callcenter")  # makes phone 1001
        status, endpoints, _ = await ari.get("/endpoints")
        sample = trace_json("ari_GET_endpoints.json")["body"][0]
        assert status == 200 and endpoints
        assert all(list(e) == list(sample) for e in endpoints)
        assert any(e["resource"] == "1001" and e["state"] == "online" for e in endpoints)
        events = await ari.events()
        status, apps, _ = await ari.get("/applications")
        assert [a["name"] for a in apps] == ["callcenter"]
        assert set(apps[0]) >= {"name", "channel_ids", "bridge_ids", "endpoint_ids", "device_names"}
        await events.ws.close()


@async_test
async def test_parameters_from_form_and_json_bodies():
    async with running_sim() as sim, Ari(sim) as ari:
        await ari.events()
        url = ari.base + "/ari/channels"
        async with ari.session.post(url, data={"endpoint": "PJSIP/555@trunk1", "app": "callcenter",
                                               "channelId": "form-1"}) as resp:
            assert resp.status == 200
            assert (await resp.json())["id"] == "form-1"
        body = {"endpoint": "PJSIP/556@trunk1", "app": "callcenter", "channelId": "json-1",
                "variables": {"ATTEMPT": {"value": "42", "report_events": True}, "PLAIN": "x"}}
        async with ari.session.post(url, json=body) as resp:
            snap = await resp.json()
            assert resp.status == 200, snap
            assert snap["id"] == "json-1"
            assert snap["channelvars"] == {"ATTEMPT": "42"}
        assert (await ari.get("/channels/json-1/variable", variable="PLAIN"))[:2] == (200, {"value": "x"})
        status, body, _ = await ari.post("/channels", json_body={"variables": {"A": 1}}, endpoint="PJSIP/1@t",
                                         app="callcenter")
        assert status == 400 and "variables" in body["message"]
        status, body, _ = await ari.post("/channels", endpoint="PJSIP/557@trunk1", app="callcenter",
                                         channelId="json-1")
        assert (status, body) == (409, {"message": "Channel with given unique ID already exists"})
