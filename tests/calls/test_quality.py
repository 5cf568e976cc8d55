"""质检 (T7 quality inspection): scoring a call on its page and through the API, the refusals (each
names its field and changes nothing), the list of reviewed calls with its filters and export,
scope and tenancy; and the CDR list's campaign filters (task, result, duration, reviewed)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext

from callcenter.accounts.models import Role
from callcenter.calls.models import QualityReview
from callcenter.core.models import AuditLog
from tests.calls.conftest import T0, call, no_role

LIST = "/calls/cdrs/"
QUALITY = "/calls/qualityreviews/"
QUALITY_PERMS = ["view_qualityreview", "add_qualityreview", "change_qualityreview", "export_qualityreview"]


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


@pytest.fixture
def calls(ent, other, call_perms):
    """Answered calls of 811, 812 and 820, an unanswered one of 811, the supervisor's own call,
    and a call of enterprise B. 班长 may review; 坐席 may read reviews (of their own calls)."""
    sup_perms = Permission.objects.filter(content_type__app_label="calls", codename__in=QUALITY_PERMS)
    Role.objects.get(enterprise=ent["enterprise"], name="班长").permissions.add(*sup_perms)
    Role.objects.get(enterprise=ent["enterprise"], name="坐席").permissions.add(
        Permission.objects.get(content_type__app_label="calls", codename="view_qualityreview"))
    e = ent["enterprise"]
    return {
        "sub1": call(e, agent=ent["sub1"], start=T0, talk=120, callee="13800138000"),
        "sub2": call(e, agent=ent["sub2"], start=T0 + timedelta(hours=1), talk=30),
        "agent": call(e, agent=ent["agent"], start=T0 + timedelta(hours=2), talk=45),
        "missed": call(e, agent=ent["sub1"], start=T0 + timedelta(hours=3), talk=None, cause=19),
        "own": call(e, agent=ent["supervisor"], start=T0 + timedelta(hours=4), talk=10),
        "b": call(other["enterprise"], agent=other["agent"], start=T0, talk=50),
    }


def score(client, cdr, value, comment=""):
    return client.post(f"{LIST}{cdr.pk}/", {"score": value, "comment": comment})


# --- scoring on the CDR page ------------------------------------------------------------------------


def test_supervisor_scores_a_subordinates_call(ent, calls, as_user):
    c = as_user(ent["supervisor"])
    page = c.get(f"{LIST}{calls['sub1'].pk}/").content.decode()
    assert 'id="quality-form"' in page and "提交评分" in page
    r = score(c, calls["sub1"], "85", "  开场白规范，结束语缺失  ")
    assert r.status_code == 302 and r["Location"] == f"{LIST}{calls['sub1'].pk}/#quality"
    review = QualityReview.objects.get()
    assert (review.score, review.comment, review.reviewer, review.agent, review.enterprise) == (
        85, "开场白规范，结束语缺失", ent["supervisor"], ent["sub1"], ent["enterprise"])
    page = c.get(f"{LIST}{calls['sub1'].pk}/").content.decode()
    assert 'id="quality-review"' in page and "开场白规范，结束语缺失" in page and "修改评分" in page
    assert AuditLog.objects.filter(object_type="calls.qualityreview", action="create").count() == 1


def test_scoring_again_replaces_the_review_and_is_audited(ent, calls, as_user):
    c = as_user(ent["supervisor"])
    score(c, calls["sub1"], 60, "一般")
    admin = as_user(ent["admin"])
    assert score(admin, calls["sub1"], 92, "复核后提高").status_code == 302
    review = QualityReview.objects.get()
    assert (review.score, review.comment, review.reviewer) == (92, "复核后提高", ent["admin"])
    update = AuditLog.objects.get(object_type="calls.qualityreview", action="update")
    assert update.changes["score"] == [60, 92]


@pytest.mark.parametrize(("value", "comment", "field", "message"), [
    ("101", "", "score", "评分：必须是0到100之间的整数"),
    ("-1", "", "score", "评分：必须是0到100之间的整数"),
    ("八十", "", "score", "评分：必须是0到100之间的整数"),
    ("85.5", "", "score", "评分：必须是0到100之间的整数"),
    ("", "", "score", "评分：必须是0到100之间的整数"),
    ("80", "长" * 1001, "comment", "评语：最多1000个字符"),
])
def test_bad_input_is_refused_naming_the_field_and_changes_nothing(ent, calls, as_user, value, comment, field,
                                                                  message):
    c = as_user(ent["supervisor"])
    score(c, calls["sub1"], 70, "原评语")
    r = score(c, calls["sub1"], value, comment)
    assert r.status_code == 400
    page = r.content.decode()
    assert message in page
    form = page.split('id="quality-form"')[1]
    assert message in form.split(f'name="{field}"')[1].split("</div>\n  </div>")[0] or message in form
    review = QualityReview.objects.get()
    assert (review.score, review.comment) == (70, "原评语")


def test_unanswered_and_own_calls_cannot_be_scored(ent, calls, as_user):
    c = as_user(ent["supervisor"])
    page = c.get(f"{LIST}{calls['missed'].pk}/").content.decode()
    assert 'id="quality-form"' not in page and "未接通的通话不能质检" in page
    r = score(c, calls["missed"], 80)
    assert r.status_code == 400 and "通话：未接通的通话不能质检" in r.content.decode()
    r = score(c, calls["own"], 80)
    assert r.status_code == 400 and "通话：不能给自己的通话评分" in r.content.decode()
    assert not QualityReview.objects.exists()


def test_calls_outside_scope_or_enterprise_cannot_be_scored(ent, other, calls, as_user):
    assert score(as_user(ent["supervisor"]), calls["agent"], 80).status_code == 404  # 820 is not below 810
    assert score(as_user(other["admin"]), calls["sub1"], 80).status_code == 404
    assert not QualityReview.objects.exists()


def test_without_the_permission_the_form_is_hidden_and_posts_are_403(ent, calls, as_user):
    c = as_user(ent["agent"])
    page = c.get(f"{LIST}{calls['agent'].pk}/").content.decode()
    assert 'id="quality-form"' not in page and "尚未质检" in page
    assert score(c, calls["agent"], 100).status_code == 403
    # changing an existing review needs the change permission as well
    score(as_user(ent["admin"]), calls["sub1"], 50)
    Role.objects.get(enterprise=ent["enterprise"], name="班长").permissions.remove(
        Permission.objects.get(codename="change_qualityreview"))
    assert score(as_user(ent["supervisor"]), calls["sub1"], 99).status_code == 403
    assert QualityReview.objects.get().score == 50


# --- the list of reviewed calls ------------------------------------------------------------------------


@pytest.fixture
def reviewed(ent, calls, as_user):
    admin = as_user(ent["admin"])
    for key, value, comment in (("sub1", 90, "优秀"), ("sub2", 55, "未核实身份"), ("agent", 75, "")):
        assert score(admin, calls[key], value, comment).status_code == 302
    sup = as_user(ent["supervisor"])
    score(sup, calls["sub2"], 58, "未核实身份，语速快")
    return calls


def review_rows(response) -> list[str]:
    assert response.status_code == 200
    body = response.content.decode().split('id="list-table"')[1]
    return re.findall(r'<span class="badge text-bg-\w+">(\d+)</span>', body)


def test_quality_list_scope_newest_first(ent, other, reviewed, as_user):
    assert review_rows(as_user(ent["admin"]).get(QUALITY)) == ["58", "75", "90"]
    assert review_rows(as_user(ent["supervisor"]).get(QUALITY)) == ["58", "90"]
    assert review_rows(as_user(ent["sub1"]).get(QUALITY)) == ["90"]  # an agent sees the reviews of their calls
    assert review_rows(as_user(ent["agent"]).get(QUALITY)) == ["75"]
    assert review_rows(as_user(other["admin"]).get(QUALITY)) == []
    assert as_user(no_role(ent)).get(QUALITY).status_code == 403
    page = as_user(ent["admin"]).get(QUALITY).content.decode()
    assert "未核实身份，语速快" in page and "810 坐席810" in page and "查看通话" in page


@pytest.mark.parametrize(("query", "expected"), [
    ({"min_score": "60"}, ["75", "90"]),
    ({"max_score": "60"}, ["58"]),
    ({"number": "13800138000"}, ["90"]),
    ({"direction": "in"}, []),
])
def test_quality_list_filters(ent, reviewed, as_user, query, expected):
    assert review_rows(as_user(ent["admin"]).get(QUALITY, query)) == expected


def test_quality_list_filters_by_reviewer_and_agent(ent, reviewed, as_user):
    c = as_user(ent["admin"])
    assert review_rows(c.get(QUALITY, {"reviewer": ent["supervisor"].pk})) == ["58"]
    assert review_rows(c.get(QUALITY, {"agent": ent["agent"].pk})) == ["75"]
    r = c.get(QUALITY, {"min_score": "abc"})
    assert review_rows(r) == [] and "评分不低于" in r.content.decode()


def test_quality_list_export(ent, reviewed, as_user):
    r = as_user(ent["supervisor"]).get(QUALITY + "export/")
    assert r.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(r.streaming_content)), read_only=True)
    rows = [tuple(row) for row in wb.active.iter_rows(values_only=True)]
    assert rows[0][:8] == ("质检时间", "通话时间", "呼叫方向", "主叫号码", "被叫号码", "被质检坐席",
                           "通话时长（秒）", "评分")
    assert sorted((row[5], row[7], row[9]) for row in rows[1:]) == [
        ("811 坐席811", 90, "800 管理员"), ("812 坐席812", 58, "810 坐席810")]


def test_quality_list_query_count_does_not_grow(ent, reviewed, as_user):
    c = as_user(ent["admin"])
    c.get(QUALITY)
    with CaptureQueriesContext(connection) as few:
        c.get(QUALITY)
    e = ent["enterprise"]
    for i in range(12):
        cdr = call(e, agent=[ent["sub1"], ent["sub2"], ent["agent"]][i % 3], start=T0 - timedelta(hours=i))
        score(c, cdr, 60 + i)
    with CaptureQueriesContext(connection) as many:
        c.get(QUALITY)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_menu_lists_quality_for_reviewers(ent, reviewed, as_user):
    assert 'href="/calls/qualityreviews/"' in as_user(ent["supervisor"]).get("/").content.decode()
    assert 'href="/calls/qualityreviews/"' not in as_user(no_role(ent)).get("/").content.decode()


# --- the CDR list: score column and the campaign filters ---------------------------------------------


def test_cdr_list_shows_scores_and_filters_reviewed_calls(ent, reviewed, as_user):
    c = as_user(ent["admin"])
    page = c.get(LIST).content.decode()
    assert re.search(r'href="/calls/cdrs/\d+/#quality"[^>]*><span class="badge text-bg-success">90</span>', page)
    assert "评分</a>" in page  # the supervisor's own call is answered and not yet reviewed
    rows = re.findall(r'href="/calls/cdrs/(\d+)/"', c.get(LIST, {"reviewed": "yes"}).content.decode())
    assert sorted(map(int, rows)) == sorted(reviewed[k].pk for k in ("sub1", "sub2", "agent"))


@pytest.mark.parametrize(("query", "expected"), [
    ({"result": "answered"}, ("sub1", "sub2", "agent", "own")),
    ({"result": "agent"}, ("sub1", "sub2", "agent", "own")),
    ({"result": "unanswered"}, ("missed",)),
    ({"result": "no_answer"}, ("missed",)),
    ({"result": "busy"}, ()),
    ({"max_talk": "30"}, ("sub2", "missed", "own")),
    ({"min_talk": "40", "max_talk": "60"}, ("agent",)),
])
def test_cdr_result_and_duration_filters(ent, calls, as_user, query, expected):
    r = as_user(ent["admin"]).get(LIST, query)
    rows = re.findall(r'href="/calls/cdrs/(\d+)/"', r.content.decode())
    assert sorted(map(int, rows)) == sorted(calls[k].pk for k in expected)


def test_cdr_task_filter_offers_the_enterprises_tasks(ent, other, calls, as_user):
    from callcenter.campaigns.models import Task
    from callcenter.crm import services as crm
    from callcenter.telephony import services as tel

    e = ent["enterprise"]
    group = tel.group_create(enterprise=e, values={"name": "G"}, members=[ent["sub1"]])
    flow = tel.callflow_create(enterprise=e, values={"name": "F", "transfer_mode": "direct", "agent_group": group})
    task = Task.objects.create(enterprise=e, name="夏季回访", flow=flow, status="running",
                               category=crm.category_create(enterprise=e, name="C"))
    campaign = call(e, agent=ent["sub1"], task_id=task.pk, attempt_id=None)
    c = as_user(ent["admin"])
    r = c.get(LIST, {"task_id": task.pk})
    assert re.findall(r'href="/calls/cdrs/(\d+)/"', r.content.decode()) == [str(campaign.pk)]
    assert "夏季回访" in r.content.decode().split('name="task_id"')[1].split("</select>")[0]
    # another enterprise cannot filter by (or learn of) this task
    r = as_user(other["admin"]).get(LIST, {"task_id": task.pk})
    assert re.findall(r'href="/calls/cdrs/(\d+)/"', r.content.decode()) == []
    assert "夏季回访" not in r.content.decode()


# --- API -------------------------------------------------------------------------------------------------

API = "/api/v1/quality-reviews/"


def test_api_scores_changes_and_deletes(ent, calls, as_user):
    c = as_user(ent["supervisor"])
    r = c.post(API, {"cdr": calls["sub1"].pk, "score": 88, "comment": "好"}, content_type="application/json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["score"], body["agent"], body["reviewer"], body["agent_label"]) == (
        88, ent["sub1"].pk, ent["supervisor"].pk, "811 坐席811")
    rid = body["id"]
    r = c.patch(f"{API}{rid}/", {"score": 70}, content_type="application/json")
    assert r.status_code == 200 and r.json()["score"] == 70 and r.json()["comment"] == "好"
    assert [row["id"] for row in c.get(API).json()["results"]] == [rid]
    r = as_user(ent["sub1"]).get(API)
    assert [row["score"] for row in r.json()["results"]] == [70]
    assert as_user(ent["agent"]).get(API).json()["results"] == []
    assert as_user(ent["sub1"]).delete(f"{API}{rid}/").status_code == 403
    assert as_user(ent["admin"]).delete(f"{API}{rid}/").status_code == 204
    assert not QualityReview.objects.exists()
    r = as_user(ent["admin"]).get("/api/v1/cdrs/", {"reviewed": "no"})
    assert calls["sub1"].call_id in [row["call_id"] for row in r.json()["results"]]


@pytest.mark.parametrize(("payload", "field"), [
    ({"score": 101}, "score"), ({"score": -5}, "score"), ({"score": "x"}, "score"), ({}, "score"),
    ({"score": 80, "comment": "长" * 1001}, "comment"),
])
def test_api_bad_input_names_the_field(ent, calls, as_user, payload, field):
    r = as_user(ent["supervisor"]).post(API, {"cdr": calls["sub1"].pk, **payload}, content_type="application/json")
    assert r.status_code == 400 and field in r.json(), r.content
    assert not QualityReview.objects.exists()


def test_api_refusals_and_boundaries(ent, other, calls, as_user):
    c = as_user(ent["supervisor"])
    r = c.post(API, {"cdr": calls["missed"].pk, "score": 80}, content_type="application/json")
    assert r.status_code == 400 and r.json() == {"cdr": ["通话：未接通的通话不能质检"]}
    r = c.post(API, {"cdr": calls["agent"].pk, "score": 80}, content_type="application/json")  # outside scope
    assert r.status_code == 400 and "cdr" in r.json()
    r = as_user(other["admin"]).post(API, {"cdr": calls["sub1"].pk, "score": 80}, content_type="application/json")
    assert r.status_code == 400 and "cdr" in r.json()
    assert as_user(ent["agent"]).post(API, {"cdr": calls["agent"].pk, "score": 80},
                                      content_type="application/json").status_code == 403
    assert not QualityReview.objects.exists()
    c.post(API, {"cdr": calls["sub1"].pk, "score": 80}, content_type="application/json")
    rid = QualityReview.objects.get().pk
    assert as_user(other["admin"]).get(f"{API}{rid}/").status_code == 404
    assert as_user(other["admin"]).patch(f"{API}{rid}/", {"score": 1},
                                         content_type="application/json").status_code == 404
    assert QualityReview.objects.get().score == 80


# --- the CDR export's fast rows ------------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Kolkata", "America/New_York"])
def test_fast_export_rows_equal_the_generic_rows(ent, other, reviewed, as_user, zone, settings):
    """CdrScreen.export_rows reads values and UTC text instead of model instances; its cells must
    be those of the generic export of the same columns, whatever the time zone's offset."""
    from django.utils import timezone

    from callcenter.accounts.models import Agent
    from callcenter.calls import screens
    from callcenter.calls.services import recording_add
    from callcenter.core.exporting import export_rows

    e = ent["enterprise"]
    call(e, agent=None, direction="in", caller="13900000000", callee="4008000000", talk=None, cause=34,
         last_key="9", task_id=77)
    gone = call(e, agent=ent["staff"], start=T0 + timedelta(days=3, microseconds=250_000), talk=7)
    recording_add(enterprise_id=e.pk, call_id=gone.call_id, created_at=T0, url="/r.wav")
    Agent.objects.filter(pk=ent["staff"].pk).update(name="改名后")  # the label is the agent as now
    call(e, agent=ent["sub1"], start=T0 + timedelta(days=160), talk=3)  # summer time in New York
    screen = screens.cdr_screen
    qs = screen.queryset(type("R", (), {"user": ent["admin"]})()).order_by("pk")
    columns = screen.get_export_columns(ent["admin"])
    with timezone.override(zone):
        fast = list(screen.export_rows(qs, columns))
        generic = list(export_rows(qs, columns))
    assert len(fast) == qs.count() >= 8
    assert fast == generic
    assert any(row[-2] == 90 and row[-1] == "优秀" for row in fast)
    assert any(row[5] == "830 改名后" and row[17] == "是" for row in fast)
