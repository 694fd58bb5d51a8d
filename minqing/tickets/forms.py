"""Forms of the demand pages. They parse what was typed and hand raw values to the services, where the
rules live (a received time in the future, a place out of scope, a note a step needs); a service's
ApplicationError is shown next to the field it names."""

from django import forms
from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import Role
from minqing.core.forms import photos_field
from minqing.tickets import lifecycle
from minqing.tickets.lifecycle import Status
from minqing.tickets.models import Channel, Urgency
from minqing.tickets.selectors import TicketFilters

_BLANK = [("", "—")]
_DATE = {"type": "date"}

# Channels a signed-in user registers through this page (the portal, the hotline and platforms have
# their own intake), and the one each role starts with.
INTAKE_CHANNELS = [Channel.DESK, Channel.PHONE, Channel.VISIT, Channel.GRID_PATROL, Channel.LIAISON]
DEFAULT_CHANNEL = {
    Role.LIAISON: Channel.LIAISON,
    Role.BUILDING_HEAD: Channel.LIAISON,
    Role.GRID_WORKER: Channel.GRID_PATROL,
}


def category_choices(categories) -> list:
    """The tree as a grouped select: a top node with children is a group of its leaves; a top node
    without children is an option of its own."""
    children: dict[int, list] = {}
    tops = []
    for c in categories:
        if c.parent_id is None:
            tops.append(c)
        else:
            children.setdefault(c.parent_id, []).append(c)
    choices = list(_BLANK)
    for top in tops:
        leaves = children.get(top.pk)
        if leaves:
            choices.append((top.name, [(c.pk, c.name) for c in leaves]))
        else:
            choices.append((top.pk, top.name))
    return choices


def _options(choices):
    return _BLANK + [(str(v), str(label)) for v, label in choices]


class IntakeForm(forms.Form):
    """登记诉求. Place: a dwelling, else a building, else an area (the user's own when nothing is chosen).
    Reporter: a resident found by search, or a name and phone."""

    category = forms.TypedChoiceField(label=_("诉求分类"), coerce=int)
    channel = forms.ChoiceField(label=_("渠道"), choices=[(c.value, c.label) for c in INTAKE_CHANNELS])
    urgency = forms.ChoiceField(
        label=_("紧急程度"), choices=Urgency.choices, initial=Urgency.NORMAL, widget=forms.RadioSelect
    )
    description = forms.CharField(label=_("诉求内容"), max_length=5000, widget=forms.Textarea(attrs={"rows": 4}))
    area = forms.TypedChoiceField(label=_("所在网格"), required=False, coerce=int, empty_value=None)
    photos = photos_field()
    building = forms.TypedChoiceField(label=_("楼栋"), required=False, coerce=int, empty_value=None)
    dwelling = forms.TypedChoiceField(label=_("房屋"), required=False, coerce=int, empty_value=None)
    reporter_q = forms.CharField(
        label=_("查找反映人（姓名 / 拼音 / 电话）"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off", "autocapitalize": "off"}),
    )
    reporter_resident = forms.ModelChoiceField(label=_("登记在册的居民"), required=False, queryset=None)
    reporter_name = forms.CharField(label=_("或反映人姓名"), required=False, max_length=50)
    reporter_phone = forms.CharField(
        label=_("联系电话"), required=False, max_length=30, widget=forms.TextInput({"inputmode": "tel"})
    )
    received_at = forms.DateTimeField(
        label=_("实际接收时间"),
        required=False,
        help_text=_("纸质记录补录时填写，不能晚于现在；期限从此时起算。不填则为现在。"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )

    PLACE_FIELDS = ("area", "building", "dwelling")
    REPORTER_FIELDS = ("reporter_q", "reporter_resident", "reporter_name", "reporter_phone")

    def __init__(self, *args, user, categories, areas, buildings, dwellings, residents, resident_hits=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = category_choices(categories)
        self.fields["channel"].initial = DEFAULT_CHANNEL.get(user.role, Channel.DESK)
        self.fields["area"].choices = _BLANK + [(a.pk, a.name) for a in areas]
        self.fields["area"].help_text = _("不选楼栋和房屋时按此处登记；都不选则为本人所在区域。")
        groups: dict[str, list] = {}
        for b in buildings:
            groups.setdefault(b.estate.name, []).append((b.pk, b.name))
        self.fields["building"].choices = _BLANK + list(groups.items())
        by_building: dict[str, list] = {}
        for d in dwellings:
            by_building.setdefault(str(d.building), []).append((d.pk, f"{d.unit.name if d.unit_id else ''}{d.room}"))
        self.fields["dwelling"].choices = _BLANK + list(by_building.items())
        if not dwellings:
            self.fields["dwelling"].help_text = _("先选楼栋，再选房屋。")
        field = self.fields["reporter_resident"]
        field.queryset = residents  # scoped: a resident out of scope is "not a valid choice"
        field.choices = _BLANK + [(r.pk, f"{r.name} · {r.dwelling}") for r in resident_hits]
        if user.role not in lifecycle.STAFF:
            del self.fields["received_at"]  # only staff enter yesterday's paper note

    def place_fields(self):
        return [self[name] for name in self.PLACE_FIELDS]

    def reporter_fields(self):
        return [self[name] for name in self.REPORTER_FIELDS]

    def main_fields(self):
        return [self[name] for name in ("category", "channel", "urgency", "description")]

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "category": data["category"],
            "channel": data["channel"],
            "urgency": data["urgency"],
            "description": data["description"],
            "received_at": data.get("received_at"),
            "dwelling": data.get("dwelling"),
            "building": data.get("building"),
            "area": data.get("area"),
            "reporter_resident": data.get("reporter_resident"),
            "reporter_name": data.get("reporter_name") or "",
            "reporter_phone": data.get("reporter_phone") or "",
            "photos": data.get("photos") or [],
        }


DUE_CHOICES = [("", "—"), ("soon", _("临期")), ("overdue", _("超期"))]
STATUS_OPEN = "open"


class ListFilterForm(forms.Form):
    """Filters of 全部 (every one optional)."""

    q = forms.CharField(
        label=_("编号或内容"),
        required=False,
        max_length=50,
        widget=forms.TextInput(attrs={"type": "search", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    status = forms.ChoiceField(
        label=_("状态"), required=False, choices=_BLANK + [(STATUS_OPEN, _("未办结"))] + list(Status.choices)
    )
    due = forms.ChoiceField(label=_("期限"), required=False, choices=DUE_CHOICES)
    category = forms.TypedChoiceField(label=_("分类"), required=False, coerce=int, empty_value=None)
    channel = forms.ChoiceField(label=_("渠道"), required=False, choices=_options(Channel.choices))
    urgency = forms.ChoiceField(label=_("紧急程度"), required=False, choices=_options(Urgency.choices))
    received_from = forms.DateField(label=_("接收日期从"), required=False, widget=forms.DateInput(_DATE))
    received_to = forms.DateField(label=_("接收日期到"), required=False, widget=forms.DateInput(_DATE))
    department = forms.TypedChoiceField(label=_("承办单位"), required=False, coerce=int, empty_value=None)
    handler = forms.TypedChoiceField(label=_("办理网格员"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, categories, departments=(), handlers=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Filtering by a top node takes its leaves too: each group starts with "(全部)".
        choices = []
        tops = {c.name: c for c in categories if c.parent_id is None}
        for value, label in category_choices(categories):
            if isinstance(label, list):
                label = [(tops[value].pk, _("%(name)s（全部）") % {"name": value}), *label]
            choices.append((value, label))
        self.fields["category"].choices = choices
        if departments:
            self.fields["department"].choices = _BLANK + [(d.pk, d.name) for d in departments]
        else:
            del self.fields["department"]
        if handlers:
            self.fields["handler"].choices = _BLANK + [(u.pk, u.display_name) for u in handlers]
        else:
            del self.fields["handler"]

    def clean(self):
        data = super().clean()
        low, high = data.get("received_from"), data.get("received_to")
        if low and high and low > high:
            self.add_error("received_to", _("结束日期不能早于开始日期。"))
        return data

    def filters(self) -> TicketFilters:
        data = self.cleaned_data
        status = data.get("status")
        return TicketFilters(
            q=data.get("q") or "",
            status=tuple(sorted(lifecycle.OPEN_STATES)) if status == STATUS_OPEN else (status,) if status else (),
            category=data.get("category"),
            channel=data.get("channel") or "",
            urgency=data.get("urgency") or "",
            due=data.get("due") or "",
            received_from=data.get("received_from"),
            received_to=data.get("received_to"),
            department=data.get("department"),
            handler=data.get("handler"),
        )


class StepForm(forms.Form):
    """One lifecycle step. The fields a step needs are added by step (see __init__)."""

    note = forms.CharField(label=_("说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, action: lifecycle.Action, departments=(), handlers=(), categories=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action
        code = action.code
        if action.needs_note:
            # Required here too, but the service decides (its message names the step).
            self.fields["note"].label = _("说明（必填）")
        if code in ("dispatch", "reroute"):
            self.fields["department"] = forms.TypedChoiceField(
                label=_("改派给承办单位") if code == "reroute" else _("派给承办单位"),
                required=False,
                coerce=int,
                empty_value=None,
                choices=_BLANK + [(d.pk, d.name) for d in departments],
            )
            self.fields["handler"] = forms.TypedChoiceField(
                label=_("或派给网格员"),
                required=False,
                coerce=int,
                empty_value=None,
                choices=_BLANK + [(u.pk, f"{u.display_name} · {u.area.name if u.area_id else ''}") for u in handlers],
            )
        elif code == "whistle":
            self.fields["departments"] = forms.TypedMultipleChoiceField(
                label=_("吹哨：召集的部门"),
                required=False,
                coerce=int,
                choices=[(d.pk, d.name) for d in departments],
                widget=forms.CheckboxSelectMultiple,
            )
        elif code == "recategorise":
            self.fields["category"] = forms.TypedChoiceField(
                label=_("改为分类"), coerce=int, choices=category_choices(categories)
            )
        elif code == "merge":
            self.fields["into"] = forms.CharField(
                label=_("合并到诉求（编号）"),
                max_length=20,
                widget=forms.TextInput(attrs={"autocapitalize": "characters", "placeholder": "MQ20251031-0042"}),
            )
        elif code == "evaluate":
            from minqing.tickets.services import RATINGS

            self.fields["rating"] = forms.ChoiceField(
                label=_("居民评价"), choices=list(RATINGS.items()), widget=forms.RadioSelect
            )
            self.fields["comment"] = forms.CharField(label=_("评价意见"), required=False, max_length=500)
        if code in ("reroute", "recategorise"):
            from minqing.tickets import routing

            restart = routing.RESTART_ON_REROUTE if code == "reroute" else routing.RESTART_ON_RECATEGORISE
            self.fields["restart_deadline"] = forms.BooleanField(
                label=_("办结期限从现在重新计算"),
                required=False,
                initial=restart,
                help_text=_("改派默认重新计算（错派不是新承办单位的责任）；改分类默认按原接收时间计算。"),
            )
        if code not in ("evaluate", "merge", "resume"):
            self.fields["photos"] = photos_field()  # a handler's photo of the work done, with the step
        # The note last: it is what the reply templates fill (the photos after it).
        self.order_fields([name for name in self.fields if name not in ("note", "photos")] + ["note", "photos"])

    def params(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k != "note" and v not in (None, "", [])}


BULK_CHOICES = [("accept", _("受理")), ("dispatch", _("派单")), ("close", _("销号"))]


class BulkForm(forms.Form):
    action = forms.ChoiceField(label=_("批量操作"), choices=BULK_CHOICES)
    department = forms.TypedChoiceField(label=_("派给承办单位"), required=False, coerce=int, empty_value=None)
    note = forms.CharField(label=_("说明"), required=False, max_length=2000)

    def __init__(self, *args, departments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = _BLANK + [(d.pk, d.name) for d in departments]


class ReplyTemplateForm(forms.Form):
    title = forms.CharField(label=_("标题"), max_length=50)
    text = forms.CharField(label=_("回复内容"), max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    action = forms.ChoiceField(
        label=_("适用步骤"),
        required=False,
        choices=[("", _("任何步骤"))] + [(a.code, a.label) for a in lifecycle.ACTIONS.values() if a.needs_note],
    )
