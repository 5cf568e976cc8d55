from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "callcenter.crm"
    label = "crm"
    verbose_name = "客户管理"

    def ready(self) -> None:
        from callcenter.accounts.backends import register_enterprise_app

        register_enterprise_app(self.label)
        from callcenter.crm import related, screens, tasks  # noqa: F401 - registers screens, menu, counters, jobs
        from callcenter.crm.birthdays import birthday_reminders
        from callcenter.notices.services import register_birthday_source

        register_birthday_source(birthday_reminders)
