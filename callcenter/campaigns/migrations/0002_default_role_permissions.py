"""Existing enterprises' default roles get the task permissions new enterprises get from
accounts.services.DEFAULT_ROLES: 班长 all of the task screens, 坐席 viewing."""

from django.db import migrations

SUPERVISOR = ["view_task", "add_task", "change_task", "send_task", "control_task", "view_tasknumber",
              "export_tasknumber"]
AGENT = ["view_task", "view_tasknumber"]
GRANTS = {"班长": SUPERVISOR, "坐席": AGENT}


def _permissions(apps, codenames):
    from django.contrib.auth.management import create_permissions

    # Permissions are created after the last migration; this one needs them now.
    config = apps.get_app_config("campaigns")
    previous = getattr(config, "models_module", None)
    config.models_module = previous or True  # a historical app config has none
    try:
        create_permissions(config, apps=apps, verbosity=0)
    finally:
        config.models_module = previous
    Permission = apps.get_model("auth", "Permission")
    return list(Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames))


def grant(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, codenames in GRANTS.items():
        perms = _permissions(apps, codenames)
        for role in Role.objects.filter(name=name):
            role.permissions.add(*perms)


def revoke(apps, schema_editor):
    Role = apps.get_model("accounts", "Role")
    for name, codenames in GRANTS.items():
        perms = _permissions(apps, codenames)
        for role in Role.objects.filter(name=name):
            role.permissions.remove(*perms)


class Migration(migrations.Migration):

    dependencies = [
        ("campaigns", "0001_initial"),
        ("accounts", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
