"""User journeys in a real browser (Debian's Chromium through Playwright).

1. The administrator adds agents 801-805, resets 803's password; 803 signs in with it,
   must change it, then sees only the screens its role allows, and switches to English.
2. The main screens have no horizontal scrolling on a laptop (1366x768) or a phone (390x844).
"""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from django.utils.translation import gettext

from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("transactional_db")]

CODE = "acme"


@pytest.fixture
def enterprise(transactional_db):
    from callcenter.accounts import services

    return services.enterprise_create(code=CODE, name="企业acme", licensed_lines=5, caller_id="02088880001",
                                      admin_password=PASSWORD)


def login(page, number: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("[name=enterprise_code]", CODE)
    page.fill("[name=number]", number)
    page.fill("[name=password]", password)
    page.click("#btn-login")
    page.wait_for_load_state()


def logout(page) -> None:
    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(re.compile(r"/accounts/login/"))


def menu_url_names(page) -> set[str]:
    return set(page.locator("#menu a[data-url-name]").evaluate_all("els => els.map(e => e.dataset.urlName)"))


def test_admin_adds_agents_and_agent_changes_reset_password(page, enterprise):
    from callcenter.accounts.models import Agent

    # The administrator signs in and adds 801-805 with the 坐席 role.
    login(page, "800", PASSWORD)
    assert page.url == page.context.pages[0].url and "/accounts/login/" not in page.url
    assert "accounts:agent_list" in menu_url_names(page)
    page.goto("/accounts/agents/add/")
    page.fill("[name=start]", "801")
    page.fill("[name=end]", "805")
    page.select_option("[name=role]", label="坐席")
    page.click("#btn-save")
    table = page.locator("#new-passwords")
    table.wait_for()
    rows = table.locator("tbody tr").evaluate_all(
        "trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent.trim()))")
    passwords = dict(rows)
    assert sorted(passwords) == ["801", "802", "803", "804", "805"]
    assert all(re.fullmatch(r"\d{6}", pw) for pw in passwords.values()), passwords
    agents = Agent.objects.filter(enterprise=enterprise.enterprise, number__in=passwords).select_related("role")
    assert {a.number: a.role.name for a in agents} == dict.fromkeys(passwords, "坐席")

    # Reset 803's password from its page; the new one is shown once.
    agent_803 = Agent.objects.get(enterprise=enterprise.enterprise, number="803")
    page.goto(f"/accounts/agents/{agent_803.pk}/reset-password/")
    page.click("#btn-reset")
    new_password = page.locator("#new-password").inner_text().strip()
    assert re.fullmatch(r"\d{6}", new_password)
    logout(page)

    # The initial password of 803 no longer works; the reset one does, and forces a change.
    if passwords["803"] != new_password:
        login(page, "803", passwords["803"])
        assert "/accounts/login/" in page.url
        assert page.locator(".field-error, #login-error").count() >= 1
    login(page, "803", new_password)
    assert page.url.endswith("/accounts/password/")
    assert page.locator("#forced-change").is_visible()
    page.goto("/accounts/agents/")  # anything else sends it back to the password form
    assert page.url.endswith("/accounts/password/")
    page.fill("[name=old_password]", new_password)
    page.fill("[name=new_password1]", "Chosen-pass-803")
    page.fill("[name=new_password2]", "Chosen-pass-803")
    page.click("#btn-change-password")
    page.wait_for_url(lambda url: not url.endswith("/accounts/password/"))
    agent_803.refresh_from_db()
    assert not agent_803.must_change_password
    assert agent_803.check_password("Chosen-pass-803")

    # The 坐席 role may read the login log and nothing of agent management.
    names = menu_url_names(page)
    assert "accounts:loginlog_list" in names
    assert "accounts:agent_list" not in names
    menu_text = page.locator("#menu").inner_text()
    assert "坐席管理" not in menu_text
    assert "登录日志" in menu_text
    assert page.goto("/accounts/agents/").status == 403

    # Switch the interface to English.
    page.goto("/accounts/loginlogs/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.url.endswith("/accounts/loginlogs/")
    with translation.override("en"):
        english_label = gettext("登录日志")
        english_home = gettext("首页")
    menu_text = page.locator("#menu").inner_text()
    assert english_label in menu_text
    assert english_home in menu_text
    if english_label != "登录日志":  # the catalogue translates the menu: no Chinese label is left over
        assert "登录日志" not in menu_text
    assert page.locator("#lang-switch").inner_text().strip() == "中文"


PAGES = ["/", "/accounts/agents/", "/accounts/agents/add/", "/accounts/loginlogs/"]
VIEWPORTS = [(1366, 768), (390, 844)]


def test_pages_do_not_scroll_horizontally(browser, live_server, enterprise, results_dir):
    from callcenter.accounts import services
    from callcenter.accounts.choices import LoginResult
    from callcenter.accounts.models import Agent, Department, LoginLog, Role
    from callcenter.telephony.models import Trunk

    e = enterprise.enterprise
    dept = Department.objects.create(enterprise=e, name="华南大区客户服务中心第一呼入组")
    Trunk.objects.create(enterprise=e, account="trunk-guangzhou-unicom-01", number="02088880002", concurrent_lines=30)
    services.agents_create_range(enterprise=e, start="801", end="860", password="secret-801", defaults={
        "name": "客户服务代表", "department": dept, "role": Role.objects.get(enterprise=e, name="坐席"),
        "outbound_trunk": "trunk-guangzhou-unicom-01"})
    agent = Agent.objects.get(enterprise=e, number="801")
    agent.remark1 = "备注很长很长的一段说明文字，用来检验表格在窄屏上的表现" * 2
    agent.save()
    LoginLog.objects.bulk_create([
        LoginLog(enterprise=e, agent=agent, number="801", ip=f"203.0.113.{i}", channel="web",
                 user_agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
                 result=LoginResult.SUCCESS if i % 3 else LoginResult.BAD_PASSWORD)
        for i in range(80)])

    failures = []
    for width, height in VIEWPORTS:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN",
                                      viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        page = context.new_page()
        login(page, "800", PASSWORD)
        for path in PAGES:
            response = page.goto(path)
            assert response.status == 200, (path, response.status)
            page.wait_for_load_state("networkidle")
            name = (path.strip("/").replace("/", "-") or "home")
            page.screenshot(path=str(results_dir / f"{name}-{width}x{height}.png"), full_page=True)
            # Measured with the page-wide `overflow-x: hidden` lifted: that rule would hide a
            # too-wide element (cut off, unreachable) instead of letting it show as a scrollbar.
            page.add_style_tag(content="html, body { overflow-x: visible !important; }")
            sizes = page.evaluate("""() => {
                const vw = window.innerWidth;
                const wide = [...document.querySelectorAll('body *')].filter(el => {
                    const r = el.getBoundingClientRect();
                    if (!r.width || el.closest('.table-wrap, .offcanvas-lg, .dropdown-menu, .modal')) return false;
                    return r.right > vw + 1;
                }).slice(0, 5).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                                           + (el.className && typeof el.className === 'string'
                                              ? '.' + el.className.trim().split(/\\s+/).join('.') : ''));
                return {scroll: document.documentElement.scrollWidth, inner: vw, wide};
            }""")
            if sizes["scroll"] > sizes["inner"]:
                failures.append(f"{path} at {width}x{height}: scrollWidth {sizes['scroll']} > {sizes['inner']}; "
                                f"too wide: {sizes['wide']}")
            # The navbar stays on screen when a long page is scrolled.
            page.mouse.wheel(0, 2000)
            page.wait_for_function("window.scrollY > 0 || document.documentElement.scrollHeight <= innerHeight")
            nav_top = page.evaluate("document.querySelector('nav.navbar').getBoundingClientRect().top")
            if nav_top != 0:
                failures.append(f"{path} at {width}x{height}: navbar scrolled away (top {nav_top})")
        context.close()
    assert not failures, "\n".join(failures)
