"""Read API of the calls app: cdrs, recordings, missed-calls, channels, agent-states; scope,
tenancy, filters, keyset pages, read-only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from callcenter.calls import services
from tests.calls.conftest import T0, call, no_role

API = "/api/v1"


@pytest.fixture
def data(ent, other, call_perms):
    e = ent["enterprise"]
    made = {
        "sub1": call(e, agent=ent["sub1"], callee="13800138000", recording=True),
        "agent": call(e, agent=ent["agent"], start=T0 + timedelta(hours=1), direction="in", caller="13922200000"),
        "other": call(other["enterprise"], agent=other["agent"]),
    }
    services.live_channel_upsert(enterprise_id=e.pk, channel_id="ch-a", kind="trunk", started_at=T0,
                                 state="Up", callee="13800138000", agent_id=ent["sub1"].pk)
    services.live_channel_upsert(enterprise_id=e.pk, channel_id="ch-q", kind="queue_wait", started_at=T0,
                                 caller="13922200000", queue_name="售后")
    services.live_channel_upsert(enterprise_id=other["enterprise"].pk, channel_id="ch-b", kind="trunk",
                                 started_at=T0)
    for who, state in (("sub1", "busy"), ("sub2", "idle"), ("agent", "paused")):
        services.agent_state_set(enterprise_id=e.pk, agent_id=ent[who].pk, state=state, since=T0)
    services.agent_state_set(enterprise_id=other["enterprise"].pk, agent_id=other["agent"].pk, state="idle")
    services.missed_call_add(enterprise_id=e.pk, call_id="m1", caller="13700000000", at=T0,
                             rang_agent_ids=[ent["sub2"].pk])
    return made


def results(client, path, params=None) -> list[dict]:
    r = client.get(f"{API}/{path}/", params or {})
    assert r.status_code == 200, r.content
    return r.json()["results"]


def test_cdrs_scope_and_fields(ent, data, as_user):
    admin = results(as_user(ent["admin"]), "cdrs")
    assert [row["call_id"] for row in admin] == [data["agent"].call_id, data["sub1"].call_id]  # newest first
    row = admin[1]
    assert row["agent_number"] == "811" and row["agent_label"] == "811 坐席811"
    assert (row["talk_seconds"], row["cause"], row["cause_display"]) == (60, 16, "正常挂断 (16)")
    assert row["recording_url"] == f"http://testserver/calls/cdrs/{data['sub1'].pk}/recording/"
    assert admin[0]["recording_url"] is None
    assert [r["call_id"] for r in results(as_user(ent["supervisor"]), "cdrs")] == [data["sub1"].call_id]
    assert [r["call_id"] for r in results(as_user(ent["agent"]), "cdrs")] == [data["agent"].call_id]
    assert as_user(no_role(ent)).get(f"{API}/cdrs/").status_code == 403


def test_cdr_filters_and_tenant_404(ent, other, data, as_user):
    c = as_user(ent["admin"])
    assert [r["call_id"] for r in results(c, "cdrs", {"direction": "in"})] == [data["agent"].call_id]
    assert [r["call_id"] for r in results(c, "cdrs", {"number": "13800138000"})] == [data["sub1"].call_id]
    assert [r["call_id"] for r in results(c, "cdrs", {"has_recording": "yes"})] == [data["sub1"].call_id]
    assert c.get(f"{API}/cdrs/{data['other'].pk}/").status_code == 404
    assert as_user(other["admin"]).get(f"{API}/cdrs/{data['sub1'].pk}/").status_code == 404
    assert c.get(f"{API}/cdrs/{data['sub1'].pk}/").json()["caller"] == "02066660000"


def test_cdrs_are_read_only(ent, data, as_user):
    c = as_user(ent["admin"])
    assert c.post(f"{API}/cdrs/", {"caller": "1"}).status_code == 405
    assert c.delete(f"{API}/cdrs/{data['sub1'].pk}/").status_code == 405


def test_cdr_pages_walk_every_row_once(ent, data, as_user):
    e = ent["enterprise"]
    services.cdrs_open(rows=[services.CdrOpen(e.pk, f"k{i}", "out", T0 + timedelta(minutes=i % 5))
                             for i in range(25)])
    c = as_user(ent["admin"])
    seen, r = [], c.get(f"{API}/cdrs/", {"page_size": 7})
    while True:
        body = r.json()
        seen += [row["id"] for row in body["results"]]
        if not body["next"]:
            break
        r = c.get(body["next"])
    assert len(seen) == len(set(seen)) == 27
    times = [c.get(f"{API}/cdrs/{pk}/").json()["started_at"] for pk in seen[:8]]
    assert times == sorted(times, reverse=True)


def test_recordings(ent, data, as_user):
    rows = results(as_user(ent["admin"]), "recordings")
    assert len(rows) == 1 and rows[0]["call_id"] == data["sub1"].call_id
    assert results(as_user(ent["agent"]), "recordings") == []
    assert len(results(as_user(ent["supervisor"]), "recordings", {"call_id": data["sub1"].call_id})) == 1


def test_channels_are_the_enterprise_s_live_channels(ent, other, data, as_user):
    rows = results(as_user(ent["admin"]), "channels")
    assert sorted(r["channel_id"] for r in rows) == ["ch-a", "ch-q"]
    assert [r["channel_id"] for r in results(as_user(ent["admin"]), "channels", {"kind": "queue_wait"})] == ["ch-q"]
    assert [r["channel_id"] for r in results(as_user(other["admin"]), "channels")] == ["ch-b"]


def test_agent_states_follow_the_scope(ent, data, as_user):
    rows = results(as_user(ent["admin"]), "agent-states")
    assert {(r["agent_number"], r["state"]) for r in rows} == {("811", "busy"), ("812", "idle"), ("820", "paused")}
    sup = results(as_user(ent["supervisor"]), "agent-states")
    assert sorted(r["agent_number"] for r in sup) == ["811", "812"]
    assert [r["agent_number"] for r in results(as_user(ent["admin"]), "agent-states", {"state": "idle"})] == ["812"]


def test_missed_calls(ent, data, as_user):
    assert [r["call_id"] for r in results(as_user(ent["supervisor"]), "missed-calls")] == ["m1"]
    assert results(as_user(ent["agent"]), "missed-calls") == []


def test_list_query_count_does_not_grow(ent, data, as_user, django_assert_max_num_queries):
    e = ent["enterprise"]
    c = as_user(ent["admin"])
    c.get(f"{API}/cdrs/")
    services.cdrs_open(rows=[services.CdrOpen(e.pk, f"q{i}", "out", T0, agent_id=ent["sub2"].pk)
                             for i in range(80)])
    with django_assert_max_num_queries(12):
        assert len(c.get(f"{API}/cdrs/").json()["results"]) == 50
