from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from callcenter.core.forms import bootstrapify
from callcenter.crm.models import CustomerCategory
from callcenter.workspace.choices import AgentChoice, FollowUpResult


class FollowUpForm(forms.Form):
    text = forms.CharField(label=_("跟踪内容"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    next_contact_at = forms.DateTimeField(label=_("下次联系时间"), required=False,
                                          widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
                                          input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"])
    result = forms.ChoiceField(label=_("跟踪结果"), choices=FollowUpResult.choices, initial=FollowUpResult.PENDING)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)


class StateForm(forms.Form):
    state = forms.ChoiceField(label=_("状态"), choices=AgentChoice.choices)
    reason = forms.CharField(label=_("示忙原因"), max_length=100, required=False)


class QuickCustomerForm(forms.Form):
    """【新建客户】 on the pop for an unknown number: the phone comes prefilled."""

    phone = forms.CharField(label=_("电话"), max_length=32)
    name = forms.CharField(label=_("客户名称"), max_length=100, required=False)
    company = forms.CharField(label=_("公司"), max_length=200, required=False)
    category = forms.ModelChoiceField(label=_("客户分类"), queryset=CustomerCategory.objects.none())

    def __init__(self, *args, enterprise=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = CustomerCategory.objects.filter(enterprise=enterprise).order_by("name")
        bootstrapify(self)
