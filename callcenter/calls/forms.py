from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from callcenter.calls.models import SCORE_MAX
from callcenter.calls.services import COMMENT_MAX
from callcenter.core.forms import bootstrapify


class QualityReviewForm(forms.Form):
    """评分 on the CDR page. Values are checked by `services.quality_review_save`, so the form,
    the API and any other caller refuse bad input with the same message."""

    score = forms.CharField(label=_("评分"), required=False, max_length=10,
                            widget=forms.NumberInput(attrs={"min": 0, "max": SCORE_MAX, "step": 1}),
                            help_text=_("0-100 分"))
    comment = forms.CharField(label=_("评语"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3, "maxlength": COMMENT_MAX}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bootstrapify(self)
