from django.urls import path

from callcenter.accounts.screens import audit_log_screen
from callcenter.core import io_views, views

app_name = "core"

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/<int:pk>/", io_views.job_view, name="job"),
    path("jobs/<int:pk>/download/", io_views.job_download, name="job_download"),
    *audit_log_screen.get_urls(),
]
