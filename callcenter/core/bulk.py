"""Bulk INSERT of new rows, for imports of 100,000 rows (bench/customers.py).

`QuerySet.bulk_create` compiles every value through the SQL compiler (pre_save, get_db_prep_save,
a placeholder per value): about 60 % of a 100,000-row customer import. `insert_many` writes the
same rows with the same values: auto_now/auto_now_add date-times take the time of the call, other
fields with their own `pre_save` call it; `get_db_prep_save` prepares every value except the text
and integer values of text and integer fields (which it would return unchanged); in one transaction,
multi-row INSERT ... RETURNING statements of the backend's batch size, or on PostgreSQL ids taken
from the table's sequence and one COPY; the new primary keys are set on the instances, in order, as
bulk_create does. No signals, like bulk_create.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice

from django.db import connections, models, transaction
from django.db.models import Field
from django.utils import timezone

# Fields whose get_db_prep_save returns a str or int value unchanged.
_PLAIN = frozenset({"CharField", "TextField", "SlugField", "EmailField", "ForeignKey", "OneToOneField",
                    "IntegerField", "BigIntegerField", "SmallIntegerField", "PositiveIntegerField",
                    "PositiveBigIntegerField", "PositiveSmallIntegerField"})


def insert_fields(model) -> list[Field]:
    """The columns `insert_rows` writes, in its order: the concrete fields but the primary key."""
    meta = model._meta
    return [f for f in meta.local_concrete_fields if f is not meta.pk and not getattr(f, "generated", False)]


def supported(model, using: str = "default") -> bool:
    connection = connections[using]
    meta = model._meta
    return bool(connection.features.can_return_rows_from_bulk_insert and meta.pk.db_returning and not meta.parents)


def insert_many(objs: list[models.Model], *, using: str = "default") -> list[models.Model]:
    """INSERT the unsaved `objs` (one model, primary keys unset) and set their primary keys."""
    if not objs:
        return objs
    model = type(objs[0])
    if not supported(model, using):
        return model._default_manager.using(using).bulk_create(objs)
    fields = insert_fields(model)
    now = timezone.now()
    getters = []
    for f in fields:
        if isinstance(f, models.DateTimeField) and (f.auto_now or f.auto_now_add):
            getters.append(lambda obj, f=f: _set(obj, f.attname, now))
        elif type(f).pre_save is not Field.pre_save:
            getters.append(lambda obj, f=f: f.pre_save(obj, True))
        else:
            getters.append(None)
    attnames = [f.attname for f in fields]
    if all(g is None for g in getters):
        rows = [tuple(obj.__dict__[a] if a in obj.__dict__ else getattr(obj, a) for a in attnames) for obj in objs]
    else:
        rows = [tuple(getattr(obj, a) if g is None else g(obj) for a, g in zip(attnames, getters, strict=True))
                for obj in objs]
    pks = insert_rows(model, rows, using=using)
    pk = model._meta.pk
    for obj, value in zip(objs, pks, strict=True):
        setattr(obj, pk.attname, value)
        obj._state.adding = False
        obj._state.db = using
    return objs


def _set(obj, attname, value):
    setattr(obj, attname, value)
    return value


def insert_rows(model, rows: Sequence[tuple], *, using: str = "default") -> list:
    """INSERT `rows`, each the attribute values of `insert_fields(model)` in that order (foreign keys
    as ids, no pre_save applied), and return their new primary keys in order."""
    if not rows:
        return []
    connection = connections[using]
    meta = model._meta
    pk = meta.pk
    fields = insert_fields(model)
    if not supported(model, using):
        objs = [model(**dict(zip([f.attname for f in fields], row, strict=True))) for row in rows]
        return [obj.pk for obj in model._default_manager.using(using).bulk_create(objs)]
    plain = [f.get_internal_type() in _PLAIN for f in fields]
    prepared = _prepared(rows, fields, plain, connection)
    q = connection.ops.quote_name
    columns = ", ".join(q(f.column) for f in fields)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            return _copy(cursor, meta, columns, prepared, len(rows))
        head = f"INSERT INTO {q(meta.db_table)} ({columns}) VALUES "  # noqa: S608 - names from the model
        tail = f" RETURNING {q(pk.column)}"
        one = "(" + ", ".join(["%s"] * len(fields)) + ")"
        size = max(1, connection.ops.bulk_batch_size(fields, rows))
        pks = []
        it = iter(prepared)
        while chunk := list(islice(it, size)):
            cursor.execute(head + ", ".join([one] * len(chunk)) + tail, [v for row in chunk for v in row])
            pks.extend(pk.to_python(r[0]) for r in cursor.fetchall())
        return pks


def _prepared(rows, fields, plain, connection):
    """Each row's values as the database takes them (get_db_prep_save), one row at a time."""
    steps = list(zip(fields, plain, strict=True))
    plain_types = (str, int)
    # the last value prepared per column: one timestamp or category repeated over the rows costs once
    last = [(object(), None)] * len(fields)
    for row in rows:
        out = []
        add = out.append
        for i, value in enumerate(row):
            field, is_plain = steps[i]
            if is_plain and (value is None or type(value) in plain_types):
                add(value)
                continue
            seen, prepped = last[i]
            if value is not seen:
                prepped = field.get_db_prep_save(value, connection)
                last[i] = (value, prepped)
            add(prepped)
        yield out


def _copy(cursor, meta, columns: str, prepared, n: int) -> list:
    """PostgreSQL: take `n` ids from the table's sequence, then COPY the rows with them (a multi-row
    INSERT of 100,000 rows took ~3 times as long, most of it in the server)."""
    q = cursor.db.ops.quote_name
    table, pk = meta.db_table, meta.pk.column
    cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, n])
    pks = sorted(r[0] for r in cursor.fetchall())
    with cursor.cursor.copy(f"COPY {q(table)} ({q(pk)}, {columns}) FROM STDIN") as copy:
        for value, row in zip(pks, prepared, strict=True):
            copy.write_row((value, *row))
    return pks
