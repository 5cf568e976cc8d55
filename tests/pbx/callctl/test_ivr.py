"""N1 IVR walking: keys, default extensions in fixed and round-robin order, ring wait, last
agent, direct dial 400-899 (callctl/logic/ivr.py)."""

from __future__ import annotations

from callcenter.pbx.callctl.logic.base import (
    AgentAnswered,
    AgentFailed,
    Answered,
    CancelTimer,
    DialExtension,
    Dtmf,
    Hangup,
    HangupCall,
    Play,
    PlaybackFinished,
    RememberDefaultIndex,
    StartTimer,
    StopPlayback,
    TimerFired,
)
from callcenter.pbx.callctl.logic.ivr import (
    ACTION_ASK_EXTENSION,
    ACTION_EXTENSION,
    ACTION_LAST_AGENT,
    ACTION_PROMPT,
    ORDER_ROUND_ROBIN,
    IvrKeyConfig,
    IvrOptions,
    IvrOutcome,
    IvrState,
    IvrWalker,
    MenuConfig,
)

MENU_PROMPT = "sound:ivr/main"
INFO = "sound:ivr/address"
OPTS = IvrOptions(ring_seconds=20, digit_timeout=3, first_digit_timeout=6)


def menu(**kw) -> MenuConfig:
    kw.setdefault("prompt", MENU_PROMPT)
    kw.setdefault("default_extensions", ("801", "802", "803"))
    kw.setdefault("ring_wait_seconds", 5)
    keys = kw.pop("keys", ())
    return MenuConfig(id=7, name="主菜单", keys={k.key: k for k in keys}, **kw)


def walker(m: MenuConfig, **kw) -> IvrWalker:
    w = IvrWalker(m, options=OPTS, **kw)
    w.handle(Answered())
    return w


def dials(cmds) -> list[str]:
    return [c.extension for c in cmds if isinstance(c, DialExtension)]


def to_default(w: IvrWalker):
    w.handle(PlaybackFinished(w._playing))
    return w.handle(TimerFired("ring_wait"))


def test_prompt_then_ring_wait_then_the_first_default_extension():
    w = IvrWalker(menu(), options=OPTS)
    assert w.handle(Answered()) == [Play(MENU_PROMPT, 1)]
    assert w.handle(PlaybackFinished(1)) == [StartTimer("ring_wait", 5)]
    assert w.state == IvrState.WAITING
    assert w.handle(TimerFired("ring_wait")) == [DialExtension("801", 20)]
    assert w.handle(AgentAnswered("801")) == []
    assert w.outcome == IvrOutcome.CONNECTED and w.answered_by == "801"


def test_fixed_order_tries_the_next_only_when_the_previous_fails_then_hangs_up():
    w = walker(menu())
    assert dials(to_default(w)) == ["801"]
    assert w.handle(AgentFailed("busy")) == [DialExtension("802", 20)]
    assert w.handle(AgentFailed("offline")) == [DialExtension("803", 20)]
    assert w.handle(AgentFailed("no answer")) == [HangupCall(16)]
    assert w.outcome == IvrOutcome.NO_ANSWER and w.tried == ["801", "802", "803"]


def test_fixed_order_starts_from_the_first_every_call():
    for _ in range(3):
        w = walker(menu())
        assert dials(to_default(w)) == ["801"]
        w.handle(AgentAnswered("801"))


def test_round_robin_starts_after_the_previous_call_and_asks_to_remember():
    memory = -1
    first = []
    for _ in range(7):
        w = walker(menu(default_order=ORDER_ROUND_ROBIN, last_default_index=memory))
        cmds = to_default(w)
        first.append(dials(cmds)[0])
        remembered = [c for c in cmds if isinstance(c, RememberDefaultIndex)]
        assert remembered and remembered[0].menu_id == 7
        memory = remembered[-1].index
        w.handle(AgentAnswered())
    assert first == ["801", "802", "803", "801", "802", "803", "801"]


def test_round_robin_remembers_where_the_call_ended():
    w = walker(menu(default_order=ORDER_ROUND_ROBIN, last_default_index=0))
    assert dials(to_default(w)) == ["802"]
    cmds = w.handle(AgentFailed())
    assert cmds == [RememberDefaultIndex(7, 2), DialExtension("803", 20)]
    w.handle(AgentAnswered())
    # the next call starts after 803: back at 801
    w2 = walker(menu(default_order=ORDER_ROUND_ROBIN, last_default_index=2))
    assert dials(to_default(w2)) == ["801"]


def test_zero_ring_wait_goes_to_the_default_when_the_prompt_ends():
    w = walker(menu(ring_wait_seconds=0))
    assert w.handle(PlaybackFinished(1)) == [DialExtension("801", 20)]


def test_no_prompt_and_no_default_hangs_up():
    w = IvrWalker(menu(prompt=None, default_extensions=(), ring_wait_seconds=0), options=OPTS)
    assert w.handle(Answered()) == [HangupCall(16)]
    assert w.outcome == IvrOutcome.NO_DESTINATION


def test_key_to_extension_cuts_the_prompt_and_falls_back_to_defaults():
    w = walker(menu(keys=[IvrKeyConfig("1", ACTION_EXTENSION, extension="850")]))
    assert w.handle(Dtmf("1")) == [StopPlayback(1), DialExtension("850", 20)]
    assert w.handle(PlaybackFinished(1)) == []  # the stopped prompt
    assert w.handle(AgentFailed()) == [DialExtension("801", 20)]
    assert w.last_key == "1"


def test_key_prompt_plays_then_the_menu_again():
    w = walker(menu(keys=[IvrKeyConfig("2", ACTION_PROMPT, prompt=INFO)]))
    assert w.handle(Dtmf("2")) == [StopPlayback(1), Play(INFO, 2)]
    assert w.state == IvrState.KEY_PROMPT
    assert w.handle(PlaybackFinished(2)) == [Play(MENU_PROMPT, 3)]
    assert w.state == IvrState.MENU


def test_endless_key_prompts_end_at_the_default():
    w = IvrWalker(menu(keys=[IvrKeyConfig("2", ACTION_PROMPT, prompt=INFO)]),
                  options=IvrOptions(max_menu_repeats=2, ring_seconds=20))
    w.handle(Answered())
    for _ in range(2):
        w.handle(Dtmf("2"))
        w.handle(PlaybackFinished(w._playing))
    w.handle(Dtmf("2"))
    assert dials(w.handle(PlaybackFinished(w._playing))) == ["801"]


def test_ask_extension_collects_up_to_four_digits():
    w = walker(menu(keys=[IvrKeyConfig("0", ACTION_ASK_EXTENSION)]))
    assert w.handle(Dtmf("0")) == [StopPlayback(1), StartTimer("digits", 6)]
    assert w.handle(Dtmf("8")) == [CancelTimer("digits"), StartTimer("digits", 3)]
    w.handle(Dtmf("2"))
    w.handle(Dtmf("0"))
    assert w.handle(Dtmf("1")) == [CancelTimer("digits"), DialExtension("8201", 20)]


def test_ask_extension_ends_on_hash_or_pause_and_rejects_short_entries():
    w = walker(menu(keys=[IvrKeyConfig("0", ACTION_ASK_EXTENSION)]))
    w.handle(Dtmf("0"))
    for d in "820":
        w.handle(Dtmf(d))
    assert dials(w.handle(Dtmf("#"))) == ["820"]
    w = walker(menu(keys=[IvrKeyConfig("0", ACTION_ASK_EXTENSION)]))
    w.handle(Dtmf("0"))
    for d in "811":
        w.handle(Dtmf(d))
    assert dials(w.handle(TimerFired("digits"))) == ["811"]
    w = walker(menu(keys=[IvrKeyConfig("0", ACTION_ASK_EXTENSION)]))
    w.handle(Dtmf("0"))
    w.handle(Dtmf("8"))
    assert w.handle(TimerFired("digits")) == [Play(MENU_PROMPT, 2)]  # 1 digit: menu again


def test_last_agent_key_and_rule():
    keyed = walker(menu(keys=[IvrKeyConfig("9", ACTION_LAST_AGENT)]), last_agent="812")
    assert dials(keyed.handle(Dtmf("9"))) == ["812"]
    unknown = walker(menu(keys=[IvrKeyConfig("9", ACTION_LAST_AGENT)]), last_agent=None)
    assert dials(unknown.handle(Dtmf("9"))) == ["801"]
    ruled = walker(menu(to_last_agent=True), last_agent="802")
    assert dials(to_default(ruled)) == ["802"]
    assert ruled.handle(AgentFailed()) == [DialExtension("801", 20)]
    assert ruled.handle(AgentFailed()) == [DialExtension("803", 20)]  # 802 not twice
    assert menu(to_last_agent=True).needs_last_agent and not menu().needs_last_agent


def test_direct_dial_400_to_899_after_or_during_the_prompt():
    w = walker(menu())
    w.handle(PlaybackFinished(1))  # prompt over, ring wait running
    assert w.handle(Dtmf("4")) == [CancelTimer("ring_wait"), StartTimer("digits", 3)]
    w.handle(Dtmf("5"))
    assert dials(w.handle(Dtmf("6"))) == ["456"]
    w = walker(menu())
    w.handle(Dtmf("8"))
    w.handle(Dtmf("9"))
    assert dials(w.handle(Dtmf("9"))) == ["899"]


def test_direct_dial_off_or_out_of_range_or_a_configured_key():
    off = walker(menu(direct_dial=False))
    assert off.handle(Dtmf("5")) == [] and off.state == IvrState.MENU
    low = walker(menu())
    assert low.handle(Dtmf("3")) == []  # 3xx is not directly dialable
    nine = walker(menu())
    assert nine.handle(Dtmf("9")) == []
    keyed = walker(menu(keys=[IvrKeyConfig("5", ACTION_EXTENSION, extension="801")]))
    assert dials(keyed.handle(Dtmf("5"))) == ["801"]  # the key wins over direct dial


def test_caller_hangs_up():
    w = walker(menu())
    assert w.handle(Hangup(16)) == [StopPlayback(1)]
    assert w.outcome == IvrOutcome.ABANDONED
    w = walker(menu())
    to_default(w)
    w.handle(Hangup(16))
    assert w.outcome == IvrOutcome.ABANDONED and w.handle(AgentAnswered()) == []
