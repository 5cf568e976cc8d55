"""Configuration of the simulated Asterisk: a JSON (or YAML) file plus the environment.

Everything has a default, so `python manage.py pbx_sim` starts a usable PBX for the demo.
Precedence: built-in defaults < the file (`--config` or `CALLCENTER_SIM_CONFIG`) < the
environment < explicit overrides (command-line options, tests).

Durations in the world (ring times, talk times, prompt lengths, originate timeouts...)
are *simulated* seconds; the process runs them in real time multiplied by `time_scale`
(0.01 makes a 30 s ring last 0.3 s), so tests and demos can run fast.

A file looks like::

    {
      "host": "127.0.0.1", "ari_port": 8088, "ami_port": 5038,
      "ari_user": "callcenter", "ari_password": "callcenter",
      "ami_user": "callcenter", "ami_secret": "callcenter",
      "seed": 1, "time_scale": 1.0,
      "config_dir": "var/pbx",               # reads <dir>/current/{queues,pjsip,extensions}.conf
      "world": {
        "trunks": {"trunk1": {"lines": 30}},
        "phones": {"1001": {"mode": "auto"}, "1002": {"mode": "manual"}},
        "callees": {"default": {"answer_probability": 0.7, "ring_time": [2, 8]},
                    "numbers": {"13800000000": {"busy_probability": 1}},
                    "prefixes": {"170": {"unreachable_probability": 1}}},
        "inbound": {"dids": ["4008001234"], "rate_per_hour": 60},
        "sounds": {"welcome": 3.5}
      }
    }
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The world's defaults. Each can be overridden key by key in the file's "world".
DEFAULT_WORLD: dict[str, Any] = {
    # An endpoint that no config names is still served: a bare `PJSIP/x` is a registered
    # agent phone, the `trunk` of `PJSIP/num@trunk` a trunk with `default_trunk_lines`.
    # Off = a real Asterisk's answer for an unknown endpoint (500 Allocation failed).
    "auto_endpoints": True,
    "default_trunk_lines": 30,
    "endpoint_context": "default",
    "trunks": {},
    "phones": {},
    # How a simulated agent handles a call to their phone: "auto" answers after the ring
    # time, "manual" rings until POST /sim/phones/<ep>/answer, "offline" is unregistered.
    "phone_defaults": {
        "mode": "auto",
        "answer_probability": 1.0,
        "progress_delay": 0.2,
        "ring_time": [1.0, 3.0],
        "talk_time": None,  # None: the agent never hangs up first
    },
    # Far ends reached through a trunk. `numbers` (exact) and `prefixes` (longest first)
    # override the default profile key by key.
    "callees": {
        "default": {
            "answer_probability": 0.7,
            "busy_probability": 0.1,
            "unreachable_probability": 0.02,
            "reject_probability": 0.0,
            "unreachable_sip": 404,
            "progress_delay": [0.2, 1.0],
            "ring_time": [2.0, 10.0],
            "busy_delay": [0.5, 2.0],
            "talk_time": [20.0, 180.0],
            "patience": 60.0,  # answered but never bridged: hang up after this long
            "dtmf": "",  # keys pressed after answer, e.g. "1" or [["1", 2.5], ["#", 1]]
            "dtmf_delay": [1.5, 4.0],
            "dtmf_probability": 1.0,
            "dtmf_duration_ms": 120,
        },
        "numbers": {},
        "prefixes": {},
        "unreachable": [],
    },
    "inbound": {
        "dids": [],
        "rate_per_hour": 0.0,
        "trunk": "trunk1",
        "context": "from-trunk",
        "app": "",  # empty: the config's `app`
        "callers": [],  # empty: random mobile numbers
        "profile": {
            "answer_probability": 1.0,
            "patience": 60.0,
            "talk_time": [20.0, 180.0],
            "dtmf": "",
            "dtmf_delay": [1.5, 4.0],
            "dtmf_probability": 1.0,
            "dtmf_duration_ms": 120,
        },
    },
    # Known `sound:` media and their lengths; a name matching `sound_patterns` or found
    # under `sound_dirs` (as .wav) is known too. Anything else fails like a missing file.
    "sounds": {
        "hello-world": 1.5, "beep": 0.3, "vm-goodbye": 1.0, "queue-thankyou": 2.0,
        "queue-callswaiting": 2.0, "pls-hold-while-try": 2.0, "tt-monkeys": 7.0,
        "demo-congrats": 8.0, "silence/1": 1.0, "silence/2": 2.0,
    },
    "sound_patterns": ["custom/*", "prompts/*", "cc/*", "callcenter/*"],
    "sound_dirs": [],
    "default_sound_duration": 3.0,
    "digit_duration": 0.6,
    # Dialplan in extensions.conf syntax, added to (and overridden by) the rendered
    # extensions.conf of the config dir.
    "dialplan": (
        "[from-trunk]\n"
        "exten => _X.,1,Stasis(callcenter,inbound,${EXTEN})\n"
        " same => n,Hangup()\n"
        "[default]\n"
        "exten => s,1,Stasis(callcenter,default)\n"
        " same => n,Hangup()\n"
    ),
    # Extra queues (queues.conf syntax), added to those of the config dir.
    "queues_conf": "",
}


def _deep_merge(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


@dataclass
class SimConfig:
    host: str = "127.0.0.1"
    ari_port: int = 8088
    ami_port: int = 5038
    ari_user: str = "callcenter"
    # Development defaults, like Asterisk's sample configs; a deployment sets its own.
    ari_password: str = "callcenter"  # noqa: S105
    ami_user: str = "callcenter"
    ami_secret: str = "callcenter"  # noqa: S105
    seed: int = 1
    time_scale: float = 1.0
    config_dir: str | None = None
    # The Stasis application inbound calls enter when no rendered dialplan says otherwise.
    app: str = "callcenter"
    # ari.conf `channelvars`: variables every channel snapshot carries.
    channelvars: list[str] = field(default_factory=list)
    # The /sim/ control API asks for the ARI credentials too when set.
    control_auth: bool = False
    entity_id: str = "02:fc:00:00:00:01"
    version: str = "22.10.1"
    system_name: str = ""
    # "sim": event timestamps follow the simulated clock (start + elapsed / time_scale);
    # "wall": the machine's clock.
    clock: str = "sim"
    world: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULT_WORLD))

    def queues_conf_path(self) -> Path | None:
        return self._conf_path("queues.conf")

    def pjsip_conf_path(self) -> Path | None:
        return self._conf_path("pjsip.conf")

    def extensions_conf_path(self) -> Path | None:
        return self._conf_path("extensions.conf")

    def _conf_path(self, name: str) -> Path | None:
        if not self.config_dir:
            return None
        base = Path(self.config_dir)
        for candidate in (base / "current" / name, base / name):
            if candidate.is_file():
                return candidate
        return None


_ENV = {
    "host": ("CALLCENTER_SIM_HOST", str),
    "ari_port": ("CALLCENTER_SIM_ARI_PORT", int),
    "ami_port": ("CALLCENTER_SIM_AMI_PORT", int),
    "ari_user": ("CALLCENTER_SIM_ARI_USER", str),
    "ari_password": ("CALLCENTER_SIM_ARI_PASSWORD", str),
    "ami_user": ("CALLCENTER_SIM_AMI_USER", str),
    "ami_secret": ("CALLCENTER_SIM_AMI_SECRET", str),
    "seed": ("CALLCENTER_SIM_SEED", int),
    "time_scale": ("CALLCENTER_SIM_TIME_SCALE", float),
    "config_dir": ("CALLCENTER_PBX_CONFIG_DIR", str),
    "app": ("CALLCENTER_PBX_APP", str),
}
# The names the adapter reads (settings.PBX), used when the sim-specific ones are unset,
# so one set of variables configures both ends.
_ENV_FALLBACK = {
    "ari_user": "CALLCENTER_PBX_ARI_USER",
    "ari_password": "CALLCENTER_PBX_ARI_PASSWORD",
    "ami_user": "CALLCENTER_PBX_AMI_USER",
    "ami_secret": "CALLCENTER_PBX_AMI_SECRET",
    "ami_port": "CALLCENTER_PBX_AMI_PORT",
}


def port_of_url(url: str) -> int | None:
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        return parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
    except ValueError:
        return None


def _read_file(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text) if text.strip() else {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the configuration must be an object")
    return data


def load_config(path: str | os.PathLike | None = None, *, env: dict[str, str] | None = None,
                defaults: dict[str, Any] | None = None, **overrides: Any) -> SimConfig:
    """Built-in defaults, then `defaults` (e.g. from Django settings), then the file, then
    the environment, then `overrides` (None values ignored)."""
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    base_world: dict[str, Any] = {}
    for key, value in (defaults or {}).items():
        if key == "world":
            base_world = value or {}
        elif value is not None:
            data[key] = value
    path = path or env.get("CALLCENTER_SIM_CONFIG") or None
    file_world: dict[str, Any] = {}
    if path:
        from_file = _read_file(Path(path))
        file_world = from_file.pop("world", None) or {}
        data.update(from_file)
    for key, (name, cast) in _ENV.items():
        raw = env.get(name) or (env.get(_ENV_FALLBACK[key]) if key in _ENV_FALLBACK else None)
        if raw:
            data[key] = cast(raw)
    if not env.get("CALLCENTER_SIM_ARI_PORT") and env.get("CALLCENTER_PBX_ARI_URL"):
        port = port_of_url(env["CALLCENTER_PBX_ARI_URL"])
        if port:
            data["ari_port"] = port
    override_world = overrides.pop("world", None) or {}
    for key, value in overrides.items():
        if value is not None:
            data[key] = value
    world = DEFAULT_WORLD
    for layer in (base_world, file_world, override_world):
        world = _deep_merge(world, layer)
    world = copy.deepcopy(world)  # nothing shared with DEFAULT_WORLD or the caller
    known = set(SimConfig.__dataclass_fields__)
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"unknown configuration keys: {', '.join(sorted(unknown))}")
    return SimConfig(world=world, **data)
