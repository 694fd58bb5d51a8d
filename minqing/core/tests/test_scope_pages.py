"""Scope matrix, pages: every role × every list and detail page answers exactly the objects the
independent oracle (scope_oracle.py) says the role may see — 404 for the rest, exactly as for an id
that does not exist — and 403 without data for a role that has no business on the page at all."""

import re

import pytest

from conftest import PERSONAS
from minqing.accounts.models import User
from minqing.accounts.roles import Capability, has_capability
from minqing.areas.models import Area, Building, Dwelling, Estate, Unit
from minqing.core.tests.scope_oracle import expected_for

MISSING_PK = 987654321


def _ledger_imports():
    """An import in each of two communities (the demo holds none), made by their own staff."""
    from minqing.registry.models import ImportStatus, LedgerImport

    if not LedgerImport.objects.exists():
        for username in ("staff1", "staff2", "admin1"):
            user = User.objects.get(username=username)
            LedgerImport.objects.create(
                community_id=user.area_id,
                created_by=user,
                file_name=f"{username}-台账.xlsx",
                file="imports/none.xlsx",
                status=ImportStatus.FAILED,
            )
    return list(LedgerImport.objects.all())


# entity → (detail URL pattern, capability the pages need, how the objects are sampled)
DETAIL_PAGES = {
    "areas": ("/areas/area/{pk}/", Capability.VIEW_PLACES, lambda: Area.objects.all()),
    "estates": ("/areas/estates/{pk}/", Capability.VIEW_PLACES, lambda: Estate.objects.all()),
    "buildings": ("/areas/buildings/{pk}/", Capability.VIEW_PLACES, lambda: Building.objects.order_by("pk")[::2]),
    "units": ("/areas/units/{pk}/", Capability.VIEW_PLACES, lambda: Unit.objects.order_by("pk")[::6]),
    # Every liaison's and building head's dwellings, and an even spread of the rest.
    "dwellings": (
        "/areas/dwellings/{pk}/",
        Capability.VIEW_PLACES,
        lambda: (
            list(Dwelling.objects.filter(liaisons__isnull=False).distinct())
            + list(Dwelling.objects.filter(building__building_heads__isnull=False).distinct())
            + list(Dwelling.objects.order_by("pk")[::40])
        ),
    ),
    "users": ("/accounts/users/{pk}/", Capability.VIEW_USERS, lambda: User.objects.filter(is_superuser=False)),
    "ledger_imports": ("/imports/{pk}/", Capability.IMPORT_RESIDENTS, _ledger_imports),
}

# List page → (entity, capability, the links in it that name one object of the entity)
LIST_PAGES = {
    "/areas/": ("areas", Capability.VIEW_PLACES, re.compile(r'href="/areas/area/(\d+)/"')),
    "/areas/estates/": ("estates", Capability.VIEW_PLACES, re.compile(r'href="/areas/estates/(\d+)/"')),
    "/accounts/users/": ("users", Capability.VIEW_USERS, re.compile(r'href="/accounts/users/(\d+)/"')),
    "/imports/": ("ledger_imports", Capability.IMPORT_RESIDENTS, re.compile(r'href="/imports/(\d+)/"')),
}
CSRF = re.compile(rb'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+')
PAGE_LINK = re.compile(r'href="\?(?:[^"]*&amp;)?page=(\d+)')


@pytest.mark.parametrize("username", PERSONAS)
@pytest.mark.parametrize("entity", list(DETAIL_PAGES))
def test_detail_pages_answer_exactly_the_scope(client_as, persona, username, entity):
    user = persona(username)
    client = client_as(username)
    pattern, capability, sample = DETAIL_PAGES[entity]
    allowed = has_capability(user, capability)
    objects = list(sample())  # first: a sample may create what it samples
    expected = getattr(expected_for(user), entity)
    assert objects
    missing = client.get(pattern.format(pk=MISSING_PK))
    assert missing.status_code == (404 if allowed else 403)
    for obj in objects:
        response = client.get(pattern.format(pk=obj.pk))
        if not allowed:
            assert response.status_code == 403, (entity, obj.pk)
            if obj != user:
                assert str(obj) not in response.content.decode(), "a forbidden page shows the object"
        elif obj.pk in expected:
            assert response.status_code == 200, (entity, obj.pk)
        else:
            assert response.status_code == 404, (entity, obj.pk)
            # Out of scope reads exactly like an id that does not exist.
            assert CSRF.sub(b"", response.content) == CSRF.sub(b"", missing.content)


def _listed(client, url: str, link: re.Pattern) -> list[int]:
    seen, pages, queue = [], set(), ["1"]
    while queue:
        number = queue.pop()
        if number in pages:
            continue
        pages.add(number)
        response = client.get(url, {"page": number})
        assert response.status_code == 200
        html = response.content.decode()
        seen += [int(pk) for pk in link.findall(html)]
        queue += [n for n in PAGE_LINK.findall(html) if n not in pages]
    return seen


@pytest.mark.parametrize("username", PERSONAS)
@pytest.mark.parametrize("url", list(LIST_PAGES))
def test_list_pages_list_exactly_the_scope(client_as, persona, username, url):
    user = persona(username)
    entity, capability, link = LIST_PAGES[url]
    client = client_as(username)
    if not has_capability(user, capability):
        assert client.get(url).status_code == 403
        return
    if entity == "ledger_imports":
        _ledger_imports()
    listed = set(_listed(client, url, link))
    expected = getattr(expected_for(user), entity)
    if entity == "users":
        expected = expected - set(User.objects.filter(is_service=True).values_list("pk", flat=True))
    assert listed == expected
