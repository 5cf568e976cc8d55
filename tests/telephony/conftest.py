"""Fixtures of the call configuration tests: real files in a temporary media folder, audio made
with numpy + soundfile, and small builders that go through the services like the UI does."""

from __future__ import annotations

import html
import io
import re

import numpy as np
import pytest
import soundfile

from callcenter.telephony import services
from callcenter.telephony.choices import PromptKind


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path / "var"
    settings.VAR_DIR.mkdir()


def tone(*, rate: int = 8000, channels: int = 1, seconds: float = 0.5, fmt: str = "WAV",
         subtype: str | None = "PCM_16") -> bytes:
    """A 440 Hz tone encoded by libsndfile."""
    t = np.arange(int(rate * seconds)) / rate
    x = 0.3 * np.sin(2 * np.pi * 440 * t)
    if channels > 1:
        x = np.stack([x] * channels, axis=1)
    buf = io.BytesIO()
    soundfile.write(buf, x, rate, format=fmt, subtype=subtype if fmt == "WAV" else None)
    return buf.getvalue()


def field_errors(response) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for name, text in re.findall(r'<div\b[^>]*\bdata-field="([^"]+)"[^>]*>([^<]*)<', response.content.decode()):
        found.setdefault(name, []).append(html.unescape(text))
    return found


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def make_prompt(enterprise, name: str = "欢迎语", kind: str = PromptKind.PROMPT, seconds: float = 0.25):
    return services.prompt_create(enterprise=enterprise, name=name, kind=kind, data=tone(seconds=seconds),
                                  filename=f"{name}.wav")


def make_group(enterprise, name: str = "销售组", agents=()):
    return services.group_create(enterprise=enterprise, values={"name": name}, members=list(agents))


def make_menu(enterprise, name: str = "主导航", **values):
    return services.ivr_create(enterprise=enterprise, values={"name": name, **values})


def make_schedule(enterprise, name: str = "工作日", menu=None):
    menu = menu or make_menu(enterprise, f"{name}导航")
    return services.schedule_create(enterprise=enterprise, values={"name": name, "default_menu": menu})


def make_trunk(enterprise, number: str = "001", **values):
    return services.trunk_create(enterprise=enterprise, values={
        "number": number, "server_type": "local", "server_password": "pw-123", **values})


def make_queue(enterprise, name: str = "客服队列", extension: str = "600", members=(), **values):
    return services.queue_create(enterprise=enterprise, values={
        "name": name, "extension": extension, "enabled": bool(members), **values}, members=list(members))
