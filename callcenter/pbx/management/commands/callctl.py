"""The call-control process (`python manage.py callctl`): ARI events in, flows and IVRs run,
CDRs out. Stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from callcenter.pbx.asterisk.ari import AriClient
from callcenter.pbx.callctl.service import CallControl


class Command(BaseCommand):
    help = "Run call control against the PBX's ARI (the simulated Asterisk by default)."

    def add_arguments(self, parser):
        parser.add_argument("--time-scale", type=float, default=1.0,
                            help="multiply the logic's timers (tests run the simulated PBX faster)")

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s callctl %(levelname)s %(message)s")
        asyncio.run(self.main(options["time_scale"]))

    async def main(self, time_scale: float) -> None:
        pbx = settings.PBX
        ari = AriClient(pbx["ARI_URL"], pbx["ARI_USER"], pbx["ARI_PASSWORD"], pbx["APP"])
        control = CallControl(ari, time_scale=time_scale)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, control.stop)
        self.stdout.write(f"callctl: ARI {pbx['ARI_URL']} app {pbx['APP']}")
        try:
            await control.run()
        finally:
            await ari.close()
