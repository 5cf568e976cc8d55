from django.apps import AppConfig


class NoticesConfig(AppConfig):
    name = "callcenter.notices"
    label = "notices"
    verbose_name = "公告与待办"

    def ready(self) -> None:
        from callcenter.accounts.backends import register_enterprise_app
        from callcenter.notices import screens, widgets  # noqa: F401

        register_enterprise_app(self.label)
