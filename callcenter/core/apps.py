from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "callcenter.core"
    label = "core"
    verbose_name = "核心"
