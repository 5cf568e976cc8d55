"""测拨 (test dial, 2.2.6) and 通道监控 (channel monitor, 2.7.6): pages that watch calls live.

Both poll with htmx every second: call control writes the rows (CallEvent, LiveChannel);
these views only read them.
"""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from callcenter.calls.models import AgentState, LiveChannel
from callcenter.core.scope import scoped
from callcenter.pbx.choices import CommandKind, CommandStatus
from callcenter.pbx.models import CallEvent, PbxCommand
from callcenter.telephony.models import CallFlow

EVENT_LABELS = {
    "dialing": "正在呼叫", "ringing": "振铃", "answered": "已接听", "prompt_played": "语音播放完毕", "key": "按键",
    "transferring": "转接坐席组", "agent_ringing": "坐席振铃", "agent_no_answer": "坐席未接",
    "connected": "已转接到坐席", "queue": "进入队列", "no_agent": "没有坐席接听", "hangup": "挂断",
    "failed": "呼叫失败", "ended": "结束",
}


def _enterprise_user(request, perm: str):
    user = request.user
    if user.enterprise_id is None or not user.has_perm(perm):
        raise PermissionDenied(_("没有权限"))
    return user


@login_required
def test_dial(request, flow_pk: int):
    """POST a number: call control dials it through the flow; the page then shows the events."""
    user = _enterprise_user(request, "telephony.test_dial_callflow")
    flow = get_object_or_404(scoped(CallFlow.objects.all(), user), pk=flow_pk)
    if request.method != "POST":
        return redirect("telephony:callflow_detail", pk=flow.pk)
    number = re.sub(r"[\s-]", "", request.POST.get("number", ""))
    if not re.fullmatch(r"\+?[0-9]{3,20}", number):
        return render(request, "pbx/test_dial.html", {
            "flow": flow, "error": _("号码：请输入3到20位数字"), "title": _("测拨")}, status=400)
    command = PbxCommand.objects.create(enterprise=user.enterprise, kind=CommandKind.TEST_DIAL, created_by=user,
                                        params={"flow_id": flow.pk, "number": number})
    return redirect("pbx:test_dial_events", pk=command.pk)


@login_required
def test_dial_events(request, pk: int):
    user = _enterprise_user(request, "telephony.test_dial_callflow")
    command = get_object_or_404(PbxCommand, pk=pk, enterprise_id=user.enterprise_id, kind=CommandKind.TEST_DIAL)
    events = [{"at": e.at, "kind": e.kind, "label": _(EVENT_LABELS.get(e.kind, e.kind)), "detail": e.detail}
              for e in CallEvent.objects.filter(command=command)]
    running = command.status in (CommandStatus.PENDING, CommandStatus.RUNNING)
    flow = CallFlow.objects.filter(pk=command.params.get("flow_id"), enterprise_id=user.enterprise_id).first()
    template = "pbx/_test_dial_events.html" if request.htmx else "pbx/test_dial.html"
    return render(request, template, {"command": command, "events": events, "running": running, "flow": flow,
                                      "title": _("测拨")})


@login_required
def channels(request):
    """通道监控: trunk and extension channels and callers waiting, refreshed every second."""
    user = _enterprise_user(request, "calls.view_livechannel")
    rows = list(LiveChannel.objects.filter(enterprise_id=user.enterprise_id).select_related("agent")
                .order_by("kind", "started_at", "id")[:500])
    groups = {"trunk": [], "extension": [], "queue_wait": []}
    for row in rows:
        groups.setdefault(row.kind, []).append(row)
    states = list(AgentState.objects.filter(enterprise_id=user.enterprise_id).select_related("agent")
                  .order_by("agent__number")[:500])
    template = "pbx/_channels.html" if request.htmx else "pbx/channels.html"
    return render(request, template, {"groups": groups, "states": states, "title": _("通道监控"),
                                      "counts": {k: len(v) for k, v in groups.items()}})
