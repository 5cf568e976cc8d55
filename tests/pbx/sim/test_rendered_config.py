"""The simulator runs the configuration our renderer writes (tests/pbx/golden/*.conf):
trunks and phones from pjsip.conf, inbound contexts and queues from extensions.conf and
queues.conf."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.pbx.sim.simkit import Ami, Ari, async_test, running_sim, until, world

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@pytest.fixture
def config_dir(tmp_path):
    assert (GOLDEN / "pjsip.conf").is_file(), "the renderer's golden files are missing (tests/pbx/golden)"
    release = tmp_path / "releases" / "r1"
    release.mkdir(parents=True)
    for name in ("pjsip.conf", "queues.conf", "extensions.conf"):
        shutil.copy(GOLDEN / name, release / name)
    (tmp_path / "current").symlink_to(Path("releases") / "r1")
    return str(tmp_path)


@async_test
async def test_inbound_call_uses_the_trunk_context(config_dir):
    async with running_sim(world(auto_endpoints=False), config_dir=config_dir) as sim, Ari(sim) as ari:
        trunk = sim.pbx.trunks["acme-trunk-02088880001"]
        assert trunk.lines == 1  # device_state_busy_at
        assert "acme-801" in sim.pbx.phones and "acme-trunk-02088880002" in sim.pbx.trunks
        events = await ari.events()
        chan = sim.pbx.inbound_call("02088880001", "13800001111", trunk="acme-trunk-02088880001")
        start = await events.wait_for("StasisStart")
        assert start["args"] == ["inbound", "acme", "02088880001", "02088880001"]
        assert start["channel"]["dialplan"]["context"] == "acme-in-02088880001"
        assert sim.pbx.lookup(chan, "CC_ENTERPRISE") == "acme"  # set_var= of the endpoint
        # One line: a second call on that trunk is refused.
        assert sim.pbx.inbound_call("02088880001", trunk="acme-trunk-02088880001") is None
        # Call control sends the caller to a queue; app_queue rings the members.
        ami = await Ami.connect(sim.ami_port, events="agent")
        await ari.post(f"/channels/{chan.id}/answer")
        assert (await ari.post(f"/channels/{chan.id}/continue", context="acme-queues", extension="600"))[0] == 204
        called = await ami.wait_event("AgentCalled")
        assert dict(called)["Queue"] == "acme-q600"
        connect = await ami.wait_event("AgentConnect")
        assert dict(connect)["Interface"] in ("PJSIP/acme-801", "PJSIP/acme-800")
        await ari.delete(f"/channels/{chan.id}")
        await ami.wait_event("AgentComplete")
        await until(lambda: not sim.pbx.channels)


@async_test
async def test_agent_dials_out_through_the_rendered_outbound_context(config_dir):
    cfg = world(auto_endpoints=False)
    async with running_sim(cfg, config_dir=config_dir) as sim, Ari(sim) as ari:
        async with ari.session.post(ari.base + "/sim/phones/acme-801/dial", json={"number": "13912345678"}) as resp:
            assert resp.status == 200
            agent_leg = (await resp.json())["channel"]
        assert agent_leg["dialplan"]["context"] == "acme-agents"
        await until(lambda: any(c.trunk is not None for c in sim.pbx.channels.values()))
        out = next(c for c in sim.pbx.channels.values() if c.trunk is not None)
        assert out.trunk.name == "acme-trunk-02088880002"
        assert out.dialstring == "13912345678@acme-trunk-02088880002"  # CC_OUT_PREFIX is empty for 801
        assert out.caller_num == "02088881234"  # CC_OUT_CALLERID through ExecIf(Set(CALLERID(num)=...))
        await until(lambda: sim.pbx.channels[agent_leg["id"]].state == "Up", timeout=5)
        await ari.delete(f"/channels/{agent_leg['id']}")
        await until(lambda: not sim.pbx.channels)
