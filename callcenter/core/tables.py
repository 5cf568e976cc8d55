from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from html import escape as _escape
from itertools import chain

import django_tables2 as tables
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template import Context
from django.template.base import render_value_in_context
from django.template.defaultfilters import striptags
from django.urls import reverse
from django.utils import dateformat, formats, timezone
from django.utils.html import conditional_escape, format_html, strip_tags
from django.utils.safestring import SafeString, mark_safe
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.rows import BoundRow
from django_tables2.utils import A, signature


class BadgeColumn(tables.Column):
    """A choice shown as a coloured badge; the colour is the choice's `badge` property."""

    def __init__(self, *args, enum, **kwargs):
        self.enum = enum
        super().__init__(*args, **kwargs)

    def render(self, value, record, bound_column):
        # django-tables2 hands choice fields over as their label: read the stored value.
        raw = bound_column.accessor.resolve(record)
        try:
            member = self.enum(raw)
        except ValueError:
            return value
        return format_html('<span class="badge text-bg-{}">{}</span>', member.badge, member.label)


# Django's date format characters that are zero-padded numbers, as str.format fields of a datetime.
_NUMERIC = {"Y": "{0.year:04d}", "m": "{0.month:02d}", "d": "{0.day:02d}", "H": "{0.hour:02d}",
            "i": "{0.minute:02d}", "s": "{0.second:02d}"}
_templates: dict[str, str | None] = {}


def _numeric_template(fmt: str) -> str | None:
    """A str.format template writing `fmt` as django.utils.dateformat does, if `fmt` uses only the
    numeric characters above (other characters depend on the language or the time zone: None)."""
    template = _templates.get(fmt, "")
    if template == "":
        parts = []
        for i, piece in enumerate(dateformat.re_formatchars.split(fmt)):
            if i % 2:
                if piece not in _NUMERIC:
                    parts = None
                    break
                parts.append(_NUMERIC[piece])
            elif piece:
                parts.append(dateformat.re_escaped.sub(r"\1", piece).replace("{", "{{").replace("}", "}}"))
        template = _templates[fmt] = None if parts is None else "".join(parts)
    return template


class DateTimeColumn(tables.Column):
    """A date-time in the current time zone, formatted like the `date` filter.

    django-tables2's DateTimeColumn compiles a template for every cell it renders (about
    0.2 ms each: a quarter of a 50-row login-log page, see bench/); this one formats in Python,
    numeric formats ("Y-m-d H:i") with one str.format (dateformat costs ~15 us a cell).
    """

    def __init__(self, *args, format="SHORT_DATETIME_FORMAT", **kwargs):
        self.format = format
        super().__init__(*args, **kwargs)

    def render(self, value):
        if isinstance(value, datetime):
            if timezone.is_aware(value):
                value = timezone.localtime(value)
            template = _numeric_template(formats.get_format(self.format))
            if template is not None:
                return template.format(value)
        return formats.date_format(value, self.format)

    def value(self, value):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value


# --- rows rendered once per column, not once per cell ----------------------------------------------------
#
# django-tables2 renders a cell through BoundRow.get_cell: it re-parses the accessor, looks the model
# field up, inspects the render method's signature (`call_with_appropriate`, ~0.1 ms) and the list
# template then runs `striptags` and escaping on every cell. With 50 rows of 10 columns that was most
# of a customer list page (bench/customers.py). `FastRows` does the per-column part once per page and
# builds the <td>s core/_table.html would build, byte for byte (tests/core/test_fast_rows.py).

EMPTY = "—"

_CONTEXT = Context()  # the defaults of a list page's context: autoescape on, settings' time zone and l10n


def _td(cell, titles: dict) -> str:
    """`<td><span class="cell" title="{{ cell|striptags }}">{{ cell }}</span></td>`, as the template renders it."""
    kind = type(cell)
    if kind is str and not ("<" in cell and ">" in cell):
        html = title = _escape(cell)  # plain text: striptags leaves it alone, both sides escaped
    elif kind is SafeString:
        html = cell
        title = titles.get(cell)
        if title is None:
            title = titles[cell] = strip_tags(cell)  # safe in, safe out: not escaped again
    else:
        html = render_value_in_context(cell, _CONTEXT)
        title = conditional_escape(striptags(cell))
    return f'<td><span class="cell" title="{title}">{html}</span></td>'


_signatures: dict = {}


def _signature(fn) -> tuple[tuple[str, ...], str | None]:
    """django-tables2's `signature`, once per method (each page's columns are fresh copies, their
    bound methods new objects, the functions behind them the same)."""
    func = getattr(fn, "__func__", None)
    if func is None:
        return signature(fn)
    found = _signatures.get(func)
    if found is None:
        found = _signatures[func] = signature(fn)
    return found


class _CellRenderer:
    """BoundRow.get_cell for one column, with the per-column work done once."""

    def __init__(self, table, bound_column):
        column = bound_column.column
        self.table = table
        self.bound_column = bound_column
        self.column = column
        self.accessor = A(bound_column.accessor)
        path, _sep, self.remainder = self.accessor.rpartition(self.accessor.SEPARATOR)
        self.head = A(path).bits
        self.empty_values = column.empty_values
        self.m2m = isinstance(column, ManyToManyColumn)
        self.link_text = isinstance(column, BaseLinkColumn) and column.text is not None
        self.link = bound_column.link
        render = bound_column.render
        # Column.render returns the value as it is: no call at all for the plain columns.
        self.plain = (getattr(render, "__func__", None) is tables.Column.render and not self.link)
        self.render = render
        self.args, self.kwargs_name = _signature(render)
        self.direct = not self.head and not self.accessor.callable_args and not self.accessor.callable_kwargs
        self._types: dict[type, tuple[bool, bool]] = {}

    def _type_info(self, record) -> tuple[bool, bool]:
        """Per record type: (the accessor, followed from the record's model, ends at a field with
        choices; the record's attributes can be read directly: Accessor.resolve tries `record[bit]`
        first, which fails on a model without __getitem__)."""
        kind = type(record)
        info = self._types.get(kind)
        if info is None:
            try:
                field = self.accessor.get_field(record)
            except FieldDoesNotExist:
                field = None
            info = self._types[kind] = (bool(getattr(field, "choices", ())), not hasattr(kind, "__getitem__"))
        return info

    def _penultimate(self, record):
        """Accessor.penultimate(record) (quiet)."""
        if not self.head:
            return record
        current = record
        for bit in self.head:
            if not (isinstance(current, models.Model) and not hasattr(type(current), "__getitem__")):
                return A(A.SEPARATOR.join(self.head)).resolve(record, quiet=True)
            try:
                current = getattr(current, bit)
            except Exception:
                return None  # quiet
            if callable(current):
                return A(A.SEPARATOR.join(self.head)).resolve(record, quiet=True)
            if current is None:
                break
        return current

    def __call__(self, record):
        value = None
        remainder = self.remainder
        penultimate = self._penultimate(record)
        if isinstance(penultimate, models.Model):
            choices, direct = self._type_info(record)
            if choices:
                display = getattr(penultimate, f"get_{remainder}_display", None)
                if display:
                    value = display()
                    remainder = None
            if remainder and direct and self.direct:
                value = self._attribute(penultimate, remainder)
                remainder = None
        if remainder:
            value = self._resolve(record)
        if value is _UNRESOLVED:
            if self.link_text:
                return self._render(record, None)
            value = None
        if value in self.empty_values or (self.m2m and not value.exists()):
            return self.bound_column.default
        if self.plain:
            return value
        return self._render(record, value)

    @staticmethod
    def _attribute(obj, name):
        """Accessor.resolve's attribute step on a model instance, failures as get_cell takes them."""
        try:
            value = getattr(obj, name)
            if callable(value):
                if getattr(value, "alters_data", False):
                    return _UNRESOLVED
                if not getattr(value, "do_not_call_in_templates", False):
                    value = value()
        except Exception:
            return _UNRESOLVED
        return value

    def _resolve(self, record):
        try:
            return self.accessor.resolve(record)
        except Exception:
            return _UNRESOLVED

    def _render(self, record, value):
        names = self.args
        needs_all = self.kwargs_name is not None or self.link
        kwargs = {}
        if needs_all or "value" in names:
            kwargs["value"] = value
        if needs_all or "record" in names:
            kwargs["record"] = record
        if needs_all or "column" in names:
            kwargs["column"] = self.column
        if needs_all or "bound_column" in names:
            kwargs["bound_column"] = self.bound_column
        if needs_all or "bound_row" in names:
            kwargs["bound_row"] = BoundRow(record, self.table)
        if needs_all or "table" in names:
            kwargs["table"] = self.table
        if self.kwargs_name is not None:
            content = self.render(**kwargs)
        elif any(name not in kwargs for name in names):
            content = None  # call_with_appropriate does not call a method wanting more than it offers
        else:
            content = self.render(**{name: kwargs[name] for name in names})
        return self.link(content, **kwargs) if self.link else content


_UNRESOLVED = object()


class PkUrl:
    """`{% url name pk %}` for many pks: reversed once with a marker pk, then the pk put in its place."""

    MARKER = 9_087_654_321_012_345

    def __init__(self, name: str):
        self.name = name
        parts = reverse(name, args=[self.MARKER]).split(str(self.MARKER))
        # escaped as the url tag escapes its output
        self.parts = (conditional_escape(parts[0]), conditional_escape(parts[1])) if len(parts) == 2 else None

    def __call__(self, pk) -> str:
        if self.parts is not None and type(pk) is int and pk >= 0:
            return f"{self.parts[0]}{pk}{self.parts[1]}"
        return conditional_escape(reverse(self.name, args=[pk]))


@dataclass
class RowFrame:
    """What core/_table.html puts around a row's cells: the selection checkbox and the action links,
    in slots (detail, edit, the screen's row buttons, delete), each a list of (css class, PkUrl,
    label as safe HTML)."""

    checkbox: bool = False
    slots: list[list[tuple[str, PkUrl, str]]] = field(default_factory=list)


class FastRow:
    """A row as core/_table.html reads it: `record`, its cells in column order (iterating the row),
    `cells_html`, the <td>s of those cells, and `html`, the whole <tr>."""

    __slots__ = ("record", "cells", "_rows", "_html")

    def __init__(self, record, cells, rows: FastRows):
        self.record = record
        self.cells = cells
        self._rows = rows
        self._html = None

    def __iter__(self):
        return iter(self.cells)

    @property
    def cells_html(self) -> str:
        if self._html is None:
            titles = self._rows.titles
            # every part escaped or built as safe HTML in _td
            self._html = mark_safe("".join([_td(cell, titles) for cell in self.cells]))  # noqa: S308
        return self._html

    @property
    def html(self) -> str:
        """The <tr> with its surrounding whitespace, as the template's loop wrote it."""
        frame = self._rows.frame
        pk = self.record.pk
        parts = ["\n    <tr>\n      "]
        if frame.checkbox:
            parts.append(f'<td><input type="checkbox" class="form-check-input" name="pk" '
                         f'value="{render_value_in_context(pk, _CONTEXT)}" '
                         f'aria-label="{render_value_in_context(self.record, _CONTEXT)}"></td>')
        parts += ["\n      ", self.cells_html, '\n      <td class="text-end">']
        for slot in frame.slots:
            parts.append("\n        ")
            parts += [f'<a class="{css}" href="{url(pk)}">{label}</a>' for css, url, label in slot]
        parts.append("\n      </td>\n    </tr>")
        return mark_safe("".join(parts))  # noqa: S308 - values escaped, labels and URLs escaped by the view


class FastRows:
    """`table.rows` for list pages (pinned rows first and last, as django-tables2's). A column's cells
    come from the table's `cell_<name>(record)` if it has one (a hand-written cell: text, escaped later,
    or safe HTML; EMPTY for no value), otherwise from the column's usual rendering (render_<name>,
    Column.render, defaults and choices as django-tables2 has them), set up once per column.
    `frame`: the checkbox and links of each row's <tr> (`row.html`)."""

    def __init__(self, table, frame: RowFrame | None = None):
        self.table = table
        self.frame = frame or RowFrame()
        self.titles: dict = {}  # a safe cell's text -> its title, shared by the page's rows

    def _records(self):
        pinned = getattr(self.table, "pinned_data", None) or {}
        return chain(pinned.get("top") or (), self.table.data, pinned.get("bottom") or ())

    def __len__(self) -> int:
        pinned = getattr(self.table, "pinned_data", None) or {}
        return len(self.table.data) + sum(len(pinned.get(edge) or ()) for edge in ("top", "bottom"))

    def __iter__(self):
        table = self.table
        cells = [getattr(table, f"cell_{column.name}", None) or _CellRenderer(table, column)
                 for column in table.columns]
        for record in self._records():
            yield FastRow(record, [cell(record) for cell in cells], self)


def use_fast_rows(table, frame: RowFrame | None = None):
    """Give `table` FastRows, their <tr>s framed by `frame`."""
    table.rows = FastRows(table, frame)
    return table


class FastRowsMixin:
    """A table whose rows are always FastRows (list pages get them anyway: core/views.py)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        use_fast_rows(self)
