"""API resources of this app; `register` adds them to the /api/v1/ router."""


def register(router) -> None:
    """Routes are added here as the app's resources are built."""
