"""The call logic stays pure (DESIGN.md "Call logic is pure"): importing it loads no Django and
no network or database module, so benchmarks can host it in a virtual-time loop."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import callcenter.pbx.callctl.logic as logic

MODULES = ["base", "flow", "ivr", "routing", "groups", "queues", "pacing"]


def test_importing_the_logic_loads_no_django_and_no_io_modules():
    code = (
        "import sys\n"
        + "".join(f"import callcenter.pbx.callctl.logic.{m}\n" for m in MODULES)
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'socket', 'sqlite3', 'asyncio', 'httpx', 'psycopg'})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,  # noqa: S603
                         cwd=Path(logic.__file__).parents[4])
    assert out.stdout.strip() == ""


def test_the_sources_read_no_files_and_no_database():
    for name in MODULES:
        text = (Path(logic.__file__).parent / f"{name}.py").read_text()
        assert " open(" not in text and "objects." not in text and "import django" not in text, name
