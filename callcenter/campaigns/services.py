"""Writes of campaigns (任务管理 2.1.1-2.1.2): create a task and take in its numbers, submit a
draft, pause, resume, end by hand, resend, modify the name and start time, edit the windows.

Every action checks the task's state first and refuses with a `ServiceError` whose message says
why (e.g. "已结束，不能恢复发送"). Status changes are guarded UPDATEs (`WHERE status IN (...)`),
so a change the dialer made meanwhile (SCHEDULED → RUNNING at the start time, RUNNING → ENDED
when every number is done) is never overwritten: the action then refuses with the new state.
Only the dialer writes attempts and the per-number call fields; ending and resending change
number status and result in bulk, as the campaign contract says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.accounts.services import ServiceError
from callcenter.campaigns import intake
from callcenter.campaigns.choices import (
    RESEND_RESULTS,
    CallResult,
    EndReason,
    NumberStatus,
    ResendRule,
    TaskStatus,
)
from callcenter.campaigns.models import Task, TaskNumber, TaskWindow
from callcenter.core import audit

MAX_WINDOWS = 10
# A start time chosen to the minute is a few seconds old when the form arrives.
START_GRACE = timedelta(minutes=1)


class Errors:
    def __init__(self):
        self.by_field: dict[str, list[str]] = {}

    def add(self, field_name: str, message: str) -> None:
        self.by_field.setdefault(field_name, []).append(message)

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ServiceError(self.by_field)


def _refuse(field_name: str, message: str):
    raise ServiceError({field_name: [message]})


# --- checks shared by create, submit and resume ---------------------------------------------------------


def flow_refusal(flow) -> str | None:
    """Why a task cannot dial through `flow`: a flow that transfers needs an enabled agent group
    with at least one agent who is not disabled."""
    from callcenter.accounts.choices import AgentType
    from callcenter.telephony.choices import TransferMode

    if flow.transfer_mode == TransferMode.PLAY_ONLY:
        return None
    group = flow.agent_group
    if group is None:
        return _("流程“%(f)s”没有设置坐席组，接通的电话无人接听") % {"f": flow}
    if not group.enabled:
        return _("流程“%(f)s”的坐席组“%(g)s”已停用") % {"f": flow, "g": group}
    if not group.members.exclude(agent_type=AgentType.DISABLED).exists():
        return _("流程“%(f)s”的坐席组“%(g)s”没有可用的坐席") % {"f": flow, "g": group}
    return None


def _as_time(value, row: int) -> time:
    if isinstance(value, time):
        return value.replace(second=0, microsecond=0)
    text = str(value or "").strip()
    try:
        parsed = time.fromisoformat(text)
    except ValueError:
        raise ServiceError({"windows": [_("发送阶段第 %(n)s 行：“%(v)s”不是时间（时:分）") % {"n": row, "v": text}]}) \
            from None
    return parsed.replace(second=0, microsecond=0, tzinfo=None)


def clean_windows(windows) -> list[tuple[time, time]]:
    """发送阶段: (start, end) pairs of local times, each ending after it starts, none overlapping.
    Accepts (start, end) tuples or {"start": ..., "end": ...} with times or "HH:MM" strings."""
    errors = Errors()
    pairs: list[tuple[int, time, time]] = []
    items = list(windows or [])
    if len(items) > MAX_WINDOWS:
        _refuse("windows", _("发送阶段最多 %(n)s 个") % {"n": MAX_WINDOWS})
    for row, item in enumerate(items, start=1):
        start, end = (item.get("start"), item.get("end")) if isinstance(item, dict) else item
        if start in (None, "") or end in (None, ""):
            errors.add("windows", _("发送阶段第 %(n)s 行：请同时填写开始和结束时间") % {"n": row})
            continue
        try:
            start_t, end_t = _as_time(start, row), _as_time(end, row)
        except ServiceError as exc:
            errors.add("windows", exc.messages[0])
            continue
        if end_t <= start_t:
            errors.add("windows", _("发送阶段第 %(n)s 行：结束时间 %(e)s 须晚于开始时间 %(s)s")
                       % {"n": row, "s": f"{start_t:%H:%M}", "e": f"{end_t:%H:%M}"})
            continue
        pairs.append((row, start_t, end_t))
    ordered = sorted(pairs, key=lambda p: p[1])
    for (row_a, _s_a, end_a), (row_b, start_b, _e_b) in zip(ordered, ordered[1:], strict=False):
        if start_b < end_a:
            first, second = sorted((row_a, row_b))
            errors.add("windows", _("发送阶段第 %(a)s 行与第 %(b)s 行的时间重叠") % {"a": first, "b": second})
    errors.raise_if_any()
    return [(s, e) for _row, s, e in ordered]


def start_refusal(start_at: datetime | None) -> str | None:
    if start_at is not None and start_at < timezone.now() - START_GRACE:
        return _("开始时间 %(t)s 已经过去，请选择以后的时间（不填则立即发送）") % {
            "t": timezone.localtime(start_at).strftime("%Y-%m-%d %H:%M")}
    return None


def _write_windows(task: Task, windows: list[tuple[time, time]]) -> None:
    TaskWindow.objects.filter(task=task).delete()
    TaskWindow.objects.bulk_create([TaskWindow(task=task, start=s, end=e) for s, e in windows])


# --- create (T1) --------------------------------------------------------------------------------------


@dataclass
class Created:
    task: Task
    in_worker: bool


def task_create(*, enterprise, user, values: dict, source: intake.Source, submit: bool,
                ip: str | None = None) -> Created:
    """任务发送: check every option, take in the numbers (inline, or in the worker when there are more
    than `intake.inline_numbers()`), and leave the task a draft (PAUSED, not submitted) or submitted
    (SCHEDULED when its start time is ahead, else RUNNING). Nothing is written when any check fails.

    `values`: name, flow, category, start_at, windows, dedupe, recall_called_today,
    skip_existing_customers."""
    errors = Errors()
    name = (values.get("name") or "").strip()
    if not name:
        errors.add("name", _("任务名称：必填"))
    elif len(name) > 100:
        errors.add("name", _("任务名称：最多100个字"))
    flow = values.get("flow")
    if flow is None or flow.enterprise_id != enterprise.pk:
        errors.add("flow", _("流程：请选择本企业的流程"))
    else:
        refusal = flow_refusal(flow)
        if refusal:
            errors.add("flow", refusal)
    category = values.get("category")
    if category is None or category.enterprise_id != enterprise.pk:
        errors.add("category", _("客户分类：请选择本企业的客户分类"))
    start_at = values.get("start_at")
    refusal = start_refusal(start_at)
    if refusal:
        errors.add("start_at", refusal)
    windows: list = []
    try:
        windows = clean_windows(values.get("windows") or [])
    except ServiceError as exc:
        for message in exc.messages:
            errors.add("windows", message)
    dedupe = bool(values.get("dedupe", True))
    parsed = intake.parse(source.lines, dedupe=dedupe)
    if not parsed.accepted:
        errors.add(source.field, intake.invalid_lines_message(parsed))
    errors.raise_if_any()

    task = Task(enterprise=enterprise, name=name, flow=flow, category=category, start_at=start_at, dedupe=dedupe,
                recall_called_today=bool(values.get("recall_called_today", False)),
                skip_existing_customers=bool(values.get("skip_existing_customers", False)),
                status=TaskStatus.IMPORTING, source_name=source.name[:200], created_by=user)
    large = parsed.lines > intake.inline_numbers()
    with transaction.atomic():
        task.save()
        _write_windows(task, windows)
        if large:
            _queue_intake(task, source, submit=submit, user=user, ip=ip, total=len(parsed.accepted))
        else:
            outcome = intake.apply(task, parsed, user=user)
            finish_intake(task, outcome, source, submit=submit)
        task.refresh_from_db()
        audit.record_create(task)
    return Created(task, large)


def _queue_intake(task: Task, source: intake.Source, *, submit: bool, user, ip, total: int) -> None:
    from callcenter.campaigns import tasks
    from callcenter.core.choices import JobKind
    from callcenter.core.models import Job
    from callcenter.core.tasks import job_dir

    job = Job.objects.create(enterprise_id=task.enterprise_id, user=user, kind=JobKind.IMPORT, screen="campaigns.task",
                             total=total, params={"task": task.pk, "submit": submit, "ip": ip, "kind": source.kind,
                                                  "name": source.name, "encoding": source.encoding,
                                                  "ignored_list": source.ignored_list})
    path = job_dir(job) / "numbers.txt"
    path.write_text("\n".join(source.lines), encoding="utf-8")
    Job.objects.filter(pk=job.pk).update(input_file=str(path))
    Task.objects.filter(pk=task.pk).update(job=job)
    job_id = job.pk
    transaction.on_commit(lambda: tasks.intake_job(job_id))


def finish_intake(task: Task, outcome: intake.Outcome, source: intake.Source | None, *, submit: bool) -> None:
    """The numbers are in: the task becomes a draft or is submitted. A task left without a single
    number to call has nothing to do and ends at once (its report says why each was dropped)."""
    now = timezone.now()
    fields = {"intake": outcome.as_json(source), "numbers_total": outcome.accepted, "submitted": submit}
    if outcome.accepted == 0:
        fields.update(status=TaskStatus.ENDED, end_reason=EndReason.COMPLETED, ended_at=now)
    elif submit:
        if task.start_at is not None and task.start_at > now:
            fields.update(status=TaskStatus.SCHEDULED)
        else:
            fields.update(status=TaskStatus.RUNNING, started_at=now)
    else:
        fields.update(status=TaskStatus.PAUSED)
    Task.objects.filter(pk=task.pk, status=TaskStatus.IMPORTING).update(**fields)


def intake_failed(task_id: int, message: str) -> None:
    """The worker could not finish the intake: what it wrote of the task is removed and the task
    ends with the reason in its report."""
    from callcenter.campaigns.models import TaskDrop

    with transaction.atomic():
        TaskNumber.objects.filter(task_id=task_id).delete()
        TaskDrop.objects.filter(task_id=task_id).delete()
        Task.objects.filter(pk=task_id, status=TaskStatus.IMPORTING).update(
            status=TaskStatus.ENDED, numbers_total=0, ended_at=timezone.now(), intake={"error": message[:2000]})


def remove_input(path: str) -> None:
    if path:
        Path(path).unlink(missing_ok=True)


# --- numbers from the customer list (R1 → T1) ------------------------------------------------------


def customer_numbers(user, *, query: str = "", ids: list[int] | None = None) -> list[str]:
    """Phones of the customers the user chose on the customer list: the ticked ones, or every one
    matching the list's query (filters as in the URL), within the user's data scope. At most
    `intake.max_numbers() + 1` are read, so an over-large query is refused, not loaded."""
    from django.http import QueryDict

    from callcenter.core.tasks import screen_queryset
    from callcenter.crm.screens import customer_screen

    qs = screen_queryset(customer_screen, user, QueryDict(query or ""))
    if ids is not None:
        qs = qs.filter(pk__in=ids)
    return list(qs.values_list("phone", flat=True)[: intake.max_numbers() + 1])


# --- state changes (T4) ------------------------------------------------------------------------------


def state_label(task: Task) -> str:
    if task.status == TaskStatus.PAUSED and not task.submitted:
        return str(_("是草稿（未提交发送）"))
    return {
        TaskStatus.IMPORTING: _("号码导入中"),
        TaskStatus.SCHEDULED: _("等待发送"),
        TaskStatus.RUNNING: _("正在发送"),
        TaskStatus.PAUSED: _("已暂停"),
        TaskStatus.ENDED: _("已结束"),
    }[TaskStatus(task.status)]


def _state_refusal(task: Task, action: str, hint: str = ""):
    message = _("任务“%(t)s”%(state)s，不能%(action)s") % {"t": task.name, "state": state_label(task), "action": action}
    raise ServiceError({"status": [message + (f"；{hint}" if hint else "")]})


def _reload(task: Task) -> Task:
    task.refresh_from_db()
    return task


def _record(task: Task, before: dict, **extra) -> None:
    changes = audit.diff(before, audit.snapshot(task))
    for key, value in extra.items():
        changes[key] = [None, value]
    if changes:
        audit.record_many([(task, "update", changes)])


def _start_fields(task: Task, now: datetime) -> dict:
    if task.start_at is not None and task.start_at > now:
        return {"status": TaskStatus.SCHEDULED}
    return {"status": TaskStatus.RUNNING, "started_at": task.started_at or now}


def _check_flow(task: Task, action: str) -> None:
    refusal = flow_refusal(task.flow)
    if refusal:
        raise ServiceError({"flow": [_("不能%(action)s：%(why)s") % {"action": action, "why": refusal}]})


def task_submit(*, task: Task) -> Task:
    """【提交发送】 of a draft: the dialer calls it inside its windows from its start time on."""
    action = str(_("提交发送"))
    task = _reload(task)
    if not (task.status == TaskStatus.PAUSED and not task.submitted):
        hint = _("已提交的任务请用【恢复发送】") if task.status == TaskStatus.PAUSED else ""
        _state_refusal(task, action, hint)
    _check_flow(task, action)
    before = audit.snapshot(task)
    fields = {**_start_fields(task, timezone.now()), "submitted": True}
    with transaction.atomic():
        if not Task.objects.filter(pk=task.pk, status=TaskStatus.PAUSED, submitted=False).update(**fields):
            _state_refusal(_reload(task), action)
        _record(_reload(task), before)
    return task


def task_pause(*, task: Task) -> Task:
    """【暂停发送】: the dialer opens no new calls; calls in progress finish."""
    action = str(_("暂停发送"))
    task = _reload(task)
    if task.status not in (TaskStatus.RUNNING, TaskStatus.SCHEDULED):
        _state_refusal(task, action)
    before = audit.snapshot(task)
    with transaction.atomic():
        if not Task.objects.filter(pk=task.pk, status__in=[TaskStatus.RUNNING, TaskStatus.SCHEDULED]).update(
                status=TaskStatus.PAUSED):
            _state_refusal(_reload(task), action)
        _record(_reload(task), before)
    return task


def task_resume(*, task: Task) -> Task:
    """【恢复发送】 of a paused task (RUNNING, or SCHEDULED while its start time is ahead). Resuming
    a draft submits it."""
    action = str(_("恢复发送"))
    task = _reload(task)
    if task.status == TaskStatus.PAUSED and not task.submitted:
        return task_submit(task=task)
    if task.status != TaskStatus.PAUSED:
        hint = _("可用【重新发送】再次呼叫它的号码") if task.status == TaskStatus.ENDED else ""
        _state_refusal(task, action, hint)
    _check_flow(task, action)
    before = audit.snapshot(task)
    with transaction.atomic():
        if not Task.objects.filter(pk=task.pk, status=TaskStatus.PAUSED, submitted=True).update(
                **_start_fields(task, timezone.now())):
            _state_refusal(_reload(task), action)
        _record(_reload(task), before)
    return task


def task_end(*, task: Task) -> tuple[Task, int]:
    """【手工结束】: the task ends; numbers never dialled in this round end as CANCELLED (任务结束未呼叫),
    numbers waiting for a retry keep their last result. Calls in progress finish and are recorded
    by the dialer. Returns the task and how many numbers were cancelled."""
    action = str(_("手工结束"))
    task = _reload(task)
    live = [TaskStatus.RUNNING, TaskStatus.SCHEDULED, TaskStatus.PAUSED]
    if task.status not in live:
        _state_refusal(task, action)
    before = audit.snapshot(task)
    with transaction.atomic():
        if not Task.objects.filter(pk=task.pk, status__in=live).update(
                status=TaskStatus.ENDED, end_reason=EndReason.MANUAL, ended_at=timezone.now()):
            _state_refusal(_reload(task), action)
        cancelled = TaskNumber.objects.filter(task=task, status=NumberStatus.PENDING).update(
            status=NumberStatus.DONE, result=CallResult.CANCELLED, next_attempt_at=None)
        TaskNumber.objects.filter(task=task, status=NumberStatus.RETRY).update(status=NumberStatus.DONE,
                                                                            next_attempt_at=None)
        _record(_reload(task), before, numbers_cancelled=cancelled)
    return task, cancelled


def resend_results(rules) -> set[str]:
    results: set[str] = set()
    for rule in rules:
        results |= {str(r) for r in RESEND_RESULTS[ResendRule(rule)]}
    return results


def resend_counts(task: Task) -> dict[str, int]:
    """How many numbers of an ended task each 重新发送 rule would dial again."""
    from django.db.models import Count

    by_result = dict(TaskNumber.objects.filter(task=task, status=NumberStatus.DONE).values_list("result").annotate(
        n=Count("id")).order_by())
    return {rule.value: sum(by_result.get(str(r), 0) for r in RESEND_RESULTS[rule]) for rule in ResendRule}


def task_resend(*, task: Task, rules) -> tuple[Task, int]:
    """【重新发送】: the same task runs again (round + 1) over its numbers whose result matches the
    chosen rules (未接通, 呼叫失败, 接通未转坐席); they start afresh with no attempts in the new round.
    Earlier attempts stay in the task's history. Returns the task and how many numbers."""
    action = str(_("重新发送"))
    task = _reload(task)
    rules = [r for r in (rules or []) if r]
    if not rules:
        _refuse("rules", _("请选择重新发送的号码：未接通、呼叫失败或接通未转坐席"))
    unknown = [r for r in rules if r not in ResendRule.values]
    if unknown:
        _refuse("rules", _("未知的重新发送规则：%(r)s") % {"r": "、".join(map(str, unknown))})
    if task.status != TaskStatus.ENDED:
        _state_refusal(task, action, _("只有已结束的任务可以重新发送"))
    _check_flow(task, action)
    results = resend_results(rules)
    chosen = TaskNumber.objects.filter(task=task, status=NumberStatus.DONE, result__in=results)
    if not chosen.exists():
        _refuse("rules", _("任务“%(t)s”没有符合所选规则的号码") % {"t": task.name})
    before = audit.snapshot(task)
    now = timezone.now()
    with transaction.atomic():
        fields = {"status": TaskStatus.RUNNING, "submitted": True, "round": task.round + 1, "ended_at": None,
                  "end_reason": "", "started_at": task.started_at or now}
        if task.start_at is not None and task.start_at > now:
            fields["status"] = TaskStatus.SCHEDULED
        if not Task.objects.filter(pk=task.pk, status=TaskStatus.ENDED, round=task.round).update(**fields):
            _state_refusal(_reload(task), action)
        n = chosen.update(status=NumberStatus.PENDING, result="", attempts=0, next_attempt_at=None)
        _record(_reload(task), before, numbers_resent=n, resend_rules=",".join(rules))
    return task, n


def _same_minute(a: datetime | None, b: datetime | None) -> bool:
    """A form shows the start time to the minute: the stored time, seconds and all, is unchanged
    when the form sends back the same minute."""
    if a is None or b is None:
        return a is b
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def task_modify(*, task: Task, name: str | None = None, start_at: datetime | None | object = ...) -> Task:
    """【修改】: the name, and the start time while the task has not started sending (a paused task
    too: resuming it then waits for the new time). An empty start time means "now"."""
    task = _reload(task)
    errors = Errors()
    fields: dict = {}
    if task.status == TaskStatus.IMPORTING:
        _state_refusal(task, str(_("修改")))
    if name is not None:
        name = name.strip()
        if not name:
            errors.add("name", _("任务名称：必填"))
        elif len(name) > 100:
            errors.add("name", _("任务名称：最多100个字"))
        elif name != task.name:
            fields["name"] = name
    if start_at is not ... and not _same_minute(start_at, task.start_at):
        if task.status == TaskStatus.RUNNING:
            errors.add("start_at", _("任务“%(t)s”正在发送，不能修改开始时间；请先【暂停发送】") % {"t": task.name})
        elif task.status == TaskStatus.ENDED:
            errors.add("start_at", _("任务“%(t)s”已结束，不能修改开始时间") % {"t": task.name})
        else:
            refusal = start_refusal(start_at)
            if refusal:
                errors.add("start_at", refusal)
            fields["start_at"] = start_at
            if task.status == TaskStatus.SCHEDULED:
                now = timezone.now()
                task.start_at = start_at
                fields.update(_start_fields(task, now))
    errors.raise_if_any()
    if not fields:
        return task
    before = audit.snapshot(_reload(task))
    allowed = [task.status]
    with transaction.atomic():
        if not Task.objects.filter(pk=task.pk, status__in=allowed).update(**fields):
            _state_refusal(_reload(task), str(_("修改")))
        _record(_reload(task), before)
    return task


def task_set_windows(*, task: Task, windows) -> Task:
    """【时间段】: replace the task's sending windows (none: any time of day)."""
    task = _reload(task)
    if task.status == TaskStatus.IMPORTING:
        _state_refusal(task, str(_("修改时间段")))
    cleaned = clean_windows(windows)
    before = [str(w) for w in task.windows.all()]
    with transaction.atomic():
        locked = Task.objects.select_for_update().filter(pk=task.pk).exclude(status=TaskStatus.IMPORTING).first()
        if locked is None:
            _state_refusal(_reload(task), str(_("修改时间段")))
        _write_windows(task, cleaned)
        after = [f"{s:%H:%M}-{e:%H:%M}" for s, e in cleaned]
        if before != after:
            audit.record_many([(task, "update", {"windows": [before, after]})])
    return task


def refusals_for(tasks: list[Task], op) -> tuple[int, list[str]]:
    """Apply `op(task=...)` to each task; (how many succeeded, each refusal's reason)."""
    done, refused = 0, []
    for task in tasks:
        try:
            op(task=task)
            done += 1
        except ServiceError as exc:
            refused.extend(exc.messages)
    return done, refused


__all__ = [
    "Created", "clean_windows", "customer_numbers", "flow_refusal", "resend_counts", "start_refusal",
    "task_create", "task_end", "task_modify", "task_pause", "task_resend", "task_resume", "task_set_windows",
    "task_submit",
]
