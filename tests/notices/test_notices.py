"""公告便签发布 (T11) and 待办事务 (T12): recipients, approval, sanitising, permissions, to-dos,
the popup feed, 已读所有, birthday sources, tenant boundary and query counts."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from callcenter.accounts.models import Department
from callcenter.calls.models import MissedCall
from callcenter.notices import services, tasks
from callcenter.notices.models import Announcement, Todo

ADD = "/notices/announcements/add/"
LIST = "/notices/announcements/"
TODOS = "/notices/todos/"
POPUP = "/notices/todos/popup/"


def publish(c, **data):
    payload = {"title": "通知", "content": "<p>内容</p>", "audience": "all", "publish": "on", **data}
    r = c.post(ADD, payload)
    assert r.status_code == 302, r.content.decode()[:3000]
    return Announcement.objects.latest("pk")


def titles_in(response) -> set[str]:
    found = re.findall(r'href="/notices/announcements/\d+/">([^<]+)</a>', response.content.decode())
    return set(found) - {"查看"}


def todo_agents(ann) -> set[str]:
    return set(Todo.objects.filter(kind="announcement", source_id=ann.pk).values_list("agent__number", flat=True))


@pytest.fixture
def depts(ent):
    e = ent["enterprise"]
    sales = Department.objects.create(enterprise=e, name="销售部")
    support = Department.objects.create(enterprise=e, name="客服部")
    for key in ("sub1", "sub2"):
        ent[key].department = sales
        ent[key].save()
    ent["agent"].department = support
    ent["agent"].save()
    return {"sales": sales, "support": support}


def test_publish_to_all_departments_and_agents_makes_the_right_todos(ent, depts, as_user):
    c = as_user(ent["admin"])
    everyone = publish(c, title="全体")
    assert everyone.status == "published" and everyone.published_at is not None
    assert todo_agents(everyone) == {"800", "810", "811", "812", "820", "830"}
    by_dept = publish(c, title="销售", audience="departments", departments=[depts["sales"].pk])
    assert todo_agents(by_dept) == {"811", "812"}
    by_agent = publish(c, title="点名", audience="agents", agents=[ent["agent"].pk, ent["staff"].pk])
    assert todo_agents(by_agent) == {"820", "830"}
    assert Todo.objects.filter(read_at__isnull=True).count() == 10


def test_departments_audience_needs_a_department(ent, as_user):
    r = as_user(ent["admin"]).post(ADD, {"title": "x", "content": "", "audience": "departments", "publish": "on"})
    assert r.status_code == 200 and "请选择要通知的部门" in r.content.decode()
    assert not Announcement.objects.exists()


def test_draft_makes_no_todos_until_published(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post(ADD, {"title": "草稿", "content": "x", "audience": "all"})
    assert r.status_code == 302
    ann = Announcement.objects.get()
    assert ann.status == "draft" and not Todo.objects.exists()
    assert c.post(f"/notices/announcements/{ann.pk}/publish/").status_code == 302
    ann.refresh_from_db()
    assert ann.status == "published" and Todo.objects.count() == 6


def test_approval_flow_approve_then_todos(ent, as_user):
    e = ent["enterprise"]
    e.announcements_need_approval = True
    e.save()
    c = as_user(ent["admin"])
    ann = publish(c, audience="agents", agents=[ent["agent"].pk])
    assert ann.status == "pending" and not Todo.objects.exists()
    # a recipient does not see it before approval
    assert as_user(ent["agent"]).get(f"/notices/announcements/{ann.pk}/").status_code == 404
    # an agent without the approver's permission cannot approve
    assert as_user(ent["agent"]).post(f"/notices/announcements/{ann.pk}/approve/").status_code == 403
    html = c.get(f"/notices/announcements/{ann.pk}/").content.decode()
    assert 'id="btn-approve"' in html and 'id="btn-reject"' in html
    assert c.post(f"/notices/announcements/{ann.pk}/approve/").status_code == 302
    ann.refresh_from_db()
    assert ann.status == "published" and ann.approver == ent["admin"]
    assert todo_agents(ann) == {"820"}


def test_approval_flow_reject_with_reason_makes_no_todos(ent, as_user):
    e = ent["enterprise"]
    e.announcements_need_approval = True
    e.save()
    c = as_user(ent["admin"])
    ann = publish(c)
    c.post(f"/notices/announcements/{ann.pk}/reject/", {"reason": ""})
    ann.refresh_from_db()
    assert ann.status == "pending"  # a reason is required
    assert c.post(f"/notices/announcements/{ann.pk}/reject/", {"reason": "措辞不当"}).status_code == 302
    ann.refresh_from_db()
    assert ann.status == "rejected" and ann.reject_reason == "措辞不当"
    assert not Todo.objects.exists()
    assert "措辞不当" in c.get(f"/notices/announcements/{ann.pk}/").content.decode()


def test_script_and_event_handlers_are_sanitised(ent, as_user):
    c = as_user(ent["admin"])
    ann = publish(c, content='<p onclick="x()">好<b>的</b></p><script>alert(1)</script>'
                               '<img src="x.png" onerror="alert(2)"><a href="javascript:alert(3)">链接</a>')
    stored = ann.content
    assert "<script" not in stored and "alert(1)" not in stored
    assert "onerror" not in stored and "onclick" not in stored and "javascript:" not in stored
    assert "<b>的</b>" in stored and '<img src="x.png">' in stored
    html = as_user(ent["agent"]).get(f"/notices/announcements/{ann.pk}/").content.decode()
    body = html.split('id="announcement-content">', 1)[1].split("</div>", 1)[0]
    assert "<b>的</b>" in body and "<script" not in body and "onerror" not in body


def test_non_admin_cannot_add_edit_or_delete(ent, as_user):
    ann = publish(as_user(ent["admin"]))
    c = as_user(ent["agent"])
    assert c.get(ADD).status_code == 403
    assert c.get(f"/notices/announcements/{ann.pk}/edit/").status_code == 403
    assert c.post(f"/notices/announcements/{ann.pk}/edit/", {"title": "x", "audience": "all"}).status_code == 403
    assert c.post(f"/notices/announcements/{ann.pk}/delete/").status_code == 403
    assert Announcement.objects.filter(pk=ann.pk, title="通知").exists()


def test_admin_edits_recipients_and_deletes(ent, depts, as_user):
    c = as_user(ent["admin"])
    ann = publish(c, audience="agents", agents=[ent["agent"].pk])
    r = c.post(f"/notices/announcements/{ann.pk}/edit/", {
        "title": "新标题", "content": "<i>新</i>", "audience": "departments", "departments": [depts["sales"].pk]})
    assert r.status_code == 302
    ann.refresh_from_db()
    assert ann.title == "新标题" and ann.content == "<i>新</i>" and ann.audience == "departments"
    assert todo_agents(ann) == {"820", "811", "812"}  # new recipients get a to-do; the old one keeps theirs
    assert c.post(f"/notices/announcements/{ann.pk}/delete/").status_code == 302
    assert not Announcement.objects.exists() and not Todo.objects.exists()


def test_recipients_see_it_and_others_do_not(ent, depts, as_user):
    ann = publish(as_user(ent["admin"]), title="销售专享", audience="departments", departments=[depts["sales"].pk])
    sub = as_user(ent["sub1"])
    assert "销售专享" in sub.get(LIST).content.decode()
    assert sub.get(f"/notices/announcements/{ann.pk}/").status_code == 200
    outsider = as_user(ent["agent"])
    assert "销售专享" not in outsider.get(LIST).content.decode()
    assert outsider.get(f"/notices/announcements/{ann.pk}/").status_code == 404
    # opening it reads the recipient's to-do
    assert Todo.objects.get(agent=ent["sub1"]).read_at is not None


def test_announcement_list_query_by_conditions(ent, as_user):
    c = as_user(ent["admin"])
    publish(c, title="春节放假")
    c.post(ADD, {"title": "草稿二", "content": "", "audience": "all"})
    def titles(params):
        return titles_in(c.get(LIST, params))

    assert titles({"title": "春节"}) == {"春节放假"}
    assert titles({"status": "draft"}) == {"草稿二"}
    assert titles({"author": ent["admin"].pk, "since": "2000-01-01 00:00"}) == {"草稿二", "春节放假"}
    assert titles({"until": "2000-01-01 00:00"}) == set()


def missed(ent, agent, n, caller="13800000000"):
    return MissedCall.objects.create(enterprise=ent["enterprise"], call_id=f"m-{n}", caller=caller,
                                     at=timezone.now() - timedelta(minutes=n), rang_agent=agent)


def test_missed_call_task_creates_reminders_once(ent, as_user):
    missed(ent, ent["agent"], 1)
    missed(ent, ent["sub1"], 1)
    missed(ent, ent["agent"], 2, caller="13900000000")
    MissedCall.objects.create(enterprise=ent["enterprise"], call_id="m-none", caller="1", at=timezone.now())
    assert services.missed_call_todos() == 3
    assert services.missed_call_todos() == 0
    rows = Todo.objects.filter(kind="missed_call")
    assert rows.count() == 3
    assert sorted(t.split()[1] for t in rows.filter(agent=ent["agent"]).values_list("title", flat=True)) == [
        "13800000000", "13900000000"]
    assert rows.get(agent=ent["agent"], source_id=MissedCall.objects.get(call_id="m-2").pk).url == (
        "/calls/missedcalls/?caller=13900000000")
    mine = as_user(ent["agent"]).get(TODOS).content.decode()
    assert "13900000000" in mine and "13800000000" in mine
    missed(ent, ent["agent"], 3, caller="13700000000")
    assert services.missed_call_todos() == 1
    assert Todo.objects.filter(kind="missed_call").count() == 4


def test_reminder_tasks_are_periodic():
    from datetime import datetime

    every_minute = tasks.missed_call_reminders.task_class
    daily = tasks.birthday_reminders.task_class
    assert every_minute.validate_datetime(None, datetime(2025, 6, 2, 10, 17))
    assert daily.validate_datetime(None, datetime(2025, 6, 2, 0, 5))
    assert not daily.validate_datetime(None, datetime(2025, 6, 2, 10, 5))


def test_birthday_source_registry(ent, other):
    today = date(2025, 6, 2)
    seen = []

    def fake_source(day):
        seen.append(day)
        return [(ent["enterprise"].pk, ent["agent"].pk, 501, "客户张三生日", "/crm/customers/501/"),
                (other["enterprise"].pk, other["agent"].pk, 777, "客户李四生日", "/crm/customers/777/")]

    services.register_birthday_source(fake_source)
    try:
        assert services.birthday_todos(today) == 2
        assert services.birthday_todos(today) == 2  # idempotent: still one row each
        assert seen[-1] == today
        rows = Todo.objects.filter(kind="birthday").order_by("source_id")
        assert [(t.agent_id, t.source_id, t.title) for t in rows] == [
            (ent["agent"].pk, 501, "客户张三生日"), (other["agent"].pk, 777, "客户李四生日")]
        # next year the same customer's reminder comes back unread
        Todo.objects.filter(source_id=501).update(read_at=timezone.now(),
                                                  created_at=timezone.now() - timedelta(days=365))
        services.birthday_todos(date(2026, 6, 2))
        assert Todo.objects.get(source_id=501).read_at is None
    finally:
        services.unregister_birthday_source(fake_source)
    assert fake_source not in services._birthday_sources


def test_read_all_respects_the_query(ent, as_user):
    c = as_user(ent["admin"])
    publish(c, title="A")
    publish(c, title="B")
    missed(ent, ent["agent"], 1)
    services.missed_call_todos()
    a = as_user(ent["agent"])
    html = a.get(TODOS, {"kind": "announcement"}).content.decode()
    assert 'id="btn-read-all"' in html and 'name="query" value="kind=announcement"' in html
    r = a.post("/notices/todos/read-all/", {"query": "kind=announcement"})
    assert r.status_code == 302 and r["Location"].endswith("?kind=announcement")
    mine = Todo.objects.filter(agent=ent["agent"])
    assert mine.filter(kind="announcement", read_at__isnull=True).count() == 0
    assert mine.filter(kind="missed_call", read_at__isnull=True).count() == 1
    # other agents' items are untouched
    assert Todo.objects.filter(agent=ent["sub1"], read_at__isnull=True).count() == 2
    html = a.get(TODOS, {"state": "unread"}).content.decode()
    assert "漏接来电" in html and ">A<" not in html


def test_each_agent_sees_only_own_todos(ent, as_user):
    publish(as_user(ent["admin"]), title="仅点名", audience="agents", agents=[ent["agent"].pk])
    todo = Todo.objects.get()
    assert "仅点名" in as_user(ent["agent"]).get(TODOS).content.decode()
    assert "仅点名" not in as_user(ent["admin"]).get(TODOS).content.decode()
    assert as_user(ent["admin"]).get(f"/notices/todos/{todo.pk}/open/").status_code == 404
    r = as_user(ent["agent"]).get(f"/notices/todos/{todo.pk}/open/")
    assert r.status_code == 302 and r["Location"] == f"/notices/announcements/{todo.source_id}/"
    todo.refresh_from_db()
    assert todo.read_at is not None


def test_popup_returns_an_item_once(ent, as_user):
    publish(as_user(ent["admin"]), title="弹出", audience="agents", agents=[ent["agent"].pk])
    a = as_user(ent["agent"])
    first = a.get(POPUP).json()
    assert [i["title"] for i in first["items"]] == ["弹出"]
    assert first["items"][0]["url"].startswith("/notices/todos/")
    assert a.get(POPUP).json()["items"] == []
    assert Todo.objects.get().popped_at is not None
    # the page carries the poller (plain fetch, no htmx polling)
    html = a.get("/").content.decode()
    assert 'id="todo-popup"' in html and "js/todos.js" in html and "every 30s" not in html


def test_popup_requires_sign_in(client):
    assert client.get(POPUP).status_code == 401


def test_tenant_boundary_404(ent, other, as_user):
    ann = publish(as_user(ent["admin"]))
    todo = Todo.objects.filter(agent=ent["admin"]).get()
    c = as_user(other["admin"])
    assert c.get(f"/notices/announcements/{ann.pk}/").status_code == 404
    assert c.get(f"/notices/announcements/{ann.pk}/edit/").status_code == 404
    assert c.post(f"/notices/announcements/{ann.pk}/approve/").status_code == 404
    assert c.get(f"/api/v1/announcements/{ann.pk}/").status_code == 404
    assert c.delete(f"/api/v1/announcements/{ann.pk}/").status_code == 404
    assert c.get(f"/api/v1/todos/{todo.pk}/").status_code == 404
    assert c.post(f"/api/v1/todos/{todo.pk}/mark-read/").status_code == 404
    assert titles_in(c.get(LIST)) == set()


def test_api_announcements_and_todos(ent, as_user):
    admin = as_user(ent["admin"])
    r = admin.post("/api/v1/announcements/", {"title": "接口公告", "content": "<script>x</script><b>ok</b>",
                                              "audience": "agents", "agents": [ent["agent"].pk]},
                   content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "published" and r.json()["content"] == "<b>ok</b>"
    agent = as_user(ent["agent"])
    assert agent.post("/api/v1/announcements/", {"title": "x", "audience": "all"},
                      content_type="application/json").status_code == 403
    pk = r.json()["id"]
    assert agent.patch(f"/api/v1/announcements/{pk}/", {"title": "y"},
                       content_type="application/json").status_code == 403
    assert agent.delete(f"/api/v1/announcements/{pk}/").status_code == 403
    assert [a["title"] for a in agent.get("/api/v1/announcements/").json()["results"]] == ["接口公告"]
    assert as_user(ent["sub1"]).get("/api/v1/announcements/").json()["results"] == []
    todos = agent.get("/api/v1/todos/", {"state": "unread"}).json()["results"]
    assert len(todos) == 1 and todos[0]["kind"] == "announcement"
    assert admin.get("/api/v1/todos/").json()["results"] == []
    done = agent.post(f"/api/v1/todos/{todos[0]['id']}/mark-read/").json()
    assert done["is_read"] is True
    assert agent.get("/api/v1/todos/", {"state": "unread"}).json()["results"] == []


def test_api_approval(ent, as_user):
    e = ent["enterprise"]
    e.announcements_need_approval = True
    e.save()
    admin = as_user(ent["admin"])
    pk = admin.post("/api/v1/announcements/", {"title": "待审", "audience": "all"},
                    content_type="application/json").json()["id"]
    assert Announcement.objects.get(pk=pk).status == "pending"
    assert admin.post(f"/api/v1/announcements/{pk}/reject/", {}, content_type="application/json").status_code == 400
    assert as_user(ent["agent"]).post(f"/api/v1/announcements/{pk}/approve/").status_code == 403
    r = admin.post(f"/api/v1/announcements/{pk}/approve/")
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert Todo.objects.count() == 6


def test_list_query_counts_are_bounded(ent, depts, as_user):
    c = as_user(ent["admin"])
    for i in range(3):
        publish(c, title=f"公告{i}")
    a = as_user(ent["agent"])

    def count(client, url):
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx)

    few = {"ann": count(a, LIST), "todo": count(a, TODOS), "admin": count(c, LIST)}
    for i in range(3, 30):
        publish(c, title=f"公告{i}", audience="agents", agents=[ent["agent"].pk])
    many = {"ann": count(a, LIST), "todo": count(a, TODOS), "admin": count(c, LIST)}
    assert many == few
    assert max(many.values()) <= 20
    assert len(re.findall(r'href="/notices/todos/\d+/open/"', a.get(TODOS).content.decode())) == 30


def test_dashboard_widget(ent, as_user):
    publish(as_user(ent["admin"]), title="看板公告")
    html = as_user(ent["agent"]).get("/").content.decode()
    assert "未读待办" in html and "看板公告" in html


def test_menu_shows_both_screens_to_agents(ent, as_user):
    html = as_user(ent["agent"]).get(TODOS).content.decode()
    assert "公告便签发布" in html and "待办事务" in html
