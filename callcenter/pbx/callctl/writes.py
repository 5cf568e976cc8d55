"""Call control's queued database writes, run as few statements as the batch allows.

Call control queues a dozen writes per call (`CallControl.write`): CDR open, answer and
close, live channels, agent states, missed calls, recordings. One ORM call each cost
several queries (an agent check, a read of the current row, the write, a savepoint)
and kept the database thread busy at a few tens of calls per second. Here the writes
that have a bulk form in `callcenter.calls.services` are merged, per batch, into one
bulk call per kind, which gives the same rows as running them one by one:

- kinds run in the order of a call's life: CDRs opened, live channels, agent states,
  CDRs answered, recordings, round-robin memory, CDRs closed, missed calls, channels
  removed; a write that would have to run before a write of a later kind already
  pending for the same call, channel or agent (say an answer queued after that call's
  close) first flushes what is pending, so the order of writes to one row never changes;
- within a kind the bulk functions keep the last word per row (agent state, live
  channel), as running them in order would;
- any other function (the test-dial event log, a command's result, the dialer's
  attempt rows, wrap-up) is a barrier: what is pending runs first, then it runs alone.

Each bulk call runs in its own savepoint; if it fails, its writes are run again one by
one, each in its own savepoint, so a bad write is logged and skipped without losing the
others (as before batching).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from callcenter.calls import services as calls
from callcenter.pbx.callctl import dbconfig

log = logging.getLogger("callcenter.pbx.callctl.service")

Write = tuple[Callable, tuple, dict]


def _remember_groups(*, rows: list[tuple[int, int]]) -> None:
    last: dict[int, int] = {}
    for group_id, agent_id in rows:
        last[group_id] = agent_id
    for group_id, agent_id in last.items():
        dbconfig.remember_group_agent(group_id, agent_id)


@dataclass(frozen=True)
class Kind:
    order: int
    bulk: Callable  # called as bulk(rows=[...])
    row: Callable[[tuple, dict], object]  # the single call's arguments -> one bulk row
    keys: Callable[[tuple, dict], tuple]  # the rows it touches, for ordering


def _kw(cls):
    return lambda args, kwargs: cls(**kwargs)


def _remove_channels(*, rows: list[list[str]]) -> None:
    calls.live_channel_remove(channel_ids=[channel for ids in rows for channel in ids])


def _group_row(args, kwargs) -> tuple[int, int]:
    group_id = kwargs["group_id"] if "group_id" in kwargs else args[0]
    agent_id = kwargs["agent_id"] if "agent_id" in kwargs else args[1]
    return group_id, agent_id


def _missed_row(args, kwargs):
    return calls.MissedCallNew(**{**kwargs, "rang_agent_ids": tuple(kwargs.get("rang_agent_ids") or ())})


KINDS: dict[Callable, Kind] = {
    calls.cdr_open: Kind(0, calls.cdrs_open, _kw(calls.CdrOpen), lambda a, k: (("cdr", k["call_id"]),)),
    calls.live_channel_upsert: Kind(1, calls.live_channels_upsert, _kw(calls.LiveChannelRow),
                                    lambda a, k: (("chan", k["channel_id"]),)),
    calls.agent_state_set: Kind(2, calls.agent_states_set, _kw(calls.AgentStateSet),
                                lambda a, k: (("agent", k["agent_id"]),)),
    calls.cdr_answer: Kind(3, calls.cdrs_answer, _kw(calls.CdrAnswer), lambda a, k: (("cdr", k["call_id"]),)),
    calls.recording_add: Kind(4, calls.recordings_add, _kw(calls.RecordingNew),
                              lambda a, k: (("cdr", k["call_id"]),)),
    dbconfig.remember_group_agent: Kind(5, _remember_groups, lambda a, k: _group_row(a, k),
                                        lambda a, k: (("group", _group_row(a, k)[0]),)),
    calls.cdr_close: Kind(6, calls.cdrs_close, _kw(calls.CdrClose), lambda a, k: (("cdr", k["call_id"]),)),
    calls.missed_call_add: Kind(7, calls.missed_calls_add, _missed_row, lambda a, k: (("missed", k["call_id"]),)),
    calls.live_channel_remove: Kind(8, _remove_channels, lambda a, k: list(k["channel_ids"]),
                                    lambda a, k: tuple(("chan", c) for c in k["channel_ids"])),
}


# Other writes whose rows are known: they wait only for pending writes to the same rows
# (instead of everything pending), so a call ending does not split the batch.
KEYED: dict[Callable, Callable[[tuple, dict], tuple]] = {}


def keyed(func: Callable, keys: Callable[[tuple, dict], tuple]) -> None:
    """Declare the rows `func` reads or writes (same keys as KINDS) so it need not be a full barrier."""
    KEYED[func] = keys


def _register_known() -> None:
    try:
        from callcenter.workspace.services import agent_call_ended
    except ImportError:  # no wrap-up in this build
        return
    keyed(agent_call_ended, lambda a, k: (("cdr", k["call_id"]), ("agent", k["agent_id"])))


@dataclass
class _Pending:
    groups: dict[Callable, list[tuple[object, Write]]] = field(default_factory=dict)
    latest: dict[tuple, int] = field(default_factory=dict)  # row key -> highest kind order pending

    def __bool__(self) -> bool:
        return bool(self.groups)


def _run_one(write: Write) -> None:
    func, args, kwargs = write
    try:
        with transaction.atomic():
            func(*args, **kwargs)
    except Exception:
        log.exception("callctl: write %s failed", getattr(func, "__name__", func))


def _flush(pending: _Pending) -> None:
    for func in sorted(pending.groups, key=lambda f: KINDS[f].order):
        entries = pending.groups[func]
        kind = KINDS[func]
        rows = [row for row, _write in entries]
        try:
            with transaction.atomic():
                kind.bulk(rows=rows)
        except Exception:
            if len(entries) == 1:
                log.exception("callctl: write %s failed", func.__name__)
                continue
            log.warning("callctl: %d writes of %s failed together; running them one by one", len(entries),
                        func.__name__)
            for _row, write in entries:
                _run_one(write)
    pending.groups.clear()
    pending.latest.clear()


def run_writes(batch: list[Write]) -> None:
    """Run queued writes in one transaction, merged into bulk statements (see the module)."""
    if not batch:
        return
    pending = _Pending()
    with transaction.atomic():
        for write in batch:
            func, args, kwargs = write
            kind = KINDS.get(func)
            if kind is None:
                if func in KEYED:
                    try:
                        keys = KEYED[func](args, kwargs)
                    except Exception:
                        keys = None
                    if keys is not None and not any(key in pending.latest for key in keys):
                        _run_one(write)
                        continue
                if pending:
                    _flush(pending)
                _run_one(write)
                continue
            try:
                row = kind.row(args, kwargs)
                keys = kind.keys(args, kwargs)
            except Exception:  # arguments the bulk form does not take: run it as it came
                if pending:
                    _flush(pending)
                _run_one(write)
                continue
            if any(pending.latest.get(key, -1) > kind.order for key in keys):
                _flush(pending)
            pending.groups.setdefault(func, []).append((row, write))
            for key in keys:
                if pending.latest.get(key, -1) < kind.order:
                    pending.latest[key] = kind.order
        if pending:
            _flush(pending)


_register_known()
