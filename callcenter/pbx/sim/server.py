"""Start and stop the simulated Asterisk: the ARI/`/sim/` HTTP server and the AMI server.

    server = SimServer(load_config(ari_port=0, ami_port=0))   # 0: any free port
    await server.start()          # server.ari_port / server.ami_port are then known
    ...
    await server.stop()

`run_forever()` is what `manage.py pbx_sim` and `python -m callcenter.pbx.sim` run: it
stops cleanly on SIGTERM and SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiohttp import web

from callcenter.pbx.sim.ami import AmiServer
from callcenter.pbx.sim.ari import VERSION_KEY, AriApp, asterisk_headers
from callcenter.pbx.sim.config import SimConfig
from callcenter.pbx.sim.control import ControlApp
from callcenter.pbx.sim.world import Pbx

log = logging.getLogger("callcenter.pbx.sim")


class SimServer:
    def __init__(self, config: SimConfig):
        self.config = config
        self.pbx: Pbx | None = None
        self.ari_port = config.ari_port
        self.ami_port = config.ami_port
        self._runner: web.AppRunner | None = None
        self._ami: AmiServer | None = None

    def make_app(self) -> web.Application:
        assert self.pbx is not None
        app = web.Application(client_max_size=4 * 1024 * 1024)
        app[VERSION_KEY] = self.config.version
        app.on_response_prepare.append(asterisk_headers)
        ari = AriApp(self.pbx)
        ControlApp(self.pbx).add_routes(app)
        app.router.add_route("*", "/ari", ari.handle)
        app.router.add_route("*", "/ari/{tail:.*}", ari.handle)
        return app

    async def start(self) -> SimServer:
        loop = asyncio.get_running_loop()
        self.pbx = Pbx(self.config, loop)
        self._runner = web.AppRunner(self.make_app(), access_log=None, handle_signals=False,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.ari_port, reuse_address=True)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self.ari_port = sockets[0].getsockname()[1]
        self._ami = AmiServer(self.pbx)
        self.ami_port = await self._ami.start(self.config.host, self.config.ami_port)
        self.pbx.start_traffic()
        log.info("simulated Asterisk %s: ARI http://%s:%s/ari, AMI %s:%s, time_scale %s, seed %s",
                 self.config.version, self.config.host, self.ari_port, self.config.host, self.ami_port,
                 self.config.time_scale, self.config.seed)
        return self

    async def stop(self) -> None:
        if self.pbx is not None:
            self.pbx.shutdown()
            for app in self.pbx.hub.apps.values():
                if app.conn is not None:
                    app.conn.close()
        if self._ami is not None:
            await self._ami.stop()
        if self._runner is not None:
            with contextlib.suppress(Exception):
                await self._runner.cleanup()

    @property
    def ari_url(self) -> str:
        return f"http://{self.config.host}:{self.ari_port}"


async def serve(config: SimConfig, ready: asyncio.Event | None = None) -> None:
    server = await SimServer(config).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        log.info("simulated Asterisk stopping")
        await server.stop()


def run_forever(config: SimConfig) -> None:
    asyncio.run(serve(config))
