"""The error responses of the simulated core, as ARI reports them."""

from __future__ import annotations


class AriError(Exception):
    """An ARI error response: `{"message": ...}` (or `{"error": ...}` for allocation failures)."""

    def __init__(self, status: int, message: str, key: str = "message"):
        super().__init__(message)
        self.status = status
        self.message = message
        self.key = key


def alloc_failed() -> AriError:
    """What ARI answers when the channel cannot be made (unknown technology or endpoint)."""
    return AriError(500, "Allocation failed", key="error")
