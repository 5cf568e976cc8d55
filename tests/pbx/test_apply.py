"""Applying configuration (C11/S2, manual 2.7.2): snapshot, render, atomic swap, AMI reload,
rollback on failure, pending changes, the screen and the API."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import transaction

from callcenter.accounts.models import Agent
from callcenter.pbx import selectors, services
from callcenter.pbx.choices import ApplyStatus
from callcenter.pbx.models import ConfigApply
from callcenter.telephony.models import Queue, QueueMember, Trunk
from tests.conftest import make_agent
from tests.pbx.fakes import FakeAmi

ALL_RELOADS = ["module reload res_pjsip.so", "queue reload all", "dialplan reload",
               "module reload res_musiconhold.so"]


@pytest.fixture
def fake_ami():
    server = FakeAmi().start()
    yield server
    server.stop()


@pytest.fixture
def pbx(settings, tmp_path, fake_ami):
    settings.PBX = {**settings.PBX, "CONFIG_DIR": tmp_path / "asterisk", "AMI_HOST": "127.0.0.1",
                    "AMI_PORT": fake_ami.port, "AMI_USER": fake_ami.username, "AMI_SECRET": fake_ami.secret,
                    "AMI_TIMEOUT": 3, "APP": "callcenter"}
    return {"root": tmp_path / "asterisk", "ami": fake_ami, "settings": settings}


@pytest.fixture
def telephony(ent):
    e = ent["enterprise"]
    local = Trunk.objects.create(enterprise=e, account="acme001", number="02088880001", prefix="9",
                                 server_type="local", server_password="pw1", concurrent_lines=1)
    gateway = Trunk.objects.create(enterprise=e, account="acme002", number="02088880002", server_type="gateway",
                                   server_ip="192.0.2.10", concurrent_lines=30)
    Trunk.objects.create(enterprise=e, account="acme003", number="02088880003", enabled=False)
    queue = Queue.objects.create(enterprise=e, name="售后", extension="600", strategy="rrmemory")
    QueueMember.objects.create(queue=queue, agent=ent["agent"], position=0)
    QueueMember.objects.create(queue=queue, agent=ent["sub1"], position=1, penalty=1)
    return {"local": local, "gateway": gateway, "queue": queue}


def apply(enterprise, user, capture):
    """config_apply as the web calls it: its publishing runs when the transaction commits."""
    with capture(execute=True):
        record = services.config_apply(enterprise=enterprise, user=user)
        assert record.status == ApplyStatus.RUNNING  # nothing is sent before the commit
    record.refresh_from_db()
    return record


def release_text(root: Path, filename: str) -> str:
    return (root / "current" / filename).read_text()


# --- snapshot -----------------------------------------------------------------------------------------------------


def test_snapshot_from_the_database(ent, telephony):
    e = ent["enterprise"]
    make_agent(e, "840", agent_type="disabled")
    ent["agent"].outbound_trunk = "02088880002"
    ent["agent"].save()
    conf = selectors.snapshot(e)
    numbers = [a.number for a in conf.agents]
    assert "840" not in numbers and numbers == sorted(numbers)
    by_number = {a.number: a for a in conf.agents}
    assert by_number["820"].trunk == "02088880002" and by_number["820"].prefix == ""
    assert by_number["800"].trunk == "02088880001" and by_number["800"].prefix == "9"  # first enabled trunk
    assert by_number["830"].kind == "staff" and by_number["830"].trunk == ""  # staff: no outbound
    assert by_number["800"].secret == selectors.sip_secret("acme", "800") != selectors.sip_secret("beta", "800")
    assert [t.number for t in conf.trunks] == ["02088880001", "02088880002"]  # disabled trunk left out
    assert [(m.number, m.penalty) for m in conf.queues[0].members] == [("820", 0), ("811", 1)]


def test_disabled_member_is_left_out_of_the_queue(ent, telephony):
    ent["sub1"].agent_type = "disabled"
    ent["sub1"].save()
    assert [m.number for m in selectors.snapshot(ent["enterprise"]).queues[0].members] == ["820"]


# --- apply --------------------------------------------------------------------------------------------------------


def test_apply_renders_swaps_and_reloads_once(ent, telephony, pbx, django_capture_on_commit_callbacks):
    e = ent["enterprise"]
    assert selectors.pending_changes(e).count == 6 + 2 + 1  # never applied: 6 agents, 2 trunks, 1 queue pending
    record = apply(e, ent["admin"], django_capture_on_commit_callbacks)
    assert record.status == ApplyStatus.OK, record.message
    assert record.finished_at and record.applied_by == ent["admin"] and record.applied_by_label == str(ent["admin"])
    root = pbx["root"]
    current = root / "current"
    assert current.is_symlink() and (root / "releases" / record.summary["release"]) == current.resolve()
    pjsip = release_text(root, "pjsip.conf")
    assert "[acme-820]" in pjsip and "[acme-trunk-02088880002-identify]" in pjsip
    assert "member => PJSIP/acme-820,0,820" in release_text(root, "queues.conf")
    assert "Stasis(callcenter,inbound,acme,${EXTEN},02088880001)" in release_text(root, "extensions.conf")
    assert pbx["ami"].commands == ALL_RELOADS  # each reload once, whatever the number of rows
    changes = record.summary["changes"]
    assert changes["agents"]["added"] == ["800", "810", "811", "812", "820", "830"] and changes["count"] == 9
    assert set(record.summary["files"]) == {"pjsip.conf", "queues.conf", "extensions.conf", "musiconhold.conf"}
    assert all(len(sha) == 64 for sha in record.summary["files"].values())
    assert "pw1" not in str(record.snapshot) and "pw1" not in str(record.summary)
    assert selectors.pending_changes(e).count == 0


def test_second_apply_reloads_only_what_changed(ent, telephony, pbx, django_capture_on_commit_callbacks):
    e = ent["enterprise"]
    apply(e, ent["admin"], django_capture_on_commit_callbacks)
    pbx["ami"].commands.clear()
    record = apply(e, ent["admin"], django_capture_on_commit_callbacks)
    assert record.status == ApplyStatus.OK and pbx["ami"].commands == []
    assert record.summary["changes"]["count"] == 0

    agent = ent["agent"]
    agent.record_calls = False
    agent.save()
    pending = selectors.pending_changes(e)
    assert pending.count == 1 and pending.agents["changed"] == [{"key": "820", "fields": ["record"]}]
    record = apply(e, ent["admin"], django_capture_on_commit_callbacks)
    assert record.status == ApplyStatus.OK
    assert pbx["ami"].commands == ["module reload res_pjsip.so"]
    assert "set_var=CC_RECORD=0" in release_text(pbx["root"], "pjsip.conf").split("[acme-820]")[1].split("\n\n")[0]


def test_ami_unreachable_keeps_the_previous_configuration(ent, telephony, pbx, django_capture_on_commit_callbacks):
    e = ent["enterprise"]
    first = apply(e, ent["admin"], django_capture_on_commit_callbacks)
    root = pbx["root"]
    before_target = (root / "current").resolve()
    before = release_text(root, "pjsip.conf")

    Agent.objects.filter(pk=ent["agent"].pk).update(name="改名")
    pbx["settings"].PBX = {**pbx["settings"].PBX, "AMI_PORT": 1}  # nothing listens there
    record = apply(e, ent["admin"], django_capture_on_commit_callbacks)
    assert record.status == ApplyStatus.FAILED
    assert "PBX" in record.message and record.finished_at
    assert (root / "current").resolve() == before_target
    assert release_text(root, "pjsip.conf") == before
    assert sorted(p.name for p in (root / "releases").iterdir()) == [first.summary["release"]]
    # the failed apply is not the base of the diff: the change is still pending
    assert selectors.last_applied(e) == first
    assert selectors.pending_changes(e).agents["changed"] == [{"key": "820", "fields": ["name"]}]


def test_first_apply_failing_leaves_nothing_active(ent, telephony, pbx, django_capture_on_commit_callbacks):
    pbx["settings"].PBX = {**pbx["settings"].PBX, "AMI_PORT": 1}
    record = apply(ent["enterprise"], ent["admin"], django_capture_on_commit_callbacks)
    assert record.status == ApplyStatus.FAILED and "配置未生效" in record.message
    assert not (pbx["root"] / "current").exists()
    assert list((pbx["root"] / "releases").iterdir()) == []
    assert selectors.last_applied(ent["enterprise"]) is None


def test_failed_reload_swaps_back_and_reloads_the_previous_files(ent, telephony, pbx,
                                                                 django_capture_on_commit_callbacks):
    e = ent["enterprise"]
    apply(e, ent["admin"], django_capture_on_commit_callbacks)
    before_target = (pbx["root"] / "current").resolve()
    Queue.objects.filter(pk=telephony["queue"].pk).update(ring_seconds=30)
    make_agent(e, "850")
    pbx["ami"].commands.clear()
    pbx["ami"].fail["queue reload all"] = "Unable to reload queues.conf"
    record = apply(e, ent["admin"], django_capture_on_commit_callbacks)
    assert record.status == ApplyStatus.FAILED and "Unable to reload" in record.message
    assert (pbx["root"] / "current").resolve() == before_target
    assert "[acme-850]" not in release_text(pbx["root"], "pjsip.conf")
    # pjsip was reloaded, queues failed; then both are loaded again from the previous files
    assert pbx["ami"].commands == ["module reload res_pjsip.so", "queue reload all",
                                   "module reload res_pjsip.so", "queue reload all"]


def test_rollback_sends_nothing(ent, telephony, pbx, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError), transaction.atomic():
        services.config_apply(enterprise=ent["enterprise"], user=ent["admin"])
        raise RuntimeError("boom")
    assert pbx["ami"].commands == [] and not ConfigApply.objects.exists()
    assert not (pbx["root"] / "current").exists()


def test_one_enterprise_never_pushes_anothers_pending_edits(ent, other, telephony, pbx,
                                                            django_capture_on_commit_callbacks):
    acme, beta = ent["enterprise"], other["enterprise"]
    apply(acme, ent["admin"], django_capture_on_commit_callbacks)
    make_agent(acme, "860")  # acme edits but does not apply
    record = apply(beta, other["admin"], django_capture_on_commit_callbacks)
    assert record.status == ApplyStatus.OK
    pjsip = release_text(pbx["root"], "pjsip.conf")
    assert "[beta-801]" in pjsip and "[acme-820]" in pjsip
    assert "[acme-860]" not in pjsip
    assert selectors.pending_changes(acme).agents["added"] == ["860"]
    assert selectors.pending_changes(beta).count == 0


def test_config_dir_defaults_under_var(settings):
    assert Path(settings.PBX["CONFIG_DIR"]).name == "asterisk"
    assert settings.PBX["APP"] == os.environ.get("CALLCENTER_PBX_APP", "callcenter")


# --- the screen ------------------------------------------------------------------------------------------------------


def test_admin_sees_pending_changes_and_applies(ent, telephony, pbx, as_user, django_capture_on_commit_callbacks):
    c = as_user(ent["admin"])
    page = c.get("/pbx/apply/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "有未生效的修改" in html and 'id="btn-apply"' in html and "尚未应用过配置" in html
    home = c.get("/").content.decode()  # every page has the slot htmx fills with the banner
    assert 'data-url="/pbx/pending-banner/"' in home
    assert "有未生效的修改（9 项）" in c.get("/pbx/pending-banner/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/pbx/apply/")
    assert r.status_code == 302 and r.url == "/pbx/apply/"
    html = c.get("/pbx/apply/").content.decode()
    assert "有未生效的修改" not in html and "所有修改均已生效" in html
    assert "pbx-pending-banner" not in c.get("/pbx/pending-banner/").content.decode()
    assert 'data-status="ok"' in html and str(ent["admin"]) in html
    assert ConfigApply.objects.filter(enterprise=ent["enterprise"], status="ok").count() == 1


def test_failed_apply_is_shown(ent, telephony, pbx, as_user, django_capture_on_commit_callbacks):
    pbx["settings"].PBX = {**pbx["settings"].PBX, "AMI_PORT": 1}
    c = as_user(ent["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        c.post("/pbx/apply/")
    html = c.get("/pbx/apply/").content.decode()
    assert 'data-status="failed"' in html and "有未生效的修改" in html


@pytest.mark.parametrize("who", ["agent", "staff", "supervisor"])
def test_other_roles_get_403(ent, pbx, as_user, who):
    c = as_user(ent[who])
    assert c.get("/pbx/apply/").status_code == 403
    assert c.post("/pbx/apply/").status_code == 403
    assert "pbx-pending-slot" not in c.get("/").content.decode()
    assert c.get("/pbx/pending-banner/").status_code == 403
    assert not ConfigApply.objects.exists()


def test_anonymous_is_sent_to_login(db, client):
    r = client.get("/pbx/apply/")
    assert r.status_code == 302 and "/accounts/login/" in r.url


def test_menu_entry(ent, as_user):
    html = as_user(ent["admin"]).get("/").content.decode()
    assert 'data-url-name="pbx:apply"' in html and "坐席配置生效" in html
    assert 'data-url-name="pbx:apply"' not in as_user(ent["agent"]).get("/").content.decode()


# --- the API ----------------------------------------------------------------------------------------------------


def test_api_apply_and_tenancy(ent, other, telephony, pbx, as_user, django_capture_on_commit_callbacks):
    c = as_user(ent["admin"])
    with django_capture_on_commit_callbacks(execute=True):
        r = c.post("/api/v1/config-applies/")
    assert r.status_code == 201, r.content
    assert r.json()["summary"]["changes"]["count"] == 9
    # under the test's transaction the reply is written before the commit publishes; read it again
    body = c.get(f"/api/v1/config-applies/{r.json()['id']}/").json()
    assert body["status"] == "ok" and body["summary"]["reloads"]
    assert body["applied_by"] == str(ent["admin"])
    listing = c.get("/api/v1/config-applies/").json()
    assert [row["id"] for row in listing["results"]] == [body["id"]]
    assert c.get(f"/api/v1/config-applies/{body['id']}/").status_code == 200

    outsider = as_user(other["admin"])
    assert outsider.get("/api/v1/config-applies/").json()["results"] == []
    assert outsider.get(f"/api/v1/config-applies/{body['id']}/").status_code == 404
    assert outsider.get("/pbx/apply/").content.decode().count('data-status="ok"') == 0

    agent = as_user(ent["agent"])
    assert agent.get("/api/v1/config-applies/").status_code == 403
    assert agent.post("/api/v1/config-applies/").status_code == 403
    assert c.delete(f"/api/v1/config-applies/{body['id']}/").status_code == 405
