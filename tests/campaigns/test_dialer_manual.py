"""Manual batch dialling (T2): 【下一个号码】 in the workspace dials a draft or paused task's next number
through the agent's own phone. Permissions and enterprise boundaries over HTTP; the call itself
through call control + dialer and the simulated Asterisk."""

from __future__ import annotations

import pytest

from callcenter.calls.models import Cdr
from callcenter.campaigns import manual
from callcenter.campaigns.models import Attempt, Task, TaskNumber
from callcenter.crm.models import CustomerCategory
from callcenter.telephony.models import AgentGroup, AgentGroupMember, BlacklistEntry, CallFlow, Trunk
from tests.campaigns.dialer_kit import campaign, run_dialer, sim_config, wait_for

URL = "/workspace/task-next/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path


def _task(enterprise, agents, phones, *, status="paused", submitted=False, name="草稿任务"):
    group = AgentGroup.objects.create(enterprise=enterprise, name=f"组{name}")
    for i, a in enumerate(agents):
        AgentGroupMember.objects.create(group=group, agent=a, position=i)
    flow = CallFlow.objects.create(enterprise=enterprise, name=f"流程{name}", transfer_mode="direct",
                                   agent_group=group, retries=1)
    category = CustomerCategory.objects.create(enterprise=enterprise, name=f"分类{name}")
    task = Task.objects.create(enterprise=enterprise, name=name, flow=flow, category=category, status=status,
                               submitted=submitted)
    TaskNumber.objects.bulk_create([TaskNumber(enterprise=enterprise, task=task, phone=p, line_no=i + 1)
                                    for i, p in enumerate(phones)])
    return task


@pytest.fixture
def draft(ent):
    return _task(ent["enterprise"], [ent["agent"]], ["13900000001", "13900000002"])


@pytest.mark.django_db
def test_an_agent_dials_the_next_number_of_a_draft(ent, draft, as_user):
    client = as_user(ent["agent"])
    page = client.get("/workspace/")
    assert page.status_code == 200 and "下一个号码" in page.content.decode() and draft.name in page.content.decode()
    response = client.post(URL, {"task": draft.pk})
    assert response.status_code == 302
    attempt = Attempt.objects.get()
    assert (attempt.agent_id, attempt.status, attempt.call_id, attempt.number.phone) == (
        ent["agent"].pk, "dialing", "", "13900000001")
    number = TaskNumber.objects.get(pk=attempt.number_id)
    assert (number.status, number.attempts, number.agent_id) == ("dialing", 1, ent["agent"].pk)
    # A second click while the first number is being called changes nothing.
    response = client.post(URL, {"task": draft.pk}, HTTP_ACCEPT="application/json")
    assert response.status_code == 409 and "上一个号码还在呼叫中" in response.json()["error"]
    assert Attempt.objects.count() == 1


@pytest.mark.django_db
def test_staff_cannot_dial_out(ent, draft, as_user):
    assert as_user(ent["staff"]).post(URL, {"task": draft.pk}).status_code == 403
    # Even with the workspace and the tasks granted, a 普通员工 never dials.
    staff = ent["staff"]
    staff.role = ent["agent"].role
    staff.save()
    staff = type(staff).objects.get(pk=staff.pk)
    response = as_user(staff).post(URL, {"task": draft.pk}, HTTP_ACCEPT="application/json")
    assert response.status_code == 409 and "普通员工不能外呼" in response.json()["error"]
    assert not Attempt.objects.exists()
    assert not manual.may_dial(staff)


@pytest.mark.django_db
def test_another_enterprises_task_is_refused(ent, other, as_user):
    theirs = _task(other["enterprise"], [other["agent"]], ["13900000009"])
    response = as_user(ent["agent"]).post(URL, {"task": theirs.pk}, HTTP_ACCEPT="application/json")
    assert response.status_code == 409 and "本企业" in response.json()["error"]
    assert not Attempt.objects.exists()
    assert TaskNumber.objects.get(task=theirs).status == "pending"
    assert theirs.name not in as_user(ent["agent"]).get("/workspace/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("status,submitted,word", [("running", True, "发送中"), ("ended", True, "已结束"),
                                                   ("scheduled", True, "等待发送")])
def test_only_drafts_and_paused_tasks_are_dialled_by_hand(ent, as_user, status, submitted, word):
    task = _task(ent["enterprise"], [ent["agent"]], ["13900000001"], status=status, submitted=submitted)
    response = as_user(ent["agent"]).post(URL, {"task": task.pk}, HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    assert word in response.json()["error"] and "只有草稿或暂停的任务可以手动外呼" in response.json()["error"]
    assert not Attempt.objects.exists()


@pytest.mark.django_db
def test_an_agent_on_a_call_cannot_dial(ent, draft, as_user):
    from callcenter.calls import services as calls

    calls.agent_state_set(enterprise_id=ent["enterprise"].pk, agent_id=ent["agent"].pk, state="busy",
                          call_id="in-call-1")
    response = as_user(ent["agent"]).post(URL, {"task": draft.pk}, HTTP_ACCEPT="application/json")
    assert response.status_code == 409 and "通话中" in response.json()["error"]
    assert not Attempt.objects.exists()


@pytest.mark.django_db
def test_blacklisted_numbers_are_skipped_and_an_empty_task_says_so(ent, draft, as_user):
    BlacklistEntry.objects.create(enterprise=ent["enterprise"], number="13900000001", direction="both")
    client = as_user(ent["agent"])
    response = client.post(URL, {"task": draft.pk}, HTTP_ACCEPT="application/json")
    assert response.json()["phone"] == "13900000002"
    assert TaskNumber.objects.get(task=draft, phone="13900000001").result == "blacklisted"
    Attempt.objects.update(status="done", result="busy")
    TaskNumber.objects.filter(task=draft).update(status="done")
    response = client.post(URL, {"task": draft.pk}, HTTP_ACCEPT="application/json")
    assert response.status_code == 409 and "没有待呼叫的号码" in response.json()["error"]


@pytest.mark.django_db(transaction=True)
def test_the_agent_is_rung_first_then_the_number_is_dialled_and_connected():
    c = campaign("manu", phones=["13900000001", "13900000002"], mode="direct", status="paused", submitted=False,
                 agents=1, retries=1)
    agent = c["agents"][0]
    Trunk.objects.filter(pk=c["trunk"].pk).update(reserved_lines=0)  # manual calls do not use group lines
    callees = {"13900000002": {"answer_probability": 0, "busy_probability": 1.0}}
    first = manual.next_number(agent=agent, task_id=c["task"].pk)

    async def body(server, control):
        assert await wait_for(lambda: Attempt.objects.get(pk=first.pk).status == "done", 20)
        from asgiref.sync import sync_to_async

        second = await sync_to_async(manual.next_number)(agent=agent, task_id=c["task"].pk)
        assert await wait_for(lambda: Attempt.objects.get(pk=second.pk).status == "done", 20)
        return second

    second = run_dialer(sim_config(callees, default={"talk_time": [2, 2]}), body)
    done = Attempt.objects.get(pk=first.pk)
    assert (done.result, done.agent_id) == ("transferred", agent.pk) and done.talk_seconds >= 0
    cdr = Cdr.objects.get(attempt_id=first.pk)
    assert (cdr.direction, cdr.task_id, cdr.agent_id, cdr.callee) == ("out", c["task"].pk, agent.pk, "13900000001")
    assert cdr.answered_at is not None and cdr.ended_at is not None
    busy = Attempt.objects.get(pk=second.pk)
    assert busy.result == "busy"
    number = TaskNumber.objects.get(pk=busy.number_id)
    assert number.status == "retry"  # 重呼次数 1: due again after the flow's delay
    assert Task.objects.get(pk=c["task"].pk).status == "paused"  # a draft is never ended by the dialer


@pytest.mark.django_db
def test_the_agent_client_api_dials_the_next_number(ent, other, draft, as_user):
    api = "/api/v1/workspace/task-next/"
    response = as_user(ent["agent"]).post(api, {"task": draft.pk}, content_type="application/json")
    assert response.status_code == 200 and response.json()["phone"] == "13900000001"
    assert Attempt.objects.get().agent_id == ent["agent"].pk
    assert as_user(ent["staff"]).post(api, {"task": draft.pk}, content_type="application/json").status_code == 403
    theirs = _task(other["enterprise"], [other["agent"]], ["13900000009"], name="B的草稿")
    response = as_user(ent["agent"]).post(api, {"task": theirs.pk}, content_type="application/json")
    assert response.status_code == 400 and "task" in response.json()
    assert Attempt.objects.count() == 1
