"""Writes of the notices app: announcements (publish, approve, reject, edit, delete) and to-dos.

Each service is keyword-only and transactional; announcement changes are audited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from callcenter.accounts.choices import AgentType
from callcenter.accounts.models import Agent
from callcenter.core import audit
from callcenter.notices.choices import AnnouncementStatus, Audience, TodoKind
from callcenter.notices.models import Announcement, Todo
from callcenter.notices.sanitize import clean_html

BATCH = 1000


def refuse(field: str | None, message: str):
    raise ValidationError({field: [message]} if field else message)


# --- who sees what ---------------------------------------------------------------------------


def manages_announcements(user) -> bool:
    return any(user.has_perm(p) for p in ("notices.change_announcement", "notices.delete_announcement",
                                          "notices.approve_announcement"))


def visible_announcements(qs: QuerySet, user) -> QuerySet:
    """Managers see every announcement of their enterprise; others what was published to them and their own."""
    qs = qs.filter(enterprise_id=user.enterprise_id)
    if manages_announcements(user):
        return qs
    through_agents = Announcement.agents.through.objects.filter(announcement=OuterRef("pk"), agent_id=user.pk)
    addressed = Q(audience=Audience.ALL) | Q(audience=Audience.AGENTS, pk__in=through_agents.values("announcement"))
    if user.department_id is not None:
        through_depts = Announcement.departments.through.objects.filter(announcement=OuterRef("pk"),
                                                                        department_id=user.department_id)
        addressed |= Q(audience=Audience.DEPARTMENTS, pk__in=through_depts.values("announcement"))
    return qs.filter((Q(status=AnnouncementStatus.PUBLISHED) & addressed) | Q(author_id=user.pk))


def recipient_ids(announcement: Announcement) -> list[int]:
    agents = Agent.objects.filter(enterprise_id=announcement.enterprise_id).exclude(agent_type=AgentType.DISABLED)
    if announcement.audience == Audience.DEPARTMENTS:
        agents = agents.filter(department__in=announcement.departments.all())
    elif announcement.audience == Audience.AGENTS:
        agents = agents.filter(pk__in=announcement.agents.all())
    return list(agents.values_list("pk", flat=True))


# --- announcements ---------------------------------------------------------------------------


def _check_recipients(audience, departments, agents) -> None:
    if audience == Audience.DEPARTMENTS and not departments:
        refuse("departments", _("请选择要通知的部门"))
    if audience == Audience.AGENTS and not agents:
        refuse("agents", _("请选择要通知的坐席"))


def _set_recipients(ann: Announcement, departments, agents) -> None:
    ann.departments.set(departments if ann.audience == Audience.DEPARTMENTS else [])
    ann.agents.set(agents if ann.audience == Audience.AGENTS else [])


@transaction.atomic
def announcement_create(*, enterprise, author, title: str, content: str, audience: str, departments=(),
                        agents=(), publish: bool = True) -> Announcement:
    _check_recipients(audience, departments, agents)
    ann = Announcement.objects.create(enterprise=enterprise, author=author, title=title,
                                      content=clean_html(content), audience=audience)
    _set_recipients(ann, departments, agents)
    audit.record_create(ann)
    if publish:
        ann = announcement_publish(announcement=ann, actor=author)
    return ann


@transaction.atomic
def announcement_update(*, announcement: Announcement, title: str, content: str, audience: str, departments=(),
                        agents=()) -> Announcement:
    """Administrators change content and recipients; new recipients of a published one get a to-do."""
    _check_recipients(audience, departments, agents)
    ann = Announcement.objects.select_for_update().get(pk=announcement.pk)
    before = audit.snapshot(ann)
    ann.title, ann.content, ann.audience = title, clean_html(content), audience
    ann.save(update_fields=["title", "content", "audience"])
    _set_recipients(ann, departments, agents)
    audit.record_update(ann, before)
    if ann.status == AnnouncementStatus.PUBLISHED:
        Todo.objects.filter(kind=TodoKind.ANNOUNCEMENT, source_id=ann.pk).update(title=ann.title[:200])
        announcement_todos(ann)
    return ann


@transaction.atomic
def announcement_delete(*, announcement: Announcement) -> None:
    Todo.objects.filter(enterprise_id=announcement.enterprise_id, kind=TodoKind.ANNOUNCEMENT,
                        source_id=announcement.pk).delete()
    audit.record_delete(announcement)
    announcement.delete()


@transaction.atomic
def announcement_publish(*, announcement: Announcement, actor) -> Announcement:
    """Published at once, or pending an approver's decision when the enterprise requires approval."""
    ann = Announcement.objects.select_for_update().select_related("enterprise").get(pk=announcement.pk)
    if ann.status not in (AnnouncementStatus.DRAFT, AnnouncementStatus.REJECTED):
        refuse(None, _("只有草稿或已驳回的公告可以发布"))
    before = audit.snapshot(ann)
    ann.reject_reason = ""
    if ann.enterprise.announcements_need_approval:
        ann.status = AnnouncementStatus.PENDING
        ann.save(update_fields=["status", "reject_reason"])
    else:
        _mark_published(ann, approver=None)
    audit.record_update(ann, before)
    return ann


def _mark_published(ann: Announcement, approver) -> None:
    ann.status = AnnouncementStatus.PUBLISHED
    ann.published_at = timezone.now()
    ann.approver = approver
    ann.save(update_fields=["status", "published_at", "approver", "reject_reason"])
    announcement_todos(ann)


@transaction.atomic
def announcement_approve(*, announcement: Announcement, approver) -> Announcement:
    ann = Announcement.objects.select_for_update().get(pk=announcement.pk)
    if ann.status != AnnouncementStatus.PENDING:
        refuse(None, _("只有待审核的公告可以审核"))
    before = audit.snapshot(ann)
    ann.reject_reason = ""
    _mark_published(ann, approver=approver)
    audit.record_update(ann, before)
    return ann


@transaction.atomic
def announcement_reject(*, announcement: Announcement, approver, reason: str) -> Announcement:
    reason = (reason or "").strip()
    if not reason:
        refuse("reason", _("请填写驳回原因"))
    ann = Announcement.objects.select_for_update().get(pk=announcement.pk)
    if ann.status != AnnouncementStatus.PENDING:
        refuse(None, _("只有待审核的公告可以审核"))
    before = audit.snapshot(ann)
    ann.status = AnnouncementStatus.REJECTED
    ann.reject_reason = reason[:500]
    ann.approver = approver
    ann.save(update_fields=["status", "reject_reason", "approver"])
    audit.record_update(ann, before)
    return ann


def announcement_todos(ann: Announcement) -> int:
    """One unread to-do per recipient agent (existing ones are kept)."""
    url = reverse("notices:announcement_detail", args=[ann.pk])
    now = timezone.now()
    rows = [Todo(enterprise_id=ann.enterprise_id, agent_id=agent_id, kind=TodoKind.ANNOUNCEMENT,
                 title=ann.title[:200], url=url, source_id=ann.pk, created_at=now)
            for agent_id in recipient_ids(ann)]
    Todo.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    return len(rows)


# --- missed-call reminders ------------------------------------------------------------------


def missed_call_todos(*, since=None) -> int:
    """To-dos for each agent a missed call rang; idempotent (unique agent, kind, source id)."""
    from callcenter.calls.models import MissedCall

    since = since or timezone.now() - timedelta(days=2)
    done = Todo.objects.filter(agent_id=OuterRef("rang_agent_id"), kind=TodoKind.MISSED_CALL,
                               source_id=OuterRef("pk"))
    new = (MissedCall.objects.filter(rang_agent__isnull=False, at__gte=since).filter(~Exists(done))
           .values_list("pk", "enterprise_id", "rang_agent_id", "caller", "at"))
    base = reverse("calls:missedcall_list")
    rows = []
    for pk, enterprise_id, agent_id, caller, at in new.iterator(chunk_size=BATCH):
        local = timezone.localtime(at)
        rows.append(Todo(enterprise_id=enterprise_id, agent_id=agent_id, kind=TodoKind.MISSED_CALL,
                         title=(_("漏接来电 %(caller)s %(at)s") % {"caller": caller,
                                                              "at": f"{local:%m-%d %H:%M}"})[:200],
                         url=f"{base}?caller={caller}", source_id=pk, created_at=at))
    Todo.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    return len(rows)


# --- birthday reminders ---------------------------------------------------------------------
# A source is `source(today) -> iterable of (enterprise_id, agent_id, customer_id, title, url)`:
# the customers whose birthday is `today`, each with its owning agent. The crm app registers one.

BirthdaySource = Callable[[date], Iterable[tuple[int, int, int, str, str]]]
_birthday_sources: list[BirthdaySource] = []


def register_birthday_source(source: BirthdaySource) -> BirthdaySource:
    if source not in _birthday_sources:
        _birthday_sources.append(source)
    return source


def unregister_birthday_source(source: BirthdaySource) -> None:
    if source in _birthday_sources:
        _birthday_sources.remove(source)


def birthday_todos(today: date) -> int:
    """A birthday to-do per (owning agent, customer); a reminder from an earlier year is renewed as unread."""
    now = timezone.now()
    made = 0
    for source in list(_birthday_sources):
        rows, keys = [], []
        for enterprise_id, agent_id, customer_id, title, url in source(today):
            keys.append((agent_id, customer_id))
            rows.append(Todo(enterprise_id=enterprise_id, agent_id=agent_id, kind=TodoKind.BIRTHDAY,
                             title=str(title)[:200], url=url or "", source_id=customer_id, created_at=now))
        Todo.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
        # Last year's reminder for the same customer: the unique key stays, the item comes back unread.
        stale = now - timedelta(days=300)
        for i in range(0, len(keys), BATCH):
            chunk = keys[i:i + BATCH]
            cond = Q()
            for agent_id, customer_id in chunk:
                cond |= Q(agent_id=agent_id, source_id=customer_id)
            Todo.objects.filter(cond, kind=TodoKind.BIRTHDAY, created_at__lt=stale).update(
                created_at=now, read_at=None, popped_at=None)
        made += len(rows)
    return made


# --- to-do reads ----------------------------------------------------------------------------


def own_todos(user) -> QuerySet:
    if not getattr(user, "is_authenticated", False) or user.enterprise_id is None:
        return Todo.objects.none()
    return Todo.objects.filter(enterprise_id=user.enterprise_id, agent_id=user.pk)


def todos_mark_read(qs: QuerySet) -> int:
    """Mark the unread items of `qs` read: one UPDATE."""
    return qs.filter(read_at__isnull=True).update(read_at=timezone.now())


def todos_to_pop(user, limit: int = 5) -> list[Todo]:
    """Unread items not yet popped, marked popped so that each pops once."""
    items = list(own_todos(user).filter(read_at__isnull=True, popped_at__isnull=True)
                 .order_by("-created_at", "-id")[:limit])
    if items:
        now = timezone.now()
        claimed = Todo.objects.filter(pk__in=[t.pk for t in items], popped_at__isnull=True).update(popped_at=now)
        if claimed != len(items):  # another tab took some: show only the ones claimed here
            mine = set(Todo.objects.filter(pk__in=[t.pk for t in items], popped_at=now).values_list("pk", flat=True))
            items = [t for t in items if t.pk in mine]
    return items
