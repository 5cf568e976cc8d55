"""workspace 0002: enterprises created before the customer and workspace permissions existed get
them on their default roles (班长, 坐席; 普通员工 gets none), idempotently; other roles are left alone."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from callcenter.accounts.models import Role
from callcenter.accounts.services import DEFAULT_ROLES

migration = importlib.import_module("callcenter.workspace.migrations.0002_grant_default_role_permissions")
NEW = ("crm", "workspace")


def names(role) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in role.permissions.select_related("content_type")}


def strip_new_permissions(enterprise) -> None:
    """As an enterprise created before the customer and workspace issues: no crm/workspace permissions."""
    for role in Role.objects.filter(enterprise=enterprise):
        role.permissions.remove(*role.permissions.filter(content_type__app_label__in=NEW))


@pytest.mark.django_db
def test_default_roles_get_the_new_permissions_once(ent, other):
    custom = Role.objects.create(enterprise=ent["enterprise"], name="质检员")
    for e in (ent["enterprise"], other["enterprise"]):
        strip_new_permissions(e)
    before = {r.pk: names(r) for r in Role.objects.all()}

    assert migration.grant(apps) == 4  # 班长 and 坐席 of two enterprises
    for role in Role.objects.filter(name__in=DEFAULT_ROLES):
        expected = {p for p in DEFAULT_ROLES[role.name][2] if p.split(".")[0] in NEW}
        assert names(role) == before[role.pk] | expected, role.name
    assert names(Role.objects.get(name="普通员工", enterprise=ent["enterprise"])) == before[
        Role.objects.get(name="普通员工", enterprise=ent["enterprise"]).pk]
    assert names(custom) == set()

    # again: nothing changes, nothing doubles
    after = {r.pk: names(r) for r in Role.objects.all()}
    counts = {r.pk: r.permissions.count() for r in Role.objects.all()}
    migration.grant(apps)
    assert {r.pk: names(r) for r in Role.objects.all()} == after
    assert {r.pk: r.permissions.count() for r in Role.objects.all()} == counts

    # agents of those roles can now use the workspace
    from tests.conftest import client_for

    agent = type(ent["agent"]).objects.get(pk=ent["agent"].pk)
    assert client_for(agent).get("/workspace/").status_code == 200


def test_the_frozen_list_is_what_new_enterprises_get():
    """The migration keeps its own copy (a later change of DEFAULT_ROLES needs its own migration);
    each permission it grants is one a new enterprise's role has too."""
    for name, perms in migration.GRANTS.items():
        assert set(perms) <= set(DEFAULT_ROLES[name][2]), name
    assert migration.GRANTS["坐席"] and migration.GRANTS["班长"]


@pytest.mark.django_db(transaction=True)
def test_runs_through_the_migration_executor_with_permissions_missing(ent):
    """Migrated back to before it and forward again, with the crm/workspace permission rows gone (as
    on a database where post_migrate has not yet created them): the migration makes them."""
    from django.contrib.auth.models import Permission

    strip_new_permissions(ent["enterprise"])
    target = [("workspace", "0001_initial")]
    executor = MigrationExecutor(connection)
    executor.migrate(target)
    Permission.objects.filter(content_type__app_label="workspace").delete()
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("workspace", "0002_grant_default_role_permissions")])
    agent_role = Role.objects.get(enterprise=ent["enterprise"], name="坐席")
    assert {"workspace.use_workspace", "workspace.add_followup", "crm.view_customer"} <= names(agent_role)
