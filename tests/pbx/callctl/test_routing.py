"""Inbound routing: blacklist, database and area routes (C9, C10) with real Chinese numbers,
DID -> schedule -> menu by weekday and time slot (N2), last agent (callctl/logic/routing.py)."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from callcenter.pbx.callctl.logic.ivr import ACTION_LAST_AGENT, IvrKeyConfig, MenuConfig
from callcenter.pbx.callctl.logic.routing import (
    Area,
    RouteRule,
    RoutingConfig,
    ScheduleConfig,
    SlotConfig,
    area_of,
    menu_at,
    menu_now,
    normalize_number,
    route_inbound,
    split_description,
)

SH = ZoneInfo("Asia/Shanghai")
# 2025-06-02 is a Monday.
MON = datetime(2025, 6, 2, tzinfo=SH)


def at(day: int, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """Local time on day 2 (Mon) ... 8 (Sun) of June 2025."""
    return datetime(2025, 6, day, hh, mm, ss, tzinfo=SH)


# --- areas ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("number", "province", "city"), [
    ("13800138000", "北京", "北京"),  # mobile
    ("13922200000", "广东", "广州"),
    ("02088888888", "广东", "广州"),  # landline
    ("01012345678", "北京", "北京"),
    ("075512345678", "广东", "深圳"),
    ("+86 20 8888 8888", "广东", "广州"),
    ("008613800138000", "北京", "北京"),
    ("013800138000", "北京", "北京"),  # mobile with a trunk's leading 0
    ("09912345678", "新疆", "乌鲁木齐"),  # autonomous regions, as the geocoder names them
    ("04711234567", "内蒙古", "呼和浩特"),
    ("07712345678", "广西", "南宁"),  # "广西壮族自治区南宁市、崇左市": the first city
    ("08911234567", "西藏", "拉萨"),
    ("09511234567", "宁夏", "银川"),
    ("13012345678", "重庆", "重庆"),
])
def test_area_of_real_chinese_numbers(number, province, city):
    assert area_of(number) == Area(province, city)


@pytest.mark.parametrize("number", ["18000000000", "19900000000", "4008001234", "+1 212 555 0100", "95588", "", "abc"])
def test_numbers_with_only_china_or_no_area_give_none(number):
    assert area_of(number) is None


@pytest.mark.parametrize(("text", "area"), [
    ("广东省潮州市", Area("广东", "潮州")),
    ("北京市", Area("北京", "北京")),
    ("天津", Area("天津", "天津")),
    ("上海市", Area("上海", "上海")),
    ("内蒙古自治区呼和浩特市", Area("内蒙古", "呼和浩特")),
    ("新疆维吾尔自治区乌鲁木齐市", Area("新疆", "乌鲁木齐")),
    ("宁夏回族自治区银川市", Area("宁夏", "银川")),
    ("黑龙江省大兴安岭地区", Area("黑龙江", "大兴安岭")),
    ("四川省", Area("四川", "")),
    ("中国", None),
    ("", None),
    ("Beijing", None),
])
def test_split_description(text, area):
    assert split_description(text) == area


def test_normalize_number():
    assert normalize_number("+86 138-0013-8000") == "13800138000"
    assert normalize_number("8613800138000") == "13800138000"
    assert normalize_number("020-8888 8888") == "02088888888"
    assert normalize_number("+1 (212) 555-0100") == "+12125550100"


# --- routes -------------------------------------------------------------------------------------

MAIN = MenuConfig(id=1, name="主菜单", default_extensions=("801",))
NIGHT = MenuConfig(id=2, name="夜间", default_extensions=("802",))
WEEKEND = MenuConfig(id=3, name="周末", default_extensions=("803",))
VIP = MenuConfig(id=4, name="贵宾", to_last_agent=True)
LAST_KEY = MenuConfig(id=5, name="按键找上次坐席", keys={"9": IvrKeyConfig("9", ACTION_LAST_AGENT)})

WORKDAYS = ScheduleConfig(id=10, default_menu_id=1, weekdays=frozenset({1, 2, 3, 4, 5}), slots=(
    SlotConfig(time(18, 0), time(0, 0), 2),  # evening: until midnight
    SlotConfig(time(0, 0), time(8, 30), 2),  # early morning
))
WEEKENDS = ScheduleConfig(id=11, default_menu_id=3, weekdays=frozenset({6, 7}))


def config(**kw) -> RoutingConfig:
    kw.setdefault("menus", {m.id: m for m in (MAIN, NIGHT, WEEKEND, VIP, LAST_KEY)})
    kw.setdefault("did_schedules", {"02066660000": (WORKDAYS, WEEKENDS)})
    return RoutingConfig(**kw)


def route(cfg, caller="13800138000", did="02066660000", when=None, **kw):
    return route_inbound(cfg, caller=caller, did=did, at=when or at(2, 10), **kw)


def test_blacklisted_caller_is_refused_before_any_route():
    cfg = config(blacklist_inbound=frozenset({"13800138000"}),
                 routes=(RouteRule(1, "db", "extension", "801", numbers=frozenset({"13800138000"})),))
    d = route(cfg, caller="+86 138 0013 8000")
    assert d.kind == "refuse" and d.reason == "blacklist" and d.cause == 21


def test_database_route_by_number_list_and_by_customer_category():
    rules = (RouteRule(1, "db", "extension", "850", priority=10, numbers=frozenset({"13922200000"})),
             RouteRule(2, "db", "group", "大客户组", priority=20, customer_category="VIP"))
    cfg = config(routes=rules)
    d = route(cfg, caller="13922200000")
    assert (d.kind, d.target, d.route_id, d.reason) == ("extension", "850", 1, "route")
    asked = []

    def category_of(number):
        asked.append(number)
        return "VIP" if number == "13800138000" else None

    assert route(cfg, caller="13800138000", category_of=category_of).target == "大客户组"
    assert route(cfg, caller="13500000000", category_of=category_of).reason == "schedule"
    assert asked == ["13800138000", "13500000000"]


def test_area_routes_by_province_and_city_real_numbers():
    rules = (RouteRule(1, "area", "group", "广州组", priority=1, province="广东省", city="广州市"),
             RouteRule(2, "area", "group", "广东组", priority=2, province="广东"),
             RouteRule(3, "area", "ivr", "贵宾", priority=3, province="北京"))
    cfg = config(routes=rules)
    assert route(cfg, caller="02088888888").target == "广州组"
    assert route(cfg, caller="13922200000").target == "广州组"
    assert route(cfg, caller="075512345678").target == "广东组"  # Shenzhen: the province rule
    d = route(cfg, caller="01012345678", last_agent_of=lambda n: "812")
    assert (d.kind, d.menu_id, d.last_agent) == ("ivr", 4, "812")
    # no area: falls through to the DID's schedule
    assert route(cfg, caller="4008001234").reason == "schedule"
    assert route(cfg, caller="18000000000").reason == "schedule"


def test_priority_order_then_id_and_disabled_rules_skipped():
    rules = (RouteRule(5, "area", "group", "后", priority=50, province="北京"),
             RouteRule(3, "db", "group", "先", priority=10, numbers=frozenset({"13800138000"})),
             RouteRule(4, "db", "group", "同级后", priority=10, numbers=frozenset({"13800138000"})),
             RouteRule(1, "db", "group", "停用", priority=1, numbers=frozenset({"13800138000"}), enabled=False))
    assert route(config(routes=rules)).target == "先"


def test_route_to_a_missing_menu_falls_through():
    rules = (RouteRule(1, "area", "ivr", "已删除", province="北京"),)
    assert route(config(routes=rules)).reason == "schedule"


def test_lookups_only_when_needed():
    def boom(_number):
        raise AssertionError("not needed")

    d = route(config(), category_of=boom, last_agent_of=boom, area_lookup=boom)
    assert d.menu_id == 1 and d.last_agent is None


def test_last_agent_handed_on_for_a_menu_with_a_last_agent_key():
    cfg = config(did_schedules={"02066660000": (ScheduleConfig(1, default_menu_id=5),)})
    assert route(cfg, last_agent_of=lambda n: "820").last_agent == "820"


def test_unknown_did_is_unrouted():
    d = route(config(), did="02000000000")
    assert d.kind == "unrouted" and d.cause == 1


# --- schedules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("when", "menu"), [
    (at(2, 8, 29, 59), 2),  # Monday before 08:30: early slot
    (at(2, 8, 30), 1),  # the early slot's end is exclusive: default
    (at(2, 17, 59, 59), 1),
    (at(2, 18, 0), 2),  # the evening slot's start is inclusive
    (at(2, 23, 59, 59), 2),  # "until 00:00" runs to midnight
    (at(3, 0, 0), 2),  # Tuesday midnight: the early slot
    (at(6, 12, 0), 1),  # Friday
    (at(7, 12, 0), 3),  # Saturday: the weekend schedule
    (at(8, 23, 0), 3),  # Sunday
])
def test_schedule_menus_at_slot_boundaries(when, menu):
    assert menu_at((WORKDAYS, WEEKENDS), when)[1] == menu
    assert route(config(), when=when).menu_id == menu


def test_slot_past_midnight_and_all_day_slot():
    night = ScheduleConfig(1, default_menu_id=1, slots=(SlotConfig(time(22, 0), time(6, 0), 2),))
    assert menu_at((night,), at(2, 22, 0)) == (1, 2)
    assert menu_at((night,), at(2, 5, 59)) == (1, 2)
    assert menu_at((night,), at(2, 6, 0)) == (1, 1)
    assert menu_at((night,), at(2, 21, 59)) == (1, 1)
    whole = ScheduleConfig(1, default_menu_id=1, slots=(SlotConfig(time(0, 0), time(0, 0), 2),))
    assert menu_at((whole,), at(4, 13, 0)) == (1, 2)


def test_no_schedule_for_the_weekday_uses_the_first_default():
    assert menu_at((WORKDAYS,), at(7, 12)) == (10, 1)
    assert menu_at((), at(7, 12)) is None


def test_the_selector_uses_now_in_the_enterprise_time_zone():
    # 2025-06-02 10:30 UTC is 18:30 in Shanghai: the evening slot.
    with time_machine.travel(datetime(2025, 6, 2, 10, 30, tzinfo=ZoneInfo("UTC")), tick=False):
        assert menu_now((WORKDAYS, WEEKENDS), SH) == (10, 2)
        assert menu_now((WORKDAYS, WEEKENDS), ZoneInfo("UTC")) == (10, 1)
        assert route_inbound(config(), caller="13800138000", did="02066660000", tz=SH).menu_id == 2
    # 2025-06-07 01:00 Shanghai is still Friday in UTC; Saturday here: the weekend menu.
    with time_machine.travel(datetime(2025, 6, 6, 17, 0, tzinfo=ZoneInfo("UTC")), tick=False):
        assert menu_now((WORKDAYS, WEEKENDS), SH) == (11, 3)
    with pytest.raises(ValueError, match="tz"):
        route_inbound(config(), caller="1", did="02066660000")
