"""C6, manual 2.2.6 流程设置: a group call from the moment the callee answers.

The five transfer modes (坐席转接):

- ``play_only``    只播放不转接坐席: play the prompt ``play_count`` times, then hang up.
- ``direct``       不播放直接转坐席: no prompt; transfer to the agent group at once.
- ``play_seconds`` 播放中转坐席: play, and transfer ``play_seconds`` after the answer even
  if the prompt is still playing. If every play ends before that, transfer then (nobody
  is kept waiting in silence).
- ``play_to_end``  播放完后立即转坐席: transfer when the last of ``play_count`` plays ends.
- ``key_only``     仅按键转接: only the transfer key transfers. When the last play ends
  without it the callee gets ``key_wait_seconds`` (default 3) to press it, then we hang up.

Keys (按键):

- The transfer key (转接按键) is ``""`` (none), ``"any"`` or one DTMF digit. In every mode
  but ``play_only`` it transfers at once, cutting the prompt short: that is what a listener
  who presses it wants.
- The replay key (重听按键) restarts the prompt from the beginning. **It does not use up one of
  the plays**: the interrupted play starts over, and after the last play (key_only's wait)
  it replays the last one. So ``play_count`` counts plays heard to the end. To keep a line
  from being held forever, at most ``max_replays`` (default 3) replays are honoured per call;
  later presses are only recorded. The replay key is checked before the transfer key, so
  with transfer key "any" the replay key still replays. Replaying does not move the
  ``play_seconds`` deadline, which counts from the answer.
- Every key pressed while the prompt plays or the key wait runs is recorded; ``last_key``
  is the last of them (P4 按键分析 reads it from the CDR).

Without a prompt the plays count as already heard: play_to_end and play_seconds transfer
at once, play_only hangs up, key_only waits for the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from callcenter.pbx.callctl.logic.base import (
    CAUSE_NORMAL,
    AgentAnswered,
    AgentFailed,
    Answered,
    CancelTimer,
    CancelTransfer,
    Command,
    Dtmf,
    Event,
    Hangup,
    HangupCall,
    Play,
    PlaybackFinished,
    StartTimer,
    StopPlayback,
    TimerFired,
    TransferToGroup,
)

# Values of telephony.choices.TransferMode (kept here as strings: this package has no Django).
PLAY_ONLY = "play_only"
DIRECT = "direct"
PLAY_SECONDS = "play_seconds"
PLAY_TO_END = "play_to_end"
KEY_ONLY = "key_only"
TRANSFER_MODES = (PLAY_ONLY, DIRECT, PLAY_SECONDS, PLAY_TO_END, KEY_ONLY)

ANY_KEY = "any"
TIMER_PLAY_SECONDS = "play_seconds"
TIMER_KEY_WAIT = "key_wait"


@dataclass(frozen=True)
class FlowConfig:
    """What the state machine needs of a CallFlow row; call control builds it."""

    transfer_mode: str = PLAY_TO_END
    prompt: str | None = None  # media URI of 播放语音, e.g. "sound:prompts/welcome"
    ringback: str | None = None  # media URI of 转接彩铃, heard while the group is rung
    play_seconds: int = 0
    replay_key: str = ""
    transfer_key: str = ""
    play_count: int = 1
    key_wait_seconds: float = 3.0
    max_replays: int = 3

    def __post_init__(self):
        if self.transfer_mode not in TRANSFER_MODES:
            raise ValueError(f"unknown transfer mode {self.transfer_mode!r}")


class FlowState(StrEnum):
    IDLE = "idle"  # not answered yet
    PLAYING = "playing"
    WAITING_KEY = "waiting_key"  # key_only: all plays heard, waiting for the transfer key
    TRANSFERRING = "transferring"  # the agent group is being rung
    CONNECTED = "connected"  # an agent answered
    ENDED = "ended"


class Outcome(StrEnum):
    CONNECTED = "connected"  # reached an agent
    PLAYED = "played"  # play_only: heard the prompt, we hung up
    NO_KEY = "no_key"  # key_only: no transfer key, we hung up
    TRANSFER_FAILED = "transfer_failed"  # nobody in the group took it, we hung up
    HUNG_UP_IN_PROMPT = "hung_up_in_prompt"  # callee hung up before a transfer began
    HUNG_UP_IN_TRANSFER = "hung_up_in_transfer"  # callee hung up while agents were rung


class TransferReason(StrEnum):
    DIRECT = "direct"
    KEY = "key"
    TIMER = "timer"
    END_OF_PROMPT = "end_of_prompt"


class FlowMachine:
    """One answered group call. Feed events to `handle`; execute the commands it returns."""

    def __init__(self, config: FlowConfig):
        self.config = config
        self.state = FlowState.IDLE
        self.plays_done = 0  # plays heard to the end
        self.plays_started = 0
        self.replays = 0
        self.keys: list[str] = []
        self.outcome: Outcome | None = None
        self.transfer_reason: TransferReason | None = None
        self.agent = ""
        self.hangup_cause: int | None = None
        self._play_id = 0
        self._playing: int | None = None
        self._timers: set[str] = set()

    # --- reads ---------------------------------------------------------------------------
    @property
    def last_key(self) -> str:
        return self.keys[-1] if self.keys else ""

    @property
    def ended(self) -> bool:
        return self.state == FlowState.ENDED

    # --- the machine -------------------------------------------------------------------------
    def handle(self, event: Event) -> list[Command]:
        if self.state == FlowState.ENDED:
            return []
        if isinstance(event, Answered):
            return self._answered()
        if isinstance(event, PlaybackFinished):
            return self._playback_finished(event.play_id)
        if isinstance(event, Dtmf):
            return self._dtmf(event.digit)
        if isinstance(event, TimerFired):
            return self._timer(event.name)
        if isinstance(event, AgentAnswered):
            if self.state != FlowState.TRANSFERRING:
                return []
            self.state = FlowState.CONNECTED
            self.outcome = Outcome.CONNECTED
            self.agent = event.agent
            return []
        if isinstance(event, AgentFailed):
            if self.state != FlowState.TRANSFERRING:
                return []
            return self._end(Outcome.TRANSFER_FAILED, hang_up=True)
        if isinstance(event, Hangup):
            self.hangup_cause = event.cause
            if self.state == FlowState.CONNECTED:
                return self._end(Outcome.CONNECTED, hang_up=False)
            if self.state == FlowState.TRANSFERRING:
                return [CancelTransfer(), *self._end(Outcome.HUNG_UP_IN_TRANSFER, hang_up=False)]
            return self._end(Outcome.HUNG_UP_IN_PROMPT, hang_up=False)
        raise TypeError(f"unknown event {event!r}")

    def _answered(self) -> list[Command]:
        if self.state != FlowState.IDLE:
            return []
        cfg = self.config
        if cfg.transfer_mode == DIRECT:
            return self._transfer(TransferReason.DIRECT)
        if cfg.transfer_mode == PLAY_SECONDS and cfg.play_seconds <= 0:
            return self._transfer(TransferReason.TIMER)
        cmds: list[Command] = []
        if cfg.transfer_mode == PLAY_SECONDS:
            cmds.append(self._start_timer(TIMER_PLAY_SECONDS, cfg.play_seconds))
        if not cfg.prompt:
            self.plays_done = cfg.play_count
            return cmds + self._after_last_play()
        return cmds + self._play()

    def _play(self) -> list[Command]:
        self._play_id += 1
        self._playing = self._play_id
        self.plays_started += 1
        self.state = FlowState.PLAYING
        return [Play(self.config.prompt or "", self._play_id)]

    def _stop_playing(self) -> list[Command]:
        if self._playing is None:
            return []
        play_id, self._playing = self._playing, None
        return [StopPlayback(play_id)]

    def _start_timer(self, name: str, seconds: float) -> StartTimer:
        self._timers.add(name)
        return StartTimer(name, seconds)

    def _cancel_timers(self) -> list[Command]:
        cmds: list[Command] = [CancelTimer(name) for name in sorted(self._timers)]
        self._timers.clear()
        return cmds

    def _playback_finished(self, play_id: int) -> list[Command]:
        if self.state != FlowState.PLAYING or play_id != self._playing:
            return []  # a playback we stopped (replay, transfer) reporting its end
        self._playing = None
        self.plays_done += 1
        if self.plays_done < max(self.config.play_count, 1):
            return self._play()
        return self._after_last_play()

    def _after_last_play(self) -> list[Command]:
        mode = self.config.transfer_mode
        if mode == PLAY_ONLY:
            return self._end(Outcome.PLAYED, hang_up=True)
        if mode == KEY_ONLY:
            if self.config.key_wait_seconds > 0:
                self.state = FlowState.WAITING_KEY
                return [self._start_timer(TIMER_KEY_WAIT, self.config.key_wait_seconds)]
            return self._end(Outcome.NO_KEY, hang_up=True)
        if mode == PLAY_SECONDS:
            return self._transfer(TransferReason.TIMER)
        return self._transfer(TransferReason.END_OF_PROMPT)

    def _dtmf(self, digit: str) -> list[Command]:
        if self.state not in (FlowState.PLAYING, FlowState.WAITING_KEY):
            return []
        self.keys.append(digit)
        cfg = self.config
        if cfg.replay_key and digit == cfg.replay_key and cfg.prompt:
            if self.replays >= cfg.max_replays:
                return []
            self.replays += 1
            cmds = self._stop_playing()
            if self.state == FlowState.WAITING_KEY:
                cmds.append(CancelTimer(TIMER_KEY_WAIT))
                self._timers.discard(TIMER_KEY_WAIT)
                self.plays_done = max(cfg.play_count, 1) - 1
            return cmds + self._play()
        if cfg.transfer_mode != PLAY_ONLY and cfg.transfer_key and (
                cfg.transfer_key == ANY_KEY or cfg.transfer_key == digit):
            return self._transfer(TransferReason.KEY)
        return []

    def _timer(self, name: str) -> list[Command]:
        if name not in self._timers:
            return []  # cancelled, or already handled
        self._timers.discard(name)
        if name == TIMER_PLAY_SECONDS and self.state == FlowState.PLAYING:
            return self._transfer(TransferReason.TIMER)
        if name == TIMER_KEY_WAIT and self.state == FlowState.WAITING_KEY:
            return self._end(Outcome.NO_KEY, hang_up=True)
        return []

    def _transfer(self, reason: TransferReason) -> list[Command]:
        cmds = self._stop_playing() + self._cancel_timers()
        self.state = FlowState.TRANSFERRING
        self.transfer_reason = reason
        cmds.append(TransferToGroup(self.config.ringback))
        return cmds

    def _end(self, outcome: Outcome, *, hang_up: bool) -> list[Command]:
        cmds = self._stop_playing() + self._cancel_timers()
        self.state = FlowState.ENDED
        self.outcome = outcome
        if hang_up:
            cmds.append(HangupCall(CAUSE_NORMAL))
        return cmds
