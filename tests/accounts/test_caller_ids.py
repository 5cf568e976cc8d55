"""外显设置 (manual 2.2.2): add one or a range, the 2 x licensed-lines cap, delete rules, 【默认】."""

from __future__ import annotations

import html
import re

import pytest

from callcenter.accounts.models import Agent, CallerId
from callcenter.core.models import AuditLog


def field_errors(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, text in re.findall(r'<div\b[^>]*\bdata-field="([^"]+)"[^>]*>([^<]*)<', response.content.decode()):
        found.setdefault(name, []).append(html.unescape(text))
    return found


def numbers(enterprise) -> list[str]:
    return sorted(CallerId.objects.filter(enterprise=enterprise).values_list("number", flat=True))


@pytest.fixture
def first(ent):
    return CallerId.objects.get(enterprise=ent["enterprise"])


def test_add_single_caller_id(ent, as_user, first):
    r = as_user(ent["admin"]).post("/accounts/callerids/add/", {"start": "02066660001", "end": ""})
    assert r.status_code == 302 and r.url == "/accounts/callerids/"
    assert numbers(ent["enterprise"]) == sorted([first.number, "02066660001"])
    entry = AuditLog.objects.get(object_type="accounts.callerid", action="create")
    assert entry.changes["number"] == [None, "02066660001"]


def test_add_caller_id_range(ent, as_user, first):
    r = as_user(ent["admin"]).post("/accounts/callerids/add/", {"start": "02066660008", "end": "02066660012"})
    assert r.status_code == 302
    added = [n for n in numbers(ent["enterprise"]) if n != first.number]
    assert added == ["02066660008", "02066660009", "02066660010", "02066660011", "02066660012"]
    assert AuditLog.objects.filter(object_type="accounts.callerid", action="create").count() == 5


def test_list_shows_caller_ids_and_cap(ent, as_user, first):
    body = as_user(ent["admin"]).get("/accounts/callerids/").content.decode()
    assert first.number in body
    assert "外显号码最多 10 个（授权外线 5 条的2倍）" in body


def test_over_cap_refused_naming_field_and_nothing_added(ent, as_user, first):
    assert ent["enterprise"].licensed_lines == 5
    c = as_user(ent["admin"])
    # 1 + 9 = 10: exactly the cap is allowed.
    assert c.post("/accounts/callerids/add/", {"start": "02066660001", "end": "02066660009"}).status_code == 302
    assert len(numbers(ent["enterprise"])) == 10
    before = numbers(ent["enterprise"])
    r = c.post("/accounts/callerids/add/", {"start": "02066660050", "end": ""})
    assert r.status_code == 200
    assert "号码：外显号码最多 10 个（授权外线数的2倍），已有 10 个，本次添加 1 个" in field_errors(r)["start"]
    assert numbers(ent["enterprise"]) == before


def test_range_over_cap_refused_naming_end_field(ent, as_user, first):
    before = numbers(ent["enterprise"])
    r = as_user(ent["admin"]).post("/accounts/callerids/add/", {"start": "02066660001", "end": "02066660010"})
    assert r.status_code == 200
    assert "结束号码：外显号码最多 10 个（授权外线数的2倍），已有 1 个，本次添加 10 个" in field_errors(r)["end"]
    assert numbers(ent["enterprise"]) == before


@pytest.mark.parametrize(("start", "end", "field", "text"), [
    ("020-6666", "", "start", "号码：号码只能包含数字"),
    ("02066660001", "0206666000x", "end", "结束号码：号码只能包含数字"),
    ("02066660005", "02066660001", "end", "结束号码：结束号码不能小于开始号码"),
    ("02066660005", "2066660009", "end", "结束号码：起止号码位数必须相同"),
    ("12", "", "start", "号码：号码必须是3到20位数字"),
])
def test_bad_caller_id_input_refused(ent, as_user, first, start, end, field, text):
    before = numbers(ent["enterprise"])
    r = as_user(ent["admin"]).post("/accounts/callerids/add/", {"start": start, "end": end})
    assert r.status_code == 200
    assert text in field_errors(r).get(field, []), field_errors(r)
    assert numbers(ent["enterprise"]) == before


def test_duplicate_caller_id_refused(ent, as_user, first):
    r = as_user(ent["admin"]).post("/accounts/callerids/add/", {"start": first.number, "end": ""})
    assert f"号码：以下号码已存在：{first.number}" in field_errors(r)["start"]
    assert numbers(ent["enterprise"]) == [first.number]


def test_same_number_allowed_in_another_enterprise(ent, other, as_user, first):
    r = as_user(other["admin"]).post("/accounts/callerids/add/", {"start": first.number, "end": ""})
    assert r.status_code == 302
    assert first.number in numbers(other["enterprise"])


def test_deleting_last_caller_id_refused(ent, as_user, first):
    c = as_user(ent["admin"])
    assert "企业至少要保留一个外显号码" in c.get(f"/accounts/callerids/{first.pk}/delete/").content.decode()
    r = c.post(f"/accounts/callerids/{first.pk}/delete/")
    assert r.status_code == 409
    assert "企业至少要保留一个外显号码" in r.content.decode()
    assert CallerId.objects.filter(pk=first.pk).exists()


def test_deleting_caller_id_in_use_refused_naming_agents(ent, as_user, first):
    spare = CallerId.objects.create(enterprise=ent["enterprise"], number="02066660001")
    Agent.objects.filter(pk__in=[ent["sub2"].pk, ent["agent"].pk]).update(caller_id=spare)
    r = as_user(ent["admin"]).post(f"/accounts/callerids/{spare.pk}/delete/")
    assert r.status_code == 409
    assert "以下坐席正在使用外显号码 02066660001：812, 820，请先为他们更换" in r.content.decode()
    assert CallerId.objects.filter(pk=spare.pk).exists()


def test_deleting_unused_caller_id(ent, as_user, first):
    spare = CallerId.objects.create(enterprise=ent["enterprise"], number="02066660001")
    r = as_user(ent["admin"]).post(f"/accounts/callerids/{spare.pk}/delete/")
    assert r.status_code == 302
    assert not CallerId.objects.filter(pk=spare.pk).exists()
    assert AuditLog.objects.filter(object_type="accounts.callerid", object_id=str(spare.pk),
                                   action="delete").exists()


def test_bulk_delete_skips_caller_ids_in_use(ent, as_user, first):
    spare = CallerId.objects.create(enterprise=ent["enterprise"], number="02066660001")
    r = as_user(ent["admin"]).post("/accounts/callerids/bulk-delete/", {"pk": [first.pk, spare.pk],
                                                                        "_confirm": "1"})
    assert r.status_code == 302
    assert numbers(ent["enterprise"]) == [first.number]


def test_set_default_sets_every_agents_caller_id(ent, other, as_user, first):
    spare = CallerId.objects.create(enterprise=ent["enterprise"], number="02066660001")
    c = as_user(ent["admin"])
    page = c.get(f"/accounts/callerids/{spare.pk}/default/")
    assert page.status_code == 200
    # Without the confirmation nothing changes.
    c.post(f"/accounts/callerids/{spare.pk}/default/", {})
    assert not Agent.objects.filter(caller_id=spare).exists()

    r = c.post(f"/accounts/callerids/{spare.pk}/default/", {"confirm": "1"})
    assert r.status_code == 302 and r.url == "/accounts/callerids/"
    agents = Agent.objects.filter(enterprise=ent["enterprise"])
    assert agents.count() == 6
    assert set(agents.values_list("caller_id", flat=True)) == {spare.pk}
    # The other enterprise is untouched.
    assert other["agent"].caller_id.enterprise_id == other["enterprise"].pk
    assert Agent.objects.get(pk=other["agent"].pk).caller_id_id == other["agent"].caller_id_id
    assert AuditLog.objects.filter(object_type="accounts.agent", action="update").count() == 6
    # Now the first number is unused and may be deleted.
    assert c.post(f"/accounts/callerids/{first.pk}/delete/").status_code == 302


def test_default_of_another_enterprises_caller_id_is_404(ent, other, as_user):
    theirs = CallerId.objects.get(enterprise=other["enterprise"])
    r = as_user(ent["admin"]).post(f"/accounts/callerids/{theirs.pk}/default/", {"confirm": "1"})
    assert r.status_code == 404
    assert not Agent.objects.filter(enterprise=ent["enterprise"], caller_id=theirs).exists()


def test_caller_id_needs_permission(ent, as_user, first):
    # 班长 may view caller IDs but not add, delete or set the default.
    c = as_user(ent["supervisor"])
    assert c.get("/accounts/callerids/").status_code == 200
    assert c.post("/accounts/callerids/add/", {"start": "02066660001"}).status_code == 403
    spare = CallerId.objects.create(enterprise=ent["enterprise"], number="02066660002")
    assert c.post(f"/accounts/callerids/{spare.pk}/delete/").status_code == 403
    assert c.post(f"/accounts/callerids/{spare.pk}/default/", {"confirm": "1"}).status_code == 403
    assert numbers(ent["enterprise"]) == sorted([first.number, "02066660002"])
    assert not Agent.objects.filter(caller_id=spare).exists()
