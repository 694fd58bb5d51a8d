"""Roles and what each may do. One table: pages, the API and navigation all ask it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    GRID_WORKER = "grid_worker", _("网格员")
    LIAISON = "liaison", _("联户长")
    BUILDING_HEAD = "building_head", _("楼栋长")
    COMMUNITY_STAFF = "community_staff", _("社区工作者")
    COMMUNITY_ADMIN = "community_admin", _("社区书记/主任")
    SUBDISTRICT_STAFF = "subdistrict_staff", _("街道综治中心")
    DEPARTMENT = "department", _("职能部门")
    DISTRICT_STAFF = "district_staff", _("区级/12345中心")


class Capability(models.TextChoices):
    VIEW_PLACES = "view_places", _("查看小区和房屋")
    MANAGE_PLACES = "manage_places", _("管理网格和房屋")
    VIEW_USERS = "view_users", _("查看用户")
    MANAGE_USERS = "manage_users", _("管理用户")
    VIEW_AUDIT = "view_audit", _("查询审计日志")
    ISSUE_API_KEYS = "issue_api_keys", _("签发接口密钥")


_ALL_PLACES = {Capability.VIEW_PLACES}
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.LIAISON: frozenset(_ALL_PLACES),
    Role.BUILDING_HEAD: frozenset(_ALL_PLACES),
    Role.GRID_WORKER: frozenset(_ALL_PLACES | {Capability.VIEW_USERS}),
    Role.COMMUNITY_STAFF: frozenset(_ALL_PLACES | {Capability.VIEW_USERS}),
    Role.COMMUNITY_ADMIN: frozenset(
        _ALL_PLACES | {Capability.MANAGE_PLACES, Capability.VIEW_USERS, Capability.MANAGE_USERS, Capability.VIEW_AUDIT}
    ),
    Role.SUBDISTRICT_STAFF: frozenset(_ALL_PLACES | {Capability.VIEW_USERS, Capability.VIEW_AUDIT}),
    Role.DEPARTMENT: frozenset({Capability.VIEW_USERS}),
    Role.DISTRICT_STAFF: frozenset(
        _ALL_PLACES
        | {
            Capability.MANAGE_PLACES,
            Capability.VIEW_USERS,
            Capability.MANAGE_USERS,
            Capability.VIEW_AUDIT,
            Capability.ISSUE_API_KEYS,
        }
    ),
}

# 等保 level 3: a second factor for the roles that administer users and the whole district.
MFA_REQUIRED_ROLES = frozenset({Role.COMMUNITY_ADMIN, Role.DISTRICT_STAFF})

# The area level a role's node must have.
ROLE_AREA_LEVEL = {
    Role.GRID_WORKER: "grid",
    Role.LIAISON: "grid",
    Role.BUILDING_HEAD: "grid",
    Role.COMMUNITY_STAFF: "community",
    Role.COMMUNITY_ADMIN: "community",
    Role.SUBDISTRICT_STAFF: "subdistrict",
    Role.DISTRICT_STAFF: "district",
    Role.DEPARTMENT: None,  # attached to its unit, which serves an area
}

# Which roles a manager may create: a community admin staffs its own community only.
ROLE_MANAGEABLE_BY = {
    Role.COMMUNITY_ADMIN: frozenset(
        {Role.GRID_WORKER, Role.LIAISON, Role.BUILDING_HEAD, Role.COMMUNITY_STAFF, Role.COMMUNITY_ADMIN}
    ),
    Role.DISTRICT_STAFF: frozenset(Role.values),
}


def has_capability(user, capability: str) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return capability in ROLE_CAPABILITIES.get(user.role, frozenset())
