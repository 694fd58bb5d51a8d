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
    VIEW_RESIDENTS = "view_residents", _("查看居民档案")
    MANAGE_RESIDENTS = "manage_residents", _("登记和修改居民档案")
    IMPORT_RESIDENTS = "import_residents", _("导入居民台账")
    EXPORT_RESIDENTS = "export_residents", _("导出居民名单")
    REVEAL_PII = "reveal_pii", _("查看完整证件号和电话")
    VIEW_SENSITIVE = "view_sensitive", _("查看健康和残疾信息")
    MANAGE_TAGS = "manage_tags", _("管理标签")
    MANAGE_CALENDAR = "manage_calendar", _("维护节假日安排")
    MANAGE_REPLIES = "manage_replies", _("管理常用回复")
    VIEW_TICKET_KPIS = "view_ticket_kpis", _("诉求统计与导出")
    VIEW_VISIT_KPIS = "view_visit_kpis", _("走访统计与导出")


_ALL_PLACES = {Capability.VIEW_PLACES}
# A liaison or building head knows their households and who needs care, but holds no full ID numbers
# and no health details: the least that lets them look after their neighbours (PIPL art. 6).
_NEIGHBOUR = _ALL_PLACES | {Capability.VIEW_RESIDENTS}
# Those who register people and call them back: full values on request (audited), health details.
_CASEWORK = _NEIGHBOUR | {
    Capability.MANAGE_RESIDENTS,
    Capability.EXPORT_RESIDENTS,
    Capability.REVEAL_PII,
    Capability.VIEW_SENSITIVE,
}
# Above the community: read, search, export and reveal, but people are registered by their community.
_OVERSIGHT = _NEIGHBOUR | {Capability.EXPORT_RESIDENTS, Capability.REVEAL_PII, Capability.VIEW_SENSITIVE}
ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    Role.LIAISON: frozenset(_NEIGHBOUR),
    Role.BUILDING_HEAD: frozenset(_NEIGHBOUR),
    # A grid worker is assessed on the visit figures of their grid (coverage, on-time care visits,
    # 脱管漏管) and sees them for that grid; a liaison's few households are the due list itself.
    Role.GRID_WORKER: frozenset(_CASEWORK | {Capability.VIEW_USERS, Capability.VIEW_VISIT_KPIS}),
    Role.COMMUNITY_STAFF: frozenset(
        _CASEWORK
        | {
            Capability.VIEW_USERS,
            Capability.IMPORT_RESIDENTS,
            Capability.VIEW_TICKET_KPIS,
            Capability.VIEW_VISIT_KPIS,
        }
    ),
    Role.COMMUNITY_ADMIN: frozenset(
        _CASEWORK
        | {
            Capability.MANAGE_PLACES,
            Capability.VIEW_USERS,
            Capability.MANAGE_USERS,
            Capability.VIEW_AUDIT,
            Capability.IMPORT_RESIDENTS,
            Capability.MANAGE_TAGS,
            Capability.MANAGE_REPLIES,
            Capability.VIEW_TICKET_KPIS,
            Capability.VIEW_VISIT_KPIS,
        }
    ),
    Role.SUBDISTRICT_STAFF: frozenset(
        _OVERSIGHT
        | {Capability.VIEW_USERS, Capability.VIEW_AUDIT, Capability.VIEW_TICKET_KPIS, Capability.VIEW_VISIT_KPIS}
    ),
    Role.DEPARTMENT: frozenset({Capability.VIEW_USERS}),
    Role.DISTRICT_STAFF: frozenset(
        _OVERSIGHT
        | {
            Capability.MANAGE_TAGS,
            Capability.MANAGE_CALENDAR,
            Capability.MANAGE_PLACES,
            Capability.VIEW_USERS,
            Capability.MANAGE_USERS,
            Capability.VIEW_AUDIT,
            Capability.ISSUE_API_KEYS,
            Capability.MANAGE_REPLIES,
            Capability.VIEW_TICKET_KPIS,
            Capability.VIEW_VISIT_KPIS,
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
