"""Scope matrix, query layer: every role × every scoped selector returns exactly the set the
independent oracle (scope_oracle.py) expects on the demo data. Pages and the API are checked
against the same oracle in their own matrix tests."""

import pytest

from conftest import PERSONAS
from minqing.accounts import selectors as account_selectors
from minqing.areas import selectors as area_selectors
from minqing.core.tests.scope_oracle import expected_for
from minqing.registry import selectors as registry_selectors
from minqing.registry import services as registry_services
from minqing.registry.models import LedgerImport
from minqing.tickets import selectors as ticket_selectors
from minqing.visits import selectors as visit_selectors

SELECTORS = {
    "areas": lambda u: area_selectors.areas_visible_to(u, include_retired=True),
    "estates": lambda u: area_selectors.estates_visible_to(u, include_retired=True),
    "buildings": lambda u: area_selectors.buildings_visible_to(u, include_retired=True),
    "units": lambda u: area_selectors.units_visible_to(u, include_retired=True),
    "dwellings": lambda u: area_selectors.dwellings_visible_to(u, include_retired=True),
    "users": account_selectors.users_visible_to,
    "departments": account_selectors.departments_visible_to,
    "tickets": ticket_selectors.tickets_visible_to,
}


REGISTRY_SELECTORS = {
    "residents": registry_selectors.residents_visible_to,
    "households": registry_selectors.households_visible_to,
    "tags": lambda u: registry_selectors.tags_visible_to(u, include_retired=True),
    "ledger_imports": registry_selectors.ledger_imports_visible_to,
    "visits": visit_selectors.visits_visible_to,
}


@pytest.mark.parametrize("username", PERSONAS)
@pytest.mark.parametrize("entity", list(SELECTORS))
def test_selector_returns_exactly_the_scope(persona, username, entity):
    user = persona(username)
    rows = list(SELECTORS[entity](user).values_list("pk", flat=True))
    assert len(rows) == len(set(rows)), "a row listed twice"
    assert set(rows) == getattr(expected_for(user), entity)


@pytest.fixture
def registry_data(persona):
    """Residents on both sides of every persona's boundary (a liaison's dwelling and the one next door,
    another community's, a building head's building; one moved out, whose record stays on the dwelling),
    communities' own tags (one sensitive, one retired) and ledger imports of two communities — added to
    whatever the demo holds, inside the test's transaction."""
    from minqing.accounts.models import User
    from minqing.areas.models import Dwelling

    def register(dwelling, name):
        actor = User.objects.get(role="grid_worker", area=dwelling.building.grid)
        return registry_services.resident_create(actor=actor, data={"name": name}, dwelling=dwelling)

    liaison1, grid1, grid2, bhead1 = (persona(u) for u in ("liaison1", "grid1", "grid2", "bhead1"))
    register(liaison1.dwellings.order_by("pk").first(), "范一")
    next_door = Dwelling.objects.filter(building__grid=grid1.area).exclude(pk__in=liaison1.dwellings.values("pk"))
    register(next_door.order_by("pk").first(), "范二")
    register(persona("liaison2").dwellings.order_by("pk").first(), "范三")
    register(Dwelling.objects.filter(building__in=bhead1.buildings.all()).order_by("pk").first(), "范四")
    gone = register(Dwelling.objects.filter(building__grid=grid2.area).order_by("pk").first(), "范五")
    registry_services.resident_move_out(actor=grid2, resident=gone, occurred_on="2026-11-01", destination="北京")
    admin1, district1 = persona("admin1"), persona("district1")
    jiahe, hengda, xingan = grid1.area.parent, grid2.area.parent, bhead1.area.parent
    registry_services.tag_create(actor=admin1, community=jiahe, name="嘉和志愿者")
    registry_services.tag_create(actor=admin1, community=jiahe, name="嘉和重点关注", sensitive=True)
    registry_services.tag_create(actor=district1, community=hengda, name="恒大志愿者")
    old = registry_services.tag_create(actor=district1, community=xingan, name="兴安旧标签")
    registry_services.tag_retire(actor=district1, tag=old)
    for community in (jiahe, hengda):
        LedgerImport.objects.create(
            community=community, created_by=district1, file="imports/t.xlsx", file_name=f"{community.name}.xlsx"
        )


@pytest.mark.parametrize("username", PERSONAS)
@pytest.mark.parametrize("entity", list(REGISTRY_SELECTORS))
def test_registry_selector_returns_exactly_the_scope(registry_data, persona, username, entity):
    user = persona(username)
    rows = list(REGISTRY_SELECTORS[entity](user).values_list("pk", flat=True))
    assert len(rows) == len(set(rows)), "a row listed twice"
    assert set(rows) == getattr(expected_for(user), entity)


def test_the_registry_matrix_is_not_trivial(registry_data, persona):
    """Each registry set is non-empty for someone and differs between personas, so the matrix can fail."""
    seen = {u: expected_for(persona(u)) for u in ("grid1", "liaison1", "bhead1", "staff1", "street1", "grid2")}
    assert seen["liaison1"].residents and seen["liaison1"].residents < seen["grid1"].residents
    assert seen["bhead1"].residents and seen["bhead1"].residents.isdisjoint(seen["grid1"].residents)
    assert seen["grid1"].residents.isdisjoint(seen["grid2"].residents) and seen["grid2"].residents
    assert seen["grid1"].households and seen["grid1"].households.isdisjoint(seen["grid2"].households)
    assert seen["liaison1"].tags < seen["grid1"].tags  # the sensitive ones are left out
    assert seen["grid1"].tags != seen["grid2"].tags
    assert seen["staff1"].ledger_imports and not seen["grid1"].ledger_imports and not seen["street1"].ledger_imports
    # The demo's visits lie on both sides: liaison1's households, the rest of grid1's grid, grid2's.
    assert seen["liaison1"].visits and seen["liaison1"].visits < seen["grid1"].visits
    assert seen["grid2"].visits and seen["grid1"].visits.isdisjoint(seen["grid2"].visits)


def test_the_demo_personas_see_what_the_issue_describes(persona):
    """Sanity of the oracle itself on the figures the issue names."""
    assert len(expected_for(persona("liaison1")).dwellings) == 16
    grid1 = expected_for(persona("grid1"))
    assert len(grid1.areas) == 1 and len(grid1.buildings) == 2
    admin1 = expected_for(persona("admin1"))
    assert len(admin1.areas) == 1 + 3  # 嘉和社区 and its 3 grids
    assert expected_for(persona("dept1")).dwellings == set()
    district = expected_for(persona("district1"))
    assert len(district.areas) == 1 + 2 + 4 + (3 + 6 + 15 + 5)
    # The demo residents alone put people on both sides of every boundary.
    liaison1, grid1, grid2, bhead1 = (expected_for(persona(u)) for u in ("liaison1", "grid1", "grid2", "bhead1"))
    assert liaison1.residents and liaison1.residents < grid1.residents
    assert grid2.residents and bhead1.residents and grid1.residents.isdisjoint(grid2.residents | bhead1.residents)
    assert liaison1.households < grid1.households and len(district.residents) > len(grid1.residents)
    assert liaison1.tags < grid1.tags != grid2.tags  # sensitive tags; 嘉和's own tag


def test_inactive_user_sees_nothing(persona):
    user = persona("staff1")
    user.is_active = False
    for entity, selector in {**SELECTORS, **REGISTRY_SELECTORS}.items():
        assert not selector(user).exists(), entity


def test_the_tickets_matrix_is_not_trivial(persona):
    """The demo's demands put something on both sides of every boundary, so the tickets rows can fail."""
    seen = {u: expected_for(persona(u)) for u in ("liaison1", "grid1", "staff1", "staff2", "dept1", "dept2")}
    assert seen["liaison1"].tickets and seen["liaison1"].tickets < seen["staff1"].tickets
    assert seen["grid1"].tickets and seen["grid1"].tickets < seen["staff1"].tickets
    assert seen["staff2"].tickets and seen["staff1"].tickets.isdisjoint(seen["staff2"].tickets)
    assert seen["dept1"].tickets and seen["dept2"].tickets and seen["dept1"].tickets != seen["dept2"].tickets
    # A unit whistled in sees that demand too (the 绿化养护 one is whistled to both units).
    assert seen["dept1"].tickets & seen["dept2"].tickets
