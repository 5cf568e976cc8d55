"""REST resource `tasks` with its actions."""


def register(router) -> None:
    from callcenter.campaigns import report_api

    report_api.register(router)
