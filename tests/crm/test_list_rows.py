"""List rows (core/_table.html) rendered by core.tables.FastRows: the same <tr>s the template made
from django-tables2's rows (checkbox, cells, 【查看】【编辑】【删除】 and a screen's own row buttons such
as 外显设置's 【默认】), for each user's permissions and column settings; and the customer API list
reads related rows by id, with a query count that does not grow with the page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.template import RequestContext, Template
from django.test.utils import CaptureQueriesContext
from django_tables2.rows import BoundRows

from callcenter.accounts import services as accounts
from callcenter.core.tables import FastRows
from callcenter.crm import services
from tests.calls.conftest import T0, call
from tests.crm.conftest import make_customer

# the rows of core/_table.html before FastRows, every cell and link through the template engine
TEMPLATE_ROWS = Template("""{% load i18n %}{% for row in table.rows %}
    <tr>
      {% if can.bulk_edit or can.bulk_delete %}<td><input type="checkbox" class="form-check-input" name="pk" value="{{ row.record.pk }}" aria-label="{{ row.record }}"></td>{% endif %}
      {% for cell in row %}<td><span class="cell" title="{{ cell|striptags }}">{{ cell }}</span></td>{% endfor %}
      <td class="text-end">
        {% if can.detail %}<a class="btn btn-sm btn-link p-0" href="{% url urls.detail row.record.pk %}">{% trans "查看" %}</a>{% endif %}
        {% if can.edit %}<a class="btn btn-sm btn-link p-0 ms-1" href="{% url urls.edit row.record.pk %}">{% trans "编辑" %}</a>{% endif %}
        {% if screen.model_name == "callerid" and perms.accounts.change_callerid %}<a class="btn btn-sm btn-link p-0 ms-1" href="{% url 'accounts:callerid_default' row.record.pk %}">【{% trans "默认" %}】</a>{% endif %}
        {% if can.delete %}<a class="btn btn-sm btn-link text-danger p-0 ms-1" href="{% url urls.delete row.record.pk %}">{% trans "删除" %}</a>{% endif %}
      </td>
    </tr>
  {% empty %}
    <tr><td colspan="99" class="text-muted text-center py-3">{% trans "没有记录" %}</td></tr>
  {% endfor %}""")  # noqa: E501


def rows_match_the_template(response, *, own_cells: bool = False) -> str:
    """The page's rows, checked against TEMPLATE_ROWS over django-tables2's rows of the same table
    (`own_cells`: over the table's own cells, for a table whose cell_* methods make them)."""
    assert response.status_code == 200
    page = response.content.decode()
    start = page.index("<tbody>\n  ") + len("<tbody>\n  ")
    shown = page[start:page.index("\n  </tbody>", start)]
    context = response.context[0].flatten()
    table = context["table"]
    assert isinstance(table.rows, FastRows)
    if not own_cells:
        table.rows = BoundRows(data=table.data, table=table, pinned_data=table.pinned_data)
    assert shown == TEMPLATE_ROWS.render(RequestContext(response.wsgi_request, context))
    return shown


@pytest.fixture
def customers(crm):
    services.customerfield_create(enterprise=crm["enterprise"], values={
        "key": "note", "label": "<备注>", "field_type": "text", "order": 4})
    made = [make_customer(crm, crm["agent"] if i % 2 else crm["sub1"], phone=f"1380000010{i}",
                          name=f'客户{i} <b>"&"</b>', data={"intent": "A", "note": "<i>x</i> & y", "budget": i})
            for i in range(6)]
    services.customer_lock(customer=made[1], agent=crm["agent"])
    return made


@pytest.mark.parametrize("who", ["admin", "supervisor", "agent"])
def test_customer_rows_are_the_template_rows(crm, customers, as_user, who):
    shown = rows_match_the_template(as_user(crm[who]).get("/crm/customers/"))
    assert shown.count("<tr>") >= 3
    if who == "admin":
        assert "锁定 820" in shown and "&lt;b&gt;&quot;&amp;&quot;&lt;/b&gt;" in shown
        assert f'href="/crm/customers/{customers[0].pk}/edit/"' in shown


def test_rows_follow_the_column_settings(crm, customers, as_user):
    c = as_user(crm["admin"])
    c.post("/crm/customers/columns/", {"columns": ["f_note", "phone", "locked_by"],
                                       "order": ["f_note", "phone", "locked_by", "name"], "label_phone": "手机"})
    shown = rows_match_the_template(c.get("/crm/customers/?per_page=10"))
    first = shown[shown.index('<span class="cell"'):shown.index("</tr>")]
    assert first.count('<span class="cell"') == 3 and first.index("&lt;i&gt;x") < first.index("13800000")


def test_caller_id_rows_offer_default_to_whom_may_change_it(ent, as_user):
    accounts.caller_ids_add(enterprise=ent["enterprise"], start="02066660001", end="02066660003")
    shown = rows_match_the_template(as_user(ent["admin"]).get("/accounts/callerids/"))
    assert shown.count("【默认】") >= 3 and "/default/" in shown


def test_call_record_rows_are_the_template_rows(ent, as_user):
    e = ent["enterprise"]
    for i in range(3):
        call(e, agent=ent["agent"] if i else None, start=T0.replace(hour=9 + i), recording=bool(i), talk=None if i == 2
             else 30, group_name="<组>")
    shown = rows_match_the_template(as_user(ent["admin"]).get("/calls/cdrs/"), own_cells=True)
    assert shown.count("<tr>") == 3


def test_customer_api_list_reads_related_ids_without_joins(crm, customers, as_user):
    c = as_user(crm["admin"])
    with CaptureQueriesContext(connection) as small:
        c.get("/api/v1/customers/?page_size=2")
    with CaptureQueriesContext(connection) as big:
        c.get("/api/v1/customers/?page_size=6")
    assert len(small.captured_queries) == len(big.captured_queries) <= 6
    page = [q["sql"] for q in big.captured_queries if 'FROM "crm_customer"' in q["sql"]]
    assert len(page) == 1 and "JOIN" not in page[0]
    results = c.get("/api/v1/customers/").json()["results"]
    by_id = {row["id"]: row for row in results}
    locked = by_id[customers[1].pk]
    assert locked["locked"] is True and locked["locked_by"] == crm["agent"].pk
    assert by_id[customers[0].pk]["owner"] == crm["sub1"].pk and by_id[customers[0].pk]["locked"] is False
    assert by_id[customers[0].pk]["category"] == crm["retail"].pk
    # one customer's own page still names the lock holder (related row loaded)
    assert c.get(f"/api/v1/customers/{customers[1].pk}/").json()["locked_by"] == crm["agent"].pk


def test_every_list_page_shows_the_template_rows(crm, customers, as_user):
    """Each screen's list, as the administrator sees it with the shared fixtures' rows."""
    from django.urls import NoReverseMatch, reverse

    from callcenter.core.screens import all_screens

    e = crm["enterprise"]
    call(e, agent=crm["agent"], start=T0, recording=True)
    accounts.caller_ids_add(enterprise=e, start="02066660001", end="02066660002")
    c = as_user(crm["admin"])
    checked = []
    for screen in all_screens():
        if "list" not in screen.actions:
            continue
        try:
            url = reverse(screen.url_name("list"))
        except NoReverseMatch:  # a list under a parent row (a task's numbers)
            continue
        response = c.get(url)
        if response.status_code != 200 or "table" not in response.context[0]:
            continue
        table = response.context[0]["table"]
        own_cells = any(hasattr(table, f"cell_{column.name}") for column in table.columns)
        shown = rows_match_the_template(response, own_cells=own_cells)
        if '<span class="cell"' in shown:  # rows, not the empty-list row
            checked.append(screen.key)
    assert {"crm.customer", "accounts.agent", "accounts.callerid", "calls.cdr", "accounts.role"} <= set(checked)
