"""Per-agent API tokens: `Authorization: Token <key>`. Only a SHA-256 of the key is stored."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from callcenter.accounts.models import Agent, ApiToken
from callcenter.core.context import set_actor


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def token_create(*, agent: Agent, name: str) -> tuple[ApiToken, str]:
    key = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(enterprise_id=agent.enterprise_id, agent=agent, name=name, prefix=key[:8],
                                    key_hash=_hash(key))
    return token, key


class AgentTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key):
        token = ApiToken.objects.select_related("agent", "agent__enterprise").filter(key_hash=_hash(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("令牌无效"))
        if not token.agent.is_active:
            raise exceptions.AuthenticationFailed(_("坐席已禁用"))
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        set_actor(token.agent)  # the audit log names the token's agent
        return token.agent, token
