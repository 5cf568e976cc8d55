"""Serve the web process with gunicorn on 127.0.0.1:$PORT (used by `make run`)."""

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Start the web server (gunicorn) on PORT."

    def handle(self, *args, **options):
        bind = os.environ.get("CALLCENTER_BIND", f"127.0.0.1:{settings.PORT}")
        workers = os.environ.get("WEB_CONCURRENCY", "3")
        self.stdout.write(f"callcenter web on http://{bind}/")
        cmd = [sys.executable, "-m", "gunicorn", "callcenter.wsgi:application", "--bind", bind,
               "--workers", workers, "--access-logfile", "-", "--graceful-timeout", "5"]
        os.execv(sys.executable, cmd)  # noqa: S606 - fixed argv, no shell
