"""Command-line options shared by `manage.py pbx_sim` and `python -m callcenter.pbx.sim`."""

from __future__ import annotations

import argparse
import logging

from callcenter.pbx.sim.config import SimConfig, load_config


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="JSON or YAML file (default: $CALLCENTER_SIM_CONFIG)")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--ari-port", type=int, help="ARI HTTP/WebSocket port (default 8088)")
    parser.add_argument("--ami-port", type=int, help="AMI TCP port (default 5038)")
    parser.add_argument("--seed", type=int, help="seed of the simulated world")
    parser.add_argument("--time-scale", type=float, help="real seconds per simulated second (default 1)")
    parser.add_argument("--config-dir", help="rendered PBX configuration ($CALLCENTER_PBX_CONFIG_DIR)")


def config_from_options(options: dict, *, defaults: dict | None = None) -> SimConfig:
    return load_config(
        options.get("config"),
        defaults=defaults,
        host=options.get("host"),
        ari_port=options.get("ari_port"),
        ami_port=options.get("ami_port"),
        seed=options.get("seed"),
        time_scale=options.get("time_scale"),
        config_dir=options.get("config_dir") or None,
    )


def setup_logging(verbosity: int = 1) -> None:
    """The simulator's own log lines on stderr, whatever Django's LOGGING says."""
    level = logging.DEBUG if verbosity >= 2 else logging.INFO if verbosity >= 1 else logging.WARNING
    logger = logging.getLogger("callcenter.pbx.sim")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s pbx-sim %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.propagate = False
