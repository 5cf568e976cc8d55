"""Media on channels and bridges: playbacks (PlaybackStarted/Continuing/Finished) and
live recordings (RecordingStarted/Finished), as res_stasis_playback.c and
res_stasis_recording.c publish them. A mixin of `world.Pbx`.

Durations: `sound:` media from the world's `sounds`, files under `sound_dirs` (or an
absolute path), or `sound_patterns`; anything else fails like a missing file;
`digits:`/`number:`/`characters:` take `digit_duration` per character; `tone:` plays
until stopped; `recording:` plays a stored recording; an unsupported scheme or an unknown
recording never finishes (PlaybackStarted only), as in Asterisk.
"""

from __future__ import annotations

import fnmatch
import uuid
import wave
from pathlib import Path

from callcenter.pbx.sim.errors import AriError
from callcenter.pbx.sim.model import Bridge, Channel, LiveRecording, Playback, StoredRecording


class MediaMixin:
    def media_duration(self, uri: str, language: str = "en") -> float | str | None:
        """Seconds of `uri`; "fail" for a missing sound, "skip" for a medium that never
        finishes (unsupported scheme, unknown recording), None for a tone (until stopped)."""
        scheme, _, rest = uri.partition(":")
        world = self.world
        digit = float(world.get("digit_duration", 0.6))
        if scheme == "sound":
            default = float(world.get("default_sound_duration", 3.0))
            sounds = world.get("sounds") or {}
            if rest in sounds:
                value = sounds[rest]
                return float(value if value is not None else default)
            # A file, as Asterisk finds it: an absolute path, or under a sounds directory.
            if rest.startswith("/"):
                bases = [Path(rest).parent]
                stem = Path(rest).name
            else:
                bases = [Path(b) / language for b in world.get("sound_dirs") or []] + [
                    Path(b) for b in world.get("sound_dirs") or []]
                stem = rest
            for base in bases:
                for ext in (".wav", ".WAV", ".sln", ".gsm", ".ulaw", ".alaw", ".g722"):
                    candidate = base / f"{stem}{ext}"
                    if candidate.is_file():
                        if ext.lower() == ".wav":
                            return _wav_seconds(candidate, default)
                        size = candidate.stat().st_size
                        return size / {".sln": 16000, ".gsm": 1650, ".g722": 8000}.get(ext, 8000)
            for pattern in world.get("sound_patterns") or []:
                if fnmatch.fnmatchcase(rest, pattern):
                    return default
            return "fail"
        if scheme == "recording":
            stored = self.stored_recordings.get(rest)
            return float(stored.duration) if stored else "skip"
        if scheme in ("digits", "characters"):
            return max(1, len(rest)) * digit
        if scheme == "number":
            try:
                int(rest)
            except ValueError:
                return "skip"
            return max(1, len(rest.lstrip("-"))) * digit
        if scheme == "tone":
            return None
        return "skip"

    def play(self, target: Channel | Bridge, media: list[str], language: str, playback_id: str | None) -> Playback:
        pid = playback_id or str(uuid.uuid4())
        if isinstance(target, Channel):
            pb = Playback(id=pid, media=media, target_uri=f"channel:{target.id}", language=language, channel=target)
        else:
            pb = Playback(id=pid, media=media, target_uri=f"bridge:{target.id}", language=language, bridge=target)
        self.playbacks[pid] = pb
        target.play_queue.append(pb)
        if target.playing is None:
            self.soon(self._play_next, target)
        return pb

    def _pb_recipients(self, pb: Playback) -> set[str] | list[str]:
        if pb.channel is not None:
            return self._recipients(pb.channel)
        return self.bridge_apps(pb.bridge) if pb.bridge is not None else ()

    def _pb_event(self, pb: Playback, typ: str) -> None:
        self.ari_event({"type": typ, "playback": pb.ari()}, self._pb_recipients(pb))

    def _play_next(self, target: Channel | Bridge) -> None:
        if target.playing is not None or not target.play_queue or target.dead:
            return
        pb = target.play_queue.popleft()
        target.playing = pb
        self._play_media(pb)

    def _play_media(self, pb: Playback) -> None:
        pb.state = "playing"
        self._pb_event(pb, "PlaybackStarted")
        duration = self.media_duration(pb.media[pb.index], pb.language)
        if duration == "fail":
            self._media_end(pb, failed=True)
        elif duration == "skip":
            # Asterisk skips the medium without a final update (code): the next one, if
            # any, starts; a single one never finishes.
            if pb.index < len(pb.media) - 1:
                pb.index += 1
                self.soon(self._play_media, pb)
        elif duration is not None:
            pb.timer = self.loop.call_later(float(duration) * self.scale, self._media_end, pb, False)

    def _media_end(self, pb: Playback, failed: bool = False) -> None:
        if pb.state in ("done", "failed"):
            return
        if pb.index < len(pb.media) - 1:
            pb.state = "continuing"
            self._pb_event(pb, "PlaybackContinuing")
            pb.index += 1
            self._play_media(pb)
            return
        pb.state = "failed" if failed else "done"
        self._pb_done(pb)

    def _pb_done(self, pb: Playback) -> None:
        if pb.timer is not None:
            pb.timer.cancel()
            pb.timer = None
        self._pb_event(pb, "PlaybackFinished")
        self.playbacks.pop(pb.id, None)
        target = pb.channel if pb.channel is not None else pb.bridge
        if target is not None and target.playing is pb:
            target.playing = None
            if not target.dead and not getattr(target, "hanging_up", False):
                self._play_next(target)

    def stop_playback(self, pb: Playback) -> None:
        target = pb.channel if pb.channel is not None else pb.bridge
        if target is not None and pb in target.play_queue:
            target.play_queue.remove(pb)
            pb.state = "done"
            self._pb_event(pb, "PlaybackFinished")
            self.playbacks.pop(pb.id, None)
            return
        pb.state = "done"
        self._pb_done(pb)

    def _stop_media(self, target: Channel | Bridge) -> None:
        target.play_queue.clear()
        pb = target.playing
        if pb is not None:
            pb.state = "done"
            target.playing = None
            if pb.timer is not None:
                pb.timer.cancel()
                pb.timer = None
            self._pb_event(pb, "PlaybackFinished")
            self.playbacks.pop(pb.id, None)
        for pid in [p.id for p in self.playbacks.values() if p.channel is target or p.bridge is target]:
            self.playbacks.pop(pid, None)
        if target.recording is not None:
            self.recording_stop(target.recording)

    def record(self, target: Channel | Bridge, *, name: str, fmt: str, max_duration: float, if_exists: str,
               terminate_on: str, beep: bool) -> LiveRecording:
        if not name or name.startswith("/") or ".." in name.split("/"):
            raise AriError(400, "Recording name invalid")
        if name in self.live_recordings or (name in self.stored_recordings and if_exists == "fail"):
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        if target.recording is not None:
            raise AriError(409, f"Recording '{name}' already exists and can not be overwritten")
        uri = f"channel:{target.id}" if isinstance(target, Channel) else f"bridge:{target.id}"
        rec = LiveRecording(name=name, format=fmt, target_uri=uri,
                            channel=target if isinstance(target, Channel) else None,
                            bridge=target if isinstance(target, Bridge) else None,
                            max_duration=max_duration, terminate_on=terminate_on,
                            seed=f"{self.config.seed}/{name}/{target.id}")
        if if_exists == "append" and name in self.stored_recordings:
            rec.duration = None
            rec.seed = self.stored_recordings[name].seed
            rec.appended = self.stored_recordings[name].duration  # type: ignore[attr-defined]
        self.live_recordings[name] = rec
        target.recording = rec
        self.soon(self._recording_start, rec, 0.3 if beep else 0.0)
        return rec

    def _rec_recipients(self, rec: LiveRecording):
        if rec.channel is not None:
            return self._recipients(rec.channel)
        return self.bridge_apps(rec.bridge) if rec.bridge is not None else ()

    def _recording_start(self, rec: LiveRecording, delay: float) -> None:
        if rec.state != "queued":
            return
        rec.state = "recording"
        rec.started_sim = self.now() + delay
        self.ari_event({"type": "RecordingStarted", "recording": rec.ari()}, self._rec_recipients(rec))
        if rec.max_duration > 0:
            rec.timer = self.loop.call_later((rec.max_duration + delay) * self.scale, self.recording_stop, rec)

    def recording_stop(self, rec: LiveRecording, *, cancel: bool = False) -> None:
        if rec.state in ("done", "canceled", "failed"):
            return
        if rec.timer is not None:
            rec.timer.cancel()
        recipients = self._rec_recipients(rec)
        started = rec.started_sim if rec.started_sim is not None else self.now()
        rec.duration = max(0, int(round(self.now() - started)))
        rec.state = "canceled" if cancel else "done"
        target = rec.channel if rec.channel is not None else rec.bridge
        if target is not None and target.recording is rec:
            target.recording = None
        self.live_recordings.pop(rec.name, None)
        if not cancel:
            total = rec.duration + float(getattr(rec, "appended", 0.0))
            self.stored_recordings[rec.name] = StoredRecording(rec.name, rec.format, max(total, 0.0), rec.seed)
        self.ari_event({"type": "RecordingFinished", "recording": rec.ari()}, recipients)


def _wav_seconds(path: Path, default: float) -> float:
    try:
        with wave.open(str(path), "rb") as w:
            return w.getnframes() / float(w.getframerate() or 8000)
    except (wave.Error, OSError, EOFError):
        return default
