from django.urls import path

from callcenter.campaigns import report_urls, screens, views

app_name = "campaigns"

urlpatterns = [
    path("tasks/send/", views.TaskSendView.as_view(), name="task_send"),
    path("tasks/send/from-customers/", views.TaskFromCustomersView.as_view(), name="task_send_from_customers"),
    path("tasks/do/<str:op>/", views.TaskOpView.as_view(), name="task_op"),
    path("tasks/<int:pk>/modify/", views.TaskModifyView.as_view(), name="task_modify"),
    path("tasks/<int:pk>/windows/", views.TaskWindowsView.as_view(), name="task_windows"),
    path("tasks/<int:pk>/resend/", views.TaskResendView.as_view(), name="task_resend"),
    path("tasks/<int:pk>/dropped/", views.TaskDropsView.as_view(), name="task_drops"),
    *screens.task_screen.get_urls(),
    # Task detail, progress, agent task detail (report_urls.py).
    *report_urls.urlpatterns,
]
