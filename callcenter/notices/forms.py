from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from callcenter.accounts.choices import AgentType
from callcenter.core.forms import TenantModelForm, bootstrapify
from callcenter.notices.choices import Audience
from callcenter.notices.models import Announcement
from callcenter.notices.sanitize import clean_html


class AnnouncementForm(TenantModelForm):
    publish = forms.BooleanField(label=_("立即发布"), required=False, initial=True,
                                 help_text=_("不勾选则保存为草稿；需要审核时提交审核"))

    class Meta:
        model = Announcement
        fields = ["title", "content", "audience", "departments", "agents"]
        widgets = {"content": forms.Textarea(attrs={"rows": 8}), "audience": forms.RadioSelect}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = self.fields["agents"].queryset.exclude(
            agent_type=AgentType.DISABLED).order_by("number")
        self.fields["departments"].queryset = self.fields["departments"].queryset.order_by("name")
        if self.instance.pk:
            del self.fields["publish"]

    def clean_content(self):
        return clean_html(self.cleaned_data.get("content", ""))

    def clean(self):
        data = super().clean()
        audience = data.get("audience")
        if audience == Audience.DEPARTMENTS and not data.get("departments"):
            self.add_error("departments", _("请选择要通知的部门"))
        if audience == Audience.AGENTS and not data.get("agents"):
            self.add_error("agents", _("请选择要通知的坐席"))
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("驳回原因"), max_length=500, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)
