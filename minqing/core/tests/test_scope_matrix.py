"""Scope matrix, query layer: every role × every scoped selector returns exactly the set the
independent oracle (scope_oracle.py) expects on the demo data. Pages and the API are checked
against the same oracle in their own matrix tests."""

import pytest

from conftest import PERSONAS
from minqing.accounts import selectors as account_selectors
from minqing.areas import selectors as area_selectors
from minqing.core.tests.scope_oracle import expected_for

SELECTORS = {
    "areas": lambda u: area_selectors.areas_visible_to(u, include_retired=True),
    "estates": lambda u: area_selectors.estates_visible_to(u, include_retired=True),
    "buildings": lambda u: area_selectors.buildings_visible_to(u, include_retired=True),
    "units": lambda u: area_selectors.units_visible_to(u, include_retired=True),
    "dwellings": lambda u: area_selectors.dwellings_visible_to(u, include_retired=True),
    "users": account_selectors.users_visible_to,
    "departments": account_selectors.departments_visible_to,
}


@pytest.mark.parametrize("username", PERSONAS)
@pytest.mark.parametrize("entity", list(SELECTORS))
def test_selector_returns_exactly_the_scope(persona, username, entity):
    user = persona(username)
    rows = list(SELECTORS[entity](user).values_list("pk", flat=True))
    assert len(rows) == len(set(rows)), "a row listed twice"
    assert set(rows) == getattr(expected_for(user), entity)


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


def test_inactive_user_sees_nothing(persona):
    user = persona("staff1")
    user.is_active = False
    for entity, selector in SELECTORS.items():
        assert not selector(user).exists(), entity
