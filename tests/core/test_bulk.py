"""core.bulk writes the rows QuerySet.bulk_create would (the 100,000-row customer import uses it,
bench/customers.py), and the audit log's bulk entries read as the one-by-one ones."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from callcenter.core import audit
from callcenter.core.bulk import insert_fields, insert_many, insert_rows
from callcenter.core.choices import Channel
from callcenter.core.context import acting
from callcenter.core.importing import run_import
from callcenter.core.models import AuditLog
from callcenter.crm import services
from callcenter.crm.importers import CustomerImporter
from callcenter.crm.models import Customer

COMPARED = ("enterprise_id", "category_id", "owner_id", "name", "company", "data", "locked_by_id",
            "locked_until", "created_at")


def _customers(ent, category, prefix: str, n: int, when=None) -> list[Customer]:
    when = when or timezone.now() - timedelta(days=3)
    return [Customer(enterprise=ent["enterprise"], category=category, owner=ent["sub1"] if i % 2 else None,
                     phone=f"{prefix}{i:05d}", name=f"客户<{i}> & 'x'", company="" if i % 3 else "公司",
                     data={"n": i, "nested": {"k": [1, "二"]}, "text": "中文"} if i % 4 else {},
                     locked_by=ent["agent"] if i == 5 else None, locked_until=when if i == 5 else None,
                     created_at=when + timedelta(seconds=i))
            for i in range(n)]


def test_insert_many_stores_what_bulk_create_stores_and_sets_the_new_ids(ent):
    category = services.category_create(enterprise=ent["enterprise"], name="批量")
    n = 250  # several INSERT statements on SQLite (999 parameters each)
    when = timezone.now() - timedelta(days=3)
    expected = Customer.objects.bulk_create(_customers(ent, category, "1380", n, when))
    before = timezone.now()
    objs = insert_many(_customers(ent, category, "1390", n, when))
    assert all(not o._state.adding for o in objs)
    ids = [o.pk for o in objs]
    assert None not in ids and ids == sorted(ids) and len(set(ids)) == n
    stored = {c["id"]: c for c in Customer.objects.filter(pk__in=ids).values()}
    for want, got in zip(expected, objs, strict=True):
        row = stored[got.pk]
        assert row["phone"] == got.phone == "1390" + want.phone[4:]
        assert {k: row[k] for k in COMPARED} == {k: getattr(want, k) for k in COMPARED}
        assert row["updated_at"] == got.updated_at and row["updated_at"] >= before  # auto_now
    assert Customer.objects.filter(enterprise=ent["enterprise"]).count() == 2 * n


def test_insert_rows_prepares_json_ip_and_times_and_returns_ids_in_order(ent):
    names = [f.attname for f in insert_fields(AuditLog)]
    at = timezone.now()
    values = [{"enterprise_id": ent["enterprise"].pk, "actor_id": ent["admin"].pk if i % 2 else None,
               "actor_label": "800", "at": at, "ip": "10.0.0.7" if i % 2 else None, "channel": Channel.IMPORT,
               "action": "create", "object_type": "x.y", "object_id": str(i), "object_repr": f"第{i}个",
               "changes": {"name": [None, f"名{i}"], "data": [{}, {"a": [1, 2]}]}} for i in range(120)]
    ids = insert_rows(AuditLog, [tuple(v[a] for a in names) for v in values])
    assert len(ids) == 120 and ids == sorted(ids)
    got = {r["id"]: r for r in AuditLog.objects.filter(pk__in=ids).values()}
    for pk, want in zip(ids, values, strict=True):
        assert {a: got[pk][a] for a in names} == want


def test_record_many_writes_the_entry_record_create_writes(ent):
    category = services.category_create(enterprise=ent["enterprise"], name="审计")
    _zero, one, _two, many = _customers(ent, category, "1370", 4)
    one.save()
    many.save()
    with acting(actor=ent["admin"], channel=Channel.IMPORT, ip="192.0.2.1"):
        audit.record_create(one)
        assert audit.creation(many) == audit.diff({}, audit.snapshot(many))
        assert audit.creation(ent["admin"]) == audit.diff({}, audit.snapshot(ent["admin"]))  # a masked password
        audit.record_many([(many, "create", audit.creation(many))])
    a = AuditLog.objects.filter(object_id=str(one.pk), object_type="crm.customer").values().get()
    b = AuditLog.objects.filter(object_id=str(many.pk), object_type="crm.customer").values().get()
    assert b["changes"]["phone"] == [None, many.phone] and b["changes"]["id"] == [None, many.pk]
    assert set(b["changes"]) == set(a["changes"])
    for key in ("enterprise_id", "actor_id", "actor_label", "ip", "channel", "action", "object_type"):
        assert a[key] == b[key], key
    assert b["object_repr"] == str(many)


def test_a_large_import_creates_updates_and_audits_every_customer(ent):
    """Rows over several import batches and INSERT statements: each created customer has its id in
    its own audit entry; stored phones are updated, not duplicated; owners by number."""
    e = ent["enterprise"]
    old = services.category_create(enterprise=e, name="旧")
    new = services.category_create(enterprise=e, name="新")
    stored = [services.customer_create(enterprise=e, values={"category": old, "phone": f"1350000{i:04d}",
                                                             "name": "旧名", "owner": ent["agent"]})
              for i in range(0, 300, 7)]
    importer = CustomerImporter(enterprise=e, user=ent["admin"], options={"category": str(new.pk)})
    header = [str(c.header) for c in importer.get_columns()]
    body = [[f"客户{i}", f"1350000{i:04d}", "", "811" if i % 2 else ""] for i in range(300)]
    with acting(actor=ent["admin"], channel=Channel.IMPORT):
        result = run_import(importer, header, body, batch=64)
    assert (result.saved, result.errors) == (300, [])
    assert importer.summary() == "新增 257 个客户，更新 43 个已有客户（电话相同）"
    customers = {c.phone: c for c in Customer.objects.filter(enterprise=e)}
    assert len(customers) == 300 and all(c.category_id == new.pk for c in customers.values())
    for i in range(300):
        c = customers[f"1350000{i:04d}"]
        assert c.name == f"客户{i}"
        assert c.owner_id == (ent["sub1"].pk if i % 2 else (ent["agent"].pk if i % 7 == 0 else ent["admin"].pk))
    created = AuditLog.objects.filter(enterprise=e, object_type="crm.customer", action="create",
                                      channel=Channel.IMPORT)
    assert created.count() == 257
    for entry in created:
        c = Customer.objects.get(pk=int(entry.object_id))
        assert entry.changes["phone"] == [None, c.phone] and entry.actor_id == ent["admin"].pk
    updated = AuditLog.objects.filter(enterprise=e, object_type="crm.customer", action="update")
    assert sorted(int(u.object_id) for u in updated) == sorted(c.pk for c in stored)
