"""Forms of the area and place pages. They only parse what was typed; the rules (unique codes, level
checks, valid polygons, floors within the building) live in areas.services, whose errors the views
show next to the field they name."""

from django import forms
from django.utils.translation import gettext_lazy as _

from minqing.areas.models import Area, HousingType, Unit

_NUMERIC = {"inputmode": "numeric"}
_DECIMAL = {"inputmode": "decimal"}


class ChoiceOfForm(forms.Form):
    """A form with one model choice whose options the view computes from the viewer's scope."""

    choice_field = ""

    def __init__(self, *args, choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if self.choice_field and choices is not None:
            self.fields[self.choice_field].queryset = choices


class AreaForm(forms.Form):
    code = forms.CharField(
        label=_("编码"),
        max_length=32,
        help_text=_("字母、数字、短横线或下划线，全区唯一，如 150603001001-G04。"),
        widget=forms.TextInput(attrs={"autocapitalize": "off", "spellcheck": "false"}),
    )
    name = forms.CharField(label=_("名称"), max_length=100)


class AreaCreateForm(AreaForm):
    boundary = forms.CharField(
        label=_("边界 (GeoJSON，可选)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "spellcheck": "false"}),
    )


class BoundaryForm(forms.Form):
    boundary = forms.CharField(
        label=_("边界 (GeoJSON)"),
        required=False,
        help_text=_("粘贴 GeoJSON 的 Polygon 或 MultiPolygon（也可以是 Feature），坐标为经度、纬度；留空即清除边界。"),
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
    )


class AreaMoveForm(ChoiceOfForm):
    choice_field = "parent"
    parent = forms.ModelChoiceField(label=_("新的上级区域"), queryset=Area.objects.none())


class EstateForm(forms.Form):
    name = forms.CharField(label=_("小区名称"), max_length=100)
    address = forms.CharField(label=_("地址"), max_length=200, required=False)


class EstateCreateForm(ChoiceOfForm, EstateForm):
    choice_field = "community"
    community = forms.ModelChoiceField(label=_("社区"), queryset=Area.objects.none())

    field_order = ["community", "name", "address"]


class BuildingForm(forms.Form):
    name = forms.CharField(label=_("楼栋"), max_length=50, help_text=_("如：3号楼"))
    floors = forms.CharField(label=_("层数"), required=False, widget=forms.TextInput(attrs=_NUMERIC))


class BuildingCreateForm(ChoiceOfForm, BuildingForm):
    choice_field = "grid"
    grid = forms.ModelChoiceField(label=_("所属网格"), queryset=Area.objects.none())


class BuildingMoveForm(ChoiceOfForm):
    choice_field = "grid"
    grid = forms.ModelChoiceField(label=_("划入网格"), queryset=Area.objects.none())


class UnitForm(forms.Form):
    name = forms.CharField(label=_("单元"), max_length=30, help_text=_("如：2单元"))


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Unit) -> str:
        return obj.name


class DwellingForm(ChoiceOfForm):
    choice_field = "unit"
    unit = UnitChoiceField(label=_("单元"), queryset=Unit.objects.none(), required=False, empty_label=_("（无单元）"))
    floor = forms.CharField(label=_("楼层"), required=False, widget=forms.TextInput(attrs=_NUMERIC))
    room = forms.CharField(label=_("房号"), max_length=20)
    housing_type = forms.ChoiceField(label=_("房屋类型"), choices=HousingType.choices, initial=HousingType.COMMERCIAL)
    floor_area = forms.CharField(label=_("面积（㎡）"), required=False, widget=forms.TextInput(attrs=_DECIMAL))
