"""Manual batch dialling (T2, 手动批量外呼): a draft or paused task's numbers, worked by agents from
the workspace. 【下一个号码】 takes the task's next unworked number (retries that are due first,
blacklisted and called-today numbers skipped, as the dialer does) and commits an attempt for the
agent; call control's dialer then rings the agent's own phone and, when they answer, dials the
number and connects the two (campaigns/dialer/service.py). Results and retries are the dialer's,
as for automatic calls. Staff (普通员工) cannot dial out.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from callcenter.accounts.choices import AgentType
from callcenter.accounts.services import refuse
from callcenter.calls.choices import AgentStatus
from callcenter.calls.models import AgentState
from callcenter.campaigns.choices import AttemptStatus, NumberStatus, TaskStatus
from callcenter.campaigns.dialer import claims
from callcenter.campaigns.models import Attempt, Task, TaskNumber

PERMISSIONS = ("workspace.use_workspace", "campaigns.view_task")


def may_dial(agent) -> bool:
    """Agents who work in the workspace and see tasks dial; staff and disabled agents never do."""
    return (agent.is_authenticated and agent.enterprise_id is not None
            and agent.agent_type not in (AgentType.STAFF, AgentType.DISABLED) and agent.has_perms(PERMISSIONS))


def tasks_for(agent):
    """Tasks the agent can work by hand: drafts and paused tasks of their enterprise with numbers to call."""
    return (Task.objects.filter(enterprise_id=agent.enterprise_id, status=TaskStatus.PAUSED)
            .filter(numbers__status__in=[NumberStatus.PENDING, NumberStatus.RETRY]).distinct()
            .order_by("-created_at", "-id"))


def pending_attempt(agent) -> Attempt | None:
    return Attempt.objects.filter(agent=agent, status=AttemptStatus.DIALING).select_related("number").first()


def next_number(*, agent, task_id) -> Attempt:
    """【下一个号码】: commit an attempt of the task's next number for the agent's own line."""
    if agent.agent_type == AgentType.STAFF:
        refuse("agent", _("普通员工不能外呼"))
    if not may_dial(agent):
        refuse("agent", _("没有手动外呼的权限"))
    task = Task.objects.filter(pk=task_id, enterprise_id=agent.enterprise_id).first() if str(task_id).isdigit() \
        else None
    if task is None:
        refuse("task", _("任务：请选择本企业的任务"))
    if task.status != TaskStatus.PAUSED:
        refuse("task", _("任务“%(t)s”%(s)s，只有草稿或暂停的任务可以手动外呼")
               % {"t": task.name, "s": task.get_status_display()})
    live = AgentState.objects.filter(agent=agent).values_list("state", flat=True).first()
    if live in (AgentStatus.RINGING, AgentStatus.BUSY):
        refuse("agent", _("通话中不能外呼，请先挂断"))
    for attempt_id in claims.manual_stale(agent.pk):  # asked for earlier, never picked up: given back
        claims.void(attempt_id)
    if pending_attempt(agent) is not None:
        refuse("agent", _("上一个号码还在呼叫中"))
    claimed = claims.manual_claim(agent=agent, task=task)
    if claimed is None:
        if not TaskNumber.objects.filter(task=task, status__in=[NumberStatus.PENDING, NumberStatus.RETRY]).exists():
            refuse("task", _("任务“%(t)s”没有待呼叫的号码") % {"t": task.name})
        refuse("task", _("任务“%(t)s”暂时没有可呼叫的号码（待重呼的号码未到时间）") % {"t": task.name})
    return Attempt.objects.select_related("number", "task").get(pk=claimed.attempt_id)
