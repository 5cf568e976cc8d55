"""REST resources over a task's results: `tasks/{id}/numbers`, `tasks/{id}/progress`."""


def register(router) -> None:
    pass
