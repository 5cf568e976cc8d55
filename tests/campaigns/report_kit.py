"""Fixtures of the result-screen tests (T5 明细, T6 进度, T8 坐席任务明细, their API): tasks with
numbers, attempts and call records written directly, the way intake and the dialer write them
(the dialer is built in parallel; these tests must not depend on it). Imported by the test
modules (`from tests.campaigns.report_kit import *`)."""

from __future__ import annotations

import io
import math
import struct
import wave
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone

__all__ = ["REPORT_PERMS", "attempt", "make_report_task", "report_perms", "reports", "wav_bytes", "_report_files"]

REPORT_PERMS = {
    "班长": ["campaigns.view_task", "campaigns.view_tasknumber", "campaigns.export_tasknumber", "calls.view_cdr",
           "calls.export_cdr", "calls.view_agentstate", "calls.view_qualityreview", "calls.add_qualityreview",
           "calls.change_qualityreview", "calls.export_qualityreview"],
    "坐席": ["campaigns.view_task", "campaigns.view_tasknumber", "calls.view_cdr", "calls.view_qualityreview"],
}


@pytest.fixture(autouse=True)
def _report_files(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


@pytest.fixture
def report_perms(ent):
    """The roles' permissions of these screens, whatever the default roles hold at the time."""
    from callcenter.accounts.models import Role

    for role, names in REPORT_PERMS.items():
        perms = [Permission.objects.get(content_type__app_label=n.split(".")[0], codename=n.split(".")[1])
                 for n in names]
        Role.objects.get(enterprise=ent["enterprise"], name=role).permissions.add(*perms)


def wav_bytes(seconds: float = 1.0, rate: int = 8000) -> bytes:
    """A real 8 kHz 16-bit mono WAV: a 440 Hz tone."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        frames = b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
                          for i in range(int(seconds * rate)))
        w.writeframes(frames)
    return buf.getvalue()


def make_report_task(enterprise, flow, category, *, name="回访任务", created_by=None, status="running",
                     submitted=True, phones=(), started=None):
    from callcenter.campaigns.models import Task, TaskNumber

    task = Task.objects.create(enterprise=enterprise, name=name, flow=flow, category=category, status=status,
                               submitted=submitted, created_by=created_by, numbers_total=len(phones),
                               started_at=started)
    TaskNumber.objects.bulk_create([TaskNumber(enterprise=enterprise, task=task, phone=p, line_no=i + 1)
                                    for i, p in enumerate(phones)])
    return task


_seq = iter(range(1, 10**9))


def attempt(number, *, result="", status="done", agent=None, at=None, talk=0, seq=None, round_=1,
            recording: bytes | None = None, cdr=True, number_status=None):
    """One attempt of `number` as the dialer writes it, with its call record (and recording) as
    call control writes them; the number takes the attempt's result."""
    from callcenter.calls import services as calls
    from callcenter.campaigns.models import Attempt, TaskNumber

    at = at or timezone.now() - timedelta(minutes=30)
    n = next(_seq)
    call_id = f"camp-{n}"
    seq = seq or Attempt.objects.filter(number=number, round=round_).count() + 1
    answered = result in ("transferred", "answered", "abandoned")
    ended = at + timedelta(seconds=5 + talk) if status == "done" else None
    a = Attempt.objects.create(enterprise_id=number.enterprise_id, task_id=number.task_id, number=number,
                               round=round_, seq=seq, status=status, result=result, call_id=call_id, created_at=at,
                               answered_at=at + timedelta(seconds=5) if answered else None, ended_at=ended,
                               agent=agent, talk_seconds=talk)
    if cdr:
        calls.cdr_open(enterprise_id=number.enterprise_id, call_id=call_id, direction="out", started_at=at,
                       caller="02088880000", callee=number.phone, task_id=number.task_id, attempt_id=a.pk)
        if answered:
            calls.cdr_answer(call_id=call_id, answered_at=at + timedelta(seconds=5),
                             agent_id=agent.pk if agent is not None and result == "transferred" else None)
        if status == "done":
            cause = {"busy": 17, "no_answer": 19, "congestion": 34, "failed": 38}.get(result, 16)
            calls.cdr_close(call_id=call_id, ended_at=ended, cause=cause)
        if recording is not None:
            from django.conf import settings

            rel = f"recordings/test/{call_id}.wav"
            path = settings.MEDIA_ROOT / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(recording)
            calls.recording_add(enterprise_id=number.enterprise_id, call_id=call_id, created_at=ended or at,
                                agent_id=agent.pk if agent is not None else None, file=rel, duration_seconds=talk)
    fields = {"attempts": seq if round_ == number.task.round else number.attempts, "last_attempt_at": at,
              "call_id": call_id, "result": result if status == "done" else "",
              "status": number_status or ("dialing" if status == "dialing" else "done"),
              "agent": agent, "talk_seconds": talk}
    TaskNumber.objects.filter(pk=number.pk).update(**fields)
    number.refresh_from_db()
    return a


@pytest.fixture
def reports(ent, other, report_perms):
    """Enterprise A: task T (created by supervisor 810, running) with ten numbers in every state;
    task U (created by the administrator, ended) with two; enterprise B: its own task.

    T's numbers (line: phone -> what happened):
      1 13800000001 transferred to 811, 60 s, recorded     6 13800000006 pending
      2 13800000002 abandoned (answered, no agent)           7 13800000007 blacklisted at claim
      3 13800000003 no answer x3 (failed after retries)      8 13800000008 answered, play-only flow
      4 13800000004 busy, waiting for a retry               9 13800000009 transferred to 820, 30 s, recorded
      5 13800000005 being dialled now (a line in use)       10 13800000010 transferred to 812, 90 s
    U's: 13900000001 transferred to 811 a day earlier; 13900000002 cancelled by the end.
    """
    from callcenter.crm import services as crm
    from callcenter.telephony import services as tel

    e = ent["enterprise"]
    group = tel.group_create(enterprise=e, values={"name": "外呼组"}, members=[ent["sub1"], ent["sub2"]])
    flow = tel.callflow_create(enterprise=e, values={"name": "回访流程", "transfer_mode": "direct",
                                                     "agent_group": group})
    cat = crm.category_create(enterprise=e, name="回访客户")
    now = timezone.now()
    t0 = now - timedelta(hours=1)
    task = make_report_task(e, flow, cat, name="春季回访", created_by=ent["supervisor"], started=t0,
                            phones=[f"138000000{i:02d}" for i in range(1, 11)])
    nums = {n.line_no: n for n in task.numbers.all()}
    wav = wav_bytes()
    made = {
        "rec1": attempt(nums[1], result="transferred", agent=ent["sub1"], at=t0, talk=60, recording=wav),
        "ab": attempt(nums[2], result="abandoned", at=t0 + timedelta(minutes=1)),
    }
    for k in range(3):
        attempt(nums[3], result="no_answer", at=t0 + timedelta(minutes=2 + 10 * k))
    attempt(nums[4], result="busy", at=t0 + timedelta(minutes=3), number_status="retry")
    attempt(nums[5], status="dialing", at=now - timedelta(seconds=20))
    from callcenter.campaigns.models import TaskNumber

    # skipped when claimed: no attempt, never dialled
    TaskNumber.objects.filter(pk=nums[7].pk).update(status="done", result="blacklisted")
    attempt(nums[8], result="answered", at=t0 + timedelta(minutes=5), talk=20)
    made["rec9"] = attempt(nums[9], result="transferred", agent=ent["agent"], at=t0 + timedelta(minutes=6),
                           talk=30, recording=wav)
    attempt(nums[10], result="transferred", agent=ent["sub2"], at=t0 + timedelta(minutes=7), talk=90)
    ended = make_report_task(e, flow, cat, name="老客户回访", created_by=ent["admin"], status="ended",
                             phones=["13900000001", "13900000002"], started=t0 - timedelta(days=1))
    enums = list(ended.numbers.order_by("line_no"))
    attempt(enums[0], result="transferred", agent=ent["sub1"], at=t0 - timedelta(days=1), talk=45)
    TaskNumber.objects.filter(pk=enums[1].pk).update(status="done", result="cancelled")
    Task = type(task)
    Task.objects.filter(pk=ended.pk).update(ended_at=t0, end_reason="manual")

    b = other["enterprise"]
    b_group = tel.group_create(enterprise=b, values={"name": "B组"}, members=[other["agent"]])
    b_flow = tel.callflow_create(enterprise=b, values={"name": "B流程", "transfer_mode": "direct",
                                                       "agent_group": b_group})
    b_cat = crm.category_create(enterprise=b, name="B分类")
    b_task = make_report_task(b, b_flow, b_cat, name="B任务", created_by=other["admin"], phones=["13700000001"])
    attempt(b_task.numbers.get(), result="transferred", agent=other["agent"], talk=10, recording=wav)
    return {**ent, "other": other, "task": task, "ended": ended, "b_task": b_task, "nums": nums, "flow": flow,
            "cat": cat, **made}
