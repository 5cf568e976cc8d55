"""Nobody but the administrator grants access: roles and data scope are the administrator's to set."""

from __future__ import annotations

from django.contrib.auth.models import Permission

from callcenter.accounts.models import Agent, Role
from callcenter.core.choices import DataScope


def _can_add_agents(ent):
    role = ent["supervisor"].role
    role.permissions.add(Permission.objects.get(codename="add_agent"))


def test_supervisor_cannot_widen_own_scope_in_the_edit_form(ent, as_user):
    sup = ent["supervisor"]
    r = as_user(sup).post(f"/accounts/agents/{sup.pk}/edit/", {
        "name": sup.name, "agent_type": "normal", "login_mode": "callcenter", "caller_id": sup.caller_id_id,
        "data_scope": "all", "role": sup.role_id, "max_locked_customers": 0, "lock_days": 0})
    sup.refresh_from_db()
    assert sup.data_scope == DataScope.SUBORDINATES
    assert r.status_code in (200, 302)


def test_supervisor_cannot_give_a_subordinate_a_role_through_the_api(ent, as_user):
    admin_like = Role.objects.create(enterprise=ent["enterprise"], name="强角色")
    r = as_user(ent["supervisor"]).patch(f"/api/v1/agents/{ent['sub1'].pk}/", {"role": admin_like.pk},
                                         content_type="application/json")
    assert r.status_code == 400 and "role" in r.json()
    assert Agent.objects.get(pk=ent["sub1"].pk).role.name == "坐席"


def test_supervisor_cannot_widen_scope_through_bulk_edit(ent, as_user):
    r = as_user(ent["supervisor"]).post("/accounts/agents/bulk-edit/", {
        "pk": [ent["sub1"].pk], "_apply": "1", "data_scope": "all"})
    assert r.status_code in (200, 302)
    assert Agent.objects.get(pk=ent["sub1"].pk).data_scope == DataScope.OWN


def test_a_non_administrator_cannot_create_agents_with_scope_all(ent, as_user):
    _can_add_agents(ent)
    r = as_user(ent["supervisor"]).post("/api/v1/agents/", {"start": "870"}, content_type="application/json")
    assert r.status_code == 201  # plain agents may be added
    from callcenter.accounts import services

    try:
        services.agents_create_range(enterprise=ent["enterprise"], start="871",
                                     defaults={"data_scope": DataScope.ALL}, actor=ent["supervisor"])
    except services.ServiceError as exc:
        assert "data_scope" in exc.message_dict
    else:
        raise AssertionError("a supervisor created an agent with scope all")
    assert not Agent.objects.filter(number="871").exists()


def test_the_add_form_offers_role_and_scope_only_to_the_administrator(ent, as_user):
    _can_add_agents(ent)
    sup_html = as_user(ent["supervisor"]).get("/accounts/agents/add/").content.decode()
    admin_html = as_user(ent["admin"]).get("/accounts/agents/add/").content.decode()
    assert 'name="data_scope"' not in sup_html and 'name="role"' not in sup_html
    assert 'name="data_scope"' in admin_html and 'name="role"' in admin_html


def test_administrator_sets_scope_and_role(ent, as_user):
    agent = ent["agent"]
    r = as_user(ent["admin"]).patch(f"/api/v1/agents/{agent.pk}/", {"data_scope": "subordinates"},
                                    content_type="application/json")
    assert r.status_code == 200
    assert Agent.objects.get(pk=agent.pk).data_scope == DataScope.SUBORDINATES
