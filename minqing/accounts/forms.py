from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from minqing.accounts import selectors as account_selectors
from minqing.accounts.models import Department
from minqing.accounts.roles import ROLE_AREA_LEVEL, ROLE_MANAGEABLE_BY, Role
from minqing.areas import selectors as area_selectors
from minqing.areas.models import Area, AreaLevel, Building, Dwelling


class SignInForm(forms.Form):
    username = forms.CharField(
        label=_("用户名"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = forms.CharField(
        label=_("密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class OtpForm(forms.Form):
    otp = forms.CharField(
        label=_("动态验证码"),
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label=_("原密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password = forms.CharField(
        label=_("新密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    new_password2 = forms.CharField(
        label=_("再次输入新密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", _("两次输入的新密码不一致。"))
        return data


# Account administration ------------------------------------------------------------------------------
# The choices these forms offer come from the scoped selectors, so a page never lists what the actor
# may not use; the services check the same again, so a tampered form gets a clear field error.

_EMPTY = [("", _("请选择"))]


def _level_label(level: str) -> str:
    return str(AreaLevel(level).label)


def _grouped_areas(areas) -> list:
    """Area options grouped by level (区/县, 街道, 社区, 网格), in tree order."""
    groups: dict[str, list] = {}
    for area in areas:
        groups.setdefault(area.level, []).append((area.pk, area.name))
    order = [level for level in AreaLevel.values if level in groups]
    return _EMPTY + [(_level_label(level), groups[level]) for level in order]


def _outside(label: str, grid: Area) -> str:
    return _("%(label)s（位于%(grid)s，不在所选网格）") % {"label": label, "grid": grid.name}


def _dwellings_by_building(dwellings, person=None, grid=None) -> list:
    """Checkbox options grouped under their building, each labelled by unit and room, with the
    liaison already looking after it (so no household gets two by mistake); a building outside
    the chosen grid says which grid it is in."""
    groups: dict[int, tuple[str, list]] = {}
    for d in dwellings.prefetch_related("liaisons"):
        if d.building_id not in groups:
            heading = str(d.building)
            if grid is None or d.building.grid_id != grid.pk:
                heading = _outside(heading, d.building.grid)
            groups[d.building_id] = (heading, [])
        label = f"{d.unit.name if d.unit_id else ''}{d.room}"
        others = [u.display_name for u in d.liaisons.all() if person is None or u.pk != person.pk]
        if others:
            label += _("（%(names)s）") % {"names": "、".join(others)}
        groups[d.building_id][1].append((d.pk, label))
    return list(groups.values())


def _pk(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class UserFilterForm(forms.Form):
    q = forms.CharField(
        label=_("搜索"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("用户名或姓名"), "type": "search"}),
    )
    role = forms.ChoiceField(label=_("角色"), required=False, choices=[("", _("全部角色")), *Role.choices])


class _AssignmentForm(forms.Form):
    """Role and place of an account: the area (only the level the role needs, within the actor's
    scope), the unit of a department account, a liaison's dwellings or a building head's buildings
    in the chosen grid. The page re-renders these fields when the role or the area changes."""

    ASSIGNMENT_FIELDS = ("role", "area", "department", "dwellings", "buildings")
    # Roles an integration key may not carry are left out by the API key form; people may have any.
    role_whitelist: frozenset[str] | None = None

    role = forms.ChoiceField(label=_("角色"), error_messages={"invalid_choice": _("您不能创建或设置该角色的账号。")})
    area = forms.ModelChoiceField(
        label=_("所属区域"),
        queryset=Area.objects.none(),
        required=False,
        empty_label=_("请选择"),
        error_messages={"invalid_choice": _("所属区域不在您的管辖范围内。")},
    )
    department = forms.ModelChoiceField(
        label=_("所属单位"),
        queryset=Department.objects.none(),
        required=False,
        empty_label=_("请选择"),
        error_messages={"invalid_choice": _("所属单位不在您的管辖范围内。")},
    )
    dwellings = forms.ModelMultipleChoiceField(
        label=_("包联房屋"),
        queryset=Dwelling.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"}),
        error_messages={"invalid_choice": _("包联房屋须在该网格内。")},
    )
    buildings = forms.ModelMultipleChoiceField(
        label=_("负责楼栋"),
        queryset=Building.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"}),
        error_messages={"invalid_choice": _("负责楼栋须在该网格内。")},
    )

    def __init__(self, *args, actor, person=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.actor = actor
        allowed = ROLE_MANAGEABLE_BY.get(actor.role, frozenset())
        if self.role_whitelist is not None:
            allowed = allowed & self.role_whitelist
        self.fields["role"].choices = _EMPTY + [(r.value, r.label) for r in Role if r in allowed]
        levels = {ROLE_AREA_LEVEL[r] for r in allowed if ROLE_AREA_LEVEL[r]}
        areas = area_selectors.areas_visible_to(actor).filter(level__in=levels).order_by("path")
        self.fields["area"].queryset = areas

        role = self._value("role")
        role = role if role in allowed else None
        level = ROLE_AREA_LEVEL.get(role) if role else None
        # Offer only the level the chosen role needs; until a role is chosen, every allowed level.
        shown = [a for a in areas if level is None or a.level == level]
        self.fields["area"].widget.choices = _grouped_areas(shown)
        if level:
            self.fields["area"].label = _("所属%(level)s") % {"level": _level_label(level)}

        if Role.DEPARTMENT in allowed and role in (None, Role.DEPARTMENT):
            self.fields["department"].queryset = account_selectors.departments_visible_to(actor).order_by("name")
            self.fields["department"].help_text = _("职能部门账号挂在所属单位，不选区域。")
        else:
            del self.fields["department"]
        if role == Role.DEPARTMENT:
            del self.fields["area"]

        grid_id = _pk(self._value("area")) if role in (Role.LIAISON, Role.BUILDING_HEAD) else None
        grid = next((a for a in shown if a.pk == grid_id and a.level == AreaLevel.GRID), None)
        # What the account looks after now stays listed (and ticked) even when it lies outside the
        # grid (a building moved to another grid): the service then names the field, instead of the
        # save silently dropping it.
        in_grid = Q(building__grid=grid) if grid else Q(pk__in=[])
        current = Q(pk__in=person.dwellings.values("pk")) if person is not None else Q(pk__in=[])
        if role == Role.LIAISON and "dwellings" in self.ASSIGNMENT_FIELDS:
            field = self.fields["dwellings"]
            field.queryset = (
                area_selectors.dwellings_visible_to(actor)
                .filter(in_grid | current)
                .order_by("building_id", "unit_id", "room")
            )
            field.widget.choices = _dwellings_by_building(field.queryset, person, grid)
            if grid is None:
                field.help_text = _("先选择网格，再勾选该网格内包联的房屋。")
        else:
            self.fields.pop("dwellings", None)
        in_grid = Q(grid=grid) if grid else Q(pk__in=[])
        current = Q(pk__in=person.buildings.values("pk")) if person is not None else Q(pk__in=[])
        if role == Role.BUILDING_HEAD and "buildings" in self.ASSIGNMENT_FIELDS:
            field = self.fields["buildings"]
            field.queryset = area_selectors.buildings_visible_to(actor).filter(in_grid | current)
            field.widget.choices = [
                (b.pk, str(b) if grid and b.grid_id == grid.pk else _outside(str(b), b.grid)) for b in field.queryset
            ]
            if grid is None:
                self.fields["buildings"].help_text = _("先选择网格，再勾选该网格内负责的楼栋。")
        else:
            self.fields.pop("buildings", None)

    def _value(self, name: str):
        if self.is_bound:
            return self.data.get(name)
        value = self.initial.get(name)
        return getattr(value, "pk", value)

    @classmethod
    def initial_from(cls, data) -> dict:
        """The values typed so far, to re-render the form with narrowed choices and no errors."""
        initial = {}
        for name in data:
            if name in ("dwellings", "buildings"):
                initial[name] = data.getlist(name)
            elif name not in ("password", "password2", "csrfmiddlewaretoken", "_refresh"):
                initial[name] = data.get(name)
        return initial

    def assignment(self) -> dict:
        data = self.cleaned_data
        return {
            "role": data["role"],
            "area": data.get("area"),
            "department": data.get("department"),
            "dwellings": list(data.get("dwellings") or ()),
            "buildings": list(data.get("buildings") or ()),
        }

    def _bound(self, names):
        return [self[name] for name in names if name in self.fields]

    @property
    def identity_fields(self):
        return self._bound(("username", "display_name", "name"))

    @property
    def assignment_fields(self):
        return self._bound(self.ASSIGNMENT_FIELDS)

    @property
    def password_fields(self):
        return self._bound(("password", "password2"))


class _PasswordPairMixin:
    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password") != data.get("password2"):
            self.add_error("password2", _("两次输入的密码不一致。"))
        return data


def _password_fields(label):
    return (
        forms.CharField(
            label=label,
            strip=False,
            widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
            help_text=_("至少 8 位，包含小写字母、大写字母、数字和符号中的至少 3 类；用户首次登录须修改。"),
        ),
        forms.CharField(
            label=_("再次输入密码"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
        ),
    )


class UserCreateForm(_PasswordPairMixin, _AssignmentForm):
    username = forms.CharField(
        label=_("用户名"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none"}),
    )
    display_name = forms.CharField(label=_("姓名"), max_length=50)
    password, password2 = _password_fields(_("初始密码"))

    field_order = ["username", "display_name", *_AssignmentForm.ASSIGNMENT_FIELDS, "password", "password2"]


class UserEditForm(_AssignmentForm):
    display_name = forms.CharField(label=_("姓名"), max_length=50)

    field_order = ["display_name", *_AssignmentForm.ASSIGNMENT_FIELDS]


class PasswordResetForm(_PasswordPairMixin, forms.Form):
    password, password2 = _password_fields(_("临时密码"))


class ApiKeyIssueForm(_AssignmentForm):
    """An integration key acts as a service account: a department with its unit, or community,
    subdistrict or district staff with an area."""

    ASSIGNMENT_FIELDS = ("role", "area", "department")
    role_whitelist = frozenset({Role.DEPARTMENT, Role.COMMUNITY_STAFF, Role.SUBDISTRICT_STAFF, Role.DISTRICT_STAFF})

    name = forms.CharField(
        label=_("名称"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("如：12345 热线、供电公司工单系统")}),
    )

    field_order = ["name", "role", "area", "department"]


# Audit log --------------------------------------------------------------------------------------------
# Chinese labels for the action codes written by accounts/auth.py, accounts/services.py and
# areas/services.py. A code without a label is shown as it is, so a new one is never hidden.
AUDIT_ACTION_GROUPS = [
    (
        _("登录与安全"),
        [
            ("auth.login", _("登录")),
            ("auth.login_failed", _("登录失败")),
            ("auth.locked", _("账号锁定")),
            ("auth.login_blocked", _("锁定期间尝试登录")),
            ("auth.unlocked", _("解除锁定")),
            ("auth.logout", _("退出登录")),
            ("auth.otp_failed", _("动态验证码错误")),
            ("auth.otp_enrolled", _("绑定动态验证码")),
            ("auth.password_changed", _("修改密码")),
        ],
    ),
    (
        _("用户管理"),
        [
            ("user.create", _("创建用户")),
            ("user.update", _("修改用户")),
            ("user.password_reset", _("重置密码")),
            ("user.disable", _("停用账号")),
            ("user.enable", _("启用账号")),
        ],
    ),
    (
        _("接口密钥"),
        [
            ("apikey.issue", _("签发接口密钥")),
            ("apikey.revoke", _("撤销接口密钥")),
        ],
    ),
    (
        _("区域与房屋"),
        [
            ("area.create", _("新建区域")),
            ("area.update", _("修改区域")),
            ("area.move", _("调整区域上级")),
            ("area.retire", _("撤销区域")),
            ("estate.create", _("新建小区")),
            ("estate.update", _("修改小区")),
            ("estate.retire", _("撤销小区")),
            ("building.create", _("新建楼栋")),
            ("building.update", _("修改楼栋")),
            ("building.move", _("楼栋调整网格")),
            ("building.retire", _("撤销楼栋")),
            ("unit.create", _("新建单元")),
            ("unit.update", _("修改单元")),
            ("unit.retire", _("撤销单元")),
            ("dwelling.create", _("新建房屋")),
            ("dwelling.update", _("修改房屋")),
            ("dwelling.retire", _("撤销房屋")),
        ],
    ),
]
AUDIT_ACTION_LABELS = {code: label for _group, items in AUDIT_ACTION_GROUPS for code, label in items}
# "prefix.*" picks every action of a kind.
_AUDIT_ACTION_ANY = [
    ("auth.*", _("登录与安全（全部）")),
    ("user.*", _("用户管理（全部）")),
    ("apikey.*", _("接口密钥（全部）")),
]


class AuditFilterForm(forms.Form):
    date_from = forms.DateField(label=_("开始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("结束日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    action = forms.ChoiceField(
        label=_("操作"),
        required=False,
        choices=[("", _("全部操作")), (_("按类别"), _AUDIT_ACTION_ANY), *AUDIT_ACTION_GROUPS],
    )
    q = forms.CharField(
        label=_("操作人或对象"),
        required=False,
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": _("用户名或姓名"), "type": "search"}),
    )
    user = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", _("结束日期不能早于开始日期。"))
        return data
