"""Dashboard: the signed-in agent's unread to-dos and the latest announcements they may read."""

from __future__ import annotations

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from callcenter.core.dashboard import register_widget
from callcenter.notices import services
from callcenter.notices.choices import AnnouncementStatus
from callcenter.notices.models import Announcement


@register_widget(20)
def todo_figures(request):
    user = request.user
    unread = services.own_todos(user).filter(read_at__isnull=True).count()
    latest = (services.visible_announcements(Announcement.objects.all(), user)
              .filter(status=AnnouncementStatus.PUBLISHED).order_by("-published_at", "-id")
              .only("pk", "title", "published_at")[:5])
    items = [{"label": a.title, "url": reverse("notices:announcement_detail", args=[a.pk]),
              "meta": formats.date_format(timezone.localtime(a.published_at), "SHORT_DATETIME_FORMAT")}
             for a in latest]
    return {
        "kind": "figures", "title": _("待办与公告"),
        "figures": [{"label": _("未读待办"), "value": unread, "url": reverse("notices:todo_list") + "?state=unread"}],
        "items_title": _("最新公告"), "items": items, "items_empty": _("暂无"),
    }
