"""C6 transfer modes, keys and play counts of a group call (callctl/logic/flow.py)."""

from __future__ import annotations

import pytest

from callcenter.pbx.callctl.logic.base import (
    AgentAnswered,
    AgentFailed,
    Answered,
    CancelTimer,
    CancelTransfer,
    Dtmf,
    Hangup,
    HangupCall,
    Play,
    PlaybackFinished,
    StartTimer,
    StopPlayback,
    TimerFired,
    TransferToGroup,
)
from callcenter.pbx.callctl.logic.flow import (
    DIRECT,
    KEY_ONLY,
    PLAY_ONLY,
    PLAY_SECONDS,
    PLAY_TO_END,
    FlowConfig,
    FlowMachine,
    FlowState,
    Outcome,
    TransferReason,
)

PROMPT = "sound:prompts/welcome"
RING = "sound:prompts/ringback"


def machine(**kw) -> FlowMachine:
    kw.setdefault("prompt", PROMPT)
    return FlowMachine(FlowConfig(**kw))


def finish_current(m: FlowMachine):
    """PlaybackFinished for the play now running."""
    return m.handle(PlaybackFinished(m._playing))


def plays(cmds) -> list[Play]:
    return [c for c in cmds if isinstance(c, Play)]


# --- direct -----------------------------------------------------------------------------------


def test_direct_transfers_on_answer_without_playing():
    m = machine(transfer_mode=DIRECT, ringback=RING)
    assert m.handle(Answered()) == [TransferToGroup(RING)]
    assert m.state == FlowState.TRANSFERRING and m.transfer_reason == TransferReason.DIRECT
    assert m.plays_started == 0
    assert m.handle(AgentAnswered("811")) == []
    assert m.state == FlowState.CONNECTED and m.agent == "811"
    assert m.handle(Hangup(16)) == []
    assert m.outcome == Outcome.CONNECTED and m.ended


# --- play only ----------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, 2, 3])
def test_play_only_plays_count_times_then_hangs_up(count):
    m = machine(transfer_mode=PLAY_ONLY, play_count=count, transfer_key="any")
    cmds = m.handle(Answered())
    assert cmds == [Play(PROMPT, 1)]
    for n in range(2, count + 1):
        assert finish_current(m) == [Play(PROMPT, n)]
    assert finish_current(m) == [HangupCall(16)]
    assert m.outcome == Outcome.PLAYED and m.plays_started == count


def test_play_only_never_transfers_even_on_the_transfer_key():
    m = machine(transfer_mode=PLAY_ONLY, transfer_key="1")
    m.handle(Answered())
    assert m.handle(Dtmf("1")) == []
    assert m.state == FlowState.PLAYING and m.last_key == "1"
    assert finish_current(m) == [HangupCall(16)]


# --- play to end ----------------------------------------------------------------------------------


def test_play_to_end_transfers_after_the_last_play():
    m = machine(transfer_mode=PLAY_TO_END, play_count=2, ringback=RING)
    assert m.handle(Answered()) == [Play(PROMPT, 1)]
    assert finish_current(m) == [Play(PROMPT, 2)]
    assert m.state == FlowState.PLAYING
    assert finish_current(m) == [TransferToGroup(RING)]
    assert m.transfer_reason == TransferReason.END_OF_PROMPT
    m.handle(AgentAnswered("820"))
    assert m.outcome == Outcome.CONNECTED


def test_play_to_end_transfer_key_cuts_the_prompt_short():
    m = machine(transfer_mode=PLAY_TO_END, play_count=3, transfer_key="9")
    m.handle(Answered())
    assert m.handle(Dtmf("3")) == []  # not the transfer key: recorded only
    assert m.handle(Dtmf("9")) == [StopPlayback(1), TransferToGroup(None)]
    assert m.transfer_reason == TransferReason.KEY and m.last_key == "9" and m.keys == ["3", "9"]
    # the stopped playback reports its end: ignored
    assert m.handle(PlaybackFinished(1)) == []
    assert m.state == FlowState.TRANSFERRING


def test_without_a_prompt_play_to_end_transfers_at_once():
    m = machine(transfer_mode=PLAY_TO_END, prompt=None)
    assert m.handle(Answered()) == [TransferToGroup(None)]


# --- play N seconds ----------------------------------------------------------------------------------


def test_play_seconds_transfers_at_n_seconds_while_still_playing():
    m = machine(transfer_mode=PLAY_SECONDS, play_seconds=8, play_count=3)
    assert m.handle(Answered()) == [StartTimer("play_seconds", 8), Play(PROMPT, 1)]
    assert finish_current(m) == [Play(PROMPT, 2)]  # a short prompt repeats until N s
    assert m.handle(TimerFired("play_seconds")) == [StopPlayback(2), TransferToGroup(None)]
    assert m.transfer_reason == TransferReason.TIMER
    assert m.handle(PlaybackFinished(2)) == []


def test_play_seconds_transfers_when_the_plays_run_out_before_n():
    m = machine(transfer_mode=PLAY_SECONDS, play_seconds=60, play_count=1)
    m.handle(Answered())
    assert finish_current(m) == [CancelTimer("play_seconds"), TransferToGroup(None)]
    assert m.handle(TimerFired("play_seconds")) == []  # cancelled timer firing late: ignored


def test_play_zero_seconds_is_a_direct_transfer():
    m = machine(transfer_mode=PLAY_SECONDS, play_seconds=0)
    assert m.handle(Answered()) == [TransferToGroup(None)]


def test_replay_does_not_move_the_play_seconds_deadline():
    m = machine(transfer_mode=PLAY_SECONDS, play_seconds=10, replay_key="*")
    m.handle(Answered())
    assert m.handle(Dtmf("*")) == [StopPlayback(1), Play(PROMPT, 2)]
    assert not any(isinstance(c, StartTimer) for c in m.handle(Dtmf("*")))
    assert m.handle(TimerFired("play_seconds"))[-1] == TransferToGroup(None)


# --- key only ----------------------------------------------------------------------------------


def test_key_only_without_the_key_hangs_up_after_the_last_play_and_the_wait():
    m = machine(transfer_mode=KEY_ONLY, transfer_key="1", play_count=2, key_wait_seconds=3)
    m.handle(Answered())
    assert finish_current(m) == [Play(PROMPT, 2)]
    m.handle(Dtmf("5"))  # a wrong key does nothing
    assert finish_current(m) == [StartTimer("key_wait", 3)]
    assert m.state == FlowState.WAITING_KEY
    assert m.handle(TimerFired("key_wait")) == [HangupCall(16)]
    assert m.outcome == Outcome.NO_KEY and m.last_key == "5"


def test_key_only_without_a_wait_hangs_up_when_the_last_play_ends():
    m = machine(transfer_mode=KEY_ONLY, transfer_key="1", key_wait_seconds=0)
    m.handle(Answered())
    assert finish_current(m) == [HangupCall(16)]
    assert m.outcome == Outcome.NO_KEY


@pytest.mark.parametrize("when", ["playing", "waiting"])
def test_key_only_transfers_on_the_transfer_key(when):
    m = machine(transfer_mode=KEY_ONLY, transfer_key="1", ringback=RING)
    m.handle(Answered())
    if when == "waiting":
        finish_current(m)
        assert m.handle(Dtmf("1")) == [CancelTimer("key_wait"), TransferToGroup(RING)]
    else:
        assert m.handle(Dtmf("1")) == [StopPlayback(1), TransferToGroup(RING)]
    assert m.transfer_reason == TransferReason.KEY
    m.handle(AgentAnswered("811"))
    assert m.outcome == Outcome.CONNECTED and m.last_key == "1"


def test_key_only_any_key_transfers_on_any_key_but_the_replay_key():
    m = machine(transfer_mode=KEY_ONLY, transfer_key="any", replay_key="0")
    m.handle(Answered())
    assert m.handle(Dtmf("0")) == [StopPlayback(1), Play(PROMPT, 2)]  # replays, not a transfer
    assert m.handle(Dtmf("#"))[-1] == TransferToGroup(None)


def test_key_only_without_a_transfer_key_never_transfers():
    m = machine(transfer_mode=KEY_ONLY, transfer_key="", key_wait_seconds=0)
    m.handle(Answered())
    assert m.handle(Dtmf("1")) == []
    assert finish_current(m) == [HangupCall(16)]


# --- replay key ----------------------------------------------------------------------------------


def test_replay_restarts_the_prompt_without_using_up_a_play():
    m = machine(transfer_mode=PLAY_TO_END, play_count=2, replay_key="*")
    m.handle(Answered())
    assert m.handle(Dtmf("*")) == [StopPlayback(1), Play(PROMPT, 2)]
    assert m.handle(PlaybackFinished(1)) == []  # the stopped one
    assert finish_current(m) == [Play(PROMPT, 3)]  # first play heard to the end; a second follows
    assert finish_current(m) == [TransferToGroup(None)]
    assert m.plays_done == 2 and m.plays_started == 3 and m.replays == 1


def test_replay_in_the_key_wait_replays_the_last_play():
    m = machine(transfer_mode=KEY_ONLY, transfer_key="1", replay_key="*", play_count=2)
    m.handle(Answered())
    finish_current(m)
    finish_current(m)
    assert m.state == FlowState.WAITING_KEY
    assert m.handle(Dtmf("*")) == [CancelTimer("key_wait"), Play(PROMPT, 3)]
    assert m.handle(TimerFired("key_wait")) == []  # cancelled
    assert finish_current(m) == [StartTimer("key_wait", 3.0)]


def test_replays_are_capped():
    m = machine(transfer_mode=PLAY_ONLY, replay_key="*", max_replays=2)
    m.handle(Answered())
    assert plays(m.handle(Dtmf("*")))
    assert plays(m.handle(Dtmf("*")))
    assert m.handle(Dtmf("*")) == []  # third replay refused, only recorded
    assert m.keys == ["*", "*", "*"] and m.replays == 2
    assert finish_current(m) == [HangupCall(16)]


# --- transfers that fail, hang-ups ----------------------------------------------------------------------


def test_transfer_failed_hangs_up():
    m = machine(transfer_mode=DIRECT)
    m.handle(Answered())
    assert m.handle(AgentFailed("all busy")) == [HangupCall(16)]
    assert m.outcome == Outcome.TRANSFER_FAILED


def test_callee_hangs_up_during_the_prompt():
    m = machine(transfer_mode=PLAY_SECONDS, play_seconds=5)
    m.handle(Answered())
    assert m.handle(Hangup(16)) == [StopPlayback(1), CancelTimer("play_seconds")]
    assert m.outcome == Outcome.HUNG_UP_IN_PROMPT and m.hangup_cause == 16
    assert m.handle(TimerFired("play_seconds")) == [] and m.handle(Dtmf("1")) == []


def test_callee_hangs_up_while_agents_ring():
    m = machine(transfer_mode=DIRECT)
    m.handle(Answered())
    assert m.handle(Hangup(16)) == [CancelTransfer()]
    assert m.outcome == Outcome.HUNG_UP_IN_TRANSFER
    assert m.handle(AgentAnswered("811")) == []


def test_keys_after_the_transfer_are_not_the_flow_s_keys():
    m = machine(transfer_mode=KEY_ONLY, transfer_key="1")
    m.handle(Answered())
    m.handle(Dtmf("1"))
    m.handle(Dtmf("5"))
    m.handle(AgentAnswered("811"))
    m.handle(Dtmf("7"))
    assert m.last_key == "1"


def test_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="transfer mode"):
        FlowConfig(transfer_mode="sometimes")
