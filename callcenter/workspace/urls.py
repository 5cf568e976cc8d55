from django.urls import path

from callcenter.workspace import screens, views

app_name = "workspace"

urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("current-call/", views.CurrentCallView.as_view(), name="current_call"),
    path("state/", views.StateView.as_view(), name="state"),
    path("hangup/", views.HangupView.as_view(), name="hangup"),
    path("wrapup/", views.WrapUpView.as_view(), name="wrapup"),
    path("task-next/", views.TaskNextView.as_view(), name="task_next"),
    path("pop/", views.PopView.as_view(), name="pop"),
    path("pop/shown/", views.PopShownView.as_view(), name="pop_shown"),
    path("followups/add/", views.FollowUpAddView.as_view(), name="followup_add"),
    path("customers/add/", views.CustomerAddView.as_view(), name="customer_add"),
    *screens.followup_screen.get_urls(),
]
