"""The agent workspace (X1) and follow-ups (T13): state, screen pop, third-party URL, scope."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from callcenter.calls import services as calls
from callcenter.calls.models import AgentState, Cdr
from callcenter.pbx.callctl import dbconfig
from callcenter.pbx.choices import CommandKind
from callcenter.pbx.models import PbxCommand
from callcenter.workspace import services
from callcenter.workspace.models import AgentStateChange, FollowUp


@pytest.fixture
def crm(ent):
    from callcenter.crm import services as crm_services

    e = ent["enterprise"]
    retail = crm_services.category_create(enterprise=e, name="零售")
    crm_services.customerfield_create(enterprise=e, values={"key": "level", "label": "级别", "order": 2,
                                                           "width": 50})
    crm_services.customerfield_create(enterprise=e, values={"key": "note", "label": "备注", "order": 1,
                                                           "width": 100})
    crm_services.customerfield_create(enterprise=e, values={"key": "hidden", "label": "隐藏", "order": 3,
                                                           "visible": False})
    return {**ent, "retail": retail}


def make_customer(crm, owner, phone="13800138000", **data):
    from callcenter.crm import services as crm_services

    return crm_services.customer_create(enterprise=crm["enterprise"], values={
        "category": crm["retail"], "phone": phone, "name": "王先生", "owner": owner}, data=data)


def on_call(agent, phone, call_id="chan-1", direction="in"):
    now = timezone.now()
    calls.cdr_open(enterprise_id=agent.enterprise_id, call_id=call_id, direction=direction, started_at=now,
                   caller=phone if direction == "in" else "02088880001",
                   callee="02088880001" if direction == "in" else phone)
    calls.agent_state_set(enterprise_id=agent.enterprise_id, agent_id=agent.pk, state="busy", since=now,
                          call_id=call_id)


# --- state ------------------------------------------------------------------------------------------


def test_ready_pause_offline_write_agent_state_and_reach_call_control(ent, as_user):
    agent = ent["sub1"]
    c = as_user(agent)
    assert c.get("/workspace/").status_code == 200
    c.post("/workspace/state/", {"state": "idle"})
    assert AgentState.objects.get(agent=agent).state == "idle"
    assert agent.pk not in dbconfig.busy_agent_ids(agent.enterprise_id)
    c.post("/workspace/state/", {"state": "paused", "reason": "就餐"})
    assert AgentState.objects.get(agent=agent).state == "paused"
    assert agent.pk in dbconfig.busy_agent_ids(agent.enterprise_id)  # a paused agent is not offered calls
    assert AgentStateChange.objects.filter(agent=agent, state="paused", reason="就餐").exists()
    c.post("/workspace/state/", {"state": "offline"})
    assert AgentState.objects.get(agent=agent).state == "offline"


def test_pause_needs_a_reason_and_a_call_blocks_state_changes(ent, as_user):
    agent = ent["sub1"]
    c = as_user(agent)
    c.post("/workspace/state/", {"state": "paused", "reason": ""})
    assert not AgentState.objects.filter(agent=agent).exists()
    on_call(agent, "13800138000")
    c.post("/workspace/state/", {"state": "paused", "reason": "小休"})
    assert AgentState.objects.get(agent=agent).state == "busy"
    assert c.post("/workspace/wrapup/").status_code == 409


def test_state_api(ent, as_user):
    c = as_user(ent["agent"])
    r = c.post("/api/v1/workspace/state/", {"state": "paused", "reason": "会议"}, content_type="application/json")
    assert r.status_code == 200 and r.json()["state"] == "paused"
    r = c.post("/api/v1/workspace/state/", {"state": "busy"}, content_type="application/json")
    assert r.status_code == 400
    assert AgentState.objects.get(agent=ent["agent"]).state == "paused"


def test_staff_without_the_permission_cannot_use_the_workspace(ent, as_user):
    c = as_user(ent["staff"])
    assert c.get("/workspace/").status_code == 403
    assert c.get("/api/v1/workspace/current-call/").status_code == 403


# --- current call and screen pop -------------------------------------------------------------------------


def test_current_call_shows_the_callers_number(ent, as_user):
    agent = ent["sub1"]
    c = as_user(agent)
    assert c.get("/workspace/current-call/").json()["call_id"] == ""
    on_call(agent, "13900139000")
    data = c.get("/workspace/current-call/").json()
    assert data["phone"] == "13900139000" and data["bridged"] and data["call_id"] == "chan-1"
    assert c.get("/api/v1/workspace/current-call/").json()["phone"] == "13900139000"


def test_screen_pop_of_a_known_number(crm, as_user):
    agent = crm["sub1"]
    customer = make_customer(crm, agent, note="老客户", level="VIP", hidden="x")
    now = timezone.now()
    calls.cdr_open(enterprise_id=agent.enterprise_id, call_id="old-1", direction="in",
                   started_at=now - timezone.timedelta(days=2), caller="13800138000", callee="020", agent_id=agent.pk)
    calls.recording_add(enterprise_id=agent.enterprise_id, call_id="old-1", created_at=now, agent_id=agent.pk,
                        url="/media/x.wav")
    calls.cdr_open(enterprise_id=agent.enterprise_id, call_id="old-2", direction="out",
                   started_at=now - timezone.timedelta(days=1), caller="020", callee="13800138000", agent_id=agent.pk)
    services.followup_create(agent=agent, phone="13800138000", text="约了周五回访", customer=customer)
    c = as_user(agent)
    data = c.get("/api/v1/workspace/screen-pop/", {"phone": "13800138000"}).json()
    assert data["customer"]["id"] == customer.pk and not data["unknown"]
    keys = [f["key"] for f in data["fields"]]
    assert keys == ["name", "phone", "company", "category", "note", "level"]  # visible, in order
    by_key = {f["key"]: f for f in data["fields"]}
    assert by_key["note"]["value"] == "老客户" and by_key["note"]["cols"] == 12 and by_key["level"]["cols"] == 6
    assert [h["call_id"] for h in data["history"]] == ["old-2", "old-1"]  # newest first
    cdr = Cdr.objects.get(call_id="old-1")
    assert data["history"][1]["recording_url"] == f"/calls/cdrs/{cdr.pk}/recording/"
    assert [f["text"] for f in data["followups"]] == ["约了周五回访"]
    html = c.get("/workspace/pop/", {"phone": "13800138000"}).content.decode()
    assert "老客户" in html and f"/calls/cdrs/{cdr.pk}/recording/" in html and "约了周五回访" in html
    assert 'class="col-12"' in html and "pop-create-customer" not in html


@pytest.mark.parametrize(("typed", "presented"), [
    ("+86 20 8888 1234", "02088881234"),  # a landline typed in international form; the trunk sends 0 + area
    ("13800138000", "013800138000"),  # a mobile; some trunks send it with a 0 trunk prefix
    ("0086 138 0013 8001", "+8613800138001"),
])
def test_screen_pop_finds_a_customer_typed_in_another_form_than_the_trunk_presents(crm, as_user, typed, presented):
    """Customers are stored in the form call control gives a caller (routing.normalize_number)."""
    agent = crm["sub1"]
    customer = make_customer(crm, agent, phone=typed)
    on_call(agent, presented)
    c = as_user(agent)
    data = c.get("/api/v1/workspace/screen-pop/", {"phone": presented}).json()
    assert data["customer"]["id"] == customer.pk and not data["unknown"]


def test_screen_pop_of_an_unknown_number_offers_create_customer(crm, as_user):
    agent = crm["sub1"]
    c = as_user(agent)
    data = c.get("/api/v1/workspace/screen-pop/", {"phone": "13700137000"}).json()
    assert data["unknown"] and data["customer"] is None
    html = c.get("/workspace/pop/", {"phone": "13700137000"}).content.decode()
    assert "pop-create-customer" in html and 'value="13700137000"' in html
    r = c.post("/workspace/customers/add/", {"phone": "13700137000", "name": "新客户",
                                             "category": crm["retail"].pk})
    assert r.status_code == 200 and "新客户" in r.content.decode()
    from callcenter.crm.models import Customer

    assert Customer.objects.get(phone="13700137000").owner == agent


def test_screen_pop_refuses_a_customer_locked_by_another_agent(crm, as_user):
    from callcenter.crm import services as crm_services

    owner = crm["sub1"]
    customer = make_customer(crm, owner)
    crm_services.customer_lock(customer=customer, agent=owner)
    other = crm["sub2"]
    assert as_user(other).get("/api/v1/workspace/screen-pop/", {"phone": "13800138000"}).status_code == 403
    assert as_user(other).get("/workspace/pop/", {"phone": "13800138000"}).status_code == 403
    # the locking agent and their supervisor still open it
    assert as_user(owner).get("/workspace/pop/", {"phone": "13800138000"}).status_code == 200
    assert as_user(crm["supervisor"]).get("/workspace/pop/", {"phone": "13800138000"}).status_code == 200


def test_third_party_url_is_filled_and_encoded(ent, as_user):
    agent = ent["sub1"]
    agent.screen_pop_url = "https://crm.example.com/pop?phone={phone}&user={user}&password={password}&cmmId={cmmId}"
    agent.third_party_user = "wang li"
    agent.third_party_password = "p&ss=word/中"
    agent.save()
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT third_party_password FROM " + agent._meta.db_table + " WHERE id = %s",  # noqa: S608
                    [agent.pk])
        raw = cur.fetchone()[0]
    assert raw and "p&ss" not in raw  # stored encrypted, decrypted for the URL
    on_call(agent, "13800138000", call_id="cc-1/x")
    data = as_user(agent).get("/api/v1/workspace/screen-pop/", {"phone": "13800138000", "call_id": "cc-1/x"}).json()
    url = data["third_party_url"]
    assert "p%26ss%3Dword%2F%E4%B8%AD" in url and "wang%20li" in url
    assert parse_qs(urlsplit(url).query) == {"phone": ["13800138000"], "user": ["wang li"],
                                             "password": ["p&ss=word/中"], "cmmId": ["cc-1/x"]}


def test_enterprise_url_is_the_fallback_and_other_schemes_are_dropped(ent, as_user):
    from callcenter.workspace.selectors import third_party_url

    e = ent["enterprise"]
    e.screen_pop_url = "http://ent.example.com/?p={phone}"
    e.save()
    agent = ent["agent"]
    agent.refresh_from_db()
    assert third_party_url(agent, phone="138 0") == "http://ent.example.com/?p=138%200"
    agent.screen_pop_url = "javascript:alert({phone})"
    assert third_party_url(agent, phone="1") is None


# --- follow-ups ------------------------------------------------------------------------------------------


def test_followup_from_the_pop_and_the_list_filters_and_scope(crm, as_user, other):
    sub1, sub2, agent, sup = crm["sub1"], crm["sub2"], crm["agent"], crm["supervisor"]
    customer = make_customer(crm, sub1)
    r = as_user(sub1).post("/workspace/followups/add/", {
        "phone": "13800138000", "call_id": "c1", "customer": customer.pk, "text": "有兴趣，下周再联系",
        "result": "interested", "next_contact_at": "2020-01-02T10:00"})
    assert r.status_code == 200 and "有兴趣，下周再联系" in r.content.decode()
    f1 = FollowUp.objects.get()
    assert f1.customer == customer and f1.agent == sub1 and f1.call_id == "c1" and f1.result == "interested"
    services.followup_create(agent=sub2, phone="13900139000", text="无意向", result="not_interested")
    f3 = services.followup_create(agent=agent, phone="13700137000", text="他人", result="deal")
    assert as_user(sub1).post("/workspace/followups/add/", {"phone": "138", "text": ""}).status_code == 400

    def ids(user, **params):
        r = as_user(user).get("/api/v1/follow-ups/", params)
        assert r.status_code == 200
        return {row["id"] for row in r.json()["results"]}

    assert ids(sub1) == {f1.pk}  # own only
    assert len(ids(sup)) == 2 and f3.pk not in ids(sup)  # the supervisor's subtree
    assert len(ids(crm["admin"])) == 3
    assert ids(crm["admin"], result="deal") == {f3.pk}
    assert ids(crm["admin"], phone="13800138000") == {f1.pk}
    assert ids(crm["admin"], agent=sub2.pk) == {FollowUp.objects.get(agent=sub2).pk}
    assert ids(crm["admin"], due="due") == {f1.pk}
    assert ids(crm["admin"], since="2999-01-01T00:00") == set()
    assert as_user(other["admin"]).get(f"/api/v1/follow-ups/{f1.pk}/").status_code == 404
    assert as_user(sub2).get(f"/api/v1/follow-ups/{f1.pk}/").status_code == 404
    # the 跟踪记录 screen: list, filter, export
    page = as_user(sup).get("/workspace/followups/", {"result": "interested"})
    assert page.status_code == 200 and "13800138000" in page.content.decode()
    assert "13700137000" not in as_user(sup).get("/workspace/followups/").content.decode()
    assert as_user(other["admin"]).get(f"/workspace/followups/{f1.pk}/").status_code == 404
    assert as_user(sup).get("/workspace/followups/export/").status_code in (200, 302)


def test_followup_api_create(crm, as_user):
    c = as_user(crm["agent"])
    r = c.post("/api/v1/follow-ups/", {"phone": "13800138000", "text": "回访", "result": "pending"},
               content_type="application/json")
    assert r.status_code == 201 and r.json()["agent"] == crm["agent"].pk
    r = c.post("/api/v1/follow-ups/", {"phone": "x", "text": "回访"}, content_type="application/json")
    assert r.status_code == 400


def test_merging_customers_moves_followups_and_agents_with_followups_are_kept(crm):
    from callcenter.accounts.related import related_data
    from callcenter.crm import services as crm_services

    a = make_customer(crm, crm["sub1"], phone="13800138000")
    b = make_customer(crm, crm["sub1"], phone="13800138001")
    f = services.followup_create(agent=crm["sub1"], phone="13800138001", text="x", customer=b)
    crm_services.customers_merge(survivor=a, others=[b])
    f.refresh_from_db()
    assert f.customer == a
    assert ("跟踪记录", 1) in related_data(crm["sub1"])


# --- hang-up and wrap-up -------------------------------------------------------------------------------


def test_hangup_queues_a_command_for_the_current_call(ent, as_user):
    agent = ent["sub1"]
    c = as_user(agent)
    assert c.post("/workspace/hangup/").status_code == 409
    on_call(agent, "13800138000", call_id="chan-9")
    r = c.post("/workspace/hangup/")
    assert r.status_code == 200
    command = PbxCommand.objects.get(pk=r.json()["command"])
    assert command.kind == CommandKind.HANGUP and command.params == {"channel_id": "chan-9"}
    calls.agent_state_set(enterprise_id=agent.enterprise_id, agent_id=agent.pk, state="wrapup")
    assert c.post("/workspace/wrapup/").status_code == 200
    assert AgentState.objects.get(agent=agent).state == "idle"
