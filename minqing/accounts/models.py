import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from minqing.accounts.roles import MFA_REQUIRED_ROLES, Role
from minqing.areas.models import Area, Building, Dwelling


class DepartmentKind(models.TextChoices):
    POWER = "power", _("供电")
    LANDSCAPE = "landscape", _("园林")
    POLICE = "police", _("派出所")
    JUDICIAL = "judicial", _("司法所")
    COURT = "court", _("法庭")
    PROPERTY = "property", _("物业")
    WATER = "water", _("供水/排水")
    HOUSING = "housing", _("住建")
    CIVIL_AFFAIRS = "civil_affairs", _("民政")
    OTHER = "other", _("其他")


class Department(models.Model):
    """职能部门 / 驻区单位: a unit demands are dispatched or 'whistled' to."""

    name = models.CharField(_("单位名称"), max_length=100)
    code = models.CharField(_("编码"), max_length=32, unique=True)
    kind = models.CharField(_("类别"), max_length=20, choices=DepartmentKind.choices)
    area = models.ForeignKey(Area, verbose_name=_("服务区域"), on_delete=models.PROTECT, related_name="departments")
    phone = models.CharField(_("联系电话"), max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("职能部门")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def scope_area_path(self) -> str:
        return self.area.path


class User(AbstractUser):
    display_name = models.CharField(_("姓名"), max_length=50)
    role = models.CharField(_("角色"), max_length=24, choices=Role.choices)
    area = models.ForeignKey(
        Area, verbose_name=_("所属区域"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("所属单位"), null=True, blank=True, on_delete=models.PROTECT, related_name="staff"
    )
    # A liaison (联户长) looks after ~16 dwellings; a building head (楼栋长) after whole buildings.
    dwellings = models.ManyToManyField(Dwelling, verbose_name=_("包联房屋"), blank=True, related_name="liaisons")
    buildings = models.ManyToManyField(Building, verbose_name=_("负责楼栋"), blank=True, related_name="building_heads")
    locked_until = models.DateTimeField(_("锁定至"), null=True, blank=True)
    # Failures before this moment no longer count towards a lock (set by a sign-in or an unlock).
    failures_reset_at = models.DateTimeField(null=True, blank=True)
    # Demo accounts only: admin roles skip the second factor, and every page says so.
    mfa_exempt = models.BooleanField(_("免二次验证（演示）"), default=False)
    must_change_password = models.BooleanField(_("下次登录须修改密码"), default=False)
    # The principal behind an integration API key: never signs in with a password.
    is_service = models.BooleanField(_("接口账号"), default=False)

    history = HistoricalRecords(
        excluded_fields=["last_login", "password", "failures_reset_at"], m2m_fields=[dwellings, buildings]
    )

    class Meta:
        verbose_name = _("用户")
        ordering = ["username"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_superuser=True) | ~Q(role="department") | Q(department__isnull=False),
                name="user_department_role_has_unit",
            ),
            models.CheckConstraint(
                condition=Q(is_superuser=True) | Q(role="department") | Q(area__isnull=False),
                name="user_staff_role_has_area",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def requires_mfa(self) -> bool:
        return self.role in MFA_REQUIRED_ROLES and not self.mfa_exempt and not self.is_service

    def is_locked(self, now=None) -> bool:
        return self.locked_until is not None and self.locked_until > (now or timezone.now())

    def scope_area_path(self) -> str:
        if self.area_id:
            return self.area.path
        if self.department_id:
            return self.department.area.path
        return ""


class ApiToken(models.Model):
    """A bearer token. Sign-in tokens expire like a session; integration keys (a department system,
    the 12345 hotline) are issued by district staff to a service account that carries the scope."""

    class Kind(models.TextChoices):
        SESSION = "session", _("登录令牌")
        INTEGRATION = "integration", _("接口密钥")

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=100, blank=True)
    # Only a hash is stored: a database dump does not hand out working tokens.
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    issued_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("接口令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name or self.get_kind_display()} ({self.prefix}…)"

    @staticmethod
    def hash_key(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()
