"""流程设置 (2.2.6) and 外线设置 (2.2.7) with its 【设置】 DID rules."""

from __future__ import annotations

import pytest
from django.urls import NoReverseMatch, reverse

from callcenter.accounts.models import CallerId
from callcenter.core.models import AuditLog
from callcenter.telephony import screens
from callcenter.telephony.models import CallFlow, DidRoute, Trunk
from tests.telephony.conftest import field_errors, make_group, make_prompt, make_schedule, make_trunk, page_text


@pytest.fixture
def parts(ent):
    e = ent["enterprise"]
    return {"prompt": make_prompt(e, "欢迎语"), "ringback": make_prompt(e, "彩铃", kind="ringback"),
            "group": make_group(e, "销售组", [ent["agent"]]),
            "caller_id": CallerId.objects.filter(enterprise=e).first()}


def flow_form(parts, **changes):
    data = {"name": "群呼流程", "caller_id": parts["caller_id"].pk, "prompt": parts["prompt"].pk,
            "ringback": parts["ringback"].pk, "transfer_mode": "play_to_end", "play_seconds": "0", "replay_key": "*",
            "transfer_key": "1", "play_count": "2", "agent_group": parts["group"].pk, "dial_ratio": "200",
            "extra_lines": "1", "interval_seconds": "3", "retries": "2", "sms_enabled": "on", "sms_min_seconds": "10",
            "sms_text": "感谢接听", "pause_after_hangup": "on", "remark": "说明"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- call flows ------------------------------------------------------------------------------------


def test_add_flow_with_every_field(ent, as_user, parts):
    r = as_user(ent["admin"]).post("/telephony/callflows/add/", flow_form(parts))
    assert r.status_code == 302, field_errors(r)
    flow = CallFlow.objects.get(name="群呼流程")
    assert (flow.prompt, flow.ringback, flow.agent_group, flow.caller_id) == (
        parts["prompt"], parts["ringback"], parts["group"], parts["caller_id"])
    assert (flow.replay_key, flow.transfer_key, flow.play_count, flow.dial_ratio, flow.extra_lines) == (
        "*", "1", 2, 200, 1)
    assert (flow.interval_seconds, flow.retries, flow.sms_enabled, flow.sms_min_seconds, flow.sms_text) == (
        3, 2, True, 10, "感谢接听")
    assert flow.pause_after_hangup and flow.remark == "说明"


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"transfer_mode": "key_only", "transfer_key": ""}, "transfer_key", "转接按键：“仅按键转接”须选择转接按键"),
    ({"transfer_mode": "play_seconds", "play_seconds": "0"}, "play_seconds",
     "播放时长（秒）：“播放中转坐席”须填写播放时长（大于0秒）"),
    ({"transfer_mode": "play_to_end", "agent_group": ""}, "agent_group",
     "坐席组：须选择坐席组（只有“只播放不转接坐席”可以不选）"),
    ({"transfer_mode": "key_only", "prompt": ""}, "prompt",
     "播放语音：须选择播放语音（只有“不播放直接转坐席”可以不选）"),
    ({"sms_text": ""}, "sms_text", "短信发送内容：开启短信发送时须填写短信内容"),
])
def test_bad_flow_refused_and_nothing_saved(ent, as_user, parts, changes, field, message):
    r = as_user(ent["admin"]).post("/telephony/callflows/add/", flow_form(parts, **changes))
    assert r.status_code == 200
    assert message in field_errors(r)[field]
    assert not CallFlow.objects.exists()
    assert not AuditLog.objects.filter(object_type="telephony.callflow").exists()


def test_fields_of_other_modes_are_not_checked(ent, as_user, parts):
    c = as_user(ent["admin"])
    # play_only needs no agent group; play seconds of 0 matter only in play_seconds mode
    r = c.post("/telephony/callflows/add/", flow_form(parts, name="只播放", transfer_mode="play_only",
                                                      agent_group="", transfer_key=""))
    assert r.status_code == 302, field_errors(r)
    # direct needs no prompt
    r = c.post("/telephony/callflows/add/", flow_form(parts, name="直转", transfer_mode="direct", prompt=""))
    assert r.status_code == 302, field_errors(r)
    r = c.post("/telephony/callflows/add/", flow_form(parts, name="播放中", transfer_mode="play_seconds",
                                                      play_seconds="8"))
    assert r.status_code == 302
    assert CallFlow.objects.count() == 3


def test_edit_flow_to_key_only_without_key_changes_nothing(ent, as_user, parts):
    c = as_user(ent["admin"])
    c.post("/telephony/callflows/add/", flow_form(parts))
    flow = CallFlow.objects.get()
    r = c.post(f"/telephony/callflows/{flow.pk}/edit/", flow_form(parts, transfer_mode="key_only", transfer_key=""))
    assert "transfer_key" in field_errors(r)
    flow.refresh_from_db()
    assert (flow.transfer_mode, flow.transfer_key) == ("play_to_end", "1")


def test_api_flow_rules(ent, other, as_user, parts):
    c = as_user(ent["admin"])
    body = {"name": "接口流程", "prompt": parts["prompt"].pk, "agent_group": parts["group"].pk,
            "transfer_mode": "key_only"}
    r = c.post("/api/v1/call-flows/", body, content_type="application/json")
    assert r.status_code == 400 and r.json() == {"transfer_key": ["“仅按键转接”须选择转接按键"]}
    r = c.post("/api/v1/call-flows/", {**body, "transfer_mode": "play_to_end", "ringback": parts["prompt"].pk},
               content_type="application/json")
    assert r.status_code == 400 and r.json() == {"ringback": ["转接彩铃须是类型为“彩铃”的语音"]}
    r = c.post("/api/v1/call-flows/", {**body, "prompt": parts["ringback"].pk, "transfer_mode": "play_to_end"},
               content_type="application/json")
    assert r.status_code == 400 and r.json() == {"prompt": ["播放语音须是类型为“语音”的语音"]}
    other_prompt = make_prompt(other["enterprise"], "别家语音")
    r = c.post("/api/v1/call-flows/", {**body, "prompt": other_prompt.pk, "transfer_key": "1"},
               content_type="application/json")
    assert r.status_code == 400 and "prompt" in r.json()
    assert not CallFlow.objects.exists()
    r = c.post("/api/v1/call-flows/", {**body, "transfer_key": "any"}, content_type="application/json")
    assert r.status_code == 201
    pk = r.json()["id"]
    assert as_user(other["admin"]).get(f"/api/v1/call-flows/{pk}/").status_code == 404
    assert as_user(other["admin"]).get(f"/telephony/callflows/{pk}/").status_code == 404


def test_test_dial_button_posts_to_pbx(ent, as_user, parts, monkeypatch):
    c = as_user(ent["admin"])
    c.post("/telephony/callflows/add/", flow_form(parts))
    flow = CallFlow.objects.get()
    try:
        expected = reverse("pbx:test_dial", args=[flow.pk])
    except NoReverseMatch:
        expected = None
    body = c.get(f"/telephony/callflows/{flow.pk}/").content.decode()
    if expected is None:
        assert 'id="test-dial-form"' not in body  # the page renders until the pbx app serves 测拨
        real = screens.reverse

        def fake_reverse(name, *args, **kwargs):
            if name == "pbx:test_dial":
                return f"/pbx/flows/{kwargs['args'][0]}/test-dial/"
            return real(name, *args, **kwargs)

        monkeypatch.setattr(screens, "reverse", fake_reverse)
        expected = f"/pbx/flows/{flow.pk}/test-dial/"
        body = c.get(f"/telephony/callflows/{flow.pk}/").content.decode()
    assert f'action="{expected}"' in body and 'name="number"' in body
    # without telephony.test_dial_callflow there is no button
    from callcenter.accounts.services import permissions_from_names

    ent["supervisor"].role.permissions.add(*permissions_from_names(["telephony.view_callflow"]))
    body = as_user(ent["supervisor"]).get(f"/telephony/callflows/{flow.pk}/").content.decode()
    assert 'id="test-dial-form"' not in body


# --- trunks ----------------------------------------------------------------------------------------


TRUNK_FORM = {"number": "001", "prefix": "001", "server_type": "local", "server_password": "s3cret-pw",
              "concurrent_lines": "4", "reserved_lines": "2", "enabled": "on", "remark": ""}


def test_add_trunk_generates_account_and_hides_password(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post("/telephony/trunks/add/", TRUNK_FORM)
    assert r.status_code == 302, field_errors(r)
    trunk = Trunk.objects.get()
    assert trunk.account == "acme001" and trunk.server_password == "s3cret-pw"
    assert "s3cret-pw" not in c.get(f"/telephony/trunks/{trunk.pk}/").content.decode()
    assert "s3cret-pw" not in c.get(f"/telephony/trunks/{trunk.pk}/edit/").content.decode()
    api = c.get(f"/api/v1/trunks/{trunk.pk}/").json()
    assert "server_password" not in api and api["has_server_password"] is True and api["account"] == "acme001"
    entry = AuditLog.objects.get(object_type="telephony.trunk", action="create")
    assert entry.changes["server_password"] == [None, "***"]
    # a blank password on edit keeps the stored one
    r = c.post(f"/telephony/trunks/{trunk.pk}/edit/", {**TRUNK_FORM, "server_password": "", "remark": "改"})
    assert r.status_code == 302
    trunk.refresh_from_db()
    assert trunk.server_password == "s3cret-pw" and trunk.remark == "改"


def test_account_is_unique_across_enterprises(ent, other, as_user):
    make_trunk(ent["enterprise"], "001")
    other["enterprise"].code = "acme0"
    other["enterprise"].save()
    clash = make_trunk(other["enterprise"], "01")  # "acme0" + "01" == "acme" + "001"
    assert clash.account != "acme001" and clash.account.startswith("acme0-")


def test_reserved_lines_above_concurrent_refused(ent, as_user):
    r = as_user(ent["admin"]).post("/telephony/trunks/add/", {**TRUNK_FORM, "reserved_lines": "5"})
    assert r.status_code == 200
    assert field_errors(r)["reserved_lines"] == ["群呼外线数：群呼外线数（5）不能大于并发外线数（4）"]
    assert not Trunk.objects.exists()
    trunk = make_trunk(ent["enterprise"], "002", concurrent_lines=2)
    r = as_user(ent["admin"]).patch(f"/api/v1/trunks/{trunk.pk}/", {"reserved_lines": 3},
                                    content_type="application/json")
    assert r.status_code == 400 and "reserved_lines" in r.json()
    trunk.refresh_from_db()
    assert trunk.reserved_lines == 0


def test_server_type_needs_its_fields(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post("/telephony/trunks/add/", {**TRUNK_FORM, "server_password": ""})
    assert "server_password" in field_errors(r)
    r = c.post("/telephony/trunks/add/", {**TRUNK_FORM, "server_type": "gateway", "server_password": ""})
    assert field_errors(r)["server_ip"] == ["服务器IP：服务器类型为“普通落地网关”时须填写服务器IP"]
    r = c.post("/telephony/trunks/add/", {**TRUNK_FORM, "server_type": "gateway", "server_password": "",
                                          "server_ip": "10.0.0.9", "concurrent_lines": "30"})
    assert r.status_code == 302
    r = c.post("/telephony/trunks/add/", {**TRUNK_FORM, "number": "001"})
    assert field_errors(r)["number"] == ["外线号码：外线号码 001 已存在"]
    assert Trunk.objects.count() == 1


def test_did_rules_of_a_trunk(ent, as_user):
    e = ent["enterprise"]
    trunk = make_trunk(e, "001")
    second = make_trunk(e, "002")
    day, night = make_schedule(e, "白天"), make_schedule(e, "夜间")
    c = as_user(ent["admin"])
    url = f"/telephony/trunks/{trunk.pk}/dids/"
    assert c.get(url).status_code == 200
    assert c.post(url, {"did": "02088880001", "schedule": day.pk}).status_code == 302
    route = DidRoute.objects.get()
    assert (route.trunk, route.schedule) == (trunk, day)
    # the same called number twice is refused, on this trunk or another
    for target in (trunk, second):
        r = c.post(f"/telephony/trunks/{target.pk}/dids/", {"did": "02088880001", "schedule": night.pk})
        assert r.status_code == 200
        assert field_errors(r)["did"] == [
            "呼入号码：呼入号码 02088880001 已有导航规则（外线 001），一个号码只能有一条规则"]
    assert DidRoute.objects.count() == 1
    r = c.post(f"{url}{route.pk}/edit/", {"did": "02088880001", "schedule": night.pk})
    route.refresh_from_db()
    assert r.status_code == 302 and route.schedule == night
    assert "02088880001 → 夜间" in page_text(c.get(f"/telephony/trunks/{trunk.pk}/"))
    c.post(f"{url}{route.pk}/delete/")
    assert not DidRoute.objects.exists()


def test_did_api_refuses_second_rule(ent, other, as_user):
    e = ent["enterprise"]
    trunk, schedule = make_trunk(e), make_schedule(e)
    c = as_user(ent["admin"])
    body = {"trunk": trunk.pk, "did": "4008001", "schedule": schedule.pk}
    assert c.post("/api/v1/did-routes/", body, content_type="application/json").status_code == 201
    r = c.post("/api/v1/did-routes/", body, content_type="application/json")
    assert r.status_code == 400 and "只能有一条规则" in r.json()["did"][0]
    other_schedule = make_schedule(other["enterprise"], "别家")
    r = c.post("/api/v1/did-routes/", {**body, "did": "4008002", "schedule": other_schedule.pk},
               content_type="application/json")
    assert r.status_code == 400 and "schedule" in r.json()
    assert DidRoute.objects.count() == 1
    assert as_user(other["admin"]).get(f"/telephony/trunks/{trunk.pk}/dids/").status_code == 404
