"""The telephony journey in a real browser, with the simulated Asterisk and call control running
beside the live server (in a thread with its own event loop):

1. upload a prompt, create a group with members and a flow, test-dial and watch the events;
2. add an agent and apply the configuration;
3. watch an inbound call in the channel monitor.
"""

from __future__ import annotations

import re
import wave
from io import BytesIO

import pytest

from tests.browser.conftest import start_pbx
from tests.browser.test_journeys import CODE, login
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

SCALE = 0.05


@pytest.fixture
def pbx(settings, tmp_path):
    world = {
        "callees": {"default": {"answer_probability": 1.0, "busy_probability": 0, "unreachable_probability": 0,
                                "ring_time": [1.0, 1.0], "talk_time": [20.0, 20.0], "dtmf": ""}},
        "phone_defaults": {"mode": "auto", "ring_time": [1.0, 1.0], "talk_time": [200.0, 200.0]},
        "inbound": {"profile": {"talk_time": [200.0, 200.0], "patience": 300.0}},
    }
    from callcenter.pbx.sim.config import load_config

    config = load_config(ari_port=0, ami_port=0, time_scale=SCALE, seed=3, world=world,
                         config_dir=str(tmp_path / "asterisk"))
    thread = start_pbx(settings, config, time_scale=SCALE, config_dir=tmp_path / "asterisk")
    yield thread
    thread.stop()


@pytest.fixture
def enterprise(transactional_db):
    from callcenter.accounts import services

    created = services.enterprise_create(code=CODE, name="企业acme", licensed_lines=5, caller_id="02088880001",
                                         admin_password=PASSWORD)
    services.agents_create_range(enterprise=created.enterprise, start="801", end="803", password="agent-pass-1")
    return created.enterprise


def _wav(seconds: float) -> bytes:
    buf = BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"\x10\x00" * int(8000 * seconds))
    return buf.getvalue()


def _save(page):
    page.click("#btn-save")
    page.wait_for_load_state()


def test_prompt_group_flow_test_dial_apply_and_channel_monitor(page, enterprise, pbx, results_dir):
    from callcenter.telephony.models import Trunk

    login(page, "800", PASSWORD)

    # 1. a prompt, by upload
    page.goto("/telephony/prompts/add/")
    page.fill("[name=name]", "欢迎语")
    page.set_input_files("[name=file]", files=[{"name": "welcome.wav", "mimeType": "audio/wav",
                                                "buffer": _wav(3.0)}])
    _save(page)
    assert page.locator("audio").count() >= 1, page.content()[:2000]

    # a group with two members, sequential
    page.goto("/telephony/agentgroups/add/")
    page.fill("[name=name]", "一组")
    _save(page)
    group_pk = re.search(r"/agentgroups/(\d+)/", page.url).group(1)
    page.goto(f"/telephony/agentgroups/{group_pk}/members/")
    value = page.locator("[name=agents] option", has_text="801").first.get_attribute("value")
    page.select_option("[name=agents]", value)
    page.click("#btn-add-member")
    page.wait_for_load_state()
    assert "801" in page.locator("main").inner_text()

    # a trunk so the test dial has a line (created directly: the trunk form is covered elsewhere)
    Trunk.objects.create(enterprise=enterprise, account="acme-t1", number="02088880009", concurrent_lines=10)

    # a flow: play to the end, then transfer to the group
    page.goto("/telephony/callflows/add/")
    page.fill("[name=name]", "推广")
    page.select_option("[name=prompt]", label="欢迎语")
    page.select_option("[name=transfer_mode]", "play_to_end")
    page.select_option("[name=agent_group]", label="一组")
    _save(page)
    assert re.search(r"/callflows/\d+/$", page.url), page.content()[:3000]

    # test dial: the events appear live
    page.fill("#test-dial-form [name=number]", "13800138000")
    page.click("#btn-test-dial")
    page.wait_for_url(re.compile(r"/pbx/test-dial/runs/\d+/"))
    events = page.locator("#test-dial-events")
    events.locator("[data-kind=connected]").wait_for(timeout=20_000)
    text = events.inner_text()
    for label in ("已接听", "语音播放完毕", "转接坐席组", "坐席振铃", "已转接到坐席"):
        assert label in text, text
    page.screenshot(path=str(results_dir / "test-dial.png"), full_page=True)

    # 2. add an agent, see the pending changes, apply
    page.goto("/accounts/agents/add/")
    page.fill("[name=start]", "804")
    page.click("#btn-save")
    page.wait_for_load_state()
    page.goto("/pbx/apply/")
    assert "804" in page.locator("main").inner_text()
    page.click("#btn-apply")
    page.wait_for_load_state()
    page.locator(".alert-success").wait_for()
    from pathlib import Path

    assert "[acme-804]" in (Path(pbx.server.config.config_dir) / "current" / "pjsip.conf").read_text()

    # 3. an inbound call shows in the channel monitor without a reload
    from callcenter.telephony.models import DidRoute, IvrMenu, Schedule

    trunk = Trunk.objects.get(enterprise=enterprise)
    menu = IvrMenu.objects.create(enterprise=enterprise, name="主菜单", default_extensions="801", ring_wait_seconds=1)
    schedule = Schedule.objects.create(enterprise=enterprise, name="全天", default_menu=menu)
    DidRoute.objects.create(enterprise=enterprise, trunk=trunk, did="4008009999", schedule=schedule)
    page.goto("/pbx/channels/")
    assert page.locator("#count-trunk").inner_text() == "0"
    pbx.loop.call_soon_threadsafe(lambda: pbx.server.pbx.inbound_call("4008009999", "13912345678",
                                                                      trunk="acme-trunk-02088880009"))
    page.wait_for_function("document.querySelector('#count-trunk').innerText !== '0'", timeout=15_000)
    assert "13912345678" in page.locator("#channels-table").inner_text()
    page.screenshot(path=str(results_dir / "channels.png"), full_page=True)
