"""Forms of the registry pages. They parse what was typed and hand raw values to the services, where
the rules live (cleaning.py: ID numbers, phones, dates, choices by their Chinese names); a service's
ApplicationError is shown next to the field it names."""

from django import forms
from django.utils.translation import gettext_lazy as _

from minqing.registry.idnumbers import DocumentKind, Sex
from minqing.registry.models import (
    ETHNICITIES,
    PoliticalStatus,
    RegistrationType,
    Relation,
    ResidentStatus,
)
from minqing.registry.selectors import ResidentFilters

_NUMERIC = {"inputmode": "numeric"}
_DATE = {"type": "date"}
_BLANK = [("", "—")]
STATUS_ALL = "all"


def _options(choices):
    return _BLANK + [(str(v), str(label)) for v, label in choices]


class SearchForm(forms.Form):
    """The resident list is the search: every filter optional, 在册 by default."""

    q = forms.CharField(
        label=_("姓名 / 拼音 / 证件号 / 电话"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"type": "search", "autocapitalize": "off", "spellcheck": "false"}),
    )
    tag = forms.TypedChoiceField(label=_("标签"), required=False, coerce=int, empty_value=None)
    grid = forms.TypedChoiceField(label=_("网格"), required=False, coerce=int, empty_value=None)
    estate = forms.TypedChoiceField(label=_("小区"), required=False, coerce=int, empty_value=None)
    building = forms.TypedChoiceField(label=_("楼栋"), required=False, coerce=int, empty_value=None)
    age_min = forms.IntegerField(
        label=_("年龄从"), required=False, min_value=0, max_value=150, widget=forms.NumberInput(_NUMERIC)
    )
    age_max = forms.IntegerField(
        label=_("年龄到"), required=False, min_value=0, max_value=150, widget=forms.NumberInput(_NUMERIC)
    )
    registration_type = forms.ChoiceField(
        label=_("户籍类型"), required=False, choices=_options(RegistrationType.choices)
    )
    status = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[(str(v), str(label)) for v, label in ResidentStatus.choices] + [(STATUS_ALL, _("全部"))],
    )

    def __init__(self, data=None, *, tags=(), grids=(), estates=(), buildings=()):
        if data is not None and "status" not in data:
            data = data.copy()
            data["status"] = ResidentStatus.ACTIVE
        super().__init__(data)
        self.fields["tag"].choices = _BLANK + [(t.pk, t.name) for t in tags]
        self.fields["grid"].choices = _BLANK + [(g.pk, g.name) for g in grids]
        self.fields["estate"].choices = _BLANK + [(e.pk, e.name) for e in estates]
        self.fields["building"].choices = _BLANK + [(b.pk, str(b)) for b in buildings]

    def clean(self):
        data = super().clean()
        low, high = data.get("age_min"), data.get("age_max")
        if low is not None and high is not None and low > high:
            self.add_error("age_max", _("年龄上限不能小于下限。"))
        return data

    def filters(self) -> ResidentFilters:
        data = self.cleaned_data
        status = data.get("status") or ResidentStatus.ACTIVE
        return ResidentFilters(
            q=data.get("q") or "",
            tag=data.get("tag"),
            grid=data.get("grid"),
            estate=data.get("estate"),
            building=data.get("building"),
            age_min=data.get("age_min"),
            age_max=data.get("age_max"),
            registration_type=data.get("registration_type") or "",
            status="" if status == STATUS_ALL else status,
        )


class ExportForm(forms.Form):
    unmasked = forms.BooleanField(label=_("含完整证件号码和电话"), required=False)
    reason = forms.CharField(label=_("导出原因"), required=False, max_length=200)


class ResidentForm(forms.Form):
    """Register or edit one resident. On an edit the ID number and phone start empty (the page never
    holds the full values): left empty they stay as they are."""

    name = forms.CharField(label=_("姓名"), max_length=50)
    document_kind = forms.ChoiceField(
        label=_("证件类型"), required=False, choices=DocumentKind.choices, initial=DocumentKind.CITIZEN_ID
    )
    id_number = forms.CharField(
        label=_("证件号码"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    birth_date = forms.CharField(
        label=_("出生日期"),
        required=False,
        help_text=_("有居民身份证号码时由号码得出，不必填写。"),
        widget=forms.DateInput(_DATE),
    )
    sex = forms.ChoiceField(label=_("性别"), required=False, choices=_options(Sex.choices))
    phone = forms.CharField(
        label=_("联系电话"),
        required=False,
        max_length=30,
        widget=forms.TextInput({"inputmode": "tel", "autocomplete": "off"}),
    )
    ethnicity = forms.ChoiceField(label=_("民族"), required=False, choices=_options(ETHNICITIES), initial="01")
    registration_type = forms.ChoiceField(
        label=_("户籍类型"), required=False, choices=RegistrationType.choices, initial=RegistrationType.HOUSEHOLD
    )
    relation = forms.ChoiceField(label=_("与户主关系"), required=False, choices=Relation.choices, initial=Relation.HEAD)
    political_status = forms.ChoiceField(label=_("政治面貌"), required=False, choices=_options(PoliticalStatus.choices))
    occupation = forms.CharField(label=_("职业"), required=False, max_length=100)
    employer = forms.CharField(label=_("工作单位"), required=False, max_length=200)
    skills = forms.CharField(label=_("特长技能"), required=False, max_length=200)
    willing_to_serve = forms.BooleanField(label=_("愿意参与社区事务"), required=False)
    notes = forms.CharField(label=_("备注"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    health_notes = forms.CharField(label=_("健康状况"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    occurred_on = forms.CharField(
        label=_("迁入日期"), required=False, help_text=_("不填则按今天登记。"), widget=forms.DateInput(_DATE)
    )

    IDENTITY = ("document_kind", "id_number", "birth_date", "sex")

    def __init__(self, *args, sensitive: bool, creating: bool, has_id_number: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not sensitive:
            del self.fields["health_notes"]  # never sent, so the service is never asked to write it
        if not creating:
            del self.fields["occurred_on"]
            self.fields["id_number"].help_text = _("留空则不修改。")
            self.fields["phone"].help_text = _("留空则不修改；填“无”可清除。")
            if has_id_number:
                self.fields["birth_date"].help_text = _("出生日期和性别随证件号码修改。")
                self.fields["birth_date"].disabled = True
                self.fields["sex"].disabled = True
        self.creating, self.has_id_number = creating, has_id_number

    def service_data(self) -> dict:
        """The raw values for resident_create / resident_update. On an edit the identity fields are
        sent together or not at all: a birth date sent without the number would clear the number."""
        data = {k: v for k, v in self.cleaned_data.items() if k != "occurred_on"}
        if self.creating:
            return data
        if not data.get("id_number"):
            for key in ("id_number", "birth_date", "sex") if self.has_id_number else ("id_number",):
                data.pop(key, None)
            if self.has_id_number:
                data.pop("document_kind", None)
        elif self.has_id_number:
            data.pop("birth_date", None)
            data.pop("sex", None)
        if not data.get("phone"):
            data.pop("phone", None)
        return data


class MoveOutForm(forms.Form):
    occurred_on = forms.CharField(label=_("迁出日期"), widget=forms.DateInput(_DATE))
    destination = forms.CharField(label=_("迁往何处"), max_length=200, help_text=_("不详可填“不详”。"))
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


class DeceaseForm(forms.Form):
    occurred_on = forms.CharField(label=_("死亡日期"), widget=forms.DateInput(_DATE))
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


class ReturnForm(forms.Form):
    occurred_on = forms.CharField(label=_("回迁日期"), widget=forms.DateInput(_DATE))
    note = forms.CharField(label=_("说明"), required=False, max_length=500)


class ChangeDwellingForm(forms.Form):
    occurred_on = forms.CharField(label=_("换房日期"), widget=forms.DateInput(_DATE))
    household = forms.TypedChoiceField(
        label=_("并入已有的户"), required=False, coerce=int, empty_value=None, help_text=_("与下面的“房屋”二选一。")
    )
    dwelling = forms.TypedChoiceField(
        label=_("或迁到房屋（另立一户，为户主）"), required=False, coerce=int, empty_value=None
    )
    note = forms.CharField(label=_("说明"), required=False, max_length=500)

    def __init__(self, *args, households=(), dwellings=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["household"].choices = _BLANK + [(h.pk, str(h)) for h in households]
        self.fields["dwelling"].choices = _BLANK + [(d.pk, str(d)) for d in dwellings]

    def clean(self):
        data = super().clean()
        if data.get("household") and data.get("dwelling"):
            self.add_error("dwelling", _("请只选择一项：并入的户或迁入的房屋。"))
        return data


class RevealForm(forms.Form):
    field = forms.ChoiceField(label=_("查看"), choices=[("id_number", _("证件号码")), ("phone", _("联系电话"))])
    reason = forms.CharField(label=_("查看原因"), max_length=200, help_text=_("将记入审计日志。"))


class ResidentTagsForm(forms.Form):
    """One checkbox per tag that may be set by hand (age tags follow the birth date), with grade and
    category for the graded ones (残疾)."""

    def __init__(self, *args, tags=(), current=None, **kwargs):
        super().__init__(*args, **kwargs)
        current = current or {}
        self.tag_rows = []
        for tag in tags:
            link = current.get(tag.pk)
            check = f"tag_{tag.pk}"
            self.fields[check] = forms.BooleanField(label=tag.name, required=False, initial=link is not None)
            row = {"tag": tag, "check": check, "grade": None, "detail": None}
            if tag.has_grade:
                row["grade"], row["detail"] = f"grade_{tag.pk}", f"detail_{tag.pk}"
                self.fields[row["grade"]] = forms.ChoiceField(
                    label=_("等级"),
                    required=False,
                    choices=_BLANK + [(str(n), _("%(n)s级") % {"n": n}) for n in range(1, 5)],
                    initial=str(link.grade) if link and link.grade else "",
                )
                self.fields[row["detail"]] = forms.CharField(
                    label=_("类别"), required=False, max_length=50, initial=link.detail if link else ""
                )
            self.tag_rows.append(row)

    def rows(self):
        for row in self.tag_rows:
            yield {
                "tag": row["tag"],
                "check": self[row["check"]],
                "grade": self[row["grade"]] if row["grade"] else None,
                "detail": self[row["detail"]] if row["detail"] else None,
            }

    def service_tags(self) -> list[dict]:
        chosen = []
        for row in self.tag_rows:
            if not self.cleaned_data.get(row["check"]):
                continue
            item = {"tag": row["tag"].pk}
            if row["grade"]:
                item["grade"] = self.cleaned_data.get(row["grade"]) or None
                item["detail"] = self.cleaned_data.get(row["detail"]) or ""
            chosen.append(item)
        return chosen


class TagCreateForm(forms.Form):
    name = forms.CharField(label=_("标签名称"), max_length=30)
    has_grade = forms.BooleanField(label=_("分等级"), required=False)
    sensitive = forms.BooleanField(label=_("敏感信息"), required=False, help_text=_("仅有权限的角色可见"))


class ThresholdForm(forms.Form):
    min_age = forms.IntegerField(
        label=_("本社区年龄下限"),
        required=False,
        min_value=1,
        max_value=129,
        help_text=_("留空则按默认年龄。"),
        widget=forms.NumberInput(_NUMERIC),
    )
