"""Login (L2 password, L1 single sign-on), lockout, logout, password change, forced change."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils import timezone

from callcenter.accounts.api_auth import token_create
from callcenter.accounts.models import Agent, LoginLog, SsoLink
from tests.conftest import PASSWORD, make_agent

UA = "Mozilla/5.0 (pytest) CallcenterTest/1.0"


def browser() -> Client:
    return Client(HTTP_USER_AGENT=UA)


def login(client: Client, number: str, password: str, code: str = "acme"):
    return client.post("/accounts/login/", {"enterprise_code": code, "number": number, "password": password})


def signed_in_as(client: Client):
    """The agent the client's session belongs to, or None."""
    from django.contrib.auth import SESSION_KEY

    pk = client.session.get(SESSION_KEY)
    return Agent.objects.get(pk=pk) if pk else None


def logs(agent=None, **filters):
    qs = LoginLog.objects.order_by("id")
    if agent is not None:
        qs = qs.filter(agent=agent)
    return list(qs.filter(**filters))


# --- L2: enterprise code + agent number + password ---------------------------------------------


def test_login_success_redirects_and_logs_attempt(ent):
    agent = ent["agent"]
    c = browser()
    r = login(c, "820", PASSWORD)
    assert r.status_code == 302
    assert r.url == "/"
    assert signed_in_as(c) == agent
    [row] = logs(agent)
    assert row.result == "success"
    assert row.channel == "web"
    assert row.ip == "127.0.0.1"
    assert row.user_agent == UA
    assert row.number == "820"
    assert row.enterprise == ent["enterprise"]
    # The signed-in home page is reachable.
    assert c.get("/").status_code == 200


def test_login_keeps_enterprise_code_in_cookie_and_follows_safe_next(ent):
    c = browser()
    r = c.post("/accounts/login/?next=/accounts/loginlogs/",
               {"enterprise_code": "acme", "number": "820", "password": PASSWORD})
    assert r.status_code == 302 and r.url == "/accounts/loginlogs/"
    assert r.cookies["cc_enterprise"].value == "acme"


def test_login_ignores_offsite_next(ent):
    c = browser()
    r = c.post("/accounts/login/?next=https://evil.example/",
               {"enterprise_code": "acme", "number": "820", "password": PASSWORD})
    assert r.status_code == 302
    assert r.url == "/"


def test_wrong_password_is_refused_with_message_and_logged(ent):
    c = browser()
    r = login(c, "820", "not-the-password")
    assert r.status_code == 401
    html = r.content.decode()
    assert "密码：密码错误" in html  # the message names the field
    assert signed_in_as(c) is None
    [row] = logs(ent["agent"])
    assert row.result == "bad_password"
    assert row.ip == "127.0.0.1" and row.user_agent == UA


def test_disabled_agent_is_refused_with_clear_message(ent):
    gone = make_agent(ent["enterprise"], "840", agent_type="disabled")
    c = browser()
    r = login(c, "840", PASSWORD)
    assert r.status_code == 401
    assert "坐席 840 已被禁用，不能登录" in r.content.decode()
    assert signed_in_as(c) is None
    [row] = logs(gone)
    assert row.result == "disabled"


def test_disabled_agent_with_wrong_password_is_not_told_it_is_disabled(ent):
    make_agent(ent["enterprise"], "840", agent_type="disabled")
    r = login(browser(), "840", "wrong-one")
    assert r.status_code == 401
    assert "已被禁用" not in r.content.decode()
    assert [x.result for x in logs()] == ["bad_password"]


def test_unknown_agent_is_refused(ent):
    c = browser()
    r = login(c, "899", PASSWORD)
    assert r.status_code == 401
    assert "企业编号或坐席号不存在" in r.content.decode()
    assert signed_in_as(c) is None
    # The attempt on an unknown number is logged in the enterprise it named.
    [row] = logs()
    assert row.result == "unknown" and row.agent is None and row.number == "899"
    assert row.enterprise == ent["enterprise"] and row.user_agent == UA
    r = login(c, "820", PASSWORD, code="nosuch")
    assert r.status_code == 401
    assert "企业编号或坐席号不存在" in r.content.decode()
    assert signed_in_as(c) is None
    # An unknown enterprise has nobody to show the attempt to.
    assert len(logs()) == 1


def test_same_number_in_other_enterprise_does_not_sign_in(ent, other):
    # 801 exists only in enterprise "beta"; its password must not open "acme".
    c = browser()
    assert login(c, "801", PASSWORD, code="acme").status_code == 401
    assert signed_in_as(c) is None
    assert login(c, "801", PASSWORD, code="beta").status_code == 302
    assert signed_in_as(c) == other["agent"]


def test_lockout_after_failure_limit_refuses_correct_password(ent):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == 5
    agent = ent["agent"]
    c = browser()
    for _ in range(limit - 1):
        assert login(c, "820", "wrong").status_code == 401
    # The failure that reaches the limit locks the login name.
    assert login(c, "820", "wrong").status_code == 429
    before = len(logs(agent, result="locked"))
    r = login(c, "820", PASSWORD)
    assert r.status_code == 429
    assert "登录失败次数过多" in r.content.decode()
    assert signed_in_as(c) is None
    # Exactly one "locked" row for that attempt (AxesMiddleware calls the lockout view a second time).
    assert len(logs(agent, result="locked")) == before + 1
    last = logs(agent)[-1]
    assert last.result == "locked" and last.ip == "127.0.0.1" and last.user_agent == UA
    # Another agent of the same office is not locked out.
    assert login(browser(), "811", PASSWORD).status_code == 302


def test_failures_below_limit_do_not_lock(ent):
    c = browser()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert login(c, "820", "wrong").status_code == 401
    assert login(c, "820", PASSWORD).status_code == 302
    assert not logs(ent["agent"], result="locked")


def test_logout(ent):
    c = browser()
    login(c, "820", PASSWORD)
    assert signed_in_as(c) == ent["agent"]
    r = c.post("/accounts/logout/")
    assert r.status_code == 302 and r.url == "/accounts/login/"
    assert signed_in_as(c) is None
    # Signed-out users are sent to the login page.
    r = c.get("/accounts/loginlogs/")
    assert r.status_code == 302 and r.url.startswith("/accounts/login/")


def test_password_change(ent):
    agent = ent["agent"]
    c = browser()
    login(c, "820", PASSWORD)
    r = c.post("/accounts/password/", {"old_password": "wrong-old", "new_password1": "brand-new-77",
                                        "new_password2": "brand-new-77"})
    assert r.status_code == 200
    assert 'data-field="old_password"' in r.content.decode()
    agent.refresh_from_db()
    assert agent.check_password(PASSWORD)

    r = c.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "brand-new-77",
                                        "new_password2": "brand-new-77"})
    assert r.status_code == 302
    agent.refresh_from_db()
    assert agent.check_password("brand-new-77")
    assert not agent.check_password(PASSWORD)
    # The session survives the change.
    assert signed_in_as(c) == agent
    assert login(browser(), "820", "brand-new-77").status_code == 302
    assert login(browser(), "820", PASSWORD).status_code == 401


def test_password_change_requires_login(db):
    r = Client().get("/accounts/password/")
    assert r.status_code == 302 and r.url.startswith("/accounts/login/")


def test_must_change_password_redirects_everywhere_until_changed(ent):
    agent = ent["agent"]
    agent.must_change_password = True
    agent.save()
    c = browser()
    assert login(c, "820", PASSWORD).status_code == 302
    for path in ("/", "/accounts/loginlogs/", "/accounts/tokens/"):
        r = c.get(path)
        assert r.status_code == 302 and r.url == "/accounts/password/", path
    r = c.get("/accounts/password/")
    assert r.status_code == 200 and 'id="forced-change"' in r.content.decode()
    c.post("/accounts/password/", {"old_password": PASSWORD, "new_password1": "fresh-pass-9",
                                    "new_password2": "fresh-pass-9"})
    agent.refresh_from_db()
    assert agent.must_change_password is False
    assert c.get("/accounts/loginlogs/").status_code == 200


# --- L1: one-time links issued to the agent client -----------------------------------------------


def issue_link(agent) -> str:
    _token, key = token_create(agent=agent, name="client")
    r = Client().post("/api/v1/sso-links/", HTTP_AUTHORIZATION=f"Token {key}")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["expires_in"] == 60
    url = body["url"]
    assert url.startswith("http://testserver/accounts/sso/")
    return url.removeprefix("http://testserver")


def follow_message(client: Client, response) -> str:
    assert response.status_code == 302 and response.url == "/accounts/login/"
    page = client.get(response.url).content.decode()
    m = re.search(r'id="login-message">([^<]*)<', page)
    assert m, page
    return m.group(1)


def test_sso_link_requires_token(ent):
    assert Client().post("/api/v1/sso-links/").status_code in (401, 403)
    r = Client().post("/api/v1/sso-links/", HTTP_AUTHORIZATION="Token not-a-real-key")
    assert r.status_code in (401, 403)
    assert not SsoLink.objects.exists()


def test_sso_link_signs_in_once(ent):
    agent = ent["agent"]
    path = issue_link(agent)
    c = browser()
    r = c.get(path)
    assert r.status_code == 302 and r.url == "/"
    assert signed_in_as(c) == agent
    [row] = logs(agent)
    assert row.channel == "sso" and row.result == "success" and row.ip == "127.0.0.1"
    assert c.get("/").status_code == 200

    again = browser()
    r = again.get(path)
    assert signed_in_as(again) is None
    assert "登录链接已使用过" in follow_message(again, r)
    assert len(logs(agent, result="success")) == 1
    # the refused reuse is in the agent's login log
    assert [(x.channel, x.result) for x in logs(agent, result="bad_link")] == [("sso", "bad_link")]


def test_sso_forged_token_is_refused(ent):
    path = issue_link(ent["agent"])
    token = path.rstrip("/").rsplit("/", 1)[1]
    # Flip one character of the signature.
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    c = browser()
    r = c.get(f"/accounts/sso/{forged}/")
    assert signed_in_as(c) is None
    assert "登录链接无效" in follow_message(c, r)
    # A token signed for another agent id with a made-up signature is refused too.
    r = c.get("/accounts/sso/eyJhIjoxLCJuIjoieCJ9:1abcde:forgedsignature/")
    assert signed_in_as(c) is None
    assert "登录链接无效" in follow_message(c, r)
    assert not logs(ent["agent"])


def test_sso_expired_link_is_refused(ent):
    path = issue_link(ent["agent"])
    c = browser()
    with time_machine.travel(timezone.now() + dt.timedelta(seconds=61)):
        r = c.get(path)
    assert signed_in_as(c) is None
    assert "登录链接已过期" in follow_message(c, r)
    # a genuine but expired link is logged as a failure of the agent it names
    assert [(x.channel, x.result) for x in logs(ent["agent"])] == [("sso", "bad_link")]


def test_sso_link_of_disabled_agent_is_refused(ent):
    agent = ent["agent"]
    path = issue_link(agent)
    Agent.objects.filter(pk=agent.pk).update(agent_type="disabled")
    c = browser()
    r = c.get(path)
    assert signed_in_as(c) is None
    assert "坐席已禁用" in follow_message(c, r)


@pytest.mark.parametrize("who", ["admin", "agent"])
def test_sso_link_is_for_the_token_owner_only(ent, who):
    agent = ent[who]
    path = issue_link(agent)
    c = browser()
    c.get(path)
    assert signed_in_as(c) == agent
