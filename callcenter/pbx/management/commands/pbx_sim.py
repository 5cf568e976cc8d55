"""`manage.py pbx_sim`: run the simulated Asterisk (ARI + AMI) in the foreground.

The simulator's core needs no database. Its defaults come from `settings.PBX` (the ARI
URL's port, the AMI port, users and passwords, the Stasis app, the rendered config
directory and the sounds directory), so the adapter and the simulator agree out of the
box; a JSON/YAML file (`--config` or CALLCENTER_SIM_CONFIG), CALLCENTER_SIM_* variables
and the options below override them.
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand

from callcenter.pbx.sim.cli import add_arguments, config_from_options, setup_logging
from callcenter.pbx.sim.config import port_of_url
from callcenter.pbx.sim.server import run_forever


def settings_defaults() -> dict:
    pbx = getattr(settings, "PBX", None) or {}
    defaults: dict = {
        "ari_port": port_of_url(str(pbx.get("ARI_URL") or "")) or None,
        "ami_port": pbx.get("AMI_PORT"),
        "ari_user": pbx.get("ARI_USER"),
        "ari_password": pbx.get("ARI_PASSWORD"),
        "ami_user": pbx.get("AMI_USER"),
        "ami_secret": pbx.get("AMI_SECRET"),
        "app": pbx.get("APP"),
        "config_dir": str(pbx["CONFIG_DIR"]) if pbx.get("CONFIG_DIR") else None,
    }
    if pbx.get("SOUNDS_DIR"):
        defaults["world"] = {"sound_dirs": [str(pbx["SOUNDS_DIR"])]}
    return defaults


class Command(BaseCommand):
    help = "Run the simulated Asterisk (ARI on 8088, AMI on 5038 by default)."
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        add_arguments(parser)

    def handle(self, *args, **options):
        setup_logging(int(options.get("verbosity", 1)))
        config = config_from_options(options, defaults=settings_defaults())
        self.stdout.write(f"simulated Asterisk: ARI http://{config.host}:{config.ari_port}/ari "
                          f"(user {config.ari_user}), AMI {config.host}:{config.ami_port} (user {config.ami_user}), "
                          f"config dir {config.config_dir or '-'}, time scale {config.time_scale}")
        self.stdout.flush()
        run_forever(config)
