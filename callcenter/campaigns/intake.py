"""Number intake of a new task (任务发送 2.1.1, T1): read the numbers, normalise, de-duplicate,
drop blacklisted ones, those called today by other tasks (unless allowed) and those with a
customer record (when asked), upsert the accepted numbers' customers into the task's category,
and write the task's numbers and the dropped lines in bulk.

Two halves:

- `read_file` / `read_text` / `parse` are pure: bytes or text in, numbered lines and the
  accepted/dropped split out. They run in the request, so a file that is not text, holds more
  than 50,000 numbers or no valid number at all is refused before anything is written.
- `apply` does the set-based database work: each lookup is one indexed query per chunk of
  numbers, and every write is a bulk INSERT or one UPDATE per chunk. Small inputs run inline
  in one transaction; large ones run in the worker (tasks.py) with progress on their Job.

Blacklist and "called today" are checked again by the dialer when it claims a number, since a
task may start days later (DESIGN.md "A campaign").
"""

from __future__ import annotations

import codecs
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.accounts.services import ServiceError
from callcenter.campaigns.choices import DropReason, NumberStatus
from callcenter.crm.services import normalise_phone

# --- limits -----------------------------------------------------------------------------------------


def max_numbers() -> int:
    """非空行 cap of a file or a typed list (the manual: 最多五万条)."""
    return int(settings.CALLCENTER.get("TASK_MAX_NUMBERS", 50_000))


def max_file_bytes() -> int:
    # 50,000 lines of "+86 138-0013-8000" in UTF-16 are ~2 MB; the cap is checked before decoding.
    return int(settings.CALLCENTER.get("TASK_FILE_MAX_BYTES", 8 * 1024 * 1024))


def inline_numbers() -> int:
    """Inputs with more non-blank lines than this are taken in by the worker, with progress."""
    return int(settings.CALLCENTER.get("TASK_INLINE_NUMBERS", 2000))


CHUNK = 2000  # numbers per IN (...) lookup and per bulk write: well under SQLite's 32,766 variables


class IntakeRejected(ServiceError):
    """The numbers as given cannot be taken in; the message names the field."""


def _refuse(field_name: str, message: str):
    raise IntakeRejected({field_name: [message]})


# --- reading: bytes -> text -> numbered lines ----------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# C0 controls other than tab, line feed, vertical tab, form feed, carriage return, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_MAGIC = {
    b"PK\x03\x04": "zip",  # xlsx, docx, zip
    b"\xd0\xcf\x11\xe0": "ole",  # xls, doc
    b"%PDF": "pdf",
    b"\x89PNG": "image",
    b"\xff\xd8\xff": "image",
    b"GIF8": "image",
    b"Rar!": "zip",
    b"\x1f\x8b": "zip",
    b"7z\xbc\xaf": "zip",
}


@dataclass
class Source:
    """Where the numbers came from, as numbered text lines (line 1 is the first line)."""

    kind: str  # "file", "list" or "customers"
    name: str  # file name, or a label
    lines: list[str]
    encoding: str = ""
    ignored_list: bool = False  # a typed list was given too: the file wins
    field: str = "numbers_file"  # the form or API field a refusal of these numbers names

    @property
    def nonblank(self) -> int:
        return sum(1 for line in self.lines if line.strip())


def _binary_message(kind: str | None = None) -> str:
    if kind in ("zip", "ole"):
        return _("号码文件是 Excel、Word 或压缩文件，不是文本文件：请另存为文本文件（.txt），每行一个号码")
    return _("号码文件不是文本文件（每行一个号码的 .txt 或 .csv），无法读取")


def _utf16_without_bom(data: bytes) -> str | None:
    """"utf-16-le"/"utf-16-be" when the bytes look like UTF-16 text saved without a BOM: in a
    file of digits every other byte is zero."""
    sample = data[:4000]
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0), odd.count(0)
    if zeros_odd >= 0.4 * len(odd) and zeros_even <= 0.05 * len(even):
        return "utf-16-le"
    if zeros_even >= 0.4 * len(even) and zeros_odd <= 0.05 * len(odd):
        return "utf-16-be"
    return None


def decode(data: bytes, field_name: str = "numbers_file") -> tuple[str, str]:
    """(text, encoding) of a number file: UTF-8 with or without BOM, UTF-16 with BOM (or a
    plain UTF-16 file of digits without one), else GB18030 (a superset of GBK and GB2312, what
    Chinese Windows saves as "ANSI"). Anything else is refused as not a text file."""
    limit = max_file_bytes()
    if len(data) > limit:
        _refuse(field_name, _("号码文件超过 %(size)s MB 的上限") % {"size": f"{limit / (1024 * 1024):g}"})
    if not data.strip():
        _refuse(field_name, _("号码文件是空的"))
    for magic, kind in _MAGIC.items():
        if data.startswith(magic):
            _refuse(field_name, _binary_message(kind))
    text = encoding = None
    if data.startswith(codecs.BOM_UTF8):
        text, encoding = _strict(data[len(codecs.BOM_UTF8):], "utf-8"), "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text, encoding = _strict(data, "utf-16"), "utf-16"
    elif (guess := _utf16_without_bom(data)) is not None:
        text, encoding = _strict(data, guess), guess
    elif b"\x00" in data:
        _refuse(field_name, _binary_message())
    else:
        for candidate in ("utf-8", "gb18030"):
            text = _strict(data, candidate)
            if text is not None:
                encoding = candidate
                break
    if text is None:
        _refuse(field_name, _binary_message())
    # Decoded but full of control characters: a binary file that happened to decode.
    controls = len(_CONTROL.findall(text.rstrip("\x1a")))  # a DOS end-of-file mark is harmless
    if controls > 10 or controls > 0.01 * len(text):
        _refuse(field_name, _binary_message())
    return text, encoding


def _strict(data: bytes, encoding: str) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them: CRLF, LF and CR all end a line; a final line break does
    not start another line."""
    lines = _LINE_BREAK.split(text.lstrip("\ufeff"))
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _check_cap(lines: list[str], field_name: str, label: str) -> None:
    n = sum(1 for line in lines if line.strip())
    cap = max_numbers()
    if n > cap:
        _refuse(field_name, _("%(label)s最多 %(cap)s 个号码（不计空行），现有 %(n)s 个")
                % {"label": label, "cap": cap, "n": n})
    if n == 0:
        _refuse(field_name, _("%(label)s中没有号码") % {"label": label})


def read_file(data: bytes, name: str = "", field_name: str = "numbers_file") -> Source:
    text, encoding = decode(data, field_name)
    lines = split_lines(text)
    _check_cap(lines, field_name, _("号码文件"))
    return Source("file", (name or "")[:200], lines, encoding=encoding, field=field_name)


def read_text(text: str, field_name: str = "numbers_text") -> Source:
    lines = split_lines(text or "")
    _check_cap(lines, field_name, _("号码列表"))
    return Source("list", str(_("号码列表")), lines, field=field_name)


def read_phones(phones: list[str], label: str, field_name: str = "customers") -> Source:
    """Numbers of customers chosen on the customer list (R1 → T1)."""
    _check_cap(phones, field_name, label)
    return Source("customers", label[:200], list(phones), field=field_name)


# --- normalising and de-duplicating: pure ------------------------------------------------------------

# Full-width ASCII (what a Chinese input method types: "１３８－００１３") and the ideographic
# space map to ASCII; Unicode dashes to "-", which the normaliser drops like spaces.
_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_WIDTH.update({0x3000: ord(" "), 0x00A0: ord(" ")})
_WIDTH.update({code: ord("-") for code in (0x2010, 0x2011, 0x2012, 0x2013, 0x2014, 0x2015, 0x2212, 0xFE63)})
# Invisible marks some editors leave (a BOM inside the file, zero-width spaces) are dropped.
_WIDTH.update({code: None for code in (0xFEFF, 0x200B, 0x200C, 0x200D, 0x2060)})


def normalise(raw: str) -> str:
    """The stored form of one typed or uploaded number, the same as a customer's phone
    (crm.services.normalise_phone: "+86 138-0013-8000" -> "13800138000"), after full-width
    digits, signs and spaces are folded to ASCII. Raises ValueError for anything else
    (letters, too short or too long)."""
    text = str(raw).strip()
    if text.isascii() and text.isdigit() and 3 <= len(text) <= 20 and text[0] != "0" and not (
            len(text) == 13 and text.startswith("86")):
        return text  # already in stored form (no 0 / 86 prefix to look at): most lines of most files
    if not text.isascii():  # both are no-ops on ASCII ("+86 138-0013-8000" goes straight on)
        text = unicodedata.normalize("NFC", text).translate(_WIDTH).strip()
    return normalise_phone(text)


@dataclass
class Drop:
    line_no: int
    raw: str
    phone: str
    reason: str


@dataclass
class Parsed:
    lines: int = 0  # non-blank lines
    accepted: list[tuple[int, str]] = field(default_factory=list)  # (line number, phone)
    drops: list[Drop] = field(default_factory=list)


def parse(lines: Iterable[str], *, dedupe: bool) -> Parsed:
    """Normalise each non-blank line; invalid ones and (with `dedupe`) repeats of an earlier
    number are dropped with their line numbers; the first occurrence of a number is kept."""
    out = Parsed()
    seen: set[str] = set()
    for line_no, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        out.lines += 1
        try:
            phone = normalise(raw)
        except ValueError:
            out.drops.append(Drop(line_no, raw.strip()[:100], "", DropReason.INVALID))
            continue
        if dedupe:
            if phone in seen:
                out.drops.append(Drop(line_no, raw.strip()[:100], phone, DropReason.DUPLICATE))
                continue
            seen.add(phone)
        out.accepted.append((line_no, phone))
    return out


def invalid_lines_message(parsed: Parsed, limit: int = 20) -> str:
    bad = [d.line_no for d in parsed.drops if d.reason == DropReason.INVALID]
    shown = "、".join(str(n) for n in bad[:limit]) + ("……" if len(bad) > limit else "")
    return _("没有有效号码：第 %(lines)s 行不是有效的电话号码（3到20位数字）") % {"lines": shown}


# --- the database half ------------------------------------------------------------------------------


def chunks(items: list, size: int = CHUNK) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def today_start(enterprise) -> datetime:
    """Midnight today in the enterprise's time zone ("当天" of 重复呼叫)."""
    zone = ZoneInfo(enterprise.time_zone or settings.TIME_ZONE)
    now = timezone.now().astimezone(zone)
    return datetime.combine(now.date(), time.min, tzinfo=zone)


# --- set-based SQL for tens of thousands of rows ----------------------------------------------------
# Raw SQL on purpose: for 50,000 numbers the ORM's per-value work (model instances, compiling each
# value of a bulk insert, processing each of 2,000 values of an IN list) costs several times the
# database's own work (bench/campaign_intake.py). Only names from the models' _meta and
# placeholders go into the SQL text; every value is a parameter.


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _chunk_size() -> int:
    """Values per lookup or UPDATE. PostgreSQL takes a whole intake's list (<= 50,000) as one
    array: a lookup of many values is one scan (a hashed `= ANY` filter, or the index), and five
    chunks of 10,000 were five scans of the enterprise's customers."""
    return 100_000 if _postgres() else CHUNK


def _in(column_sql: str, values: list) -> tuple[str, list]:
    """`column IN (chunk)`: one array parameter on PostgreSQL (`= ANY(%s)`, one plan whatever the
    length), a placeholder per value elsewhere."""
    if _postgres():
        return f"{column_sql} = ANY(%s)", [list(values)]
    return f"{column_sql} IN ({', '.join(['%s'] * len(values))})", list(values)


def relaxed_commit() -> None:
    """Inside a transaction on PostgreSQL: its COMMIT does not wait for the WAL to reach the disk
    (`synchronous_commit = off` for this transaction only). A bulk intake writes ~100 MB of WAL;
    waiting for its flush took longer than the intake itself on a busy disk. The database stays
    consistent; a server crash in the next fraction of a second could lose this intake, which the
    user would then simply run again."""
    if _postgres() and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def _rows_in(model, columns: list[str], where: dict, in_field: str, values: list) -> Iterator[tuple]:
    """`SELECT columns FROM model WHERE where AND in_field IN (chunk)`, chunk by chunk, as tuples."""
    meta = model._meta
    qn = connection.ops.quote_name
    select = ", ".join(qn(meta.get_field(c).column) for c in columns)
    conditions = " AND ".join(f"{qn(meta.get_field(c).column)} = %s" for c in where)
    target = qn(meta.get_field(in_field).column)
    with connection.cursor() as cursor:
        for part in chunks(values, _chunk_size()):
            clause, params = _in(target, part)
            cursor.execute(f"SELECT {select} FROM {qn(meta.db_table)} WHERE {conditions} AND {clause}",  # noqa: S608
                           [*where.values(), *params])
            yield from cursor.fetchall()


def blacklisted(enterprise_id: int, phones: list[str]) -> set[str]:
    """Numbers on the enterprise's blacklist for outbound calls (方向 呼出 or 呼入和呼出). A blacklist
    no longer than a few times the input is read whole in one indexed scan; a longer one is probed."""
    from callcenter.telephony.choices import BlacklistDirection
    from callcenter.telephony.models import BlacklistEntry

    outbound = {BlacklistDirection.OUTBOUND.value, BlacklistDirection.BOTH.value}
    entries = BlacklistEntry.objects.filter(enterprise_id=enterprise_id)
    if entries.count() <= 4 * len(phones) + 1000:
        wanted = set(phones)
        return {number for number, direction in entries.values_list("number", "direction")
                if direction in outbound and number in wanted}
    return {number for number, direction in _rows_in(BlacklistEntry, ["number", "direction"],
                                                     {"enterprise": enterprise_id}, "number", phones)
            if direction in outbound}


def called_today(enterprise, phones: list[str], *, exclude_task_id: int | None = None) -> set[str]:
    """Numbers another task of the enterprise has called since midnight (local time): one range
    scan of today's calls (index enterprise, last_attempt_at), matched here."""
    from callcenter.campaigns.models import TaskNumber

    qs = TaskNumber.objects.filter(enterprise_id=enterprise.pk, last_attempt_at__gte=today_start(enterprise))
    if exclude_task_id is not None:
        qs = qs.exclude(task_id=exclude_task_id)
    wanted = set(phones)
    return {phone for phone in qs.values_list("phone", flat=True).iterator(chunk_size=10_000) if phone in wanted}


def existing_customers(enterprise_id: int, phones: list[str]) -> dict[str, list[tuple[int, int]]]:
    """phone -> [(customer id, category id)] of the enterprise's customers with that phone."""
    from callcenter.crm.models import Customer

    found: dict[str, list[tuple[int, int]]] = {}
    for pk, phone, category_id in _rows_in(Customer, ["id", "phone", "category"], {"enterprise": enterprise_id},
                                           "phone", phones):
        found.setdefault(phone, []).append((pk, category_id))
    return found


@dataclass
class Outcome:
    lines: int = 0
    accepted: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    customers_created: int = 0
    customers_updated: int = 0

    def as_json(self, source: Source | None = None) -> dict:
        data = {"lines": self.lines, "accepted": self.accepted, "dropped": self.dropped,
                "customers_created": self.customers_created, "customers_updated": self.customers_updated}
        if source is not None:
            data.update({"source": source.kind, "encoding": source.encoding, "ignored_list": source.ignored_list})
        return data


Progress = Callable[[int, int], None]  # (done, total)


def apply(task, parsed: Parsed, *, progress: Progress | None = None, user=None) -> Outcome:
    """Screen the accepted numbers against the database, upsert their customers into the task's
    category and write TaskNumber and TaskDrop rows. Call inside a transaction for an
    all-or-nothing intake; the worker calls it outside one so its progress shows, and cleans up
    itself when it fails (tasks.py)."""
    from callcenter.campaigns.models import TaskDrop, TaskNumber

    enterprise = task.enterprise
    total = len(parsed.accepted) or 1
    report = progress or (lambda done, total: None)
    distinct = list(dict.fromkeys(phone for _line, phone in parsed.accepted))

    black = blacklisted(enterprise.pk, distinct)
    today = set() if task.recall_called_today else called_today(enterprise, distinct, exclude_task_id=task.pk)
    customers = existing_customers(enterprise.pk, distinct)
    report(total // 10, total)

    drops = list(parsed.drops)
    kept: list[tuple[int, str]] = []
    for line_no, phone in parsed.accepted:
        if phone in black:
            reason = DropReason.BLACKLISTED
        elif phone in today:
            reason = DropReason.CALLED_TODAY
        elif task.skip_existing_customers and phone in customers:
            reason = DropReason.HAS_CUSTOMER
        else:
            kept.append((line_no, phone))
            continue
        drops.append(Drop(line_no, phone, phone, reason))

    customer_of, created, updated = upsert_customers(task, [p for _l, p in kept], customers, owner=user)
    report(total * 3 // 10, total)

    done = 0
    enterprise_id, task_id = enterprise.pk, task.pk
    for part in chunks(kept, 10_000):
        with transaction.atomic():
            relaxed_commit()
            insert_rows(TaskNumber, ["enterprise", "task", "phone", "line_no", "customer"],
                        [(enterprise_id, task_id, phone, line_no, customer_of.get(phone)) for line_no, phone in part],
                        constants={"status": NumberStatus.PENDING, "result": "", "attempts": 0, "talk_seconds": 0,
                                   "call_id": ""})
        done += len(part)
        report(total * 3 // 10 + done * 7 // 10, total)
    drops.sort(key=lambda d: d.line_no)
    insert_rows(TaskDrop, ["task", "line_no", "raw", "phone", "reason"],
                [(task.pk, d.line_no, d.raw[:100], d.phone, str(d.reason)) for d in drops])
    dropped: dict[str, int] = {}
    for d in drops:
        dropped[d.reason] = dropped.get(d.reason, 0) + 1
    return Outcome(lines=parsed.lines, accepted=len(kept), dropped=dropped, customers_created=created,
                   customers_updated=updated)


def insert_rows(model, fields: list[str], rows: list[tuple], *, constants: dict | None = None,
                batch: int = 5000) -> None:
    """Insert `rows` (values of `fields` in database form: ids, text, adapted datetimes), plus
    `constants` (model values, the same for every row). PostgreSQL: COPY; elsewhere
    `executemany`, one statement per batch."""
    if not rows:
        return
    meta = model._meta
    qn = connection.ops.quote_name
    constants = constants or {}
    names = [*fields, *constants]
    columns = ", ".join(qn(meta.get_field(name).column) for name in names)
    with connection.cursor() as cursor:
        if _postgres():
            extra = tuple(meta.get_field(name).get_prep_value(value) for name, value in constants.items())
            extra = tuple(json.dumps(v) if isinstance(v, dict | list) else v for v in extra)
            with cursor.cursor.copy(f"COPY {qn(meta.db_table)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row + extra)
            return
        extra = tuple(meta.get_field(name).get_db_prep_save(value, connection) for name, value in constants.items())
        placeholders = ", ".join(["%s"] * len(names))
        sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({placeholders})"  # noqa: S608
        for part in chunks(rows, batch):
            cursor.executemany(sql, [row + extra for row in part])


def _next_ids(model, n: int) -> list[int]:
    """PostgreSQL: `n` ids taken from the table's id sequence, in increasing order (as the
    rows' own defaults would have taken them)."""
    meta = model._meta
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, meta.pk.column, n])
        return sorted(row[0] for row in cursor.fetchall())


def upsert_customers(task, phones: list[str], existing: dict[str, list[tuple[int, int]]], *,
                     owner=None) -> tuple[dict[str, int], int, int]:
    """T1 客户分类: the accepted numbers join the task's category; an existing customer's category
    is overwritten. Returns ({phone: customer id}, created, updated)."""
    from callcenter.crm.models import Customer

    category_id = task.category_id
    customer_of: dict[str, int] = {}
    to_move: list[int] = []
    new_phones: list[str] = []
    for phone in dict.fromkeys(phones):
        rows = existing.get(phone)
        if rows:
            customer_of[phone] = min(pk for pk, _c in rows)
            to_move.extend(pk for pk, cat in rows if cat != category_id)
        else:
            new_phones.append(phone)
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    owner_id = getattr(owner, "pk", None) or task.created_by_id
    meta = Customer._meta
    qn = connection.ops.quote_name
    new_phones.sort()  # in phone order: the phone index is filled in order, not at random
    with transaction.atomic():
        relaxed_commit()
        with connection.cursor() as cursor:
            for part in chunks(sorted(to_move), _chunk_size()):
                clause, params = _in(qn(meta.pk.column), part)
                sql = (f"UPDATE {qn(meta.db_table)} SET {qn(meta.get_field('category').column)} = %s, "  # noqa: S608
                       f"{qn(meta.get_field('updated_at').column)} = %s WHERE {clause}")
                cursor.execute(sql, [category_id, stamp, *params])
        rows = [(task.enterprise_id, category_id, owner_id, phone, stamp, stamp) for phone in new_phones]
        fields = ["enterprise", "category", "owner", "phone", "created_at", "updated_at"]
        constants = {"name": "", "company": "", "data": {}}
        if _postgres() and new_phones:
            # The new customers' ids come from the table's sequence first, so they need not be
            # looked up again by phone after the COPY.
            ids = _next_ids(Customer, len(new_phones))
            insert_rows(Customer, ["id", *fields], [(pk, *row) for pk, row in zip(ids, rows, strict=True)],
                        constants=constants)
            for pk, phone in zip(ids, new_phones, strict=True):
                customer_of.setdefault(phone, pk)
        else:
            insert_rows(Customer, fields, rows, constants=constants)
            for pk, phone in sorted(_rows_in(Customer, ["id", "phone"], {"enterprise": task.enterprise_id}, "phone",
                                             new_phones)):
                customer_of.setdefault(phone, pk)
    return customer_of, len(new_phones), len(to_move)
