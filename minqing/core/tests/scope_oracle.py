"""The scope rule written out a second time, plainly, from DESIGN.md — by walking parent links in
Python rather than by the materialised path and Q objects of minqing/accounts/scope.py — so the
matrix compares the query layer against an independent statement of who may see what."""

from dataclasses import dataclass, field

from minqing.accounts.models import Department, User
from minqing.areas.models import Area, Building, Dwelling, Estate, Unit
from minqing.registry.models import Household, LedgerImport, Resident, Tag
from minqing.tickets.models import Ticket, Whistle
from minqing.visits.models import Visit

STAFF_ROLES = {"grid_worker", "community_staff", "community_admin", "subdistrict_staff", "district_staff"}
# DESIGN: liaisons and building heads know who needs care but hold no health details (sensitive tags);
# ledgers are imported by the community's own staff.
NO_SENSITIVE_ROLES = {"liaison", "building_head"}
IMPORT_ROLES = {"community_staff", "community_admin"}


@dataclass
class Expected:
    areas: set[int] = field(default_factory=set)
    estates: set[int] = field(default_factory=set)
    buildings: set[int] = field(default_factory=set)
    units: set[int] = field(default_factory=set)
    dwellings: set[int] = field(default_factory=set)
    users: set[int] = field(default_factory=set)
    departments: set[int] = field(default_factory=set)
    residents: set[int] = field(default_factory=set)
    households: set[int] = field(default_factory=set)
    tags: set[int] = field(default_factory=set)
    ledger_imports: set[int] = field(default_factory=set)
    tickets: set[int] = field(default_factory=set)
    visits: set[int] = field(default_factory=set)
    # The communities whose residents (and so care rules) the user keeps.
    communities: set[int] = field(default_factory=set)


def expected_for(user: User) -> Expected:
    areas = {a.pk: a for a in Area.objects.all()}

    def chain(area_id):  # the node and all its ancestors
        while area_id is not None:
            yield area_id
            area_id = areas[area_id].parent_id

    def under(area_id, root_id) -> bool:
        return root_id in set(chain(area_id))

    buildings = list(Building.objects.all())
    units = list(Unit.objects.all())
    dwellings = list(Dwelling.objects.all())
    estates = list(Estate.objects.all())
    people = [u for u in User.objects.select_related("department") if not u.is_superuser]
    result = Expected()
    role = user.role

    if role == "department":
        root = user.department.area_id
        result.areas = {a for a in areas if under(a, root)}
        result.users = {u.pk for u in people if u.department_id == user.department_id} | {user.pk}
        result.departments = {user.department_id}
        # Demands dispatched to the unit or whistled to it.
        whistled = set(Whistle.objects.filter(department_id=user.department_id).values_list("ticket_id", flat=True))
        result.tickets = {
            t.pk for t in Ticket.objects.all() if t.department_id == user.department_id or t.pk in whistled
        }
        return result

    if role == "liaison":
        mine = {d.pk for d in user.dwellings.all()}
        result.dwellings = mine
        result.buildings = {d.building_id for d in dwellings if d.pk in mine}
        result.units = {d.unit_id for d in dwellings if d.pk in mine and d.unit_id}
    elif role == "building_head":
        result.buildings = {b.pk for b in user.buildings.all()}
        result.units = {u.pk for u in units if u.building_id in result.buildings}
        result.dwellings = {d.pk for d in dwellings if d.building_id in result.buildings}
    if role in ("liaison", "building_head"):
        grid_of = {b.pk: b.grid_id for b in buildings}
        estate_of = {b.pk: b.estate_id for b in buildings}
        result.areas = {grid_of[b] for b in result.buildings}
        result.estates = {estate_of[b] for b in result.buildings}
        result.users = {user.pk}
        result.communities = {areas[user.area_id].parent_id}
        _registry(user, result, communities=result.communities)
        # Demands about their places, and those they reported themselves.
        result.tickets = {
            t.pk
            for t in Ticket.objects.select_related("dwelling")
            if t.created_by_id == user.pk
            or (t.dwelling_id in result.dwellings if role == "liaison" else False)
            or (
                role == "building_head"
                and (
                    t.building_id in result.buildings
                    or (t.dwelling_id is not None and t.dwelling.building_id in result.buildings)
                )
            )
        }
        return result

    assert role in STAFF_ROLES, role
    root = user.area_id
    result.areas = {a for a in areas if under(a, root)}
    result.buildings = {b.pk for b in buildings if under(b.grid_id, root)}
    result.units = {u.pk for u in units if u.building_id in result.buildings}
    result.dwellings = {d.pk for d in dwellings if d.building_id in result.buildings}
    if role == "grid_worker":
        result.estates = {b.estate_id for b in buildings if b.pk in result.buildings}
    else:
        result.estates = {e.pk for e in estates if under(e.community_id, root)}
    result.users = {u.pk for u in people if u.area_id and under(u.area_id, root)} | {user.pk}
    if role in ("subdistrict_staff", "district_staff"):
        result.users |= {u.pk for u in people if u.department_id and under(u.department.area_id, root)}
    if role != "grid_worker":
        ancestors = set(chain(root))
        result.departments = {
            d.pk for d in Department.objects.all() if d.area_id in ancestors or under(d.area_id, root)
        }
    if role == "grid_worker":
        communities = {areas[root].parent_id}
    else:
        communities = {a for a in areas if areas[a].level == "community" and under(a, root)}
    result.communities = communities
    _registry(user, result, communities=communities)
    result.tickets = {t.pk for t in Ticket.objects.all() if under(t.area_id, root)}
    return result


def _registry(user: User, result: Expected, *, communities: set[int]) -> None:
    """Residents and households follow their dwelling (where they live, or last lived); care tags are
    the shipped ones and those of the communities one works in; ledger imports those of communities
    in one's subtree, for the roles that import."""
    # Plain columns only: the identifiers are not needed and would be decrypted for nothing.
    result.residents = {
        pk for pk, home in Resident.objects.values_list("pk", "dwelling_id") if home in result.dwellings
    }
    result.households = {
        pk for pk, home in Household.objects.values_list("pk", "dwelling_id") if home in result.dwellings
    }
    # Visits follow the household they were made to.
    result.visits = {pk for pk, home in Visit.objects.values_list("pk", "household_id") if home in result.households}
    result.tags = {
        t.pk
        for t in Tag.objects.all()
        if (t.community_id is None or t.community_id in communities)
        and not (t.sensitive and user.role in NO_SENSITIVE_ROLES)
    }
    if user.role in IMPORT_ROLES:
        result.ledger_imports = {i.pk for i in LedgerImport.objects.all() if i.community_id in communities}
