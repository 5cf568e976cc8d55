"""Number intake of 任务发送 (T1): reading files in every encoding users save, the cap, normalising
and de-duplicating (with hypothesis properties), each option and each drop reason, the customer
upsert into the category, the report and the dropped-number download, large inputs in the worker,
and every bad input of the issue, each changing nothing."""

from __future__ import annotations

import codecs
import contextlib
import io
import re
from datetime import timedelta

import openpyxl
import pytest
from django.utils import timezone
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from callcenter.campaigns import intake
from callcenter.campaigns.choices import DropReason, NumberStatus, TaskStatus
from callcenter.campaigns.models import Task, TaskDrop, TaskNumber
from callcenter.core.models import AuditLog, Job
from callcenter.crm.models import Customer
from callcenter.pbx.callctl.logic.routing import normalize_number
from tests.campaigns.kit import *  # noqa: F403 - fixtures
from tests.campaigns.kit import field_errors, make_task, page_text, post_send, text_file

FW = str.maketrans("0123456789+-", "０１２３４５６７８９＋－")


def snapshot_counts():
    return (Task.objects.count(), TaskNumber.objects.count(), TaskDrop.objects.count(), Customer.objects.count(),
            Job.objects.count())


# --- normalising: examples and properties -------------------------------------------------------------


@pytest.mark.parametrize(("raw", "phone"), [
    ("13800138000", "13800138000"),
    (" 138 0013 8000 ", "13800138000"),
    ("138-0013-8000", "13800138000"),
    ("+86 138 0013 8000", "13800138000"),
    ("+8613800138000", "13800138000"),
    ("0086-138-0013-8000", "13800138000"),
    ("１３８００１３８０００", "13800138000"),
    ("＋８６　１３８－００１３－８０００", "13800138000"),
    ("138\u20140013\u20138000", "13800138000"),
    ("(020) 8888-1234", "02088881234"),
    ("\ufeff13800138000", "13800138000"),
    # the form call control gives a caller (routing.normalize_number), so a pop finds the customer
    ("+86 20 8888 1234", "02088881234"),
    ("013800138000", "13800138000"),
    ("8613800138000", "13800138000"),
    ("+86 400 800 1234", "4008001234"),
    ("+1 212 555 0100", "12125550100"),
])
def test_normalise_examples(raw, phone):
    assert intake.normalise(raw) == phone


@pytest.mark.parametrize("raw", ["abc", "1380013800O", "138 0013 8000 张三", "12", "1" * 21, "+", "", "13800138000#"])
def test_normalise_refuses_what_is_not_a_number(raw):
    with pytest.raises(ValueError):
        intake.normalise(raw)


digits = st.text(alphabet="0123456789", min_size=3, max_size=20)
separators = st.sampled_from(["", " ", "-", "\u3000", "－", "\u2013", "\t"])


@st.composite
def dressed(draw):
    """A number as people type it: an optional +86/0086 prefix, separators anywhere, full width."""
    number = draw(digits)
    assume(not number.startswith("0086"))
    prefix = draw(st.sampled_from(["", "+86", "0086", "+86 ", "0086-"]))
    out = []
    for ch in prefix + number:
        out.append(ch)
        out.append(draw(separators))
    text = "".join(out)
    if draw(st.booleans()):
        text = text.translate(FW)
    return number, draw(separators) + text + draw(separators), prefix.strip(" -")


@settings(max_examples=300, deadline=None)
@given(dressed())
def test_property_dressed_numbers_normalise_to_their_digits(case):
    """Separators, full width and the +86/0086 prefix do not change a number: it is stored as call
    control presents the caller (routing.normalize_number: a national number, +86 20... -> 020...),
    and a plain mobile or 4xx/9x number without a prefix is kept as typed."""
    number, text, prefix = case
    plain = prefix + number
    try:
        expected = intake.normalise(plain)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError):
            intake.normalise(text)
        return
    assert intake.normalise(text) == expected == normalize_number("+86" + number if prefix else plain).removeprefix("+")
    if not prefix and number[0] != "0" and not (len(number) == 13 and number.startswith("86")):
        assert expected == number


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_property_normalise_is_digits_and_idempotent(text):
    try:
        phone = intake.normalise(text)
    except ValueError:
        return
    assert re.fullmatch(r"[0-9]{3,20}", phone)
    assert intake.normalise(phone) == phone


lines_strategy = st.lists(st.one_of(
    dressed().map(lambda c: c[1]),
    st.sampled_from(["13800000001", "13800000002", "+86 138 0000 0001", "abc", "", "  ", "12"]),
    st.text(max_size=8),
), max_size=60)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines_strategy)
def test_property_dedupe_keeps_each_number_once_at_its_first_line(lines):
    lines = [line.replace("\r", "").replace("\n", "") for line in lines]
    parsed = intake.parse(lines, dedupe=True)
    valid = []
    for n, line in enumerate(lines, start=1):
        if line.strip():
            with contextlib.suppress(ValueError):
                valid.append((n, intake.normalise(line)))
    phones = [p for _n, p in parsed.accepted]
    assert len(phones) == len(set(phones))
    assert phones == list(dict.fromkeys(p for _n, p in valid))  # first occurrences, in order
    first = {}
    for n, p in valid:
        first.setdefault(p, n)
    assert parsed.accepted == [(first[p], p) for p in phones]
    dups = [d for d in parsed.drops if d.reason == DropReason.DUPLICATE]
    assert all(first[d.phone] < d.line_no for d in dups)
    assert len(parsed.accepted) + len(parsed.drops) == parsed.lines == sum(1 for line in lines if line.strip())
    without = intake.parse(lines, dedupe=False)
    assert without.accepted == valid
    assert not [d for d in without.drops if d.reason == DropReason.DUPLICATE]


# --- reading files ----------------------------------------------------------------------------------


NUMBERS = ["13800000001", "", "  ", "+86 138 0000 0002", "１３８０００００００３", "abc", "138-0000-0004"]


@pytest.mark.parametrize(("encoding", "bom", "newline"), [
    ("utf-8", b"", "\n"),
    ("utf-8", codecs.BOM_UTF8, "\r\n"),
    ("gb18030", b"", "\r\n"),
    ("utf-16-le", codecs.BOM_UTF16_LE, "\r\n"),
    ("utf-16-be", codecs.BOM_UTF16_BE, "\n"),
    ("utf-16-le", b"", "\n"),
    ("utf-8", b"", "\r"),
])
def test_files_in_every_encoding_read_the_same(encoding, bom, newline):
    lines = [*NUMBERS, "# 第二批", "13800000005"]
    data = bom + newline.join(lines).encode(encoding) + newline.encode(encoding)
    source = intake.read_file(data, "n.txt")
    assert source.lines == lines
    parsed = intake.parse(source.lines, dedupe=True)
    assert [p for _n, p in parsed.accepted] == ["13800000001", "13800000002", "13800000003", "13800000004",
                                                "13800000005"]
    assert [(d.line_no, d.reason) for d in parsed.drops] == [(6, "invalid"), (8, "invalid")]


@pytest.mark.parametrize(("data", "words"), [
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "不是文本文件"),
    (b"PK\x03\x04" + b"\x00" * 100, "Excel"),
    (bytes(range(256)) * 8, "不是文本文件"),
    (b"138\x00\x01\x02\x03" * 50, "不是文本文件"),
    (b"", "空的"),
    (b"\r\n \r\n", "空的"),
])
def test_binary_and_empty_files_are_refused(data, words):
    with pytest.raises(intake.IntakeRejected) as exc:
        intake.read_file(data, "x.txt")
    assert words in exc.value.message_dict["numbers_file"][0]


def test_the_cap_counts_non_blank_lines(settings):
    settings.CALLCENTER = {**settings.CALLCENTER, "TASK_MAX_NUMBERS": 3}
    assert len(intake.read_text("13800000001\n\n1380000000\n  \n13800000003\n").lines) == 5
    with pytest.raises(intake.IntakeRejected) as exc:
        intake.read_text("13800000001\n13800000002\n13800000003\n13800000004")
    assert "最多 3 个号码" in exc.value.message_dict["numbers_text"][0]


# --- T1 over HTTP: the cap, bad input, each changing nothing -------------------------------------------


def test_a_file_of_50001_numbers_is_refused_naming_the_limit(camp, as_user):
    before = snapshot_counts()
    lines = [f"138{n:08d}" for n in range(50_001)]
    r = post_send(as_user(camp["admin"]), camp, numbers_file=text_file(lines))
    assert r.status_code == 400
    assert "最多 50000 个号码（不计空行），现有 50001 个" in field_errors(r)["numbers_file"][0]
    assert snapshot_counts() == before


def test_a_list_of_50001_numbers_is_refused_naming_the_limit(camp, as_user):
    before = snapshot_counts()
    r = post_send(as_user(camp["admin"]), camp, numbers_text="\n".join(f"139{n:08d}" for n in range(50_001)))
    assert r.status_code == 400
    assert "号码列表最多 50000 个号码" in field_errors(r)["numbers_text"][0]
    assert snapshot_counts() == before


def test_exactly_the_cap_is_accepted(camp, as_user, settings):
    settings.CALLCENTER = {**settings.CALLCENTER, "TASK_MAX_NUMBERS": 5}
    client = as_user(camp["admin"])
    assert post_send(client, camp, numbers_text="\n".join(f"1380000000{n}" for n in range(5)) + "\n\n").status_code \
        == 302
    r = post_send(client, camp, name="多一个", numbers_text="\n".join(f"1380000000{n}" for n in range(6)))
    assert r.status_code == 400 and "最多 5 个号码" in field_errors(r)["numbers_text"][0]
    assert list(Task.objects.values_list("name", flat=True)) == ["春季回访"]


def test_a_binary_file_gets_a_clear_message(camp, as_user):
    before = snapshot_counts()
    r = post_send(as_user(camp["admin"]), camp, numbers_file=text_file([], name="photo.png").__class__(
        "photo.png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10, content_type="image/png"))
    assert r.status_code == 400
    assert "不是文本文件" in field_errors(r)["numbers_file"][0]
    assert snapshot_counts() == before


def test_an_excel_file_is_refused_with_a_hint(camp, as_user):
    wb = openpyxl.Workbook()
    wb.active.append(["13800138000"])
    buf = io.BytesIO()
    wb.save(buf)
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = post_send(as_user(camp["admin"]), camp, numbers_file=SimpleUploadedFile("n.xlsx", buf.getvalue()))
    assert r.status_code == 400 and "另存为文本文件" in field_errors(r)["numbers_file"][0]
    assert not Task.objects.exists()


def test_invalid_lines_are_reported_with_their_line_numbers(camp, as_user):
    lines = ["13800000001", "", "  +86 138-0000-0002 ", "abc", "0086 13800000003", "１３８０００００００４", "12345x",
             "138 0000 0005", "12"]
    client = as_user(camp["admin"])
    r = post_send(client, camp, numbers_file=text_file(lines, newline="\r\n"))
    task = Task.objects.get()
    assert r.status_code == 302 and r["Location"] == f"/campaigns/tasks/{task.pk}/"
    assert list(TaskNumber.objects.filter(task=task).order_by("line_no").values_list("line_no", "phone")) == [
        (1, "13800000001"), (3, "13800000002"), (5, "13800000003"), (6, "13800000004"), (8, "13800000005")]
    assert list(TaskDrop.objects.filter(task=task).values_list("line_no", "raw", "reason")) == [
        (4, "abc", "invalid"), (7, "12345x", "invalid"), (9, "12", "invalid")]
    assert task.intake["lines"] == 8 and task.intake["accepted"] == 5 and task.intake["dropped"] == {"invalid": 3}
    page = page_text(client.get(r["Location"]))
    assert 'id="intake-accepted">5<' in page and "号码无效" in page


def test_a_file_without_any_valid_number_is_refused_with_the_lines(camp, as_user):
    before = snapshot_counts()
    r = post_send(as_user(camp["admin"]), camp, numbers_file=text_file(["号码", "abc", "", "12"]))
    assert r.status_code == 400
    assert "没有有效号码：第 1、2、4 行不是有效的电话号码" in field_errors(r)["numbers_file"][0]
    assert snapshot_counts() == before


def test_no_numbers_at_all_is_refused(camp, as_user):
    r = post_send(as_user(camp["admin"]), camp)
    assert r.status_code == 400 and "请上传号码文件或填写号码列表" in field_errors(r)["numbers_file"][0]
    assert not Task.objects.exists()


@pytest.mark.parametrize("case", ["no_group", "disabled", "empty", "all_disabled"])
def test_a_flow_whose_agent_group_is_empty_or_disabled_is_refused(camp, as_user, case):
    from callcenter.accounts.models import Agent
    from callcenter.telephony import services as tel
    from callcenter.telephony.models import CallFlow

    flow = camp["flow"]
    if case == "no_group":
        CallFlow.objects.filter(pk=flow.pk).update(agent_group=None)
        words = "没有设置坐席组"
    elif case == "disabled":
        tel.group_set_enabled(group=camp["group"], enabled=False)
        words = "坐席组“外呼组”已停用"
    elif case == "empty":
        camp["group"].memberships.all().delete()
        words = "坐席组“外呼组”没有可用的坐席"
    else:
        Agent.objects.filter(pk__in=[camp["sub1"].pk, camp["sub2"].pk]).update(agent_type="disabled")
        words = "没有可用的坐席"
    before = snapshot_counts()
    r = post_send(as_user(camp["admin"]), camp, numbers_text="13800000001")
    assert r.status_code == 400
    assert words in field_errors(r)["flow"][0]
    assert snapshot_counts() == before


def test_a_play_only_flow_needs_no_agent_group(camp, as_user):
    from callcenter.telephony import services as tel
    from tests.telephony.conftest import make_prompt

    flow = tel.callflow_create(enterprise=camp["enterprise"], values={
        "name": "只播放", "transfer_mode": "play_only", "prompt": make_prompt(camp["enterprise"])})
    r = post_send(as_user(camp["admin"]), camp, flow=flow.pk, numbers_text="13800000001")
    assert r.status_code == 302 and Task.objects.get().flow == flow


@pytest.mark.parametrize(("starts", "ends", "words"), [
    (["12:00"], ["09:00"], "第 1 行：结束时间 09:00 须晚于开始时间 12:00"),
    (["09:00"], ["09:00"], "须晚于开始时间"),
    (["09:00", "11:00"], ["12:00", "14:00"], "第 1 行与第 2 行的时间重叠"),
    (["14:00", "08:00", "09:30"], ["18:00", "10:00", "11:00"], "第 2 行与第 3 行的时间重叠"),
    (["09:00"], [""], "请同时填写开始和结束时间"),
    (["9点"], ["10:00"], "不是时间"),
])
def test_bad_windows_are_refused(camp, as_user, starts, ends, words):
    before = snapshot_counts()
    r = post_send(as_user(camp["admin"]), camp, numbers_text="13800000001", window_start=starts, window_end=ends)
    assert r.status_code == 400
    assert any(words in e for e in field_errors(r)["windows"]), field_errors(r)
    assert snapshot_counts() == before
    assert 'name="window_start"' in r.content.decode()  # the rows are shown again to be corrected


def test_windows_are_saved_in_order(camp, as_user):
    r = post_send(as_user(camp["admin"]), camp, numbers_text="13800000001", window_start=["14:00", "", "09:00"],
                  window_end=["18:00", "", "12:00"])
    assert r.status_code == 302
    assert [str(w) for w in Task.objects.get().windows.all()] == ["09:00-12:00", "14:00-18:00"]


def test_a_start_time_in_the_past_is_refused(camp, as_user):
    before = snapshot_counts()
    past = timezone.localtime(timezone.now() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    r = post_send(as_user(camp["admin"]), camp, numbers_text="13800000001", start_at=past, _submit="1")
    assert r.status_code == 400
    assert "已经过去" in field_errors(r)["start_at"][0]
    assert snapshot_counts() == before


def test_another_enterprises_flow_or_category_cannot_be_chosen(camp, as_user):
    client = as_user(camp["admin"])
    r = post_send(client, camp, numbers_text="13800000001", flow=camp["b_flow"].pk, category=camp["b_cat"].pk)
    assert r.status_code == 400 and set(field_errors(r)) >= {"flow", "category"}
    assert not Task.objects.exists()


# --- drafts and submitting (T2/T3 states) -----------------------------------------------------------


def test_save_as_draft_leaves_the_task_paused_and_not_submitted(camp, as_user):
    post_send(as_user(camp["admin"]), camp, numbers_text="13800000001\n13800000002")
    task = Task.objects.get()
    assert (task.status, task.submitted, task.numbers_total) == (TaskStatus.PAUSED, False, 2)
    assert task.created_by == camp["admin"]
    assert set(TaskNumber.objects.values_list("status", flat=True)) == {NumberStatus.PENDING}
    assert AuditLog.objects.filter(object_type="campaigns.task", action="create").count() == 1


def test_submit_runs_now_or_waits_for_the_start_time(camp, as_user):
    client = as_user(camp["admin"])
    post_send(client, camp, name="立即", numbers_text="13800000001", _submit="1", _draft=None)
    later = timezone.localtime(timezone.now() + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    post_send(client, camp, name="定时", numbers_text="13800000001", _submit="1", _draft=None, start_at=later)
    now_task, later_task = Task.objects.get(name="立即"), Task.objects.get(name="定时")
    assert (now_task.status, now_task.submitted, now_task.started_at is not None) == (TaskStatus.RUNNING, True, True)
    assert (later_task.status, later_task.submitted) == (TaskStatus.SCHEDULED, True)
    assert timezone.localtime(later_task.start_at).strftime("%Y-%m-%dT%H:%M") == later


def test_start_time_is_the_enterprises_local_time(camp, as_user):
    from callcenter.core.models import Enterprise

    Enterprise.objects.filter(pk=camp["enterprise"].pk).update(time_zone="Europe/London")
    local = (timezone.now() + timedelta(days=2)).astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    post_send(as_user(camp["admin"]), camp, numbers_text="13800000001", start_at=local.strftime("%Y-%m-%dT%H:%M"))
    assert Task.objects.get().start_at == local.replace(second=0, microsecond=0)


def test_a_task_left_without_numbers_ends_at_once(camp, as_user):
    from callcenter.telephony import services as tel

    tel.blacklist_add(enterprise=camp["enterprise"], number="13800000001", direction="out")
    client = as_user(camp["admin"])
    r = post_send(client, camp, numbers_text="13800000001", _submit="1", _draft=None)
    task = Task.objects.get()
    assert (task.status, task.end_reason, task.numbers_total) == (TaskStatus.ENDED, "completed", 0)
    assert "没有可发送的号码" in page_text(client.get(r["Location"]))


# --- each option and each drop reason ---------------------------------------------------------------


def test_dedupe_yes_sends_a_number_once(camp, as_user):
    post_send(as_user(camp["admin"]), camp, numbers_text="13800000001\n+86 13800000001\n13800000002\n13800000001")
    task = Task.objects.get()
    assert list(task.numbers.order_by("line_no").values_list("phone", flat=True)) == ["13800000001", "13800000002"]
    assert list(task.drops.values_list("line_no", "phone", "reason")) == [
        (2, "13800000001", "duplicate"), (4, "13800000001", "duplicate")]


def test_dedupe_no_sends_every_line(camp, as_user):
    post_send(as_user(camp["admin"]), camp, dedupe="0", numbers_text="13800000001\n+86 13800000001\n13800000002")
    task = Task.objects.get()
    assert list(task.numbers.order_by("line_no").values_list("phone", flat=True)) == [
        "13800000001", "13800000001", "13800000002"]
    assert not task.drops.exists()
    assert Customer.objects.filter(phone="13800000001").count() == 1  # one customer per number


def test_blacklisted_numbers_are_dropped_outbound_and_both_but_not_inbound_only(camp, as_user):
    from callcenter.telephony import services as tel

    e = camp["enterprise"]
    tel.blacklist_add(enterprise=e, number="13800000001", direction="out")
    tel.blacklist_add(enterprise=e, number="13800000002", direction="both")
    tel.blacklist_add(enterprise=e, number="13800000003", direction="in")
    tel.blacklist_add(enterprise=camp["other"]["enterprise"], number="13800000004", direction="both")
    post_send(as_user(camp["admin"]), camp, numbers_text="13800000001\n13800000002\n13800000003\n13800000004")
    task = Task.objects.get()
    assert sorted(task.numbers.values_list("phone", flat=True)) == ["13800000003", "13800000004"]
    assert list(task.drops.values_list("phone", "reason")) == [("13800000001", "blacklisted"),
                                                               ("13800000002", "blacklisted")]
    assert not Customer.objects.filter(phone__in=["13800000001", "13800000002"]).exists()


def _called(camp, phone, when):
    task = make_task(camp, [phone], name="早先的任务")
    TaskNumber.objects.filter(task=task).update(last_attempt_at=when, attempts=1, status="done", result="no_answer")
    return task


def test_numbers_called_today_by_other_tasks_are_dropped_unless_allowed(camp, as_user):
    now = timezone.now()
    _called(camp, "13800000001", now - timedelta(minutes=5))
    _called(camp, "13800000002", now - timedelta(days=2))
    client = as_user(camp["admin"])
    post_send(client, camp, name="不重复呼叫", numbers_text="13800000001\n13800000002")
    post_send(client, camp, name="重复呼叫", recall_called_today="1", numbers_text="13800000001\n13800000002")
    no, yes = Task.objects.get(name="不重复呼叫"), Task.objects.get(name="重复呼叫")
    assert list(no.numbers.values_list("phone", flat=True)) == ["13800000002"]
    assert list(no.drops.values_list("phone", "reason")) == [("13800000001", "called_today")]
    assert sorted(yes.numbers.values_list("phone", flat=True)) == ["13800000001", "13800000002"]
    assert not yes.drops.exists()


def test_called_today_means_since_local_midnight(camp):
    from callcenter.campaigns.intake import called_today, today_start

    start = today_start(camp["enterprise"])
    _called(camp, "13800000001", start + timedelta(seconds=1))
    _called(camp, "13800000002", start - timedelta(seconds=1))
    assert called_today(camp["enterprise"], ["13800000001", "13800000002"]) == {"13800000001"}
    assert called_today(camp["other"]["enterprise"], ["13800000001"]) == set()


def test_skip_existing_customers_drops_numbers_with_a_record(camp, as_user):
    from callcenter.crm import services as crm

    crm.customer_create(enterprise=camp["enterprise"], values={"category": camp["old"], "phone": "13800000001"})
    crm.customer_create(enterprise=camp["other"]["enterprise"], values={"category": camp["b_cat"],
                                                                        "phone": "13800000002"})
    client = as_user(camp["admin"])
    post_send(client, camp, name="跳过", skip_existing_customers="1", numbers_text="13800000001\n13800000002")
    task = Task.objects.get(name="跳过")
    assert list(task.numbers.values_list("phone", flat=True)) == ["13800000002"]
    assert list(task.drops.values_list("phone", "reason")) == [("13800000001", "has_customer")]
    # skipped: its customer keeps its category
    assert Customer.objects.get(enterprise=camp["enterprise"], phone="13800000001").category == camp["old"]


def test_accepted_numbers_join_the_category_overwriting_existing_ones(camp, as_user):
    from callcenter.crm import services as crm

    e = camp["enterprise"]
    kept = crm.customer_create(enterprise=e, values={"category": camp["old"], "phone": "13800000001", "name": "老王",
                                                     "owner": camp["agent"]})
    twin = crm.customer_create(enterprise=e, values={"category": camp["old"], "phone": "13800000001", "name": "老王2"})
    theirs = crm.customer_create(enterprise=camp["other"]["enterprise"], values={"category": camp["b_cat"],
                                                                                 "phone": "13800000002"})
    post_send(as_user(camp["supervisor"]), camp, numbers_text="13800000001\n13800000002")
    task = Task.objects.get()
    kept.refresh_from_db()
    twin.refresh_from_db()
    theirs.refresh_from_db()
    assert kept.category == twin.category == camp["cat"]
    assert (kept.name, kept.owner) == ("老王", camp["agent"])  # only the category changes
    assert theirs.category == camp["b_cat"]
    new = Customer.objects.get(enterprise=e, phone="13800000002")
    assert (new.category, new.owner) == (camp["cat"], camp["supervisor"])
    numbers = dict(task.numbers.values_list("phone", "customer_id"))
    assert numbers == {"13800000001": kept.pk, "13800000002": new.pk}
    assert (task.intake["customers_created"], task.intake["customers_updated"]) == (1, 2)


def test_new_customers_are_linked_to_their_own_numbers_and_later_customers_still_get_ids(camp, as_user):
    """A bulk intake creates the new customers in one write (on PostgreSQL with ids taken from the
    table's sequence first): each number is linked to the customer of its own phone, and a customer
    created afterwards gets a fresh id."""
    from callcenter.crm import services as crm

    e = camp["enterprise"]
    post_send(as_user(camp["supervisor"]), camp, numbers_text="13900000003\n13900000001\n+86 139-0000-0002")
    task = Task.objects.get()
    linked = {n.phone: n.customer for n in task.numbers.select_related("customer")}
    assert sorted(linked) == ["13900000001", "13900000002", "13900000003"]
    assert all(c is not None and c.phone == phone and c.category == camp["cat"] for phone, c in linked.items())
    assert len({c.pk for c in linked.values()}) == 3 and task.intake["customers_created"] == 3
    later = crm.customer_create(enterprise=e, values={"category": camp["old"], "phone": "13900000009"})
    assert later.pk > max(c.pk for c in linked.values())


def test_the_file_wins_over_the_typed_list(camp, as_user):
    client = as_user(camp["admin"])
    r = post_send(client, camp, numbers_file=text_file(["13800000001"]), numbers_text="13900000009")
    task = Task.objects.get()
    assert list(task.numbers.values_list("phone", flat=True)) == ["13800000001"]
    assert task.source_name == "numbers.txt" and task.intake["ignored_list"] is True
    assert "号码列表未使用" in page_text(client.get(r["Location"]))


@pytest.mark.parametrize(("encoding", "bom"), [("gb18030", b""), ("utf-16-le", codecs.BOM_UTF16_LE),
                                               ("utf-8", codecs.BOM_UTF8)])
def test_files_saved_by_chinese_windows_are_read(camp, as_user, encoding, bom):
    lines = ["号码清单", "１３８０００００００１", "+86 138-0000-0002", ""]
    post_send(as_user(camp["admin"]), camp, numbers_file=text_file(lines, encoding=encoding, bom=bom, newline="\r\n"))
    task = Task.objects.get()
    assert sorted(task.numbers.values_list("phone", flat=True)) == ["13800000001", "13800000002"]
    assert list(task.drops.values_list("line_no", "raw")) == [(1, "号码清单")]
    assert task.intake["encoding"] in (encoding, "utf-8-sig", "utf-16")


# --- the report and the dropped list ------------------------------------------------------------------


def test_report_counts_per_reason_and_downloads_the_dropped_list(camp, as_user):
    from callcenter.crm import services as crm
    from callcenter.telephony import services as tel

    tel.blacklist_add(enterprise=camp["enterprise"], number="13800000003", direction="out")
    crm.customer_create(enterprise=camp["enterprise"], values={"category": camp["old"], "phone": "13800000004"})
    _called(camp, "13800000005", timezone.now())
    client = as_user(camp["admin"])
    lines = ["13800000001", "13800000001", "abc", "13800000003", "13800000004", "13800000005", "13800000006"]
    r = post_send(client, camp, skip_existing_customers="1", numbers_file=text_file(lines))
    task = Task.objects.get(name="春季回访")
    assert task.intake["dropped"] == {"duplicate": 1, "invalid": 1, "blacklisted": 1, "has_customer": 1,
                                      "called_today": 1}
    assert task.intake["accepted"] == 2
    page = page_text(client.get(r["Location"]))
    for label in ("重复号码", "号码无效", "黑名单", "客户档案已存在", "当天其它任务已呼叫"):
        assert label in page
    download = client.get(f"/campaigns/tasks/{task.pk}/dropped/")
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    rows = list(openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active.values)
    assert rows[0] == ("行号", "原始内容", "号码", "原因")
    assert [(r[0], r[3]) for r in rows[1:]] == [(2, "重复号码"), (3, "号码无效"), (4, "黑名单"), (5, "客户档案已存在"),
                                               (6, "当天其它任务已呼叫")]


def test_report_and_download_stay_in_the_enterprise(camp, as_user):
    task = make_task(camp, ["13800000001", "abc"])
    client = as_user(camp["other"]["admin"])
    assert client.get(f"/campaigns/tasks/{task.pk}/").status_code == 404
    assert client.get(f"/campaigns/tasks/{task.pk}/dropped/").status_code == 404
    assert as_user(camp["staff"]).get(f"/campaigns/tasks/{task.pk}/dropped/").status_code == 403


# --- large inputs run in the worker, with progress -------------------------------------------------------

worker = pytest.mark.django_db(transaction=True)


@worker
def test_a_large_file_is_taken_in_by_the_worker_with_progress(camp, as_user, settings, huey_immediate):
    settings.CALLCENTER = {**settings.CALLCENTER, "TASK_INLINE_NUMBERS": 10}
    from callcenter.telephony import services as tel

    tel.blacklist_add(enterprise=camp["enterprise"], number="13800000007", direction="both")
    lines = [f"1380000{n:04d}" for n in range(40)] + ["oops", "13800000001"]
    client = as_user(camp["admin"])
    r = post_send(client, camp, numbers_file=text_file(lines), _submit="1", _draft=None)
    task = Task.objects.get()
    assert r["Location"] == f"/campaigns/tasks/{task.pk}/"
    job = Job.objects.get(pk=task.job_id)
    assert (job.status, job.done, job.total, job.succeeded, job.failed) == ("done", 40, 40, 39, 3)
    assert (task.status, task.submitted, task.numbers_total) == (TaskStatus.RUNNING, True, 39)
    assert task.numbers.count() == 39 and task.drops.count() == 3
    assert not job.input_file or not __import__("pathlib").Path(job.input_file).exists()
    page = page_text(client.get(r["Location"]))
    assert 'id="intake-accepted">39<' in page and "hx-trigger" not in page


@worker
def test_while_importing_the_page_polls_the_progress(camp, as_user, settings):
    settings.CALLCENTER = {**settings.CALLCENTER, "TASK_INLINE_NUMBERS": 2}
    client = as_user(camp["admin"])
    r = post_send(client, camp, numbers_text="13800000001\n13800000002\n13800000003")  # worker not running
    task = Task.objects.get()
    assert task.status == TaskStatus.IMPORTING and not task.numbers.exists()
    page = client.get(r["Location"])
    assert 'hx-trigger="every 1s"' in page.content.decode() and "号码导入中" in page_text(page)
    partial = client.get(r["Location"], HTTP_HX_REQUEST="true")
    assert partial.content.decode().startswith('<div id="task-intake"')
    from callcenter.campaigns.tasks import run_intake_job

    run_intake_job(task.job_id)
    task.refresh_from_db()
    assert (task.status, task.numbers_total) == (TaskStatus.PAUSED, 3)
    assert "hx-trigger" not in client.get(r["Location"]).content.decode()


@worker
def test_a_worker_failure_removes_what_it_wrote_and_says_why(camp, as_user, settings, monkeypatch):
    settings.CALLCENTER = {**settings.CALLCENTER, "TASK_INLINE_NUMBERS": 2}
    client = as_user(camp["admin"])
    post_send(client, camp, numbers_text="13800000001\n13800000002\n13800000003")
    task = Task.objects.get()
    from callcenter.campaigns import intake as intake_module
    from callcenter.campaigns.tasks import run_intake_job

    real = intake_module.upsert_customers

    def broken(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("磁盘已满")

    monkeypatch.setattr(intake_module, "upsert_customers", broken)
    with pytest.raises(RuntimeError):
        run_intake_job(task.job_id)
    task.refresh_from_db()
    assert task.status == TaskStatus.ENDED and task.intake == {"error": "磁盘已满"}
    assert not task.numbers.exists() and not task.drops.exists()
    assert Job.objects.get(pk=task.job_id).status == "failed"
    assert "号码导入失败：磁盘已满" in page_text(client.get(f"/campaigns/tasks/{task.pk}/"))
