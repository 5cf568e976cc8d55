"""Voice prompt files (语音上传, manual 2.2.1): checked by content, not by name.

The PBX plays 8 kHz, 16-bit, mono PCM. An upload is accepted as a WAV file holding that,
or as raw PCM (.pcm/.sln, taken as 8 kHz 16-bit mono and wrapped into a WAV). Anything
else is refused with a message naming what the file really is ("MP3, 44.1 kHz, stereo",
"不是音频文件（文本）"); where libsndfile can read it (WAV in other formats, FLAC, OGG,
MP3, AIFF ...) the caller may ask for a conversion instead, resampled with soxr.

Everything here is pure: bytes in, bytes or a refusal out.
"""

from __future__ import annotations

import io
import struct
import wave
from dataclasses import dataclass

from django.utils.translation import gettext as _

MAX_BYTES = 10 * 1024 * 1024
RATE = 8000
SAMPLE_WIDTH = 2
RAW_PCM_SUFFIXES = (".pcm", ".sln", ".sln8", ".raw")

LIBSNDFILE_WAV_CODECS = ("PCM", "float", "A-law", "μ-law", "IMA ADPCM", "MS ADPCM", "GSM 6.10")
WAV_CODECS = {1: "PCM", 3: "float", 6: "A-law", 7: "μ-law", 2: "MS ADPCM", 17: "IMA ADPCM", 49: "GSM 6.10",
              85: "MP3"}


class AudioRejected(ValueError):
    """The file cannot be a prompt as it is; `convertible` says a conversion could fix it."""

    def __init__(self, message: str, *, convertible: bool = False, info: AudioInfo | None = None):
        super().__init__(message)
        self.message = message
        self.convertible = convertible
        self.info = info


@dataclass
class AudioInfo:
    container: str  # WAV, PCM, MP3, FLAC, OGG, ...
    codec: str = ""  # PCM, float, A-law ... (WAV only)
    rate: int | None = None
    channels: int | None = None
    bits: int | None = None
    frames: int | None = None
    block_align: int = 0
    decodable: bool = False  # libsndfile can read it, so it can be converted
    pcm: bytes | None = None  # the samples, when the file is already what the PBX plays

    @property
    def playable(self) -> bool:
        return (self.container in ("WAV", "PCM") and self.codec == "PCM" and self.rate == RATE
                and self.bits == 16 and self.channels == 1)


@dataclass
class PreparedAudio:
    wav: bytes
    duration_ms: int
    converted: bool
    source: AudioInfo


# --- description ------------------------------------------------------------------------------


def format_rate(rate: int) -> str:
    khz = rate / 1000
    return f"{khz:g} kHz"


def format_channels(channels: int) -> str:
    if channels == 1:
        return _("单声道")
    if channels == 2:
        return _("立体声")
    return _("%(n)s 声道") % {"n": channels}


def describe(info: AudioInfo) -> str:
    """What the file is, e.g. "MP3, 44.1 kHz, stereo" or "WAV PCM, 8 kHz, 16 bit, mono"."""
    head = info.container
    if info.codec and info.container == "WAV":
        head = f"WAV {info.codec}"
    parts = [head]
    if info.rate:
        parts.append(format_rate(info.rate))
    if info.bits and info.container in ("WAV", "PCM", "FLAC", "AIFF"):
        parts.append(f"{info.bits} bit")
    if info.channels:
        parts.append(format_channels(info.channels))
    return ", ".join(parts)


def requirement() -> str:
    return _("PCM 8 kHz、16 bit、单声道")


# --- sniffing -----------------------------------------------------------------------------------

NON_AUDIO_MAGIC = [
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"PK\x03\x04", "ZIP/Office"),
    (b"\xd0\xcf\x11\xe0", "Office"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf", "7z"),
    (b"\x1f\x8b", "gzip"),
    (b"MZ", "EXE"),
    (b"\x7fELF", "ELF"),
]

# Audio that libsndfile cannot read: named, not convertible here.
OTHER_AUDIO_MAGIC = [
    (b"#!AMR", "AMR"),
    (b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "WMA/ASF"),
]


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    if not sample or b"\x00" in sample:
        return False
    for encoding in ("utf-8", "gb18030"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            continue
        printable = sum(1 for ch in text if ch.isprintable() or ch in "\r\n\t")
        return printable >= 0.95 * len(text)
    return False


def _wav_info(data: bytes) -> AudioInfo:
    info = AudioInfo("WAV")
    pos = 12
    fmt_seen = False
    while pos + 8 <= len(data):
        chunk_id = data[pos:pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4:pos + 8])
        body = data[pos + 8:pos + 8 + size]
        if chunk_id == b"fmt " and len(body) >= 16:
            tag, channels, rate, _byte_rate, block_align, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == 0xFFFE and len(body) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the real tag leads the GUID
                (tag,) = struct.unpack("<H", body[24:26])
            info.codec = WAV_CODECS.get(tag, f"0x{tag:04x}")
            info.rate, info.channels, info.bits = rate, channels, bits
            info.decodable = info.codec in LIBSNDFILE_WAV_CODECS
            info.block_align = block_align
            fmt_seen = True
        elif chunk_id == b"data":
            if fmt_seen:
                align = info.block_align or 1
                body = body[: len(body) - len(body) % align]
                info.frames = len(body) // align
                if info.codec == "PCM" and info.bits == 16 and info.channels == 1:
                    info.pcm = body
            break
        pos += 8 + size + (size & 1)
    if not fmt_seen:
        raise AudioRejected(_("WAV 文件已损坏（没有格式信息）"))
    if info.frames is None:
        raise AudioRejected(_("WAV 文件已损坏（没有音频数据）"), info=info)
    return info


MP3_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mp3_info(data: bytes) -> AudioInfo | None:
    """An MP3 is an optional ID3v2 tag, then frames starting with an 11-bit sync word."""
    pos = 0
    tagged = data.startswith(b"ID3")
    if tagged and len(data) >= 10:
        size = 0
        for b in data[6:10]:
            size = (size << 7) | (b & 0x7F)
        pos = 10 + size + (10 if data[5] & 0x10 else 0)
    limit = min(len(data) - 4, pos + 64 * 1024)
    while pos <= limit:
        if data[pos] == 0xFF and data[pos + 1] & 0xE0 == 0xE0:
            header = int.from_bytes(data[pos:pos + 4], "big")
            version = (header >> 19) & 3
            layer = (header >> 17) & 3
            rate_index = (header >> 10) & 3
            if version != 1 and layer != 0 and rate_index != 3:
                channel_mode = (header >> 6) & 3
                name = {1: "MP3", 2: "MP2", 3: "MP1"}[layer]
                return AudioInfo(name, rate=MP3_RATES[version][rate_index], channels=1 if channel_mode == 3 else 2)
        if not tagged and pos == 0:
            return None  # no tag and no frame at the start: not an MP3
        pos += 1
    return AudioInfo("MP3") if tagged else None


def _soundfile_info(data: bytes, fallback: str) -> AudioInfo:
    try:
        import soundfile
    except ImportError:  # pragma: no cover - soundfile is a pinned requirement
        return AudioInfo(fallback)
    try:
        found = soundfile.info(io.BytesIO(data))
    except Exception:  # libsndfile raises its own error types for what it cannot read
        return AudioInfo(fallback)
    bits = {"PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "PCM_S8": 8, "PCM_U8": 8}.get(found.subtype)
    return AudioInfo(fallback, rate=found.samplerate, channels=found.channels, bits=bits, frames=found.frames,
                     decodable=True)


def inspect(data: bytes, name: str = "") -> AudioInfo:
    """What the bytes are. Raises AudioRejected for what is not audio at all."""
    if not data:
        raise AudioRejected(_("文件是空的"))
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return _wav_info(data)
    if data[:4] in (b"RIFX", b"RF64"):
        return _soundfile_info(data, "WAV")
    if data[:4] == b"fLaC":
        return _soundfile_info(data, "FLAC")
    if data[:4] == b"OggS":
        return _soundfile_info(data, "OGG")
    if data[:4] == b"FORM" and data[8:12] in (b"AIFF", b"AIFC"):
        return _soundfile_info(data, "AIFF")
    if data[:4] == b".snd":
        return _soundfile_info(data, "AU")
    if data[4:8] == b"ftyp":
        raise AudioRejected(_("%(what)s，不支持，请转换为 WAV 后上传") % {"what": "M4A/MP4 (AAC)"})
    for magic, label in OTHER_AUDIO_MAGIC:
        if data.startswith(magic):
            raise AudioRejected(_("%(what)s，不支持，请转换为 WAV 后上传") % {"what": label})
    mp3 = _mp3_info(data)
    if mp3 is not None:
        probed = _soundfile_info(data, mp3.container)
        return probed if probed.rate else mp3
    for magic, label in NON_AUDIO_MAGIC:
        if data.startswith(magic):
            raise AudioRejected(_("不是音频文件（%(what)s）") % {"what": label})
    if _looks_like_text(data):
        raise AudioRejected(_("不是音频文件（文本）"))
    if name.lower().endswith(RAW_PCM_SUFFIXES):
        if len(data) % 2:
            raise AudioRejected(_("不是 16 bit PCM（字节数为奇数）"))
        return AudioInfo("PCM", codec="PCM", rate=RATE, channels=1, bits=16, frames=len(data) // 2, pcm=data)
    raise AudioRejected(_("不是音频文件（无法识别的格式）"))


# --- writing ---------------------------------------------------------------------------------------


def pcm_to_wav(pcm: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(SAMPLE_WIDTH)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return buf.getvalue()


def _convert(data: bytes) -> bytes:
    """Decode with libsndfile, mix down to mono, resample to 8 kHz with soxr, 16-bit PCM."""
    import numpy as np
    import soundfile
    import soxr

    out = io.BytesIO()
    written = 0
    with soundfile.SoundFile(io.BytesIO(data)) as src:
        stream = soxr.ResampleStream(src.samplerate, RATE, 1, dtype="float32", quality="HQ") \
            if src.samplerate != RATE else None
        for block in src.blocks(blocksize=65536, dtype="float32", always_2d=True):
            mono = block.mean(axis=1, dtype=np.float32)
            if stream is not None:
                mono = stream.resample_chunk(mono)
            written += _write_int16(out, mono)
            if written > MAX_BYTES:
                raise AudioRejected(_("转换后超过 %(mb)s MB 的上限，请截短后上传") % {"mb": MAX_BYTES // (1024 * 1024)})
        if stream is not None:
            written += _write_int16(out, stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))
    if written == 0:
        raise AudioRejected(_("文件中没有声音数据"))
    return pcm_to_wav(out.getvalue())


def _write_int16(out, samples) -> int:
    import numpy as np

    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes()
    out.write(pcm)
    return len(pcm)


def convertible(info: AudioInfo) -> bool:
    """libsndfile could read it (it told us the rate) and soxr can resample it."""
    if not (info.decodable and info.rate and info.channels):
        return False
    try:
        import soundfile  # noqa: F401
        import soxr  # noqa: F401
    except ImportError:  # pragma: no cover - pinned requirements
        return False
    return True


def check_size(size: int) -> None:
    if size > MAX_BYTES:
        raise AudioRejected(_("文件超过 %(mb)s MB 的上限（%(size).1f MB）") % {
            "mb": MAX_BYTES // (1024 * 1024), "size": size / (1024 * 1024)})


def prepare(data: bytes, name: str = "", *, convert: bool = False) -> PreparedAudio:
    """The WAV to store for an upload, or AudioRejected saying what the file is."""
    check_size(len(data))
    info = inspect(data, name)
    if info.playable and info.pcm is not None:
        wav = pcm_to_wav(info.pcm)
        return PreparedAudio(wav, len(info.pcm) * 1000 // (RATE * SAMPLE_WIDTH), False, info)
    can_convert = convertible(info)
    if not (convert and can_convert):
        message = _("语音文件必须是 %(need)s，此文件是 %(actual)s") % {"need": requirement(), "actual": describe(info)}
        if can_convert:
            message += _("；可以勾选“转换为 8kHz 16bit 单声道后保存”")
        raise AudioRejected(message, convertible=can_convert, info=info)
    try:
        wav = _convert(data)
    except AudioRejected:
        raise
    except Exception as exc:  # a file libsndfile described but cannot decode to the end
        raise AudioRejected(_("无法转换此文件（%(what)s）") % {"what": describe(info)}, info=info) from exc
    frames = (len(wav) - 44) // SAMPLE_WIDTH
    return PreparedAudio(wav, frames * 1000 // RATE, True, info)
