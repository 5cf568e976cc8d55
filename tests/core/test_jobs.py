"""Worker jobs: large imports and exports run through Huey (immediate mode, so the task runs
when the request's transaction commits), their job pages, downloads and who may see them."""

from __future__ import annotations

import io
import re
from pathlib import Path

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from callcenter.accounts.models import Agent
from callcenter.core.models import AuditLog, Job

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

worker = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


@pytest.fixture
def limits(settings):
    def set_limits(**values):
        settings.CALLCENTER = {**settings.CALLCENTER, **values}

    return set_limits


def xlsx(header, rows) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def job_of(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:1000]
    m = re.fullmatch(r"/jobs/(\d+)/", response["Location"])
    assert m, response["Location"]
    return Job.objects.get(pk=int(m.group(1)))


def read_xlsx(content: bytes) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [tuple("" if v is None else v for v in row)
            for ws in wb.worksheets for row in ws.iter_rows(values_only=True)]


def post_import(client, rows, importer="rename", header=("坐席号", "姓名")):
    data = xlsx(list(header), rows)
    return client.post("/accounts/agents/import/", {
        "importer": importer, "file": SimpleUploadedFile("big.xlsx", data, content_type=XLSX)})


# --- imports in the worker -------------------------------------------------------------------


@worker
def test_large_import_runs_in_the_worker(ent, as_user, limits, huey_immediate):
    limits(IMPORT_INLINE_ROWS=5)
    rows = [[n, f"新名{n}"] for n in ("800", "810", "811", "812", "820", "830")]
    rows += [["999", "无此人"], ["811", "重复"]]
    client = as_user(ent["admin"])
    r = post_import(client, rows)
    job = job_of(r)
    assert (job.kind, job.status, job.total, job.done, job.succeeded, job.failed) == (
        "import", "done", 8, 8, 6, 2)
    assert job.finished_at is not None and job.message == ""
    assert job.input_file and not Path(job.input_file).exists()  # the uploaded copy is removed
    assert Path(job.result_file).exists()

    names = dict(Agent.objects.filter(enterprise=ent["enterprise"]).values_list("number", "name"))
    assert names == {n: f"新名{n}" for n in ("800", "810", "811", "812", "820", "830")}

    html = client.get(r["Location"]).content.decode()
    assert "完成" in html and '<span id="job-succeeded">6</span>' in html and '<span id="job-failed">2</span>' in html
    assert "hx-trigger" not in html  # finished: no more polling

    report = read_xlsx(b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content))
    assert report[0][:2] == ("行号", "失败原因")
    assert [(row[0], row[2]) for row in report[1:]] == [(8, "999"), (9, "811")]
    assert "不存在" in report[1][1] and "重复" in report[2][1]

    logs = AuditLog.objects.filter(object_type="accounts.agent", action="update")
    assert logs.count() == 6
    assert set(logs.values_list("channel", flat=True)) == {"import"}
    assert set(logs.values_list("actor_id", flat=True)) == {ent["admin"].pk}
    assert set(logs.values_list("ip", flat=True)) == {"127.0.0.1"}


@worker
def test_small_import_runs_inline_without_the_worker(ent, as_user, limits):
    """At the inline limit nothing is queued: the job is done when the response comes back."""
    limits(IMPORT_INLINE_ROWS=2)
    job = job_of(post_import(as_user(ent["admin"]), [["811", "甲"], ["812", "乙"]]))
    assert (job.status, job.succeeded, job.input_file) == ("done", 2, "")


@worker
def test_worker_import_of_department_moves(ent, as_user, limits, huey_immediate):
    from callcenter.accounts.models import Department

    limits(IMPORT_INLINE_ROWS=1)
    sales = Department.objects.create(enterprise=ent["enterprise"], name="销售部")
    group = Department.objects.create(enterprise=ent["enterprise"], name="一组", parent=sales)
    job = job_of(post_import(as_user(ent["admin"]), [["811", "销售部/一组"], ["812", "销售部"]],
                             importer="department", header=("坐席号", "部门")))
    assert (job.status, job.succeeded, job.failed) == ("done", 2, 0)
    assert Agent.objects.get(pk=ent["sub1"].pk).department_id == group.pk
    assert Agent.objects.get(pk=ent["sub2"].pk).department_id == sales.pk


@worker
def test_worker_import_stays_in_the_users_enterprise(ent, other, as_user, limits, huey_immediate):
    limits(IMPORT_INLINE_ROWS=1)
    job = job_of(post_import(as_user(other["admin"]), [["811", "越权"], ["801", "本企业"]]))
    assert (job.status, job.succeeded, job.failed) == ("done", 1, 1)
    assert Agent.objects.get(pk=ent["sub1"].pk).name == "坐席811"
    assert Agent.objects.get(pk=other["agent"].pk).name == "本企业"


# --- exports in the worker --------------------------------------------------------------------


@worker
def test_large_export_runs_in_the_worker(ent, other, as_user, limits, huey_immediate):
    limits(EXPORT_STREAM_ROWS=3)
    client = as_user(ent["admin"])
    r = client.get("/accounts/agents/export/")
    job = job_of(r)
    assert (job.kind, job.status, job.done, job.succeeded) == ("export", "done", 6, 6)
    html = client.get(r["Location"]).content.decode()
    assert "完成" in html and f'href="/jobs/{job.pk}/download/"' in html

    d = client.get(f"/jobs/{job.pk}/download/")
    assert d.status_code == 200 and d["Content-Type"] == XLSX
    assert 'filename="agent-export.xlsx"' in d["Content-Disposition"]
    rows = read_xlsx(b"".join(d.streaming_content))
    assert rows[0][:3] == ("坐席号", "姓名", "坐席类型")
    assert [row[0] for row in rows[1:]] == ["800", "810", "811", "812", "820", "830"]


@worker
def test_worker_export_keeps_the_filters_and_the_scope(ent, as_user, limits, huey_immediate):
    limits(EXPORT_STREAM_ROWS=2)
    client = as_user(ent["admin"])
    job = job_of(client.get("/accounts/agents/export/", {"agent_type": "normal"}))
    rows = read_xlsx(b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content))
    assert [row[0] for row in rows[1:]] == ["810", "811", "812", "820"]

    sup = as_user(ent["supervisor"])
    job = job_of(sup.get("/accounts/agents/export/"))
    assert job.succeeded == 3
    rows = read_xlsx(b"".join(sup.get(f"/jobs/{job.pk}/download/").streaming_content))
    assert [row[0] for row in rows[1:]] == ["810", "811", "812"]


@worker
def test_worker_export_splits_into_sheets(ent, as_user, limits, huey_immediate):
    limits(EXPORT_STREAM_ROWS=1, EXPORT_SHEET_ROWS=4)
    client = as_user(ent["admin"])
    job = job_of(client.get("/accounts/agents/export/"))
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(client.get(f"/jobs/{job.pk}/download/").streaming_content)))
    assert wb.sheetnames == ["Sheet1", "Sheet2"]
    first = [r[0] for r in wb["Sheet1"].iter_rows(values_only=True)]
    second = [r[0] for r in wb["Sheet2"].iter_rows(values_only=True)]
    assert first == ["坐席号", "800", "810", "811", "812"]
    assert second == ["坐席号", "820", "830"]


# --- who may see a job ----------------------------------------------------------------------------


@worker
def test_another_user_cannot_open_the_job(ent, other, as_user, limits, huey_immediate):
    limits(EXPORT_STREAM_ROWS=1)
    job = job_of(as_user(ent["admin"]).get("/accounts/agents/export/"))
    assert job.status == "done"
    for intruder in (other["admin"], ent["supervisor"], ent["agent"]):
        client = as_user(intruder)
        assert client.get(f"/jobs/{job.pk}/").status_code == 404
        assert client.get(f"/jobs/{job.pk}/download/").status_code == 404


def test_anonymous_cannot_open_a_job(ent, client):
    job = Job.objects.create(enterprise=ent["enterprise"], user=ent["admin"], kind="export", screen="accounts.agent")
    for url in (f"/jobs/{job.pk}/", f"/jobs/{job.pk}/download/"):
        r = client.get(url)
        assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_job_page_polls_with_htmx_while_running(ent, as_user):
    job = Job.objects.create(enterprise=ent["enterprise"], user=ent["admin"], kind="import", screen="accounts.agent",
                             status="running", total=200, done=50)
    client = as_user(ent["admin"])
    full = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "<html" in full and "25%" in full and 'hx-trigger="every 1s"' in full
    part = client.get(f"/jobs/{job.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in part and 'id="job"' in part and "50/200" in part


def test_failed_job_shows_its_message(ent, as_user):
    job = Job.objects.create(enterprise=ent["enterprise"], user=ent["admin"], kind="import", screen="accounts.agent",
                             status="failed", message="文件已损坏，无法读取")
    html = as_user(ent["admin"]).get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="job-message"' in html and "文件已损坏，无法读取" in html
    assert "job-download" not in html
