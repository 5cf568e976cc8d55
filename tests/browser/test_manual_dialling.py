"""手动批量外呼 (T2) in a real browser, with call control and the dialer running beside the live
server against the simulated Asterisk (one background event loop):

the agent opens the workspace, picks the draft task and presses 【下一个号码】; his own phone rings
and answers, the task's first number is dialled and answers, the screen pop opens for it; he
hangs up from the page, and the next press dials the second number. The draft stays a draft.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import start_pbx, wait_until
from tests.browser.test_journeys import CODE, login
from tests.campaigns.dialer_kit import SCALE, campaign
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

FIRST, SECOND = "13900000001", "13900000002"


@pytest.fixture
def draft(transactional_db, settings, tmp_path):
    from callcenter.telephony.models import Trunk

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path
    c = campaign(CODE, phones=[FIRST, SECOND], mode="direct", status="paused", submitted=False, agents=1,
                 idle=False)
    Trunk.objects.filter(pk=c["trunk"].pk).update(reserved_lines=0)  # manual calls use no group-call lines
    return c


@pytest.fixture
def dialer(draft, settings):
    from tests.campaigns.dialer_kit import sim_config

    # callees answer and stay on the line; the agent's phone answers at once and never hangs up by itself
    config = sim_config(default={"talk_time": [6000, 6000], "patience": 6000},
                        phone={"ring_time": [0.5, 0.5], "talk_time": None})
    thread = start_pbx(settings, config, time_scale=SCALE, dialer=True)
    yield thread
    thread.stop()


def test_an_agent_dials_a_drafts_numbers_one_by_one_from_the_workspace(page, draft, dialer):
    from callcenter.calls.models import Cdr
    from callcenter.campaigns.models import Attempt, Task, TaskNumber

    task, agent = draft["task"], draft["agents"][0]
    page.set_default_timeout(20_000)
    login(page, agent.number, PASSWORD)
    page.goto("/workspace/")
    page.click("#btn-ready")
    page.wait_for_load_state()
    page.select_option("#manual-task", value=str(task.pk))
    page.click("#btn-task-next")
    page.wait_for_url(re.compile(r"/workspace/\?task=\d+"))
    assert f"接听后将呼叫 {FIRST}" in page.locator("main").inner_text()

    # the agent's phone answers, the number is dialled and answers: the pop opens for it
    page.locator(f"#pop-body[data-phone='{FIRST}']").wait_for(timeout=30_000)
    assert page.locator("#ws-phone").inner_text() == FIRST
    first = Attempt.objects.get(number__phone=FIRST)
    assert first.agent_id == agent.pk

    # hang up from the page: the attempt ends transferred to this agent, with its call record
    page.locator("#btn-hangup:not([disabled])").click()
    assert wait_until(lambda: Attempt.objects.get(pk=first.pk).status == "done", 30)
    first.refresh_from_db()
    assert (first.result, first.agent_id) == ("transferred", agent.pk)
    cdr = Cdr.objects.get(attempt_id=first.pk)
    assert (cdr.direction, cdr.task_id, cdr.agent_id, cdr.callee) == ("out", task.pk, agent.pk, FIRST)
    page.wait_for_function("document.querySelector('#ws-phone').innerText.trim() === '—'", timeout=30_000)

    # the next press dials the second number
    page.select_option("#manual-task", value=str(task.pk))
    page.click("#btn-task-next")
    page.wait_for_url(re.compile(r"/workspace/\?task=\d+"))
    assert f"接听后将呼叫 {SECOND}" in page.locator("main").inner_text()
    page.locator(f"#pop-body[data-phone='{SECOND}']").wait_for(timeout=30_000)
    assert TaskNumber.objects.get(task=task, phone=FIRST).status == "done"
    assert Task.objects.get(pk=task.pk).status == "paused"  # a draft is never sent by manual dialling
