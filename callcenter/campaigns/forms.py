"""Forms of the task screens: 任务发送 (T1), 【修改】, 【时间段】 and 【重新发送】. They parse and
present; the rules live in services.py and intake.py, whose refusals name these fields."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from callcenter.campaigns.choices import ResendRule
from callcenter.core.forms import bootstrapify, confine_choices
from callcenter.crm.models import CustomerCategory
from callcenter.telephony.models import CallFlow

YES_NO = [("1", _("是")), ("0", _("否"))]
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def yes_no(label, initial: bool, help_text=""):
    return forms.TypedChoiceField(label=label, choices=YES_NO, coerce=lambda v: v == "1",
                                  initial="1" if initial else "0", widget=forms.RadioSelect, help_text=help_text)


def start_field():
    return forms.DateTimeField(
        label=_("开始时间"), required=False, input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("定时发送；不填则立即发送"))


class WindowsMixin:
    """发送阶段 rows come as parallel lists `window_start` / `window_end` (the page adds rows);
    blank rows are ignored. The service checks order and overlap and names the row."""

    def windows_from_data(self) -> list[tuple[str, str]]:
        if not self.is_bound:
            return []
        starts = self.data.getlist("window_start") if hasattr(self.data, "getlist") else []
        ends = self.data.getlist("window_end") if hasattr(self.data, "getlist") else []
        rows = []
        for i in range(max(len(starts), len(ends))):
            start = (starts[i] if i < len(starts) else "").strip()
            end = (ends[i] if i < len(ends) else "").strip()
            if start or end:
                rows.append((start, end))
        return rows


class TaskSendForm(WindowsMixin, forms.Form):
    name = forms.CharField(label=_("任务名称"), max_length=100, help_text=_("便于识别任务"))
    flow = forms.ModelChoiceField(label=_("流程"), queryset=CallFlow.objects.order_by("name"),
                                  help_text=_("播放的语音、外显号码和转接的坐席组"))
    start_at = start_field()
    category = forms.ModelChoiceField(label=_("客户分类"), queryset=CustomerCategory.objects.order_by("name"),
                                      help_text=_("新号码加入此分类的客户资料；已有的客户改为此分类"))
    numbers_file = forms.FileField(label=_("号码文件"), required=False,
                                   help_text=_("文本文件，每行一个号码，最多五万个；与号码列表同时提供时以号码文件为准"))
    numbers_text = forms.CharField(label=_("号码列表"), required=False,
                                   widget=forms.Textarea(attrs={"rows": 6, "placeholder": "13800138000"}),
                                   help_text=_("每行一个号码；超过1000个号码建议使用号码文件"))
    dedupe = yes_no(_("去除重复"), True, _("“是”：重复的号码只发送一次"))
    recall_called_today = yes_no(_("重复呼叫"), False, _("“是”：也呼叫当天其它任务已呼叫过的号码"))
    skip_existing_customers = yes_no(_("客户档案存在不发送"), False, _("“是”：过滤掉客户资料中已有的号码"))
    # From the customer list (发起任务): "?" + the list's query (filters as in its URL).
    customer_query = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, enterprise=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.enterprise = enterprise
        confine_choices(self, enterprise)
        bootstrapify(self)

    def values(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "flow": data["flow"], "category": data["category"], "start_at": data["start_at"],
                "windows": self.windows_from_data(), "dedupe": data["dedupe"],
                "recall_called_today": data["recall_called_today"],
                "skip_existing_customers": data["skip_existing_customers"]}


class TaskModifyForm(forms.Form):
    """【修改】: 修改任务名称和发送时间."""

    name = forms.CharField(label=_("任务名称"), max_length=100)
    start_at = start_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)


class TaskWindowsForm(WindowsMixin, forms.Form):
    """【时间段】: the rows are read by WindowsMixin."""


class ResendForm(forms.Form):
    rules = forms.MultipleChoiceField(label=_("重新发送的号码"), choices=ResendRule.choices,
                                      widget=forms.CheckboxSelectMultiple, required=False)
