"""Periodic worker jobs: missed-call reminders every minute, birthday reminders daily."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from callcenter.notices import services


@db_periodic_task(crontab(minute="*"))
def missed_call_reminders() -> int:
    return services.missed_call_todos()


@db_periodic_task(crontab(minute="5", hour="0"))
def birthday_reminders() -> int:
    return services.birthday_todos(timezone.localdate())
