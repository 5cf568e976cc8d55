"""Browser fixtures: Debian's Chromium driven by Playwright's sync API against `live_server`.

Playwright's sync API keeps an asyncio event loop running in the test thread while the
browser is open, so Django's "async unsafe" guard would refuse every ORM call the test
makes. The browser fixture lifts the guard for as long as the browser lives (one module)
and restores it afterwards; the live server runs in its own thread and is unaffected.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"


@pytest.fixture(scope="module")
def browser():
    # `make test` installs Chromium; a missing browser is a failure, not a skip.
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make chromium` (Playwright cannot download browsers here)")
    from playwright.sync_api import sync_playwright

    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                yield b
            finally:
                b.close()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


@pytest.fixture
def results_dir() -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    return RESULTS_DIR


@pytest.fixture
def page(browser, live_server):
    """A Chinese-locale page on the live server; downloads allowed; a JavaScript error fails the test."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 1366, "height": 768},
                                  accept_downloads=True)
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


class PbxThread(threading.Thread):
    """The simulated Asterisk and call control (with the campaign dialer when `dialer`), run in one
    background event loop beside the live server."""

    def __init__(self, config, *, time_scale: float, dialer: bool = False):
        super().__init__(daemon=True)
        self.config = config
        self.time_scale = time_scale
        self.dialer = dialer
        self.ready = threading.Event()
        self.server = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    def run(self):
        asyncio.run(self.main())

    async def main(self):
        from callcenter.campaigns.dialer.service import Dialer
        from callcenter.pbx.asterisk.ari import AriClient
        from callcenter.pbx.callctl.service import CallControl
        from callcenter.pbx.sim.server import SimServer

        self.loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self.server = await SimServer(self.config).start()
        ari = AriClient(self.server.ari_url, self.config.ari_user, self.config.ari_password, "callcenter")
        control = CallControl(ari, time_scale=self.time_scale, command_poll_seconds=0.1)
        if self.dialer:
            control.dialer = Dialer(control, holder="browser", lease_seconds=5, tick_seconds=0.1)
        task = asyncio.create_task(control.run())
        await asyncio.sleep(0.2)
        self.ready.set()
        await self._stop_event.wait()
        control.stop()
        await task
        await ari.close()
        await self.server.stop()

    def stop(self):
        if self.loop is not None and self._stop_event is not None:
            self.loop.call_soon_threadsafe(self._stop_event.set)
        self.join(timeout=15)


def start_pbx(settings, config, *, time_scale: float, dialer: bool = False, config_dir=None) -> PbxThread:
    """Start a PbxThread and point the settings at it (stop it with .stop())."""
    thread = PbxThread(config, time_scale=time_scale, dialer=dialer)
    thread.start()
    assert thread.ready.wait(15), "the simulated Asterisk did not start"
    settings.PBX = {**settings.PBX, "ARI_URL": thread.server.ari_url, "AMI_PORT": thread.server.ami_port,
                    **({"CONFIG_DIR": config_dir} if config_dir is not None else {})}
    return thread


def wait_until(predicate, timeout: float = 15.0) -> bool:
    """Poll `predicate` (a database read, say) every 0.1 s until it holds or `timeout` passes."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False
