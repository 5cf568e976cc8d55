"""Call control's batched writes (callctl/writes.py): merged into bulk statements, they leave
the same rows as running the writes one by one, in far fewer queries, and a bad write costs
only itself."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callcenter.calls import services as calls
from callcenter.calls.models import AgentState, Cdr, LiveChannel, MissedCall, Recording
from callcenter.pbx.callctl import dbconfig, writes
from callcenter.telephony.models import AgentGroup
from tests.conftest import make_agent, make_enterprise

T0 = timezone.now().replace(microsecond=0)


def _calls(e, agents, group, prefix: str, n: int) -> list[tuple]:
    """The writes of `n` calls as call control queues them, interleaved as concurrent calls are,
    plus the awkward orders: a CDR answered after it was closed, a channel removed then upserted."""
    batch: list[tuple] = []

    def w(func, *args, **kwargs):
        batch.append((func, args, kwargs))

    for i in range(n):
        key, leg, agent = f"{prefix}{i}", f"{prefix}leg{i}", agents[i % len(agents)]
        t = T0 + timedelta(seconds=i)
        w(calls.cdr_open, enterprise_id=e.pk, call_id=key, direction="in", started_at=t, caller=f"1390000{i:04d}",
          callee="4008001234", did="4008001234")
        w(calls.live_channel_upsert, enterprise_id=e.pk, channel_id=key, kind="trunk", started_at=t, state="Up")
        w(calls.agent_state_set, enterprise_id=e.pk, agent_id=agent.pk, state="ringing", since=t, call_id=key)
        w(calls.live_channel_upsert, enterprise_id=e.pk, channel_id=leg, kind="extension", started_at=t,
          state="Ringing", agent_id=agent.pk)
    for i in range(n):
        key, leg, agent = f"{prefix}{i}", f"{prefix}leg{i}", agents[i % len(agents)]
        t = T0 + timedelta(seconds=10 + i)
        if i % 3 == 2:  # nobody answered
            w(calls.live_channel_remove, channel_ids=[leg])
            w(calls.agent_state_set, enterprise_id=e.pk, agent_id=agent.pk, state="idle", since=t)
            w(calls.cdr_close, call_id=key, ended_at=t, cause=19, outcome="no_answer")
            w(calls.missed_call_add, enterprise_id=e.pk, call_id=key, caller=f"1390000{i:04d}", at=t,
              rang_agent_ids=[agent.pk])
            w(calls.live_channel_remove, channel_ids=[key])
            continue
        w(calls.cdr_answer, call_id=key, answered_at=t, agent_id=agent.pk, group_name=group.name)
        w(calls.agent_state_set, enterprise_id=e.pk, agent_id=agent.pk, state="busy", since=t, call_id=key)
        w(calls.live_channel_upsert, enterprise_id=e.pk, channel_id=leg, kind="extension", started_at=t,
          state="Up", agent_id=agent.pk)
        w(dbconfig.remember_group_agent, group.pk, agent.pk)
        w(calls.recording_add, enterprise_id=e.pk, call_id=key, created_at=t, agent_id=agent.pk, url=f"ari:{key}")
        w(calls.cdr_close, call_id=key, ended_at=t + timedelta(seconds=30), cause=16, last_key="1")
        w(calls.live_channel_remove, channel_ids=[key, leg])
    # A late answer after the close, and a channel seen again after its removal.
    w(calls.cdr_answer, call_id=f"{prefix}2", answered_at=T0 + timedelta(seconds=40), agent_id=agents[0].pk)
    w(calls.live_channel_upsert, enterprise_id=e.pk, channel_id=f"{prefix}1", kind="trunk", started_at=T0,
      state="Up")
    return batch


def _state(e, prefix: str) -> dict:
    cdrs = {c["call_id"].removeprefix(prefix): {k: v for k, v in c.items()
                                                if k not in ("id", "call_id", "recording_id")}
            for c in Cdr.objects.filter(enterprise=e, call_id__startswith=prefix).values()}
    return {
        "cdrs": cdrs,
        "recorded": sorted(Cdr.objects.filter(enterprise=e, call_id__startswith=prefix, recording__isnull=False)
                           .values_list("call_id", flat=True)),
        "recordings": sorted(r.removeprefix(prefix) for r in Recording.objects.filter(
            enterprise=e, call_id__startswith=prefix).values_list("call_id", flat=True)),
        "channels": sorted((c.removeprefix(prefix), s) for c, s in LiveChannel.objects.filter(
            enterprise=e, channel_id__startswith=prefix).values_list("channel_id", "state")),
        "states": sorted((n, s, c.removeprefix(prefix)) for n, s, c in AgentState.objects.filter(enterprise=e)
                         .values_list("agent__number", "state", "call_id")),
        "missed": sorted(m.removeprefix(prefix) for m in MissedCall.objects.filter(
            enterprise=e, call_id__startswith=prefix).values_list("call_id", flat=True)),
        "group_last": AgentGroup.objects.get(enterprise=e).last_agent_id,
    }


def _one_by_one(batch) -> None:
    for func, args, kwargs in batch:
        func(*args, **kwargs)


@pytest.mark.django_db
def test_merged_writes_leave_the_rows_that_one_by_one_writes_leave():
    e = make_enterprise("wr").enterprise
    agents = [make_agent(e, n) for n in ("801", "802", "803", "804")]
    group = AgentGroup.objects.create(enterprise=e, name="一组")
    with CaptureQueriesContext(connection) as sequential:
        _one_by_one(_calls(e, agents, group, "seq-", 9))
    expected = _state(e, "seq-")
    for model in (AgentState, LiveChannel):
        model.objects.filter(enterprise=e).delete()
    AgentGroup.objects.filter(pk=group.pk).update(last_agent=None)

    batch = _calls(e, agents, group, "bat-", 9)
    with CaptureQueriesContext(connection) as merged:
        writes.run_writes(batch)
    got = _state(e, "bat-")
    assert got["cdrs"] == expected["cdrs"]
    assert len(got["recorded"]) == len(expected["recorded"]) == 6
    for key in ("recordings", "channels", "states", "missed", "group_last"):
        assert got[key] == expected[key], key
    assert len(batch) == 95
    print(f"{len(batch)} writes: {len(sequential)} queries one by one, {len(merged)} merged")
    assert len(merged) * 4 < len(sequential), (len(merged), len(sequential))


@pytest.mark.django_db
def test_a_bad_write_is_skipped_and_the_rest_of_its_kind_lands(caplog):
    e = make_enterprise("wr2").enterprise
    other = make_enterprise("wr3").enterprise
    mine, theirs = make_agent(e, "801"), make_agent(other, "801")
    now = timezone.now()
    batch = [
        (calls.agent_state_set, (), {"enterprise_id": e.pk, "agent_id": mine.pk, "state": "busy", "since": now}),
        # another enterprise's agent: refused by calls.services
        (calls.agent_state_set, (), {"enterprise_id": e.pk, "agent_id": theirs.pk, "state": "busy", "since": now}),
        (calls.cdr_open, (), {"enterprise_id": e.pk, "call_id": "ok-1", "direction": "in", "started_at": now}),
    ]
    writes.run_writes(batch)
    assert AgentState.objects.get(agent=mine).state == "busy"
    assert not AgentState.objects.filter(agent=theirs).exists()
    assert Cdr.objects.filter(call_id="ok-1").exists()
    assert "failed" in caplog.text


@pytest.mark.django_db
def test_other_writes_keep_their_place():
    """A write that is not merged (here the test-dial event log) runs where it was queued:
    after the writes before it, before those after it."""
    from callcenter.pbx.callctl.service import add_event
    from callcenter.pbx.models import CallEvent

    e = make_enterprise("wr4").enterprise
    now = timezone.now()
    seen = []

    def probe():
        seen.append(Cdr.objects.filter(call_id="pl-1").values_list("answered_at", flat=True).first())

    batch = [
        (calls.cdr_open, (), {"enterprise_id": e.pk, "call_id": "pl-1", "direction": "in", "started_at": now}),
        (probe, (), {}),
        (calls.cdr_answer, (), {"call_id": "pl-1", "answered_at": now}),
        (add_event, (e.pk, None, "pl-1", "answered", "", now), {}),
        (probe, (), {}),
    ]
    writes.run_writes(batch)
    assert seen == [None, now]
    assert CallEvent.objects.filter(call_id="pl-1").count() == 1
