from django.urls import path

from callcenter.calls import screens, views

app_name = "calls"

urlpatterns = [
    path("cdrs/<int:pk>/recording/", views.cdr_recording, name="cdr_recording"),
    path("agent-monitor/", views.agent_monitor, name="agent_monitor"),
    *screens.cdr_screen.get_urls(),
    *screens.quality_review_screen.get_urls(),
    *screens.missed_call_screen.get_urls(),
]
