"""N1, manual 2.8.1 语音导航管理: walking one IVR menu.

The caller hears the menu prompt (导航语音). Then:

- A key with an action (按键方案) acts at once, cutting the prompt short:
  - ``extension`` (直接转分机): dial that extension;
  - ``prompt`` (播放语音): play the key's prompt, then the menu again;
  - ``ask_extension`` (手工转分机): collect an extension of 3-4 digits, ended by ``#``
    or by a pause of ``digit_timeout`` seconds, then dial it;
  - ``last_agent`` (转接到最后一次通话的员工): dial the agent who last talked with this caller.
- With direct dialling on (允许转分机), a first digit 4-8 that is *not* a configured key
  starts an extension: three digits in 400-899 are dialled (a configured key wins, so a
  menu keeps its keys). Anything else entered that way replays the menu.
- Other keys are recorded (P4 按键分析) and otherwise ignored.
- With no key, ``ring_wait_seconds`` (振铃时长) after the prompt ends the call goes to the
  default: the last agent first when the menu says so (导航规则: 默认转接到最后一次通话员工)
  and one is known, then the default extensions (默认呼叫电话).

Default extensions are tried one at a time: in fixed order (固定顺序) from the first, so
the second rings only when the first is offline, busy or does not answer; in round robin
(号码轮巡) from the one after the extension the previous call ended on, which the walker
asks call control to remember (`RememberDefaultIndex`). An extension chosen by key or by
digits that fails falls back to the same default handling. When nothing answers the
walker hangs up and the call is a missed call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from callcenter.pbx.callctl.logic.base import (
    CAUSE_NORMAL,
    AgentAnswered,
    AgentFailed,
    Answered,
    CancelTimer,
    Command,
    DialExtension,
    Dtmf,
    Event,
    Hangup,
    HangupCall,
    Play,
    PlaybackFinished,
    RememberDefaultIndex,
    StartTimer,
    StopPlayback,
    TimerFired,
)

# Values of telephony.choices.IvrAction / IvrOrder.
ACTION_EXTENSION = "extension"
ACTION_PROMPT = "prompt"
ACTION_ASK_EXTENSION = "ask_extension"
ACTION_LAST_AGENT = "last_agent"
ORDER_FIXED = "fixed"
ORDER_ROUND_ROBIN = "round_robin"

DIRECT_DIAL_RANGE = (400, 899)
TIMER_RING_WAIT = "ring_wait"
TIMER_DIGITS = "digits"


@dataclass(frozen=True)
class IvrKeyConfig:
    key: str
    action: str
    extension: str = ""
    prompt: str | None = None  # media URI for the prompt action


@dataclass(frozen=True)
class MenuConfig:
    id: int
    name: str = ""
    prompt: str | None = None
    default_extensions: tuple[str, ...] = ()
    default_order: str = ORDER_FIXED
    ring_wait_seconds: int = 5
    to_last_agent: bool = False
    direct_dial: bool = True
    keys: Mapping[str, IvrKeyConfig] = field(default_factory=dict)
    last_default_index: int = -1  # round-robin memory

    @property
    def needs_last_agent(self) -> bool:
        return self.to_last_agent or any(k.action == ACTION_LAST_AGENT for k in self.keys.values())


@dataclass(frozen=True)
class IvrOptions:
    ring_seconds: int = 20  # how long each extension rings
    digit_timeout: float = 3.0  # pause that ends digit entry
    first_digit_timeout: float = 6.0  # ask_extension: wait for the first digit
    max_menu_repeats: int = 3  # invalid entries / prompt keys before going to the default


class IvrState(StrEnum):
    IDLE = "idle"
    MENU = "menu"  # menu prompt playing
    WAITING = "waiting"  # prompt over, ring wait running
    KEY_PROMPT = "key_prompt"  # playing a key's prompt
    COLLECTING = "collecting"  # collecting extension digits
    DIALING = "dialing"
    CONNECTED = "connected"
    ENDED = "ended"


class IvrOutcome(StrEnum):
    CONNECTED = "connected"
    NO_ANSWER = "no_answer"  # every destination tried failed: a missed call
    NO_DESTINATION = "no_destination"  # nothing to dial at all: a missed call
    ABANDONED = "abandoned"  # the caller hung up before anyone answered


def valid_extension(digits: str) -> bool:
    return digits.isdigit() and 3 <= len(digits) <= 4


def in_direct_range(digits: str) -> bool:
    return len(digits) == 3 and digits.isdigit() and DIRECT_DIAL_RANGE[0] <= int(digits) <= DIRECT_DIAL_RANGE[1]


class IvrWalker:
    """One inbound call in one menu. `last_agent` is the extension of the agent who last
    talked with the caller (looked up by call control), or None."""

    def __init__(self, menu: MenuConfig, *, last_agent: str | None = None, options: IvrOptions | None = None):
        self.menu = menu
        self.last_agent = last_agent or None
        self.options = options or IvrOptions()
        self.state = IvrState.IDLE
        self.keys: list[str] = []
        self.outcome: IvrOutcome | None = None
        self.answered_by = ""
        self.tried: list[str] = []
        self._play_id = 0
        self._playing: int | None = None
        self._timers: set[str] = set()
        self._digits = ""
        self._collect_mode = ""  # "ask" (3-4 digits) or "direct" (400-899)
        self._queue: list[tuple[str, int | None]] = []  # (extension, default index or None)
        self._menu_repeats = 0
        self._default_index = menu.last_default_index

    @property
    def last_key(self) -> str:
        return self.keys[-1] if self.keys else ""

    # --- the machine ---------------------------------------------------------------------
    def handle(self, event: Event) -> list[Command]:
        if self.state == IvrState.ENDED:
            return []
        if isinstance(event, Answered):
            return self._play_menu() if self.state == IvrState.IDLE else []
        if isinstance(event, PlaybackFinished):
            return self._playback_finished(event.play_id)
        if isinstance(event, Dtmf):
            return self._dtmf(event.digit)
        if isinstance(event, TimerFired):
            return self._timer(event.name)
        if isinstance(event, AgentAnswered):
            if self.state != IvrState.DIALING:
                return []
            self.state = IvrState.CONNECTED
            self.outcome = IvrOutcome.CONNECTED
            self.answered_by = event.agent or (self.tried[-1] if self.tried else "")
            return []
        if isinstance(event, AgentFailed):
            return self._dial_next() if self.state == IvrState.DIALING else []
        if isinstance(event, Hangup):
            cmds = self._stop_playing() + self._cancel_timers()
            if self.state != IvrState.CONNECTED:
                self.outcome = IvrOutcome.ABANDONED
            self.state = IvrState.ENDED
            return cmds
        raise TypeError(f"unknown event {event!r}")

    # --- prompts and timers ----------------------------------------------------------------
    def _play(self, media: str, state: IvrState) -> list[Command]:
        self._play_id += 1
        self._playing = self._play_id
        self.state = state
        return [Play(media, self._play_id)]

    def _stop_playing(self) -> list[Command]:
        if self._playing is None:
            return []
        play_id, self._playing = self._playing, None
        return [StopPlayback(play_id)]

    def _start_timer(self, name: str, seconds: float) -> list[Command]:
        cmds: list[Command] = [CancelTimer(name)] if name in self._timers else []
        self._timers.add(name)
        return [*cmds, StartTimer(name, seconds)]

    def _cancel_timers(self) -> list[Command]:
        cmds: list[Command] = [CancelTimer(n) for n in sorted(self._timers)]
        self._timers.clear()
        return cmds

    def _play_menu(self) -> list[Command]:
        if self.menu.prompt:
            return self._play(self.menu.prompt, IvrState.MENU)
        return self._wait()

    def _wait(self) -> list[Command]:
        self.state = IvrState.WAITING
        if self.menu.ring_wait_seconds > 0:
            return self._start_timer(TIMER_RING_WAIT, self.menu.ring_wait_seconds)
        return self._go_default()

    def _playback_finished(self, play_id: int) -> list[Command]:
        if play_id != self._playing:
            return []
        self._playing = None
        if self.state == IvrState.MENU:
            return self._wait()
        if self.state == IvrState.KEY_PROMPT:
            return self._again()
        return []

    def _timer(self, name: str) -> list[Command]:
        if name not in self._timers:
            return []
        self._timers.discard(name)
        if name == TIMER_RING_WAIT and self.state == IvrState.WAITING:
            return self._go_default()
        if name == TIMER_DIGITS and self.state == IvrState.COLLECTING:
            return self._digits_done()
        return []

    def _again(self) -> list[Command]:
        """Back to the menu after a key prompt or a bad entry, a few times at most."""
        self._menu_repeats += 1
        if self._menu_repeats > self.options.max_menu_repeats:
            return self._go_default()
        return self._play_menu()

    # --- keys -----------------------------------------------------------------------------
    def _dtmf(self, digit: str) -> list[Command]:
        if self.state in (IvrState.IDLE, IvrState.DIALING, IvrState.CONNECTED):
            return []
        self.keys.append(digit)
        if self.state == IvrState.COLLECTING:
            return self._collect(digit)
        key = self.menu.keys.get(digit)
        if key is not None:
            cmds = self._stop_playing() + self._cancel_timers()
            return cmds + self._act(key)
        if self.menu.direct_dial and digit in "45678" and self.state in (IvrState.MENU, IvrState.WAITING):
            cmds = self._stop_playing() + self._cancel_timers()
            self.state = IvrState.COLLECTING
            self._collect_mode = "direct"
            self._digits = digit
            return cmds + self._start_timer(TIMER_DIGITS, self.options.digit_timeout)
        return []

    def _act(self, key: IvrKeyConfig) -> list[Command]:
        if key.action == ACTION_EXTENSION and key.extension:
            return self._dial_list([(key.extension, None)], then_default=True)
        if key.action == ACTION_PROMPT:
            if key.prompt:
                return self._play(key.prompt, IvrState.KEY_PROMPT)
            return self._again()
        if key.action == ACTION_ASK_EXTENSION:
            self.state = IvrState.COLLECTING
            self._collect_mode = "ask"
            self._digits = ""
            return self._start_timer(TIMER_DIGITS, self.options.first_digit_timeout)
        if key.action == ACTION_LAST_AGENT:
            if self.last_agent:
                return self._dial_list([(self.last_agent, None)], then_default=True)
            return self._go_default()
        return self._again()

    def _collect(self, digit: str) -> list[Command]:
        if digit == "#":
            return self._cancel_timers() + self._digits_done()
        if not digit.isdigit():
            return []
        self._digits += digit
        limit = 3 if self._collect_mode == "direct" else 4
        if len(self._digits) >= limit:
            return self._cancel_timers() + self._digits_done()
        return self._start_timer(TIMER_DIGITS, self.options.digit_timeout)

    def _digits_done(self) -> list[Command]:
        digits, self._digits = self._digits, ""
        ok = in_direct_range(digits) if self._collect_mode == "direct" else valid_extension(digits)
        if ok:
            return self._dial_list([(digits, None)], then_default=True)
        return self._again()

    # --- dialling --------------------------------------------------------------------------
    def _default_list(self) -> list[tuple[str, int | None]]:
        exts = list(self.menu.default_extensions)
        if not exts:
            return []
        if self.menu.default_order == ORDER_ROUND_ROBIN:
            start = (self._default_index + 1) % len(exts)
            order = list(range(start, len(exts))) + list(range(start))
        else:
            order = list(range(len(exts)))
        return [(exts[i], i) for i in order]

    def _go_default(self) -> list[Command]:
        cmds = self._stop_playing() + self._cancel_timers()
        first = [(self.last_agent, None)] if self.menu.to_last_agent and self.last_agent else []
        return cmds + self._dial_list(first, then_default=True)

    def _dial_list(self, targets: list[tuple[str, int | None]], *, then_default: bool) -> list[Command]:
        queue = list(targets)
        if then_default:
            queue += self._default_list()
        seen: set[str] = set()
        self._queue = []
        for ext, index in queue:
            if ext and ext not in seen:
                seen.add(ext)
                self._queue.append((ext, index))
        if not self._queue:
            return self._finish(IvrOutcome.NO_DESTINATION)
        return self._dial_next()

    def _dial_next(self) -> list[Command]:
        if not self._queue:
            return self._finish(IvrOutcome.NO_ANSWER)
        ext, index = self._queue.pop(0)
        self.state = IvrState.DIALING
        self.tried.append(ext)
        cmds: list[Command] = []
        if index is not None and self.menu.default_order == ORDER_ROUND_ROBIN:
            self._default_index = index
            cmds.append(RememberDefaultIndex(self.menu.id, index))
        cmds.append(DialExtension(ext, self.options.ring_seconds))
        return cmds

    def _finish(self, outcome: IvrOutcome) -> list[Command]:
        cmds = self._stop_playing() + self._cancel_timers()
        self.state = IvrState.ENDED
        self.outcome = outcome
        return [*cmds, HangupCall(CAUSE_NORMAL)]
