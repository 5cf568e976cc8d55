"""The menu, in the manual's sections; it lists only screens that exist and the user may use."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

SECTIONS = [
    ("tasks", _("任务管理")),
    ("callconfig", _("呼叫配置")),
    ("customers", _("客户管理")),
    ("reports", _("报表查询")),
    ("knowledge", _("知识库")),
    ("tickets", _("工单管理")),
    ("system", _("系统管理")),
    ("ivr", _("导航管理")),
]


@dataclass(frozen=True)
class MenuItem:
    section: str
    label: str
    url_name: str
    perm: str | None  # None: every signed-in enterprise user
    admin_only: bool = False
    order: int = 100


_items: list[MenuItem] = []


def register(section: str, label, url_name: str, perm: str | None = None, *, admin_only=False, order=100):
    if section not in dict(SECTIONS):
        raise ValueError(f"unknown menu section {section!r}")
    item = MenuItem(section, label, url_name, perm, admin_only, order)
    if item not in _items:
        _items.append(item)


def menu_for(user) -> list[dict]:
    if not getattr(user, "is_authenticated", False) or user.enterprise_id is None:
        return []
    sections = []
    for key, label in SECTIONS:
        entries = []
        for item in sorted((i for i in _items if i.section == key), key=lambda i: i.order):
            if item.admin_only and not user.is_enterprise_admin:
                continue
            if item.perm and not user.has_perm(item.perm):
                continue
            entries.append({"label": item.label, "url": reverse(item.url_name), "url_name": item.url_name})
        if entries:
            sections.append({"key": key, "label": label, "items": entries})
    return sections


def all_items() -> list[MenuItem]:
    return list(_items)
