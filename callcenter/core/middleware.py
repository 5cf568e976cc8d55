from django.middleware.locale import LocaleMiddleware
from django.utils import translation

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


class ChineseFirstLocaleMiddleware(LocaleMiddleware):
    """The UI is Simplified Chinese unless the user chose English with the switch.

    Django's LocaleMiddleware would follow the browser's Accept-Language, so an English
    browser would land in English; here only the language cookie set by the switch counts.
    """

    def process_request(self, request):
        from django.conf import settings

        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
