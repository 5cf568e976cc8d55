"""Result screens of a task: T5 明细 (numbers, filters, export, recordings), T6 进度 (figures, chart
data, live refresh), T8 坐席任务明细, and the API resources tasks/{id}/numbers and tasks/{id}/progress.
Scope and tenancy are tested from the outside, as each role and as another enterprise."""

from __future__ import annotations

import io
import json
import re

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.campaigns.report_kit import *  # noqa: F403
from tests.campaigns.report_kit import attempt

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def numbers_url(task) -> str:
    return f"/campaigns/tasks/{task.pk}/numbers/"


def progress_url(task) -> str:
    return f"/campaigns/tasks/{task.pk}/progress/"


def phones(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return re.findall(r'class="number-link">(\d+)<', response.content.decode())


def queries(client, path, **extra) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path, **extra)
    assert r.status_code == 200
    return len(ctx.captured_queries)


def read_xlsx(content: bytes) -> list[tuple]:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [tuple("" if v is None else v for v in row)
            for ws in wb.worksheets for row in ws.iter_rows(values_only=True)]


ALL_T = [f"138000000{i:02d}" for i in range(1, 11)]


# --- T5 明细: who may open it ---------------------------------------------------------------------


def test_task_creator_and_admin_see_every_number_in_file_order(reports, as_user):
    for who in ("admin", "supervisor"):
        assert phones(as_user(reports[who]).get(numbers_url(reports["task"]))) == ALL_T, who


def test_task_outside_scope_or_enterprise_is_404_and_no_permission_is_403(reports, as_user):
    task = reports["task"]
    # agent 820 may view tasks, but this one was created by the supervisor: outside their scope
    assert as_user(reports["agent"]).get(numbers_url(task)).status_code == 404
    assert as_user(reports["other"]["admin"]).get(numbers_url(task)).status_code == 404
    assert as_user(reports["other"]["admin"]).get(numbers_url(task) + "export/").status_code == 404
    assert as_user(reports["staff"]).get(numbers_url(task)).status_code == 403
    number = reports["nums"][1]
    assert as_user(reports["other"]["admin"]).get(f"{numbers_url(task)}{number.pk}/").status_code == 404
    # a number of another task under this task's URL
    other_number = reports["ended"].numbers.first()
    assert as_user(reports["admin"]).get(f"{numbers_url(task)}{other_number.pk}/").status_code == 404


@pytest.mark.parametrize(("query", "expected"), [
    ({"status": "retry"}, ["13800000004"]),
    ({"status": "pending"}, ["13800000006"]),
    ({"result": "transferred"}, ["13800000001", "13800000009", "13800000010"]),
    ({"result": "blacklisted"}, ["13800000007"]),
    ({"result": "none"}, ["13800000005", "13800000006"]),
    ({"phone": "+86 138-0000-0003"}, ["13800000003"]),
    ({"min_attempts": "2"}, ["13800000003"]),
])
def test_numbers_filters(reports, as_user, query, expected):
    assert phones(as_user(reports["admin"]).get(numbers_url(reports["task"]), query)) == expected


def test_agent_filter_and_its_choices_follow_the_viewers_scope(reports, as_user):
    task = reports["task"]
    c = as_user(reports["supervisor"])
    assert phones(c.get(numbers_url(task), {"agent": reports["sub2"].pk})) == ["13800000010"]
    page = c.get(numbers_url(task)).content.decode()
    options = re.findall(r'<option value="(\d+)"', page.split('name="agent"')[1].split("</select>")[0])
    assert sorted(map(int, options)) == sorted(reports[k].pk for k in ("supervisor", "sub1", "sub2"))
    assert 'name="task"' not in page  # fixed by the URL, not offered in the filter bar


def test_bad_filter_value_shows_no_rows_and_names_the_field(reports, as_user):
    r = as_user(reports["admin"]).get(numbers_url(reports["task"]), {"min_attempts": "-1"})
    assert phones(r) == []
    assert "呼叫次数不少于" in r.content.decode()


def test_numbers_page_shows_statuses_results_and_the_task_summary(reports, as_user):
    page = as_user(reports["admin"]).get(numbers_url(reports["task"])).content.decode()
    for text in ("任务明细：春季回访", "已转坐席", "接通未转坐席", "无人接听", "待重呼", "呼叫中", "黑名单",
                 "811 坐席811", "01:00", 'id="btn-export"',
                 f'href="/campaigns/tasks/{reports["task"].pk}/progress/"'):
        assert text in page, text
    summary = page.split('id="numbers-summary"')[1].split("</div>")[0]
    assert "号码总数 <b>10</b>" in summary and "未呼叫 <b>3</b>" in summary


# --- T5: recordings ----------------------------------------------------------------------------------


def test_rows_play_the_recordings_the_viewer_may_hear(reports, as_user):
    rec1, rec9 = reports["rec1"], reports["rec9"]
    from callcenter.calls.models import Cdr

    cdr1 = Cdr.objects.get(call_id=rec1.call_id)
    cdr9 = Cdr.objects.get(call_id=rec9.call_id)
    admin = as_user(reports["admin"]).get(numbers_url(reports["task"])).content.decode()
    assert f'data-play-recording="/calls/cdrs/{cdr1.pk}/recording/"' in admin
    assert f'data-play-recording="/calls/cdrs/{cdr9.pk}/recording/"' in admin
    assert 'id="recording-player-template"' in admin and "js/waveform.js" in admin
    # the supervisor's scope holds 811's call, not 820's
    sup = as_user(reports["supervisor"])
    page = sup.get(numbers_url(reports["task"])).content.decode()
    assert f"/calls/cdrs/{cdr1.pk}/recording/" in page and f"/calls/cdrs/{cdr9.pk}/recording/" not in page
    r = sup.get(f"/calls/cdrs/{cdr1.pk}/recording/")
    assert r.status_code == 200 and b"".join(r.streaming_content)[:4] == b"RIFF"
    assert sup.get(f"/calls/cdrs/{cdr9.pk}/recording/").status_code == 404


def test_number_page_lists_every_attempt_with_its_recording_player(reports, as_user):
    task, number = reports["task"], reports["nums"][3]
    page = as_user(reports["admin"]).get(f"{numbers_url(task)}{number.pk}/").content.decode()
    assert page.count("无人接听") >= 3 and "号码明细：13800000003" in page
    number1 = reports["nums"][1]
    page = as_user(reports["admin"]).get(f"{numbers_url(task)}{number1.pk}/").content.decode()
    assert "data-recording-player" in page and "<canvas" in page and "下载录音" in page


# --- T5: export ----------------------------------------------------------------------------------


def test_export_has_the_filtered_numbers_of_the_task(reports, as_user):
    r = as_user(reports["supervisor"]).get(numbers_url(reports["task"]) + "export/", {"result": "transferred"})
    assert r.status_code == 200 and r["Content-Type"] == XLSX
    rows = read_xlsx(b"".join(r.streaming_content))
    assert rows[0][:6] == ("行号", "号码", "客户", "状态", "结果", "呼叫次数")
    assert [row[1] for row in rows[1:]] == ["13800000001", "13800000009", "13800000010"]
    assert rows[1][4] == "已转坐席" and rows[1][7] == "811 坐席811" and rows[1][8] == 60


def test_export_needs_its_permission(reports, as_user):
    from callcenter.accounts.models import Role

    role = Role.objects.get(enterprise=reports["enterprise"], name="班长")
    role.permissions.remove(Permission.objects.get(codename="export_tasknumber"))
    c = as_user(reports["supervisor"])
    assert c.get(numbers_url(reports["task"]) + "export/").status_code == 403
    assert 'id="btn-export"' not in c.get(numbers_url(reports["task"])).content.decode()


@pytest.mark.django_db(transaction=True)  # the job starts when the request's transaction commits
def test_large_export_runs_in_the_worker_on_that_task_only(reports, as_user, settings):
    from huey.contrib.djhuey import HUEY

    from callcenter.core.models import Job

    settings.CALLCENTER = {**settings.CALLCENTER, "EXPORT_STREAM_ROWS": 2}
    was, HUEY.immediate = HUEY.immediate, True
    try:
        r = as_user(reports["admin"]).get(numbers_url(reports["task"]) + "export/", {"status": "done"})
    finally:
        HUEY.immediate = was
    assert r.status_code == 302
    job = Job.objects.get()
    assert job.status == "done", job.message
    rows = read_xlsx(open(job.result_file, "rb").read())  # noqa: SIM115
    assert sorted(row[1] for row in rows[1:]) == ["13800000001", "13800000002", "13800000003", "13800000007",
                                                  "13800000008", "13800000009", "13800000010"]


# --- T5: cost ------------------------------------------------------------------------------------


def test_numbers_page_query_count_does_not_grow_with_rows(reports, as_user):
    from callcenter.campaigns.models import TaskNumber

    task = reports["task"]
    c = as_user(reports["admin"])
    c.get(numbers_url(task))
    few = queries(c, numbers_url(task))
    more = [TaskNumber(enterprise=task.enterprise, task=task, phone=f"1360000{i:04d}", line_no=100 + i)
            for i in range(60)]
    TaskNumber.objects.bulk_create(more)
    for n, who in zip(TaskNumber.objects.filter(task=task, line_no__gte=100)[:20], ("sub1", "sub2", "agent") * 7,
                      strict=False):
        attempt(n, result="transferred", agent=reports[who], talk=5, recording=b"RIFF")
    assert queries(c, numbers_url(task)) == few
    assert len(phones(c.get(numbers_url(task)))) == 50


# --- T6 进度 -------------------------------------------------------------------------------------------


def figures(page: str) -> dict[str, str]:
    return dict(re.findall(r'data-figure="(\w+)">\s*<div class="small text-muted">[^<]*</div>\s*'
                           r'<div class="[^"]*">([^<]*)</div>', page))


def test_progress_shows_every_figure(reports, as_user):
    page = as_user(reports["supervisor"]).get(progress_url(reports["task"])).content.decode()
    assert figures(page) == {"total": "10", "dialled": "8", "answered": "5", "transferred": "3", "failed": "2",
                             "remaining": "3", "lines_in_use": "1", "abandon_rate": "25%",
                             "talk_per_agent_hour": "1.0"}
    assert "任务进度：春季回访" in page and "发送中" in page and "70.0%" in page
    data = json.loads(re.search(r'<script id="progress-data" type="application/json">(.*?)</script>', page,
                                re.S).group(1))
    assert [b["value"] for b in data["bars"]] == [10, 8, 5, 3, 2, 3]
    assert sum(data["timeline"]["attempts"]) == 10 and sum(data["timeline"]["answered"]) == 5
    assert 'data-live-chart="progress"' in page and 'data-live-chart="timeline"' in page and "echarts" in page


def test_progress_refreshes_while_the_task_runs_and_stops_when_it_ends(reports, as_user):
    c = as_user(reports["admin"])
    running = c.get(progress_url(reports["task"]), HTTP_HX_REQUEST="true").content.decode()
    assert running.startswith('\n<div id="progress-live"') or 'id="progress-live" hx-get=' in running
    assert 'hx-trigger="every 3s"' in running and "<html" not in running
    ended = c.get(progress_url(reports["ended"])).content.decode()
    assert 'hx-trigger="every 3s"' not in ended and "已结束" in ended
    assert figures(ended)["total"] == "2" and figures(ended)["remaining"] == "0"
    assert "任务结束未呼叫 1 个号码" in ended


def test_progress_moves_when_the_dialer_writes(reports, as_user):
    c = as_user(reports["admin"])
    before = figures(c.get(progress_url(reports["task"]), HTTP_HX_REQUEST="true").content.decode())
    attempt(reports["nums"][6], result="transferred", agent=reports["sub1"], talk=10)
    after = figures(c.get(progress_url(reports["task"]), HTTP_HX_REQUEST="true").content.decode())
    assert (int(after["transferred"]), int(after["remaining"])) == (int(before["transferred"]) + 1,
                                                                     int(before["remaining"]) - 1)


def test_progress_boundaries(reports, as_user):
    task = reports["task"]
    assert as_user(reports["agent"]).get(progress_url(task)).status_code == 404
    assert as_user(reports["other"]["admin"]).get(progress_url(task)).status_code == 404
    assert as_user(reports["staff"]).get(progress_url(task)).status_code == 403
    assert as_user(reports["admin"]).get("/campaigns/tasks/999999/progress/").status_code == 404


def test_progress_query_count_does_not_grow_with_attempts(reports, as_user):
    c = as_user(reports["admin"])
    url = progress_url(reports["task"])
    c.get(url)
    few = queries(c, url)
    for _ in range(5):
        attempt(reports["nums"][6], result="no_answer", number_status="retry")
    assert queries(c, url) == few


# --- T8 坐席任务明细 -----------------------------------------------------------------------------------

AGENT_NUMBERS = "/campaigns/agent-numbers/"


def test_agent_task_detail_follows_the_viewers_scope(reports, as_user):
    assert sorted(phones(as_user(reports["admin"]).get(AGENT_NUMBERS))) == [
        "13800000001", "13800000009", "13800000010", "13900000001"]
    assert sorted(phones(as_user(reports["supervisor"]).get(AGENT_NUMBERS))) == [
        "13800000001", "13800000010", "13900000001"]
    assert phones(as_user(reports["agent"]).get(AGENT_NUMBERS)) == ["13800000009"]
    assert sorted(phones(as_user(reports["sub1"]).get(AGENT_NUMBERS))) == ["13800000001", "13900000001"]
    assert phones(as_user(reports["other"]["admin"]).get(AGENT_NUMBERS)) == ["13700000001"]
    assert as_user(reports["staff"]).get(AGENT_NUMBERS).status_code == 403


def test_agent_task_detail_newest_first_filters_and_menu(reports, as_user):
    c = as_user(reports["admin"])
    assert phones(c.get(AGENT_NUMBERS)) == ["13800000010", "13800000009", "13800000001", "13900000001"]
    assert phones(c.get(AGENT_NUMBERS, {"agent": reports["sub1"].pk})) == ["13800000001", "13900000001"]
    assert phones(c.get(AGENT_NUMBERS, {"task": reports["ended"].pk})) == ["13900000001"]
    assert phones(c.get(AGENT_NUMBERS, {"phone": "13800000009"})) == ["13800000009"]
    page = c.get(AGENT_NUMBERS).content.decode()
    assert "坐席任务明细" in page and "春季回访" in page and 'href="/campaigns/agent-numbers/"' in page


def test_agent_task_detail_export(reports, as_user):
    r = as_user(reports["supervisor"]).get(AGENT_NUMBERS + "export/")
    assert r.status_code == 200
    rows = read_xlsx(b"".join(r.streaming_content))
    assert rows[0][:4] == ("呼叫时间", "坐席", "任务", "号码")
    assert sorted(row[3] for row in rows[1:]) == ["13800000001", "13800000010", "13900000001"]


def test_agent_task_detail_query_count_does_not_grow(reports, as_user):
    c = as_user(reports["supervisor"])
    c.get(AGENT_NUMBERS)
    few = queries(c, AGENT_NUMBERS)
    from callcenter.campaigns.models import TaskNumber

    task = reports["task"]
    TaskNumber.objects.bulk_create([TaskNumber(enterprise=task.enterprise, task=task, phone=f"1350000{i:04d}",
                                               line_no=200 + i) for i in range(30)])
    for n, who in zip(TaskNumber.objects.filter(task=task, line_no__gte=200), ("sub1", "sub2") * 15, strict=True):
        attempt(n, result="transferred", agent=reports[who], talk=5, recording=b"RIFF")
    assert queries(c, AGENT_NUMBERS) == few


# --- API ---------------------------------------------------------------------------------------------


def test_api_numbers_of_a_task(reports, as_user):
    task = reports["task"]
    c = as_user(reports["supervisor"])
    r = c.get(f"/api/v1/tasks/{task.pk}/numbers/")
    assert r.status_code == 200, r.content
    rows = r.json()["results"]
    assert [row["phone"] for row in rows] == ALL_T
    first = rows[0]
    assert (first["status"], first["result"], first["agent_label"], first["talk_seconds"]) == (
        "done", "transferred", "811 坐席811", 60)
    assert first["recording_url"].endswith("/recording/")
    assert rows[8]["recording_url"] is None  # 820's call: outside the supervisor's scope
    r = c.get(f"/api/v1/tasks/{task.pk}/numbers/", {"result": "busy"})
    assert [row["phone"] for row in r.json()["results"]] == ["13800000004"]
    r = c.get(f"/api/v1/tasks/{task.pk}/numbers/{reports['nums'][2].pk}/")
    assert r.status_code == 200 and r.json()["result"] == "abandoned"


def test_api_boundaries(reports, as_user):
    task = reports["task"]
    for path in (f"/api/v1/tasks/{task.pk}/numbers/", f"/api/v1/tasks/{task.pk}/progress/"):
        assert as_user(reports["other"]["admin"]).get(path).status_code == 404, path
        assert as_user(reports["agent"]).get(path).status_code == 404, path
        assert as_user(reports["staff"]).get(path).status_code == 403, path
    b_number = reports["b_task"].numbers.get()
    assert as_user(reports["admin"]).get(f"/api/v1/tasks/{task.pk}/numbers/{b_number.pk}/").status_code == 404


def test_api_progress(reports, as_user):
    r = as_user(reports["admin"]).get(f"/api/v1/tasks/{reports['task'].pk}/progress/")
    assert r.status_code == 200, r.content
    data = r.json()
    assert {k: data[k] for k in ("total", "dialled", "answered", "transferred", "failed", "remaining",
                                 "lines_in_use", "abandon_rate", "talk_minutes_per_agent_hour", "live", "status")} == {
        "total": 10, "dialled": 8, "answered": 5, "transferred": 3, "failed": 2, "remaining": 3, "lines_in_use": 1,
        "abandon_rate": 0.25, "talk_minutes_per_agent_hour": 1.0, "live": True, "status": "running"}


def test_schema_lists_the_result_resources(reports, client):
    import yaml

    r = client.get("/api/schema/")
    paths = yaml.safe_load(r.content)["paths"]
    assert set(paths["/api/v1/tasks/{task_pk}/numbers/"]) >= {"get"}
    assert set(paths["/api/v1/tasks/{task_pk}/numbers/{id}/"]) >= {"get"}
    assert set(paths["/api/v1/tasks/{task_pk}/progress/"]) >= {"get"}
