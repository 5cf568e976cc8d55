"""The dialer's database side (claims.py) and its pure rules (rules.py): leases, claims, retries,
windows, the caps of the pacing loop, scheduled start and auto-end, against the real database."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.utils import timezone

from callcenter.calls.models import AgentState
from callcenter.campaigns.dialer import claims, rules
from callcenter.campaigns.models import Attempt, DialerLease, Task, TaskNumber
from callcenter.telephony.models import BlacklistEntry
from tests.campaigns.dialer_kit import campaign, make_numbers

PHONES = [f"1390000{i:04d}" for i in range(10)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


def _lease(c, holder="me", seconds=30):
    assert claims.lease_acquire(c["enterprise"].pk, holder, seconds)


# --- rules ---------------------------------------------------------------------------------------------


def test_results_from_causes_and_outcomes():
    assert rules.result_for_cause(17) == "busy"
    assert rules.result_for_cause(34) == "congestion"
    assert rules.result_for_cause(19) == rules.result_for_cause(16) == "no_answer"
    assert rules.result_for_cause(1) == rules.result_for_cause(None) == "failed"
    assert rules.result_for_answered("connected", transfer_asked=True, connected=True) == "transferred"
    assert rules.result_for_answered("played", transfer_asked=False, connected=False) == "answered"
    assert rules.result_for_answered("transfer_failed", transfer_asked=True, connected=False) == "abandoned"
    assert rules.result_for_answered("hung_up_in_transfer", transfer_asked=True, connected=False) == "abandoned"
    assert rules.result_for_answered("hung_up_in_prompt", transfer_asked=False, connected=False) == "answered"


def test_retries_follow_the_flow():
    # 重呼次数 2: a failed number is tried at most 3 times in a round.
    assert rules.should_retry("busy", 1, 2) and rules.should_retry("no_answer", 2, 2)
    assert not rules.should_retry("busy", 3, 2)
    assert not rules.should_retry("busy", 1, 0)
    assert not rules.should_retry("transferred", 1, 2) and not rules.should_retry("blacklisted", 1, 2)


def test_windows_are_local_times_of_the_enterprise():
    shanghai = ZoneInfo("Asia/Shanghai")
    windows = [(time(9), time(12)), (time(14), time(18))]
    at = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai, 01:30 UTC
    assert rules.in_windows(at, windows, shanghai)
    assert not rules.in_windows(at, windows, ZoneInfo("UTC"))
    assert not rules.in_windows(datetime(2026, 3, 2, 4, 0, tzinfo=UTC), windows, shanghai)  # 12:00: the end is out
    assert rules.in_windows(datetime(2026, 3, 2, 6, 0, tzinfo=UTC), windows, shanghai)  # 14:00
    assert rules.in_windows(at, [], shanghai)  # no windows: any time
    assert rules.channel_id(42) == "cc-task-42" and rules.attempt_of_channel("cc-task-42") == 42
    assert rules.attempt_of_channel("cc-agent-1") is None


# --- leases ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_one_lease_per_enterprise_taken_over_only_when_expired_or_released():
    c = campaign("lease")
    e = c["enterprise"].pk
    assert claims.lease_acquire(e, "a", 30)
    assert not claims.lease_acquire(e, "b", 30)
    assert claims.lease_acquire(e, "a", 30)  # renewal
    DialerLease.objects.filter(enterprise_id=e).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert claims.lease_acquire(e, "b", 30)  # a crashed: its lease expired
    assert not claims.lease_acquire(e, "a", 30)
    assert DialerLease.objects.get(enterprise_id=e).holder == "b"
    assert claims.lease_release([e], "b") == 1
    assert claims.lease_acquire(e, "a", 30)  # a clean stop hands over at once


@pytest.mark.django_db
def test_no_claim_without_the_lease():
    c = campaign("nolease", phones=PHONES[:3])
    assert claims.claim(c["enterprise"].pk, c["task"].pk, 3, "me") == []
    _lease(c, "other")
    assert claims.claim(c["enterprise"].pk, c["task"].pk, 3, "me") == []
    assert not Attempt.objects.exists()


# --- claims ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_claim_commits_an_attempt_per_number_before_anything_is_dialled():
    c = campaign("claim", phones=PHONES[:5])
    _lease(c)
    got = claims.claim(c["enterprise"].pk, c["task"].pk, 3, "me")
    assert [g.phone for g in got] == PHONES[:3]
    for g in got:
        attempt = Attempt.objects.get(pk=g.attempt_id)
        assert (attempt.status, attempt.round, attempt.seq, attempt.call_id) == ("dialing", 1, 1, "")
        number = TaskNumber.objects.get(pk=g.number_id)
        assert (number.status, number.attempts, number.call_id) == ("dialing", 1, rules.channel_id(g.attempt_id))
        assert number.last_attempt_at is not None
    assert TaskNumber.objects.filter(task=c["task"], status="pending").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("status,submitted", [("paused", True), ("paused", False), ("scheduled", True),
                                              ("ended", True), ("importing", False)])
def test_only_running_submitted_tasks_are_claimed(status, submitted):
    c = campaign("state", phones=PHONES[:2], status=status, submitted=submitted)
    _lease(c)
    assert claims.claim(c["enterprise"].pk, c["task"].pk, 2, "me") == []


@pytest.mark.django_db
def test_due_retries_come_first_and_retries_not_due_wait():
    c = campaign("order", phones=PHONES[:2])
    task = c["task"]
    now = timezone.now()
    make_numbers(task, ["13700000001"], status="retry")
    make_numbers(task, ["13700000002"], status="retry")
    TaskNumber.objects.filter(phone="13700000001").update(next_attempt_at=now - timedelta(seconds=5), attempts=1)
    TaskNumber.objects.filter(phone="13700000002").update(next_attempt_at=now + timedelta(hours=1), attempts=1)
    _lease(c)
    got = claims.claim(c["enterprise"].pk, task.pk, 10, "me")
    assert [g.phone for g in got] == ["13700000001", *PHONES[:2]]
    assert got[0].seq == 2  # the second try of that number in this round
    assert TaskNumber.objects.get(phone="13700000002").status == "retry"


@pytest.mark.django_db
def test_blacklist_and_called_today_are_checked_again_at_claim():
    c = campaign("recheck", phones=PHONES[:4])
    e = c["enterprise"]
    BlacklistEntry.objects.create(enterprise=e, number=PHONES[0], direction="out")
    BlacklistEntry.objects.create(enterprise=e, number=PHONES[3], direction="in")  # inbound only: still dialled
    other = Task.objects.create(enterprise=e, name="另一个任务", flow=c["flow"], category=c["category"],
                                status="ended", submitted=True)
    make_numbers(other, [PHONES[1]], status="done")
    TaskNumber.objects.filter(task=other).update(last_attempt_at=timezone.now())
    _lease(c)
    got = claims.claim(e.pk, c["task"].pk, 4, "me")
    assert sorted(g.phone for g in got) == [PHONES[2], PHONES[3]]
    assert TaskNumber.objects.get(task=c["task"], phone=PHONES[0]).result == "blacklisted"
    assert TaskNumber.objects.get(task=c["task"], phone=PHONES[1]).result == "called_today"
    assert TaskNumber.objects.filter(task=c["task"], result__in=["blacklisted", "called_today"],
                                     status="done", attempts=0).count() == 2
    assert Attempt.objects.count() == 2  # blacklisted numbers are never dialled


@pytest.mark.django_db
def test_a_task_that_recalls_numbers_called_today_dials_them():
    c = campaign("recall", phones=PHONES[:1])
    Task.objects.filter(pk=c["task"].pk).update(recall_called_today=True)
    other = Task.objects.create(enterprise=c["enterprise"], name="另一个任务", flow=c["flow"], category=c["category"],
                                status="ended", submitted=True)
    make_numbers(other, [PHONES[0]], status="done")
    TaskNumber.objects.filter(task=other).update(last_attempt_at=timezone.now())
    _lease(c)
    assert [g.phone for g in claims.claim(c["enterprise"].pk, c["task"].pk, 1, "me")] == [PHONES[0]]


@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_never_take_a_number_twice():
    c = campaign("race", phones=[f"1380000{i:04d}" for i in range(40)])
    _lease(c)
    got: list = []
    errors: list = []

    def worker():
        try:
            for _ in range(5):
                got.extend(claims.claim(c["enterprise"].pk, c["task"].pk, 3, "me"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    numbers = [g.number_id for g in got]
    assert len(numbers) == len(set(numbers)) == Attempt.objects.count() == 40


# --- after the claim -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_void_gives_the_number_back_and_mark_sent_refuses_a_voided_attempt():
    c = campaign("void", phones=PHONES[:1])
    _lease(c)
    (g,) = claims.claim(c["enterprise"].pk, c["task"].pk, 1, "me")
    assert claims.void(g.attempt_id)
    number = TaskNumber.objects.get(pk=g.number_id)
    assert (number.status, number.attempts, number.call_id) == ("pending", 0, "")
    assert not Attempt.objects.exists()
    assert not claims.mark_sent(g.attempt_id, rules.channel_id(g.attempt_id), "me")
    (g2,) = claims.claim(c["enterprise"].pk, c["task"].pk, 1, "me")
    assert claims.mark_sent(g2.attempt_id, rules.channel_id(g2.attempt_id), "me")
    assert not claims.void(g2.attempt_id)  # sent: it may have been dialled, so it stays
    assert Attempt.objects.get(pk=g2.attempt_id).call_id == rules.channel_id(g2.attempt_id)


@pytest.mark.django_db
def test_mark_sent_needs_the_lease():
    c = campaign("fence", phones=PHONES[:1])
    _lease(c, "me")
    (g,) = claims.claim(c["enterprise"].pk, c["task"].pk, 1, "me")
    DialerLease.objects.filter(enterprise=c["enterprise"]).update(holder="someone-else")
    assert not claims.mark_sent(g.attempt_id, rules.channel_id(g.attempt_id), "me")


def _sent(c, n=1):
    got = claims.claim(c["enterprise"].pk, c["task"].pk, n, "me")
    for g in got:
        assert claims.mark_sent(g.attempt_id, rules.channel_id(g.attempt_id), "me")
    return got


@pytest.mark.django_db
def test_finish_retries_failed_numbers_after_the_flow_delay_then_gives_up():
    c = campaign("retry", phones=PHONES[:1], retries=1, retry_delay=300)
    _lease(c)
    (g,) = _sent(c)
    ended = timezone.now()
    assert claims.finish(claims.AttemptEnd(g.attempt_id, "busy", ended, cause=17)) == "retry"
    number = TaskNumber.objects.get(pk=g.number_id)
    assert number.result == "busy" and number.next_attempt_at == ended + timedelta(seconds=300)
    assert claims.finish(claims.AttemptEnd(g.attempt_id, "busy", ended, cause=17)) is None  # once only
    TaskNumber.objects.filter(pk=g.number_id).update(next_attempt_at=timezone.now())
    (g2,) = _sent(c)
    assert g2.seq == 2
    assert claims.finish(claims.AttemptEnd(g2.attempt_id, "no_answer", timezone.now(), cause=19)) == "done"
    number.refresh_from_db()
    assert (number.status, number.result, number.attempts) == ("done", "no_answer", 2)
    assert list(Attempt.objects.order_by("seq").values_list("result", flat=True)) == ["busy", "no_answer"]


@pytest.mark.django_db
def test_answered_calls_are_done_with_agent_and_talk_time():
    c = campaign("talk", phones=PHONES[:1], retries=3)
    _lease(c)
    (g,) = _sent(c)
    now = timezone.now()
    agent = c["agents"][1]
    assert claims.finish(claims.AttemptEnd(g.attempt_id, "transferred", now, answered_at=now - timedelta(seconds=70),
                                           agent_id=agent.pk, talk_seconds=61)) == "done"
    number = TaskNumber.objects.get(pk=g.number_id)
    attempt = Attempt.objects.get(pk=g.attempt_id)
    assert (number.result, number.agent_id, number.talk_seconds) == ("transferred", agent.pk, 61)
    assert (attempt.status, attempt.agent_id, attempt.talk_seconds) == ("done", agent.pk, 61)


@pytest.mark.django_db
def test_an_ended_task_does_not_retry_and_a_late_result_does_not_touch_a_new_round():
    c = campaign("ended", phones=PHONES[:2], retries=2)
    _lease(c)
    g1, g2 = _sent(c, 2)
    Task.objects.filter(pk=c["task"].pk).update(status="ended")
    assert claims.finish(claims.AttemptEnd(g1.attempt_id, "busy", timezone.now(), cause=17)) == "done"
    # 重新发送 started round 2 while g2's call was still up: its result stays in its attempt only.
    Task.objects.filter(pk=c["task"].pk).update(status="running", round=2)
    TaskNumber.objects.filter(pk=g2.number_id).update(status="pending", attempts=0, result="")
    assert claims.finish(claims.AttemptEnd(g2.attempt_id, "busy", timezone.now(), cause=17)) is None
    assert TaskNumber.objects.get(pk=g2.number_id).status == "pending"
    assert Attempt.objects.get(pk=g2.attempt_id).result == "busy"


@pytest.mark.django_db
def test_scheduled_tasks_start_at_their_time_and_finished_tasks_end():
    now = timezone.now()
    c = campaign("life", phones=PHONES[:1], status="scheduled", start_at=now - timedelta(seconds=1))
    later = campaign("later", phones=PHONES[:1], status="scheduled", start_at=now + timedelta(hours=1))
    assert claims.start_due_tasks(c["enterprise"].pk) == [c["task"].pk]
    assert claims.start_due_tasks(later["enterprise"].pk) == []
    task = Task.objects.get(pk=c["task"].pk)
    assert task.status == "running" and task.started_at is not None
    assert claims.end_finished_tasks(c["enterprise"].pk) == []  # a number is pending
    TaskNumber.objects.filter(task=task).update(status="retry", next_attempt_at=now + timedelta(hours=1))
    assert claims.end_finished_tasks(c["enterprise"].pk) == []  # a retry is still to come
    TaskNumber.objects.filter(task=task).update(status="done", result="busy")
    assert claims.end_finished_tasks(c["enterprise"].pk) == [task.pk]
    task.refresh_from_db()
    assert (task.status, task.end_reason) == ("ended", "completed")


# --- the pacing loop's caps ------------------------------------------------------------------------------


class _Control:
    def __init__(self):
        self.busy_agents: set[int] = set()
        self.time_scale = 1.0
        self.calls: dict = {}
        self.stopping = asyncio.Event()
        self.ari = None

    def overload(self) -> str:  # call control's admission control: never overloaded here
        return ""


def _paced(c, *, busy: int = 0) -> list:
    """One pacing tick of the dialer over the database, originations recorded instead of sent."""
    from callcenter.campaigns.dialer.service import Dialer, DialerCall
    from callcenter.pbx.callctl.service import db

    class Recording(Dialer):
        async def originate(self, claimed, code, flow_id, trunk):
            self.sent.append(claimed)

    async def tick():
        dialer = Recording(_Control(), holder="me")
        dialer.sent = []
        for i in range(busy):  # calls of this dialer already up
            dialer.calls[f"x{i}"] = DialerCall(0, c["task"].pk, 0, c["enterprise"].pk, c["flow"].pk, "",
                                               trunk_id=c["trunk"].pk)
        try:
            plan = await db(claims.plan)(c["enterprise"].pk)
            await dialer.pace(plan)
            await asyncio.sleep(0.01)  # the originations it started
            return dialer.sent
        finally:
            await db(connections.close_all)()  # the database thread's connection

    _lease(c)
    return asyncio.run(tick())


@pytest.mark.django_db(transaction=True)
def test_lines_follow_the_ratio_and_extra_lines():
    c = campaign("ratio", phones=PHONES, agents=3, ratio=200, extra=1)
    assert len(_paced(c)) == 3 * 2 + 1


@pytest.mark.django_db(transaction=True)
def test_no_lines_for_busy_agents_but_extra_lines_stay():
    c = campaign("busy", phones=PHONES, agents=2, ratio=300, extra=2, idle=False)
    assert len(_paced(c)) == 2


@pytest.mark.django_db(transaction=True)
def test_lines_never_exceed_the_reserved_group_lines():
    c = campaign("trunk", phones=PHONES, agents=3, ratio=300, reserved=4, concurrent=10)
    assert len(_paced(c)) == 4
    c2 = campaign("trunk2", phones=PHONES, agents=3, ratio=300, reserved=4, concurrent=10)
    assert len(_paced(c2, busy=3)) == 1  # three of the four are up already


@pytest.mark.django_db(transaction=True)
def test_lines_never_exceed_the_calls_per_second_limit():
    c = campaign("cps", phones=PHONES, agents=5, ratio=200, cps=3)
    assert len(_paced(c)) == 3


@pytest.mark.django_db(transaction=True)
def test_the_interval_after_a_call_holds_lines_back():
    c = campaign("intv", phones=PHONES, agents=2, ratio=100, interval_seconds=30, idle=False)
    now = timezone.now()
    AgentState.objects.create(enterprise=c["enterprise"], agent=c["agents"][0], state="idle",
                              since=now - timedelta(seconds=5))  # hung up 5 s ago: not ready yet
    AgentState.objects.create(enterprise=c["enterprise"], agent=c["agents"][1], state="idle",
                              since=now - timedelta(seconds=60))
    assert len(_paced(c)) == 1


@pytest.mark.django_db(transaction=True)
def test_nothing_is_dialled_outside_the_windows():
    local = timezone.now().astimezone(ZoneInfo("Asia/Shanghai"))
    hour = local.hour
    outside = [(f"{(hour + 2) % 24:02d}:00", f"{(hour + 2) % 24:02d}:30")]
    inside = [(f"{hour:02d}:00", "23:59" if hour == 23 else f"{hour + 1:02d}:00")]
    c = campaign("out", phones=PHONES, agents=2, windows=outside)
    assert _paced(c) == []
    c2 = campaign("in", phones=PHONES, agents=2, windows=inside)
    assert len(_paced(c2)) == 2
