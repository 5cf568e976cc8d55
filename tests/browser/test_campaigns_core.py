"""任务发送 and 任务查询 in a real browser:

1. the administrator creates a task from a number file uploaded in the browser (GB18030, CRLF,
   a bad line and a repeat), sees the intake report and downloads the dropped lines, then pauses
   and resumes the task from the task list;
2. a supervisor narrows the customer list to a category and starts a task from that query
   (【发起任务】), saved as a draft.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_journeys import CODE, login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


@pytest.fixture
def setup(transactional_db, settings, tmp_path):
    from callcenter.accounts import services
    from callcenter.accounts.models import Agent, Role
    from callcenter.crm import services as crm
    from callcenter.telephony import services as tel

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path
    created = services.enterprise_create(code=CODE, name="企业acme", licensed_lines=5, caller_id="02088880001",
                                         admin_password=PASSWORD)
    e = created.enterprise
    services.agents_create_range(enterprise=e, start="801", end="803", password="agent-pass-1")
    agents = list(Agent.objects.filter(enterprise=e, number__in=["801", "802", "803"]).order_by("number"))
    sup = agents[0]
    sup.role = Role.objects.get(enterprise=e, name="班长")
    sup.data_scope = "all"
    sup.set_password(PASSWORD)
    sup.must_change_password = False
    sup.save()
    group = tel.group_create(enterprise=e, values={"name": "外呼组"}, members=agents[1:])
    flow = tel.callflow_create(enterprise=e, values={"name": "回访流程", "transfer_mode": "direct",
                                                     "agent_group": group})
    cat = crm.category_create(enterprise=e, name="回访客户")
    vip = crm.category_create(enterprise=e, name="VIP客户")
    for i in range(6):
        crm.customer_create(enterprise=e, values={"category": vip if i < 4 else cat, "phone": f"1390000000{i}",
                                                  "name": f"客户{i}", "owner": sup})
    return {"enterprise": e, "flow": flow, "cat": cat, "vip": vip, "sup": sup}


def test_create_a_task_from_an_uploaded_file_then_pause_and_resume_it(page, setup, tmp_path):
    from callcenter.campaigns.models import Task

    numbers = tmp_path / "号码.txt"
    lines = ["13800000001", "+86 138-0000-0002", "１３８０００００００３", "", "电话", "13800000001",
             "0086 13800000004"]
    numbers.write_bytes("\r\n".join(lines).encode("gb18030"))

    login(page, "800", PASSWORD)
    page.click("#menu a[data-url-name='campaigns:task_send']")
    page.fill("[name=name]", "春季回访")
    page.select_option("[name=flow]", label="回访流程")
    page.select_option("[name=category]", label="回访客户")
    page.fill("input[name=window_start]", "09:00")
    page.fill("input[name=window_end]", "12:00")
    page.click("#btn-add-window")
    page.locator("input[name=window_start]").nth(1).fill("14:00")
    page.locator("input[name=window_end]").nth(1).fill("18:00")
    page.set_input_files("[name=numbers_file]", str(numbers))
    page.click("#btn-submit")
    page.wait_for_url(re.compile(r"/campaigns/tasks/\d+/$"))

    task = Task.objects.get()
    assert page.locator("#intake-accepted").inner_text() == "4"
    report = page.locator("#intake-report").inner_text()
    assert "号码无效" in report and "重复号码" in report
    assert page.locator("#task-windows").inner_text().split() == ["09:00-12:00", "14:00-18:00"]
    assert page.locator("#task-status").get_attribute("data-status") == "running"
    with page.expect_download() as download:
        page.click("#download-drops")
    assert download.value.suggested_filename == f"task-{task.pk}-dropped.xlsx"

    page.click("#menu a[data-url-name='campaigns:task_list']")
    row = page.locator(f"tr[data-task='{task.pk}']")
    assert row.locator("[data-status]").get_attribute("data-status") == "running"
    row.locator("input[name=pk]").check()
    page.click("#btn-pause")
    page.wait_for_load_state()
    assert "已暂停 1 个任务" in page.locator("main").inner_text()
    assert page.locator(f"tr[data-task='{task.pk}'] [data-status]").get_attribute("data-status") == "paused"
    task.refresh_from_db()
    assert task.status == "paused"

    page.locator(f"tr[data-task='{task.pk}'] input[name=pk]").check()
    page.click("#btn-resume")
    page.wait_for_load_state()
    assert "已恢复发送 1 个任务" in page.locator("main").inner_text()
    assert page.locator(f"tr[data-task='{task.pk}'] [data-status]").get_attribute("data-status") == "running"

    # a refusal says why: resuming a running task
    page.locator(f"tr[data-task='{task.pk}'] input[name=pk]").check()
    page.click("#btn-resume")
    page.wait_for_load_state()
    assert "正在发送，不能恢复发送" in page.locator("#refusals").inner_text()
    task.refresh_from_db()
    assert task.status == "running"


def test_start_a_task_from_a_customer_query(page, setup, monkeypatch):
    from callcenter.campaigns import views
    from callcenter.campaigns.models import Task

    # a query larger than this travels as the query, not as numbers
    monkeypatch.setattr(views.TaskFromCustomersView, "PREFILL_MAX", 3)
    login(page, "801", PASSWORD)
    page.click("#menu a[data-url-name='crm:customer_list']")
    page.select_option("#filter-form [name=category]", label="VIP客户")
    page.click("#filter-form button")
    page.wait_for_load_state()
    assert page.locator("#list-table tbody tr").count() == 4
    page.click("#btn-start-task")
    page.wait_for_url(re.compile(r"/campaigns/tasks/send/from-customers/$"))
    assert "将发送客户查询结果中的号码：4 个客户" in page.locator("#from-customers").inner_text()
    assert page.locator("[name=category] option:checked").inner_text() == "VIP客户"
    page.fill("[name=name]", "VIP 回访")
    page.select_option("[name=flow]", label="回访流程")
    page.click("#btn-draft")
    page.wait_for_url(re.compile(r"/campaigns/tasks/\d+/$"))
    assert page.locator("#intake-accepted").inner_text() == "4"
    assert page.locator("#task-status").get_attribute("data-status") == "draft"
    task = Task.objects.get()
    assert sorted(task.numbers.values_list("phone", flat=True)) == [f"1390000000{i}" for i in range(4)]
    assert (task.status, task.submitted, task.created_by_id) == ("paused", False, setup["sup"].pk)
