"""Fan-out of events: ARI applications (WebSocket) and AMI sessions (TCP).

An ARI application exists while a WebSocket names it. A second socket for the same
application takes it over, and the first gets `ApplicationReplaced` (res/ari/ari_websockets.c).
Events for an application whose socket is gone are dropped, as Asterisk drops them;
the channels stay, so a client that reconnects lists them with GET /channels.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("callcenter.pbx.sim")

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

# A client that stops reading is cut off rather than let the process grow without bound.
MAX_PENDING = 100_000


class AriConnection:
    """One events WebSocket; frames are queued here and written by its own task."""

    def __init__(self, apps: list[str], subscribe_all: bool, remote: str = ""):
        self.apps = set(apps)
        self.subscribe_all = subscribe_all
        self.remote = remote
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.closed = False

    def send(self, text: str) -> None:
        if self.closed:
            return
        if self.queue.qsize() > MAX_PENDING:
            log.warning("ARI client %s is not reading; closing it", self.remote)
            self.close()
            return
        self.queue.put_nowait(text)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.queue.put_nowait(None)


class App:
    def __init__(self, name: str):
        self.name = name
        self.conn: AriConnection | None = None

    @property
    def active(self) -> bool:
        return self.conn is not None and not self.conn.closed


class Hub:
    def __init__(self, asterisk_id: str, clock):
        self.asterisk_id = asterisk_id
        self.clock = clock  # () -> float, the event clock
        self.apps: dict[str, App] = {}
        self.ami_sessions: set[Any] = set()
        self._tail_cache: dict[str, str] = {}

    # --- ARI -------------------------------------------------------------------------
    def register(self, conn: AriConnection) -> None:
        from callcenter.pbx.sim.model import ari_time

        for name in conn.apps:
            app = self.apps.get(name) or self.apps.setdefault(name, App(name))
            old = app.conn
            if old is not None and old is not conn and not old.closed:
                event = {"type": "ApplicationReplaced", "timestamp": ari_time(self.clock()),
                         "application": name, "asterisk_id": self.asterisk_id}
                old.send(_dumps(event))
                old.apps.discard(name)
            app.conn = conn

    def unregister(self, conn: AriConnection) -> None:
        for name in list(conn.apps):
            app = self.apps.get(name)
            if app is not None and app.conn is conn:
                app.conn = None
        conn.close()

    def is_active(self, name: str) -> bool:
        app = self.apps.get(name)
        return app is not None and app.active

    def active_apps(self) -> list[str]:
        return [name for name, app in self.apps.items() if app.active]

    def subscribe_all_apps(self) -> list[str]:
        return [name for name, app in self.apps.items() if app.active and app.conn.subscribe_all]

    def _tail(self, name: str) -> str:
        tail = self._tail_cache.get(name)
        if tail is None:
            tail = self._tail_cache[name] = (
                ',"asterisk_id":' + _dumps(self.asterisk_id) + ',"application":' + _dumps(name) + "}")
        return tail

    def has_listeners(self, names: Iterable[str]) -> bool:
        apps = self.apps
        for name in names:
            app = apps.get(name)
            if app is not None and app.conn is not None and not app.conn.closed:
                return True
        return False

    def send_ari(self, event: dict, recipients: Iterable[str]) -> None:
        """Send `event` (without application/asterisk_id) to each active recipient app."""
        body = None
        for name in recipients:
            app = self.apps.get(name)
            if app is None or app.conn is None or app.conn.closed:
                continue
            if body is None:
                body = _dumps(event)[:-1]
            app.conn.send(body + self._tail(name))

    # --- AMI -------------------------------------------------------------------------
    def ami_listening(self) -> bool:
        return any(s.events for s in self.ami_sessions)

    def send_ami(self, name: str, privilege: str, body: str) -> None:
        sessions = [s for s in self.ami_sessions if s.events]
        if not sessions:
            return
        cls = privilege.split(",", 1)[0]
        data = f"Event: {name}\r\nPrivilege: {privilege}\r\n{body}\r\n".encode()
        for session in sessions:
            if "all" in session.events or cls in session.events:
                session.write(data)
