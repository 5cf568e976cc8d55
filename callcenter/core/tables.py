from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html


class BadgeColumn(tables.Column):
    """A choice shown as a coloured badge; the colour is the choice's `badge` property."""

    def __init__(self, *args, enum, **kwargs):
        self.enum = enum
        super().__init__(*args, **kwargs)

    def render(self, value):
        try:
            member = self.enum(value)
        except ValueError:
            return value
        return format_html('<span class="badge text-bg-{}">{}</span>', member.badge, member.label)
