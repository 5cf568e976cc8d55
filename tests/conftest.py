"""Shared fixtures: one enterprise with the four kinds of user, and another enterprise.

Roles (STYLE.md practice 10): the administrator (800), a supervisor (班长 role, scope
"own and subordinates") with two agents below, a normal agent (坐席 role), a staff member
(普通员工 role), and the administrator of another enterprise.
"""

from __future__ import annotations

import os

import pytest
from django.test import Client

os.environ.setdefault("CALLCENTER_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

PASSWORD = "secret-pass-1"


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 at full cost makes each login ~100 ms; tests check rules, not hash strength.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "callcenter.accounts.hashers.TemporaryArgon2PasswordHasher",
    ]
    settings.ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]


def make_enterprise(code: str, *, lines: int = 5):
    from callcenter.accounts import services

    return services.enterprise_create(code=code, name=f"企业{code}", licensed_lines=lines,
                                      caller_id="0208888" + str(abs(hash(code)) % 10000).zfill(4),
                                      admin_password=PASSWORD)


def make_agent(enterprise, number: str, *, role: str | None = None, supervisor=None, agent_type="normal",
               scope="own", **extra):
    from callcenter.accounts.models import Agent, CallerId, Role

    agent = Agent(enterprise=enterprise, number=number, name=f"坐席{number}", agent_type=agent_type,
                  supervisor=supervisor, data_scope=scope,
                  caller_id=CallerId.objects.filter(enterprise=enterprise).order_by("pk").first(),
                  role=Role.objects.get(enterprise=enterprise, name=role) if role else None, **extra)
    agent.set_password(PASSWORD)
    agent.save()
    return agent


@pytest.fixture
def ent(db):
    """Enterprise A with admin 800, supervisor 810 (agents 811, 812 below), agent 820, staff 830."""
    created = make_enterprise("acme")
    e = created.enterprise
    sup = make_agent(e, "810", role="班长", scope="subordinates")
    people = {
        "enterprise": e,
        "admin": created.admin,
        "supervisor": sup,
        "sub1": make_agent(e, "811", role="坐席", supervisor=sup),
        "sub2": make_agent(e, "812", role="坐席", supervisor=sup),
        "agent": make_agent(e, "820", role="坐席"),
        "staff": make_agent(e, "830", role="普通员工", agent_type="staff"),
    }
    return people


@pytest.fixture
def other(db):
    """Enterprise B with its administrator and one agent."""
    created = make_enterprise("beta")
    return {"enterprise": created.enterprise, "admin": created.admin,
            "agent": make_agent(created.enterprise, "801", role="坐席")}


def client_for(user) -> Client:
    c = Client()
    c.force_login(user, backend="callcenter.accounts.backends.AgentBackend")
    return c


@pytest.fixture
def as_user():
    """`as_user(agent)` -> a test client signed in as that agent."""
    return client_for


@pytest.fixture
def huey_immediate():
    """Huey tasks run at once, in the test's thread (the worker's jobs without a worker)."""
    from huey.contrib.djhuey import HUEY

    was = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = was


def write_wav(path, seconds: float) -> None:
    """A silent 8 kHz 16-bit mono WAV of `seconds` at `path` (a prompt that plays that long)."""
    import wave
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x00\x00" * int(8000 * seconds))
