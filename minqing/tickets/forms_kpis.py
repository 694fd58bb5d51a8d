"""Forms of the figures page and the demand-list export (their own module: the list pages have theirs)."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.areas import selectors as places
from minqing.core.forms import LABEL_SUFFIX
from minqing.tickets.kpis import DIMENSIONS
from minqing.tickets.lifecycle import Status
from minqing.tickets.models import Category, Channel
from minqing.tickets.selectors import TicketFilters

DATE = forms.DateInput(attrs={"type": "date"})


def month_start() -> datetime.date:
    return timezone.localdate().replace(day=1)


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("开始日期"), required=False, widget=DATE)
    end = forms.DateField(label=_("结束日期"), required=False, widget=DATE)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", LABEL_SUFFIX)
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and end < start:
            self.add_error("end", _("结束日期不能早于开始日期。"))
        return data


class KpiForm(PeriodForm):
    """Period (default: this month so far), dimension, and for areas the node whose children are the
    rows (default: the user's own)."""

    dimension = forms.ChoiceField(label=_("统计维度"), choices=list(DIMENSIONS.items()), required=False)
    area = forms.ModelChoiceField(label=_("区域"), queryset=None, required=False, empty_label=_("本级及下级"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        # Nodes with children to compare: grids have none.
        self.fields["area"].queryset = places.areas_visible_to(user).exclude(level="grid").order_by("path")

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "start": data.get("start") or month_start(),
            "end": data.get("end") or timezone.localdate(),
            "dimension": data.get("dimension") or "area",
            "parent": data.get("area"),
        }


class TicketFilterForm(PeriodForm):
    """The filters of a demand list: status, category, channel, period of receipt."""

    status = forms.ChoiceField(label=_("状态"), choices=[("", _("全部"))] + Status.choices, required=False)
    category = forms.ModelChoiceField(
        label=_("分类"), queryset=Category.objects.filter(retired_at__isnull=True), required=False,
        empty_label=_("全部"),
    )  # fmt: skip
    channel = forms.ChoiceField(label=_("渠道"), choices=[("", _("全部"))] + Channel.choices, required=False)

    def filters(self) -> TicketFilters:
        data = self.cleaned_data
        return TicketFilters(
            status=(data["status"],) if data.get("status") else (),
            category=data["category"].pk if data.get("category") else None,
            channel=data.get("channel") or "",
            received_from=data.get("start"),
            received_to=data.get("end"),
        )

    def audit_filters(self) -> dict:
        """The filters as the user gave them, for the audit log."""
        return {k: getattr(v, "pk", None) or str(v) for k, v in self.cleaned_data.items() if v}
