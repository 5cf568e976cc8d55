"""任务查询 (T4) and the task actions: the list with its query, scope and query count; pause, resume,
end by hand, resend, modify, windows and submitting a draft, each refused with its reason when the
task's state does not fit (and then changing nothing); permissions and enterprise boundaries over
HTTP; the default roles and the data migration that grants them to existing enterprises."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from callcenter.campaigns import services
from callcenter.campaigns.choices import CallResult, NumberStatus, TaskStatus
from callcenter.campaigns.models import Attempt, Task, TaskNumber, TaskWindow
from callcenter.core.models import AuditLog
from tests.campaigns.kit import *  # noqa: F403 - fixtures
from tests.campaigns.kit import field_errors, make_task, page_text


def status_of(task) -> tuple[str, bool]:
    task.refresh_from_db()
    return task.status, task.submitted


def op(client, name, *tasks, follow=False):
    return client.post(f"/campaigns/tasks/do/{name}/", {"pk": [t.pk for t in tasks]}, follow=follow)


# --- the list (任务查询) -------------------------------------------------------------------------------


def test_list_shows_state_windows_and_the_row_links(camp, as_user):
    draft = make_task(camp, submit=False, name="草稿任务")
    running = make_task(camp, name="发送中的任务")
    TaskWindow.objects.create(task=running, start="09:00", end="12:00")
    TaskWindow.objects.create(task=running, start="14:00", end="18:00")
    r = as_user(camp["admin"]).get("/campaigns/tasks/")
    assert r.status_code == 200
    page = page_text(r)
    assert "草稿任务" in page and 'data-status="draft"' in page
    assert "发送中的任务" in page and 'data-status="running"' in page
    assert "09:00-12:00" in page and "14:00-18:00" in page and "全天" in page
    for label in ("【暂停发送】", "【恢复发送】", "【重新发送】", "【手工结束】", "【修改】", "【时间段】", "【查询】",
                  "【重置】"):
        assert label in page, label
    for name, label in (("campaigns:task_numbers", "【明细】"), ("campaigns:task_progress", "【进度】")):
        try:
            url = reverse(name, args=[draft.pk])
        except NoReverseMatch:
            assert label not in page  # the result screens are not installed yet
        else:
            assert url in page and label in page
    assert f'href="/campaigns/tasks/{draft.pk}/"' in page


def test_query_by_name_period_and_status_and_reset(camp, as_user):
    draft = make_task(camp, submit=False, name="五月回访")
    running = make_task(camp, name="六月回访")
    paused = make_task(camp, name="七月促销")
    services.task_pause(task=paused)
    ended = make_task(camp, name="四月回访")
    services.task_end(task=ended)
    old = timezone.now() - timedelta(days=40)
    Task.objects.filter(pk=ended.pk).update(created_at=old, ended_at=old + timedelta(days=1))
    c = as_user(camp["admin"])

    def names(**query):
        r = c.get("/campaigns/tasks/", query)
        assert r.status_code == 200
        return sorted(t.name for t in r.context["page"].rows)

    assert names(name="回访") == ["五月回访", "六月回访", "四月回访"]
    assert names(status="draft") == ["五月回访"]
    assert names(status="paused") == ["七月促销"]  # a draft is not listed as paused
    assert names(status="running") == ["六月回访"]
    assert names(status="ended") == ["四月回访"]
    today = timezone.localdate()
    assert names(period_from=(today - timedelta(days=7)).isoformat()) == ["七月促销", "五月回访", "六月回访"]
    assert names(period_to=(today - timedelta(days=30)).isoformat()) == ["四月回访"]
    assert names() == ["七月促销", "五月回访", "六月回访", "四月回访"]
    assert 'href="?" id="btn-reset"' in c.get("/campaigns/tasks/", {"name": "x"}).content.decode()
    del draft, running


def test_list_query_count_does_not_grow_with_the_rows(camp, as_user, django_assert_max_num_queries):
    c = as_user(camp["admin"])
    for n in range(2):
        t = make_task(camp, name=f"任务{n}")
        TaskWindow.objects.create(task=t, start="09:00", end="10:00")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/campaigns/tasks/").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(2, 14):
        t = make_task(camp, name=f"任务{n}", submit=n % 2 == 0)
        TaskWindow.objects.create(task=t, start="09:00", end="10:00")
    with django_assert_max_num_queries(15):
        r = c.get("/campaigns/tasks/")
    assert len(r.context["page"].rows) == 14
    assert count() == few


def test_list_is_confined_to_the_enterprise_and_the_data_scope(camp, as_user):
    admins = make_task(camp, name="管理员的任务")
    sups = make_task(camp, name="班长的任务", user=camp["supervisor"])
    from tests.campaigns.kit import make_task as mk

    theirs = mk({**camp, "enterprise": camp["other"]["enterprise"], "flow": camp["b_flow"], "cat": camp["b_cat"],
                 "admin": camp["other"]["admin"]}, name="别家的任务")

    def names(user):
        return sorted(t.name for t in as_user(user).get("/campaigns/tasks/").context["page"].rows)

    assert names(camp["admin"]) == ["班长的任务", "管理员的任务"]
    assert names(camp["supervisor"]) == ["班长的任务"]  # own and subordinates' rows
    assert names(camp["other"]["admin"]) == ["别家的任务"]
    assert as_user(camp["supervisor"]).get(f"/campaigns/tasks/{admins.pk}/").status_code == 404
    assert as_user(camp["other"]["admin"]).get(f"/campaigns/tasks/{sups.pk}/").status_code == 404
    del theirs


@pytest.mark.parametrize(("who", "codes"), [
    ("admin", {"list": 200, "send": 200}),
    ("supervisor", {"list": 200, "send": 200}),
    ("agent", {"list": 200, "send": 403}),
    ("staff", {"list": 403, "send": 403}),
])
def test_permission_matrix(camp, as_user, who, codes):
    c = as_user(camp[who])
    assert c.get("/campaigns/tasks/").status_code == codes["list"]
    assert c.get("/campaigns/tasks/send/").status_code == codes["send"]


def test_menu_entries_under_task_management(camp):
    from callcenter.core import navigation

    def items(user):
        return [(s["key"], str(i["label"])) for s in navigation.menu_for(user) for i in s["items"]
                if s["key"] == "tasks"]

    assert ("tasks", "任务发送") in items(camp["admin"]) and ("tasks", "任务查询") in items(camp["admin"])
    assert ("tasks", "任务发送") in items(camp["supervisor"])
    assert ("tasks", "任务查询") in items(camp["agent"]) and ("tasks", "任务发送") not in items(camp["agent"])
    assert not {"任务发送", "任务查询"} & {label for _k, label in items(camp["staff"])}


def test_agent_and_staff_cannot_create_or_act(camp, as_user):
    task = make_task(camp)
    for who in ("agent", "staff"):
        c = as_user(camp[who])
        assert c.post("/campaigns/tasks/send/", {"name": "x", "flow": camp["flow"].pk, "category": camp["cat"].pk,
                                                 "numbers_text": "13800000001", "_submit": "1"}).status_code == 403
        for name in ("pause", "end", "resume", "resend", "modify"):
            assert op(c, name, task).status_code == 403, (who, name)
        assert c.post(f"/campaigns/tasks/{task.pk}/modify/", {"name": "改名"}).status_code == 403
        assert c.post(f"/campaigns/tasks/{task.pk}/windows/", {"window_start": "09:00",
                                                               "window_end": "10:00"}).status_code == 403
        assert c.post(f"/campaigns/tasks/{task.pk}/resend/", {"rules": "unanswered"}).status_code == 403
    assert Task.objects.count() == 1 and status_of(task) == (TaskStatus.RUNNING, True)
    assert task.name == "任务" and not task.windows.exists()


def test_a_role_without_send_permission_may_only_save_drafts(camp, as_user):
    from django.contrib.auth.models import Permission

    from callcenter.accounts.models import Role

    role = Role.objects.get(enterprise=camp["enterprise"], name="班长")
    role.permissions.remove(Permission.objects.get(codename="send_task"))
    c = as_user(camp["supervisor"])
    page = c.get("/campaigns/tasks/send/").content.decode()
    assert 'id="btn-draft"' in page and 'id="btn-submit"' not in page
    r = c.post("/campaigns/tasks/send/", {"name": "x", "flow": camp["flow"].pk, "category": camp["cat"].pk,
                                          "dedupe": "1", "recall_called_today": "0", "skip_existing_customers": "0",
                                          "numbers_text": "13800000001", "_submit": "1"})
    assert r.status_code == 403 and not Task.objects.exists()
    draft = make_task(camp, submit=False, user=camp["supervisor"])
    r = op(c, "resume", draft)
    assert r.status_code == 409 and "没有提交发送的权限" in page_text(r)
    assert status_of(draft) == (TaskStatus.PAUSED, False)


def test_other_enterprises_and_out_of_scope_tasks_are_not_acted_on(camp, as_user):
    task = make_task(camp)
    for user in (camp["other"]["admin"], camp["supervisor"]):
        r = op(as_user(user), "pause", task, follow=True)
        assert "请先勾选任务" in page_text(r)
        assert as_user(user).get(f"/campaigns/tasks/{task.pk}/modify/").status_code == 404
        assert as_user(user).post(f"/campaigns/tasks/{task.pk}/resend/", {"rules": "failed"}).status_code == 404
    assert status_of(task) == (TaskStatus.RUNNING, True)


# --- pause, resume, end, submit ---------------------------------------------------------------------


def test_pause_and_resume_from_the_list(camp, as_user):
    task = make_task(camp, user=camp["supervisor"])
    c = as_user(camp["supervisor"])
    r = op(c, "pause", task, follow=True)
    assert "已暂停 1 个任务" in page_text(r)
    assert status_of(task) == (TaskStatus.PAUSED, True)
    r = op(c, "resume", task, follow=True)
    assert "已恢复发送 1 个任务" in page_text(r)
    assert status_of(task) == (TaskStatus.RUNNING, True)
    actions = list(AuditLog.objects.filter(object_type="campaigns.task", action="update").values_list("changes",
                                                                                                       flat=True))
    assert [a["status"] for a in actions] == [["running", "paused"], ["paused", "running"]]


def test_pause_and_resume_keep_a_scheduled_task_waiting(camp):
    task = make_task(camp, start_at=timezone.now() + timedelta(hours=2))
    assert status_of(task) == (TaskStatus.SCHEDULED, True)
    services.task_pause(task=task)
    assert status_of(task) == (TaskStatus.PAUSED, True)
    services.task_resume(task=task)
    assert status_of(task) == (TaskStatus.SCHEDULED, True)


@pytest.mark.parametrize(("action", "state", "words"), [
    ("pause", "paused", "已暂停，不能暂停发送"),
    ("pause", "draft", "是草稿（未提交发送），不能暂停发送"),
    ("pause", "ended", "已结束，不能暂停发送"),
    ("pause", "importing", "号码导入中，不能暂停发送"),
    ("resume", "running", "正在发送，不能恢复发送"),
    ("resume", "scheduled", "等待发送，不能恢复发送"),
    ("resume", "ended", "已结束，不能恢复发送；可用【重新发送】再次呼叫它的号码"),
    ("resume", "importing", "号码导入中，不能恢复发送"),
    ("end", "ended", "已结束，不能手工结束"),
    ("end", "importing", "号码导入中，不能手工结束"),
    ("submit", "running", "正在发送，不能提交发送"),
    ("submit", "paused", "已暂停，不能提交发送；已提交的任务请用【恢复发送】"),
])
def test_actions_in_the_wrong_state_are_refused_with_the_reason(camp, as_user, action, state, words):
    task = make_task(camp, submit=state != "draft")
    if state == "paused":
        services.task_pause(task=task)
    elif state == "ended":
        services.task_end(task=task)
    elif state == "scheduled":
        Task.objects.filter(pk=task.pk).update(status=TaskStatus.SCHEDULED,
                                               start_at=timezone.now() + timedelta(hours=1))
    elif state == "importing":
        Task.objects.filter(pk=task.pk).update(status=TaskStatus.IMPORTING)
    task.refresh_from_db()
    before = (task.status, task.submitted, task.ended_at, list(task.numbers.values_list("status", "result")))
    logs = AuditLog.objects.count()
    r = op(as_user(camp["admin"]), action, task)
    assert r.status_code == 409
    assert f"任务“任务”{words}" in page_text(r)
    task.refresh_from_db()
    assert (task.status, task.submitted, task.ended_at, list(task.numbers.values_list("status", "result"))) == before
    assert AuditLog.objects.count() == logs


def test_a_bulk_action_acts_on_those_that_fit_and_names_the_others(camp, as_user):
    running = make_task(camp, name="甲")
    ended = make_task(camp, name="乙")
    services.task_end(task=ended)
    r = op(as_user(camp["admin"]), "pause", running, ended, follow=True)
    page = page_text(r)
    assert "已暂停 1 个任务" in page and "任务“乙”已结束，不能暂停发送" in page
    assert status_of(running)[0] == TaskStatus.PAUSED and status_of(ended)[0] == TaskStatus.ENDED


def test_a_state_the_dialer_changed_meanwhile_is_not_overwritten(camp):
    task = make_task(camp)
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.ENDED, end_reason="completed")  # the dialer ends it
    assert task.status == TaskStatus.RUNNING  # this copy is stale
    with pytest.raises(services.ServiceError) as exc:
        services.task_pause(task=task)
    assert "已结束" in exc.value.messages[0]
    assert status_of(task) == (TaskStatus.ENDED, True) and task.end_reason == "completed"


def test_resuming_a_draft_submits_it(camp, as_user):
    draft = make_task(camp, submit=False)
    r = op(as_user(camp["admin"]), "resume", draft, follow=True)
    assert "已提交发送 1 个任务" in page_text(r) or "已恢复发送 1 个任务" in page_text(r)
    assert status_of(draft) == (TaskStatus.RUNNING, True)


def test_submit_a_draft_from_its_page(camp, as_user):
    draft = make_task(camp, submit=False)
    c = as_user(camp["admin"])
    page = c.get(f"/campaigns/tasks/{draft.pk}/").content.decode()
    assert 'id="btn-task-submit"' in page and 'id="btn-task-pause"' not in page
    r = c.post("/campaigns/tasks/do/submit/", {"pk": draft.pk, "next": f"/campaigns/tasks/{draft.pk}/"})
    assert r.status_code == 302 and r["Location"] == f"/campaigns/tasks/{draft.pk}/"
    assert status_of(draft) == (TaskStatus.RUNNING, True)


def test_resume_and_submit_check_the_flow_again(camp):
    from callcenter.telephony import services as tel

    draft = make_task(camp, submit=False)
    paused = make_task(camp)
    services.task_pause(task=paused)
    tel.group_set_enabled(group=camp["group"], enabled=False)
    for task in (draft, paused):
        with pytest.raises(services.ServiceError) as exc:
            services.task_resume(task=task)
        assert "坐席组“外呼组”已停用" in exc.value.messages[0]
    assert status_of(draft) == (TaskStatus.PAUSED, False) and status_of(paused) == (TaskStatus.PAUSED, True)


def test_end_cancels_numbers_never_dialled_and_keeps_the_others(camp, as_user):
    task = make_task(camp, ["13800000001", "13800000002", "13800000003", "13800000004"])
    n1, n2, n3, n4 = task.numbers.order_by("line_no")
    TaskNumber.objects.filter(pk=n2.pk).update(status=NumberStatus.RETRY, result=CallResult.BUSY, attempts=1,
                                               next_attempt_at=timezone.now())
    TaskNumber.objects.filter(pk=n3.pk).update(status=NumberStatus.DIALING, attempts=1)
    TaskNumber.objects.filter(pk=n4.pk).update(status=NumberStatus.DONE, result=CallResult.TRANSFERRED, attempts=1)
    r = op(as_user(camp["admin"]), "end", task, follow=True)
    assert "已手工结束 1 个任务" in page_text(r)
    task.refresh_from_db()
    assert (task.status, task.end_reason) == (TaskStatus.ENDED, "manual") and task.ended_at is not None
    got = {n.pk: (n.status, n.result, n.next_attempt_at) for n in task.numbers.all()}
    assert got[n1.pk] == (NumberStatus.DONE, CallResult.CANCELLED, None)
    assert got[n2.pk] == (NumberStatus.DONE, CallResult.BUSY, None)
    assert got[n3.pk] == (NumberStatus.DIALING, "", None)  # the dialer finishes the call in progress
    assert got[n4.pk] == (NumberStatus.DONE, CallResult.TRANSFERRED, None)
    log = AuditLog.objects.filter(object_type="campaigns.task", action="update").latest("id")
    assert log.changes["numbers_cancelled"] == [None, 1] and log.changes["status"] == ["running", "ended"]


def test_end_a_draft(camp):
    draft = make_task(camp, submit=False)
    services.task_end(task=draft)
    assert status_of(draft) == (TaskStatus.ENDED, False)
    assert set(draft.numbers.values_list("result", flat=True)) == {CallResult.CANCELLED}


# --- resend -------------------------------------------------------------------------------------------


def _finished(camp):
    """An ended task whose numbers ended with each kind of result, with their attempts."""
    results = [CallResult.NO_ANSWER, CallResult.BUSY, CallResult.CANCELLED, CallResult.CONGESTION, CallResult.FAILED,
               CallResult.ABANDONED, CallResult.TRANSFERRED, CallResult.BLACKLISTED, CallResult.ANSWERED]
    task = make_task(camp, [f"1380000000{i}" for i in range(len(results))])
    for number, result in zip(task.numbers.order_by("line_no"), results, strict=True):
        if result != CallResult.CANCELLED:
            Attempt.objects.create(enterprise=task.enterprise, task=task, number=number, round=1, seq=1,
                                   status="done", result=result)
            TaskNumber.objects.filter(pk=number.pk).update(status=NumberStatus.DONE, result=result, attempts=1,
                                                           last_attempt_at=timezone.now())
    services.task_end(task=task)
    task.refresh_from_db()
    return task


@pytest.mark.parametrize(("rules", "phones"), [
    (["unanswered"], {"13800000000", "13800000001", "13800000002"}),
    (["failed"], {"13800000003", "13800000004"}),
    (["not_transferred"], {"13800000005"}),
    (["unanswered", "not_transferred"], {"13800000000", "13800000001", "13800000002", "13800000005"}),
])
def test_resend_redials_the_chosen_numbers_in_a_new_round(camp, as_user, rules, phones):
    task = _finished(camp)
    c = as_user(camp["admin"])
    page = page_text(c.get(f"/campaigns/tasks/{task.pk}/resend/"))
    assert "未接通（3）" in page and "呼叫失败（2）" in page and "接通未转坐席（1）" in page
    r = c.post(f"/campaigns/tasks/{task.pk}/resend/", {"rules": rules}, follow=True)
    assert f"重新发送：{len(phones)} 个号码" in page_text(r)
    task.refresh_from_db()
    assert (task.status, task.round, task.submitted, task.ended_at, task.end_reason) == (
        TaskStatus.RUNNING, 2, True, None, "")
    pending = set(task.numbers.filter(status=NumberStatus.PENDING).values_list("phone", flat=True))
    assert pending == phones
    assert set(task.numbers.filter(status=NumberStatus.PENDING).values_list("attempts", "result")) == {(0, "")}
    assert task.numbers.filter(status=NumberStatus.DONE).count() == 9 - len(phones)
    assert Attempt.objects.filter(task=task).count() == 8  # the earlier attempts stay


def test_resend_is_refused_when_it_does_not_fit(camp, as_user):
    running = make_task(camp, name="进行中")
    c = as_user(camp["admin"])
    r = c.post(f"/campaigns/tasks/{running.pk}/resend/", {"rules": ["unanswered"]})
    assert r.status_code == 409 and "任务“进行中”正在发送，不能重新发送；只有已结束的任务可以重新发送" in page_text(r)
    done = _finished(camp)
    TaskNumber.objects.filter(task=done, result=CallResult.ABANDONED).update(result=CallResult.TRANSFERRED)
    r = c.post(f"/campaigns/tasks/{done.pk}/resend/", {"rules": ["not_transferred"]})
    assert r.status_code == 400 and "没有符合所选规则的号码" in field_errors(r)["rules"][0]
    r = c.post(f"/campaigns/tasks/{done.pk}/resend/", {})
    assert r.status_code == 400 and "请选择重新发送的号码" in field_errors(r)["rules"][0]
    assert status_of(done) == (TaskStatus.ENDED, True) and done.round == 1
    assert status_of(running) == (TaskStatus.RUNNING, True) and running.round == 1


def test_resend_and_modify_take_one_ticked_task(camp, as_user):
    a, b = make_task(camp, name="甲"), make_task(camp, name="乙")
    c = as_user(camp["admin"])
    assert "请只勾选一个任务" in page_text(op(c, "modify", a, b, follow=True))
    r = op(c, "modify", a)
    assert r.status_code == 302 and r["Location"] == f"/campaigns/tasks/{a.pk}/modify/"
    assert op(c, "windows", b)["Location"] == f"/campaigns/tasks/{b.pk}/windows/"
    assert op(c, "resend", b)["Location"] == f"/campaigns/tasks/{b.pk}/resend/"
    assert "请先勾选任务" in page_text(c.post("/campaigns/tasks/do/pause/", {}, follow=True))


# --- modify and windows --------------------------------------------------------------------------------


def _local(dt):
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def test_modify_name_and_start_time_of_a_scheduled_task(camp, as_user):
    task = make_task(camp, start_at=timezone.now() + timedelta(hours=2))
    c = as_user(camp["admin"])
    page = page_text(c.get(f"/campaigns/tasks/{task.pk}/modify/"))
    assert 'value="任务"' in page and _local(task.start_at) in page
    later = timezone.now() + timedelta(days=1)
    r = c.post(f"/campaigns/tasks/{task.pk}/modify/", {"name": "改名了", "start_at": _local(later)})
    assert r.status_code == 302
    task.refresh_from_db()
    assert (task.name, task.status, _local(task.start_at)) == ("改名了", TaskStatus.SCHEDULED, _local(later))
    c.post(f"/campaigns/tasks/{task.pk}/modify/", {"name": "改名了", "start_at": ""})
    task.refresh_from_db()
    assert (task.start_at, task.status) == (None, TaskStatus.RUNNING)  # no start time: it starts now


def test_modify_start_time_is_refused_while_running_or_ended_or_in_the_past(camp, as_user):
    task = make_task(camp)
    c = as_user(camp["admin"])
    later = _local(timezone.now() + timedelta(hours=3))
    r = c.post(f"/campaigns/tasks/{task.pk}/modify/", {"name": "新名", "start_at": later})
    assert r.status_code == 400 and "正在发送，不能修改开始时间；请先【暂停发送】" in field_errors(r)["start_at"][0]
    task.refresh_from_db()
    assert (task.name, task.start_at) == ("任务", None)
    assert c.post(f"/campaigns/tasks/{task.pk}/modify/", {"name": "新名", "start_at": ""}).status_code == 302
    assert Task.objects.get(pk=task.pk).name == "新名"  # the name may change while running
    services.task_pause(task=task)
    past = _local(timezone.now() - timedelta(hours=3))
    r = c.post(f"/campaigns/tasks/{task.pk}/modify/", {"name": "新名", "start_at": past})
    assert r.status_code == 400 and "已经过去" in field_errors(r)["start_at"][0]
    services.task_end(task=task)
    r = c.post(f"/campaigns/tasks/{task.pk}/modify/", {"name": "新名", "start_at": later})
    assert r.status_code == 400 and "已结束，不能修改开始时间" in field_errors(r)["start_at"][0]
    r = c.post(f"/campaigns/tasks/{task.pk}/modify/", {"name": "  ", "start_at": ""})
    assert r.status_code == 400
    assert Task.objects.get(pk=task.pk).start_at is None


def test_a_paused_task_given_a_later_start_waits_for_it_on_resume(camp):
    task = make_task(camp)
    services.task_pause(task=task)
    services.task_modify(task=task, start_at=timezone.now() + timedelta(hours=1))
    assert status_of(task) == (TaskStatus.PAUSED, True)
    services.task_resume(task=task)
    assert status_of(task) == (TaskStatus.SCHEDULED, True)


def test_edit_windows(camp, as_user):
    task = make_task(camp)
    TaskWindow.objects.create(task=task, start="08:00", end="09:00")
    c = as_user(camp["admin"])
    assert 'value="08:00"' in c.get(f"/campaigns/tasks/{task.pk}/windows/").content.decode()
    r = c.post(f"/campaigns/tasks/{task.pk}/windows/", {"window_start": ["13:00", "09:00"],
                                                        "window_end": ["17:30", "11:30"]})
    assert r.status_code == 302
    assert [str(w) for w in task.windows.all()] == ["09:00-11:30", "13:00-17:30"]
    log = AuditLog.objects.filter(object_type="campaigns.task").latest("id")
    assert log.changes["windows"] == [["08:00-09:00"], ["09:00-11:30", "13:00-17:30"]]
    r = c.post(f"/campaigns/tasks/{task.pk}/windows/", {"window_start": ["09:00", "10:00"],
                                                        "window_end": ["11:00", "12:00"]})
    assert r.status_code == 400 and "第 1 行与第 2 行的时间重叠" in field_errors(r)["windows"][0]
    assert [str(w) for w in task.windows.all()] == ["09:00-11:30", "13:00-17:30"]
    assert c.post(f"/campaigns/tasks/{task.pk}/windows/", {"window_start": [""], "window_end": [""]}).status_code \
        == 302
    assert not task.windows.exists()  # no windows: all day


def test_windows_of_an_importing_task_are_refused(camp, as_user):
    task = make_task(camp)
    Task.objects.filter(pk=task.pk).update(status=TaskStatus.IMPORTING)
    r = as_user(camp["admin"]).post(f"/campaigns/tasks/{task.pk}/windows/", {"window_start": "09:00",
                                                                             "window_end": "10:00"})
    assert r.status_code == 409 and "号码导入中，不能修改时间段" in page_text(r)
    assert not task.windows.exists()


# --- default roles and the data migration -------------------------------------------------------------


def test_default_roles_hold_the_task_permissions(camp):
    from callcenter.accounts.models import Role

    def perms(name):
        role = Role.objects.get(enterprise=camp["enterprise"], name=name)
        return {p.codename for p in role.permissions.filter(content_type__app_label="campaigns")}

    assert perms("班长") == {"view_task", "add_task", "change_task", "send_task", "control_task", "view_tasknumber",
                           "export_tasknumber"}
    assert perms("坐席") == {"view_task", "view_tasknumber"}
    assert perms("普通员工") == set()


def test_the_migration_grants_the_task_permissions_to_existing_default_roles(camp):
    from django.apps import apps

    from callcenter.accounts.models import Role

    migration = importlib.import_module("callcenter.campaigns.migrations.0002_default_role_permissions")
    roles = Role.objects.filter(enterprise__in=[camp["enterprise"], camp["other"]["enterprise"]])
    for role in roles:
        role.permissions.remove(*role.permissions.filter(content_type__app_label="campaigns"))
    migration.grant(apps, None)
    for role in roles:
        codenames = set(role.permissions.filter(content_type__app_label="campaigns").values_list("codename",
                                                                                                   flat=True))
        expected = {"班长": set(migration.SUPERVISOR), "坐席": set(migration.AGENT), "普通员工": set()}[role.name]
        assert codenames == expected, role.name
    migration.revoke(apps, None)
    assert not Role.objects.filter(permissions__content_type__app_label="campaigns").exists()
