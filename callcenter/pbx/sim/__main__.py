"""`python -m callcenter.pbx.sim`: the simulated Asterisk without Django."""

from __future__ import annotations

import argparse

from callcenter.pbx.sim.cli import add_arguments, config_from_options, setup_logging
from callcenter.pbx.sim.server import run_forever


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m callcenter.pbx.sim", description=__doc__)
    add_arguments(parser)
    parser.add_argument("-v", "--verbosity", type=int, default=1)
    options = vars(parser.parse_args(argv))
    setup_logging(options.pop("verbosity"))
    run_forever(config_from_options(options))


if __name__ == "__main__":
    main()
