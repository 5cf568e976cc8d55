"""The dialplan at run time: stepping through priorities and running the applications
the simulation models (Answer, Wait, Stasis, Queue, Dial, Goto/GotoIf, ExecIf, Set,
Playback, Hangup, Busy, Congestion...). Any other application returns at once. A mixin
of `world.Pbx`.
"""

from __future__ import annotations

from callcenter.pbx.sim import causes
from callcenter.pbx.sim.dialplan import split_args, substitute
from callcenter.pbx.sim.errors import AriError
from callcenter.pbx.sim.model import Bridge, Channel


class DialplanMixin:
    def run_pbx(self, chan: Channel, context: str, exten: str, priority: int) -> None:
        chan.pbx_token += 1
        self._pbx_step(chan, chan.pbx_token, context, exten, priority)

    def pbx_next(self, chan: Channel, delay: float = 0.0) -> None:
        """Carry on with the next priority after a blocking app returns."""
        if chan.dead:
            return
        chan.in_app = None
        if chan.app_only:  # AMI Originate with Application: the app, then hang up
            self.later(delay, self.destroy, chan, causes.NORMAL, chan=chan)
            return
        token = chan.pbx_token
        if delay > 0:
            self.later(delay, self._pbx_step, chan, token, chan.context, chan.exten, chan.priority + 1, chan=chan)
        else:
            self.soon(self._pbx_step, chan, token, chan.context, chan.exten, chan.priority + 1)

    def _pbx_step(self, chan: Channel, token: int, context: str, exten: str, priority: int) -> None:
        if chan.dead or chan.pbx_token != token or chan.hanging_up:
            return
        step = self.dialplan.step(context, exten, priority)
        if step is None:  # off the end of the extension: the PBX hangs up
            self.destroy(chan, chan.cause or causes.NORMAL)
            return
        chan.context, chan.exten, chan.priority = context, exten, priority
        data = substitute(step.data, self._lookup_soft(chan))
        chan.app_name, chan.app_data = step.app, data
        self.ari_chan(chan, "ChannelDialplan", {"dialplan_app": step.app, "dialplan_app_data": data})
        if self.ami_on():
            self.ami("Newexten", f"{chan.ami_block()}Extension: {exten}\r\nApplication: {step.app}\r\n"
                                 f"AppData: {data}\r\n", "dialplan,all")
        self.run_app(chan, step.app, data)

    def run_app(self, chan: Channel, app: str, data: str) -> None:
        name = app.lower()
        args = split_args(data) if data else []
        first = args[0].strip() if args else ""
        if name in ("set", "setvar", "mset"):
            for item in args:
                key, sep, value = item.partition("=")
                if sep:
                    self._assign(chan, key.strip(), value)
            self.pbx_next(chan)
        elif name == "execif":
            cond, _, rest = data.partition("?")
            branch = rest.split(":", 1)
            chosen = branch[0] if _truthy(cond) else (branch[1] if len(branch) > 1 else "")
            if chosen:
                inner_app, inner_data = chosen.split("(", 1) if "(" in chosen else (chosen, ")")
                self.run_app(chan, inner_app, inner_data[:-1] if inner_data.endswith(")") else inner_data)
            else:
                self.pbx_next(chan)
        elif name == "gotoif":
            cond, _, rest = data.partition("?")
            branch = rest.split(":", 1)
            target = branch[0] if _truthy(cond) else (branch[1] if len(branch) > 1 else "")
            if target:
                self.run_app(chan, "Goto", target)
            else:
                self.pbx_next(chan)
        elif name == "answer":
            if chan.state != "Up":
                chan.answered_sim = self.now()
                self.set_state(chan, "Up")
                if chan.party is not None:
                    chan.party.on_answer()
                self.pbx_next(chan, 0.5)  # Answer() waits 500 ms for media
            else:
                self.pbx_next(chan)
        elif name == "ringing":
            if chan.peer is not None and chan.name.endswith(";2"):
                self.far_ringing(chan.peer)
            self.pbx_next(chan)
        elif name == "wait":
            self.pbx_next(chan, _float(first, 0.0))
        elif name in ("playback", "background"):
            total = 0.0
            for item in first.split("&"):
                duration = self.media_duration(f"sound:{item}", chan.language)
                total += duration if isinstance(duration, float) else 0.0
            self.pbx_next(chan, total)
        elif name == "hangup":
            self.destroy(chan, int(first) if first.isdigit() else (chan.cause or causes.NORMAL))
        elif name in ("busy", "congestion"):
            chan.cause = causes.BUSY if name == "busy" else causes.CONGESTION
            if chan.state != "Up" and chan.peer is not None and chan.name.endswith(";2"):
                self.far_fail(chan.peer, 486 if name == "busy" else 503)
            self.later(_float(first, 0.0) if first else 0.0, self.destroy, chan, chan.cause, chan=chan)
        elif name == "goto":
            parts = [a.strip() for a in args]
            context, exten = chan.context, chan.exten
            if len(parts) >= 3:
                context, exten, prio_text = parts[0], parts[1], parts[2]
            elif len(parts) == 2:
                exten, prio_text = parts
            else:
                prio_text = parts[0] if parts else "1"
            prio = int(prio_text) if prio_text.isdigit() else (self.dialplan.find_label(context, exten, prio_text) or 1)
            chan.pbx_token += 1
            self.soon(self._pbx_step, chan, chan.pbx_token, context, exten, prio)
        elif name == "stasis":
            app_name = first
            if not self.stasis_enter(chan, app_name, [a for a in args[1:]]):
                self.pbx_next(chan)
        elif name == "queue":
            timeout = _float(args[4], 0.0) if len(args) > 4 else 0.0
            chan.in_app = "Queue"
            if not self.queues.join(chan, first, timeout):
                self.pbx_next(chan)
        elif name == "dial":
            chan.in_app = "Dial"
            self._dial_app(chan, first, _float(args[1], 0.0) if len(args) > 1 else 0.0)
        elif name in ("echo", "musiconhold", "waitforever", "milliwatt"):
            chan.in_app = app
        else:
            # NoOp, Verbose, MixMonitor, Progress and every app the simulation does not
            # model: they return at once and the dialplan carries on.
            self.pbx_next(chan)

    def _dial_app(self, chan: Channel, targets: str, timeout: float) -> None:
        """Dial(): ring each target, bridge the first to answer, return when it ends."""
        legs: list[Channel] = []
        for target in filter(None, (t.strip() for t in targets.split("&"))):
            try:
                leg = self.make_outbound(target, uid=None, other_uid=None, linkedid=chan.linkedid, caller=chan)
            except AriError:
                continue
            self.set_caller(leg, chan.caller_name, chan.caller_num)
            self.inherit_vars(chan, leg)
            legs.append(leg)
        if not legs:
            self.set_var(chan, "DIALSTATUS", "CHANUNAVAIL")
            self.pbx_next(chan)
            return
        state = {"done": False}

        def answered(leg: Channel) -> None:
            if state["done"]:
                return
            state["done"] = True
            for other in legs:
                if other is not leg and not other.dead:
                    other.hanging_up = True
                    self.dial_event(other, "CANCEL")
                    self.destroy(other, causes.ANSWERED_ELSEWHERE)
            self.set_var(chan, "DIALSTATUS", "ANSWER")
            if chan.state != "Up":
                chan.answered_sim = self.now()
                self.set_state(chan, "Up")
            self.internal_bridge([chan, leg], on_leave=lambda gone, bridge: self._dial_bridge_end(chan, gone, bridge))

        def failed(status: str) -> None:
            if state["done"] or any(not leg.dead for leg in legs):
                return
            state["done"] = True
            self.set_var(chan, "DIALSTATUS", status)
            self.pbx_next(chan)

        for leg in legs:
            leg.after_answer = answered
            leg.on_gone = lambda gone: failed(causes.dialstatus_for_cause(gone.cause))
            self.soon(self.start_dial, leg, 0)
        if timeout > 0:
            def expire() -> None:
                if state["done"]:
                    return
                for leg in legs:
                    if not leg.dead:
                        leg.hanging_up = True
                        self.dial_event(leg, "NOANSWER")
                        self.destroy(leg, causes.NORMAL)
                state["done"] = True
                self.set_var(chan, "DIALSTATUS", "NOANSWER")
                self.pbx_next(chan)
            self.later(timeout, expire, chan=chan)

    def _dial_bridge_end(self, caller: Channel, gone: Channel, bridge: Bridge) -> None:
        if gone is caller:
            for other in list(bridge.channels):
                self.remove_internal(bridge, other)
                self.destroy(other, causes.NORMAL)
        else:
            self.remove_internal(bridge, caller)
            self.pbx_next(caller)


def _truthy(expr: str) -> bool:
    """Enough of Asterisk's $[...] expressions for the rendered dialplans: a = b, a != b."""
    text = expr.strip()
    if text.startswith("$[") and text.endswith("]"):
        text = text[2:-1].strip()
    for op in ("!=", "="):
        if op in text:
            left, _, right = text.partition(op)
            equal = left.strip().strip('"') == right.strip().strip('"')
            return equal if op == "=" else not equal
    return text.strip('"') not in ("", "0")


def _float(text: str, default: float) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return default
