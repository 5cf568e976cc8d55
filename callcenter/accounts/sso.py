"""L1 single sign-on: a signed link, valid 60 s, usable once."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.accounts.models import Agent, SsoLink

SALT = "callcenter.sso"


def issue(agent: Agent) -> tuple[str, int]:
    """A one-time path for `agent` and its lifetime in seconds."""
    nonce = secrets.token_hex(16)
    SsoLink.objects.create(agent=agent, nonce=nonce)
    token = signing.dumps({"a": agent.pk, "n": nonce}, salt=SALT, compress=True)
    return reverse("accounts:sso_login", args=[token]), settings.CALLCENTER["SSO_LINK_SECONDS"]


@dataclass
class SsoResult:
    agent: Agent | None  # signed in, or None
    reason: str = ""  # why not
    named: Agent | None = None  # the agent a genuine but refused link names (for the login log)


def _agent(pk) -> Agent | None:
    return Agent.objects.select_related("enterprise").filter(pk=pk).first()


def consume(token: str) -> SsoResult:
    """Sign in with a one-time link, or say why not."""
    max_age = settings.CALLCENTER["SSO_LINK_SECONDS"]
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        # The signature is genuine, only too old: the agent it names gets the failure in its log.
        data = signing.loads(token, salt=SALT)
        return SsoResult(None, _("登录链接已过期，请用密码登录"), _agent(data.get("a")))
    except signing.BadSignature:
        return SsoResult(None, _("登录链接无效，请用密码登录"))
    with transaction.atomic():
        used = SsoLink.objects.filter(agent_id=data.get("a"), nonce=data.get("n"), used_at__isnull=True).update(
            used_at=timezone.now())
    agent = _agent(data.get("a"))
    if not used:
        return SsoResult(None, _("登录链接已使用过，请用密码登录"), agent)
    if agent is None or not agent.is_active:
        return SsoResult(None, _("坐席已禁用，不能登录"), agent)
    return SsoResult(agent)
