"""坐席组管理 (2.2.4) and 队列设置 (2.2.8): fields, 【设置坐席】 with up/down ordering, enable/disable rules."""

from __future__ import annotations

from callcenter.core.models import AuditLog
from callcenter.telephony import services
from callcenter.telephony.models import AgentGroup, AgentGroupMember, Queue, QueueMember
from tests.conftest import make_agent
from tests.telephony.conftest import field_errors, make_group, make_prompt, make_queue, page_text


def group_order(group) -> list[str]:
    return list(AgentGroupMember.objects.filter(group=group).order_by("position", "id")
                .values_list("agent__number", flat=True))


def queue_order(queue) -> list[str]:
    return list(QueueMember.objects.filter(queue=queue).order_by("position", "id")
                .values_list("agent__number", flat=True))


# --- agent groups ----------------------------------------------------------------------------------


def test_add_group_and_members_in_order(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post("/telephony/agentgroups/add/", {"name": "销售组", "order_rule": "round_robin", "enabled": "on"})
    group = AgentGroup.objects.get(name="销售组")
    assert r.status_code == 302 and group.order_rule == "round_robin" and group.enabled
    url = f"/telephony/agentgroups/{group.pk}/members/"
    assert c.get(url).status_code == 200
    r = c.post(url, {"agents": [ent["agent"].pk, ent["sub1"].pk]})
    assert r.status_code == 302
    r = c.post(url, {"agents": [ent["sub2"].pk]})
    assert group_order(group) == ["811", "820", "812"]  # a batch is added in agent-number order
    audit = AuditLog.objects.filter(object_type="telephony.agentgroup", action="update").order_by("pk").last()
    assert audit.changes == {"members": [["811", "820"], ["811", "820", "812"]]}


def test_member_up_down_and_remove(ent, as_user):
    group = make_group(ent["enterprise"], "销售组", [ent["sub1"], ent["sub2"], ent["agent"]])
    c = as_user(ent["admin"])
    base = f"/telephony/agentgroups/{group.pk}/members"
    assert c.post(f"{base}/{ent['agent'].pk}/up/").status_code == 302
    assert group_order(group) == ["811", "820", "812"]
    c.post(f"{base}/{ent['agent'].pk}/up/")
    assert group_order(group) == ["820", "811", "812"]
    c.post(f"{base}/{ent['agent'].pk}/up/")  # already first: nothing moves
    assert group_order(group) == ["820", "811", "812"]
    c.post(f"{base}/{ent['sub1'].pk}/down/")
    assert group_order(group) == ["820", "812", "811"]
    c.post(f"{base}/{ent['sub2'].pk}/remove/")
    assert group_order(group) == ["820", "811"]
    body = page_text(c.get(f"{base}/"))
    assert body.index("坐席820") < body.index("坐席811")


def test_only_agents_of_the_enterprise_can_be_members(ent, other, as_user):
    group = make_group(ent["enterprise"])
    r = as_user(ent["admin"]).post(f"/telephony/agentgroups/{group.pk}/members/", {"agents": [other["agent"].pk]})
    assert r.status_code == 200 and "agents" in field_errors(r)
    assert group_order(group) == []
    body = page_text(as_user(ent["admin"]).get(f"/telephony/agentgroups/{group.pk}/members/"))
    assert "坐席801" not in body and "坐席820" in body


def test_disable_and_enable_group(ent, as_user):
    group = make_group(ent["enterprise"])
    c = as_user(ent["admin"])
    assert c.post(f"/telephony/agentgroups/{group.pk}/toggle/", {"enabled": "0"}).status_code == 302
    group.refresh_from_db()
    assert not group.enabled
    assert "【启用】" in page_text(c.get(f"/telephony/agentgroups/{group.pk}/"))
    c.post(f"/telephony/agentgroups/{group.pk}/toggle/", {"enabled": "1"})
    group.refresh_from_db()
    assert group.enabled


def test_group_used_by_a_flow_cannot_be_deleted(ent, as_user):
    e = ent["enterprise"]
    group = make_group(e, "销售组", [ent["agent"]])
    services.callflow_create(enterprise=e, values={"name": "群呼", "prompt": make_prompt(e), "agent_group": group})
    r = as_user(ent["admin"]).post(f"/telephony/agentgroups/{group.pk}/delete/")
    assert r.status_code == 409 and "流程“群呼”" in page_text(r)
    assert AgentGroup.objects.filter(pk=group.pk).exists()


def test_member_changes_need_change_permission(ent, as_user):
    group = make_group(ent["enterprise"], "销售组", [ent["agent"]])
    assert as_user(ent["agent"]).get(f"/telephony/agentgroups/{group.pk}/members/").status_code == 403
    r = as_user(ent["agent"]).post(f"/telephony/agentgroups/{group.pk}/members/{ent['agent'].pk}/remove/")
    assert r.status_code == 403
    assert group_order(group) == ["820"]


def test_api_group_members_are_an_ordered_list(ent, other, as_user):
    c = as_user(ent["admin"])
    ids = [ent["agent"].pk, ent["sub1"].pk, ent["sub2"].pk]
    r = c.post("/api/v1/agent-groups/", {"name": "接口组", "order_rule": "random", "members": ids},
               content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["members"] == ids
    pk = r.json()["id"]
    r = c.patch(f"/api/v1/agent-groups/{pk}/", {"members": list(reversed(ids))}, content_type="application/json")
    assert r.json()["members"] == list(reversed(ids))
    assert group_order(AgentGroup.objects.get(pk=pk)) == ["812", "811", "820"]
    r = c.patch(f"/api/v1/agent-groups/{pk}/", {"members": [other["agent"].pk]}, content_type="application/json")
    assert r.status_code == 400 and "members" in r.json()
    assert group_order(AgentGroup.objects.get(pk=pk)) == ["812", "811", "820"]
    assert as_user(other["admin"]).get(f"/api/v1/agent-groups/{pk}/").status_code == 404
    r = c.post("/api/v1/agent-groups/", {"name": "接口组"}, content_type="application/json")
    assert r.status_code == 400 and "name" in r.json()


# --- queues ----------------------------------------------------------------------------------------


QUEUE_FORM = {"name": "客服队列", "extension": "600", "strategy": "rrmemory", "ring_seconds": "15",
              "retry_seconds": "5", "announce_frequency": "30", "max_wait_seconds": "120"}


def test_add_queue_with_every_field(ent, as_user):
    e = ent["enterprise"]
    music = make_prompt(e, "等待音乐", kind="ringback")
    announce = make_prompt(e, "请稍候")
    before = make_prompt(e, "工号前")
    after = make_prompt(e, "工号后")
    r = as_user(ent["admin"]).post("/telephony/queues/add/", {
        **QUEUE_FORM, "music": music.pk, "announce": announce.pk, "before_number_prompt": before.pk,
        "after_number_prompt": after.pk, "announce_agent_number": "on", "overflow_to_mobile": "on",
        "enabled": "on", "members": [ent["agent"].pk, ent["sub1"].pk]})
    assert r.status_code == 302, field_errors(r)
    queue = Queue.objects.get(name="客服队列")
    assert (queue.strategy, queue.music, queue.announce, queue.enabled) == ("rrmemory", music, announce, True)
    assert queue.announce_agent_number and queue.overflow_to_mobile
    assert queue_order(queue) == ["811", "820"]


def test_enabling_a_queue_without_members_is_refused(ent, as_user):
    c = as_user(ent["admin"])
    r = c.post("/telephony/queues/add/", {**QUEUE_FORM, "enabled": "on"})
    assert r.status_code == 200
    assert field_errors(r)["enabled"] == ["队列状态：队列没有坐席，不能启用；请先在【设置坐席】中添加坐席"]
    assert not Queue.objects.exists()
    queue = make_queue(ent["enterprise"])
    assert not queue.enabled
    r = c.post(f"/telephony/queues/{queue.pk}/toggle/", {"enabled": "1"})
    assert r.status_code == 302
    queue.refresh_from_db()
    assert not queue.enabled
    assert "队列没有坐席，不能启用" in page_text(c.get(f"/telephony/queues/{queue.pk}/"))
    r = c.post(f"/telephony/queues/{queue.pk}/edit/", {**QUEUE_FORM, "enabled": "on"})
    assert "enabled" in field_errors(r)
    queue.refresh_from_db()
    assert not queue.enabled
    r = c.patch(f"/api/v1/queues/{queue.pk}/", {"enabled": True}, content_type="application/json")
    assert r.status_code == 400 and "enabled" in r.json()
    queue.refresh_from_db()
    assert not queue.enabled


def test_queue_enable_after_adding_members_and_last_member_kept(ent, as_user):
    queue = make_queue(ent["enterprise"])
    c = as_user(ent["admin"])
    c.post(f"/telephony/queues/{queue.pk}/members/", {"agents": [ent["agent"].pk]})
    c.post(f"/telephony/queues/{queue.pk}/toggle/", {"enabled": "1"})
    queue.refresh_from_db()
    assert queue.enabled
    r = c.post(f"/telephony/queues/{queue.pk}/members/{ent['agent'].pk}/remove/", follow=True)
    assert "队列已启用，至少要保留一个坐席" in page_text(r)
    assert queue_order(queue) == ["820"]


def test_queue_members_up_down(ent, as_user):
    queue = make_queue(ent["enterprise"], members=[ent["sub1"], ent["sub2"], ent["agent"]])
    c = as_user(ent["admin"])
    base = f"/telephony/queues/{queue.pk}/members"
    c.post(f"{base}/{ent['sub1'].pk}/down/")
    assert queue_order(queue) == ["812", "811", "820"]
    c.post(f"{base}/{ent['agent'].pk}/up/")
    assert queue_order(queue) == ["812", "820", "811"]
    c.post(f"{base}/{ent['agent'].pk}/down/")
    c.post(f"{base}/{ent['agent'].pk}/down/")  # already last
    assert queue_order(queue) == ["812", "811", "820"]


def test_queue_extension_rules(ent, as_user):
    c = as_user(ent["admin"])
    make_queue(ent["enterprise"], "一号队列", "600")
    r = c.post("/telephony/queues/add/", {**QUEUE_FORM, "name": "二号队列", "extension": "820"})
    assert field_errors(r)["extension"] == ["队列分机号：分机号 820 已是坐席号，队列分机号不能与坐席号相同"]
    r = c.post("/telephony/queues/add/", {**QUEUE_FORM, "name": "二号队列", "extension": "600"})
    assert field_errors(r)["extension"] == ["队列分机号：队列分机号 600 已被其他队列使用"]
    r = c.post("/telephony/queues/add/", {**QUEUE_FORM, "name": "二号队列", "extension": "60"})
    assert "extension" in field_errors(r)
    r = c.post("/telephony/queues/add/", {**QUEUE_FORM, "name": "一号队列", "extension": "601"})
    assert field_errors(r)["name"] == ["队列名：已有名为“一号队列”的队列"]
    assert Queue.objects.count() == 1


def test_queue_prompt_kinds(ent, as_user):
    e = ent["enterprise"]
    voice = make_prompt(e, "语音")
    r = as_user(ent["admin"]).post("/telephony/queues/add/", {**QUEUE_FORM, "music": voice.pk})
    assert "music" in field_errors(r)  # 队列彩铃 offers ringbacks only
    r = as_user(ent["admin"]).post("/api/v1/queues/", {**QUEUE_FORM, "music": voice.pk},
                                   content_type="application/json")
    assert r.status_code == 400 and r.json()["music"] == ["队列彩铃须是类型为“彩铃”的语音"]
    assert not Queue.objects.exists()


def test_api_queue_members(ent, other, as_user):
    c = as_user(ent["admin"])
    r = c.post("/api/v1/queues/", {**QUEUE_FORM, "enabled": True, "members": [ent["sub2"].pk, ent["agent"].pk]},
               content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["members"] == [ent["sub2"].pk, ent["agent"].pk]
    pk = r.json()["id"]
    r = c.patch(f"/api/v1/queues/{pk}/", {"members": []}, content_type="application/json")
    assert r.status_code == 400 and "队列没有坐席，不能启用" in r.json()["enabled"][0]
    assert queue_order(Queue.objects.get(pk=pk)) == ["812", "820"]
    assert as_user(other["admin"]).patch(f"/api/v1/queues/{pk}/", {"enabled": False},
                                         content_type="application/json").status_code == 404
    disabled = make_agent(ent["enterprise"], "890", agent_type="disabled")
    r = c.patch(f"/api/v1/queues/{pk}/", {"members": [disabled.pk]}, content_type="application/json")
    assert r.status_code == 400 and "890" in r.json()["members"][0]
