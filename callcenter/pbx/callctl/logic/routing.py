"""Inbound routing: which destination answers a call to one of our numbers.

In order:

1. Blacklist (黑名单, S3): a caller on the inbound (or both-ways) blacklist is refused
   (cause 21, Call Rejected).
2. Database routes (数据库导航, C9) and area routes (地区导航, C10), enabled ones only, by
   priority (lower first), then id: a database route matches a caller in its number list
   or a customer of its category (looked up through the function passed in); an area
   route matches a caller whose number lies in its province and, when it names one, city.
3. The called number (DID) -> its schedule (导航策略, N2) -> the menu for the weekday and
   time: the first schedule covering today's weekday, the slot containing the time of day
   (start inclusive, end exclusive; a slot ending at 00:00 runs to midnight, one whose end
   is before its start runs past midnight), else the schedule's default menu. When no
   schedule of the DID covers today, the first one's default menu answers, so a gap in
   the weekdays never drops calls.
4. A DID with no schedule is "unrouted" (call control refuses it as unallocated, cause 1).

The area of a number comes from phonenumbers' Chinese geocoder, whose descriptions are
"广东省广州市", "北京市", "内蒙古呼和浩特市", "广西壮族自治区南宁市、崇左市" or just "中国"
(mobile ranges without a city, 400 numbers); `area_of` splits them into province and
city with the table below and answers None when no province can be told.

When the destination is an IVR menu that uses the "last agent" rule, the agent who last
talked with the caller is looked up (function passed in) and handed on for the walker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, tzinfo

import phonenumbers

from callcenter.pbx.callctl.logic.base import CAUSE_REJECTED, CAUSE_UNALLOCATED
from callcenter.pbx.callctl.logic.ivr import MenuConfig

# --- numbers and areas ------------------------------------------------------------------------

# Province-level divisions: canonical short name -> full name. Municipalities are their own city.
PROVINCES: dict[str, str] = {
    "北京": "北京市", "天津": "天津市", "上海": "上海市", "重庆": "重庆市",
    "河北": "河北省", "山西": "山西省", "辽宁": "辽宁省", "吉林": "吉林省", "黑龙江": "黑龙江省",
    "江苏": "江苏省", "浙江": "浙江省", "安徽": "安徽省", "福建": "福建省", "江西": "江西省", "山东": "山东省",
    "河南": "河南省", "湖北": "湖北省", "湖南": "湖南省", "广东": "广东省", "海南": "海南省", "四川": "四川省",
    "贵州": "贵州省", "云南": "云南省", "陕西": "陕西省", "甘肃": "甘肃省", "青海": "青海省", "台湾": "台湾省",
    "内蒙古": "内蒙古自治区", "广西": "广西壮族自治区", "西藏": "西藏自治区", "宁夏": "宁夏回族自治区",
    "新疆": "新疆维吾尔自治区", "香港": "香港特别行政区", "澳门": "澳门特别行政区",
}
MUNICIPALITIES = frozenset({"北京", "天津", "上海", "重庆", "香港", "澳门"})
# Longest names first, so "广西壮族自治区" is tried before "广西".
_PREFIXES = sorted(((name, short) for short, full in PROVINCES.items() for name in (full, short)),
                   key=lambda pair: -len(pair[0]))
_CITY_SUFFIX = re.compile(r"(市|地区|林区|盟)$")


@dataclass(frozen=True)
class Area:
    province: str  # canonical short name: "广东", "北京", "内蒙古"
    city: str = ""  # without 市: "广州", "北京", "呼和浩特"; "" when the geocoder names none


def normalize_number(raw: str) -> str:
    """Digits only, without the country code; a mobile keeps no trunk-prefix 0.

    "+86 138-0013-8000", "008613800138000", "013800138000" -> "13800138000";
    "+86 20 8888 8888" -> "02088888888" (landlines keep their 0 area prefix);
    another country's number stays E.164: "+1 212 555 0100" -> "+12125550100".
    """
    digits = "".join(ch for ch in str(raw) if ch.isdigit())
    plus = str(raw).strip().startswith("+")
    if digits.startswith("0086"):
        digits, plus = digits[4:], True
    elif digits.startswith("86") and (plus or len(digits) == 13):
        digits, plus = digits[2:], True
    elif plus or digits.startswith("00"):
        return "+" + digits.removeprefix("00")  # another country: E.164
    if plus and digits and not digits.startswith(("0", "1", "400", "800", "95", "96")):
        digits = "0" + digits  # +86 20 ... is the landline 020 ...
    if len(digits) == 12 and digits.startswith("01") and digits[2] in "3456789":
        digits = digits[1:]  # 0 + mobile, as some trunks send it
    return digits


def normalize_province(name: str) -> str:
    name = (name or "").strip()
    for prefix, short in _PREFIXES:
        if name == prefix:
            return short
    return name


def normalize_city(name: str) -> str:
    return _CITY_SUFFIX.sub("", (name or "").strip())


def split_description(description: str) -> Area | None:
    """"广东省广州市" -> Area("广东", "广州"); "北京市" -> Area("北京", "北京"); "中国" -> None."""
    text = (description or "").strip()
    for prefix, short in _PREFIXES:
        if text.startswith(prefix):
            rest = text[len(prefix):]
            if short in MUNICIPALITIES:
                return Area(short, short)
            first = rest.split("、")[0].strip()
            return Area(short, normalize_city(first))
    return None


def area_of(number: str) -> Area | None:
    """The area of a Chinese number, or None (unknown, foreign, or only "中国")."""
    digits = normalize_number(number)
    if not digits:
        return None
    try:
        parsed = phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None
    if parsed.country_code != 86:
        return None
    # Imported here: the geocoder's data costs ~100 MiB of memory, which processes that never
    # look up an area (the web's list pages, the export worker) should not carry.
    from phonenumbers import geocoder

    return split_description(geocoder.description_for_number(parsed, "zh"))


# --- configuration snapshots ----------------------------------------------------------------

DB = "db"
AREA = "area"
DEST_EXTENSION = "extension"
DEST_GROUP = "group"
DEST_IVR = "ivr"


@dataclass(frozen=True)
class RouteRule:
    id: int
    kind: str  # "db" or "area"
    destination_kind: str  # "extension", "group", "ivr"
    destination: str  # extension, group name or menu name
    priority: int = 100
    name: str = ""
    numbers: frozenset[str] = frozenset()  # normalised
    customer_category: str = ""
    province: str = ""
    city: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class SlotConfig:
    start: time
    end: time
    menu_id: int


@dataclass(frozen=True)
class ScheduleConfig:
    id: int
    default_menu_id: int
    weekdays: frozenset[int] = frozenset(range(1, 8))  # 1 = Monday ... 7 = Sunday
    slots: tuple[SlotConfig, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class RoutingConfig:
    blacklist_inbound: frozenset[str] = frozenset()  # normalised numbers, direction in or both
    routes: tuple[RouteRule, ...] = ()
    did_schedules: Mapping[str, Sequence[ScheduleConfig]] = field(default_factory=dict)
    menus: Mapping[int, MenuConfig] = field(default_factory=dict)

    def menu_named(self, name: str) -> MenuConfig | None:
        return next((m for m in self.menus.values() if m.name == name), None)


# --- decisions ------------------------------------------------------------------------------------

REFUSE = "refuse"
UNROUTED = "unrouted"


@dataclass(frozen=True)
class RouteDecision:
    kind: str  # "refuse", "unrouted", "extension", "group", "ivr"
    target: str = ""  # extension or group name; for an IVR the menu's name
    menu_id: int | None = None
    reason: str = ""  # "blacklist", "route", "schedule", "no_did", "no_menu"
    route_id: int | None = None
    schedule_id: int | None = None
    cause: int | None = None  # for refuse / unrouted
    last_agent: str | None = None


def _slot_covers(slot: SlotConfig, t: time) -> bool:
    start, end = slot.start, slot.end
    if end == time(0, 0) and start != time(0, 0):
        return start <= t
    if start == end:
        return start == time(0, 0)  # 00:00-00:00: all day; any other empty slot covers nothing
    if start < end:
        return start <= t < end
    return t >= start or t < end  # past midnight


def menu_at(schedules: Sequence[ScheduleConfig], at: datetime) -> tuple[int, int] | None:
    """(schedule id, menu id) answering at local time `at`, or None without schedules."""
    if not schedules:
        return None
    weekday = at.isoweekday()
    today = [s for s in schedules if weekday in s.weekdays]
    if not today:
        return schedules[0].id, schedules[0].default_menu_id
    schedule = today[0]
    t = at.time().replace(tzinfo=None)
    for slot in sorted(schedule.slots, key=lambda s: s.start):
        if _slot_covers(slot, t):
            return schedule.id, slot.menu_id
    return schedule.id, schedule.default_menu_id


def menu_now(schedules: Sequence[ScheduleConfig], tz: tzinfo) -> tuple[int, int] | None:
    """`menu_at` for the current time in the enterprise's time zone."""
    return menu_at(schedules, datetime.now(tz))


def _route_matches(rule: RouteRule, caller: str, *, category: Callable[[], str | None],
                   area: Callable[[], Area | None]) -> bool:
    if rule.kind == DB:
        if caller in rule.numbers:
            return True
        return bool(rule.customer_category) and category() == rule.customer_category
    if rule.kind == AREA:
        found = area()
        if found is None or not rule.province:
            return False
        if normalize_province(rule.province) != found.province:
            return False
        return not rule.city or normalize_city(rule.city) == found.city
    return False


def ordered_routes(routes: Iterable[RouteRule]) -> list[RouteRule]:
    return sorted((r for r in routes if r.enabled), key=lambda r: (r.priority, r.id))


def route_inbound(config: RoutingConfig, *, caller: str, did: str, at: datetime | None = None,
                  tz: tzinfo | None = None, category_of: Callable[[str], str | None] | None = None,
                  last_agent_of: Callable[[str], str | None] | None = None,
                  area_lookup: Callable[[str], Area | None] = area_of) -> RouteDecision:
    """Route one inbound call. `at` is the local time (default: now in `tz`).

    `category_of(caller)` gives the caller's customer category, `last_agent_of(caller)` the
    extension of the agent who last talked with them; each is called at most once, and only
    when a rule needs it.
    """
    number = normalize_number(caller)
    if number and number in config.blacklist_inbound:
        return RouteDecision(REFUSE, reason="blacklist", cause=CAUSE_REJECTED)

    memo: dict[str, object] = {}

    def category() -> str | None:
        if "category" not in memo:
            memo["category"] = category_of(number) if category_of and number else None
        return memo["category"]  # type: ignore[return-value]

    def area() -> Area | None:
        if "area" not in memo:
            memo["area"] = area_lookup(number) if number else None
        return memo["area"]  # type: ignore[return-value]

    def last_agent(menu: MenuConfig | None) -> str | None:
        if menu is None or not menu.needs_last_agent or last_agent_of is None or not number:
            return None
        return last_agent_of(number)

    for rule in ordered_routes(config.routes):
        if _route_matches(rule, number, category=category, area=area):
            if rule.destination_kind == DEST_IVR:
                menu = config.menu_named(rule.destination)
                if menu is None:
                    continue  # a route to a deleted menu must not swallow the call
                return RouteDecision(DEST_IVR, target=menu.name, menu_id=menu.id, reason="route", route_id=rule.id,
                                     last_agent=last_agent(menu))
            return RouteDecision(rule.destination_kind, target=rule.destination, reason="route", route_id=rule.id)

    schedules = config.did_schedules.get(normalize_number(did)) or config.did_schedules.get(did)
    if not schedules:
        return RouteDecision(UNROUTED, reason="no_did", cause=CAUSE_UNALLOCATED)
    if at is None:
        if tz is None:
            raise ValueError("route_inbound needs `at` or `tz`")
        at = datetime.now(tz)
    chosen = menu_at(schedules, at)
    assert chosen is not None
    schedule_id, menu_id = chosen
    menu = config.menus.get(menu_id)
    if menu is None and config.menus:
        return RouteDecision(UNROUTED, reason="no_menu", schedule_id=schedule_id, cause=CAUSE_UNALLOCATED)
    return RouteDecision(DEST_IVR, target=menu.name if menu else "", menu_id=menu_id, reason="schedule",
                         schedule_id=schedule_id, last_agent=last_agent(menu))
