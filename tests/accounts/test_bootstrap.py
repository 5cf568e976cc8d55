"""`make run`'s first-run setup: the demo enterprise with its call configuration, created once."""

from __future__ import annotations

import json

from django.core.management import call_command

from callcenter.accounts.models import Agent
from callcenter.pbx.choices import ApplyStatus
from callcenter.pbx.models import ConfigApply
from callcenter.telephony.models import AgentGroup, CallFlow, DidRoute, IvrMenu, Prompt, Queue, Schedule, Trunk


def test_bootstrap_demo_creates_everything_once(db, monkeypatch, tmp_path, settings):
    settings.PBX = {**settings.PBX, "CONFIG_DIR": tmp_path / "asterisk"}
    monkeypatch.setenv("CALLCENTER_ADMIN_PASSWORD", "first-pass-1")
    call_command("bootstrap_demo")
    admin = Agent.objects.get(username="demo:800")
    assert admin.check_password("first-pass-1")
    for model in (Prompt, AgentGroup, CallFlow, Trunk, DidRoute, Queue, IvrMenu, Schedule):
        assert model.objects.filter(enterprise=admin.enterprise).exists(), model.__name__
    assert Agent.objects.filter(enterprise=admin.enterprise).count() == 7  # 800 and 801-806
    apply = ConfigApply.objects.get(enterprise=admin.enterprise)
    assert apply.status == ApplyStatus.OK
    current = tmp_path / "asterisk" / "current"
    pjsip = (current / "pjsip.conf").read_text()
    assert "[demo-801]" in pjsip and "demo-trunk-02088880001" in pjsip
    assert "Queue(demo-q600" in (current / "extensions.conf").read_text()
    sim = json.loads((settings.VAR_DIR / "pbx-sim.json").read_text())
    assert sim["world"]["inbound"]["dids"] == ["4008001234"]

    # a second run changes nothing, whatever the environment says now
    monkeypatch.setenv("CALLCENTER_ADMIN_PASSWORD", "second-pass-2")
    call_command("bootstrap_demo")
    admin.refresh_from_db()
    assert admin.check_password("first-pass-1")
    assert ConfigApply.objects.filter(enterprise=admin.enterprise).count() == 1
    assert Prompt.objects.filter(enterprise=admin.enterprise).count() == 2
