from __future__ import annotations

import django_filters as df

from callcenter.core.forms import bootstrapify, confine_choices


class TenantFilterSet(df.FilterSet):
    """Choices of related rows in filters are confined to the user's enterprise."""

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        user = getattr(request, "user", None)
        enterprise = getattr(user, "enterprise", None)
        for f in self.filters.values():
            qs = f.extra.get("queryset")
            if qs is not None and hasattr(qs, "model"):
                names = {x.name for x in qs.model._meta.get_fields()}
                f.extra["queryset"] = qs.filter(enterprise=enterprise) if "enterprise" in names else qs
        self._enterprise = enterprise

    @property
    def form(self):
        form = super().form
        if not getattr(form, "_confined", False):
            confine_choices(form, self._enterprise)
            bootstrapify(form)
            form._confined = True
        return form
