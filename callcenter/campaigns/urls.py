from django.urls import path  # noqa: F401 - used by the task screens' patterns

from callcenter.campaigns import report_urls

app_name = "campaigns"

urlpatterns = [
    # Task detail, progress, agent task detail (report_urls.py).
    *report_urls.urlpatterns,
]
