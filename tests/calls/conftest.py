"""Call records for the shared enterprises, written the way call control writes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission

from callcenter.accounts.models import Role
from callcenter.calls import services

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2025, 6, 2, 9, 0, tzinfo=SH)  # a Monday morning
CALL_PERMS = ["view_cdr", "export_cdr", "view_missedcall", "export_missedcall", "view_recording",
              "view_livechannel", "view_agentstate"]


@pytest.fixture
def call_perms(ent):
    """The 坐席 and 班长 roles may see (and export) call records; their scope does the rest."""
    perms = list(Permission.objects.filter(content_type__app_label="calls", codename__in=CALL_PERMS))
    for name in ("坐席", "班长"):
        Role.objects.get(enterprise=ent["enterprise"], name=name).permissions.add(*perms)
    return perms


_seq = iter(range(1, 10**9))


def call(enterprise, *, agent=None, direction="out", caller="02066660000", callee: str | None = None,
         start: datetime = T0, ring: int = 5, talk: int | None = 60, cause: int = 16, last_key: str | None = None,
         recording: bool = False, group_name: str = "", call_id: str | None = None, **extra):
    """One complete call of `agent` (if any): opened, answered after `ring` s unless `talk` is None, closed."""
    n = next(_seq)
    call_id = call_id or f"sim-{n}"
    callee = callee if callee is not None else f"137{n:08d}"
    services.cdr_open(enterprise_id=enterprise.pk, call_id=call_id, direction=direction, started_at=start,
                      caller=caller, callee=callee, group_name=group_name, agent_id=agent.pk if agent else None,
                      **extra)
    end = start + timedelta(seconds=ring + (talk or 0))
    if talk is not None:
        services.cdr_answer(call_id=call_id, answered_at=start + timedelta(seconds=ring),
                            agent_id=agent.pk if agent else None)
    services.cdr_close(call_id=call_id, ended_at=end, cause=cause, last_key=last_key)
    if recording:
        services.recording_add(enterprise_id=enterprise.pk, call_id=call_id, created_at=end,
                               agent_id=agent.pk if agent else None, file=f"recordings/test/{call_id}.wav",
                               duration_seconds=talk or 0)
    from callcenter.calls.models import Cdr

    return Cdr.objects.get(call_id=call_id)


def no_role(ent):
    """An agent of the enterprise without any role: no call screens."""
    from callcenter.accounts.models import Agent
    from tests.conftest import make_agent

    return Agent.objects.filter(enterprise=ent["enterprise"], number="840").first() or make_agent(
        ent["enterprise"], "840")
