from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "callcenter.accounts"
    label = "accounts"
    verbose_name = "坐席管理"

    def ready(self) -> None:
        from callcenter.accounts import related, screens, widgets  # noqa: F401
