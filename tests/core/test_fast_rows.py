"""List rows rendered once per column (core.tables.FastRows) are the rows django-tables2 and the
list template render, byte for byte: values, choices, defaults, render_<name> methods of any
signature, links, templates, escaping and the cell titles."""

from __future__ import annotations

from datetime import timedelta

import django_tables2 as t2
import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse
from django.utils import translation
from django.utils.html import escape, format_html

from callcenter.accounts.choices import AgentType
from callcenter.calls.choices import CallDirection
from callcenter.calls.models import Cdr
from callcenter.core.tables import BadgeColumn, DateTimeColumn, FastRows, PkUrl, RowFrame, use_fast_rows
from tests.calls.conftest import T0, call

# core/_table.html before FastRows: every cell through the template
SLOW = Template('{% for row in table.rows %}<tr>{% for cell in row %}<td><span class="cell" '
                'title="{{ cell|striptags }}">{{ cell }}</span></td>{% endfor %}</tr>{% endfor %}')
FAST = Template("{% for row in table.rows %}<tr>{{ row.cells_html }}</tr>{% endfor %}")


class Mixed(t2.Table):
    started_at = DateTimeColumn(format="Y-m-d H:i:s")
    short = DateTimeColumn(accessor="started_at")  # SHORT_DATETIME_FORMAT: the language's
    literal = DateTimeColumn(accessor="started_at", format=r"Y年m月d日 \Y {H}")
    named = DateTimeColumn(accessor="started_at", format="D, j M Y P")  # not numeric: Django's formatter
    answered_at = t2.DateTimeColumn(format="Y-m-d H:i")
    direction = t2.Column()  # a field with choices: its label
    badge = BadgeColumn(accessor="direction", enum=CallDirection)
    agent = t2.Column()  # a foreign key: str(), or the table's default when there is none
    agent_name = t2.Column(accessor="agent__name")  # across a foreign key that may be null
    agent_number = t2.Column(accessor="agent__number", default="n/a")
    agent_type = t2.Column(accessor="agent__agent_type")  # a field with choices across a foreign key
    caller = t2.Column(linkify=lambda record: f"/x/{record.pk}/?a=1&b=2")
    callee = t2.LinkColumn("calls:cdr_detail", args=[t2.A("pk")])
    ring_seconds = t2.Column()
    talk_seconds = t2.Column(empty_values=())  # None reaches render_talk_seconds
    answered = t2.BooleanColumn(accessor="answered_at")
    template = t2.TemplateColumn("<b>{{ record.caller }}</b> {{ value }}", accessor="callee")
    group_name = t2.Column()  # text with markup characters, escaped
    display = t2.Column(accessor="get_direction_display")  # a method as the accessor
    missing = t2.Column(accessor="no_such_attribute")
    missing_link = t2.LinkColumn("calls:cdr_detail", args=[t2.A("pk")], accessor="no_such_attribute",
                                 text="link text")
    last_key = t2.Column()
    cause = t2.Column()
    every = t2.Column(accessor="pk", empty_values=())
    wants_more = t2.Column(accessor="pk")

    def render_ring_seconds(self, value):
        return f"{value} s"

    def render_talk_seconds(self, value, record):
        return "—" if value is None else format_html("<i>{}</i> ({})", value, record.pk)

    def render_last_key(self, value, record, bound_column, bound_row, table, column):
        assert bound_row.record is record and table is self and column is bound_column.column
        return f"{bound_column.name}={value}"

    def render_every(self, **kwargs):
        return format_html('<a href="#{}">{}</a>', kwargs["record"].pk, sorted(kwargs))

    def render_cause(self, record):
        return record.cause * 2

    def render_wants_more(self, value, unknown):  # django-tables2 does not call it: None
        raise AssertionError("not called")


@pytest.fixture
def cdrs(ent):
    e = ent["enterprise"]
    rows = [
        call(e, agent=ent["agent"], start=T0, group_name='<b>"组"</b> & \'y\'', last_key="1"),
        call(e, start=T0 + timedelta(hours=13), direction="in", talk=None, cause=19, group_name="a < b > c"),
        call(e, agent=ent["admin"], start=T0 + timedelta(days=200, minutes=7), ring=0, group_name=""),
    ]
    Cdr.objects.filter(pk=rows[2].pk).update(caller="<script>x</script>")
    return list(Cdr.objects.filter(pk__in=[r.pk for r in rows]).select_related("agent").order_by("pk"))


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_fast_rows_render_what_django_tables2_renders(cdrs, settings, lang):
    settings.TIME_ZONE = "Asia/Shanghai"
    with translation.override(lang):
        slow = SLOW.render(Context({"table": Mixed(cdrs)}))
        table = use_fast_rows(Mixed(cdrs))
        fast = FAST.render(Context({"table": table}))
        cells = [[str(c) for c in row] for row in table.rows]
        theirs = [[str(c) for c in row] for row in Mixed(cdrs).rows]
        normal = str(AgentType.NORMAL.label)
    assert fast == slow
    assert cells == theirs
    assert "&lt;script&gt;" in fast and "<script>" not in fast
    assert "2025-06-02 09:00:00" in fast and "2025年06月02日 Y {09}" in fast
    names = [c.name for c in table.columns]
    assert cells[0][names.index("agent_type")] == normal  # the label, not "normal"


def test_fast_rows_follow_the_chosen_columns_and_records_as_dicts(cdrs):
    records = [{"a": 1, "b__c": "<b>x</b>", "d": None}, {"a": None, "b__c": "", "d": {"e": 5}}]

    class Dicts(t2.Table):
        a = t2.Column()
        b = t2.Column(accessor="b__c")
        e = t2.Column(accessor="d__e")

    for kwargs in ({}, {"sequence": ["e", "a", "b"], "exclude": ["b"]}):
        slow = SLOW.render(Context({"table": Dicts(records, **kwargs)}))
        assert FAST.render(Context({"table": use_fast_rows(Dicts(records, **kwargs))})) == slow
    table = use_fast_rows(Mixed(cdrs, sequence=["cause", "agent", "..."], exclude=["badge", "template"]))
    assert [c.name for c in table.columns][:2] == ["cause", "agent"]
    assert FAST.render(Context({"table": table})) == SLOW.render(Context({"table": Mixed(
        cdrs, sequence=["cause", "agent", "..."], exclude=["badge", "template"])}))


def test_row_frame_puts_checkbox_cells_and_links_around_each_row(cdrs):
    detail = PkUrl("calls:cdr_detail")
    frame = RowFrame(checkbox=True, slots=[[("btn a", detail, "看")], [], [("b", detail, "&lt;x&gt;")]])
    table = use_fast_rows(Mixed(cdrs), frame)
    assert isinstance(table.rows, FastRows) and len(table.rows) == len(cdrs)
    for row, cdr in zip(table.rows, cdrs, strict=True):
        url = reverse("calls:cdr_detail", args=[cdr.pk])
        assert row.html == (f'\n    <tr>\n      <td><input type="checkbox" class="form-check-input" name="pk" '
                            f'value="{cdr.pk}" aria-label="{escape(str(cdr))}"></td>\n      {row.cells_html}'
                            f'\n      <td class="text-end">\n        <a class="btn a" href="{url}">看</a>\n        '
                            f'\n        <a class="b" href="{url}">&lt;x&gt;</a>\n      </td>\n    </tr>')
    bare = next(iter(use_fast_rows(Mixed(cdrs)).rows)).html
    assert "checkbox" not in bare and "<a " not in bare.split('class="text-end">')[1]


def test_pk_urls_are_the_reversed_urls():
    url = PkUrl("calls:cdr_detail")
    assert url(7) == reverse("calls:cdr_detail", args=[7])
    assert url("8") == reverse("calls:cdr_detail", args=["8"])  # not an int: reversed as the url tag would
    with pytest.raises(NoReverseMatch):
        url(-1)
