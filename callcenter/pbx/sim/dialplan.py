"""A tiny dialplan: extensions.conf contexts, pattern matching, priorities and labels.

Only what the simulation runs: the apps are executed by `world.Pbx._run_app`; here we
just find the step for (context, exten, priority) and expand `${...}` in its data.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from callcenter.pbx.sim.confparse import parse_conf


@dataclass(frozen=True)
class Step:
    priority: int
    label: str | None
    app: str
    data: str


_PRIORITY = re.compile(r"^(\d+|n|hint)(?:\((\w+)\))?$")
_VAR = re.compile(r"\$\{([^${}]+)\}")


def _pattern_regex(pattern: str) -> re.Pattern:
    out = []
    i = 0
    body = pattern[1:]
    while i < len(body):
        ch = body[i]
        if ch == "X":
            out.append("[0-9]")
        elif ch == "Z":
            out.append("[1-9]")
        elif ch == "N":
            out.append("[2-9]")
        elif ch == ".":
            out.append(".+")
        elif ch == "!":
            out.append(".*")
        elif ch == "[":
            end = body.find("]", i)
            if end < 0:
                out.append(re.escape(ch))
            else:
                out.append("[" + body[i + 1:end].replace("\\", "\\\\") + "]")
                i = end
        else:
            out.append(re.escape(ch))
        i += 1
    return re.compile("^" + "".join(out) + "$")


def _specificity(pattern: str) -> tuple:
    # Asterisk sorts patterns so the most specific matches first; approximate it by
    # literal characters first, then fewer wildcards.
    body = pattern[1:]
    return (-sum(ch.isdigit() for ch in body), body.count(".") + body.count("!"), -len(body))


def split_app(text: str) -> tuple[str, str]:
    text = text.strip()
    paren = text.find("(")
    if paren < 0:
        return text, ""
    app = text[:paren].strip()
    data = text[paren + 1:]
    if data.endswith(")"):
        data = data[:-1]
    return app, data


def split_args(data: str) -> list[str]:
    """Split app data at commas, keeping commas inside parentheses and quotes."""
    args, depth, quote, cur = [], 0, False, []
    for ch in data:
        if ch == '"':
            quote = not quote
        elif not quote and ch == "(":
            depth += 1
        elif not quote and ch == ")":
            depth -= 1
        elif not quote and depth == 0 and ch in ",|":
            args.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    args.append("".join(cur))
    return args


class Dialplan:
    def __init__(self) -> None:
        self.contexts: dict[str, dict[str, list[Step]]] = {}
        self.includes: dict[str, list[str]] = {}
        self._regex: dict[str, re.Pattern] = {}

    def load(self, text: str) -> None:
        """Add the contexts of `text`; a context defined again replaces the earlier one."""
        for section in parse_conf(text):
            if section.name in ("general", "globals"):
                continue
            exts: dict[str, list[Step]] = {}
            includes: list[str] = []
            last_exten: str | None = None
            last_prio = 0
            for key, value in section.lines:
                if key == "include":
                    includes.append(value.strip())
                    continue
                if key == "same":
                    if last_exten is None:
                        continue
                    exten, rest = last_exten, value
                elif key == "exten":
                    exten, _, rest = value.partition(",")
                    exten = exten.strip().split("/")[0]
                else:
                    continue
                prio_text, _, app_text = rest.partition(",")
                match = _PRIORITY.match(prio_text.strip())
                if not match or match.group(1) == "hint":
                    continue
                following = (last_prio + 1) if exten == last_exten else 1
                prio = following if match.group(1) == "n" else int(match.group(1))
                app, data = split_app(app_text)
                exts.setdefault(exten, []).append(Step(prio, match.group(2), app, data))
                last_exten, last_prio = exten, prio
            for steps in exts.values():
                steps.sort(key=lambda s: s.priority)
            self.contexts[section.name] = exts
            self.includes[section.name] = includes

    def _match(self, context: str, exten: str, seen: set[str]) -> tuple[str, str] | None:
        if context in seen or context not in self.contexts:
            return None
        seen.add(context)
        exts = self.contexts[context]
        if exten in exts:
            return context, exten
        patterns = sorted((p for p in exts if p.startswith("_")), key=_specificity)
        for pattern in patterns:
            regex = self._regex.get(pattern) or self._regex.setdefault(pattern, _pattern_regex(pattern))
            if regex.match(exten):
                return context, pattern
        for inc in self.includes.get(context, []):
            found = self._match(inc, exten, seen)
            if found:
                return found
        return None

    def has_context(self, context: str) -> bool:
        return context in self.contexts

    def exists(self, context: str, exten: str, priority: int = 1) -> bool:
        return self.step(context, exten, priority) is not None

    def step(self, context: str, exten: str, priority: int) -> Step | None:
        found = self._match(context, exten, set())
        if not found:
            return None
        ctx, key = found
        for step in self.contexts[ctx][key]:
            if step.priority == priority:
                return step
        return None

    def find_label(self, context: str, exten: str, label: str) -> int | None:
        found = self._match(context, exten, set())
        if not found:
            return None
        ctx, key = found
        for step in self.contexts[ctx][key]:
            if step.label == label:
                return step.priority
        return None


def substitute(text: str, lookup: Callable[[str], str]) -> str:
    """Expand ${NAME}, ${NAME:offset:length} and ${FUNC(args)} with `lookup`."""
    for _ in range(5):  # inner expressions first
        new = _VAR.sub(lambda m: _expand(m.group(1), lookup), text)
        if new == text:
            break
        text = new
    return text


def _expand(expr: str, lookup: Callable[[str], str]) -> str:
    if "(" not in expr and ":" in expr:
        name, _, spec = expr.partition(":")
        value = lookup(name)
        parts = spec.split(":")
        try:
            offset = int(parts[0] or 0)
            length = int(parts[1]) if len(parts) > 1 and parts[1] else None
        except ValueError:
            return value
        value = value[offset:]
        return value[:length] if length is not None else value
    return lookup(expr)
