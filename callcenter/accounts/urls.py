from django.urls import path

from callcenter.accounts import screens, views

app_name = "accounts"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("sso/<str:token>/", views.sso_login, name="sso_login"),
    path("agents/<int:pk>/reset-password/", views.AgentResetPasswordView.as_view(), name="agent_reset_password"),
    path("agents/<int:pk>/disable/", views.AgentDisableView.as_view(), name="agent_disable"),
    path("agents/screen-pop/", views.ScreenPopView.as_view(), name="screen_pop"),
    path("callerids/<int:pk>/default/", views.CallerIdDefaultView.as_view(), name="callerid_default"),
    path("enterprise/", views.enterprise_settings, name="enterprise_settings"),
    path("tokens/", views.api_tokens, name="api_tokens"),
]
for screen in (screens.agent_screen, screens.caller_id_screen, screens.role_screen, screens.login_log_screen,
               screens.department_screen):
    urlpatterns += screen.get_urls()
