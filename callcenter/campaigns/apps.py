from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "callcenter.campaigns"
    label = "campaigns"
    verbose_name = "任务管理"

    def ready(self) -> None:
        from callcenter.accounts.backends import register_enterprise_app

        register_enterprise_app(self.label)
