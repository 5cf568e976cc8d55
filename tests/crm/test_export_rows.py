"""The customer export reads values, not model instances (CustomerScreen.export_rows, for the
million-customer export of bench/customers.py): its cells must equal the generic rows."""

from __future__ import annotations

import io

import openpyxl
from django.http import QueryDict

from callcenter.core.exporting import export_rows
from callcenter.core.screens import get_screen
from callcenter.core.tasks import screen_queryset
from tests.crm.conftest import make_customer


def _both(user, params=""):
    screen = get_screen("crm.customer")
    qs = screen_queryset(screen, user, QueryDict(params))
    columns = screen.get_export_columns(user)
    return list(export_rows(qs, columns)), list(screen.export_rows(qs, columns))


def test_fast_rows_equal_the_generic_rows(crm):
    from callcenter.crm.models import Customer

    make_customer(crm, crm["agent"], data={"intent": "A / A1", "birthday": "1990-05-06", "budget": 1200})
    make_customer(crm, crm["sub1"], phone="13900139000", name="李四", data={"budget": 2.5})
    make_customer(crm, None, phone="13700137000", name="")  # no owner, no custom values
    odd = make_customer(crm, crm["agent"], phone="13600136000")
    # values the services never store but JSON may hold: a flag, a null, a list
    Customer.objects.filter(pk=odd.pk).update(data={"intent": True, "birthday": None, "budget": [1, 2]})
    generic, fast = _both(crm["admin"])
    assert len(generic) == 4 and fast == generic
    assert fast[0][:5] == ["客户", "13800138000", "", "零售", "820"] and fast[0][6:] == ["A / A1", "1990-05-06", 1200]
    assert fast[2][4] == "" and fast[2][6:] == ["", "", ""]
    assert fast[3][6:] == ["是", "", "[1, 2]"]


def test_fast_rows_keep_the_data_scope_and_the_filter(crm):
    make_customer(crm, crm["agent"])
    make_customer(crm, crm["sub1"], phone="13900139000")
    make_customer(crm, crm["sub2"], phone="13700137000")
    generic, fast = _both(crm["supervisor"])
    assert fast == generic and sorted(r[4] for r in fast) == ["811", "812"]
    generic, fast = _both(crm["admin"], "phone=13900139000")
    assert fast == generic and [r[1] for r in fast] == ["13900139000"]


def test_other_columns_fall_back_to_the_generic_rows(crm):
    make_customer(crm, crm["agent"])
    screen = get_screen("crm.customer")
    qs = screen_queryset(screen, crm["admin"], QueryDict(""))
    columns = [("电话", "phone"), ("客户名称", "name")]
    assert list(screen.export_rows(qs, columns)) == [["13800138000", "客户"]]


def test_worker_export_job_writes_the_fast_rows(crm, settings, tmp_path, monkeypatch):
    from callcenter.core import tasks
    from callcenter.core.models import Job

    settings.MEDIA_ROOT = str(tmp_path)
    monkeypatch.setattr(tasks, "close_old_connections", lambda: None)  # the test's transaction stays open
    make_customer(crm, crm["agent"], data={"intent": "B", "budget": 7})
    job = Job.objects.create(enterprise=crm["enterprise"], user=crm["admin"], kind="export", screen="crm.customer",
                             params={"query": ""})
    tasks.run_export_job(job.pk)
    job.refresh_from_db()
    assert job.status == "done" and job.succeeded == 1
    with open(job.result_file, "rb") as fh:  # noqa: PTH123
        rows = list(openpyxl.load_workbook(io.BytesIO(fh.read())).active.iter_rows(values_only=True))
    assert rows[0][:6] == ("客户名称", "电话", "公司", "客户分类", "归属坐席", "创建时间")
    assert rows[1][:5] == ("客户", "13800138000", None, "零售", "820") and rows[1][6] == "B" and rows[1][8] == 7
