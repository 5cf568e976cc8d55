"""Excel export of the agents and login-log lists: the filtered rows of the user's enterprise
and data scope, Chinese headers, the export permission, and the switch to a worker job."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pytest
from django.utils import timezone

from callcenter.accounts.models import Agent, Department, LoginLog
from callcenter.core.models import Job
from tests.conftest import make_agent

AGENTS = "/accounts/agents/export/"
LOGS = "/accounts/loginlogs/export/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

AGENT_HEADERS = ("坐席号", "姓名", "坐席类型", "部门", "坐席上级", "外显号码", "绑定电话", "登录方式", "角色",
                 "录音", "呼转手机", "外呼外线", "最大锁定客户数", "锁定天数", "备注1", "备注2", "备注3", "备注4")
LOG_HEADERS = ("时间", "坐席号", "IP地址", "登录渠道", "结果", "浏览器")


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


def read_export(response) -> list[tuple]:
    assert response.status_code == 200, response
    assert response["Content-Type"] == XLSX
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            rows.append(tuple("" if v is None else v for v in row))
    return rows


def numbers(rows) -> list[str]:
    return [r[1] if len(r) == len(LOG_HEADERS) else r[0] for r in rows[1:]]


# --- agents ---------------------------------------------------------------------------------


def test_admin_exports_every_agent_of_the_enterprise_with_chinese_headers(ent, other, as_user):
    dept = Department.objects.create(enterprise=ent["enterprise"], name="销售部")
    sub1 = ent["sub1"]
    sub1.department, sub1.phone, sub1.remark2, sub1.lock_days = dept, "13800000000", "夜班", 7
    sub1.save()
    r = as_user(ent["admin"]).get(AGENTS)
    assert 'filename="agents.xlsx"' in r["Content-Disposition"]
    rows = read_export(r)
    assert rows[0] == AGENT_HEADERS
    assert [row[0] for row in rows[1:]] == ["800", "810", "811", "812", "820", "830"]  # by id, no "801" of B
    row = rows[3]
    caller_id = sub1.caller_id.number
    assert row == ("811", "坐席811", "普通坐席", "销售部", "810", caller_id, "13800000000", "呼叫中心模式", "坐席",
                   "是", "否", "", 0, 7, "", "夜班", "", "")
    assert rows[6][2] == "普通员工" and rows[6][8] == "普通员工"
    assert rows[1][2] == "企业管理员" and rows[1][9] == "否"


@pytest.mark.parametrize(("query", "expected"), [
    ({"agent_type": "staff"}, ["830"]),
    ({"agent_type": "normal"}, ["810", "811", "812", "820"]),
    ({"q": "81"}, ["810", "811", "812"]),
    ({"q": "坐席82"}, ["820"]),
    ({"number_from": "811", "number_to": "820"}, ["811", "812", "820"]),
    ({"q": "none-such"}, []),
])
def test_export_has_exactly_the_filtered_rows(ent, as_user, query, expected):
    rows = read_export(as_user(ent["admin"]).get(AGENTS, query))
    assert rows[0] == AGENT_HEADERS
    assert numbers(rows) == expected


def test_export_filters_by_related_rows(ent, as_user):
    rows = read_export(as_user(ent["admin"]).get(AGENTS, {"supervisor": ent["supervisor"].pk}))
    assert numbers(rows) == ["811", "812"]


def test_filter_naming_another_enterprises_row_exports_nothing(ent, other, as_user):
    """An invalid filter narrows to nothing; it never falls back to every row."""
    theirs = Department.objects.create(enterprise=other["enterprise"], name="外企部")
    moved = Agent.objects.get(pk=other["agent"].pk)
    moved.department = theirs
    moved.save()
    rows = read_export(as_user(ent["admin"]).get(AGENTS, {"department": theirs.pk}))
    assert rows == [AGENT_HEADERS]


def test_supervisor_exports_only_own_subtree(ent, as_user):
    make_agent(ent["enterprise"], "813", supervisor=ent["sub1"])
    rows = read_export(as_user(ent["supervisor"]).get(AGENTS))
    assert numbers(rows) == ["810", "811", "812", "813"]
    rows = read_export(as_user(ent["supervisor"]).get(AGENTS, {"q": "82"}))
    assert numbers(rows) == []


@pytest.mark.parametrize("who", ["agent", "staff"])
def test_export_needs_the_export_permission(ent, as_user, who):
    client = as_user(ent[who])
    assert client.get(AGENTS).status_code == 403
    # the 坐席 role may view the login log, but not export it
    assert client.get("/accounts/loginlogs/").status_code == 200
    assert client.get(LOGS).status_code == 403
    assert not Job.objects.exists()


def test_anonymous_export_goes_to_login(db, client):
    r = client.get(AGENTS)
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]


def test_streamed_export_removes_its_temporary_file(ent, as_user, tmp_path):
    read_export(as_user(ent["admin"]).get(AGENTS))
    assert list(tmp_path.glob("*.xlsx")) == []


# --- login logs -------------------------------------------------------------------------------


@pytest.fixture
def logs(ent, other):
    e = ent["enterprise"]

    def log(enterprise, agent, result="success", number=None, **extra):
        return LoginLog.objects.create(enterprise=enterprise, agent=agent, result=result,
                                       number=number or agent.number, ip="10.0.0.9", user_agent="Firefox",
                                       **extra)

    made = [
        log(e, ent["admin"]),
        log(e, ent["supervisor"]),
        log(e, ent["sub1"], "bad_password"),
        log(e, ent["sub2"], channel="sso"),
        log(e, ent["agent"], "bad_password"),
        log(e, None, "unknown", number="999"),
        log(other["enterprise"], other["agent"]),
    ]
    at = timezone.now() - timedelta(days=1)
    LoginLog.objects.filter(pk=made[0].pk).update(at=at)
    return made


def test_login_log_export_of_the_administrator(ent, logs, as_user):
    r = as_user(ent["admin"]).get(LOGS)
    assert 'filename="loginlogs.xlsx"' in r["Content-Disposition"]
    rows = read_export(r)
    assert rows[0] == LOG_HEADERS
    assert numbers(rows) == ["800", "810", "811", "812", "820", "999"]
    first = LoginLog.objects.get(pk=logs[0].pk)
    assert rows[1] == (timezone.localtime(first.at).strftime("%Y-%m-%d %H:%M:%S"), "800", "10.0.0.9", "网页",
                       "成功", "Firefox")
    assert rows[4][3:5] == ("客户端单点登录", "成功")
    assert rows[6][4] == "坐席不存在"


def test_login_log_export_filters_and_scope(ent, logs, as_user):
    rows = read_export(as_user(ent["admin"]).get(LOGS, {"result": "bad_password"}))
    assert numbers(rows) == ["811", "820"]
    rows = read_export(as_user(ent["supervisor"]).get(LOGS))
    assert numbers(rows) == ["810", "811", "812"]
    rows = read_export(as_user(ent["supervisor"]).get(LOGS, {"result": "bad_password"}))
    assert numbers(rows) == ["811"]


def test_login_log_export_other_enterprise(other, logs, as_user):
    rows = read_export(as_user(other["admin"]).get(LOGS))
    assert numbers(rows) == ["801"]


# --- large exports go to the worker --------------------------------------------------------------


def test_export_above_the_stream_limit_becomes_a_job(ent, as_user, settings):
    settings.CALLCENTER = {**settings.CALLCENTER, "EXPORT_STREAM_ROWS": 3}
    client = as_user(ent["admin"])
    r = client.get(AGENTS, {"agent_type": "normal"})
    assert r.status_code == 302
    m = re.fullmatch(r"/jobs/(\d+)/", r["Location"])
    assert m
    job = Job.objects.get(pk=int(m.group(1)))
    assert (job.kind, job.status, job.screen, job.user_id, job.enterprise_id) == (
        "export", "pending", "accounts.agent", ent["admin"].pk, ent["enterprise"].pk)
    assert job.params == {"query": "agent_type=normal"}
    page = client.get(r["Location"])
    assert page.status_code == 200
    assert 'hx-trigger="every 1s"' in page.content.decode()  # the page polls while the job runs


def test_export_at_the_stream_limit_still_streams(ent, as_user, settings):
    settings.CALLCENTER = {**settings.CALLCENTER, "EXPORT_STREAM_ROWS": 4}
    rows = read_export(as_user(ent["admin"]).get(AGENTS, {"agent_type": "normal"}))
    assert numbers(rows) == ["810", "811", "812", "820"]
    assert not Job.objects.exists()


def test_stream_limit_counts_the_users_rows_only(ent, as_user, settings):
    """The supervisor's 3 rows stream even though the enterprise has more than the limit."""
    settings.CALLCENTER = {**settings.CALLCENTER, "EXPORT_STREAM_ROWS": 3}
    rows = read_export(as_user(ent["supervisor"]).get(AGENTS))
    assert numbers(rows) == ["810", "811", "812"]
