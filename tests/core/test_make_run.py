"""`make run` serves the web on http://127.0.0.1:8000 (README). honcho hands each Procfile process
its own PORT, counting up from `-p` in the order of the Procfile (web 5000, worker 5100, ... by
default), so the web line must come first and the Makefile must pass the port."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_web_process_is_the_procfiles_first_and_gets_port_8000():
    entries = [line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert entries[0] == "web" and set(entries) == {"web", "worker", "pbx-sim", "callctl"}
    dry = subprocess.run([shutil.which("make"), "-n", "run"], cwd=ROOT, capture_output=True,  # noqa: S603
                         text=True, check=True).stdout
    assert re.search(r"honcho start -f Procfile -p 8000\b", dry), dry
