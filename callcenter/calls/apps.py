from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "callcenter.calls"
    label = "calls"
    verbose_name = "通话"

    def ready(self) -> None:
        from callcenter.accounts.backends import register_enterprise_app

        register_enterprise_app(self.label)
