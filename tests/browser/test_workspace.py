"""Issue 5's journeys in a real browser (Debian's Chromium through Playwright):

1. Agent 801 signs into the workspace and goes ready; a call comes in through the simulated
   Asterisk and call control; the screen pop shows the customer with the third party's fields (a
   real SQLite file) and a sub-table tab; the agent writes a follow-up and hangs up; supervisor
   810 finds the follow-up in 跟踪记录 (T13).
2. With 公告需要审核 set, an announcement for agent 801 waits for approval; the administrator
   approves it; it pops for 801 as a to-do in the lower-right corner, once, with a 查看 link.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from tests.browser.conftest import start_pbx, wait_until
from tests.browser.test_journeys import CODE, login, logout
from tests.browser.test_telephony import SCALE
from tests.conftest import PASSWORD, make_agent

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

CALLER = "13912345678"
DID = "4008007777"
TRUNK_NUMBER = "02088880009"


@pytest.fixture
def people(transactional_db):
    from callcenter.accounts import services

    created = services.enterprise_create(code=CODE, name="企业acme", licensed_lines=5, caller_id="02088880001",
                                         admin_password=PASSWORD)
    e = created.enterprise
    sup = make_agent(e, "810", role="班长", scope="subordinates")
    return {"enterprise": e, "admin": created.admin, "supervisor": sup,
            "agent": make_agent(e, "801", role="坐席", supervisor=sup), "other": make_agent(e, "802", role="坐席")}


@pytest.fixture
def pbx(settings, tmp_path):
    world = {
        "dialplan": (f"[from-trunk]\nexten => _X.,1,Stasis(callcenter,inbound,{CODE},${{EXTEN}},{TRUNK_NUMBER})\n"
                     " same => n,Hangup()\n"),
        # the agent's phone answers at once; nobody hangs up but the agent, from the workspace
        "phone_defaults": {"mode": "auto", "ring_time": [1.0, 1.0], "talk_time": [6000.0, 6000.0]},
        "inbound": {"profile": {"talk_time": [6000.0, 6000.0], "patience": 600.0}},
    }
    from callcenter.pbx.sim.config import load_config

    config = load_config(ari_port=0, ami_port=0, time_scale=SCALE, seed=3, world=world,
                         config_dir=str(tmp_path / "asterisk"))
    thread = start_pbx(settings, config, time_scale=SCALE, config_dir=tmp_path / "asterisk")
    yield thread
    thread.stop()


def test_screen_pop_with_third_party_data_follow_up_hang_up_and_supervisor_finds_it(
        page, people, pbx, settings, tmp_path, results_dir):
    from callcenter.calls.models import AgentState, Cdr
    from callcenter.crm import services as crm
    from callcenter.telephony.models import DidRoute, IvrMenu, Schedule, Trunk
    from callcenter.workspace.models import FollowUp

    e, agent = people["enterprise"], people["agent"]

    # the customer, stored locally with a field the third party lacks (预算)
    category = crm.category_create(enterprise=e, name="零售")
    crm.customerfield_create(enterprise=e, values={"key": "vip", "label": "会员等级", "order": 1})
    crm.customerfield_create(enterprise=e, values={"key": "budget", "label": "预算", "field_type": "number",
                                                   "order": 2})
    crm.customer_create(enterprise=e, values={"category": category, "phone": CALLER, "name": "本地张三",
                                              "owner": agent}, data={"budget": 5000})

    # the third party: a real SQLite file with the customer and their orders
    settings.THIRDPARTY_SQLITE_DIR = tmp_path
    with sqlite3.connect(tmp_path / "crm.sqlite3") as conn:
        conn.execute("CREATE TABLE customers (phone text, cname text, level text)")
        conn.execute("INSERT INTO customers VALUES (?, '第三方张三', '钻石会员')", (CALLER,))
        conn.execute("CREATE TABLE orders (phone text, item text, amount integer)")
        conn.executemany("INSERT INTO orders VALUES (?, ?, ?)", [(CALLER, "宽带续费", 1200), (CALLER, "新手机", 3999)])
    conn.close()
    source = crm.source_save(enterprise=e, values={"name": "会员库", "kind": "sqlite", "database": "crm.sqlite3",
                                                   "sql": "SELECT cname, level FROM customers WHERE phone = ?"})
    crm.source_reload_columns(source=source)
    crm.source_set_mapping(source=source, mapping={"name": "cname", "vip": "level"})
    crm.source_set_enabled(source=source, enabled=True)
    crm.subtable_save(enterprise=e, values={"source": source, "name": "消费记录", "order": 1,
                                            "sql": "SELECT item, amount FROM orders WHERE phone = ? ORDER BY amount"})

    # inbound routing: the DID's schedule sends every call to 801
    trunk = Trunk.objects.create(enterprise=e, account="acme-t1", number=TRUNK_NUMBER, concurrent_lines=10)
    menu = IvrMenu.objects.create(enterprise=e, name="主菜单", default_extensions="801", ring_wait_seconds=20)
    DidRoute.objects.create(enterprise=e, trunk=trunk, did=DID,
                            schedule=Schedule.objects.create(enterprise=e, name="全天", default_menu=menu))

    # 1. 801 signs in, opens the workspace and goes ready
    login(page, "801", PASSWORD)
    page.goto("/workspace/")
    page.click("#btn-ready")
    page.wait_for_load_state()
    assert page.locator("#ws-state").inner_text() == "空闲"
    assert AgentState.objects.get(agent=agent).state == "idle"

    # 2. a call comes in; the screen pop opens by itself
    pbx.loop.call_soon_threadsafe(lambda: pbx.server.pbx.inbound_call(DID, CALLER))
    pop = page.locator(f"#pop-body[data-phone='{CALLER}']")
    pop.wait_for(timeout=20_000)
    assert page.locator("#ws-phone").inner_text() == CALLER
    fields = page.locator("#pop-fields")
    name = fields.locator("[data-key=name]")
    assert "第三方张三" in name.inner_text() and "本地张三" not in pop.inner_text()
    assert page.locator("#pop-name").inner_text() == "第三方张三"
    assert name.locator(".text-danger").count() == 1  # flagged as the third party's value
    assert "钻石会员" in fields.locator("[data-key=vip]").inner_text()
    assert "5000" in fields.locator("[data-key=budget]").inner_text()  # what the third party lacks
    tab = page.locator("button.nav-link", has_text="消费记录")
    tab.click()
    sub = page.locator("#tab-sub-1")
    sub.wait_for(state="visible")
    assert "宽带续费" in sub.inner_text() and "3999" in sub.inner_text()
    page.screenshot(path=str(results_dir / "workspace-pop.png"), full_page=True)

    # 3. a follow-up on the pop, then hang up from the page
    page.locator("button.nav-link", has_text="跟踪记录").click()
    page.fill("#followup-form [name=text]", "客户想升级千兆宽带，周五回电")
    page.select_option("#followup-form [name=result]", "interested")
    page.click("#btn-followup")
    page.locator("#followup-saved").wait_for()
    assert "客户想升级千兆宽带" in page.locator("#pop-followups").inner_text()
    call_id = pop.get_attribute("data-call-id")
    assert call_id and Cdr.objects.get(call_id=call_id).caller == CALLER
    note = FollowUp.objects.get()
    assert (note.agent, note.phone, note.call_id, note.result) == (agent, CALLER, call_id, "interested")
    hangup = page.locator("#btn-hangup")
    assert hangup.is_enabled()
    hangup.click()
    assert wait_until(lambda: Cdr.objects.filter(call_id=call_id, ended_at__isnull=False).exists()), \
        "the call did not end"
    page.wait_for_function("document.querySelector('#ws-phone').innerText === '—'")
    page.wait_for_function("document.querySelector('#ws-state').innerText === '空闲'")
    assert page.locator("#btn-hangup").is_disabled()
    logout(page)

    # 4. supervisor 810 finds it in 跟踪记录
    login(page, "810", PASSWORD)
    page.goto("/")
    page.click("#menu a[data-url-name='workspace:followup_list']")
    page.wait_for_load_state()
    page.fill("#filter-form [name=phone]", CALLER)
    page.click("#filter-form button")
    page.wait_for_load_state()
    table = page.locator("#list-table").inner_text()
    assert "客户想升级千兆宽带" in table and "801" in table and "有意向" in table
    page.screenshot(path=str(results_dir / "followups-supervisor.png"), full_page=True)


def test_announcement_needing_approval_pops_as_a_to_do_once(page, people, results_dir):
    from django.contrib.auth.models import Permission

    from callcenter.notices.models import Announcement, Todo

    sup, agent = people["supervisor"], people["agent"]
    sup.user_permissions.add(Permission.objects.get(content_type__app_label="notices",
                                                    codename="add_announcement"))

    # the administrator requires approval (企业设置)
    login(page, "800", PASSWORD)
    page.goto("/accounts/enterprise/")
    page.check("[name=announcements_need_approval]")
    page.click("form button.btn-primary")
    page.locator(".alert-success").wait_for()
    logout(page)

    # 810 writes an announcement for 801 and publishes it: it waits for approval
    login(page, "810", PASSWORD)
    page.goto("/notices/announcements/add/")
    page.fill("[name=title]", "周五系统升级")
    page.fill("[name=content]", "<p>周五晚上 <b>22:00</b> 升级，请提前退出。</p>")
    page.check("[name=audience][value=agents]")
    page.select_option("[name=agents]", str(agent.pk))
    page.click("#btn-save")
    page.wait_for_load_state()
    ann = Announcement.objects.get()
    assert ann.status == "pending" and not Todo.objects.exists()
    assert "待审核" in page.locator("main").inner_text()
    logout(page)

    # 801 has nothing yet
    login(page, "801", PASSWORD)
    page.wait_for_load_state("networkidle")
    assert page.locator("#todo-popup .toast").count() == 0
    logout(page)

    # the administrator approves it
    login(page, "800", PASSWORD)
    page.goto(f"/notices/announcements/{ann.pk}/")
    page.click("#btn-approve")
    page.locator(".alert-success").wait_for()
    ann.refresh_from_db()
    assert ann.status == "published" and ann.approver == people["admin"]
    assert page.locator("#todo-popup .toast").count() == 0  # the approver is not a recipient
    logout(page)

    # 801 signs in: the reminder pops in the lower-right corner with a 查看 link
    login(page, "801", PASSWORD)
    toast = page.locator("#todo-popup .toast")
    toast.wait_for()
    assert "周五系统升级" in toast.inner_text() and "公告" in toast.inner_text()
    box = page.locator("#todo-popup").bounding_box()
    view = page.viewport_size
    assert box["x"] + box["width"] > view["width"] * 0.9 and box["y"] + box["height"] > view["height"] * 0.9, box
    page.screenshot(path=str(results_dir / "todo-popup.png"))

    # 【查看】 opens the announcement and marks the to-do read
    todo = Todo.objects.get(agent=agent)
    assert todo.read_at is None and todo.popped_at is not None
    toast.locator("a.todo-view").click()
    page.wait_for_url(re.compile(rf"/notices/announcements/{ann.pk}/$"))
    assert "22:00" in page.locator("#announcement-content").inner_text()
    todo.refresh_from_db()
    assert todo.read_at is not None

    # the same item pops only once
    page.goto("/notices/todos/")
    page.wait_for_load_state("networkidle")
    assert page.locator("#todo-popup .toast").count() == 0
    assert "周五系统升级" in page.locator("#list-table").inner_text()
