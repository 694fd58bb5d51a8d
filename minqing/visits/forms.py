from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minqing.core.forms import LABEL_SUFFIX, photos_field
from minqing.tickets.forms_kpis import PeriodForm, month_start
from minqing.tickets.models import Category
from minqing.visits.kpis import DIMENSIONS
from minqing.visits.models import Purpose, Responsible


class VisitForm(forms.Form):
    """The phone form: a routine visit is the household (from the link) and 保存; everything else is
    optional. Values are checked by services.visit_log, which names the field."""

    label_suffix = LABEL_SUFFIX

    household = forms.IntegerField(widget=forms.HiddenInput)
    purpose = forms.ChoiceField(
        label=_("走访事由"), choices=Purpose.choices, initial=Purpose.ROUTINE, widget=forms.RadioSelect
    )
    met = forms.TypedMultipleChoiceField(
        label=_("见到的人"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(label=_("走访情况"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = photos_field()
    temperature = forms.CharField(
        label=_("体温（℃）"), required=False, widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 5})
    )
    systolic = forms.CharField(
        label=_("收缩压"), required=False, widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4})
    )
    diastolic = forms.CharField(
        label=_("舒张压"), required=False, widget=forms.TextInput(attrs={"inputmode": "numeric", "size": 4})
    )
    visited_at = forms.CharField(required=False, widget=forms.HiddenInput)
    idempotency_key = forms.CharField(required=False, widget=forms.HiddenInput)
    to_demand = forms.BooleanField(label=_("转为诉求"), required=False)
    category = forms.ModelChoiceField(
        label=_("诉求分类"), queryset=Category.objects.none(), required=False, empty_label=_("请选择")
    )
    demand_description = forms.CharField(
        label=_("诉求内容"),
        required=False,
        help_text=_("不填则用走访情况"),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["met"].choices = [(m.pk, m.name) for m in members]
        self.fields["category"].queryset = Category.objects.filter(retired_at__isnull=True).select_related("parent")

    def clean(self):
        data = super().clean()
        if data.get("to_demand") and not data.get("category"):
            self.add_error("category", _("转为诉求须选择分类。"))
        return data


class DueFilterForm(forms.Form):
    grid = forms.TypedChoiceField(label=_("网格"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args, grids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["grid"].choices = [("", _("全部网格"))] + [(g.pk, g.name) for g in grids]


class ExportForm(forms.Form):
    start = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


class VisitKpiForm(PeriodForm):
    """走访统计: period (default: this month so far) and the rows (by grid or by worker)."""

    dimension = forms.ChoiceField(label=_("统计维度"), choices=list(DIMENSIONS.items()), required=False)

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "start": data.get("start") or month_start(),
            "end": data.get("end") or timezone.localdate(),
            "dimension": data.get("dimension") or "grid",
        }


class CareRuleForm(forms.Form):
    """One rule: the values go to services.care_rule_set as typed, which checks them and names the
    field; `tag` empty is the every-household rule, `community` empty the shipped defaults."""

    label_suffix = LABEL_SUFFIX

    community = forms.CharField(required=False, widget=forms.HiddenInput)
    tag = forms.CharField(label=_("标签"), required=False)
    # aria-label: in a rule's row the fields stand without a visible label.
    interval_days = forms.CharField(
        label=_("走访周期（天）"),
        widget=forms.NumberInput(
            attrs={"min": 1, "max": 366, "inputmode": "numeric", "aria-label": _("走访周期（天）")}
        ),
    )
    responsible = forms.ChoiceField(
        label=_("负责人"), choices=Responsible.choices, widget=forms.Select(attrs={"aria-label": _("负责人")})
    )

    def __init__(self, *args, tags=None, **kwargs):
        super().__init__(*args, **kwargs)
        if tags is None:
            self.fields["tag"].widget = forms.HiddenInput()
        else:  # the form that adds a rule for a tag that has none
            self.fields["tag"] = forms.ChoiceField(label=_("标签"), choices=[(t.pk, t.name) for t in tags])
