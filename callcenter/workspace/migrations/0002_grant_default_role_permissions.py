"""Give the default roles of enterprises created before the customer and workspace permissions
existed what a new enterprise's roles get (accounts.services.DEFAULT_ROLES).

Only adds: a permission an administrator took away later is not at stake (this runs once), and
running it again changes nothing. Roles are found by their default names in every enterprise.
"""

from django.db import migrations

# A frozen copy of DEFAULT_ROLES' crm and workspace permissions when this migration was written.
GRANTS = {
    "班长": ["crm.view_customer", "crm.add_customer", "crm.change_customer", "crm.lock_customer",
           "crm.transfer_customer", "crm.export_customer", "crm.view_customercategory",
           "workspace.use_workspace", "workspace.view_followup", "workspace.add_followup",
           "workspace.export_followup"],
    "坐席": ["crm.view_customer", "crm.add_customer", "crm.change_customer", "crm.lock_customer",
           "crm.view_customercategory", "workspace.use_workspace", "workspace.view_followup",
           "workspace.add_followup"],
    "普通员工": [],
}


def ensure_permissions(apps) -> None:
    """Permission rows are written by post_migrate, after every migration has run: on a database
    migrated in one go, the crm and workspace ones may not exist yet when this runs."""
    from django.contrib.auth.management import create_permissions

    for label in ("crm", "workspace"):
        app_config = apps.get_app_config(label)
        saved = getattr(app_config, "models_module", None)
        app_config.models_module = saved or True  # create_permissions skips apps without models
        try:
            create_permissions(app_config, apps=apps, verbosity=0)
        finally:
            app_config.models_module = saved


def grant(apps, schema_editor=None) -> int:
    """Add the missing permissions to every enterprise's default roles; returns the roles seen."""
    Role = apps.get_model("accounts", "Role")
    Permission = apps.get_model("auth", "Permission")
    roles = list(Role.objects.filter(name__in=[name for name, perms in GRANTS.items() if perms]))
    if not roles:
        return 0
    ensure_permissions(apps)
    wanted = {tuple(full.split(".", 1)) for perms in GRANTS.values() for full in perms}
    found = {(p.content_type.app_label, p.codename): p
             for p in Permission.objects.filter(content_type__app_label__in={a for a, _c in wanted})
             .select_related("content_type")}
    for role in roles:
        perms = [found[tuple(full.split(".", 1))] for full in GRANTS[role.name] if tuple(full.split(".", 1)) in found]
        role.permissions.add(*perms)  # adding what a role already has is a no-op
    return len(roles)


class Migration(migrations.Migration):

    dependencies = [
        ("workspace", "0001_initial"),
        ("crm", "0002_thirdparty"),
        ("accounts", "0002_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
