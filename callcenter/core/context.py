"""Who is acting, from where and through which channel: read by the audit log."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

from callcenter.core.choices import Channel


@dataclass(frozen=True)
class ActionContext:
    actor: Any = None
    ip: str | None = None
    channel: str = Channel.SYSTEM


# ActionContext is a frozen dataclass: sharing the default instance is safe.
_current: ContextVar[ActionContext] = ContextVar("callcenter_action", default=ActionContext())  # noqa: B039


def current() -> ActionContext:
    return _current.get()


@contextmanager
def acting(**changes):
    """Temporarily override parts of the context, e.g. `acting(channel=Channel.IMPORT)`."""
    token = _current.set(replace(_current.get(), **changes))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def set_actor(actor) -> None:
    """Name the actor for the rest of the request: API tokens authenticate inside the view,
    after RequestContextMiddleware has run (which restores the outer context at the end)."""
    _current.set(replace(_current.get(), actor=actor))


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None
