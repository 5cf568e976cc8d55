"""The demo enterprise's call configuration: what `make run` shows working out of the box.

Prompts are synthesised tones (8 kHz, 16-bit, mono WAV), so the demo ships no audio
files. Everything is created through the telephony services, with their rules.
"""

from __future__ import annotations

import io
import math
import struct
import wave

from callcenter.accounts.models import Agent, Role
from callcenter.accounts.services import agents_create_range
from callcenter.telephony import services
from callcenter.telephony.choices import PromptKind

DEMO_DID = "4008001234"
DEMO_TRUNK = "02088880001"


def tone_wav(seconds: float, notes: tuple[float, ...] = (523.25, 659.25, 783.99)) -> bytes:
    """A short melody as an 8 kHz, 16-bit, mono WAV: a stand-in for a recorded prompt."""
    rate = 8000
    frames = bytearray()
    per_note = int(rate * seconds / len(notes))
    for freq in notes:
        for i in range(per_note):
            fade = min(1.0, i / 400, (per_note - i) / 400)
            frames += struct.pack("<h", int(9000 * fade * math.sin(2 * math.pi * freq * i / rate)))
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(bytes(frames))
    return buf.getvalue()


def seed(enterprise) -> None:
    """Agents 801-806, two prompts, a group, a flow, a trunk with a DID rule, a queue, an IVR and
    a schedule."""
    role = Role.objects.get(enterprise=enterprise, name="坐席")
    agents_create_range(enterprise=enterprise, start="801", end="806", defaults={"name": "坐席", "role": role})
    agents = {a.number: a for a in Agent.objects.filter(enterprise=enterprise)}
    welcome = services.prompt_create(enterprise=enterprise, name="欢迎语", data=tone_wav(4.0),
                                     filename="welcome.wav", remark="演示：合成的提示音")
    ringback = services.prompt_create(enterprise=enterprise, name="转接彩铃", data=tone_wav(3.0, (440.0, 480.0)),
                                      filename="ringback.wav", kind=PromptKind.RINGBACK)
    group = services.group_create(enterprise=enterprise, values={"name": "销售一组", "order_rule": "sequential"},
                                  members=[agents["801"], agents["802"], agents["803"]])
    services.callflow_create(enterprise=enterprise, values={
        "name": "产品推广", "prompt": welcome, "ringback": ringback, "transfer_mode": "play_to_end",
        "play_count": 1, "agent_group": group, "dial_ratio": 150, "extra_lines": 1, "retries": 1,
        "remark": "演示：播放欢迎语后转销售一组"})
    trunk = services.trunk_create(enterprise=enterprise, values={
        "number": DEMO_TRUNK, "prefix": DEMO_TRUNK, "server_type": "local", "server_password": "demo-gateway-1",
        "concurrent_lines": 30, "reserved_lines": 10})
    services.queue_create(enterprise=enterprise, values={
        "name": "客服队列", "extension": "600", "strategy": "rrmemory", "ring_seconds": 15, "max_wait_seconds": 120},
        members=[agents["804"], agents["805"]])
    menu = services.ivr_create(enterprise=enterprise, values={
        "name": "主菜单", "prompt": welcome, "default_extensions": "801,802", "default_order": "round_robin",
        "ring_wait_seconds": 3}, keys=[{"key": "1", "action": "extension", "extension": "600"},
                                       {"key": "2", "action": "extension", "extension": "806"},
                                       {"key": "9", "action": "ask_extension"}])
    schedule = services.schedule_create(enterprise=enterprise, values={
        "name": "全天导航", "weekdays": "1,2,3,4,5,6,7", "default_menu": menu})
    services.did_create(trunk=trunk, did=DEMO_DID, schedule=schedule)
