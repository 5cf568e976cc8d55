"""Excel import: template, per-row validation, valid rows saved, failure report.

An `Importer` names its columns and validates one row at a time; `save` writes the valid
rows in bulk. The file is checked before parsing (size, then content: a real xlsx zip),
so an unreadable file writes nothing.
"""

from __future__ import annotations

import gc
import io
import time
import zipfile
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass, field

import openpyxl
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from python_calamine import CalamineWorkbook


@dataclass
class Column:
    header: str
    key: str
    required: bool = False
    help: str = ""
    example: str = ""


@dataclass
class RowError:
    line: int
    values: list
    reason: str


@dataclass
class ImportResult:
    total: int = 0
    saved: int = 0
    errors: list[RowError] = field(default_factory=list)
    summary: str = ""


class FileRejected(ValidationError):
    pass


class Importer(ABC):
    """Subclasses set `columns`, `label`, and implement `validate_row` and `save`."""

    key = ""
    label = gettext_lazy("导入")
    columns: list[Column] = []
    description = ""

    def __init__(self, *, enterprise, user, options: dict | None = None):
        self.enterprise = enterprise
        self.user = user
        # Choices made on the import page (see `option_fields`), JSON-able: kept in the Job for the worker.
        self.options = options or {}

    @classmethod
    def option_fields(cls, *, enterprise, user) -> dict:
        """Extra form fields of the import page (e.g. the category to import into): name -> forms.Field.
        Their cleaned values must be JSON-able (use ChoiceField with ids, not ModelChoiceField)."""
        return {}

    def get_columns(self) -> list[Column]:
        """The columns; an importer whose columns depend on the enterprise overrides this."""
        return self.columns

    def prepare(self) -> None:  # noqa: B027 - an optional hook, empty by default
        """Load lookups once per file (numbers, departments ...)."""

    @abstractmethod
    def validate_row(self, values: dict[str, str]):
        """Return an object to save, or raise ValidationError with the reason."""

    @abstractmethod
    def save(self, items: list) -> int:
        """Write the validated items in bulk; return how many were saved."""

    def refuse(self, items: list) -> dict[int, str]:
        """Items of a batch that may not be saved after all, found by one look at the stored rows
        (e.g. an existing record the importer may not change): {index in `items`: reason}."""
        return {}

    def summary(self) -> str:
        """A line for the job page once the import has run (e.g. created vs updated), or ""."""
        return ""

    # --- template --------------------------------------------------------------------
    def template_bytes(self) -> bytes:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "data"
        # Headers, help and description may be lazy translations, which openpyxl cannot write.
        columns = self.get_columns()
        ws.append([str(c.header) + (" *" if c.required else "") for c in columns])
        if any(c.example for c in columns):
            ws.append([str(c.example) for c in columns])
        for i, _c in enumerate(columns, start=1):
            ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = 18
        notes = wb.create_sheet("说明")
        notes.append([_("列"), _("必填"), _("说明")])
        for c in columns:
            notes.append([str(c.header), _("是") if c.required else _("否"), str(c.help)])
        if self.description:
            notes.append([])
            notes.append([str(self.description)])
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()


def too_large_message(limit: int) -> str:
    size = f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{max(1, limit // 1024)} KB"
    return _("文件超过 %(size)s 的上限") % {"size": size}


def check_file(data: bytes, name: str = "") -> None:
    """Refuse what is not a readable xlsx before touching any row."""
    limit = settings.CALLCENTER["IMPORT_MAX_BYTES"]
    if len(data) > limit:
        raise FileRejected({"file": [too_large_message(limit)]})
    if not data:
        raise FileRejected({"file": [_("文件是空的")]})
    if not data.startswith(b"PK\x03\x04"):
        raise FileRejected({"file": [_("文件不是 Excel（xlsx）文件，请用下载的模板填写")]})
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "xl/workbook.xml" not in names:
                raise FileRejected({"file": [_("文件不是 Excel（xlsx）文件，请用下载的模板填写")]})
            unpacked = sum(info.file_size for info in zf.infolist())
            if unpacked > 40 * limit:
                raise FileRejected({"file": [_("文件解压后过大，已拒绝")]})
    except zipfile.BadZipFile as exc:
        raise FileRejected({"file": [_("文件已损坏，无法读取")]}) from exc


@contextmanager
def _gc_paused():
    """The cyclic GC off while a sheet's rows are built: a list and strings per row, no cycles; each
    full collection would walk every row made so far."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@contextmanager
def _gc_frozen():
    """The rows of the file live through the whole import; frozen, the cyclic GC does not walk them
    on every full collection (a third of the CPU of a 100,000-row import, bench/customers.py)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def read_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of the first sheet, as text."""
    with _gc_paused():
        return _read_rows(data)


def _read_rows(data: bytes) -> tuple[list[str], list[list[str]]]:
    try:
        wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        rows = wb.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as exc:  # calamine raises its own error types for broken workbooks
        raise FileRejected({"file": [_("文件已损坏，无法读取")]}) from exc
    if not rows:
        raise FileRejected({"file": [_("文件中没有数据")]})
    header = [_cell(v).rstrip(" *") for v in rows[0]]
    body = []
    for line, raw in enumerate(rows[1:], start=2):
        values = SheetRow(_cell(v) for v in raw)
        if any(values):
            values.line = line  # blank rows are skipped, so keep each row's own line for the report
            body.append(values)
    if not body:
        raise FileRejected({"file": [_("文件中只有表头，没有数据行")]})
    if len(body) > settings.CALLCENTER["IMPORT_MAX_ROWS"]:
        raise FileRejected({"file": [_("一次最多导入 %(n)s 行") % {"n": settings.CALLCENTER["IMPORT_MAX_ROWS"]}]})
    return header, body


class SheetRow(list):
    """The text cells of one data row, and its line in the sheet (the header is line 1)."""

    line: int | None = None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def run_import(importer: Importer, header: list[str], body: list[list[str]], *, progress=None,
               batch: int = 5000) -> ImportResult:
    """Validate every row; save the valid ones in batches; collect the reason for each bad row."""
    columns = importer.get_columns()
    headers = {str(c.header): c for c in columns}
    missing = [str(c.header) for c in columns if c.required and str(c.header) not in header]
    if missing:
        raise FileRejected({"file": [_("缺少列：%(cols)s（请使用下载的模板）") % {"cols": "、".join(missing)}]})
    index = {headers[h].key: i for i, h in enumerate(header) if h in headers}
    with _gc_frozen():
        return _run_import(importer, body, index, progress, batch)


def _run_import(importer: Importer, body, index: dict, progress, batch: int) -> ImportResult:
    importer.prepare()
    result = ImportResult(total=len(body))
    pending = []  # (item, line, row)
    reported = time.monotonic()
    for n, row in enumerate(body, start=2):
        values = {key: (row[i] if i < len(row) else "") for key, i in index.items()}
        line = getattr(row, "line", None) or n
        try:
            pending.append((importer.validate_row(values), line, row))
        except ValidationError as exc:
            result.errors.append(RowError(line, row, "；".join(exc.messages)))
        if len(pending) >= batch:
            _save_batch(importer, pending, result)
            pending = []
        if progress and n % 1000 == 0 and time.monotonic() - reported >= 1:
            progress(n - 1, result)  # a database write: at most once a second
            reported = time.monotonic()
    if pending:
        _save_batch(importer, pending, result)
    result.errors.sort(key=lambda e: e.line)
    result.summary = importer.summary()
    if progress:
        progress(len(body), result)
    return result


def _save_batch(importer: Importer, pending: list[tuple], result: ImportResult) -> None:
    items = [item for item, _line, _row in pending]
    refused = importer.refuse(items) or {}
    for i in sorted(refused):
        _item, line, row = pending[i]
        result.errors.append(RowError(line, row, refused[i]))
    keep = [item for i, item in enumerate(items) if i not in refused]
    if keep:
        result.saved += importer.save(keep)


def failure_report(header: list[str], errors: list[RowError]) -> bytes:
    wb = openpyxl.Workbook(write_only=True)
    ws = wb.create_sheet("failures")
    ws.append([_("行号"), _("失败原因"), *header])
    for err in errors:
        ws.append([err.line, err.reason, *err.values])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
