"""Create the demo enterprise on first run; later runs change nothing (safe to repeat)."""

import os

from django.core.management.base import BaseCommand

from callcenter.accounts import services
from callcenter.core.models import Enterprise

DEMO_CODE = "demo"


class Command(BaseCommand):
    help = "Create the demo enterprise and its administrator (agent 800) if they do not exist."

    def handle(self, *args, **options):
        if Enterprise.objects.filter(code=DEMO_CODE).exists():
            self.stdout.write(f"Demo enterprise '{DEMO_CODE}' exists; admin password unchanged.")
            return
        password = os.environ.get("CALLCENTER_ADMIN_PASSWORD") or None
        created = services.enterprise_create(code=DEMO_CODE, name="演示企业", licensed_lines=10,
                                             caller_id="02088880000", admin_password=password)
        self.stdout.write(self.style.SUCCESS(f"Created demo enterprise '{DEMO_CODE}'."))
        if password:
            self.stdout.write(
                "Administrator: enterprise code 'demo', agent 800, password from CALLCENTER_ADMIN_PASSWORD.")
        else:
            self.stdout.write(self.style.WARNING(
                f"Administrator: enterprise code 'demo', agent 800, password {created.admin_password}"
                " (shown only this once)."))
