"""Create the demo enterprise on first run; later runs leave it as it is (safe to repeat), but for
the demo campaign (below).

The demo gets agents 801-806, prompts, a group, a call flow, a trunk with a DID rule, a
queue, an IVR menu and a schedule, its PBX configuration written for the simulated
Asterisk, and the simulator's settings (var/pbx-sim.json: inbound traffic to the DID).
Each run also makes sure a demo task is running and the simulated agents are ready
(campaigns/demo.py), so the dialer's calls flow within a minute of `make run`.
"""

import json
import os

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from callcenter.accounts import services
from callcenter.core.models import Enterprise

DEMO_CODE = "demo"


def sim_config() -> dict:
    from callcenter.pbx.asterisk.render import trunk_endpoint_name
    from callcenter.telephony.demo import DEMO_DID, DEMO_TRUNK

    return {
        "seed": 1,
        "world": {
            "inbound": {"dids": [DEMO_DID], "rate_per_hour": 90, "trunk": trunk_endpoint_name(DEMO_CODE, DEMO_TRUNK),
                        "profile": {"talk_time": [20, 90], "patience": 45, "dtmf": [["1", 5.0]],
                                    "dtmf_probability": 0.3}},
            "callees": {"default": {"answer_probability": 0.8, "ring_time": [2, 6], "talk_time": [15, 60]}},
            "phone_defaults": {"mode": "auto", "ring_time": [1.5, 4.0], "talk_time": [20, 90]},
        },
    }


class Command(BaseCommand):
    help = "Create the demo enterprise and its administrator (agent 800) if they do not exist."

    def campaign(self, enterprise) -> None:
        """A running demo task and ready simulated agents, so calls flow after `make run`."""
        from callcenter.campaigns.demo import seed as campaign_seed

        done = campaign_seed(enterprise)
        if done["task"] is not None:
            self.stdout.write(f"Demo task '{done['task'].name}' is running ({done['task'].numbers_total} numbers).")

    def handle(self, *args, **options):
        path = settings.VAR_DIR / "pbx-sim.json"
        path.write_text(json.dumps(sim_config(), ensure_ascii=False, indent=2))
        existing = Enterprise.objects.filter(code=DEMO_CODE).first()
        if existing is not None:
            self.stdout.write(f"Demo enterprise '{DEMO_CODE}' exists; admin password unchanged.")
            self.campaign(existing)
            return
        from callcenter.crm.demo import seed as crm_seed
        from callcenter.pbx.services import config_write_initial
        from callcenter.telephony.demo import seed

        password = os.environ.get("CALLCENTER_ADMIN_PASSWORD") or None
        with transaction.atomic():
            created = services.enterprise_create(code=DEMO_CODE, name="演示企业", licensed_lines=10,
                                                 caller_id="02088880000", admin_password=password)
            seed(created.enterprise)
            crm_seed(created.enterprise)
        config_write_initial(enterprise=created.enterprise)
        self.campaign(created.enterprise)
        self.stdout.write(self.style.SUCCESS(f"Created demo enterprise '{DEMO_CODE}' with its call configuration."))
        if password:
            self.stdout.write(
                "Administrator: enterprise code 'demo', agent 800, password from CALLCENTER_ADMIN_PASSWORD.")
        else:
            self.stdout.write(self.style.WARNING(
                f"Administrator: enterprise code 'demo', agent 800, password {created.admin_password}"
                " (shown only this once)."))
