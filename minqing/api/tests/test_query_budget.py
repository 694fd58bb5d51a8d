"""Lists cost the same few queries whatever the page size: no query per item (select_related in the
selectors, labels computed from the row)."""

import pytest
from django.test import Client

from minqing.accounts.auth import api_token_issue

LISTS = [
    "/api/v1/areas",
    "/api/v1/estates",
    "/api/v1/buildings",
    "/api/v1/units",
    "/api/v1/dwellings",
    "/api/v1/users",
    "/api/v1/departments",
]


@pytest.fixture
def bearer(db):
    def make(username: str) -> dict:
        token = api_token_issue(username=username, password="Minqing@2025")
        return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_HOST": "127.0.0.1"}

    return make


# A liaison has no users list (403), so nothing to count there.
CASES = [(u, p) for u in ("district1", "liaison1") for p in LISTS if (u, p) != ("liaison1", "/api/v1/users")]


@pytest.mark.parametrize(("username", "path"), CASES)
def test_list_query_budget(bearer, django_assert_max_num_queries, username, path):
    headers = bearer(username)
    client = Client()
    # token lookup, its last-used stamp, the liaison's households, count, one page
    with django_assert_max_num_queries(5):
        response = client.get(f"{path}?limit=500", **headers)
    assert response.status_code == 200
    assert response.json()["count"] >= len(response.json()["items"])
    if username == "district1" and path != "/api/v1/departments":
        assert len(response.json()["items"]) > 5  # enough rows that a per-item query would show


def test_area_detail_query_budget(bearer, django_assert_max_num_queries):
    headers = bearer("district1")
    grid = Client().get("/api/v1/areas?level=grid&limit=1", **headers).json()["items"][0]
    with django_assert_max_num_queries(5):
        response = Client().get(f"/api/v1/areas/{grid['id']}", **headers)
    assert response.status_code == 200
    assert len(response.json()["ancestors"]) == 3


@pytest.fixture
def some_residents(persona):
    """A few residents on different dwellings and households, one with hand-set tags."""
    from minqing.areas.models import Dwelling
    from minqing.registry import services
    from minqing.registry.models import Tag

    grid1 = persona("grid1")
    homes = Dwelling.objects.filter(building__grid=grid1.area).order_by("pk")[:6]
    people = [
        services.resident_create(actor=grid1, data={"name": f"查{n}", "birth_date": "1940-01-01"}, dwelling=home)
        for n, home in enumerate(homes)
    ]
    services.resident_set_tags(
        actor=grid1, resident=people[0], tags=[{"tag": Tag.objects.get(name="残疾", community=None).pk, "grade": 1}]
    )
    return people


# token, last-used stamp, count, one page, and the tags of the whole page (hand-set links, age tags and
# their community thresholds): none of it per resident.
REGISTRY_BUDGET = {"/api/v1/residents": 7, "/api/v1/households": 4, "/api/v1/tags": 4}


@pytest.mark.parametrize("path", list(REGISTRY_BUDGET))
def test_registry_list_query_budget(bearer, django_assert_max_num_queries, some_residents, path):
    headers = bearer("district1")
    with django_assert_max_num_queries(REGISTRY_BUDGET[path]):
        response = Client().get(f"{path}?limit=500", **headers)
    assert response.status_code == 200
    assert len(response.json()["items"]) >= 6


# Demands: token, last-used stamp, (a liaison's homes,) count, one page with every related row joined;
# the detail adds its events and whistles; the categories are one query with their limits worked out
# in memory.
# (persona, path, budget, at least this many items: enough that a per-item query would show)
TICKET_CASES = [
    ("district1", "/api/v1/tickets?limit=500", 4, 16),
    ("liaison1", "/api/v1/tickets?limit=500", 5, 3),
    ("dept1", "/api/v1/tickets?limit=500", 4, 3),
    ("district1", "/api/v1/tickets?limit=500&status=accepted&status=dispatched&overdue=false&area=1", 5, 2),
    ("district1", "/api/v1/tickets/categories", 3, 20),
]


@pytest.mark.parametrize(("username", "path", "budget", "least"), TICKET_CASES)
def test_ticket_list_query_budget(bearer, django_assert_max_num_queries, username, path, budget, least):
    headers = bearer(username)
    with django_assert_max_num_queries(budget):
        response = Client().get(path, **headers)
    assert response.status_code == 200, response.content
    assert len(response.json()["items"]) >= least


def test_ticket_detail_query_budget(bearer, django_assert_max_num_queries):
    from minqing.tickets.models import Ticket

    whistled = Ticket.objects.filter(status="whistled").values_list("number", flat=True).first()
    headers = bearer("staff1")
    # token, last-used stamp, the demand with its joins, its events, its whistles
    with django_assert_max_num_queries(5):
        response = Client().get(f"/api/v1/tickets/{whistled}", **headers)
    assert response.status_code == 200, response.content
    body = response.json()
    assert len(body["events"]) >= 3 and len(body["whistles"]) == 2
