"""The simulator's own control API under /sim/ (not part of Asterisk).

Tests and the demo drive the far ends here: a web user answering the phone of a logged-in
agent, an inbound call placed on demand, keys pressed by a callee, the state of the world.

    GET  /sim/state                         channels, bridges, phones, trunks, queues, counters
    GET  /sim/originations?since=N          calls placed through trunks, in order (from the N-th)
    POST /sim/inbound        {did, caller?, trunk?, profile?}
    GET  /sim/phones
    POST /sim/phones/{ep}    {mode?: auto|manual|offline, ring_time?, answer_probability?, talk_time?}
    POST /sim/phones/{ep}/answer | /hangup | /dial {number}
    POST /sim/channels/{id}/dtmf   {digits, duration_ms?, gap?}
    POST /sim/channels/{id}/answer | /hangup {cause?}
    PUT  /sim/callees/{number}     a callee profile (see config.DEFAULT_WORLD["callees"])
    POST /sim/traffic        {rate_per_hour?, dids?}
    POST /sim/reload
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from callcenter.pbx.sim.ari import check_credentials, jresp, unauthorized
from callcenter.pbx.sim.world import AriError

if TYPE_CHECKING:
    from callcenter.pbx.sim.world import Pbx


class ControlApp:
    def __init__(self, pbx: Pbx):
        self.pbx = pbx

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/sim/state", self.wrap(self.state))
        r.add_get("/sim/originations", self.wrap(self.originations))
        r.add_post("/sim/inbound", self.wrap(self.inbound))
        r.add_get("/sim/phones", self.wrap(self.phones))
        r.add_post("/sim/phones/{ep}", self.wrap(self.phone_update))
        r.add_post("/sim/phones/{ep}/answer", self.wrap(self.phone_answer))
        r.add_post("/sim/phones/{ep}/hangup", self.wrap(self.phone_hangup))
        r.add_post("/sim/phones/{ep}/dial", self.wrap(self.phone_dial))
        r.add_post("/sim/channels/{cid}/dtmf", self.wrap(self.channel_dtmf))
        r.add_post("/sim/channels/{cid}/answer", self.wrap(self.channel_answer))
        r.add_post("/sim/channels/{cid}/hangup", self.wrap(self.channel_hangup))
        r.add_put("/sim/callees/{number}", self.wrap(self.callee))
        r.add_post("/sim/callees/{number}", self.wrap(self.callee))
        r.add_post("/sim/traffic", self.wrap(self.traffic))
        r.add_post("/sim/reload", self.wrap(self.reload))

    def wrap(self, handler):
        async def view(request: web.Request) -> web.StreamResponse:
            if self.pbx.config.control_auth and not check_credentials(
                    request, {}, {self.pbx.config.ari_user: self.pbx.config.ari_password}):
                return unauthorized()
            body: Any = {}
            if request.body_exists:
                raw = await request.read()
                if raw.strip():
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        return jresp(400, {"message": "body must be JSON"})
            if not isinstance(body, dict):
                return jresp(400, {"message": "body must be a JSON object"})
            try:
                return await handler(request, body, **request.match_info)
            except AriError as exc:
                return jresp(exc.status, {"message": exc.message})
        return view

    def _chan(self, cid: str):
        chan = self.pbx.get(cid)
        if chan is None or chan.dead:
            raise AriError(404, "Channel not found")
        return chan

    def _phone_json(self, phone) -> dict:
        return {"endpoint": phone.endpoint, "mode": phone.mode, "registered": phone.registered,
                "device_state": phone.device_state_text(),
                "channels": [{"id": c.id, "name": c.name, "state": c.state} for c in phone.channels if not c.dead]}

    async def state(self, request, body) -> web.Response:
        pbx = self.pbx
        cv = pbx.channelvars
        return jresp(200, {
            "time_scale": pbx.scale,
            "seed": pbx.config.seed,
            "sim_time": round(pbx.now(), 3),
            "apps": {name: app.active for name, app in pbx.hub.apps.items()},
            "channels": [dict(c.ari(cv), bridge=c.bridge.id if c.bridge else None, stasis=c.stasis,
                              app=c.in_app, party=getattr(c.party, "kind", None)) for c in pbx.channels.values()],
            "bridges": [b.ari() for b in pbx.bridges.values()],
            "phones": {ep: self._phone_json(p) for ep, p in pbx.phones.items()},
            "trunks": {name: {"lines": t.lines, "in_use": t.in_use} for name, t in pbx.trunks.items()},
            "queues": pbx.queues.state(),
            "recordings": sorted(pbx.stored_recordings),
            "stats": dict(pbx.stats),
        })

    async def originations(self, request, body) -> web.Response:
        """Every call placed to a far end through a trunk (with its CC_* variables, e.g. the dialer's
        CC_ATTEMPT), so a test can compare what the PBX dialled with what the database says."""
        try:
            since = max(0, int(request.query.get("since") or 0))
        except ValueError:
            raise AriError(400, "since must be a number") from None
        kept = list(self.pbx.originations)
        dropped = self.pbx.stats["trunk_dials"] - len(kept)  # beyond MAX_ORIGINATIONS_KEPT
        start = max(0, since - dropped)
        return jresp(200, {"total": self.pbx.stats["trunk_dials"], "first": dropped + start,
                           "originations": kept[start:]})

    async def inbound(self, request, body) -> web.Response:
        did = str(body.get("did") or "")
        if not did:
            raise AriError(400, "did is required")
        chan = self.pbx.inbound_call(did, str(body.get("caller") or ""), trunk=body.get("trunk"),
                                     profile=body.get("profile"))
        if chan is None:
            raise AriError(503, "All lines of the trunk are busy")
        return jresp(200, {"channel": chan.ari(self.pbx.channelvars)})

    async def phones(self, request, body) -> web.Response:
        return jresp(200, [self._phone_json(p) for p in self.pbx.phones.values()])

    async def phone_update(self, request, body, ep) -> web.Response:
        mode = body.get("mode")
        if mode is not None and mode not in ("auto", "manual", "offline"):
            raise AriError(400, "mode must be auto, manual or offline")
        phone = self.pbx.configure_phone(ep, create=True, spec=body)
        self.pbx.queues.device_changed(phone)
        return jresp(200, self._phone_json(phone))

    async def phone_answer(self, request, body, ep) -> web.Response:
        chan = self.pbx.phone_answer(ep)
        return jresp(200, {"channel": chan.id})

    async def phone_hangup(self, request, body, ep) -> web.Response:
        chan = self.pbx.phone_hangup(ep)
        return jresp(200, {"channel": chan.id})

    async def phone_dial(self, request, body, ep) -> web.Response:
        number = str(body.get("number") or "")
        if not number:
            raise AriError(400, "number is required")
        chan = self.pbx.phone_dial(ep, number)
        return jresp(200, {"channel": chan.ari(self.pbx.channelvars)})

    async def channel_dtmf(self, request, body, cid) -> web.Response:
        chan = self._chan(cid)
        digits = str(body.get("digits") or "")
        if not digits:
            raise AriError(400, "digits is required")
        duration = int(body.get("duration_ms") or 120)
        gap = float(body.get("gap") or 0.25)
        for i, digit in enumerate(digits):
            self.pbx.later(i * gap, self.pbx.far_dtmf, chan, digit, duration, chan=chan)
        return web.Response(status=204)

    async def channel_answer(self, request, body, cid) -> web.Response:
        chan = self._chan(cid)
        if chan.state == "Up" or not chan.outbound:
            raise AriError(409, "Channel is not ringing")
        self.pbx.far_answer(chan)
        return web.Response(status=204)

    async def channel_hangup(self, request, body, cid) -> web.Response:
        chan = self._chan(cid)
        self.pbx.remote_hangup(chan, int(body.get("cause") or 16))
        return web.Response(status=204)

    async def callee(self, request, body, number) -> web.Response:
        callees = self.pbx.world.setdefault("callees", {})
        callees.setdefault("numbers", {})[number] = body
        return jresp(200, {"number": number, "profile": body})

    async def traffic(self, request, body) -> web.Response:
        spec = self.pbx.world.setdefault("inbound", {})
        for key in ("rate_per_hour", "dids", "callers", "trunk", "profile"):
            if key in body:
                spec[key] = body[key]
        self.pbx.stop_traffic()
        self.pbx.start_traffic()
        return jresp(200, {k: spec.get(k) for k in ("rate_per_hour", "dids", "trunk")})

    async def reload(self, request, body) -> web.Response:
        self.pbx.reload("all")
        return web.Response(status=204)
