"""REST API under /api/v1/, OpenAPI at /api/schema/, docs at /api/docs/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from callcenter.accounts import api as accounts_api
from callcenter.calls import api as calls_api
from callcenter.campaigns import api as campaigns_api
from callcenter.crm import api as crm_api
from callcenter.notices import api as notices_api
from callcenter.pbx import api as pbx_api
from callcenter.telephony import api as telephony_api
from callcenter.workspace import api as workspace_api

router = DefaultRouter()
for module in (accounts_api, telephony_api, pbx_api, calls_api, campaigns_api, notices_api, crm_api, workspace_api):
    module.register(router)

urlpatterns = [
    path("v1/enterprise/", accounts_api.EnterpriseView.as_view(), name="api-enterprise"),
    path("v1/sso-links/", accounts_api.SsoLinkView.as_view(), name="api-sso-links"),
    *workspace_api.urlpatterns,
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
