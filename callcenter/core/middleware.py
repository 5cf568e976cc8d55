from callcenter.core.choices import Channel
from callcenter.core.context import ActionContext, _current, client_ip


class RequestContextMiddleware:
    """Sets the action context (actor, IP, UI or API channel) for the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        channel = Channel.API if request.path.startswith("/api/") else Channel.UI
        user = getattr(request, "user", None)
        actor = user if user is not None and user.is_authenticated else None
        token = _current.set(ActionContext(actor=actor, ip=client_ip(request), channel=channel))
        try:
            return self.get_response(request)
        finally:
            _current.reset(token)
