from django.urls import path  # noqa: F401 - screens add their paths below

app_name = "calls"

urlpatterns: list = []
