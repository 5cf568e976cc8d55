"""语音导航管理 (2.8.1), 导航时段及策略设置 (2.8.2), 数据库导航 (2.2.9) and 地区导航 (2.2.10)."""

from __future__ import annotations

from callcenter.core.models import AuditLog
from callcenter.telephony import services
from callcenter.telephony.models import IvrKey, IvrMenu, Route, Schedule, ScheduleSlot
from tests.telephony.conftest import (
    field_errors,
    make_group,
    make_menu,
    make_prompt,
    make_queue,
    make_schedule,
    make_trunk,
    page_text,
)

MENU_FORM = {"name": "主导航", "default_extensions": "", "default_order": "fixed", "ring_wait_seconds": "5",
             "direct_dial": "on", "remark": ""}


# --- IVR menus -------------------------------------------------------------------------------------


def test_add_menu_with_default_extensions_and_preview(ent, as_user):
    e = ent["enterprise"]
    prompt = make_prompt(e, "导航音")
    make_queue(e, "客服", "600")
    c = as_user(ent["admin"])
    r = c.post("/telephony/ivrmenus/add/", {**MENU_FORM, "default_extensions": "820， 600,811",
                                            "default_order": "round_robin", "prompt": prompt.pk,
                                            "to_last_agent": "on"})
    assert r.status_code == 302, field_errors(r)
    menu = IvrMenu.objects.get()
    assert menu.default_extensions == "820,600,811" and menu.default_extension_list() == ["820", "600", "811"]
    assert menu.to_last_agent and menu.direct_dial and menu.default_order == "round_robin"
    body = c.get(f"/telephony/ivrmenus/{menu.pk}/").content.decode()
    assert f'src="/telephony/prompts/{prompt.pk}/audio/"' in body
    assert 'id="prompt-preview"' in c.get(f"/telephony/ivrmenus/{menu.pk}/edit/").content.decode()


def test_default_extensions_must_exist(ent, as_user):
    r = as_user(ent["admin"]).post("/telephony/ivrmenus/add/", {**MENU_FORM, "default_extensions": "820,999,12"})
    assert field_errors(r)["default_extensions"] == ["默认呼叫电话：分机号须是3到4位数字：12"]
    r = as_user(ent["admin"]).post("/telephony/ivrmenus/add/", {**MENU_FORM, "default_extensions": "820,999"})
    assert field_errors(r)["default_extensions"] == [
        "默认呼叫电话：以下分机不存在：999（须是坐席号或队列分机号）"]
    assert not IvrMenu.objects.exists()


def test_keys_page_with_four_actions(ent, as_user):
    e = ent["enterprise"]
    menu = make_menu(e)
    prompt = make_prompt(e, "营业时间")
    c = as_user(ent["admin"])
    url = f"/telephony/ivrmenus/{menu.pk}/keys/"
    assert c.get(url).status_code == 200
    for data in ({"key": "1", "action": "extension", "extension": "820"},
                 {"key": "2", "action": "prompt", "prompt": prompt.pk},
                 {"key": "0", "action": "ask_extension"},
                 {"key": "#", "action": "last_agent", "extension": "811"}):
        r = c.post(url, data)
        assert r.status_code == 302, field_errors(r)
    keys = {k.key: (k.action, k.extension, k.prompt_id) for k in IvrKey.objects.filter(menu=menu)}
    assert keys == {"1": ("extension", "820", None), "2": ("prompt", "", prompt.pk), "0": ("ask_extension", "", None),
                    "#": ("last_agent", "", None)}
    r = c.post(url, {"key": "1", "action": "ask_extension"})
    assert field_errors(r)["key"] == ["按键码：按键 1 已设置"]
    one = IvrKey.objects.get(menu=menu, key="1")
    c.post(f"{url}{one.pk}/delete/")
    assert not IvrKey.objects.filter(menu=menu, key="1").exists()
    assert AuditLog.objects.filter(object_type="telephony.ivrmenu", action="update").count() == 5


def test_key_naming_missing_extension_or_prompt_refused(ent, other, as_user):
    e = ent["enterprise"]
    menu = make_menu(e)
    c = as_user(ent["admin"])
    url = f"/telephony/ivrmenus/{menu.pk}/keys/"
    r = c.post(url, {"key": "1", "action": "extension", "extension": "999"})
    assert field_errors(r)["extension"] == ["分机号：分机 999 不存在（须是坐席号或队列分机号）"]
    r = c.post(url, {"key": "1", "action": "extension", "extension": ""})
    assert field_errors(r)["extension"] == ["分机号：“直接转分机”须填写分机号"]
    r = c.post(url, {"key": "2", "action": "prompt"})
    assert field_errors(r)["prompt"] == ["语音：“播放语音”须选择语音"]
    foreign = make_prompt(other["enterprise"], "别家语音")
    r = c.post(url, {"key": "2", "action": "prompt", "prompt": foreign.pk})
    assert "prompt" in field_errors(r)
    r = c.post(url, {"key": "2", "action": "prompt", "prompt": 987654})
    assert "prompt" in field_errors(r)
    assert not IvrKey.objects.exists()
    # the API, keys nested in the menu
    r = c.patch(f"/api/v1/ivr-menus/{menu.pk}/", {"keys": [{"key": "1", "action": "extension", "extension": "999"}]},
                content_type="application/json")
    assert r.status_code == 400 and "999" in r.json()["keys"][0]
    r = c.patch(f"/api/v1/ivr-menus/{menu.pk}/", {"keys": [{"key": "2", "action": "prompt", "prompt": foreign.pk}]},
                content_type="application/json")
    assert r.status_code == 400 and "keys" in r.json()
    assert not IvrKey.objects.exists()


def test_api_menu_with_nested_keys(ent, other, as_user):
    e = ent["enterprise"]
    prompt = make_prompt(e, "按键语音")
    c = as_user(ent["admin"])
    r = c.post("/api/v1/ivr-menus/", {"name": "接口导航", "default_extensions": "820", "keys": [
        {"key": "1", "action": "extension", "extension": "811"},
        {"key": "9", "action": "prompt", "prompt": prompt.pk}]}, content_type="application/json")
    assert r.status_code == 201, r.content
    pk = r.json()["id"]
    assert [k["key"] for k in r.json()["keys"]] == ["1", "9"]
    r = c.patch(f"/api/v1/ivr-menus/{pk}/", {"keys": [{"key": "0", "action": "last_agent"}]},
                content_type="application/json")
    assert r.status_code == 200 and r.json()["keys"] == [{"key": "0", "action": "last_agent", "extension": "",
                                                         "prompt": None}]
    r = c.post("/api/v1/ivr-menus/", {"name": "重复", "keys": [{"key": "1", "action": "ask_extension"},
                                                             {"key": "1", "action": "last_agent"}]},
               content_type="application/json")
    assert r.status_code == 400 and "keys" in r.json()
    assert not IvrMenu.objects.filter(name="重复").exists()
    assert as_user(other["admin"]).get(f"/api/v1/ivr-menus/{pk}/").status_code == 404


def test_menu_in_use_cannot_be_deleted(ent, as_user):
    e = ent["enterprise"]
    menu = make_menu(e, "主导航")
    make_schedule(e, "工作日", menu=menu)
    r = as_user(ent["admin"]).post(f"/telephony/ivrmenus/{menu.pk}/delete/")
    assert r.status_code == 409 and "导航策略“工作日”（默认导航）" in page_text(r)
    assert IvrMenu.objects.filter(pk=menu.pk).exists()


# --- schedules -------------------------------------------------------------------------------------


def test_add_schedule_with_weekday_checkboxes(ent, as_user):
    menu = make_menu(ent["enterprise"])
    c = as_user(ent["admin"])
    assert 'type="checkbox" name="weekdays" value="7"' in c.get("/telephony/schedules/add/").content.decode()
    r = c.post("/telephony/schedules/add/", {"name": "工作日", "weekdays": ["5", "1", "3"], "default_menu": menu.pk})
    assert r.status_code == 302, field_errors(r)
    schedule = Schedule.objects.get()
    assert schedule.weekdays == "1,3,5"
    assert "星期一、星期三、星期五" in page_text(c.get(f"/telephony/schedules/{schedule.pk}/"))
    r = c.post("/telephony/schedules/add/", {"name": "空", "default_menu": menu.pk})
    assert "weekdays" in field_errors(r)


def test_slots_on_the_schedule_page_may_not_overlap(ent, as_user):
    e = ent["enterprise"]
    schedule = make_schedule(e, "工作日")
    lunch, evening = make_menu(e, "午休导航"), make_menu(e, "晚间导航")
    c = as_user(ent["admin"])
    url = f"/telephony/schedules/{schedule.pk}/slots/"
    assert c.post(url, {"start": "12:00", "end": "13:30", "menu": lunch.pk}).status_code == 302
    assert c.post(url, {"start": "18:00", "end": "23:00", "menu": evening.pk}).status_code == 302
    r = c.post(url, {"start": "13:00", "end": "14:00", "menu": evening.pk})
    assert r.status_code == 200
    assert field_errors(r)["start"] == ["开始时间：时段 12:00-13:30 与 13:00-14:00 重叠"]
    r = c.post(url, {"start": "19:00", "end": "18:30", "menu": evening.pk})
    assert "end" in field_errors(r)
    assert list(ScheduleSlot.objects.filter(schedule=schedule).values_list("menu__name", flat=True)) == [
        "午休导航", "晚间导航"]
    assert c.post(url, {"start": "13:30", "end": "14:00", "menu": lunch.pk}).status_code == 302  # touching is fine
    slot = ScheduleSlot.objects.get(schedule=schedule, start="12:00")
    c.post(f"{url}{slot.pk}/delete/")
    assert ScheduleSlot.objects.filter(schedule=schedule).count() == 2


def test_api_schedule_slots_nested(ent, other, as_user):
    e = ent["enterprise"]
    day, night = make_menu(e, "白天"), make_menu(e, "夜间")
    c = as_user(ent["admin"])
    r = c.post("/api/v1/schedules/", {"name": "接口策略", "weekdays": [1, 2, 3, 4, 5], "default_menu": day.pk,
                                      "slots": [{"start": "00:00", "end": "08:00", "menu": night.pk},
                                                {"start": "07:00", "end": "09:00", "menu": night.pk}]},
               content_type="application/json")
    assert r.status_code == 400 and "重叠" in r.json()["slots"][0]
    assert not Schedule.objects.exists()
    r = c.post("/api/v1/schedules/", {"name": "接口策略", "weekdays": [5, 1], "default_menu": day.pk,
                                      "slots": [{"start": "00:00", "end": "08:00", "menu": night.pk}]},
               content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["weekdays"] == [1, 5] and r.json()["slots"][0]["start"] == "00:00:00"
    r = c.post("/api/v1/schedules/", {"name": "坏星期", "weekdays": [0, 8], "default_menu": day.pk},
               content_type="application/json")
    assert r.status_code == 400 and "weekdays" in r.json()
    foreign = make_menu(other["enterprise"], "别家")
    r = c.post("/api/v1/schedules/", {"name": "别家导航", "default_menu": foreign.pk}, content_type="application/json")
    assert r.status_code == 400 and "default_menu" in r.json()


def test_schedule_used_by_a_did_cannot_be_deleted(ent, as_user):
    e = ent["enterprise"]
    schedule = make_schedule(e)
    services.did_create(trunk=make_trunk(e), did="02088880001", schedule=schedule)
    r = as_user(ent["admin"]).post(f"/telephony/schedules/{schedule.pk}/delete/")
    assert r.status_code == 409 and "02088880001" in page_text(r)


# --- database and area routing ---------------------------------------------------------------------


def test_database_route_destinations_must_exist(ent, as_user):
    e = ent["enterprise"]
    make_group(e, "销售组")
    make_menu(e, "主导航")
    make_queue(e, "客服", "600")
    c = as_user(ent["admin"])
    base = {"name": "VIP", "priority": "10", "numbers": "13800138000\n13900139000", "customer_category": "",
            "enabled": "on"}
    for kind, dest, message in (
        ("extension", "999", "目标：分机 999 不存在（须是坐席号或队列分机号）"),
        ("group", "无此组", "目标：坐席组“无此组”不存在"),
        ("ivr", "无此导航", "目标：语音导航“无此导航”不存在"),
    ):
        r = c.post("/telephony/dbroutes/add/", {**base, "destination_kind": kind, "destination": dest})
        assert field_errors(r)["destination"] == [message]
    assert not Route.objects.exists()
    for i, (kind, dest) in enumerate((("extension", "820"), ("extension", "600"), ("group", "销售组"),
                                      ("ivr", "主导航"))):
        r = c.post("/telephony/dbroutes/add/", {**base, "name": f"VIP{i}", "destination_kind": kind,
                                                "destination": dest})
        assert r.status_code == 302, field_errors(r)
    route = Route.objects.get(name="VIP0")
    assert route.kind == "db" and route.number_list() == ["13800138000", "13900139000"]
    r = c.post("/telephony/dbroutes/add/", {**base, "name": "空", "numbers": "", "destination_kind": "extension",
                                            "destination": "820"})
    assert field_errors(r)["numbers"] == ["来电号码：请填写来电号码或客户分类（至少一项）"]
    r = c.post("/telephony/dbroutes/add/", {**base, "name": "坏号", "numbers": "12a", "destination_kind": "extension",
                                            "destination": "820"})
    assert "numbers" in field_errors(r)


def test_area_route_and_kind_filtered_lists(ent, as_user):
    e = ent["enterprise"]
    make_group(e, "广东组")
    c = as_user(ent["admin"])
    r = c.post("/telephony/arearoutes/add/", {"name": "广州来电", "priority": "5", "province": "广东", "city": "广州",
                                              "destination_kind": "group", "destination": "广东组", "enabled": "on"})
    assert r.status_code == 302, field_errors(r)
    r = c.post("/telephony/arearoutes/add/", {"name": "火星", "priority": "5", "province": "火星",
                                              "destination_kind": "group", "destination": "广东组"})
    assert "province" in field_errors(r)
    services.route_create(enterprise=e, kind="db", values={"name": "库", "numbers": "13800138000",
                                                           "destination_kind": "group", "destination": "广东组"})
    assert [r.name for r in c.get("/telephony/arearoutes/").context["page"].rows] == ["广州来电"]
    assert [r.name for r in c.get("/telephony/dbroutes/").context["page"].rows] == ["库"]
    route = Route.objects.get(name="广州来电")
    assert c.get(f"/telephony/dbroutes/{route.pk}/").status_code == 404


def test_renaming_a_group_carries_over_to_routes(ent, as_user):
    e = ent["enterprise"]
    group = make_group(e, "旧组名")
    route = services.route_create(enterprise=e, kind="area", values={
        "name": "北京", "province": "北京", "destination_kind": "group", "destination": "旧组名"})
    r = as_user(ent["admin"]).post(f"/telephony/agentgroups/{group.pk}/edit/", {"name": "新组名",
                                                                               "order_rule": "sequential"})
    assert r.status_code == 302
    route.refresh_from_db()
    assert route.destination == "新组名"
    r = as_user(ent["admin"]).post(f"/telephony/agentgroups/{group.pk}/delete/")
    assert r.status_code == 409 and "导航规则“北京”" in page_text(r)


def test_api_routes(ent, other, as_user):
    c = as_user(ent["admin"])
    r = c.post("/api/v1/routes/", {"kind": "area", "name": "上海", "province": "上海", "destination_kind": "extension",
                                   "destination": "999"}, content_type="application/json")
    assert r.status_code == 400 and r.json() == {"destination": ["分机 999 不存在（须是坐席号或队列分机号）"]}
    r = c.post("/api/v1/routes/", {"kind": "area", "name": "上海", "province": "上海", "destination_kind": "extension",
                                   "destination": "820"}, content_type="application/json")
    assert r.status_code == 201
    pk = r.json()["id"]
    assert [x["name"] for x in c.get("/api/v1/routes/?kind=area").json()["results"]] == ["上海"]
    assert c.get("/api/v1/routes/?kind=db").json()["results"] == []
    assert as_user(other["admin"]).delete(f"/api/v1/routes/{pk}/").status_code == 404
    assert Route.objects.filter(pk=pk).exists()
