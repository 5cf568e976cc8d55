"""【发起任务】 on the customer list (R1 → T1): the ticked customers' numbers, or the list's current
query carried as a query (resolved on the server, within the user's data scope), fill 任务发送."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest

from callcenter.campaigns.models import Task
from callcenter.crm.models import Customer
from tests.campaigns.kit import *  # noqa: F403 - fixtures
from tests.campaigns.kit import field_errors, page_text, send_data, text_file

FROM = "/campaigns/tasks/send/from-customers/"


@pytest.fixture
def customers(camp):
    """Eight customers of A in the 老客户 category: 0-3 owned by agent 811 (the supervisor's), 4-7 by
    agent 820; one customer of B."""
    from callcenter.crm import services as crm

    made = []
    for i in range(8):
        owner = camp["sub1"] if i < 4 else camp["agent"]
        made.append(crm.customer_create(enterprise=camp["enterprise"], values={
            "category": camp["old"], "phone": f"1390000000{i}", "name": f"客户{i}", "owner": owner}))
    theirs = crm.customer_create(enterprise=camp["other"]["enterprise"], values={"category": camp["b_cat"],
                                                                                "phone": "13700000000"})
    return {"mine": made, "theirs": theirs}


def textarea(response) -> list[str]:
    m = re.search(r'<textarea name="numbers_text"[^>]*>(.*?)</textarea>', response.content.decode(), re.S)
    return [line for line in (m.group(1) if m else "").strip().splitlines() if line]


def hidden(response, name) -> str:
    m = re.search(rf'<input type="hidden" name="{name}" value="([^"]*)"', response.content.decode())
    return page_text_value(m.group(1)) if m else ""


def page_text_value(v):
    import html

    return html.unescape(v)


def test_the_customer_list_offers_the_button_to_who_may_create_tasks(camp, customers, as_user):
    assert 'id="btn-start-task"' in as_user(camp["admin"]).get("/crm/customers/").content.decode()
    assert 'id="btn-start-task"' not in as_user(camp["agent"]).get("/crm/customers/").content.decode()


def test_ticked_customers_fill_the_number_list(camp, customers, as_user):
    c = as_user(camp["admin"])
    ticked = customers["mine"][:3] + [customers["theirs"]]  # another enterprise's id is ignored
    r = c.post(FROM, {"pk": [x.pk for x in ticked], "query": ""})
    assert r.status_code == 200
    assert textarea(r) == ["13900000000", "13900000001", "13900000002"]
    assert "已带入所选客户的 3 个号码" in page_text(r)
    r = c.post("/campaigns/tasks/send/", send_data(camp, numbers_text="\n".join(textarea(r))))
    task = Task.objects.get()
    assert sorted(task.numbers.values_list("phone", flat=True)) == ["13900000000", "13900000001", "13900000002"]
    # the customers move to the task's category
    assert set(Customer.objects.filter(phone__in=["13900000000", "13900000001"]).values_list(
        "category", flat=True)) == {camp["cat"].pk}


def test_a_small_query_fills_the_list_and_a_large_one_travels_as_the_query(camp, customers, as_user, monkeypatch):
    from callcenter.campaigns import views

    c = as_user(camp["admin"])
    query = urlencode({"category": camp["old"].pk, "name": "客户"})
    r = c.post(FROM, {"query": query})
    assert len(textarea(r)) == 8
    assert f'<option value="{camp["old"].pk}" selected>' in r.content.decode()  # the list's category is offered
    monkeypatch.setattr(views.TaskFromCustomersView, "PREFILL_MAX", 5)
    r = c.post(FROM, {"query": query, "select_all": "1", "pk": [customers["mine"][0].pk]})
    assert textarea(r) == [] and hidden(r, "customer_query") == "?" + query
    assert "将发送客户查询结果中的号码：8 个客户" in page_text(r)
    data = send_data(camp, customer_query="?" + query)
    r = c.post("/campaigns/tasks/send/", data)
    assert r.status_code == 302, field_errors(r)
    task = Task.objects.get()
    assert task.numbers.count() == 8 and task.source_name == "客户查询结果"


def test_the_query_is_resolved_within_the_users_scope(camp, customers, as_user):
    r = as_user(camp["supervisor"]).post("/campaigns/tasks/send/", send_data(camp, customer_query="?"))
    assert r.status_code == 302
    task = Task.objects.get()
    # the supervisor sees the customers of 811 (below them), not those of 820
    assert sorted(task.numbers.values_list("phone", flat=True)) == [f"1390000000{i}" for i in range(4)]


def test_a_file_or_list_given_with_the_query_wins(camp, customers, as_user):
    c = as_user(camp["admin"])
    c.post("/campaigns/tasks/send/", send_data(camp, customer_query="?", numbers_file=text_file(["13800000001"])))
    assert list(Task.objects.get().numbers.values_list("phone", flat=True)) == ["13800000001"]


def test_a_query_over_the_cap_is_refused(camp, customers, as_user, settings, monkeypatch):
    from callcenter.campaigns import views

    settings.CALLCENTER = {**settings.CALLCENTER, "TASK_MAX_NUMBERS": 5}
    monkeypatch.setattr(views.TaskFromCustomersView, "PREFILL_MAX", 2)
    c = as_user(camp["admin"])
    r = c.post(FROM, {"query": "", "select_all": "1"})
    assert "客户查询结果超过 5 个号码的上限，请缩小查询条件" in page_text(r)
    r = c.post("/campaigns/tasks/send/", send_data(camp, customer_query=f"?category={camp['old'].pk}"))
    assert r.status_code == 400 and "最多 5 个号码" in field_errors(r)["numbers_file"][0]
    assert not Task.objects.exists()


def test_who_may_not_create_tasks_or_see_customers_is_refused(camp, customers, as_user):
    for who in ("agent", "staff"):
        assert as_user(camp[who]).post(FROM, {"query": ""}).status_code == 403
    from django.contrib.auth.models import Permission

    from callcenter.accounts.models import Role

    role = Role.objects.get(enterprise=camp["enterprise"], name="班长")
    role.permissions.remove(Permission.objects.get(content_type__app_label="crm", codename="view_customer"))
    c = as_user(camp["supervisor"])
    assert c.post(FROM, {"query": ""}).status_code == 403
    assert c.post("/campaigns/tasks/send/", send_data(camp, customer_query="?")).status_code == 403
    assert not Task.objects.exists()
