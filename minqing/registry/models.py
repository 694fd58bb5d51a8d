"""一人一档: residents, households, care tags and the events of a resident's life in the community.

Nothing here is deleted: a resident who moves out or dies keeps their record (status and an event);
every change is kept by simple-history. ID numbers and phones are encrypted at rest; each has a
keyed-hash companion column for exact search (never a unique index on the encrypted column itself,
whose tokens all differ)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Left
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from minqing.areas.models import ActiveQuerySet, Area, AreaLevel, Dwelling
from minqing.core.pii import EncryptedTextField, mask_phone
from minqing.registry.idnumbers import DocumentKind, Sex, mask_document

# GB/T 3304-1991: the 56 ethnic groups, and the two codes for anyone else.
ETHNICITIES = [
    ("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"), ("06", "苗族"),
    ("07", "彝族"), ("08", "壮族"), ("09", "布依族"), ("10", "朝鲜族"), ("11", "满族"), ("12", "侗族"),
    ("13", "瑶族"), ("14", "白族"), ("15", "土家族"), ("16", "哈尼族"), ("17", "哈萨克族"), ("18", "傣族"),
    ("19", "黎族"), ("20", "傈僳族"), ("21", "佤族"), ("22", "畲族"), ("23", "高山族"), ("24", "拉祜族"),
    ("25", "水族"), ("26", "东乡族"), ("27", "纳西族"), ("28", "景颇族"), ("29", "柯尔克孜族"), ("30", "土族"),
    ("31", "达斡尔族"), ("32", "仫佬族"), ("33", "羌族"), ("34", "布朗族"), ("35", "撒拉族"), ("36", "毛南族"),
    ("37", "仡佬族"), ("38", "锡伯族"), ("39", "阿昌族"), ("40", "普米族"), ("41", "塔吉克族"), ("42", "怒族"),
    ("43", "乌孜别克族"), ("44", "俄罗斯族"), ("45", "鄂温克族"), ("46", "德昂族"), ("47", "保安族"),
    ("48", "裕固族"), ("49", "京族"), ("50", "塔塔尔族"), ("51", "独龙族"), ("52", "鄂伦春族"), ("53", "赫哲族"),
    ("54", "门巴族"), ("55", "珞巴族"), ("56", "基诺族"), ("97", "其他"), ("98", "外国血统中国籍人士"),
]  # fmt: skip


class RegistrationType(models.TextChoices):
    HOUSEHOLD = "household", _("户籍")
    FLOATING = "floating", _("流动")
    AWAY = "away", _("外出")
    NOMINAL = "nominal", _("空挂")
    LODGING = "lodging", _("寄住")


class Relation(models.TextChoices):
    """与户主关系 (after GB/T 4761, the groups a ledger uses)."""

    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    SON = "son", _("子")
    DAUGHTER = "daughter", _("女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女")
    GRANDPARENT = "grandparent", _("祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
    OTHER = "other", _("其他")


class PoliticalStatus(models.TextChoices):
    CPC_MEMBER = "cpc_member", _("中共党员")
    CPC_PROBATIONARY = "cpc_probationary", _("中共预备党员")
    CYL_MEMBER = "cyl_member", _("共青团员")
    DEMOCRATIC_PARTY = "democratic_party", _("民主党派")
    NONPARTISAN = "nonpartisan", _("无党派人士")
    MASSES = "masses", _("群众")


class ResidentStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    MOVED_OUT = "moved_out", _("已迁出")
    DECEASED = "deceased", _("已故")


class Tag(models.Model):
    """A care tag (独居老人, 低保, 残疾 …). Shipped defaults have no community; a community adds its
    own. An age tag (`min_age`) is never assigned by hand: it follows from the birth date."""

    community = models.ForeignKey(
        Area,
        verbose_name=_("社区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tags",
        limit_choices_to={"level": AreaLevel.COMMUNITY},
    )
    name = models.CharField(_("标签名称"), max_length=30)
    min_age = models.PositiveSmallIntegerField(_("年龄下限"), null=True, blank=True)
    has_grade = models.BooleanField(_("分等级"), default=False, help_text=_("如残疾：类别和1–4级"))
    sensitive = models.BooleanField(_("敏感信息"), default=False, help_text=_("健康、残疾等信息，仅有权限的角色可见"))
    order = models.PositiveSmallIntegerField(_("排序"), default=100)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(_("停用时间"), null=True, blank=True)

    history = HistoricalRecords()
    objects = ActiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("标签")
        ordering = ["order", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "name"], condition=Q(retired_at__isnull=True), name="tag_unique_active_name"
            ),
            models.UniqueConstraint(
                fields=["name"],
                condition=Q(community__isnull=True, retired_at__isnull=True),
                name="tag_unique_default_name",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_age_tag(self) -> bool:
        return self.min_age is not None


class TagThreshold(models.Model):
    """A community's own age for a shipped age tag (高龄 at 70 instead of 80)."""

    community = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="tag_thresholds", limit_choices_to={"level": AreaLevel.COMMUNITY}
    )
    tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="thresholds")
    min_age = models.PositiveSmallIntegerField(_("年龄下限"))

    history = HistoricalRecords()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["community", "tag"], name="tag_threshold_unique")]


class Household(models.Model):
    """户: the people registered together at one dwelling. A dwelling may hold several (合租, 寄住)."""

    dwelling = models.ForeignKey(Dwelling, verbose_name=_("房屋"), on_delete=models.PROTECT, related_name="households")
    number = models.CharField(_("户号"), max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when the last member has left; the household stays for the record.
    dissolved_at = models.DateTimeField(_("注销时间"), null=True, blank=True)

    history = HistoricalRecords(user_db_constraint=False)  # see Resident.history

    class Meta:
        verbose_name = _("户")
        ordering = ["dwelling_id", "pk"]

    def __str__(self) -> str:
        return str(_("%(dwelling)s 户") % {"dwelling": self.dwelling})

    def scope_area_path(self) -> str:
        return self.dwelling.building.grid.path


class Resident(models.Model):
    household = models.ForeignKey(Household, verbose_name=_("户"), on_delete=models.PROTECT, related_name="members")
    # The dwelling they live in now (or last lived in, once moved out or deceased): scope follows it.
    # Its index is resident_dwelling_status (dwelling first): a second one would only slow imports.
    dwelling = models.ForeignKey(
        Dwelling, verbose_name=_("房屋"), on_delete=models.PROTECT, related_name="residents", db_index=False
    )
    relation = models.CharField(_("与户主关系"), max_length=20, choices=Relation.choices, default=Relation.HEAD)

    # The name and the initials are searched by prefix only (name__startswith, initials__startswith):
    # their indexes, in Meta, are the varchar_pattern_ops ones such a search uses on PostgreSQL, without
    # the plain twin db_index would add, which no query reads and every import keeps up.
    name = models.CharField(_("姓名"), max_length=50)
    # For search: "zhangjie" and "zj" find 张杰. Derived from the name, never typed.
    # db_index: the plain index for the pinyin range and order, and the pattern one for its prefix.
    name_pinyin = models.CharField(max_length=200, editable=False, db_index=True)
    name_initials = models.CharField(max_length=50, editable=False)

    document_kind = models.CharField(
        _("证件类型"), max_length=20, choices=DocumentKind.choices, default=DocumentKind.CITIZEN_ID
    )
    id_number = EncryptedTextField(_("证件号码"), blank=True, default="", mask="document")
    # The keyed hashes are matched whole, never by prefix: their indexes are declared in Meta, where
    # PostgreSQL gets no varchar_pattern_ops twin to keep up on every write.
    id_number_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, blank=True)
    phone = EncryptedTextField(_("联系电话"), blank=True, default="", mask="phone")
    phone_hash = models.CharField(max_length=64, null=True, blank=True, editable=False)

    ethnicity = models.CharField(_("民族"), max_length=2, choices=ETHNICITIES, blank=True)
    registration_type = models.CharField(
        _("户籍类型"), max_length=20, choices=RegistrationType.choices, default=RegistrationType.HOUSEHOLD
    )
    political_status = models.CharField(_("政治面貌"), max_length=20, choices=PoliticalStatus.choices, blank=True)
    occupation = models.CharField(_("职业"), max_length=100, blank=True)
    employer = models.CharField(_("工作单位"), max_length=200, blank=True)
    skills = models.CharField(_("特长技能"), max_length=200, blank=True)
    willing_to_serve = models.BooleanField(_("愿意参与社区事务"), default=False)
    notes = models.TextField(_("备注"), blank=True)
    # Health is sensitive personal information (PIPL art. 28): shown only to roles that need it.
    health_notes = models.TextField(_("健康状况"), blank=True)

    status = models.CharField(_("状态"), max_length=20, choices=ResidentStatus.choices, default=ResidentStatus.ACTIVE)
    moved_in_on = models.DateField(_("迁入日期"), null=True, blank=True)
    left_on = models.DateField(_("迁出/死亡日期"), null=True, blank=True)
    left_to = models.CharField(_("迁往何处"), max_length=200, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # The history is read by resident (its id index); no page looks it up by name or place.
    # Its user is not a database constraint: a ledger import writes a history row per resident, each
    # of which PostgreSQL would check against the user at COMMIT; history rows are only ever appended
    # and a deleted user's are set to NULL by Django (on_delete=SET_NULL) all the same.
    history = HistoricalRecords(
        excluded_fields=["name_pinyin", "name_initials", "id_number_hash", "phone_hash"],
        no_db_index=["name", "dwelling", "household"],
        user_db_constraint=False,
    )

    class Meta:
        verbose_name = _("居民")
        ordering = ["dwelling_id", "household_id", "pk"]
        indexes = [
            models.Index(fields=["birth_date"], name="resident_birth_date"),
            models.Index(fields=["dwelling", "status"], name="resident_dwelling_status"),
            models.Index(fields=["phone_hash"], name="resident_phone_hash"),
            # A search for a surname (张) over a whole district lists its first page in pinyin order
            # straight from this index instead of sorting every 张 (bench/RESULTS.md).
            models.Index(Left("name", 1), F("name_pinyin"), name="resident_surname_pinyin"),
            # On SQLite (no operator classes) these are plain indexes, which its LIKE prefix search uses.
            models.Index(fields=["name"], name="resident_name_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["name_initials"], name="resident_initials_prefix", opclasses=["varchar_pattern_ops"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["id_number_hash"], name="resident_id_number_hash_unique"),
            models.CheckConstraint(
                condition=Q(status="active") | Q(left_on__isnull=False), name="resident_left_has_date"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def scope_area_path(self) -> str:
        return self.dwelling.building.grid.path

    @property
    def is_active(self) -> bool:
        return self.status == ResidentStatus.ACTIVE

    # What every page, list, export and API answer shows unless a reveal was asked for.
    @property
    def id_number_masked(self) -> str:
        return mask_document(self.document_kind, self.id_number)

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone)

    def age_on(self, day) -> int | None:
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


class ResidentTag(models.Model):
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="tag_links")
    tag = models.ForeignKey(Tag, verbose_name=_("标签"), on_delete=models.PROTECT, related_name="resident_links")
    grade = models.PositiveSmallIntegerField(_("等级"), null=True, blank=True)
    detail = models.CharField(_("类别/说明"), max_length=50, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    history = HistoricalRecords(user_db_constraint=False)  # see Resident.history

    class Meta:
        verbose_name = _("居民标签")
        constraints = [
            models.UniqueConstraint(fields=["resident", "tag"], name="resident_tag_unique"),
            models.CheckConstraint(
                condition=Q(grade__isnull=True) | Q(grade__gte=1, grade__lte=4), name="resident_tag_grade_1_4"
            ),
        ]

    def __str__(self) -> str:
        if self.grade:
            return f"{self.tag.name}（{self.detail}{self.grade}级）"
        return f"{self.tag.name}（{self.detail}）" if self.detail else self.tag.name


class EventKind(models.TextChoices):
    REGISTERED = "registered", _("登记")
    MOVED_IN = "moved_in", _("迁入")
    MOVED_OUT = "moved_out", _("迁出")
    DWELLING_CHANGED = "dwelling_changed", _("换房")
    DECEASED = "deceased", _("死亡")
    RETURNED = "returned", _("回迁")


class ResidentEvent(models.Model):
    """A dated step in a resident's life here. `dwelling` is where it happened (the home arrived at, or
    left); a change of dwelling also names the one left in `from_dwelling`."""

    # No database constraint: PostgreSQL checks a foreign key by locking the resident's row (FOR KEY
    # SHARE), a write to the wide resident table again, at COMMIT for each of the 100,000 events a
    # ledger import writes (as tickets.DeadlineMark). Events are only ever appended, by the services
    # that have just written or read their resident, and residents are never deleted.
    resident = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="events", db_constraint=False)
    kind = models.CharField(_("事项"), max_length=20, choices=EventKind.choices)
    occurred_on = models.DateField(_("日期"))
    # Its index is resident_event_dwelling (dwelling first): a second one would only slow imports.
    dwelling = models.ForeignKey(Dwelling, on_delete=models.PROTECT, related_name="resident_events", db_index=False)
    from_dwelling = models.ForeignKey(
        Dwelling, null=True, blank=True, on_delete=models.PROTECT, related_name="resident_departures"
    )
    destination = models.CharField(_("去向"), max_length=200, blank=True)
    note = models.CharField(_("说明"), max_length=500, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("居民变动")
        ordering = ["-occurred_on", "-pk"]
        indexes = [models.Index(fields=["dwelling", "kind"], name="resident_event_dwelling")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on}"


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("已上传")
    PREVIEWING = "previewing", _("正在预检")
    PREVIEWED = "previewed", _("待确认")
    COMMITTING = "committing", _("正在导入")
    COMMITTED = "committed", _("已导入")
    FAILED = "failed", _("失败")


class LedgerImport(models.Model):
    """One upload of a 居民信息台账: previewed first, then committed whole. The file is kept until the
    import is done so the background task (and a second look at the preview) reads the same bytes."""

    community = models.ForeignKey(
        Area, verbose_name=_("社区"), on_delete=models.PROTECT, limit_choices_to={"level": AreaLevel.COMMUNITY}
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(upload_to="imports/%Y/%m/")
    file_name = models.CharField(_("文件名"), max_length=200)
    status = models.CharField(_("状态"), max_length=20, choices=ImportStatus.choices, default=ImportStatus.UPLOADED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    report = models.JSONField(default=list, blank=True)  # one entry per row, as the CLI's --report
    error_file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    failure = models.TextField(blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("台账导入")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name

    def scope_area_path(self) -> str:
        return self.community.path
