"""Configuration, the .conf readers and the small dialplan."""

from __future__ import annotations

import json

import pytest

from callcenter.pbx.sim.config import load_config
from callcenter.pbx.sim.confparse import parse_conf
from callcenter.pbx.sim.dialplan import Dialplan, split_args, substitute
from callcenter.pbx.sim.parties import callee_profile, plan_callee, sample
from tests.pbx.sim.simkit import Ari, async_test, running_sim, world


def test_defaults_file_env_and_overrides(tmp_path):
    cfg = load_config(env={})
    assert (cfg.host, cfg.ari_port, cfg.ami_port, cfg.time_scale) == ("127.0.0.1", 8088, 5038, 1.0)
    assert cfg.world["callees"]["default"]["answer_probability"] == 0.7
    path = tmp_path / "sim.json"
    file_world = {"callees": {"default": {"busy_probability": 0.5}}, "trunks": {"t1": {"lines": 3}}}
    path.write_text(json.dumps({"ari_port": 9000, "seed": 5, "world": file_world}))
    env = {"CALLCENTER_SIM_CONFIG": str(path), "CALLCENTER_SIM_AMI_PORT": "6000", "CALLCENTER_PBX_ARI_PASSWORD": "pw",
           "CALLCENTER_PBX_CONFIG_DIR": str(tmp_path), "CALLCENTER_PBX_APP": "cc2"}
    cfg = load_config(env=env, seed=9, host=None)
    assert (cfg.ari_port, cfg.ami_port, cfg.seed, cfg.ari_password, cfg.config_dir) == (9000, 6000, 9, "pw",
                                                                                         str(tmp_path))
    assert cfg.app == "cc2"
    # The adapter's variables configure the simulator too, below the sim's own.
    cfg = load_config(env={"CALLCENTER_PBX_ARI_URL": "http://127.0.0.1:8123", "CALLCENTER_PBX_AMI_PORT": "5123"})
    assert (cfg.ari_port, cfg.ami_port) == (8123, 5123)
    cfg = load_config(env={"CALLCENTER_PBX_ARI_URL": "http://127.0.0.1:8123"}, defaults={"ari_port": 1, "seed": 3},
                      ari_port=9)
    assert (cfg.ari_port, cfg.seed) == (9, 3)
    cfg = load_config(env=env, seed=9, host=None)
    # World keys merge one by one into the defaults.
    assert cfg.world["callees"]["default"]["busy_probability"] == 0.5
    assert cfg.world["callees"]["default"]["answer_probability"] == 0.7
    assert cfg.world["trunks"] == {"t1": {"lines": 3}}
    cfg.world["callees"]["numbers"]["1"] = {}
    assert load_config(env={}).world["callees"]["numbers"] == {}  # no shared state
    yaml_path = tmp_path / "sim.yaml"
    yaml_path.write_text("ami_port: 7000\nworld:\n  phones:\n    '1001': {mode: manual}\n")
    assert load_config(yaml_path, env={}).world["phones"] == {"1001": {"mode": "manual"}}
    path.write_text(json.dumps({"bogus": 1}))
    with pytest.raises(ValueError, match="bogus"):
        load_config(path, env={})


def test_conf_reader():
    sections = parse_conf("[general]\nfoo=1 ; comment\n[tpl](!)\nstrategy=linear\n[q1](tpl)\n"
                          "member => PJSIP/1001,0,Agent A\nmember=>PJSIP/1002\nnote = a\\;b\n")
    assert [s.name for s in sections] == ["general", "q1"]
    q1 = sections[1]
    assert q1.get("strategy") == "linear"
    assert q1.getall("member") == ["PJSIP/1001,0,Agent A", "PJSIP/1002"]
    assert q1.get("note") == "a;b"


def test_dialplan_patterns_priorities_and_labels():
    plan = Dialplan()
    plan.load("[in]\ninclude => common\nexten => 100,1,NoOp()\n same => n(next),Answer()\n same => n,Hangup()\n"
              "exten => _1XX,1,Wait(1)\n[common]\nexten => _Z.,1,Stasis(callcenter,${EXTEN})\n"
              "exten => _[a-c]!,1,NoOp(letters)\n")
    assert plan.step("in", "100", 2).app == "Answer"
    assert plan.find_label("in", "100", "next") == 2
    assert plan.step("in", "123", 1).app == "Wait"
    assert plan.step("in", "555", 1).app == "Stasis"  # through the include
    assert plan.step("in", "b", 1).data == "letters"
    assert plan.step("in", "0", 1) is None
    assert plan.step("nowhere", "1", 1) is None
    look = {"EXTEN": "555", "CALLERID(num)": "139", "X": "abcdef"}.get
    assert substitute("callcenter,${EXTEN},${CALLERID(num)},${X:1:3}", lambda k: look(k) or "") == \
        "callcenter,555,139,bcd"
    assert split_args('a,"b,c",F(x,y)') == ["a", '"b,c"', "F(x,y)"]


def test_callee_profiles_and_plans():
    w = load_config(env={}, world={"callees": {"prefixes": {"139": {"busy_probability": 1.0}},
                                               "numbers": {"1391": {"answer_probability": 1.0,
                                                                    "busy_probability": 0.0}},
                                               "unreachable": ["000"]}}).world
    import random

    rng = random.Random(1)
    assert plan_callee(callee_profile(w, "1390"), rng).outcome == "busy"
    assert plan_callee(callee_profile(w, "1391"), rng).outcome in ("answer", "unreachable")
    assert plan_callee(callee_profile(w, "000"), rng).outcome == "unreachable"
    assert sample([1, 1], rng) == 1.0 and sample(3, rng) == 3.0
    assert 0 <= sample({"exp": 2, "max": 5}, rng) <= 5
    outcomes = {plan_callee(callee_profile(w, "1"), random.Random(i)).outcome for i in range(200)}
    assert outcomes == {"answer", "busy", "noanswer", "unreachable"}


@async_test
async def test_endpoints_from_rendered_pjsip_conf(tmp_path):
    (tmp_path / "current").mkdir()
    (tmp_path / "current" / "pjsip.conf").write_text(
        "[2001]\ntype=endpoint\ncontext=agents\n[carrier]\ntype=endpoint\noutbound_auth=carrier-auth\n"
        "[carrier-reg]\ntype=registration\noutbound_auth=carrier-auth\n")
    cfg = world(auto_endpoints=False, default_trunk_lines=1)
    async with running_sim(cfg, config_dir=str(tmp_path)) as sim, Ari(sim) as ari:
        assert sim.pbx.phones["2001"].mode == "auto"
        assert sim.pbx.trunks["carrier"].lines == 1
        events = await ari.events()
        await ari.originate("PJSIP/2001", channelId="a")
        await ari.originate("PJSIP/138@carrier", channelId="b")
        await events.wait_for("StasisStart", lambda e: e["channel"]["id"] == "a")
        await events.wait_for("StasisStart", lambda e: e["channel"]["id"] == "b")
        assert (await ari.post("/channels", endpoint="PJSIP/3001", app="callcenter"))[0] == 500
        status, endpoints, _ = await ari.get("/endpoints")
        assert {e["resource"] for e in endpoints} == {"2001", "carrier"}
