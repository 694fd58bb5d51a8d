"""The area tree (区/县 → 街道/乡镇 → 社区/村 → 网格) and places (小区 → 楼栋 → 单元 → 房屋).
Nothing here is deleted: a node or place is retired, and every change is kept by simple-history."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class AreaLevel(models.TextChoices):
    DISTRICT = "district", _("区/县")
    SUBDISTRICT = "subdistrict", _("街道/乡镇")
    COMMUNITY = "community", _("社区/村")
    GRID = "grid", _("网格")


# Which level a node's parent must have.
PARENT_LEVEL = {
    AreaLevel.DISTRICT: None,
    AreaLevel.SUBDISTRICT: AreaLevel.DISTRICT,
    AreaLevel.COMMUNITY: AreaLevel.SUBDISTRICT,
    AreaLevel.GRID: AreaLevel.COMMUNITY,
}


class ActiveQuerySet(models.QuerySet):
    def active(self):
        return self.filter(retired_at__isnull=True)


class Area(models.Model):
    level = models.CharField(_("层级"), max_length=16, choices=AreaLevel.choices)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # Materialised path of ids, "/1/4/17/": a subtree is `path__startswith`, the one scope query.
    path = models.CharField(max_length=255, db_index=True, editable=False)
    boundary = models.JSONField(_("边界 (GeoJSON)"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    history = HistoricalRecords(excluded_fields=["path"])
    objects = ActiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("区域")
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=Q(parent__isnull=True, level="district") | Q(parent__isnull=False) & ~Q(level="district"),
                name="area_parent_matches_level",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    def scope_area_path(self) -> str:
        return self.path


class Estate(models.Model):
    """小区: belongs to one community; its buildings may lie in several grids."""

    community = models.ForeignKey(
        Area,
        verbose_name=_("社区"),
        on_delete=models.PROTECT,
        related_name="estates",
        limit_choices_to={"level": AreaLevel.COMMUNITY},
    )
    name = models.CharField(_("小区名称"), max_length=100)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    history = HistoricalRecords()
    objects = ActiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("小区")
        ordering = ["community_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["community", "name"], condition=Q(retired_at__isnull=True), name="estate_unique_active_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def scope_area_path(self) -> str:
        return self.community.path


class Building(models.Model):
    """楼栋: belongs to exactly one grid (the grid worker responsible for it)."""

    estate = models.ForeignKey(Estate, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="buildings")
    grid = models.ForeignKey(
        Area,
        verbose_name=_("网格"),
        on_delete=models.PROTECT,
        related_name="buildings",
        limit_choices_to={"level": AreaLevel.GRID},
    )
    name = models.CharField(_("楼栋"), max_length=50, help_text=_("如：3号楼"))
    floors = models.PositiveSmallIntegerField(_("层数"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    history = HistoricalRecords()
    objects = ActiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("楼栋")
        ordering = ["estate_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["estate", "name"], condition=Q(retired_at__isnull=True), name="building_unique_active_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.estate.name}{self.name}"

    def scope_area_path(self) -> str:
        return self.grid.path


class Unit(models.Model):
    """单元 (stairwell entrance) of a building."""

    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="units")
    name = models.CharField(_("单元"), max_length=30, help_text=_("如：2单元"))
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    history = HistoricalRecords()
    objects = ActiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("单元")
        ordering = ["building_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["building", "name"], condition=Q(retired_at__isnull=True), name="unit_unique_active_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.building}{self.name}"

    def scope_area_path(self) -> str:
        return self.building.grid.path


class HousingType(models.TextChoices):
    COMMERCIAL = "commercial", _("商品房")
    RESETTLEMENT = "resettlement", _("安置房")
    PUBLIC_RENTAL = "public_rental", _("公租房/廉租房")
    SELF_BUILT = "self_built", _("自建房")
    BUNGALOW = "bungalow", _("平房")
    SHOP = "shop", _("商铺")
    OTHER = "other", _("其他")


class Dwelling(models.Model):
    """房屋: one home (a household lives here). A bungalow has no unit."""

    building = models.ForeignKey(Building, verbose_name=_("楼栋"), on_delete=models.PROTECT, related_name="dwellings")
    unit = models.ForeignKey(
        Unit, verbose_name=_("单元"), null=True, blank=True, on_delete=models.PROTECT, related_name="dwellings"
    )
    floor = models.SmallIntegerField(_("楼层"), null=True, blank=True)
    room = models.CharField(_("房号"), max_length=20)
    housing_type = models.CharField(
        _("房屋类型"), max_length=20, choices=HousingType.choices, default=HousingType.COMMERCIAL
    )
    floor_area = models.DecimalField(_("面积（㎡）"), max_digits=8, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    history = HistoricalRecords()
    objects = ActiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("房屋")
        ordering = ["building_id", "unit_id", "room"]
        constraints = [
            models.CheckConstraint(
                condition=Q(floor_area__isnull=True) | Q(floor_area__gt=0), name="dwelling_area_positive"
            ),
        ]
        indexes = [models.Index(fields=["building", "unit", "room"], name="dwelling_address")]

    def __str__(self) -> str:
        unit = self.unit.name if self.unit_id else ""
        return f"{self.building}{unit}{self.room}室"

    def scope_area_path(self) -> str:
        return self.building.grid.path
