"""The default roles of existing enterprises get what new enterprises get (accounts
DEFAULT_ROLES): 班长 the agent monitor and quality inspection, 坐席 the reviews of their own calls."""

from django.db import migrations

GRANTS = {
    "班长": ["view_agentstate", "view_qualityreview", "add_qualityreview", "change_qualityreview",
           "export_qualityreview"],
    "坐席": ["view_qualityreview"],
}


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions of a model are created after `migrate` finishes; this migration needs them now.
    config = apps.get_app_config("calls")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    Role = apps.get_model("accounts", "Role")
    for name, codenames in GRANTS.items():
        perms = list(Permission.objects.filter(content_type__app_label="calls", codename__in=codenames))
        for role in Role.objects.filter(name=name):
            role.permissions.add(*perms)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Role = apps.get_model("accounts", "Role")
    for name, codenames in GRANTS.items():
        perms = list(Permission.objects.filter(content_type__app_label="calls", codename__in=codenames))
        for role in Role.objects.filter(name=name):
            role.permissions.remove(*perms)


class Migration(migrations.Migration):

    dependencies = [
        ("calls", "0002_qualityreview"),
        ("accounts", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
