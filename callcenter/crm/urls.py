from django.urls import path

from callcenter.crm import screens, views

app_name = "crm"

urlpatterns = [
    path("customers/lock/", views.LockView.as_view(), name="customer_lock"),
    path("customers/unlock/", views.UnlockView.as_view(), name="customer_unlock"),
    path("customers/transfer/", views.TransferView.as_view(), name="customer_transfer"),
    path("customers/merge/", views.MergeView.as_view(), name="customer_merge"),
    path("fieldcodes/<int:pk>/values/", views.FieldCodeValuesView.as_view(), name="fieldcode_values"),
    path("fieldcodes/<int:pk>/values/<int:value_pk>/delete/", views.FieldCodeValueDeleteView.as_view(),
         name="fieldcode_value_delete"),
    path("thirdpartysources/<int:pk>/mapping/", views.ThirdPartyMappingView.as_view(screen=screens.source_screen),
         name="thirdpartysource_mapping"),
    path("thirdpartysources/<int:pk>/do/<str:op>/", views.ThirdPartySourceOpView.as_view(screen=screens.source_screen),
         name="thirdpartysource_op"),
    path("thirdpartysubtables/<int:pk>/do/<str:op>/",
         views.ThirdPartySubTableOpView.as_view(screen=screens.subtable_screen), name="thirdpartysubtable_op"),
    path("fieldcodes/<int:pk>/children/", views.FieldCodeChildrenView.as_view(), name="fieldcode_children"),
    path("popfields/", views.PopFieldsView.as_view(), name="popfields"),
]
for screen in screens.SCREENS:
    urlpatterns += screen.get_urls()
