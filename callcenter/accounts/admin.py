"""The platform operator's screens (Django admin): create enterprises, set licensed lines."""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from callcenter.accounts import services
from callcenter.core.models import Enterprise


class EnterpriseCreateForm(forms.ModelForm):
    caller_id = forms.CharField(label=_("首个外显号码"), max_length=20)
    admin_password = forms.CharField(label=_("管理员(800)初始密码"), required=False, widget=forms.PasswordInput,
                                     help_text=_("留空则自动生成并显示一次"))

    class Meta:
        model = Enterprise
        fields = ["code", "name", "time_zone", "licensed_lines"]


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "licensed_lines", "time_zone", "created_at"]
    search_fields = ["code", "name"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = EnterpriseCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["code", "name", "time_zone", "licensed_lines", "caller_id", "admin_password"]
        return ["code", "name", "time_zone", "licensed_lines", "announcements_need_approval", "dialer_cps_limit",
                "screen_pop_url"]

    def get_readonly_fields(self, request, obj=None):
        return ["code"] if obj else []

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        created = services.enterprise_create(
            code=obj.code, name=obj.name, licensed_lines=obj.licensed_lines, time_zone=obj.time_zone,
            caller_id=form.cleaned_data["caller_id"], admin_password=form.cleaned_data.get("admin_password") or None)
        obj.pk = created.enterprise.pk
        messages.info(request, _("企业 %(code)s 已创建，管理员 800 的密码：%(pw)s") % {
            "code": obj.code, "pw": created.admin_password})
