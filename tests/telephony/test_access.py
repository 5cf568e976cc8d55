"""Every call configuration screen from the outside: tenant boundary (404), permissions (403),
menu entries, and list pages whose query count does not grow with their rows."""

from __future__ import annotations

from datetime import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from callcenter.core import navigation
from callcenter.telephony import services
from callcenter.telephony.choices import PromptKind
from tests.telephony.conftest import make_group, make_menu, make_prompt, make_queue, make_schedule, make_trunk


def build(enterprise, agents, n: int = 1, tag: str = "", start: int = 0) -> dict:
    """One of everything (n of each listed row), wired together like a real configuration."""
    made: dict = {}
    for i in range(start, start + n):
        s = f"{tag}{i}"
        prompt = make_prompt(enterprise, f"语音{s}", seconds=0.05)
        ring = make_prompt(enterprise, f"彩铃{s}", kind=PromptKind.RINGBACK, seconds=0.05)
        group = make_group(enterprise, f"组{s}", agents)
        flow = services.callflow_create(enterprise=enterprise, values={
            "name": f"流程{s}", "prompt": prompt, "ringback": ring, "agent_group": group})
        trunk = make_trunk(enterprise, f"{100 + i}")
        queue = make_queue(enterprise, f"队列{s}", f"{600 + i}", members=agents, music=ring)
        menu = make_menu(enterprise, f"导航{s}", prompt=prompt, default_extensions=queue.extension)
        services.ivr_key_add(menu=menu, key="1", action="prompt", prompt=prompt)
        schedule = make_schedule(enterprise, f"策略{s}", menu=menu)
        services.slot_add(schedule=schedule, start=time(12), end=time(13), menu=menu)
        services.did_create(trunk=trunk, did=f"0208888{1000 + i}", schedule=schedule)
        db_route = services.route_create(enterprise=enterprise, kind="db", values={
            "name": f"库{s}", "numbers": "13800138000", "destination_kind": "group", "destination": group.name})
        area_route = services.route_create(enterprise=enterprise, kind="area", values={
            "name": f"区{s}", "province": "广东", "destination_kind": "ivr", "destination": menu.name})
        entry = services.blacklist_add(enterprise=enterprise, number=f"1390000{1000 + i}")
        made = {"prompt": prompt, "agentgroup": group, "callflow": flow, "trunk": trunk, "queue": queue,
                "ivrmenu": menu, "schedule": schedule, "dbroute": db_route, "arearoute": area_route,
                "blacklist": entry}
    return made


SCREENS = ["prompt", "agentgroup", "callflow", "trunk", "queue", "dbroute", "arearoute", "ivrmenu", "schedule",
           "blacklist"]
API = {"prompt": "prompts", "agentgroup": "agent-groups", "callflow": "call-flows", "trunk": "trunks",
       "queue": "queues", "dbroute": "routes", "arearoute": "routes", "ivrmenu": "ivr-menus",
       "schedule": "schedules", "blacklist": "blacklist"}
EXTRA_PAGES = {"agentgroup": ["members/"], "queue": ["members/"], "trunk": ["dids/"], "ivrmenu": ["keys/"]}


@pytest.fixture
def theirs(other):
    return build(other["enterprise"], [other["agent"]])


def test_other_enterprise_rows_are_404_in_the_ui(ent, theirs, as_user):
    c = as_user(ent["admin"])
    for name in SCREENS:
        obj = theirs[name]
        for suffix in ["", "edit/", "delete/", *EXTRA_PAGES.get(name, [])]:
            url = f"/telephony/{name}s/{obj.pk}/{suffix}"
            assert c.get(url).status_code == 404, url
        assert c.post(f"/telephony/{name}s/{obj.pk}/delete/").status_code == 404, name
        assert str(obj) not in c.get(f"/telephony/{name}s/").content.decode(), name
    assert c.get(f"/telephony/prompts/{theirs['prompt'].pk}/audio/").status_code == 404
    assert c.post(f"/telephony/agentgroups/{theirs['agentgroup'].pk}/toggle/", {"enabled": "0"}).status_code == 404
    assert c.post(f"/telephony/schedules/{theirs['schedule'].pk}/slots/", {}).status_code == 404
    assert c.post(f"/telephony/trunks/{theirs['trunk'].pk}/dids/", {}).status_code == 404
    member = theirs["queue"].memberships.first()
    assert c.post(f"/telephony/queues/{theirs['queue'].pk}/members/{member.agent_id}/remove/").status_code == 404
    assert theirs["queue"].memberships.count() == 1
    assert theirs["agentgroup"].enabled


def test_other_enterprise_rows_are_404_in_the_api(ent, theirs, as_user):
    c = as_user(ent["admin"])
    for name in SCREENS:
        url = f"/api/v1/{API[name]}/{theirs[name].pk}/"
        assert c.get(url).status_code == 404, url
        assert c.patch(url, {}, content_type="application/json").status_code == 404, url
        assert c.delete(url).status_code == 404, url
        assert c.get(f"/api/v1/{API[name]}/").json()["results"] == [], name
    for name in SCREENS:
        assert type(theirs[name]).objects.filter(pk=theirs[name].pk).exists()


@pytest.mark.parametrize("name", SCREENS)
def test_agent_role_may_not_add(ent, as_user, name):
    c = as_user(ent["agent"])
    assert c.get(f"/telephony/{name}s/add/").status_code == 403
    assert c.post(f"/telephony/{name}s/add/", {"name": "x", "number": "123"}).status_code == 403
    assert c.get(f"/telephony/{name}s/").status_code == 403
    data = {"kind": "db"} if name == "dbroute" else {}
    assert c.post(f"/api/v1/{API[name]}/", data, content_type="application/json").status_code == 403


def test_agent_role_may_not_change_members_dids_keys_or_slots(ent, as_user):
    mine = build(ent["enterprise"], [ent["agent"]])
    c = as_user(ent["agent"])
    for url in (f"/telephony/agentgroups/{mine['agentgroup'].pk}/members/",
                f"/telephony/queues/{mine['queue'].pk}/toggle/",
                f"/telephony/trunks/{mine['trunk'].pk}/dids/",
                f"/telephony/ivrmenus/{mine['ivrmenu'].pk}/keys/",
                f"/telephony/schedules/{mine['schedule'].pk}/slots/"):
        assert c.post(url, {}).status_code == 403, url
    assert c.get(f"/telephony/prompts/{mine['prompt'].pk}/audio/").status_code == 403


def test_view_permission_alone_shows_no_write_buttons(ent, as_user):
    from callcenter.accounts.services import permissions_from_names

    mine = build(ent["enterprise"], [ent["agent"]])
    ent["supervisor"].role.permissions.add(*permissions_from_names(["telephony.view_agentgroup"]))
    c = as_user(ent["supervisor"])
    body = c.get(f"/telephony/agentgroups/{mine['agentgroup'].pk}/members/").content.decode()
    assert "/up/" not in body and "/remove/" not in body and 'id="btn-add-member"' not in body
    assert c.post(f"/telephony/agentgroups/{mine['agentgroup'].pk}/members/", {}).status_code == 403
    assert c.get("/telephony/agentgroups/add/").status_code == 403


def test_menu_entries_in_the_manual_sections(ent):
    items = {i.url_name: i.section for i in navigation.all_items() if i.url_name.startswith("telephony:")}
    assert items == {
        "telephony:prompt_list": "callconfig", "telephony:agentgroup_list": "callconfig",
        "telephony:callflow_list": "callconfig", "telephony:trunk_list": "callconfig",
        "telephony:queue_list": "callconfig", "telephony:dbroute_list": "callconfig",
        "telephony:arearoute_list": "callconfig", "telephony:blacklist_list": "system",
        "telephony:ivrmenu_list": "ivr", "telephony:schedule_list": "ivr"}
    labels = [i["label"] for s in navigation.menu_for(ent["admin"]) for i in s["items"]]
    for label in ("语音上传", "坐席组管理", "流程设置", "外线设置", "队列设置", "数据库导航", "地区导航", "黑名单",
                  "语音导航管理", "导航时段及策略"):
        assert label in [str(x) for x in labels], label
    assert not any(s["key"] in ("ivr",) for s in navigation.menu_for(ent["agent"]))


def _list_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_pages_query_count_is_bounded(ent, as_user, django_assert_max_num_queries):
    agents = [ent["agent"], ent["sub1"]]
    build(ent["enterprise"], agents, n=2, tag="a")
    c = as_user(ent["admin"])
    few = {name: _list_queries(c, f"/telephony/{name}s/") for name in SCREENS}
    build(ent["enterprise"], agents, n=12, tag="b", start=10)
    for name in SCREENS:
        url = f"/telephony/{name}s/"
        with django_assert_max_num_queries(15):
            r = c.get(url)
        assert r.status_code == 200 and len(r.context["page"].rows) >= 12, name
        assert _list_queries(c, url) == few[name], name  # no query per row
    for k, name in enumerate(("agentgroup", "queue", "trunk", "ivrmenu", "schedule")):
        obj = build(ent["enterprise"], agents, n=1, tag=f"c{name}", start=30 + k)[name]
        with django_assert_max_num_queries(20):
            assert c.get(f"/telephony/{name}s/{obj.pk}/").status_code == 200
