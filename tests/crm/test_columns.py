"""【栏目设置】 of the customer list (manual 2.3.1): with 【上】【下】【编辑】 the user sets the columns'
order, whether each shows, and its name; 【恢复默认】 (the manual's 【重构字段】) goes back to the
default. Each user's setting is their own."""

from __future__ import annotations

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from callcenter.core.models import ColumnPreference
from tests.crm.conftest import make_customer

URL = "/crm/customers/"
COLUMNS = "/crm/customers/columns/"


def headers(response) -> list[str]:
    """The column headers as rendered in the list's <thead>."""
    page = response.content.decode()
    head = page[page.index('id="list-table"'):page.index("</thead>")]
    cells = [re.sub(r"<[^>]+>", "", h).strip() for h in re.findall(r"<th>(?!<input)(.*?)</th>", head, re.S)]
    assert cells == [str(h["label"]) for h in response.context["headers"]] + [""]
    return cells[:-1]


def test_order_visibility_and_labels_then_reset(crm, as_user):
    make_customer(crm, crm["agent"], name="王五")
    c = as_user(crm["admin"])
    default = headers(c.get(URL))
    assert default[:3] == ["客户名称", "电话", "公司"], default
    page = c.get(URL).content.decode()
    assert 'name="label_name"' in page and "col-up" in page and "btn-columns-reset" in page

    # phone first, then the renamed name; company hidden
    r = c.post(COLUMNS, {"columns": ["name", "phone", "category"], "order": ["phone", "name", "category", "company"],
                         "label_name": "姓名", "label_phone": "电话", "label_category": ""}, follow=True)
    assert r.status_code == 200 and "栏目设置已保存" in r.content.decode()
    assert headers(c.get(URL)) == ["电话", "姓名", "客户分类"]
    pref = ColumnPreference.objects.get(user=crm["admin"], table="crm.customer")
    assert pref.columns == {"columns": ["phone", "name", "category"], "labels": {"name": "姓名"}}
    # the settings dialog lists the chosen order first and shows the renamed label
    page = c.get(URL).content.decode()
    assert page.index('data-column="phone"') < page.index('data-column="name"') < page.index('data-column="company"')
    assert 'name="label_name" value="姓名"' in page

    # another user still has the default
    assert headers(as_user(crm["supervisor"]).get(URL))[:3] == default[:3]

    # 【恢复默认】
    r = c.post(COLUMNS, {"reset": "1"}, follow=True)
    assert "栏目已恢复默认" in r.content.decode()
    assert headers(c.get(URL)) == default
    assert not ColumnPreference.objects.filter(user=crm["admin"]).exists()


def test_bad_settings_are_refused_and_change_nothing(crm, as_user):
    c = as_user(crm["admin"])
    c.post(COLUMNS, {"columns": ["name", "phone"], "order": ["name", "phone"], "label_name": "姓名"})
    before = ColumnPreference.objects.get(user=crm["admin"]).columns
    r = c.post(COLUMNS, {"columns": ["name"], "order": ["name"], "label_name": "长" * 61}, follow=True)
    assert "栏目“客户名称”的名称最多60个字符" in r.content.decode()
    r = c.post(COLUMNS, {"order": ["name"], "label_name": "姓名"}, follow=True)
    assert "至少选择一列" in r.content.decode()
    r = c.post(COLUMNS, {"columns": ["password", "enterprise"], "order": []}, follow=True)  # unknown columns
    assert "至少选择一列" in r.content.decode()
    assert ColumnPreference.objects.get(user=crm["admin"]).columns == before


def test_older_plain_list_preferences_still_apply(crm, as_user):
    ColumnPreference.objects.create(user=crm["admin"], table="crm.customer", columns=["phone", "name"])
    assert headers(as_user(crm["admin"]).get(URL)) == ["电话", "客户名称"]


def test_renamed_columns_cost_no_extra_query_per_row(crm, as_user):
    for i in range(12):
        make_customer(crm, crm["agent"], phone=f"1380000{i:04d}", name=f"客户{i}")
    c = as_user(crm["admin"])
    c.post(COLUMNS, {"columns": ["name", "phone", "owner", "category"], "order": ["name", "phone", "owner"],
                     "label_owner": "负责人"})
    with CaptureQueriesContext(connection) as small:
        c.get(URL + "?per_page=10")
    with CaptureQueriesContext(connection) as big:
        r = c.get(URL + "?per_page=30")
    assert "负责人" in headers(r)
    assert len(big.captured_queries) == len(small.captured_queries)


def test_permission_and_anonymous(crm, as_user, client):
    staff = as_user(crm["staff"])  # 普通员工 has no customer list
    assert staff.post(COLUMNS, {"columns": ["name"], "order": ["name"]}).status_code == 403
    assert not ColumnPreference.objects.exists()
    r = client.post(COLUMNS, {"columns": ["name"]})
    assert r.status_code == 302 and "/accounts/login/" in r["Location"]
