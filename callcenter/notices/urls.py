from django.urls import path

from callcenter.notices import screens, views

app_name = "notices"

urlpatterns = [
    path("announcements/<int:pk>/publish/", views.announcement_publish, name="announcement_publish"),
    path("announcements/<int:pk>/approve/", views.announcement_approve, name="announcement_approve"),
    path("announcements/<int:pk>/reject/", views.announcement_reject, name="announcement_reject"),
    path("todos/read-all/", views.todo_read_all, name="todo_read_all"),
    path("todos/popup/", views.todo_popup, name="todo_popup"),
    path("todos/<int:pk>/open/", views.todo_open, name="todo_open"),
    *screens.announcement_screen.get_urls(),
    *screens.todo_screen.get_urls(),
]
