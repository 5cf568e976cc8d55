"""Dashboard figures owned by the accounts app: agents, logins today, recent logins."""

from __future__ import annotations

import json
from datetime import timedelta

from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.accounts.choices import AgentType, LoginResult
from callcenter.accounts.models import Agent, LoginLog
from callcenter.core.dashboard import register_widget
from callcenter.core.scope import scoped


@register_widget(10)
def agent_figures(request):
    user = request.user
    agents = scoped(Agent.objects.all(), user) if user.has_perm("accounts.view_agent") else None
    logs = scoped(LoginLog.objects.all(), user) if user.has_perm("accounts.view_loginlog") else None
    tz = timezone.get_current_timezone()
    today = timezone.localtime(timezone.now(), tz).replace(hour=0, minute=0, second=0, microsecond=0)
    figures = []
    if agents is not None:
        by_type = dict(agents.values_list("agent_type").annotate(n=Count("pk")))
        figures.append({"label": _("坐席总数"), "value": sum(by_type.values())})
        figures.append({"label": _("禁用坐席"), "value": by_type.get(AgentType.DISABLED, 0)})
    if logs is not None:
        ok = logs.filter(result=LoginResult.SUCCESS)
        figures.append({"label": _("今日登录坐席"),
                        "value": ok.filter(at__gte=today).values("agent").distinct().count()})
        figures.append({"label": _("今日登录失败"),
                        "value": logs.filter(at__gte=today).exclude(result=LoginResult.SUCCESS).count()})
    if not figures:
        return None
    widget = {"kind": "figures", "title": _("坐席概况"), "figures": figures}
    if logs is not None:
        start = today - timedelta(days=6)
        rows = (logs.filter(at__gte=start, result=LoginResult.SUCCESS).annotate(day=TruncDate("at", tzinfo=tz))
                .values("day").annotate(n=Count("pk")).order_by("day"))
        counts = {r["day"]: r["n"] for r in rows}
        days = [(start + timedelta(days=i)).date() for i in range(7)]
        x = [d.strftime("%m-%d") for d in days]
        y = [counts.get(d, 0) for d in days]
        widget["chart"] = {"title": _("近7天成功登录次数"), "x": x, "y": y, "json": json.dumps({"x": x, "y": y})}
        widget["recent"] = list(logs.select_related("agent").order_by("-at", "-id")[:10])
    return widget
