"""The UI shell: Chinese by default, English on request, a menu with no dead links."""

from __future__ import annotations

from pathlib import Path

from babel.messages.pofile import read_po
from django.conf import settings
from django.urls import reverse

from callcenter.core import navigation


def test_login_page_is_chinese_by_default(client):
    html = client.get("/accounts/login/").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "呼叫中心后台登录" in html


def test_english_switch_translates_the_ui(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post("/i18n/setlang/", {"language": "en", "next": "/accounts/agents/"})
    assert r.status_code == 302
    html = c.get("/accounts/agents/").content.decode()
    assert '<html lang="en">' in html
    assert "Agents" in html and "Call configuration" in html
    assert "坐席管理" not in html


def test_every_message_has_an_english_translation():
    path = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"
    catalog = read_po(path.open("rb"))
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
    # a fuzzy entry is makemessages' guess: it is not compiled, so the English UI shows Chinese
    assert [m.id for m in catalog if m.id and m.fuzzy] == []


def test_every_menu_entry_opens_for_the_administrator(ent, as_user):
    c = as_user(ent["admin"])
    reverse("core:home")  # the URLconf registers the menu entries of some apps when it loads
    items = navigation.all_items()
    assert items, "the menu registry is empty"
    for item in items:
        assert c.get(reverse(item.url_name)).status_code == 200, item.url_name
    menu_urls = {i["url"] for s in navigation.menu_for(ent["admin"]) for i in s["items"]}
    assert menu_urls == {reverse(i.url_name) for i in items}


def test_dashboard_shows_agent_figures_and_chart(ent, as_user):
    html = as_user(ent["admin"]).get("/").content.decode()
    assert "坐席总数" in html
    # 800, 810, 811, 812, 820, 830: six agents in the fixture enterprise
    assert '<div class="fs-4 fw-semibold figure-value">6</div>' in html
    assert "data-chart" in html


def test_an_english_browser_still_gets_chinese_until_the_switch(client):
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    html = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-CN").content.decode()
    assert '<html lang="en">' in html
