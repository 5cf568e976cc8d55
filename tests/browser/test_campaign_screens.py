"""The campaign result screens in a real browser (issue 6, T5-T8, T10). Tasks, numbers, attempts and
call records are written straight into the database, as intake and the dialer write them:

1. open a task's detail (明细), play a recording from its row: the waveform is drawn and it plays;
2. open its progress (进度): the figures and charts show, and they move by themselves when the
   dialer writes another result;
3. score a call in quality inspection (质检) and find it in the list of reviewed calls;
4. open the agent monitor (坐席监控) from the menu: states and today's traffic, live.
"""

from __future__ import annotations

import re

import pytest

from tests.browser.test_journeys import login
from tests.campaigns.report_kit import *  # noqa: F403
from tests.campaigns.report_kit import attempt
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]


def figure(page, key: str) -> str:
    return page.locator(f'[data-figure="{key}"] .fs-4, [data-figure="{key}"] .fs-5').first.inner_text().strip()


def test_task_detail_plays_a_recording_with_its_waveform(page, reports):
    task = reports["task"]
    login(page, "810", PASSWORD)
    page.goto("/campaigns/tasks/")
    page.goto(f"/campaigns/tasks/{task.pk}/numbers/")
    assert page.locator(".number-link").count() == 10
    page.locator("tr", has=page.locator("text=13800000001")).locator(".play-recording").click()
    dock = page.locator("#recording-dock")
    dock.wait_for(state="visible")
    assert "13800000001" in dock.inner_text()
    player = dock.locator("[data-recording-player]")
    page.wait_for_function("document.querySelector('#recording-dock [data-recording-player]').dataset.waveform"
                           " === 'ready'")
    assert float(player.get_attribute("data-seconds")) == pytest.approx(1.0, abs=0.05)
    # the waveform has ink on it
    inked = page.evaluate("""() => {
        const c = document.querySelector('#recording-dock canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }""")
    assert inked > 100
    page.wait_for_function("document.querySelector('#recording-dock audio').currentTime > 0.2")
    # the number's own page lists its attempts with a player each
    page.locator("a.number-link", has_text="13800000001").click()
    page.wait_for_url(re.compile(rf"/campaigns/tasks/{task.pk}/numbers/\d+/"))
    assert page.locator("#attempts-table").inner_text().count("已转坐席") == 1
    page.wait_for_function("document.querySelector('[data-recording-player]').dataset.waveform === 'ready'")


def test_progress_shows_the_figures_and_moves_by_itself(page, reports):
    task = reports["task"]
    login(page, "800", PASSWORD)
    page.goto(f"/campaigns/tasks/{task.pk}/progress/")
    assert (figure(page, "total"), figure(page, "dialled"), figure(page, "transferred"), figure(page, "remaining")) == (
        "10", "8", "3", "3")
    assert figure(page, "lines_in_use") == "1" and figure(page, "abandon_rate") == "25%"
    page.wait_for_selector('#chart-progress[data-rendered="1"] canvas')
    page.wait_for_selector('#chart-timeline[data-rendered="1"] canvas')
    # the dialer writes a result: the page shows it without a reload
    attempt(reports["nums"][6], result="transferred", agent=reports["sub1"], talk=30)
    page.wait_for_function("document.querySelector('[data-figure=\"transferred\"] .fs-4').innerText.trim() === '4'",
                           timeout=15_000)
    assert figure(page, "remaining") == "2"


def test_score_a_call_in_quality_inspection(page, reports):
    from callcenter.calls.models import Cdr

    cdr = Cdr.objects.get(call_id=reports["rec1"].call_id)  # 811's call, below the supervisor
    login(page, "810", PASSWORD)
    page.goto("/calls/cdrs/")
    page.locator(f'a[href="/calls/cdrs/{cdr.pk}/#quality"]').click()
    page.wait_for_url(re.compile(rf"/calls/cdrs/{cdr.pk}/"))
    page.wait_for_function("document.querySelector('[data-recording-player]').dataset.waveform === 'ready'")
    page.fill("[name=score]", "150")
    page.click("#btn-review")
    assert "评分：必须是0到100之间的整数" in page.locator("#quality-form").inner_text()
    page.fill("[name=score]", "88")
    page.fill("[name=comment]", "开场白规范，未确认客户身份")
    page.click("#btn-review")
    page.wait_for_selector("#quality-review")
    assert "88" in page.locator("#quality-review").inner_text()
    page.click('#menu a[data-url-name="calls:qualityreview_list"]')
    page.wait_for_url(re.compile(r"/calls/qualityreviews/"))
    table = page.locator("#list-table").inner_text()
    assert "88" in table and "开场白规范，未确认客户身份" in table and "811 坐席811" in table


def test_agent_monitor_shows_states_and_traffic_live(page, reports):
    from callcenter.calls import services

    e = reports["enterprise"]
    services.agent_state_set(enterprise_id=e.pk, agent_id=reports["sub1"].pk, state="busy", call_id="x-1")
    services.agent_state_set(enterprise_id=e.pk, agent_id=reports["sub2"].pk, state="idle")
    login(page, "810", PASSWORD)
    page.click('#menu a[data-url-name="calls:agent_monitor"]')
    page.wait_for_url(re.compile(r"/calls/agent-monitor/"))
    row = page.locator('tr[data-agent="811"]')
    assert "通话中" in row.inner_text()
    assert page.locator("#monitor-table tbody tr").count() == 3  # the supervisor's team
    page.wait_for_selector('#chart-states[data-rendered="1"] canvas')
    page.wait_for_selector('#chart-traffic[data-rendered="1"] canvas')
    services.agent_state_set(enterprise_id=e.pk, agent_id=reports["sub2"].pk, state="wrapup")
    page.wait_for_function("document.querySelector('tr[data-agent=\"812\"]').innerText.includes('话后处理')",
                           timeout=15_000)
