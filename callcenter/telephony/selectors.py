"""Reads of call configuration used by call control and campaigns."""

from __future__ import annotations

from callcenter.telephony.choices import BlacklistDirection
from callcenter.telephony.models import BlacklistEntry


def _digits(number: str) -> str:
    return "".join(ch for ch in str(number or "") if ch.isdigit())


def is_blacklisted(enterprise_id: int, number: str, direction: str) -> bool:
    """黑名单 (2.7.3): is `number` refused for calls in `direction` ("in" or "out")?

    An entry for "both" matches either direction.
    """
    number = _digits(number)
    if not number:
        return False
    if direction not in (BlacklistDirection.INBOUND, BlacklistDirection.OUTBOUND):
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    return BlacklistEntry.objects.filter(
        enterprise_id=enterprise_id, number=number, direction__in=[direction, BlacklistDirection.BOTH]).exists()


def blacklisted_numbers(enterprise_id: int, numbers, direction: str) -> set[str]:
    """The subset of `numbers` refused in `direction`: one query for a whole batch (task intake)."""
    wanted = {_digits(n) for n in numbers} - {""}
    if not wanted:
        return set()
    found: set[str] = set()
    batch = sorted(wanted)
    for i in range(0, len(batch), 900):
        found |= set(BlacklistEntry.objects.filter(
            enterprise_id=enterprise_id, number__in=batch[i:i + 900],
            direction__in=[direction, BlacklistDirection.BOTH]).values_list("number", flat=True))
    return found
