from django import forms
from django.utils.translation import gettext_lazy as _

from minqing.core.forms import LABEL_SUFFIX


class DayOverrideForm(forms.Form):
    """A day the State Council's notice makes a holiday or a make-up working day."""

    day = forms.CharField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    is_workday = forms.TypedChoiceField(
        label=_("这一天"),
        choices=[("0", _("放假")), ("1", _("上班（调休）"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("说明"), max_length=100, required=False, help_text=_("如：2027年春节调休"))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", LABEL_SUFFIX)
        super().__init__(*args, **kwargs)
