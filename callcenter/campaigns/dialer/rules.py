"""The dialer's rules as plain functions (no Django, no I/O): results, retries, windows, names.

The live dialer (service.py) and its database side (claims.py) use these, so the rules read
in one place:

- an attempt that was not answered gets its result from the Q.850 cause of its hangup;
- an answered one from how its flow ended (`Outcome`), or ABANDONED when the flow asked for a
  transfer and no agent took the call within `AGENT_WAIT_SECONDS`;
- a failed result (no answer, busy, congestion, trunk failure) is retried while the number
  has had fewer than 1 + 重呼次数 attempts in this round, `retry_delay_seconds` later;
- a task dials only inside its windows (local times in the enterprise's time zone); a task
  without windows may dial at any time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from callcenter.pbx.callctl.logic import base
from callcenter.pbx.callctl.logic.flow import Outcome

# Values of campaigns.choices.CallResult (this module has no Django).
TRANSFERRED = "transferred"
ANSWERED = "answered"
ABANDONED = "abandoned"
NO_ANSWER = "no_answer"
BUSY = "busy"
CONGESTION = "congestion"
FAILED = "failed"
RETRYABLE = frozenset({NO_ANSWER, BUSY, CONGESTION, FAILED})

# A transfer that reaches no agent within this many seconds is abandoned: the callee hears
# ABANDON_MEDIA (a short apology) instead of silence, then the line is released.
AGENT_WAIT_SECONDS = 2.0
ABANDON_MEDIA = "sound:prompts/abandon"
ABANDON_MESSAGE_SECONDS = 3.0  # the message is cut off after this long at the latest
AGENT_RETRY_SECONDS = 0.25  # a transfer waiting for an agent looks again this often (simulated seconds)

# Channel variable and id of a campaign call: the attempt id travels with the channel, and the
# channel id is derived from it, so after a crash the PBX's live channels say which attempts
# are still up.
ATTEMPT_VARIABLE = "CC_ATTEMPT"
CHANNEL_PREFIX = "cc-task-"

OUTCOME_RESULT = {
    Outcome.CONNECTED: TRANSFERRED,
    Outcome.PLAYED: ANSWERED,
    Outcome.NO_KEY: ANSWERED,
    Outcome.HUNG_UP_IN_PROMPT: ANSWERED,
    # The flow asked for a transfer and no agent took the call (counted as abandoned even when
    # the callee hung up first: the abandon rate errs on the side of the callee).
    Outcome.TRANSFER_FAILED: ABANDONED,
    Outcome.HUNG_UP_IN_TRANSFER: ABANDONED,
}

CONGESTION_CAUSES = frozenset({34, 42, 44})  # no circuit, switching equipment congestion, circuit unavailable
NO_ANSWER_CAUSES = frozenset({base.CAUSE_NORMAL, 18, base.CAUSE_NO_ANSWER, 31})


def channel_id(attempt_id: int) -> str:
    return f"{CHANNEL_PREFIX}{attempt_id}"


def attempt_of_channel(channel: str) -> int | None:
    """The attempt id a campaign channel id carries, or None for any other channel."""
    if not channel.startswith(CHANNEL_PREFIX):
        return None
    tail = channel[len(CHANNEL_PREFIX):]
    return int(tail) if tail.isdigit() else None


def result_for_cause(cause: int | None) -> str:
    """The result of an attempt that was never answered, from the cause of its hangup."""
    if cause == base.CAUSE_BUSY:
        return BUSY
    if cause in CONGESTION_CAUSES:
        return CONGESTION
    if cause in NO_ANSWER_CAUSES:
        return NO_ANSWER
    return FAILED  # unallocated number, rejected by the network, network failure, unknown


def result_for_answered(outcome: str | None, *, transfer_asked: bool, connected: bool) -> str:
    """The result of an answered call from its flow's outcome (a manual call has no flow)."""
    if connected:
        return TRANSFERRED
    if outcome is not None:
        try:
            return OUTCOME_RESULT[Outcome(outcome)]
        except ValueError:
            pass
    return ABANDONED if transfer_asked else ANSWERED


def should_retry(result: str, attempts_this_round: int, retries: int) -> bool:
    """重呼次数: a failed number is tried again while it has had at most `retries` attempts."""
    return result in RETRYABLE and attempts_this_round <= retries


def in_windows(now: datetime, windows: Iterable[tuple[time, time]], tz: ZoneInfo) -> bool:
    """Whether `now` (aware) falls inside one of the daily [start, end) windows, read in `tz`.
    No windows: always."""
    windows = list(windows)
    if not windows:
        return True
    local = now.astimezone(tz).time()
    return any(start <= local < end for start, end in windows)


def day_start(now: datetime, tz: ZoneInfo) -> datetime:
    """Midnight of `now`'s day in `tz` ("called today" means since then)."""
    local = now.astimezone(tz)
    midnight = datetime.combine(local.date(), time(0), tzinfo=tz)
    # A DST change at midnight makes some local midnights ambiguous; fold=0 is the earlier one.
    return midnight if midnight <= local else midnight - timedelta(days=1)
