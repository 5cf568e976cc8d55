"""通话详单 (T7) and 漏接明细 (P5) screens: filters, data scope, tenant boundary, query counts,
export, the recording player."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from callcenter.calls import services
from callcenter.calls.models import Cdr
from tests.calls.conftest import T0, call, no_role

LIST = "/calls/cdrs/"
EXPORT = "/calls/cdrs/export/"
MISSED = "/calls/missedcalls/"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


def row_pks(response) -> list[int]:
    assert response.status_code == 200, response
    return [int(pk) for pk in re.findall(r'href="/calls/cdrs/(\d+)/"', response.content.decode())]


@pytest.fixture
def calls(ent, call_perms):
    """One call per person of enterprise A, plus variety for the filters."""
    e = ent["enterprise"]
    made = {
        "admin": call(e, agent=ent["admin"], start=T0, callee="13800138000"),
        "sup": call(e, agent=ent["supervisor"], start=T0 + timedelta(hours=1), callee="13922200000",
                    recording=True),
        "sub1": call(e, agent=ent["sub1"], start=T0 + timedelta(hours=2), direction="in", caller="13800138000",
                     callee="02066660000", last_key="1"),
        "sub2": call(e, agent=ent["sub2"], start=T0 + timedelta(days=1), talk=None, cause=17),
        "agent": call(e, agent=ent["agent"], start=T0 + timedelta(days=2), cause=34, talk=None, recording=True),
        "nobody": call(e, start=T0 + timedelta(days=3), talk=None, cause=19),
    }
    return made


def pks(calls, *names) -> list[int]:
    """Expected list order: newest first."""
    rows = sorted((calls[n] for n in names), key=lambda c: c.started_at, reverse=True)
    return [c.pk for c in rows]


ALL = ("admin", "sup", "sub1", "sub2", "agent", "nobody")


# --- scope --------------------------------------------------------------------------------------


def test_admin_sees_every_call_of_the_enterprise_newest_first(ent, other, calls, as_user):
    call(other["enterprise"], agent=other["agent"])
    assert row_pks(as_user(ent["admin"]).get(LIST)) == pks(calls, *ALL)


def test_agent_sees_only_own_calls(ent, calls, as_user):
    assert row_pks(as_user(ent["agent"]).get(LIST)) == pks(calls, "agent")
    assert row_pks(as_user(ent["sub1"]).get(LIST)) == pks(calls, "sub1")


def test_supervisor_sees_own_and_subordinates_calls(ent, calls, as_user):
    assert row_pks(as_user(ent["supervisor"]).get(LIST)) == pks(calls, "sup", "sub1", "sub2")


def test_without_the_permission_the_screen_is_forbidden(ent, calls, as_user):
    assert as_user(no_role(ent)).get(LIST).status_code == 403
    assert as_user(no_role(ent)).get(f"{LIST}{calls['sup'].pk}/").status_code == 403


def test_detail_outside_scope_or_enterprise_is_404(ent, other, calls, as_user):
    assert as_user(ent["agent"]).get(f"{LIST}{calls['sup'].pk}/").status_code == 404
    assert as_user(ent["supervisor"]).get(f"{LIST}{calls['agent'].pk}/").status_code == 404
    assert as_user(other["admin"]).get(f"{LIST}{calls['sup'].pk}/").status_code == 404
    assert as_user(other["admin"]).get(f"{LIST}{calls['sup'].pk}/recording/").status_code == 404
    assert as_user(ent["agent"]).get(f"{LIST}{calls['sup'].pk}/recording/").status_code == 404


# --- filters ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ({"direction": "in"}, ("sub1",)),
    ({"direction": "out"}, ("admin", "sup", "sub2", "agent", "nobody")),
    ({"since": "2025-06-03 00:00", "until": "2025-06-04 23:59"}, ("sub2", "agent")),
    ({"until": "2025-06-02 10:00"}, ("admin",)),
    ({"number": "13800138000"}, ("admin", "sub1")),
    ({"number": "+86 138 0013 8000"}, ("admin", "sub1")),
    ({"caller": "13800138000"}, ("sub1",)),
    ({"callee": "13922200000"}, ("sup",)),
    ({"cause": "17"}, ("sub2",)),
    ({"cause": "34"}, ("agent",)),
    ({"answered": "yes"}, ("admin", "sup", "sub1")),
    ({"answered": "no"}, ("sub2", "agent", "nobody")),
    ({"has_recording": "yes"}, ("sup", "agent")),
    ({"has_recording": "no"}, ("admin", "sub1", "sub2", "nobody")),
    ({"last_key": "1"}, ("sub1",)),
    ({"min_talk": "30"}, ("admin", "sup", "sub1")),
])
def test_filters(ent, calls, as_user, query, expected):
    assert row_pks(as_user(ent["admin"]).get(LIST, query)) == pks(calls, *expected)


def test_agent_filter_and_its_choices_follow_the_scope(ent, calls, as_user):
    c = as_user(ent["admin"])
    assert row_pks(c.get(LIST, {"agent": ent["sub2"].pk})) == pks(calls, "sub2")
    page = as_user(ent["supervisor"]).get(LIST).content.decode()
    options = re.findall(r'<option value="(\d+)"', page.split('name="agent"')[1].split("</select>")[0])
    assert sorted(map(int, options)) == sorted([ent["supervisor"].pk, ent["sub1"].pk, ent["sub2"].pk])
    # an agent outside the scope is not a valid choice: the filter refuses it, showing nothing
    assert row_pks(as_user(ent["supervisor"]).get(LIST, {"agent": ent["agent"].pk})) == []


def test_invalid_filter_value_shows_no_rows_and_a_message(ent, calls, as_user):
    r = as_user(ent["admin"]).get(LIST, {"since": "not a date"})
    assert row_pks(r) == []
    assert "开始时间从" in r.content.decode()


# --- list page ---------------------------------------------------------------------------------


def test_list_shows_the_columns_a_manager_reads(ent, calls, as_user):
    page = as_user(ent["admin"]).get(LIST).content.decode()
    for text in ("通话详单", "开始时间", "主叫号码", "被叫号码", "坐席", "通话时长", "挂断原因", "用户忙 (17)",
                 "线路拥塞 (34)", "811 坐席811", "01:00", "bi-mic-fill", 'id="btn-export"'):
        assert text in page, text
    assert 'id="btn-add"' not in page and 'id="btn-bulk-delete"' not in page  # read-only


def test_menu_has_the_calls_screens(ent, calls, as_user):
    page = as_user(ent["admin"]).get("/").content.decode()
    assert 'href="/calls/cdrs/"' in page and 'href="/calls/missedcalls/"' in page
    assert 'href="/calls/cdrs/"' not in as_user(no_role(ent)).get("/").content.decode()


def list_queries(client, path) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get(path)
    assert r.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("user", ["admin", "supervisor"])
def test_list_query_count_does_not_grow_with_rows(ent, calls, as_user, user, django_assert_max_num_queries):
    e = ent["enterprise"]
    c = as_user(ent[user])
    c.get(LIST)
    few = list_queries(c, LIST)
    people = [ent[k] for k in ("admin", "supervisor", "sub1", "sub2", "agent")]
    services.cdrs_open(rows=[services.CdrOpen(e.pk, f"many{i}", "out", T0 - timedelta(minutes=i),
                                              agent_id=people[i % 5].pk) for i in range(120)])
    for i in range(0, 120, 3):
        services.recording_add(enterprise_id=e.pk, call_id=f"many{i}", created_at=T0, url="/r.wav")
    many = list_queries(c, LIST)
    assert few == many
    with django_assert_max_num_queries(15):
        assert len(row_pks(c.get(LIST))) == 50


def test_keyset_pages_walk_every_row_once(ent, calls, as_user):
    e = ent["enterprise"]
    services.cdrs_open(rows=[services.CdrOpen(e.pk, f"p{i}", "out", T0 + timedelta(minutes=i % 7))
                             for i in range(60)])
    c = as_user(ent["admin"])
    seen, url = [], LIST + "?per_page=10"
    while url:
        r = c.get(url)
        seen += row_pks(r)
        nxt = re.search(r'<a class="page-link" href="([^"#]+)" id="page-next"', r.content.decode())
        url = LIST + nxt.group(1).replace("&amp;", "&") if nxt else None
    assert len(seen) == len(set(seen)) == Cdr.objects.filter(enterprise=e).count()


# --- detail and recording ---------------------------------------------------------------------------


def test_detail_page_plays_the_recording(ent, calls, as_user, settings):
    cdr = calls["sup"]
    path = settings.MEDIA_ROOT / cdr.recording.file.name
    path.parent.mkdir(parents=True)
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt ")
    c = as_user(ent["supervisor"])
    page = c.get(f"{LIST}{cdr.pk}/").content.decode()
    assert f'<audio controls preload="none" src="/calls/cdrs/{cdr.pk}/recording/">' in page
    assert "13922200000" in page and "正常挂断 (16)" in page and "Normal Clearing" in page
    r = c.get(f"/calls/cdrs/{cdr.pk}/recording/")
    assert r.status_code == 200 and r["Content-Type"].startswith("audio/")
    assert b"".join(r.streaming_content).startswith(b"RIFF")
    r = c.get(f"/calls/cdrs/{cdr.pk}/recording/?download=1")
    assert "attachment" in r["Content-Disposition"]


def test_detail_without_recording_says_so_and_missing_files_are_404(ent, calls, as_user):
    c = as_user(ent["admin"])
    page = c.get(f"{LIST}{calls['admin'].pk}/").content.decode()
    assert "这通电话没有录音" in page and "<audio" not in page
    assert c.get(f"/calls/cdrs/{calls['admin'].pk}/recording/").status_code == 404
    assert c.get(f"/calls/cdrs/{calls['agent'].pk}/recording/").status_code == 404  # file not on disk


def test_simulated_recording_redirects_to_its_url(ent, calls, as_user):
    cdr = call(ent["enterprise"], agent=ent["agent"])
    services.recording_add(enterprise_id=ent["enterprise"].pk, call_id=cdr.call_id, created_at=T0,
                           url="http://127.0.0.1:8088/sim/recordings/abc.wav")
    r = as_user(ent["agent"]).get(f"/calls/cdrs/{cdr.pk}/recording/")
    assert r.status_code == 302 and r.url == "http://127.0.0.1:8088/sim/recordings/abc.wav"


# --- export ------------------------------------------------------------------------------------------


def read_export(response) -> list[tuple]:
    assert response.status_code == 200, response
    assert response["Content-Type"] == XLSX
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return [tuple("" if v is None else v for v in row)
            for ws in wb.worksheets for row in ws.iter_rows(values_only=True)]


def test_export_has_the_filtered_rows_in_scope(ent, calls, as_user):
    rows = read_export(as_user(ent["admin"]).get(EXPORT, {"direction": "in"}))
    assert rows[0][:6] == ("开始时间", "呼叫方向", "主叫号码", "被叫号码", "呼入号码", "坐席")
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["呼叫方向"] == "呼入" and row["主叫号码"] == "13800138000" and row["坐席"] == "811 坐席811"
    assert row["开始时间"] == "2025-06-02 11:00:00"  # Asia/Shanghai
    assert (row["振铃时长（秒）"], row["通话时长（秒）"], row["挂断原因"], row["最后按键"], row["录音"]) == (
        5, 60, "正常挂断 (16)", "1", "否")
    sup_rows = read_export(as_user(ent["supervisor"]).get(EXPORT))
    assert sorted(r[5] for r in sup_rows[1:]) == ["810 坐席810", "811 坐席811", "812 坐席812"]


def test_export_needs_the_export_permission(ent, calls, as_user):
    from django.contrib.auth.models import Permission

    role = ent["agent"].role
    role.permissions.remove(Permission.objects.get(codename="export_cdr"))
    assert as_user(ent["agent"]).get(EXPORT).status_code == 403
    assert 'id="btn-export"' not in as_user(ent["agent"]).get(LIST).content.decode()


# --- missed calls ------------------------------------------------------------------------------------


@pytest.fixture
def missed(ent, call_perms):
    e = ent["enterprise"]
    services.missed_call_add(enterprise_id=e.pk, call_id="m1", caller="13800138000", at=T0,
                             rang_agent_ids=[ent["sub1"].pk, ent["agent"].pk], group_name="客服组")
    services.missed_call_add(enterprise_id=e.pk, call_id="m2", caller="13922200000", at=T0 + timedelta(hours=1),
                             rang_agent_ids=[ent["sub2"].pk], queue_name="售后")
    services.missed_call_add(enterprise_id=e.pk, call_id="m3", caller="02088888888", at=T0 + timedelta(hours=2))


def missed_rows(response) -> list[str]:
    assert response.status_code == 200
    body = response.content.decode().split('id="list-table"')[1]
    return re.findall(r"<tr>\s*<td><span class=\"cell\" title=\"[^\"]*\">([^<]*)</span>", body)


def test_missed_calls_scope_and_filters(ent, other, missed, as_user):
    services.missed_call_add(enterprise_id=other["enterprise"].pk, call_id="x", caller="1", at=T0,
                             rang_agent_ids=[other["agent"].pk])
    admin = as_user(ent["admin"])
    page = admin.get(MISSED).content.decode()
    assert "漏接明细" in page and "共 4 条" in page and "客服组" in page
    assert "共 1 条" in as_user(ent["agent"]).get(MISSED).content.decode()
    sup = as_user(ent["supervisor"]).get(MISSED).content.decode()
    assert "共 2 条" in sup and "811 坐席811" in sup and "812 坐席812" in sup
    assert "820" not in sup.split("list-table")[1]
    assert "共 1 条" in admin.get(MISSED, {"caller": "+8613922200000"}).content.decode()
    assert "共 2 条" in admin.get(MISSED, {"since": "2025-06-02 09:30"}).content.decode()
    assert "共 1 条" in admin.get(MISSED, {"rang_agent": ent["sub2"].pk}).content.decode()
    assert "共 4 条" in admin.get(MISSED, {"seen": "no"}).content.decode()
    assert as_user(other["admin"]).get(MISSED).content.decode().count("共 1 条") == 1


def test_missed_calls_export(ent, missed, as_user):
    rows = read_export(as_user(ent["admin"]).get("/calls/missedcalls/export/"))
    assert rows[0] == ("来电时间", "来电号码", "振铃坐席", "坐席组", "队列", "已查看", "通话ID")
    assert len(rows) == 5
    assert ("2025-06-02 09:00:00", "13800138000", "811 坐席811", "客服组", "", "否", "m1") in rows


def test_missed_calls_query_count_does_not_grow(ent, missed, as_user):
    e = ent["enterprise"]
    c = as_user(ent["supervisor"])
    c.get(MISSED)
    few = list_queries(c, MISSED)
    for i in range(30):
        services.missed_call_add(enterprise_id=e.pk, call_id=f"mm{i}", caller="13700000000", at=T0,
                                 rang_agent_ids=[ent["sub1"].pk, ent["sub2"].pk])
    assert list_queries(c, MISSED) == few
