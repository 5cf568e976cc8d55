"""Reads shared by several accounts views."""

from __future__ import annotations

from django.contrib.auth.models import Permission

# The platform operator's permissions: never given to a role of an enterprise.
PLATFORM_CODENAMES = ["add_enterprise", "delete_enterprise", "change_enterprise", "view_enterprise"]


def assignable_permissions():
    """Permissions a role may hold: those of the enterprise apps, minus the platform operator's."""
    from callcenter.accounts.backends import ENTERPRISE_APPS

    return (Permission.objects.filter(content_type__app_label__in=ENTERPRISE_APPS)
            .exclude(codename__in=PLATFORM_CODENAMES).select_related("content_type")
            .order_by("content_type__app_label", "content_type__model", "codename"))
