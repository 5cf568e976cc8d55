from django.urls import path
from django.utils.translation import gettext_lazy as _

from callcenter.core import navigation
from callcenter.pbx import monitor, views

app_name = "pbx"

urlpatterns = [
    path("apply/", views.ApplyView.as_view(), name="apply"),
    path("pending-banner/", views.pending_banner, name="pending_banner"),
    path("test-dial/<int:flow_pk>/", monitor.test_dial, name="test_dial"),
    path("test-dial/runs/<int:pk>/", monitor.test_dial_events, name="test_dial_events"),
    path("channels/", monitor.channels, name="channels"),
]

navigation.register("system", _("坐席配置生效"), "pbx:apply", "pbx.view_configapply", order=20)
navigation.register("system", _("通道监控"), "pbx:channels", "calls.view_livechannel", order=60)
