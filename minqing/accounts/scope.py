"""Who may see what — the one place where scope is decided.

A staff member sees the subtree of the area node they are attached to; the role narrows it:
a liaison (联户长) sees only the dwellings they look after, a building head (楼栋长) only their
buildings, a department only its own unit. Every selector, page, export and API endpoint filters
through the Q objects built here, so an object out of scope is simply not found.
"""

from dataclasses import dataclass

from django.db.models import Q

from minqing.accounts.roles import Role
from minqing.areas.models import AreaLevel, Building, Dwelling

_NOTHING = Q(pk__in=[])
# The roles whose demands are those placed in their area's subtree (ticket_q's last line).
_FIGURES_ROLES = frozenset({Role.COMMUNITY_STAFF, Role.COMMUNITY_ADMIN, Role.SUBDISTRICT_STAFF, Role.DISTRICT_STAFF})


@dataclass(frozen=True)
class Scope:
    role: str
    area_path: str | None  # subtree root; None for no area at all
    dwelling_ids: frozenset[int] | None = None  # liaison narrowing
    building_ids: frozenset[int] | None = None  # building head narrowing
    department_id: int | None = None
    user_id: int | None = None

    @property
    def by_dwelling(self) -> bool:
        return self.role == Role.LIAISON

    @property
    def by_building(self) -> bool:
        return self.role == Role.BUILDING_HEAD

    @property
    def is_department(self) -> bool:
        return self.role == Role.DEPARTMENT


def scope_of(user) -> Scope | None:
    """The user's scope, computed once per user object (one request)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    cached = getattr(user, "_minqing_scope", None)
    if cached is not None:
        return cached
    area_path = None
    if user.role == Role.DEPARTMENT and user.department_id:
        area_path = user.department.area.path
    elif user.area_id:
        area_path = user.area.path
    scope = Scope(
        role=user.role,
        area_path=area_path,
        dwelling_ids=frozenset(user.dwellings.values_list("pk", flat=True)) if user.role == Role.LIAISON else None,
        building_ids=frozenset(user.buildings.values_list("pk", flat=True))
        if user.role == Role.BUILDING_HEAD
        else None,
        department_id=user.department_id,
        user_id=user.pk,
    )
    user._minqing_scope = scope
    return scope


def _p(prefix: str, field: str) -> str:
    return f"{prefix}__{field}" if prefix else field


def area_q(user, prefix: str = "") -> Q:
    """Area nodes. Liaisons and building heads see the grids their places lie in."""
    s = scope_of(user)
    if s is None or s.area_path is None:
        return _NOTHING
    # Subqueries rather than joins, so no list ever shows a row twice.
    if s.by_dwelling:
        return Q(**{_p(prefix, "pk__in"): _liaison_dwellings(s).values("building__grid_id")})
    if s.by_building:
        return Q(**{_p(prefix, "pk__in"): _head_buildings(s).values("grid_id")})
    return Q(**{_p(prefix, "path__startswith"): s.area_path})


def building_q(user, prefix: str = "") -> Q:
    s = scope_of(user)
    if s is None or s.area_path is None or s.is_department:
        return _NOTHING
    if s.by_dwelling:
        return Q(**{_p(prefix, "pk__in"): _liaison_dwellings(s).values("building_id")})
    if s.by_building:
        return Q(**{_p(prefix, "pk__in"): s.building_ids})
    return Q(**{_p(prefix, "grid__path__startswith"): s.area_path})


def dwelling_q(user, prefix: str = "") -> Q:
    s = scope_of(user)
    if s is None or s.area_path is None or s.is_department:
        return _NOTHING
    if s.by_dwelling:
        return Q(**{_p(prefix, "pk__in"): s.dwelling_ids})
    if s.by_building:
        return Q(**{_p(prefix, "building__in"): s.building_ids})
    return Q(**{_p(prefix, "building__grid__path__startswith"): s.area_path})


def unit_q(user, prefix: str = "") -> Q:
    s = scope_of(user)
    if s is None or s.area_path is None or s.is_department:
        return _NOTHING
    if s.by_dwelling:
        return Q(**{_p(prefix, "pk__in"): _liaison_dwellings(s).values("unit_id")})
    if s.by_building:
        return Q(**{_p(prefix, "building__in"): s.building_ids})
    return Q(**{_p(prefix, "building__grid__path__startswith"): s.area_path})


def estate_q(user, prefix: str = "") -> Q:
    """Estates: a community-level role sees its communities' estates; a grid worker those with a
    building in the grid; a liaison or building head those holding their places."""
    s = scope_of(user)
    if s is None or s.area_path is None or s.is_department:
        return _NOTHING
    if s.by_dwelling:
        return Q(**{_p(prefix, "pk__in"): _liaison_dwellings(s).values("building__estate_id")})
    if s.by_building:
        return Q(**{_p(prefix, "pk__in"): _head_buildings(s).values("estate_id")})
    if s.role == Role.GRID_WORKER:
        return Q(
            **{_p(prefix, "pk__in"): Building.objects.filter(grid__path__startswith=s.area_path).values("estate_id")}
        )
    return Q(**{_p(prefix, "community__path__startswith"): s.area_path})


def resident_q(user, prefix: str = "") -> Q:
    """Residents and households follow their dwelling: whoever sees the home sees who lives there
    (a moved-out or deceased resident stays on the last dwelling, so their record stays with it)."""
    return dwelling_q(user, _p(prefix, "dwelling"))


household_q = resident_q


def visit_q(user, prefix: str = "") -> Q:
    """Visits follow the household's dwelling, like the household itself: a liaison sees the visits
    to their households (whoever made them), a grid worker those in the grid."""
    return dwelling_q(user, _p(prefix, "household__dwelling"))


def tag_q(user, prefix: str = "") -> Q:
    """Care tags: the shipped defaults, and the own tags of every community the user works in (a
    liaison or grid worker those of their community)."""
    s = scope_of(user)
    if s is None or s.area_path is None or s.is_department:
        return _NOTHING
    shipped = Q(**{_p(prefix, "community__isnull"): True})
    if s.by_dwelling or s.by_building or s.role == Role.GRID_WORKER:
        community_path = "/".join(s.area_path.split("/")[:-2]) + "/"  # the grid's parent
        return shipped | Q(**{_p(prefix, "community__path"): community_path})
    return shipped | Q(**{_p(prefix, "community__path__startswith"): s.area_path})


def ledger_import_q(user, prefix: str = "") -> Q:
    """Ledger imports: those of communities in the user's subtree (liaisons, building heads and grid
    workers never import)."""
    s = scope_of(user)
    if s is None or s.area_path is None or s.is_department or s.by_dwelling or s.by_building:
        return _NOTHING
    if s.role == Role.GRID_WORKER:
        return _NOTHING
    return Q(**{_p(prefix, "community__path__startswith"): s.area_path})


def ticket_q(user, prefix: str = "") -> Q:
    """Demands: staff and grid workers those of their subtree; a department those dispatched or
    whistled to its unit; a liaison or building head those about their places or reported by them."""
    s = scope_of(user)
    if s is None:
        return _NOTHING
    if s.is_department:
        if s.department_id is None:
            return _NOTHING
        from minqing.tickets.models import Whistle  # tickets builds on accounts, not the other way

        # A subquery, not a join: a demand whistled to the unit and also dispatched to it is one row.
        return Q(**{_p(prefix, "department_id"): s.department_id}) | Q(
            **{_p(prefix, "pk__in"): Whistle.objects.filter(department_id=s.department_id).values("ticket_id")}
        )
    if s.area_path is None:
        return _NOTHING
    own = Q(**{_p(prefix, "created_by_id"): s.user_id})
    if s.by_dwelling:
        return own | Q(**{_p(prefix, "dwelling_id__in"): s.dwelling_ids})
    if s.by_building:
        return (
            own
            | Q(**{_p(prefix, "building_id__in"): s.building_ids})
            | Q(**{_p(prefix, "dwelling__building_id__in"): s.building_ids})
        )
    return Q(**{_p(prefix, "area_path__startswith"): s.area_path})


def ticket_figures_path(user) -> str | None:
    """The subtree whose demands are exactly the user's, when it is a community or larger (the grain of
    the figures' cube, tickets.models.TicketFigures); None where the scope is cut otherwise (a grid, a
    unit's demands, a liaison's households), and the figures are then counted live."""
    s = scope_of(user)
    if s is None or s.area_path is None or s.role not in _FIGURES_ROLES:
        return None
    if user.area.level not in (AreaLevel.COMMUNITY, AreaLevel.SUBDISTRICT, AreaLevel.DISTRICT):
        return None
    return s.area_path


def user_q(user, prefix: str = "") -> Q:
    """Accounts: staff see the accounts attached inside their subtree (district staff also the
    departments serving it); a department its own unit; a liaison or building head only itself."""
    s = scope_of(user)
    if s is None:
        return _NOTHING
    own = Q(**{_p(prefix, "pk"): s.user_id})
    if s.by_dwelling or s.by_building or s.area_path is None:
        return own
    if s.is_department:
        return own | Q(**{_p(prefix, "department_id"): s.department_id})
    q = own | Q(**{_p(prefix, "area__path__startswith"): s.area_path})
    if s.role in (Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF):
        q |= Q(**{_p(prefix, "department__area__path__startswith"): s.area_path})
    return q


def department_q(user, prefix: str = "") -> Q:
    s = scope_of(user)
    if s is None or s.area_path is None:
        return _NOTHING
    if s.is_department:
        return Q(**{_p(prefix, "pk"): s.department_id})
    if s.role in (Role.DISTRICT_STAFF, Role.SUBDISTRICT_STAFF, Role.COMMUNITY_STAFF, Role.COMMUNITY_ADMIN):
        # Departments serving this area or any area above it (a district's power company serves
        # every community) — the units a community can call in.
        return Q(**{_p(prefix, "area__path__in"): _ancestor_paths(s.area_path)}) | Q(
            **{_p(prefix, "area__path__startswith"): s.area_path}
        )
    return _NOTHING


def audit_q(user, prefix: str = "") -> Q:
    """Audit entries are searched within the subtree of the searcher's node."""
    s = scope_of(user)
    if s is None or s.area_path is None or s.is_department or s.by_dwelling or s.by_building:
        return _NOTHING
    return Q(**{_p(prefix, "area_path__startswith"): s.area_path})


def _liaison_dwellings(s: Scope):
    return Dwelling.objects.filter(pk__in=s.dwelling_ids)


def _head_buildings(s: Scope):
    return Building.objects.filter(pk__in=s.building_ids)


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.strip("/").split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
