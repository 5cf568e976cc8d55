"""The simulated Asterisk (DESIGN.md "The PBX, real or simulated").

A separate process (`python manage.py pbx_sim`, or `python -m callcenter.pbx.sim`) that
serves the subset of ARI (HTTP + WebSocket events) and AMI (TCP) our adapter in
`pbx/asterisk/` speaks, with the shapes and event order of a real Asterisk 22
(`shared/PBX-PROTOCOL.md`, `shared/asterisk-traces/`), backed by a seeded discrete-event
world running in real time scaled by `time_scale`: callees, trunks with line limits,
agent phones, app_queue queues and inbound traffic.

Its core needs neither Django nor a database: it reads a JSON/YAML file and the
environment (`config.py`) and, when given a config directory, the rendered
`queues.conf`, `pjsip.conf` and `extensions.conf`.
"""

from callcenter.pbx.sim.config import SimConfig, load_config
from callcenter.pbx.sim.server import SimServer, run_forever

__all__ = ["SimConfig", "SimServer", "load_config", "run_forever"]
