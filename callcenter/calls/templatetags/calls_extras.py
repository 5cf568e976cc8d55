from django import template

from callcenter.calls.tables import duration as _duration

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as m:ss or h:mm:ss, as the call lists show durations."""
    return _duration(seconds)
