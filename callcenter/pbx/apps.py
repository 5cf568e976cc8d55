from django.apps import AppConfig


class PbxConfig(AppConfig):
    name = "callcenter.pbx"
    label = "pbx"
    verbose_name = "PBX"

    def ready(self) -> None:
        from callcenter.accounts.backends import register_enterprise_app

        register_enterprise_app(self.label)
