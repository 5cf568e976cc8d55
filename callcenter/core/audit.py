"""The audit log: each change with who, when, from where, and each field before and after."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from django.db import models
from django.utils import timezone

from callcenter.core.bulk import insert_fields, insert_rows
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


def _snapshot_fields(meta) -> list[tuple[str, str, bool]]:
    fields = _SNAPSHOT_FIELDS.get(meta)
    if fields is None:
        fields = [(f.name, f.attname, f.name in SECRET_FIELDS) for f in meta.concrete_fields]
        _SNAPSHOT_FIELDS[meta] = fields
    return fields


_SNAPSHOT_FIELDS: dict[object, list[tuple[str, str, bool]]] = {}
_AS_IS = (str, int, float, bool, type(None), dict, list)


def snapshot(obj: models.Model) -> dict:
    """Concrete field values of `obj`, foreign keys as ids, secrets masked."""
    data = {}
    for name, attname, secret in _snapshot_fields(obj._meta):
        value = getattr(obj, attname)
        if secret:
            data[name] = "***" if value else ""
        else:
            data[name] = value if type(value) in _AS_IS else _plain(value)
    return data


def creation(obj: models.Model) -> dict:
    """diff({}, snapshot(obj)) in one pass, for bulk writes of new rows."""
    meta = obj._meta
    fields = _SORTED_FIELDS.get(meta)
    if fields is None:
        fields = _SORTED_FIELDS[meta] = sorted(_snapshot_fields(meta))
    changes = {}
    for name, attname, secret in fields:
        value = getattr(obj, attname)
        if secret:
            changes[name] = [None, "***" if value else ""]
        elif value is not None:
            changes[name] = [None, value if type(value) in _AS_IS else _plain(value)]
    return changes


_SORTED_FIELDS: dict[object, list[tuple[str, str, bool]]] = {}


def diff(before: dict, after: dict) -> dict:
    if not before:  # a creation: every value that is not None
        return {k: [None, after[k]] for k in sorted(after) if after[k] is not None}
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
    """Bulk writes: one audit row per object, inserted in multi-row statements (core.bulk)."""
    ctx = current()
    actor = ctx.actor
    actor_id = actor.pk if actor is not None else None
    actor_label = str(actor) if actor is not None else ""
    channel = channel or ctx.channel
    at = timezone.now()
    rows = []
    for obj, action, changes in entries:
        meta = obj._meta
        enterprise_id = obj.pk if isinstance(obj, Enterprise) else getattr(obj, "enterprise_id", None)
        rows.append((enterprise_id, actor_id, actor_label, at, ctx.ip, channel, action, meta.label_lower,
                     str(obj.pk), str(obj)[:200], changes))
    order = [_BULK_COLUMNS.index(f.attname) for f in insert_fields(AuditLog)]  # ValueError: a new column
    if order != list(range(len(_BULK_COLUMNS))):
        rows = [tuple(row[i] for i in order) for row in rows]
    insert_rows(AuditLog, rows)


# The values record_many builds per row, in this order.
_BULK_COLUMNS = ("enterprise_id", "actor_id", "actor_label", "at", "ip", "channel", "action", "object_type",
                 "object_id", "object_repr", "changes")
