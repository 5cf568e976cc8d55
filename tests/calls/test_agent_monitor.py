"""坐席监控 (T10): live states with time in state and pause reason, today's traffic per agent (in the
enterprise's time zone), as a table and chart data; scope, tenancy, permission, the live partial,
query counts; and the agent-states API."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callcenter.accounts.models import Role
from callcenter.calls import selectors, services
from callcenter.workspace.models import AgentStateChange
from tests.calls.conftest import call, no_role

MONITOR = "/calls/agent-monitor/"


@pytest.fixture
def monitor(ent, other, call_perms):
    """810 idle 2 min, 811 talking 45 s, 812 paused 10 min ("培训"), 820 ringing, 830 and 800 never
    seen (logged out); calls today for 811 (2, one answered), 812 (1) and 820 (1), and one
    yesterday for 811; enterprise B's agent busy with a call."""
    view_states = Permission.objects.get(content_type__app_label="calls", codename="view_agentstate")
    Role.objects.get(enterprise=ent["enterprise"], name="班长").permissions.add(view_states)
    Role.objects.get(enterprise=ent["enterprise"], name="坐席").permissions.remove(view_states)  # as by default
    e = ent["enterprise"]
    now = timezone.now()
    for who, state, ago in (("supervisor", "idle", 120), ("sub1", "busy", 45), ("sub2", "paused", 600),
                            ("agent", "ringing", 3)):
        services.agent_state_set(enterprise_id=e.pk, agent_id=ent[who].pk, state=state,
                                 since=now - timedelta(seconds=ago), call_id="c-1" if state == "busy" else "")
    AgentStateChange.objects.create(enterprise=e, agent=ent["sub2"], state="paused", reason="开会",
                                    at=now - timedelta(days=1))
    AgentStateChange.objects.create(enterprise=e, agent=ent["sub2"], state="paused", reason="培训",
                                    at=now - timedelta(seconds=600))
    start = selectors.day_start(e, now)
    # keep "today" inside today even when the suite runs just after midnight
    today = max(start + timedelta(seconds=1), now - timedelta(minutes=30))
    call(e, agent=ent["sub1"], start=today, talk=100)
    call(e, agent=ent["sub1"], start=today, talk=None, cause=19)
    call(e, agent=ent["sub2"], start=today, talk=50)
    call(e, agent=ent["agent"], start=today, talk=20)
    call(e, agent=ent["sub1"], start=start - timedelta(hours=2), talk=500)  # yesterday
    services.agent_state_set(enterprise_id=other["enterprise"].pk, agent_id=other["agent"].pk, state="busy")
    call(other["enterprise"], agent=other["agent"], start=now - timedelta(minutes=5), talk=30)
    return now


def rows(page: str) -> dict[str, list[str]]:
    body = page.split('id="monitor-table"')[1]
    found = {}
    for number, cells in re.findall(r'<tr data-agent="(\d+)">(.*?)</tr>', body, re.S):
        found[number] = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", cells, re.S)]
    return found


def test_admin_sees_every_agent_state_time_reason_and_todays_traffic(ent, monitor, as_user):
    page = as_user(ent["admin"]).get(MONITOR).content.decode()
    table = rows(page)
    assert list(table) == ["800", "810", "811", "812", "820", "830"]
    assert table["811"][1:2] == ["通话中"] and table["811"][4:] == ["2", "1", "01:40"]
    assert table["812"][1] == "示忙" and table["812"][3] == "培训" and table["812"][4:] == ["1", "1", "00:50"]
    assert re.fullmatch(r"10:0\d", table["812"][2]), table["812"]
    assert table["810"][1] == "空闲" and re.fullmatch(r"02:0\d", table["810"][2]) and table["810"][3] == ""
    assert table["820"][1] == "振铃" and table["820"][4:] == ["1", "1", "00:20"]
    assert table["830"][1:3] == ["离线", "—"] and table["830"][4:] == ["0", "0", "00:00"]
    assert "今日呼叫 4，接通 3，通话 02:50" in page
    summary = page.split('id="monitor-summary"')[1]
    assert '<span class="badge text-bg-success" data-state="idle">空闲 1</span>' in summary
    assert 'data-state="offline">离线 2<' in summary


def test_chart_data_matches_the_table(ent, monitor, as_user):
    page = as_user(ent["admin"]).get(MONITOR).content.decode()
    data = json.loads(re.search(r'<script id="monitor-data" type="application/json">(.*?)</script>', page,
                                re.S).group(1))
    assert data["agents"] == ["800", "810", "811", "812", "820", "830"]
    assert data["calls"] == [0, 0, 2, 1, 1, 0] and data["answered"] == [0, 0, 1, 1, 1, 0]
    assert data["talk_minutes"] == [0, 0, 1.7, 0.8, 0.3, 0]
    assert {s["key"]: s["value"] for s in data["states"]} == {
        "offline": 2, "idle": 1, "ringing": 1, "busy": 1, "paused": 1, "wrapup": 0}
    assert 'data-live-chart="states"' in page and 'data-live-chart="traffic"' in page


def test_supervisor_sees_own_team_only_and_agents_no_monitor(ent, other, monitor, as_user):
    page = as_user(ent["supervisor"]).get(MONITOR).content.decode()
    assert list(rows(page)) == ["810", "811", "812"]
    assert "今日呼叫 3，接通 2" in page
    assert as_user(ent["agent"]).get(MONITOR).status_code == 403
    assert as_user(no_role(ent)).get(MONITOR).status_code == 403
    b = as_user(other["admin"]).get(MONITOR).content.decode()
    assert list(rows(b)) == ["800", "801"] and "今日呼叫 1" in b


def test_disabled_agents_are_not_monitored_and_state_filter_narrows_rows(ent, monitor, as_user):
    from callcenter.accounts.models import Agent

    Agent.objects.filter(pk=ent["staff"].pk).update(agent_type="disabled")
    c = as_user(ent["admin"])
    assert "830" not in rows(c.get(MONITOR).content.decode())
    page = c.get(MONITOR, {"state": "paused"}).content.decode()
    assert list(rows(page)) == ["812"] and "离线 1" in page  # the counts stay whole
    assert list(rows(c.get(MONITOR, {"state": "nonsense"}).content.decode())) == ["800", "810", "811", "812", "820"]


def test_partial_is_polled_and_follows_changes(ent, monitor, as_user):
    c = as_user(ent["admin"])
    page = c.get(MONITOR).content.decode()
    assert 'hx-get="/calls/agent-monitor/" hx-trigger="every 3s"' in page
    services.agent_state_set(enterprise_id=ent["enterprise"].pk, agent_id=ent["agent"].pk, state="busy",
                             call_id="c-2")
    partial = c.get(MONITOR, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and rows(partial)["820"][1] == "通话中"
    assert 'id="monitor-data"' in partial


def test_menu_entry(ent, monitor, as_user):
    assert 'href="/calls/agent-monitor/"' in as_user(ent["supervisor"]).get("/").content.decode()
    assert 'href="/calls/agent-monitor/"' not in as_user(ent["agent"]).get("/").content.decode()


def test_query_count_does_not_grow_with_agents_or_calls(ent, monitor, as_user):
    from tests.conftest import make_agent

    c = as_user(ent["admin"])
    c.get(MONITOR)
    with CaptureQueriesContext(connection) as few:
        c.get(MONITOR)
    e = ent["enterprise"]
    now = timezone.now()
    for i in range(15):
        agent = make_agent(e, str(850 + i), role="坐席")
        services.agent_state_set(enterprise_id=e.pk, agent_id=agent.pk, state=["idle", "paused", "busy"][i % 3])
        AgentStateChange.objects.create(enterprise=e, agent=agent, state="paused", reason=f"原因{i}")
        call(e, agent=agent, start=now - timedelta(minutes=1), talk=10)
    with CaptureQueriesContext(connection) as many:
        page = c.get(MONITOR).content.decode()
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(rows(page)) == 21


def test_agent_states_api_has_time_in_state_and_pause_reason(ent, other, monitor, as_user):
    r = as_user(ent["admin"]).get("/api/v1/agent-states/")
    assert r.status_code == 200
    by_number = {row["agent_number"]: row for row in r.json()["results"]}
    assert set(by_number) == {"810", "811", "812", "820"}
    assert by_number["812"]["pause_reason"] == "培训" and 595 <= by_number["812"]["seconds_in_state"] <= 700
    assert by_number["810"]["pause_reason"] == ""
    assert set(row["agent_number"] for row in as_user(ent["supervisor"]).get(
        "/api/v1/agent-states/").json()["results"]) == {"810", "811", "812"}
