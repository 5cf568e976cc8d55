from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "callcenter.campaigns"
    label = "campaigns"
    verbose_name = "任务管理"

    def ready(self) -> None:
        from callcenter.accounts.backends import register_enterprise_app

        register_enterprise_app(self.label)
        from callcenter.campaigns import (  # noqa: F401 - registers the task screens, menu and jobs
            reports,  # noqa: F401 - the result screens (明细, 坐席任务明细) and their menu
            screens,
            tasks,
        )
