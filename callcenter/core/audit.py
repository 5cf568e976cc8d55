"""The audit log: each change with who, when, from where, and each field before and after."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db import models

from callcenter.core.choices import AuditAction
from callcenter.core.context import current
from callcenter.core.models import AuditLog, Enterprise

SECRET_FIELDS = {"password", "third_party_password", "key_hash"}


def _plain(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model) -> dict:
    """Concrete field values of `obj`, foreign keys as ids, secrets masked."""
    data = {}
    for field in obj._meta.concrete_fields:
        name = field.attname
        if field.name in SECRET_FIELDS:
            data[field.name] = "***" if getattr(obj, name) else ""
            continue
        data[field.name] = _plain(getattr(obj, name))
    return data


def diff(before: dict, after: dict) -> dict:
    keys = set(before) | set(after)
    return {k: [before.get(k), after.get(k)] for k in sorted(keys) if before.get(k) != after.get(k)}


def _entry(obj, action, changes, channel=None) -> AuditLog:
    ctx = current()
    actor = ctx.actor
    # An enterprise's own settings belong to that enterprise's log.
    enterprise_id = obj.pk if isinstance(obj, Enterprise) else getattr(obj, "enterprise_id", None)
    return AuditLog(
        enterprise_id=enterprise_id,
        actor=actor,
        actor_label=str(actor) if actor is not None else "",
        ip=ctx.ip,
        channel=channel or ctx.channel,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes,
    )


def record_create(obj, channel=None) -> None:
    _entry(obj, AuditAction.CREATE, diff({}, snapshot(obj)), channel).save()


def record_update(obj, before: dict, channel=None) -> None:
    changes = diff(before, snapshot(obj))
    if changes:
        _entry(obj, AuditAction.UPDATE, changes, channel).save()


def record_delete(obj, channel=None) -> None:
    _entry(obj, AuditAction.DELETE, diff(snapshot(obj), {}), channel).save()


def record_many(entries: Iterable[tuple[models.Model, str, dict]], channel=None) -> None:
    """Bulk writes: one audit row per object, inserted in one statement."""
    AuditLog.objects.bulk_create(
        [_entry(obj, action, changes, channel) for obj, action, changes in entries], batch_size=1000
    )
