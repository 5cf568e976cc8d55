"""A small reader of Asterisk's .conf syntax: the part queues.conf, pjsip.conf and
extensions.conf use.

Sections `[name]`, templates `[name](!)` and `[name](tpl1,tpl2)`, `key = value` and
`key => value` lines, `;` comments (`\\;` is a literal semicolon), `#include` ignored.
Each section keeps its lines in order, since `member =>` and `exten =>` repeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Section:
    name: str
    template: bool = False
    lines: list[tuple[str, str]] = field(default_factory=list)

    def get(self, key: str, default: str | None = None) -> str | None:
        for k, v in reversed(self.lines):
            if k == key:
                return v
        return default

    def getall(self, key: str) -> list[str]:
        return [v for k, v in self.lines if k == key]


def _strip_comment(line: str) -> str:
    out = []
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "\\" and i + 1 < len(line) and line[i + 1] == ";":
            out.append(";")
            i += 2
            continue
        if ch == ";":
            break
        out.append(ch)
        i += 1
    return "".join(out).strip()


def parse_conf(text: str) -> list[Section]:
    sections: list[Section] = []
    by_name: dict[str, Section] = {}
    current: Section | None = None
    for raw in text.splitlines():
        line = _strip_comment(raw)
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            end = line.find("]")
            if end < 0:
                continue
            name = line[1:end].strip()
            rest = line[end + 1:].strip()
            current = Section(name)
            if rest.startswith("(") and rest.endswith(")"):
                for tpl in (t.strip() for t in rest[1:-1].split(",")):
                    if tpl == "!":
                        current.template = True
                    elif tpl in by_name:
                        current.lines.extend(by_name[tpl].lines)
            if not current.template:
                sections.append(current)
            by_name[name] = current
            continue
        if current is None:
            continue
        eq = line.find("=")
        if eq < 0:
            continue
        key = line[:eq]
        value = line[eq + 2:] if line[eq + 1:eq + 2] == ">" else line[eq + 1:]
        current.lines.append((key.strip().lower(), value.strip()))
    return sections
