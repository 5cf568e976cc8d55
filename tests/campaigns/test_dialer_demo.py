"""The demo (issue 6, item 11): after `make run` (bootstrap_demo, then call control with the dialer
and the simulated Asterisk from var/pbx-sim.json) a task is running and its calls reach the
simulated agents within a minute."""

from __future__ import annotations

import asyncio
import json

import pytest
from django.core.management import call_command

from callcenter.calls.models import AgentState, Cdr
from callcenter.campaigns.demo import DEMO_NUMBERS, DEMO_TASK
from callcenter.campaigns.models import Attempt, Task
from callcenter.core.models import Enterprise
from callcenter.telephony.models import Trunk
from tests.campaigns.dialer_kit import wait_for


@pytest.fixture
def demo(settings, tmp_path, monkeypatch):
    settings.PBX = {**settings.PBX, "CONFIG_DIR": tmp_path / "asterisk"}
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VAR_DIR = tmp_path
    monkeypatch.setenv("CALLCENTER_ADMIN_PASSWORD", "demo-pass-1")
    call_command("bootstrap_demo")
    return Enterprise.objects.get(code="demo")


@pytest.mark.django_db
def test_bootstrap_leaves_a_running_task_and_ready_agents(demo):
    task = Task.objects.get(enterprise=demo, name=DEMO_TASK)
    assert (task.status, task.submitted, task.numbers_total) == ("running", True, DEMO_NUMBERS)
    assert task.flow.name == "产品推广" and not task.windows.exists()
    ready = AgentState.objects.filter(enterprise=demo, state="idle").values_list("agent__number", flat=True)
    assert {"801", "802", "803"} <= set(ready)
    assert Trunk.objects.get(enterprise=demo).reserved_lines == 10
    call_command("bootstrap_demo")  # a second run adds nothing while the task runs
    assert Task.objects.filter(enterprise=demo).count() == 1
    Task.objects.filter(pk=task.pk).update(status="ended", end_reason="completed")
    call_command("bootstrap_demo")  # ... and starts a new one once it has ended
    assert Task.objects.filter(enterprise=demo, status="running").count() == 1
    assert Task.objects.filter(enterprise=demo).count() == 2


@pytest.mark.django_db(transaction=True)
def test_calls_flow_to_the_simulated_agents_within_a_minute(demo, settings):
    from callcenter.campaigns.dialer.service import Dialer
    from callcenter.pbx.asterisk.ari import AriClient
    from callcenter.pbx.callctl.service import CallControl
    from callcenter.pbx.sim.config import load_config
    from callcenter.pbx.sim.server import SimServer

    scale = 0.5  # the demo runs in real time; half of it keeps the test short
    sim = json.loads((settings.VAR_DIR / "pbx-sim.json").read_text())
    config = load_config(ari_port=0, ami_port=0, time_scale=scale, seed=sim["seed"],
                         config_dir=str(settings.PBX["CONFIG_DIR"]), world=sim["world"] | {"inbound": {}})
    task = Task.objects.get(enterprise=demo, name=DEMO_TASK)

    async def main():
        server = await SimServer(config).start()
        ari = AriClient(server.ari_url, config.ari_user, config.ari_password, "callcenter")
        control = CallControl(ari, time_scale=scale)
        control.dialer = Dialer(control, holder="demo", tick_seconds=0.5)
        run = asyncio.create_task(control.run())
        try:
            connected = await wait_for(lambda: Cdr.objects.filter(task_id=task.pk, agent__isnull=False,
                                                                  answered_at__isnull=False).exists(), 60 * scale)
            return connected, dict(control.dialer.stats)
        finally:
            control.stop()
            await run
            await ari.close()
            await server.stop()

    connected, stats = asyncio.run(main())
    assert connected, stats
    assert Attempt.objects.filter(task=task).count() >= 2
