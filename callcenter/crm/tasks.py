"""Periodic worker job: unlock customers whose lock has expired (every 5 minutes)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import periodic_task

from callcenter.core.context import acting


@periodic_task(crontab(minute="*/5"))
def unlock_expired_locks() -> int:
    from callcenter.core.choices import Channel
    from callcenter.crm.services import unlock_expired

    with acting(channel=Channel.SYSTEM):
        return unlock_expired()
