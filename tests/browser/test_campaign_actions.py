"""The remaining campaign screens in a real browser (issue 6, T4, T7, T8):

1. 任务查询 actions on one ticked task: 【修改】 (rename; a running task's start time is refused),
   【时间段】 (windows that end before they start or overlap are refused, then saved),
   【手工结束】 after the confirm dialog, and 【重新发送】 of an ended task's unanswered numbers;
2. 通话记录 (CDRs): filter by number and direction, open a call, export the query as a real xlsx;
3. 坐席任务明细: a supervisor sees the numbers his agents worked, not another agent's, and narrows
   them to one agent.

Tasks, attempts and call records are written straight into the database (tests/campaigns/report_kit.py).
"""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from tests.browser.test_journeys import login
from tests.campaigns.report_kit import *  # noqa: F403
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def tick(page, task) -> None:
    page.locator(f"tr[data-task='{task.pk}'] input[name=pk]").check()


def status_of(page, task) -> str:
    return page.locator(f"tr[data-task='{task.pk}'] [data-status]").get_attribute("data-status")


def test_modify_windows_end_and_resend_from_the_task_list(page, reports):
    from callcenter.campaigns.models import Task, TaskNumber

    task, ended = reports["task"], reports["ended"]
    login(page, "800", PASSWORD)
    page.click("#menu a[data-url-name='campaigns:task_list']")

    # 【修改】: the name changes; the start time of a running task does not
    tick(page, task)
    page.click("#btn-modify")
    page.wait_for_url(re.compile(rf"/campaigns/tasks/{task.pk}/modify/$"))
    page.fill("[name=name]", "春季回访二期")
    page.fill("[name=start_at]", "2099-01-01T09:00")
    page.click("#btn-save")
    assert "正在发送，不能修改开始时间" in page.locator("main").inner_text()
    assert Task.objects.get(pk=task.pk).name == "春季回访"  # nothing changed
    page.fill("[name=start_at]", "")
    page.click("#btn-save")
    page.wait_for_url(re.compile(r"/campaigns/tasks/(\?.*)?$"))
    assert "春季回访二期" in page.locator(f"tr[data-task='{task.pk}']").inner_text()

    # 【时间段】: refused while wrong, saved when right
    tick(page, task)
    page.click("#btn-windows")
    page.wait_for_url(re.compile(rf"/campaigns/tasks/{task.pk}/windows/$"))
    page.locator("input[name=window_start]").first.fill("12:00")
    page.locator("input[name=window_end]").first.fill("09:00")
    page.click("#btn-save")
    assert page.locator(".field-error[data-field=windows]").count() >= 1
    page.locator("input[name=window_start]").first.fill("09:00")
    page.locator("input[name=window_end]").first.fill("12:00")
    page.click("#btn-add-window")
    page.locator("input[name=window_start]").last.fill("11:00")
    page.locator("input[name=window_end]").last.fill("13:00")
    page.click("#btn-save")
    assert page.locator(".field-error[data-field=windows]").count() >= 1  # 11:00-13:00 overlaps 09:00-12:00
    assert not task.windows.exists()
    page.locator("input[name=window_start]").last.fill("14:00")
    page.locator("input[name=window_end]").last.fill("18:00")
    page.click("#btn-save")
    page.wait_for_url(re.compile(r"/campaigns/tasks/(\?.*)?$"))
    assert [(w.start.strftime("%H:%M"), w.end.strftime("%H:%M")) for w in task.windows.order_by("start")] == [
        ("09:00", "12:00"), ("14:00", "18:00")]

    # 【手工结束】 asks first
    tick(page, task)
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#btn-end")
    page.wait_for_load_state()
    assert status_of(page, task) == "ended"
    assert Task.objects.get(pk=task.pk).end_reason == "manual"

    # 【重新发送】 of the other ended task: its unanswered number is dialled again in round 2
    tick(page, ended)
    page.click("#btn-resend")
    page.wait_for_url(re.compile(rf"/campaigns/tasks/{ended.pk}/resend/$"))
    assert page.is_checked("#rule-unanswered")  # 未接通 is the usual choice
    page.uncheck("#rule-unanswered")
    page.click("#btn-save")  # nothing chosen: refused
    assert page.locator(".field-error[data-field=rules]").count() == 1
    assert Task.objects.get(pk=ended.pk).status == "ended"
    page.check("#rule-unanswered")
    page.click("#btn-save")
    page.wait_for_url(re.compile(r"/campaigns/tasks/(\?.*)?$"))
    assert status_of(page, ended) == "running"
    ended.refresh_from_db()
    assert ended.round == 2
    assert dict(TaskNumber.objects.filter(task=ended).values_list("phone", "status")) == {
        "13900000001": "done", "13900000002": "pending"}


def test_call_records_filter_open_and_export(page, reports):
    login(page, "810", PASSWORD)
    page.click("#menu a[data-url-name='calls:cdr_list']")
    page.wait_for_url(re.compile(r"/calls/cdrs/"))
    all_rows = page.locator("#list-table tbody tr").count()
    assert all_rows >= 3
    page.fill("#filter-form [name=number]", "13800000001")
    page.select_option("#filter-form [name=direction]", "out")
    page.click("#filter-form button")
    page.wait_for_load_state()
    rows = page.locator("#list-table tbody tr")
    assert rows.count() == 1 and "13800000001" in rows.first.inner_text()
    with page.expect_download() as download:
        page.click("#btn-export")
    book = openpyxl.load_workbook(io.BytesIO(open(download.value.path(), "rb").read()), read_only=True)  # noqa: SIM115
    values = [[c for c in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    assert len(values) == 2 and "13800000001" in values[1]
    rows.first.locator("a[href^='/calls/cdrs/']").first.click()
    page.wait_for_url(re.compile(r"/calls/cdrs/\d+/"))
    assert "13800000001" in page.locator("main").inner_text()


def test_agent_task_detail_follows_the_supervisors_scope(page, reports):
    login(page, "810", PASSWORD)
    page.click("#menu a[data-url-name='campaigns:agenttasknumber_list']")
    page.wait_for_url(re.compile(r"/campaigns/agent-numbers/"))
    table = page.locator("#list-table").inner_text()
    assert "13800000001" in table and "13800000010" in table and "13900000001" in table
    assert "13800000009" not in table  # agent 820 is not below supervisor 810
    page.select_option("#filter-form [name=agent]", value=str(reports["sub1"].pk))
    page.click("#filter-form button")
    page.wait_for_load_state()
    table = page.locator("#list-table").inner_text()
    assert "13800000001" in table and "13900000001" in table and "13800000010" not in table
