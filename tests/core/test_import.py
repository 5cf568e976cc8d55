"""Excel import on the agents screen: templates, batch rename / move department / caller ID,
bad rows and the failure report, refused files, permissions, tenancy and the audit log.

Every file is a real xlsx built with openpyxl and posted over HTTP.
"""

from __future__ import annotations

import io
import re
import zipfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from callcenter.accounts.models import Agent, CallerId, Department
from callcenter.core.models import AuditLog, Job
from tests.conftest import make_agent

IMPORT_URL = "/accounts/agents/import/"
TEMPLATE_URL = "/accounts/agents/import/template/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADERS = {
    "rename": ["坐席号", "姓名"],
    "department": ["坐席号", "部门"],
    "caller_id": ["坐席号", "外显号码"],
}


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


def xlsx(header, rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def post_file(client, importer, data: bytes, name="agents.xlsx"):
    return client.post(IMPORT_URL, {"importer": importer,
                                    "file": SimpleUploadedFile(name, data, content_type=XLSX)})


def job_from(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:2000]
    m = re.fullmatch(r"/jobs/(\d+)/", response["Location"])
    assert m, response["Location"]
    return Job.objects.get(pk=int(m.group(1)))


def sheet_rows(content: bytes, sheet=0) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    ws = wb.worksheets[sheet] if isinstance(sheet, int) else wb[sheet]
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def names(enterprise) -> dict[str, str]:
    return dict(Agent.objects.filter(enterprise=enterprise).values_list("number", "name"))


def file_errors(response) -> list[str]:
    return list(response.context["form"].errors.get("file", []))


# --- the screen and its templates -----------------------------------------------------------


def test_import_page_offers_each_importer_with_its_template(ent, as_user):
    r = as_user(ent["admin"]).get(IMPORT_URL)
    assert r.status_code == 200
    html = r.content.decode()
    for key, label in (("rename", "批量改名"), ("department", "批量转移部门"), ("caller_id", "批量分配外显号码")):
        assert label in html
        assert f'{TEMPLATE_URL}?importer={key}"' in html
    assert 'enctype="multipart/form-data"' in html


@pytest.mark.parametrize("key", ["rename", "department", "caller_id"])
def test_template_is_a_real_xlsx_with_the_importer_headers(ent, as_user, key):
    r = as_user(ent["admin"]).get(TEMPLATE_URL, {"importer": key})
    assert r.status_code == 200
    assert r["Content-Type"] == XLSX
    assert f'filename="agent-{key}-template.xlsx"' in r["Content-Disposition"]
    assert zipfile.ZipFile(io.BytesIO(r.content)).testzip() is None
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["data", "说明"]
    rows = sheet_rows(r.content, "data")
    assert rows[0] == tuple(h + " *" for h in HEADERS[key])  # both columns are required
    assert len(rows) == 2 and rows[1][0] == "801"  # one example row
    notes = sheet_rows(r.content, "说明")
    assert notes[0] == ("列", "必填", "说明")
    assert [n[0] for n in notes[1:3]] == HEADERS[key]


def test_unknown_template_is_404(ent, as_user):
    assert as_user(ent["admin"]).get(TEMPLATE_URL, {"importer": "nope"}).status_code == 404


def test_downloaded_template_filled_in_imports(ent, as_user):
    """The template's own headers ("坐席号 *") are accepted when read back."""
    client = as_user(ent["admin"])
    wb = openpyxl.load_workbook(io.BytesIO(client.get(TEMPLATE_URL, {"importer": "rename"}).content))
    ws = wb["data"]
    ws.delete_rows(2)
    ws.append(["811", "模板改名"])
    buf = io.BytesIO()
    wb.save(buf)
    job = job_from(post_file(client, "rename", buf.getvalue()))
    assert (job.status, job.succeeded, job.failed) == ("done", 1, 0)
    assert Agent.objects.get(pk=ent["sub1"].pk).name == "模板改名"


# --- batch rename with bad rows --------------------------------------------------------------


def test_rename_saves_valid_rows_and_reports_bad_rows(ent, as_user):
    before = names(ent["enterprise"])
    data = xlsx(["坐席号", "姓名"], [
        ["811", "王一"],          # line 2: ok
        ["999", "无此人"],        # line 3: unknown number
        ["812", ""],              # line 4: empty name
        ["811", "王一又来"],      # line 5: duplicate in file
        [820, "赵二"],            # line 6: ok (a numeric cell)
        ["", "没有坐席号"],       # line 7: empty number
        ["830", "名" * 51],       # line 8: too long
    ])
    client = as_user(ent["admin"])
    r = post_file(client, "rename", data)
    job = job_from(r)
    assert (job.kind, job.status, job.total, job.done, job.succeeded, job.failed) == (
        "import", "done", 7, 7, 2, 5)
    assert job.params["importer"] == "rename" and job.params["name"] == "agents.xlsx"

    after = names(ent["enterprise"])
    assert after["811"] == "王一" and after["820"] == "赵二"
    unchanged = {n: v for n, v in after.items() if n not in ("811", "820")}
    assert unchanged == {n: v for n, v in before.items() if n not in ("811", "820")}
    assert not Agent.objects.filter(enterprise=ent["enterprise"], number="999").exists()

    page = client.get(r["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert '<span id="job-succeeded">2</span>' in html
    assert '<span id="job-failed">5</span>' in html
    assert "7/7" in html
    assert f'href="/jobs/{job.pk}/download/"' in html

    report = client.get(f"/jobs/{job.pk}/download/")
    assert report.status_code == 200
    assert report["Content-Type"] == XLSX
    assert 'filename="failures.xlsx"' in report["Content-Disposition"]
    rows = sheet_rows(b"".join(report.streaming_content))
    assert rows[0] == ("行号", "失败原因", "坐席号", "姓名")
    by_line = {row[0]: row for row in rows[1:]}
    assert sorted(by_line) == [3, 4, 5, 7, 8]
    assert "999 不存在" in by_line[3][1] and by_line[3][2:] == ("999", "无此人")
    assert "姓名：不能为空" in by_line[4][1] and by_line[4][2] == "812"
    assert "811 在文件中重复" in by_line[5][1]
    assert "坐席号：不能为空" in by_line[7][1]
    assert "姓名：最多50个字符" in by_line[8][1]


def test_failure_report_line_numbers_match_the_sheet_after_blank_rows(ent, as_user):
    """A blank row in the middle is skipped, but later rows keep their Excel row number."""
    data = xlsx(["坐席号", "姓名"], [["811", "甲"], [None, None], [None, None], ["999", "乙"]])
    client = as_user(ent["admin"])
    job = job_from(post_file(client, "rename", data))
    assert (job.total, job.succeeded, job.failed) == (2, 1, 1)
    rows = sheet_rows(b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content))
    assert [r[0] for r in rows[1:]] == [5]  # the sheet row of "999", not its position among data rows


def test_clean_import_has_no_failure_report(ent, as_user):
    client = as_user(ent["admin"])
    job = job_from(post_file(client, "rename", xlsx(["坐席号", "姓名"], [["811", "甲"]])))
    assert (job.succeeded, job.failed, job.result_file) == (1, 0, "")
    assert "job-download" not in client.get(f"/jobs/{job.pk}/").content.decode()
    assert client.get(f"/jobs/{job.pk}/download/").status_code == 404


def test_columns_are_found_by_header_not_by_position(ent, as_user):
    data = xlsx(["备注", "姓名", "坐席号"], [["x", "换了列序", "812"]])
    job = job_from(post_file(as_user(ent["admin"]), "rename", data))
    assert (job.succeeded, job.failed) == (1, 0)
    assert Agent.objects.get(pk=ent["sub2"].pk).name == "换了列序"


def test_missing_required_column_is_refused_and_leaves_no_job(ent, as_user):
    before = names(ent["enterprise"])
    r = post_file(as_user(ent["admin"]), "rename", xlsx(["坐席号", "名字"], [["811", "甲"]]))
    assert r.status_code == 400
    assert any("缺少列：姓名" in e for e in file_errors(r))
    assert not Job.objects.exists()
    assert names(ent["enterprise"]) == before


# --- batch move department ---------------------------------------------------------------------


@pytest.fixture
def departments(ent):
    e = ent["enterprise"]
    sales = Department.objects.create(enterprise=e, name="销售部")
    tech = Department.objects.create(enterprise=e, name="技术部")
    return {
        "sales": sales, "tech": tech,
        "sales1": Department.objects.create(enterprise=e, name="一组", parent=sales),
        "tech1": Department.objects.create(enterprise=e, name="一组", parent=tech),
        "service": Department.objects.create(enterprise=e, name="客服部"),
    }


def test_move_department_by_name_and_path(ent, other, departments, as_user):
    Department.objects.create(enterprise=other["enterprise"], name="外企部")
    make_agent(ent["enterprise"], "840")
    data = xlsx(["坐席号", "部门"], [
        ["811", "销售部/一组"],        # line 2: full path
        ["812", " 技术部 / 一组 "],    # line 3: path with spaces
        ["820", "客服部"],             # line 4: unique name
        ["830", "一组"],               # line 5: ambiguous name
        ["810", "不存在的部门"],       # line 6: unknown
        ["800", "外企部"],             # line 7: another enterprise's department
        ["840", ""],                   # line 8: empty
    ])
    client = as_user(ent["admin"])
    job = job_from(post_file(client, "department", data))
    assert (job.succeeded, job.failed) == (3, 4)
    dept = dict(Agent.objects.filter(enterprise=ent["enterprise"]).values_list("number", "department_id"))
    assert dept["811"] == departments["sales1"].pk
    assert dept["812"] == departments["tech1"].pk
    assert dept["820"] == departments["service"].pk
    assert dept["830"] is None and dept["810"] is None and dept["800"] is None and dept["840"] is None

    rows = sheet_rows(b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content))
    reasons = {r[0]: r[1] for r in rows[1:]}
    assert sorted(reasons) == [5, 6, 7, 8]
    assert "有多个“一组”" in reasons[5]
    assert "不存在的部门 不存在" in reasons[6]
    assert "外企部 不存在" in reasons[7]
    assert "部门：不能为空" in reasons[8]


# --- batch caller-ID assignment -----------------------------------------------------------------


def test_assign_caller_id_refuses_unknown_numbers(ent, other, as_user):
    from callcenter.accounts import services

    mine = services.caller_ids_add(enterprise=ent["enterprise"], start="02011112222")[0]
    theirs = CallerId.objects.filter(enterprise=other["enterprise"]).first()
    original = ent["sub2"].caller_id_id
    data = xlsx(["坐席号", "外显号码"], [
        ["811", "02011112222"],    # ok
        ["812", "09999999999"],    # not a caller ID at all
        ["820", theirs.number],    # another enterprise's caller ID
        ["830", ""],               # empty
    ])
    client = as_user(ent["admin"])
    job = job_from(post_file(client, "caller_id", data))
    assert (job.succeeded, job.failed) == (1, 3)
    assert Agent.objects.get(pk=ent["sub1"].pk).caller_id_id == mine.pk
    assert Agent.objects.get(pk=ent["sub2"].pk).caller_id_id == original
    assert Agent.objects.get(pk=ent["agent"].pk).caller_id.enterprise_id == ent["enterprise"].pk
    rows = sheet_rows(b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content))
    reasons = {r[0]: r[1] for r in rows[1:]}
    assert "09999999999 不在本企业的外显号码中" in reasons[3]
    assert f"{theirs.number} 不在本企业的外显号码中" in reasons[4]
    assert "外显号码：不能为空" in reasons[5]


# --- files that are refused ----------------------------------------------------------------------


def _zip_without_workbook() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("hello.txt", "not a workbook")
    return buf.getvalue()


def _corrupt_xlsx() -> bytes:
    data = xlsx(["坐席号", "姓名"], [["811", "甲"]])
    return data[: len(data) // 2]


BAD_FILES = {
    "csv named xlsx": ("坐席号,姓名\n811,甲\n".encode(), "不是 Excel"),
    "random bytes": (bytes(range(256)) * 8, "不是 Excel"),
    "zip without workbook": (_zip_without_workbook(), "不是 Excel"),
    "truncated xlsx": (_corrupt_xlsx(), "已损坏"),
    "header only": (xlsx(["坐席号", "姓名"], []), "只有表头"),
    "empty sheet": (xlsx([], []), "没有数据"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_unreadable_files_are_refused_on_the_file_field(ent, as_user, case):
    data, message = BAD_FILES[case]
    before = names(ent["enterprise"])
    audits = AuditLog.objects.count()
    r = post_file(as_user(ent["admin"]), "rename", data)
    assert r.status_code == 400
    errors = file_errors(r)
    assert errors and any(message in e for e in errors), errors
    assert 'data-field="file"' in r.content.decode()
    assert not Job.objects.exists()
    assert names(ent["enterprise"]) == before
    assert AuditLog.objects.count() == audits


def test_empty_upload_is_refused_on_the_file_field(ent, as_user):
    r = post_file(as_user(ent["admin"]), "rename", b"")
    assert r.status_code == 400
    assert file_errors(r)
    assert 'data-field="file"' in r.content.decode()
    assert not Job.objects.exists()


def test_file_above_the_size_limit_is_refused(ent, as_user, settings):
    data = xlsx(["坐席号", "姓名"], [["811", "超限"]])
    settings.CALLCENTER = {**settings.CALLCENTER, "IMPORT_MAX_BYTES": len(data) - 1}
    r = post_file(as_user(ent["admin"]), "rename", data)
    assert r.status_code == 400
    assert any("文件超过" in e for e in file_errors(r))
    assert not Job.objects.exists()
    assert Agent.objects.get(pk=ent["sub1"].pk).name == "坐席811"

    settings.CALLCENTER = {**settings.CALLCENTER, "IMPORT_MAX_BYTES": len(data)}
    job = job_from(post_file(as_user(ent["admin"]), "rename", data))
    assert job.succeeded == 1


def test_unknown_importer_is_refused(ent, as_user):
    r = post_file(as_user(ent["admin"]), "nope", xlsx(["坐席号", "姓名"], [["811", "甲"]]))
    assert r.status_code == 400
    assert "importer" in r.context["form"].errors
    assert not Job.objects.exists()


# --- permissions, data scope and tenancy ---------------------------------------------------------------


@pytest.mark.parametrize("who", ["agent", "staff", "supervisor"])
def test_without_import_permission_is_403(ent, as_user, who):
    client = as_user(ent[who])
    assert client.get(IMPORT_URL).status_code == 403
    assert client.get(TEMPLATE_URL, {"importer": "rename"}).status_code == 403
    r = post_file(client, "rename", xlsx(["坐席号", "姓名"], [[ent[who].number, "自己改"]]))
    assert r.status_code == 403
    assert not Job.objects.exists()
    assert Agent.objects.get(pk=ent[who].pk).name == f"坐席{ent[who].number}"


def test_anonymous_is_sent_to_login(db, client):
    r = client.get(IMPORT_URL)
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_another_enterprises_numbers_are_reported_as_not_existing(ent, other, as_user):
    data = xlsx(["坐席号", "姓名"], [["801", "跨企业"], ["811", "本企业"]])
    client = as_user(ent["admin"])
    job = job_from(post_file(client, "rename", data))
    assert (job.succeeded, job.failed) == (1, 1)
    assert Agent.objects.get(pk=other["agent"].pk).name == "坐席801"
    assert not Agent.objects.filter(enterprise=ent["enterprise"], number="801").exists()
    rows = sheet_rows(b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content))
    assert rows[1][0] == 2 and "801 不存在" in rows[1][1]

    # and the other way round: B's administrator cannot reach A's agent 811
    job_b = job_from(post_file(as_user(other["admin"]), "rename", xlsx(["坐席号", "姓名"], [["811", "越权"]])))
    assert (job_b.succeeded, job_b.failed) == (0, 1)
    assert Agent.objects.get(pk=ent["sub1"].pk).name == "本企业"


def test_importer_respects_the_data_scope(ent, as_user):
    """A supervisor allowed to import reaches only their own subtree."""
    from django.contrib.auth.models import Permission

    ent["supervisor"].role.permissions.add(Permission.objects.get(codename="import_agent"))
    make_agent(ent["enterprise"], "813", role="坐席", supervisor=ent["sub1"])
    data = xlsx(["坐席号", "姓名"], [["811", "下级"], ["813", "下下级"], ["820", "别组"], ["800", "管理员"]])
    job = job_from(post_file(as_user(ent["supervisor"]), "rename", data))
    assert (job.succeeded, job.failed) == (2, 2)
    after = names(ent["enterprise"])
    assert after["811"] == "下级" and after["813"] == "下下级"
    assert after["820"] == "坐席820" and after["800"] == ent["admin"].name


# --- audit -----------------------------------------------------------------------------------------------


def test_import_writes_audit_rows_on_the_import_channel(ent, as_user):
    ent["sub2"].name = "原名"
    ent["sub2"].save()
    data = xlsx(["坐席号", "姓名"], [["811", "新名"], ["812", "原名"], ["999", "无"]])
    job = job_from(post_file(as_user(ent["admin"]), "rename", data, name="批量改名.xlsx"))
    assert (job.succeeded, job.failed) == (2, 1)
    logs = list(AuditLog.objects.filter(object_type="accounts.agent", action="update"))
    # one row per real change: 812 kept its name, so it has none
    assert len(logs) == 1
    log = logs[0]
    assert log.channel == "import"
    assert log.object_id == str(ent["sub1"].pk)
    assert log.enterprise_id == ent["enterprise"].pk
    assert log.actor_id == ent["admin"].pk
    assert log.ip == "127.0.0.1"
    assert log.changes == {"name": ["坐席811", "新名"]}
