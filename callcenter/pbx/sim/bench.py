"""How much call traffic one simulated Asterisk carries on one core.

    from callcenter.pbx.sim.bench import run_bench
    run_bench(duration=10)  # {"calls_per_second": ..., "max_concurrent": ..., ...}

The simulator runs as its own process pinned to one core (`sched_setaffinity`); this
process drives it over real ARI (HTTP + WebSocket), the way call control does:
originate -> StasisStart (answered at once) -> DELETE -> ChannelDestroyed, by
`concurrency` workers for `duration` seconds. Then it holds calls open in steps of
`step` until setting up a step takes longer than `max_setup_s` (p95) or `probe_max`
calls are up: that count is `max_concurrent`. Recordings are not used.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_WORLD = {
    "auto_endpoints": True,
    "default_trunk_lines": 1_000_000,
    "callees": {"default": {"answer_probability": 1.0, "busy_probability": 0.0, "unreachable_probability": 0.0,
                            "reject_probability": 0.0, "progress_delay": 0.0, "ring_time": 0.0,
                            "talk_time": 1e9, "patience": 1e9, "dtmf": ""}},
}
APP = "bench"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


class _Driver:
    def __init__(self, base: str, user: str, password: str):
        import aiohttp

        self.base = base
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self.session = aiohttp.ClientSession(headers={"Authorization": f"Basic {token}"},
                                             connector=aiohttp.TCPConnector(limit=0))
        self.started: dict[str, asyncio.Future] = {}
        self.destroyed: dict[str, asyncio.Future] = {}
        self.ws = None
        self.reader: asyncio.Task | None = None

    async def connect(self) -> None:
        self.ws = await self.session.ws_connect(f"{self.base}/ari/events?app={APP}", max_msg_size=0)
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            event = json.loads(msg.data)
            typ = event.get("type")
            if typ == "StasisStart":
                fut = self.started.pop(event["channel"]["id"], None)
            elif typ == "ChannelDestroyed":
                fut = self.destroyed.pop(event["channel"]["id"], None)
            else:
                continue
            if fut is not None and not fut.done():
                fut.set_result(time.perf_counter())

    async def originate(self, number: str, cid: str) -> tuple[asyncio.Future, asyncio.Future]:
        loop = asyncio.get_running_loop()
        started = self.started[cid] = loop.create_future()
        destroyed = self.destroyed[cid] = loop.create_future()
        async with self.session.post(f"{self.base}/ari/channels",
                                     params={"endpoint": f"PJSIP/{number}@bench", "app": APP,
                                             "channelId": cid, "timeout": "-1"}) as resp:
            if resp.status != 200:
                raise RuntimeError(f"originate: {resp.status} {await resp.text()}")
            await resp.read()
        return started, destroyed

    async def hangup(self, cid: str) -> None:
        async with self.session.delete(f"{self.base}/ari/channels/{cid}") as resp:
            await resp.read()

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader
        await self.session.close()


async def _drive(base: str, user: str, password: str, duration: float, concurrency: int, step: int,
                 probe_max: int, max_setup_s: float, pid: int | None) -> dict[str, Any]:
    driver = _Driver(base, user, password)
    await driver.connect()
    seq = iter(range(10**9))
    setups: list[float] = []
    done = 0
    deadline = time.perf_counter() + duration

    async def worker(w: int) -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            cid = f"b{w}-{next(seq)}"
            t0 = time.perf_counter()
            started_fut, gone = await driver.originate(f"1380000{w:04d}", cid)
            started = await asyncio.wait_for(started_fut, 30)
            setups.append(started - t0)
            await driver.hangup(cid)
            await asyncio.wait_for(gone, 30)
            done += 1

    t_start = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(concurrency)))
    elapsed = time.perf_counter() - t_start
    result: dict[str, Any] = {
        "calls_per_second": round(done / elapsed, 1) if elapsed else 0.0,
        "completed_calls": done,
        "concurrency": concurrency,
        "setup_ms_p50": round(statistics.median(setups) * 1000, 2) if setups else None,
        "setup_ms_p95": round(_p95(setups) * 1000, 2) if setups else None,
    }

    # Ramp up calls that stay up.
    held: list[str] = []
    max_up = 0
    step_p95 = 0.0
    while len(held) < probe_max:
        batch = [f"h{next(seq)}" for _ in range(min(step, probe_max - len(held)))]
        t0 = time.perf_counter()
        futs = await asyncio.gather(*(driver.originate(f"1390000{i % 10000:04d}", cid)
                                      for i, cid in enumerate(batch)))
        try:
            times = await asyncio.wait_for(asyncio.gather(*(f[0] for f in futs)), 60)
        except TimeoutError:
            break
        step_p95 = _p95([t - t0 for t in times])
        held.extend(batch)
        if step_p95 > max_setup_s:
            break
        max_up = len(held)
    result["max_concurrent"] = max_up
    result["held_at_stop"] = len(held)
    result["last_step_setup_p95_ms"] = round(step_p95 * 1000, 1)
    if pid is not None:
        result["sim_rss_mb_at_max"] = _rss_mb(pid)
    for i in range(0, len(held), 200):
        await asyncio.gather(*(driver.hangup(c) for c in held[i:i + 200]))
    await driver.close()
    return result


def _p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def _wait_port(port: int, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the simulator did not open port {port}")


def run_bench(duration: float = 10.0, *, concurrency: int = 50, step: int = 250, probe_max: int = 5000,
              max_setup_s: float = 1.0, in_process: bool = False, core: int = 0) -> dict[str, Any]:
    """Sustained originate->answer->hangup calls/s and the max concurrent calls, on one core."""
    user = password = "bench"  # noqa: S105 - a throwaway simulator
    if in_process:
        return asyncio.run(_in_process(duration, concurrency, step, probe_max, max_setup_s))
    ari_port, ami_port = _free_port(), _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "bench.json"
        cfg.write_text(json.dumps({"ari_port": ari_port, "ami_port": ami_port, "ari_user": user,
                                   "ari_password": password, "time_scale": 1.0, "world": BENCH_WORLD}))
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[3]))
        env.pop("CALLCENTER_PBX_CONFIG_DIR", None)
        cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else {0}
        sim_core = core if core in cores else min(cores)

        def pin() -> None:
            if hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, {sim_core})

        proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "callcenter.pbx.sim", "--config", str(cfg), "-v", "0"],
            env=env, preexec_fn=pin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: PLW1509
        try:
            _wait_port(ari_port)
            others = set(cores) - {sim_core}
            if others and hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, others)
            result = asyncio.run(_drive(f"http://127.0.0.1:{ari_port}", user, password, duration, concurrency,
                                        step, probe_max, max_setup_s, proc.pid))
            result["sim_core"] = sim_core
            return result
        finally:
            if hasattr(os, "sched_setaffinity"):
                os.sched_setaffinity(0, cores)
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _in_process(duration: float, concurrency: int, step: int, probe_max: int,
                      max_setup_s: float) -> dict[str, Any]:
    from callcenter.pbx.sim.config import load_config
    from callcenter.pbx.sim.server import SimServer

    config = load_config(env={}, ari_port=0, ami_port=0, ari_user="bench", ari_password="bench",  # noqa: S106
                         time_scale=1.0, world=BENCH_WORLD)
    server = await SimServer(config).start()
    try:
        return await _drive(server.ari_url, "bench", "bench", duration, concurrency, step, probe_max,
                            max_setup_s, None)
    finally:
        await server.stop()


if __name__ == "__main__":
    print(json.dumps(run_bench(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0), indent=2))
