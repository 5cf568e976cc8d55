from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "callcenter.workspace"
    label = "workspace"
    verbose_name = "坐席工作台"

    def ready(self) -> None:
        from callcenter.accounts.backends import register_enterprise_app

        register_enterprise_app(self.label)
        from callcenter.workspace import related, screens  # noqa: F401 - registers screens, menu, related data

        related.register()
        from callcenter.workspace import popconfig

        popconfig.connect()
