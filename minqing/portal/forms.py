"""Forms of the public portal. Field names are what a resident sees; the checks a service makes again
(phone, category, place) are not duplicated beyond turning a choice into an id."""

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from minqing.core.errors import ApplicationError
from minqing.core.forms import LABEL_SUFFIX, photos_field
from minqing.portal import selectors
from minqing.registry.cleaning import clean_phone
from minqing.tickets.services import RATINGS


class FileForm(forms.Form):
    """我要反映. `website` is a honeypot: hidden from people, filled in by form-filling robots."""

    name = forms.CharField(label=_("您的姓名"), max_length=50)
    phone = forms.CharField(
        label=_("手机号码"),
        max_length=30,
        help_text=_("查询办理进度时需要输入手机号后四位。"),
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "tel"}),
    )
    community = forms.ModelChoiceField(label=_("所在社区"), queryset=selectors.portal_communities(), empty_label="")
    building = forms.ModelChoiceField(
        label=_("小区楼栋"), queryset=selectors.portal_buildings(None), required=False, empty_label=_("（不在列表中）")
    )
    place_text = forms.CharField(
        label=_("具体位置"), max_length=200, required=False, help_text=_("如：3号楼2单元门口、东门停车场。")
    )
    category = forms.TypedChoiceField(label=_("问题类别"), coerce=int)
    description = forms.CharField(label=_("反映内容"), max_length=5000, widget=forms.Textarea(attrs={"rows": 5}))
    photos = photos_field()
    answer = forms.CharField(
        label=_("验证题"), max_length=10, widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"})
    )
    token = forms.CharField(widget=forms.HiddenInput)
    website = forms.CharField(
        label=_("网址"),
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", LABEL_SUFFIX)
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [("", "")] + [
            (group, choices) for group, choices in selectors.portal_categories()
        ]
        community = self.data.get("community") if self.is_bound else None
        if community and str(community).isdigit():
            self.fields["building"].queryset = selectors.portal_buildings(int(community))
        # Choosing the community reloads the building list (HTMX); without script the list follows on
        # the next submit, and a typed place is always enough.
        self.fields["community"].widget.attrs.update(
            {"hx-get": reverse("portal:buildings"), "hx-target": "#building-field", "hx-swap": "outerHTML"}
        )
        self.fields["building"].label_from_instance = lambda b: f"{b.estate.name} {b.name}"

    def clean_phone(self):
        try:
            phone, _hash = clean_phone(self.cleaned_data["phone"])
        except ApplicationError as exc:
            raise forms.ValidationError(str(exc.message)) from None
        return phone

    def clean(self):
        data = super().clean()
        if "building" in data and not data.get("building") and not (data.get("place_text") or "").strip():
            self.add_error("place_text", _("请选择楼栋，或写明具体位置。"))
        return data


class FollowForm(forms.Form):
    number = forms.CharField(
        label=_("诉求编号"), max_length=20, widget=forms.TextInput(attrs={"autocapitalize": "characters"})
    )
    last4 = forms.RegexField(
        label=_("手机号后四位"),
        regex=r"^\d{4}$",
        max_length=4,
        error_messages={"invalid": _("请输入4位数字。")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", LABEL_SUFFIX)
        super().__init__(*args, **kwargs)


class RateForm(forms.Form):
    rating = forms.ChoiceField(label=_("您对办理结果"), choices=list(RATINGS.items()), widget=forms.RadioSelect)
    comment = forms.CharField(label=_("意见"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", LABEL_SUFFIX)
        super().__init__(*args, **kwargs)
