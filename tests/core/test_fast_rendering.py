"""The faster <select> and date-time column render exactly what Django and django-tables2 do."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import django_tables2 as t2
import pytest
from django import forms
from django.utils import translation
from django.utils.safestring import mark_safe

from callcenter.core.forms import _FAST_INPUTS, FastSelect, bootstrapify
from callcenter.core.tables import DateTimeColumn

CHOICES = [("", "---------"), (1, "801 张三"), ("2", '<b>"x"</b> & y'), (None, "none"), ("3", "801 张三"),
           ("group", [("a", "A"), ("b", "B")]), ("", [("c", "C")])]


@pytest.mark.parametrize("value", [None, "", 1, "1", "2", "3", "b", "c", "missing"])
@pytest.mark.parametrize("attrs", [{}, {"class": "form-select", "required": True, "disabled": False,
                                        "data-q": '"quoted" <tag>'}])
def test_fast_select_renders_like_django(value, attrs):
    expected = forms.Select(attrs=attrs, choices=CHOICES).render("agent", value, attrs={"id": "id_agent"})
    assert FastSelect(attrs=attrs, choices=CHOICES).render("agent", value, attrs={"id": "id_agent"}) == expected


INPUTS = [forms.TextInput, forms.NumberInput, forms.EmailInput, forms.URLInput, forms.DateInput,
          forms.DateTimeInput, forms.TimeInput]


@pytest.mark.parametrize("widget", INPUTS)
@pytest.mark.parametrize("value", [None, "", 0, 12.5, "a<b>\"c\" & 'd'", mark_safe("<i>safe</i>"), ("t", 1),
                                   datetime(2026, 1, 31, 17, 5, 9), date(2026, 2, 1), time(8, 30)])
@pytest.mark.parametrize("attrs", [{}, {"class": "form-control", "required": True, "disabled": False,
                                        "placeholder": '"quoted" <tag>', "maxlength": 60}])
@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_fast_inputs_render_like_django(widget, value, attrs, lang):
    fast = _FAST_INPUTS[widget]
    with translation.override(lang):
        expected = widget(attrs=attrs).render("q", value, attrs={"id": "id_q"})
        assert fast(attrs=attrs).render("q", value, attrs={"id": "id_q"}) == expected


def test_bootstrapify_speeds_up_plain_selects_only():
    class F(forms.Form):
        one = forms.ChoiceField(choices=CHOICES[:3])
        many = forms.MultipleChoiceField(choices=CHOICES[:3])
        maybe = forms.NullBooleanField()

    form = bootstrapify(F())
    assert type(form.fields["one"].widget) is FastSelect
    assert type(form.fields["many"].widget) is forms.SelectMultiple
    assert type(form.fields["maybe"].widget) is forms.NullBooleanSelect
    assert 'class="form-select form-select-sm"' in str(form["one"])


def test_bootstrapify_speeds_up_plain_inputs_only():
    class F(forms.Form):
        text = forms.CharField()
        since = forms.DateTimeField()
        secret = forms.CharField(widget=forms.PasswordInput)
        notes = forms.CharField(widget=forms.Textarea)

    form = bootstrapify(F(initial={"text": "<x>", "since": datetime(2026, 1, 31, 17, 5, 9)}))
    assert type(form.fields["text"].widget) is _FAST_INPUTS[forms.TextInput]
    assert type(form.fields["since"].widget) is _FAST_INPUTS[forms.DateTimeInput]
    assert type(form.fields["secret"].widget) is forms.PasswordInput
    assert type(form.fields["notes"].widget) is forms.Textarea
    assert str(form["text"]) == ('<input type="text" name="text" value="&lt;x&gt;" class="form-control form-control-sm"'
                                 ' required id="id_text">')


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_datetime_column_renders_like_django_tables2(settings, lang):
    settings.TIME_ZONE = "Asia/Shanghai"
    rows = [{"at": datetime(2026, 1, 31, 17, 5, 9, tzinfo=UTC)}, {"at": None}]

    class Theirs(t2.Table):
        at = t2.DateTimeColumn(format="Y-m-d H:i:s")
        short = t2.DateTimeColumn(accessor="at")

    class Ours(t2.Table):
        at = DateTimeColumn(format="Y-m-d H:i:s")
        short = DateTimeColumn(accessor="at")

    with translation.override(lang):
        theirs = [[str(cell) for cell in row] for row in Theirs(rows).rows]
        ours = [[str(cell) for cell in row] for row in Ours(rows).rows]
    assert ours == theirs
    assert ours[0][0] == "2026-02-01 01:05:09"
