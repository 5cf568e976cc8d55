"""The call-control process (`python manage.py callctl`, also `python manage.py dialer`): ARI events
in, flows and IVRs run, CDRs out, and the campaign dialer's pacing loop (campaigns/dialer),
unless `--no-dialer`. One process does both: the Procfile's `callctl` line is the dialer.
Stops cleanly on SIGTERM/SIGINT (the dialer gives its leases up)."""

from __future__ import annotations

import asyncio
import logging
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from callcenter.pbx.asterisk.ari import AriClient
from callcenter.pbx.callctl.service import CallControl, freeze_startup_heap


class Command(BaseCommand):
    help = "Run call control and the campaign dialer against the PBX's ARI (the simulated Asterisk by default)."
    # A restart after a crash should reconcile soon: the checks run when the web starts.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("--time-scale", type=float, default=1.0,
                            help="multiply the logic's timers (tests run the simulated PBX faster)")
        parser.add_argument("--no-dialer", action="store_true", help="call control only: no campaign pacing")
        parser.add_argument("--dialer-id", default="",
                            help="the name this dialer holds its leases under (default: host:pid:random); a "
                                 "restarted process with the same name takes its leases back at once")
        parser.add_argument("--lease-seconds", type=float, default=settings.DIALER["LEASE_SECONDS"],
                            help="how long a dialer's lease lasts without renewal")
        parser.add_argument("--tick-seconds", type=float, default=settings.DIALER["TICK_SECONDS"],
                            help="how often the dialer paces")
        parser.add_argument("--app", default="", help="the ARI application (default: settings.PBX['APP'])")
        parser.add_argument("--enterprise", action="append", default=[], metavar="CODE",
                            help="pace only this enterprise's tasks (repeatable; default: every enterprise)")

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(asctime)s callctl %(levelname)s %(message)s")
        # The root logger says WARNING (settings.LOGGING); call control's and the dialer's own
        # lines (leases, reconciliation, tasks started and ended) are worth their INFO.
        for name in ("callcenter.pbx.callctl", "callcenter.campaigns"):
            if logging.getLogger(name).getEffectiveLevel() > logging.INFO:
                logging.getLogger(name).setLevel(logging.INFO)
        freeze_startup_heap()
        asyncio.run(self.main(options))

    async def main(self, options) -> None:
        pbx = settings.PBX
        app = options["app"] or pbx["APP"]
        ari = AriClient(pbx["ARI_URL"], pbx["ARI_USER"], pbx["ARI_PASSWORD"], app)
        control = CallControl(ari, app=app, time_scale=options["time_scale"])
        if not options["no_dialer"]:
            from callcenter.campaigns.dialer.service import Dialer

            control.dialer = Dialer(control, holder=options["dialer_id"] or None,
                                    lease_seconds=options["lease_seconds"], tick_seconds=options["tick_seconds"],
                                    enterprises=options["enterprise"])
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, control.stop)
        dialer = f", dialer {control.dialer.holder}" if control.dialer else ""
        self.stdout.write(f"callctl: ARI {pbx['ARI_URL']} app {app}{dialer}")
        try:
            await control.run()
        finally:
            await ari.close()
