from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "callcenter.calls"
    label = "calls"
    verbose_name = "通话"

    def ready(self) -> None:
        from django.utils.translation import gettext_lazy as _

        from callcenter.accounts import related
        from callcenter.accounts.backends import register_enterprise_app
        from callcenter.calls import screens  # noqa: F401 - registers the screens (the export worker needs them)

        register_enterprise_app(self.label)
        # An agent with call records can only be disabled, not deleted (C3).
        related.register(_("通话记录"), _cdr_count)


def _cdr_count(agent) -> int:
    from callcenter.calls.models import Cdr

    return Cdr.objects.filter(enterprise_id=agent.enterprise_id, agent=agent).count()
