"""The scope rule written out a second time, plainly, from DESIGN.md — by walking parent links in
Python rather than by the materialised path and Q objects of minqing/accounts/scope.py — so the
matrix compares the query layer against an independent statement of who may see what."""

from dataclasses import dataclass, field

from minqing.accounts.models import Department, User
from minqing.areas.models import Area, Building, Dwelling, Estate, Unit
from minqing.registry.models import LedgerImport

STAFF_ROLES = {"grid_worker", "community_staff", "community_admin", "subdistrict_staff", "district_staff"}


@dataclass
class Expected:
    areas: set[int] = field(default_factory=set)
    estates: set[int] = field(default_factory=set)
    buildings: set[int] = field(default_factory=set)
    units: set[int] = field(default_factory=set)
    dwellings: set[int] = field(default_factory=set)
    users: set[int] = field(default_factory=set)
    departments: set[int] = field(default_factory=set)
    ledger_imports: set[int] = field(default_factory=set)


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
    if role in ("community_staff", "community_admin"):
        # Only the community's own staff import ledgers, and see the imports of their community.
        result.ledger_imports = {i.pk for i in LedgerImport.objects.all() if under(i.community_id, root)}
    if role != "grid_worker":
        ancestors = set(chain(root))
        result.departments = {
            d.pk for d in Department.objects.all() if d.area_id in ancestors or under(d.area_id, root)
        }
    return result
