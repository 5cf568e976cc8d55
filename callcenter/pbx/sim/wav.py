"""Recordings synthesised on demand: an 8 kHz, 16-bit, mono PCM WAV made from a seed.

Nothing is stored: the same seed and duration give the same bytes, produced in chunks
so a long call costs no more memory than a second of audio. The sound is speech-like
bursts of tones with pauses, so a person opening it in the demo hears "a call".
"""

from __future__ import annotations

import math
import random
import struct
from array import array
from collections.abc import Iterator

RATE = 8000
CHUNK_SECONDS = 1


def wav_header(n_samples: int, rate: int = RATE) -> bytes:
    data_bytes = n_samples * 2
    return struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + data_bytes, b"WAVE", b"fmt ", 16, 1, 1, rate,
                       rate * 2, 2, 16, b"data", data_bytes)


def _chunk_palette(seed: str, count: int = 6) -> list[bytes]:
    rng = random.Random(f"wav/{seed}")
    out = []
    for _ in range(count):
        samples = array("h", bytes(RATE * 2))
        pos = 0
        while pos < RATE:
            burst = rng.randint(1200, 3200)
            if rng.random() < 0.3:  # a pause between words
                pos += burst
                continue
            f1, f2 = rng.uniform(110, 260), rng.uniform(500, 1400)
            amp = rng.uniform(2500, 9000)
            end = min(RATE, pos + burst)
            for i in range(pos, end):
                t = i / RATE
                env = math.sin(math.pi * (i - pos) / burst)
                tone = 0.7 * math.sin(2 * math.pi * f1 * t) + 0.3 * math.sin(2 * math.pi * f2 * t)
                samples[i] = int(amp * env * tone)
            pos = end
        out.append(samples.tobytes())
    return out


def synth_wav(seed: str, seconds: float) -> Iterator[bytes]:
    """The WAV file, header first, then one chunk per second of audio."""
    n = max(0, int(round(seconds * RATE)))
    yield wav_header(n)
    if n == 0:
        return
    palette = _chunk_palette(seed)
    rng = random.Random(f"wav-order/{seed}")
    remaining = n * 2
    while remaining > 0:
        chunk = palette[rng.randrange(len(palette))]
        part = chunk[:remaining]
        remaining -= len(part)
        yield part


def wav_size(seconds: float) -> int:
    return 44 + max(0, int(round(seconds * RATE))) * 2
