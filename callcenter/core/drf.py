"""DRF settings classes (permission, pagination, errors). Kept apart from core/api.py because
DRF imports these while `rest_framework.views` is still loading."""

from __future__ import annotations

from collections import OrderedDict

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions, permissions
from rest_framework.pagination import BasePagination
from rest_framework.response import Response

from callcenter.core.pagination import keyset_page

ACTION_VERBS = {
    "list": "view", "retrieve": "view", "create": "add", "update": "change", "partial_update": "change",
    "destroy": "delete",
}


class ScreenPermission(permissions.BasePermission):
    """The same Django permissions the UI checks: view/add/change/delete per model."""

    def has_permission(self, request, view):
        user = request.user
        if not (user and user.is_authenticated and user.enterprise_id is not None):
            return False
        model = getattr(getattr(view, "queryset", None), "model", None)
        if model is None:
            return True
        verb = getattr(view, "required_verbs", {}).get(view.action) or ACTION_VERBS.get(view.action, "view")
        return user.has_perm(f"{model._meta.app_label}.{verb}_{model._meta.model_name}")


class KeysetApiPagination(BasePagination):
    """`?after=<cursor>` / `?before=<cursor>`; never an OFFSET."""

    page_size = 50

    def paginate_queryset(self, queryset, request, view=None):
        sort = getattr(view, "sort_field", "id")
        descending = getattr(view, "sort_descending", False)
        size = request.query_params.get("page_size", "")
        size = min(int(size), 500) if size.isdigit() and int(size) > 0 else self.page_size
        self.page = keyset_page(queryset, sort_field=sort, descending=descending, page_size=size,
                                after=request.query_params.get("after"), before=request.query_params.get("before"))
        self.request = request
        return self.page.rows

    def _link(self, key, cursor):
        if not cursor:
            return None
        params = self.request.query_params.copy()
        params.pop("after", None)
        params.pop("before", None)
        params[key] = cursor
        return self.request.build_absolute_uri(self.request.path + "?" + params.urlencode())

    def get_paginated_response(self, data):
        return Response(OrderedDict([
            ("next", self._link("after", self.page.next_cursor)),
            ("previous", self._link("before", self.page.previous_cursor)),
            ("results", data),
        ]))

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "properties": {
            "next": {"type": "string", "nullable": True, "format": "uri"},
            "previous": {"type": "string", "nullable": True, "format": "uri"},
            "results": schema}}


def exception_handler(exc, context):
    """Service refusals (Django ValidationError) become 400 with a message per field."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        exc = exceptions.ValidationError(detail)
    from rest_framework.views import exception_handler as drf_exception_handler

    return drf_exception_handler(exc, context)
