"""The home dashboard: each app registers the figures it owns."""

from __future__ import annotations

from collections.abc import Callable

_widgets: list[tuple[int, Callable]] = []


def register_widget(order: int):
    def wrap(func):
        _widgets.append((order, func))
        return func

    return wrap


def dashboard_context(request) -> dict:
    widgets = []
    for _order, func in sorted(_widgets, key=lambda w: w[0]):
        widget = func(request)
        if widget:
            widgets.append(widget)
    return {"widgets": widgets, "title": "首页"}
