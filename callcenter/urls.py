from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.i18n import set_language

from callcenter.core import navigation

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/setlang/", set_language, name="set_language"),
    path("api/", include("callcenter.api_urls")),
    path("accounts/", include("callcenter.accounts.urls")),
    path("telephony/", include("callcenter.telephony.urls")),
    path("pbx/", include("callcenter.pbx.urls")),
    path("calls/", include("callcenter.calls.urls")),
    path("campaigns/", include("callcenter.campaigns.urls")),
    path("crm/", include("callcenter.crm.urls")),
    path("notices/", include("callcenter.notices.urls")),
    path("workspace/", include("callcenter.workspace.urls")),
    path("", include("callcenter.core.urls")),
]

navigation.register("system", _("企业设置"), "accounts:enterprise_settings", "core.change_enterprise_settings",
                    order=10)
