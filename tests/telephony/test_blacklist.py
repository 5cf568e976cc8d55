"""黑名单 (manual 2.7.3): add, Excel import with bad rows, export, and the `is_blacklisted` selector."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from callcenter.core.models import AuditLog, Job
from callcenter.telephony import services
from callcenter.telephony.models import BlacklistEntry
from callcenter.telephony.selectors import blacklisted_numbers, is_blacklisted
from tests.telephony.conftest import field_errors

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx(rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def sheet(content: bytes) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [tuple("" if v is None else v for v in r) for r in wb.worksheets[0].iter_rows(values_only=True)]


def entries(enterprise) -> dict[str, str]:
    return dict(BlacklistEntry.objects.filter(enterprise=enterprise).values_list("number", "direction"))


def test_add_and_duplicate_refused(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post("/telephony/blacklists/add/", {"number": "138-0013-8000", "direction": "in", "remark": "骚扰"})
    assert r.status_code == 302
    assert entries(ent["enterprise"]) == {"13800138000": "in"}
    r = c.post("/telephony/blacklists/add/", {"number": "13800138000", "direction": "out"})
    assert field_errors(r)["number"] == ["号码：号码 13800138000 已在黑名单中"]
    r = c.post("/telephony/blacklists/add/", {"number": "abc", "direction": "out"})
    assert "number" in field_errors(r)
    assert entries(ent["enterprise"]) == {"13800138000": "in"}
    assert AuditLog.objects.filter(object_type="telephony.blacklistentry", action="create").count() == 1


def test_is_blacklisted_by_direction(ent, other):
    e = ent["enterprise"]
    services.blacklist_add(enterprise=e, number="111222", direction="in")
    services.blacklist_add(enterprise=e, number="333444", direction="out")
    services.blacklist_add(enterprise=e, number="555666", direction="both")
    table = {(n, d): is_blacklisted(e.pk, n, d) for n in ("111222", "333444", "555666", "777888")
             for d in ("in", "out")}
    assert table == {("111222", "in"): True, ("111222", "out"): False, ("333444", "in"): False,
                     ("333444", "out"): True, ("555666", "in"): True, ("555666", "out"): True,
                     ("777888", "in"): False, ("777888", "out"): False}
    assert is_blacklisted(e.pk, "555-666", "in")
    assert not is_blacklisted(other["enterprise"].pk, "555666", "in")
    assert blacklisted_numbers(e.pk, ["111222", "333444", "555666", "x"], "out") == {"333444", "555666"}
    with pytest.raises(ValueError):
        is_blacklisted(e.pk, "111222", "both")


def test_import_with_bad_rows_and_failure_report(ent, as_user):
    e = ent["enterprise"]
    services.blacklist_add(enterprise=e, number="13900000000")
    c = as_user(ent["admin"])
    template = c.get("/telephony/blacklists/import/template/", {"importer": "blacklist"})
    assert sheet(template.content)[0] == ("号码 *", "方向", "备注")
    data = xlsx([("号码", "方向", "备注"),
                 ("13800000001", "呼入", "一"),
                 ("13800000002", "", ""),
                 ("13800000003", "out", "三"),
                 ("13800000001", "呼出", "文件中重复"),
                 ("13900000000", "呼入", "已存在"),
                 ("12ab", "呼入", "坏号码"),
                 ("13800000004", "双向呼叫", "坏方向")])
    r = c.post("/telephony/blacklists/import/", {"importer": "blacklist", "file": SimpleUploadedFile(
        "bl.xlsx", data, content_type=XLSX)})
    assert r.status_code == 302
    job = Job.objects.get(pk=int(re.fullmatch(r"/jobs/(\d+)/", r["Location"]).group(1)))
    assert (job.status, job.total, job.succeeded, job.failed) == ("done", 7, 3, 4)
    assert entries(e) == {"13900000000": "both", "13800000001": "in", "13800000002": "both",
                          "13800000003": "out"}
    report = sheet(b"".join(c.get(f"/jobs/{job.pk}/download/").streaming_content))
    reasons = {row[2]: row[1] for row in report[1:]}
    assert reasons == {"13800000001": "号码：13800000001 在文件中重复", "13900000000": "号码：13900000000 已在黑名单中",
                       "12ab": "号码：12ab 不是3到20位数字",
                       "13800000004": "方向：“双向呼叫”无效，请填写 呼入、呼出 或 呼入和呼出"}
    assert AuditLog.objects.filter(object_type="telephony.blacklistentry", channel="import").count() == 3


def test_import_refuses_a_file_that_is_not_excel(ent, as_user):
    r = as_user(ent["admin"]).post("/telephony/blacklists/import/", {"importer": "blacklist", "file": (
        SimpleUploadedFile("bl.xlsx", b"13800000001,in\n", content_type=XLSX))})
    assert r.status_code == 400
    assert not BlacklistEntry.objects.exists()


def test_export_has_the_enterprise_rows(ent, other, as_user):
    services.blacklist_add(enterprise=ent["enterprise"], number="13800000001", direction="in", remark="甲")
    services.blacklist_add(enterprise=ent["enterprise"], number="13800000002", direction="out")
    services.blacklist_add(enterprise=other["enterprise"], number="13800000009")
    r = as_user(ent["admin"]).get("/telephony/blacklists/export/", {"direction": "in"})
    assert r.status_code == 200 and r["Content-Type"] == XLSX
    rows = sheet(b"".join(r.streaming_content))
    assert rows[0] == ("号码", "方向", "备注", "添加时间")
    assert [row[:3] for row in rows[1:]] == [("13800000001", "呼入", "甲")]
    rows = sheet(b"".join(as_user(ent["admin"]).get("/telephony/blacklists/export/").streaming_content))
    assert sorted(row[0] for row in rows[1:]) == ["13800000001", "13800000002"]
    assert as_user(ent["agent"]).get("/telephony/blacklists/export/").status_code == 403


def test_api_blacklist(ent, other, as_user):
    c = as_user(ent["admin"])
    r = c.post("/api/v1/blacklist/", {"number": "13800000001", "direction": "out"}, content_type="application/json")
    assert r.status_code == 201
    pk = r.json()["id"]
    r = c.post("/api/v1/blacklist/", {"number": "13800000001"}, content_type="application/json")
    assert r.status_code == 400 and r.json()["number"] == ["号码 13800000001 已在黑名单中"]
    assert [x["number"] for x in c.get("/api/v1/blacklist/?direction=out").json()["results"]] == ["13800000001"]
    assert as_user(other["admin"]).get(f"/api/v1/blacklist/{pk}/").status_code == 404
    assert as_user(other["admin"]).get("/api/v1/blacklist/").json()["results"] == []
    assert c.delete(f"/api/v1/blacklist/{pk}/").status_code == 204
    assert not BlacklistEntry.objects.exists()
