"""Config renderers (C11/S2): golden files, tenancy prefixes, and the snapshot built from the database.

Regenerate the golden files after an intended change with
``UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/pbx/test_render.py`` and review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from callcenter.pbx.asterisk import render
from callcenter.pbx.asterisk.snapshot import EnterpriseConf, diff
from tests.pbx.samples import ACME, BETA

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def assembled(filename: str) -> str:
    parts = {e.code: render.render_enterprise(e, app="callcenter")[filename] for e in (ACME, BETA)}
    return render.assemble(filename, parts)


@pytest.mark.parametrize("filename", render.FILES)
def test_golden(filename):
    text = assembled(filename)
    golden = GOLDEN / filename
    if UPDATE:
        golden.write_text(text)
    assert golden.exists(), f"missing {golden}; run with UPDATE_GOLDEN=1"
    assert text == golden.read_text()


def test_render_is_pure_and_deterministic():
    assert render.render_enterprise(ACME, app="callcenter") == render.render_enterprise(ACME, app="callcenter")


def test_every_name_carries_the_enterprise_code():
    pjsip = render.render_pjsip(BETA)
    sections = [line for line in pjsip.splitlines() if line.startswith("[")]
    assert sections and all(s.startswith("[beta-") for s in sections)
    ext = render.render_extensions(BETA, app="callcenter")
    assert all(s.startswith("[beta-") for s in ext.splitlines() if s.startswith("["))


def test_staff_have_no_outbound_pattern():
    ext = render.render_extensions(ACME, app="callcenter")
    staff = ext.split("[acme-staff]")[1].split("\n\n")[0]
    assert "include => acme-internal" in staff
    assert "acme-outbound" not in staff and "Dial(" not in staff
    agents = ext.split("[acme-agents]")[1].split("\n\n")[0]
    assert "include => acme-outbound" in agents
    pjsip = render.render_pjsip(ACME)
    staff_endpoint = pjsip.split("[acme-830]")[1]
    assert "context=acme-staff" in staff_endpoint.split("\n\n")[0]
    assert "CC_OUT_TRUNK" not in staff_endpoint.split("\n\n")[0]


def test_outbound_uses_the_agents_trunk_and_prefix():
    pjsip = render.render_pjsip(ACME)
    admin = pjsip.split("[acme-800]")[1].split("\n\n")[0]
    assert "set_var=CC_OUT_TRUNK=acme-trunk-02088880001" in admin
    assert "set_var=CC_OUT_PREFIX=9" in admin
    ext = render.render_extensions(ACME, app="callcenter")
    assert "Dial(PJSIP/${CC_OUT_PREFIX}${EXTEN}@${CC_OUT_TRUNK},60)" in ext


def test_inbound_and_internal_calls_enter_stasis_with_what_they_are():
    ext = render.render_extensions(ACME, app="cc")
    assert "exten => _X.,1,Stasis(cc,inbound,acme,${EXTEN},02088880001)" in ext
    assert "exten => 801,1,Stasis(cc,internal,acme,801)" in ext
    entry = render.parse_stasis_args(["inbound", "acme", "4008001234", "02088880001"])
    assert (entry.kind, entry.enterprise, entry.target, entry.trunk) == ("inbound", "acme", "4008001234",
                                                                         "02088880001")
    assert render.parse_stasis_args(["internal", "acme", "600"]).target == "600"
    assert render.parse_stasis_args(["originated", "A"]).kind == "other"


def test_trunk_kinds():
    pjsip = render.render_pjsip(ACME)
    assert "[acme001]\ntype=aor\nmax_contacts=1" in pjsip  # local server: the port registers as its account
    assert "username=acme001\npassword=port\\;pw" in pjsip  # ';' would start a comment
    assert "contact=sip:192.0.2.10" in pjsip and "match=192.0.2.10" in pjsip


def test_queue_options_and_members():
    queues = render.render_queues(ACME)
    q600 = queues.split("[acme-q600]")[1].split("\n\n")[0]
    for line in ("strategy=rrmemory", "timeout=15", "retry=5", "periodic-announce-frequency=30",
                 "musicclass=acme-hold-music", "member => PJSIP/acme-801,0,801", "member => PJSIP/acme-800,2,800"):
        assert line in q600
    assert q600.index("acme-801") < q600.index("acme-800")  # members keep their order
    assert "Queue(acme-q601,r,,,60)" in render.render_extensions(ACME, app="callcenter")


def test_values_cannot_break_lines():
    pjsip = render.render_pjsip(ACME)
    assert 'callerid="Zhang Z x" <801>' in pjsip


def test_snapshot_round_trip_and_masking():
    data = ACME.to_dict(mask_secrets=False)
    assert EnterpriseConf.from_dict(data) == ACME
    masked = ACME.to_dict()
    assert all(a["secret"].startswith("sha256:") for a in masked["agents"])
    assert "port;pw" not in str(masked)


def test_diff():
    old = ACME.to_dict()
    assert diff(old, old).count == 0
    assert diff(None, old).agents["added"] == ["800", "801", "830"]
    new = EnterpriseConf(code="acme", agents=ACME.agents[:2], trunks=ACME.trunks, queues=ACME.queues[1:]).to_dict()
    new["agents"][0]["record"] = True
    changes = diff(old, new)
    assert changes.agents["removed"] == ["830"]
    assert changes.agents["changed"] == [{"key": "800", "fields": ["record"]}]
    assert changes.queues["removed"] == ["600"]
    assert changes.count == 3


def test_announcing_queue_reaches_members_through_call_control():
    """C8 接通前播工号: members are Local channels into Stasis (state interface: the phone), and
    the caller's channel id reaches them as an inherited variable set before Queue()."""
    queues = render.render_queues(ACME)
    q602 = queues.split("[acme-q602]")[1].split("\n\n")[0]
    assert "member => Local/801@acme-qagent-602/n,0,801,PJSIP/acme-801" in q602
    assert "member => Local/800@acme-qagent-602/n,1,800,PJSIP/acme-800" in q602
    assert "ringinuse=no" in q602
    assert "Local/" not in queues.split("[acme-q600]")[1].split("\n\n")[0]  # other queues ring phones directly
    ext = render.render_extensions(ACME, app="cc")
    assert "exten => 602,1,Set(__CC_CALL=${UNIQUEID})\n same => n,Queue(acme-q602,r,,,90)" in ext
    assert "exten => 600,1,Queue(acme-q600,,,,120)" in ext
    context = ext.split("[acme-qagent-602]")[1].split("\n\n")[0]
    assert "exten => 801,1,Stasis(cc,qagent,acme,602,${EXTEN},${CC_CALL})" in context
    assert "exten => 800,1,Stasis(cc,qagent,acme,602,${EXTEN},${CC_CALL})" in context
    entry = render.parse_stasis_args(["qagent", "acme", "602", "801", "1795.42"])
    assert (entry.kind, entry.enterprise, entry.queue, entry.target, entry.call) == ("qagent", "acme", "602", "801",
                                                                                    "1795.42")


def test_announcing_queue_with_overflow_sets_the_variable_first():
    from dataclasses import replace

    queue = replace(ACME.queues[2], overflow_to_mobile=True)
    ext = render.render_extensions(replace(ACME, queues=(queue,)), app="cc")
    assert ("exten => 602,1,Set(__CC_CALL=${UNIQUEID})\n same => n,Queue(acme-q602,r,,,24)\n"
            ' same => n,GotoIf($["${QUEUESTATUS}" = "TIMEOUT"]?overflow)') in ext
    assert " same => n(overflow),Stasis(cc,overflow,acme,602)" in ext


def test_turning_announcing_on_is_a_pending_change():
    from dataclasses import replace

    old = ACME.to_dict()
    new = replace(ACME, queues=(replace(ACME.queues[0], announce_agent_number=True), *ACME.queues[1:])).to_dict()
    assert diff(old, new).queues["changed"] == [{"key": "600", "fields": ["announce_agent_number"]}]


def test_a_snapshot_stored_before_a_field_existed_is_not_a_change():
    old = ACME.to_dict()
    for row in old["queues"]:
        del row["announce_agent_number"]
    changes = diff(old, ACME.to_dict())
    assert changes.queues["changed"] == [{"key": "602", "fields": ["announce_agent_number"]}]  # on: a change
    assert changes.count == 1  # off (the default) for 600 and 601: no change
