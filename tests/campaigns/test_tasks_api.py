"""The `tasks` REST resource: create with a number list or a file (201, or 202 when the worker takes
it in), list and filter, PATCH name and start time, the actions (submit, pause, resume, end,
resend, windows) and the dropped lines; a state that does not fit is 409 with the reason and
changes nothing; permissions, enterprise and scope boundaries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from callcenter.accounts.api_auth import token_create
from callcenter.campaigns import services
from callcenter.campaigns.choices import NumberStatus, TaskStatus
from callcenter.campaigns.models import Task, TaskNumber
from tests.campaigns.kit import *  # noqa: F403 - fixtures
from tests.campaigns.kit import make_task

API = "/api/v1/tasks/"


def api(agent) -> Client:
    _token, key = token_create(agent=agent, name="test")
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def body(camp, **extra) -> dict:
    return {"name": "接口任务", "flow": camp["flow"].pk, "category": camp["cat"].pk, **extra}


def test_create_from_a_number_list_as_a_draft_and_submit(camp):
    c = api(camp["admin"])
    r = c.post(API, body(camp, numbers=["13800000001", "+86 138 0000 0002", "abc", "13800000001"],
                         windows=[{"start": "09:00", "end": "12:00"}]), content_type="application/json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert (data["status"], data["draft"], data["submitted"], data["numbers_total"]) == ("paused", True, False, 2)
    assert data["windows"] == [{"start": "09:00", "end": "12:00"}]
    assert data["intake"]["dropped"] == {"invalid": 1, "duplicate": 1}
    dropped = c.get(f"{API}{data['id']}/dropped/").json()["results"]
    assert [(d["line_no"], d["reason"]) for d in dropped] == [(3, "invalid"), (4, "duplicate")]
    r = c.post(f"{API}{data['id']}/submit/")
    assert r.status_code == 200 and r.json()["status"] == "running"


def test_create_from_a_file_and_the_file_wins(camp):
    upload = SimpleUploadedFile("n.txt", "１３８０００００００１\r\n13800000002\r\n".encode("gb18030"))
    r = api(camp["admin"]).post(API, {**body(camp), "file": upload, "numbers_text": "13900000009", "submit": "true"})
    assert r.status_code == 201, r.content
    data = r.json()
    assert (data["status"], data["source_name"], data["intake"]["ignored_list"]) == ("running", "n.txt", True)
    assert sorted(TaskNumber.objects.filter(task_id=data["id"]).values_list("phone", flat=True)) == [
        "13800000001", "13800000002"]


@pytest.mark.parametrize(("extra", "field", "words"), [
    ({"numbers": [f"138{n:08d}" for n in range(50_001)]}, "numbers", "最多 50000 个号码"),
    ({"numbers": ["abc", "12"]}, "numbers", "没有有效号码：第 1、2 行"),
    ({}, "numbers", "请提供号码"),
    ({"numbers": ["13800000001"], "windows": [{"start": "10:00", "end": "09:00"}]}, "windows", "须晚于开始时间"),
    ({"numbers": ["13800000001"], "windows": [{"start": "09:00", "end": "11:00"}, {"start": "10:00", "end": "12:00"}]},
     "windows", "重叠"),
    ({"numbers": ["13800000001"], "start_at": "2020-01-01T09:00:00+08:00"}, "start_at", "已经过去"),
])
def test_bad_input_is_400_naming_the_field_and_changes_nothing(camp, extra, field, words):
    r = api(camp["admin"]).post(API, body(camp, **extra), content_type="application/json")
    assert r.status_code == 400, r.content
    assert words in " ".join(r.json()[field])
    assert not Task.objects.exists() and not TaskNumber.objects.exists()


def test_a_binary_file_is_400(camp):
    upload = SimpleUploadedFile("x.bin", bytes(range(256)) * 20)
    r = api(camp["admin"]).post(API, {**body(camp), "file": upload})
    assert r.status_code == 400 and "不是文本文件" in r.json()["file"][0]
    assert not Task.objects.exists()


def test_a_flow_without_agents_is_400(camp):
    from callcenter.telephony import services as tel

    tel.group_set_enabled(group=camp["group"], enabled=False)
    r = api(camp["admin"]).post(API, body(camp, numbers=["13800000001"]), content_type="application/json")
    assert r.status_code == 400 and "已停用" in r.json()["flow"][0]


@pytest.mark.django_db(transaction=True)
def test_a_large_input_is_accepted_for_the_worker(camp, settings, huey_immediate):
    settings.CALLCENTER = {**settings.CALLCENTER, "TASK_INLINE_NUMBERS": 3}
    r = api(camp["admin"]).post(API, body(camp, numbers=[f"1380000000{n}" for n in range(6)], submit=True),
                                content_type="application/json")
    assert r.status_code == 202, r.content
    assert r.json()["status"] in ("importing", "running")  # the immediate worker may have finished already
    task = Task.objects.get(pk=r.json()["id"])
    assert (task.status, task.numbers_total) == (TaskStatus.RUNNING, 6)


def test_list_filters_scope_and_enterprise(camp):
    make_task(camp, name="五月回访")
    make_task(camp, name="草稿", submit=False, user=camp["supervisor"])
    rows = api(camp["admin"]).get(API, {"status": "draft"}).json()["results"]
    assert [t["name"] for t in rows] == ["草稿"]
    assert [t["name"] for t in api(camp["admin"]).get(API, {"name": "五月"}).json()["results"]] == ["五月回访"]
    assert [t["name"] for t in api(camp["supervisor"]).get(API).json()["results"]] == ["草稿"]
    assert api(camp["other"]["admin"]).get(API).json()["results"] == []


def test_actions_and_refusals(camp):
    task = make_task(camp)
    c = api(camp["admin"])
    assert c.post(f"{API}{task.pk}/pause/").json()["status"] == "paused"
    r = c.post(f"{API}{task.pk}/pause/")
    assert r.status_code == 409 and "已暂停，不能暂停发送" in r.json()["status"][0]
    assert c.post(f"{API}{task.pk}/resume/").json()["status"] == "running"
    r = c.post(f"{API}{task.pk}/end/")
    assert r.status_code == 200 and (r.json()["status"], r.json()["numbers"]) == ("ended", 3)
    r = c.post(f"{API}{task.pk}/resume/")
    assert r.status_code == 409 and "可用【重新发送】" in r.json()["status"][0]
    assert Task.objects.get(pk=task.pk).status == TaskStatus.ENDED
    r = c.post(f"{API}{task.pk}/resend/", {"rules": ["failed"]}, content_type="application/json")
    assert r.status_code == 400 and "没有符合所选规则的号码" in r.json()["rules"][0]
    r = c.post(f"{API}{task.pk}/resend/", {"rules": ["unanswered"]}, content_type="application/json")
    assert r.status_code == 200 and (r.json()["status"], r.json()["round"], r.json()["numbers"]) == ("running", 2, 3)
    assert set(TaskNumber.objects.filter(task=task).values_list("status", flat=True)) == {NumberStatus.PENDING}


def test_patch_name_and_start_time_and_windows(camp):
    task = make_task(camp, start_at=timezone.now() + timedelta(hours=1))
    c = api(camp["admin"])
    later = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    r = c.patch(f"{API}{task.pk}/", {"name": "新名", "start_at": later.isoformat()}, content_type="application/json")
    assert r.status_code == 200, r.content
    task.refresh_from_db()
    assert (task.name, task.start_at, task.status) == ("新名", later, TaskStatus.SCHEDULED)
    r = c.patch(f"{API}{task.pk}/", {"status": "running"}, content_type="application/json")
    assert r.status_code == 400 and "status" in r.json()
    r = c.post(f"{API}{task.pk}/windows/", {"windows": [{"start": "09:00", "end": "10:00"},
                                                        {"start": "09:30", "end": "11:00"}]},
               content_type="application/json")
    assert r.status_code == 400 and "重叠" in r.json()["windows"][0]
    r = c.post(f"{API}{task.pk}/windows/", {"windows": [{"start": "14:00", "end": "18:00"}]},
               content_type="application/json")
    assert r.status_code == 200 and r.json()["windows"] == [{"start": "14:00", "end": "18:00"}]
    services.task_pause(task=task)
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.RUNNING)
    r = c.patch(f"{API}{task.pk}/", {"start_at": None}, content_type="application/json")
    assert r.status_code == 400 and "正在发送" in r.json()["start_at"][0]


def test_delete_and_put_are_not_offered(camp):
    task = make_task(camp)
    c = api(camp["admin"])
    assert c.delete(f"{API}{task.pk}/").status_code == 405
    assert c.put(f"{API}{task.pk}/", {}, content_type="application/json").status_code == 405
    assert Task.objects.filter(pk=task.pk).exists()


def test_permissions_and_boundaries(camp):
    task = make_task(camp)
    agent, staff = api(camp["agent"]), api(camp["staff"])
    assert agent.post(API, body(camp, numbers=["13800000001"]), content_type="application/json").status_code == 403
    for action in ("pause", "end", "resume", "submit", "resend", "windows"):
        assert agent.post(f"{API}{task.pk}/{action}/", {}, content_type="application/json").status_code == 403
    assert staff.get(API).status_code == 403
    other = api(camp["other"]["admin"])
    assert other.get(f"{API}{task.pk}/").status_code == 404
    assert other.post(f"{API}{task.pk}/pause/").status_code == 404
    # another enterprise's flow and category are not choices
    r = other.post(API, body(camp, numbers=["13800000001"]), content_type="application/json")
    assert r.status_code == 400 and {"flow", "category"} <= set(r.json())
    assert Task.objects.get(pk=task.pk).status == TaskStatus.RUNNING
    assert Task.objects.count() == 1
