from django.apps import AppConfig


class TelephonyConfig(AppConfig):
    name = "callcenter.telephony"
    label = "telephony"
    verbose_name = "呼叫配置"

    def ready(self) -> None:
        from callcenter.accounts.backends import register_enterprise_app

        register_enterprise_app(self.label)
        from callcenter.telephony import screens  # noqa: F401 - registers the screens and their menu entries
