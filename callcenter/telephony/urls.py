from django.urls import path

from callcenter.telephony import screens, views

app_name = "telephony"

urlpatterns = [
    path("prompts/<int:pk>/audio/", views.PromptAudioView.as_view(), name="prompt_audio"),
    path("trunks/<int:pk>/dids/", views.TrunkDidsView.as_view(), name="trunk_dids"),
    path("trunks/<int:pk>/dids/<int:did_pk>/<str:op>/", views.DidRouteOpView.as_view(), name="trunk_did"),
    path("ivrmenus/<int:pk>/keys/", views.IvrKeysView.as_view(), name="ivrmenu_keys"),
    path("ivrmenus/<int:pk>/keys/<int:key_pk>/delete/", views.IvrKeyDeleteView.as_view(), name="ivrmenu_key_delete"),
    path("schedules/<int:pk>/slots/", views.SlotAddView.as_view(), name="schedule_slot_add"),
    path("schedules/<int:pk>/slots/<int:slot_pk>/delete/", views.SlotDeleteView.as_view(),
         name="schedule_slot_delete"),
]
for screen in views.MEMBER_SCREENS:
    name = screen.model_name
    urlpatterns += [
        path(f"{name}s/<int:pk>/members/", views.MembersView.as_view(screen=screen), name=f"{name}_members"),
        path(f"{name}s/<int:pk>/members/<int:agent_id>/<str:op>/", views.MemberOpView.as_view(screen=screen),
             name=f"{name}_member"),
        path(f"{name}s/<int:pk>/toggle/", views.ToggleView.as_view(screen=screen), name=f"{name}_toggle"),
    ]
for screen in screens.SCREENS:
    urlpatterns += screen.get_urls()
