"""The messaging interface the dialer sends its SMS through (流程 短信发送: an SMS to a callee who
stayed on the line at least 短信发送（接通秒数不少于） seconds).

Gateways are registered by kind (STYLE.md practice 8): `settings.SMS_GATEWAY` names one
(default "logging"). Until the SMS feature lands, the logging gateway is the only one: it
records each message in the log and in a JSON-lines outbox (`VAR_DIR/sms-outbox.jsonl`), so
the demo and the tests can see what would have been sent.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone

log = logging.getLogger("callcenter.sms")


@dataclass(frozen=True)
class SmsMessage:
    enterprise_id: int
    phone: str
    text: str
    task_id: int | None = None
    attempt_id: int | None = None
    flow_id: int | None = None
    created_at: datetime = field(default_factory=timezone.now)

    def as_json(self) -> dict:
        data = asdict(self)
        data["created_at"] = self.created_at.isoformat()
        return data


class SmsGateway(Protocol):
    kind: str

    def send(self, message: SmsMessage) -> str:
        """Send (or queue) the message; returns the gateway's id for it."""


class LoggingGateway:
    """Sends nothing: logs each message and appends it to the outbox file."""

    kind = "logging"

    def __init__(self, outbox: Path | None = None, keep: int = 1000):
        self.outbox = outbox if outbox is not None else Path(settings.VAR_DIR) / "sms-outbox.jsonl"
        self.sent: deque[SmsMessage] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._seq = 0

    def send(self, message: SmsMessage) -> str:
        with self._lock:
            self._seq += 1
            ident = f"log-{message.attempt_id or 0}-{self._seq}"
            self.sent.append(message)
            try:
                self.outbox.parent.mkdir(parents=True, exist_ok=True)
                with self.outbox.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(dict(message.as_json(), id=ident), ensure_ascii=False) + "\n")
            except OSError:
                log.exception("sms: could not append to %s", self.outbox)
        log.info("sms %s to %s (task %s, attempt %s): %s", ident, message.phone, message.task_id,
                 message.attempt_id, message.text)
        return ident


GATEWAYS: dict[str, type] = {LoggingGateway.kind: LoggingGateway}
_gateway: SmsGateway | None = None


def gateway() -> SmsGateway:
    """The configured gateway (one per process)."""
    global _gateway
    kind = getattr(settings, "SMS_GATEWAY", "logging")
    if _gateway is None or _gateway.kind != kind:
        if kind not in GATEWAYS:
            raise ValueError(f"unknown SMS gateway {kind!r}; known: {', '.join(sorted(GATEWAYS))}")
        _gateway = GATEWAYS[kind]()
    return _gateway


def send(message: SmsMessage) -> str | None:
    """Send through the configured gateway; a failing gateway is logged, never raised into a call."""
    try:
        return gateway().send(message)
    except Exception:
        log.exception("sms to %s failed", message.phone)
        return None


def outbox(path: Path | None = None) -> list[dict]:
    """What the logging gateway recorded (tests, the demo)."""
    path = path or Path(settings.VAR_DIR) / "sms-outbox.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
