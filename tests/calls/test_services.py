"""The writes call control makes (calls/services.py): CDRs, recordings, missed calls, agent
state, live channels; keyword-only, batched, idempotent, confined to the enterprise."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from callcenter.calls import services
from callcenter.calls.models import AgentState, Cdr, LiveChannel, MissedCall, Recording
from tests.calls.conftest import T0, call


def test_open_answer_close_computes_ring_and_talk_time(ent):
    e, agent = ent["enterprise"], ent["agent"]
    cdr = services.cdr_open(enterprise_id=e.pk, call_id="c1", direction="out", started_at=T0, caller="02066660000",
                            callee="13800138000", group_name="销售组", task_id=7, attempt_id=70)
    assert cdr.answered_at is None and cdr.agent is None and cdr.task_id == 7 and cdr.attempt_id == 70
    assert services.cdr_answer(call_id="c1", answered_at=T0 + timedelta(seconds=12), agent_id=agent.pk) == 1
    assert services.cdr_close(call_id="c1", ended_at=T0 + timedelta(seconds=12 + 95), cause=16, last_key="1",
                              outcome="connected") == 1
    cdr.refresh_from_db()
    assert (cdr.ring_seconds, cdr.talk_seconds) == (12, 95)
    assert cdr.agent == agent and cdr.agent_number == "820"
    assert (cdr.cause, cdr.cause_text, cdr.last_key, cdr.outcome) == (16, "Normal Clearing", "1", "connected")
    assert cdr.get_cause_display() == "正常挂断 (16)"


def test_unanswered_call_rings_until_it_ends(ent):
    cdr = call(ent["enterprise"], talk=None, ring=25, cause=19)
    assert (cdr.ring_seconds, cdr.talk_seconds, cdr.answered_at) == (25, 0, None)
    assert cdr.cause_text == "User alerting, no answer"


def test_open_is_idempotent_and_close_of_an_unknown_call_is_skipped(ent):
    e = ent["enterprise"]
    services.cdr_open(enterprise_id=e.pk, call_id="dup", direction="in", started_at=T0, caller="1")
    again = services.cdr_open(enterprise_id=e.pk, call_id="dup", direction="in", started_at=T0 + timedelta(hours=1),
                              caller="2")
    assert again.caller == "1" and Cdr.objects.filter(call_id="dup").count() == 1
    assert services.cdr_close(call_id="nope", ended_at=T0) == 0
    assert services.cdr_answer(call_id="nope", answered_at=T0) == 0


def test_refuses_bad_input(ent, other):
    e = ent["enterprise"]
    with pytest.raises(ValueError, match="direction"):
        services.cdr_open(enterprise_id=e.pk, call_id="x", direction="sideways", started_at=T0)
    with pytest.raises(ValueError, match="timezone"):
        services.cdr_open(enterprise_id=e.pk, call_id="x", direction="in", started_at=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="not agents of enterprise"):
        services.cdr_open(enterprise_id=e.pk, call_id="x", direction="in", started_at=T0,
                          agent_id=other["agent"].pk)
    assert not Cdr.objects.filter(call_id="x").exists()
    with pytest.raises(TypeError):
        services.cdr_open(e.pk, "x", "in", T0)  # keyword-only


def test_bulk_writes_take_a_bounded_number_of_queries(ent, django_assert_max_num_queries):
    """Batches, not a query per call (SQLite's parameter limit splits inserts into ~50-row batches)."""
    e, agent = ent["enterprise"], ent["agent"]
    n = 300
    opens = [services.CdrOpen(e.pk, f"b{i}", "out", T0 + timedelta(seconds=i), callee=f"138{i:08d}",
                              agent_id=agent.pk if i % 2 else None) for i in range(n)]
    with django_assert_max_num_queries(12):
        assert services.cdrs_open(rows=opens) == n
    with django_assert_max_num_queries(12):
        services.cdrs_answer(rows=[services.CdrAnswer(f"b{i}", T0 + timedelta(seconds=i + 3), agent_id=agent.pk)
                                   for i in range(n)])
    with django_assert_max_num_queries(12):
        services.cdrs_close(rows=[services.CdrClose(f"b{i}", T0 + timedelta(seconds=i + 33)) for i in range(n)])
    assert Cdr.objects.filter(call_id__startswith="b", talk_seconds=30, ring_seconds=3, agent=agent).count() == n


def test_recording_is_attached_to_its_cdr(ent):
    e, agent = ent["enterprise"], ent["agent"]
    cdr = call(e, agent=agent)
    rec = services.recording_add(enterprise_id=e.pk, call_id=cdr.call_id, created_at=T0, agent_id=agent.pk,
                                 url="http://127.0.0.1:8088/recordings/x.wav", duration_seconds=60)
    cdr.refresh_from_db()
    assert cdr.recording == rec and rec.duration_seconds == 60
    with pytest.raises(ValueError, match="neither"):
        services.recording_add(enterprise_id=e.pk, call_id=cdr.call_id, created_at=T0)
    for bad in ("/etc/passwd", "../secret.wav", "recordings/../../x.wav"):
        with pytest.raises(ValueError, match="relative path"):
            services.recording_add(enterprise_id=e.pk, call_id=cdr.call_id, created_at=T0, file=bad)


def test_recording_of_another_enterprise_s_call_is_not_attached(ent, other):
    cdr = call(ent["enterprise"])
    services.recording_add(enterprise_id=other["enterprise"].pk, call_id=cdr.call_id, created_at=T0, url="/r.wav")
    cdr.refresh_from_db()
    assert cdr.recording is None
    assert Recording.objects.filter(enterprise=other["enterprise"]).count() == 1


def test_missed_call_is_remembered_for_each_agent_it_rang(ent):
    e = ent["enterprise"]
    ids = [ent["sub1"].pk, ent["sub2"].pk, ent["sub1"].pk]
    assert services.missed_call_add(enterprise_id=e.pk, call_id="m1", caller="13800138000", at=T0,
                                    rang_agent_ids=ids, group_name="客服组") == 2
    services.missed_call_add(enterprise_id=e.pk, call_id="m1", caller="13800138000", at=T0, rang_agent_ids=ids)
    assert sorted(MissedCall.objects.filter(call_id="m1").values_list("rang_agent__number", flat=True)) == [
        "811", "812"]
    services.missed_call_add(enterprise_id=e.pk, call_id="m2", caller="13900000000", at=T0)
    assert MissedCall.objects.get(call_id="m2").rang_agent is None
    assert services.missed_calls_mark_seen(agent_id=ent["sub1"].pk) == 1
    assert MissedCall.objects.filter(seen=True).count() == 1


def test_agent_state_upsert_keeps_since_when_nothing_changes(ent):
    e, agent = ent["enterprise"], ent["agent"]
    assert services.agent_state_set(enterprise_id=e.pk, agent_id=agent.pk, state="idle", since=T0) == 1
    assert services.agent_state_set(enterprise_id=e.pk, agent_id=agent.pk, state="idle",
                                    since=T0 + timedelta(minutes=5)) == 0
    assert AgentState.objects.get(agent=agent).since == T0
    services.agent_state_set(enterprise_id=e.pk, agent_id=agent.pk, state="busy", since=T0 + timedelta(minutes=6),
                             call_id="c9")
    state = AgentState.objects.get(agent=agent)
    assert (state.state, state.call_id, state.since) == ("busy", "c9", T0 + timedelta(minutes=6))
    rows = [services.AgentStateSet(e.pk, a.pk, "idle", T0) for a in (ent["sub1"], ent["sub2"], agent)]
    assert services.agent_states_set(rows=rows) == 3
    assert AgentState.objects.filter(state="idle").count() == 3
    with pytest.raises(ValueError, match="state"):
        services.agent_state_set(enterprise_id=e.pk, agent_id=agent.pk, state="asleep")


def test_live_channels_upsert_and_remove(ent):
    e, agent = ent["enterprise"], ent["agent"]
    services.live_channel_upsert(enterprise_id=e.pk, channel_id="ch1", kind="trunk", started_at=T0,
                                 name="PJSIP/trunk-00000001", state="Ringing", callee="13800138000")
    services.live_channel_upsert(enterprise_id=e.pk, channel_id="ch1", kind="trunk", started_at=T0 + timedelta(1),
                                 name="PJSIP/trunk-00000001", state="Up", callee="13800138000", agent_id=agent.pk)
    ch = LiveChannel.objects.get(channel_id="ch1")
    assert (ch.state, ch.agent, ch.started_at) == ("Up", agent, T0)  # the start is kept
    services.live_channels_upsert(rows=[services.LiveChannelRow(e.pk, f"q{i}", "queue_wait", T0) for i in range(5)])
    assert services.live_channel_remove(channel_ids=["q0", "q1", "gone"]) == 2
    assert LiveChannel.objects.count() == 4
    assert services.live_channels_clear(enterprise_id=e.pk) == 4
    with pytest.raises(ValueError, match="kind"):
        services.live_channel_upsert(enterprise_id=e.pk, channel_id="x", kind="satellite", started_at=T0)


def test_agent_with_call_records_cannot_be_deleted(ent, as_user):
    agent = ent["agent"]
    call(ent["enterprise"], agent=agent)
    r = as_user(ent["admin"]).post(f"/accounts/agents/{agent.pk}/delete/")
    assert r.status_code == 409
    assert "通话记录 1" in r.content.decode()
