"""Excel export of a list's current query.

Up to CALLCENTER["EXPORT_STREAM_ROWS"] rows are written straight to a temporary file
with xlsxwriter's constant-memory mode and streamed back; larger exports run in the
worker (see tasks.py) with progress, split into sheets of at most EXPORT_SHEET_ROWS rows.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from datetime import date, datetime

import xlsxwriter
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _


def resolve(obj, accessor):
    if callable(accessor):
        return _plain(accessor(obj))
    value = obj
    for part in accessor.split("."):
        if value is None:
            return ""
        value = getattr(value, part)
        if callable(value) and not isinstance(value, models.Model):
            value = value()
    return _plain(value)


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if timezone.is_aware(value) else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float | str):
        return value
    return str(value)


def write_xlsx(path: str, headers: list[str], rows: Iterable[list], *, sheet_rows: int | None = None,
               progress: Callable[[int], None] | None = None) -> int:
    sheet_rows = sheet_rows or settings.CALLCENTER["EXPORT_SHEET_ROWS"]
    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False})
    bold = workbook.add_format({"bold": True})
    sheet = None
    written = 0
    in_sheet = sheet_rows
    for row in rows:
        if in_sheet >= sheet_rows:
            sheet = workbook.add_worksheet(f"Sheet{written // sheet_rows + 1}")
            sheet.write_row(0, 0, headers, bold)
            in_sheet = 0
        in_sheet += 1
        sheet.write_row(in_sheet, 0, row)
        written += 1
        if progress and written % 5000 == 0:
            progress(written)
    if sheet is None:
        sheet = workbook.add_worksheet("Sheet1")
        sheet.write_row(0, 0, headers, bold)
    workbook.close()
    return written


def export_rows(queryset, columns: list[tuple[str, str]]):
    for obj in queryset.iterator(chunk_size=2000):
        yield [resolve(obj, accessor) for _label, accessor in columns]


def export_to_file(queryset, columns, *, progress=None) -> tuple[str, int]:
    fd, path = tempfile.mkstemp(suffix=".xlsx", dir=settings.VAR_DIR)
    os.close(fd)
    n = write_xlsx(path, [str(label) for label, _a in columns], export_rows(queryset, columns),
                   progress=progress)
    return path, n
