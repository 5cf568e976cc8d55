"""`manage.py pbx_sim` as its own process, and the benchmark function."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from callcenter.pbx.sim.bench import run_bench

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 90.0) -> None:
    """Wait for the simulator's port; a process that died says why (its stderr)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"pbx_sim exited with {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"port {port} never opened")


def test_management_command_serves_ari_and_ami_and_stops_on_sigterm(tmp_path):
    ari_port, ami_port = free_port(), free_port()
    cfg = tmp_path / "sim.json"
    cfg.write_text(json.dumps({"ari_port": ari_port, "ami_port": ami_port, "time_scale": 0.01,
                               "world": {"callees": {"default": {"answer_probability": 1, "busy_probability": 0,
                                                                 "unreachable_probability": 0, "patience": 1000}}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_SIM_")}
    env["CALLCENTER_SIM_CONFIG"] = str(cfg)
    proc = subprocess.Popen([sys.executable, "manage.py", "pbx_sim", "-v", "0"], cwd=ROOT, env=env,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_port(ari_port, proc)
        wait_port(ami_port, proc)
        auth = ("callcenter", "callcenter")
        base = f"http://127.0.0.1:{ari_port}/ari"
        info = httpx.get(base + "/asterisk/info", auth=auth)
        assert info.status_code == 200 and info.json()["system"]["version"] == "22.10.1"
        made = httpx.post(base + "/channels", auth=auth,
                          params={"endpoint": "PJSIP/1@trunk", "app": "callcenter", "channelId": "p1"})
        assert made.status_code == 200
        # No client holds the app: Stasis fails and the channel goes away.
        deadline = time.monotonic() + 5
        while httpx.get(base + "/channels", auth=auth).json() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert httpx.get(base + "/channels", auth=auth).json() == []
        with socket.create_connection(("127.0.0.1", ami_port)) as s:
            assert s.recv(64) == b"Asterisk Call Manager/11.0.0\r\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bench_reports_calls_per_second_and_concurrency():
    result = run_bench(duration=0.5, concurrency=4, step=25, probe_max=50, in_process=True)
    assert result["completed_calls"] > 0 and result["calls_per_second"] > 0
    assert result["max_concurrent"] == 50
    assert result["setup_ms_p95"] >= result["setup_ms_p50"] > 0


def test_bench_runs_the_simulator_as_its_own_process():
    # A functional check of the harness, not a speed test: the setup-time cut-off is lifted
    # so a loaded machine still reaches the probe's 50 calls.
    result = run_bench(duration=0.5, concurrency=4, step=25, probe_max=50, max_setup_s=60)
    assert result["completed_calls"] > 0 and result["max_concurrent"] == 50
    assert result["sim_rss_mb_at_max"] is None or result["sim_rss_mb_at_max"] > 0
