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
from minqing.registry import services as registry_services
from minqing.registry.models import Household, Resident, Tag
from minqing.tickets.models import Ticket

MISSING_PK = 987654321
MISSING_NUMBER = "MQ19000101-9999"


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
    "residents": ("/residents/{pk}/", Capability.VIEW_RESIDENTS, lambda: Resident.objects.order_by("pk")[::9]),
    "households": (
        "/residents/households/{pk}/",
        Capability.VIEW_RESIDENTS,
        lambda: Household.objects.order_by("pk")[::5],
    ),
    "ledger_imports": ("/imports/{pk}/", Capability.IMPORT_RESIDENTS, _ledger_imports),
    # Demands by number; every role has a demand list (None: no capability needed).
    "tickets": ("/tickets/{number}/", None, lambda: Ticket.objects.all()),
}
REGISTRY = {"residents", "households"}

# List page → (entity, capability, the links in it that name one object of the entity)
LIST_PAGES = {
    "/areas/": ("areas", Capability.VIEW_PLACES, re.compile(r'href="/areas/area/(\d+)/"')),
    "/areas/estates/": ("estates", Capability.VIEW_PLACES, re.compile(r'href="/areas/estates/(\d+)/"')),
    "/accounts/users/": ("users", Capability.VIEW_USERS, re.compile(r'href="/accounts/users/(\d+)/"')),
    "/residents/?status=all": ("residents", Capability.VIEW_RESIDENTS, re.compile(r'href="/residents/(\d+)/"')),
    "/imports/": ("ledger_imports", Capability.IMPORT_RESIDENTS, re.compile(r'href="/imports/(\d+)/"')),
    "/tickets/?tab=all": ("tickets", None, re.compile(r'href="/tickets/(MQ\d{8}-\d{4,})/"')),
}
CSRF = re.compile(rb'(csrfmiddlewaretoken" value="|X-CSRFToken": ")[^"]+')
PAGE_LINK = re.compile(r'href="\?(?:[^"]*&amp;)?page=(\d+)')


NAMES = "甲乙丙丁戊己庚辛壬癸"


def _spread_residents() -> None:
    """Until the demo registers residents of its own: one resident (and so one household) in each of
    the dwellings the place matrix samples, registered through the service by the grid's worker; a
    few of them moved out, so former residents are in the matrix too."""
    if Resident.objects.exists():
        return
    dwellings = {d.pk: d for d in DETAIL_PAGES["dwellings"][2]()}
    for i, dwelling in enumerate(sorted(dwellings.values(), key=lambda d: d.pk)):
        worker = User.objects.filter(role="grid_worker", area_id=dwelling.building.grid_id, is_active=True).first()
        if worker is None:
            continue
        name = "居" + NAMES[i % 10] + NAMES[i // 10 % 10]
        resident = registry_services.resident_create(actor=worker, data={"name": name}, dwelling=dwelling)
        if i % 7 == 3:
            registry_services.resident_move_out(
                actor=worker, resident=resident, occurred_on="2026-11-01", destination="不详"
            )


@pytest.fixture
def registry_data(db):
    _spread_residents()


@pytest.mark.parametrize("username", PERSONAS)
@pytest.mark.parametrize("entity", list(DETAIL_PAGES))
def test_detail_pages_answer_exactly_the_scope(client_as, persona, username, entity, request):
    if entity in REGISTRY:
        request.getfixturevalue("registry_data")
    user = persona(username)
    client = client_as(username)
    pattern, capability, sample = DETAIL_PAGES[entity]
    allowed = capability is None or has_capability(user, capability)
    objects = list(sample())  # first: a sample may create what it samples
    expected = getattr(expected_for(user), entity)
    assert objects
    missing = client.get(pattern.format(pk=MISSING_PK, number=MISSING_NUMBER))
    assert missing.status_code == (404 if allowed else 403)
    for obj in objects:
        response = client.get(pattern.format(pk=obj.pk, number=getattr(obj, "number", "")))
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
    path, _, query = url.partition("?")
    params = dict(pair.split("=") for pair in query.split("&") if pair)
    while queue:
        number = queue.pop()
        if number in pages:
            continue
        pages.add(number)
        response = client.get(path, {**params, "page": number})
        assert response.status_code == 200
        html = response.content.decode()
        seen += [int(key) if key.isdigit() else key for key in link.findall(html)]
        queue += [n for n in PAGE_LINK.findall(html) if n not in pages]
    return seen


@pytest.mark.parametrize("username", PERSONAS)
@pytest.mark.parametrize("url", list(LIST_PAGES))
def test_list_pages_list_exactly_the_scope(client_as, persona, username, url, request):
    user = persona(username)
    entity, capability, link = LIST_PAGES[url]
    if entity in REGISTRY:
        request.getfixturevalue("registry_data")
    client = client_as(username)
    if capability is not None and not has_capability(user, capability):
        assert client.get(url).status_code == 403
        return
    if entity == "ledger_imports":
        _ledger_imports()
    listed = set(_listed(client, url, link))
    expected = getattr(expected_for(user), entity)
    if entity == "users":
        expected = expected - set(User.objects.filter(is_service=True).values_list("pk", flat=True))
    if entity == "tickets":  # listed by number
        expected = set(Ticket.objects.filter(pk__in=expected).values_list("number", flat=True))
    assert listed == expected


@pytest.mark.parametrize("username", PERSONAS)
def test_reveal_answers_exactly_the_scope(client_as, persona, username, registry_data):
    """The reveal action: out of scope reads exactly like a missing id, before any permission check;
    in scope, a role without the reveal permission is refused (403) and nothing is revealed."""
    user = persona(username)
    client = client_as(username)
    expected = expected_for(user).residents
    form = {"field": "id_number", "reason": "范围核查"}
    missing = client.post(f"/residents/{MISSING_PK}/reveal/", form)
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        assert missing.status_code == 403
    else:
        assert missing.status_code == 404
    for resident in Resident.objects.order_by("pk")[::11]:
        response = client.post(f"/residents/{resident.pk}/reveal/", form)
        if not has_capability(user, Capability.VIEW_RESIDENTS):
            assert response.status_code == 403
        elif resident.pk not in expected:
            assert response.status_code == 404, resident.pk
            assert CSRF.sub(b"", response.content) == CSRF.sub(b"", missing.content)
        else:
            assert response.status_code == (200 if has_capability(user, Capability.REVEAL_PII) else 403)


@pytest.mark.parametrize("username", PERSONAS)
def test_export_holds_exactly_the_scope(client_as, persona, username, registry_data):
    from minqing.registry.tests.test_export import rows_of

    user = persona(username)
    response = client_as(username).post("/residents/export/?status=all")
    if not has_capability(user, Capability.EXPORT_RESIDENTS):
        assert response.status_code == 403
        return
    assert response.status_code == 200
    names = sorted(row[1] for row in rows_of(response.content)[1:])
    expected = Resident.objects.filter(pk__in=expected_for(user).residents)
    assert names == sorted(expected.values_list("name", flat=True))


@pytest.mark.parametrize("username", PERSONAS)
def test_tags_page_lists_the_communitys_tags_only(client_as, persona, username):
    user = persona(username)
    # An own tag in two communities: each community admin sees its own, never the other's.
    for community in (persona("admin1").area, persona("staff2").area):
        registry_services.tag_create(actor=persona("district1"), community=community, name=f"关注{community.pk}")
    response = client_as(username).get("/residents/tags/")
    if not has_capability(user, Capability.MANAGE_TAGS):
        assert response.status_code == 403
        return
    listed = {int(pk) for pk in re.findall(r'<li data-tag="(\d+)"', response.content.decode())}
    own = user.area_id if user.area.level == "community" else None
    expected = set(Tag.objects.active().filter(community_id__in=[own] if own else []).values_list("pk", flat=True))
    expected |= set(Tag.objects.active().filter(community__isnull=True).values_list("pk", flat=True))
    assert listed == expected


@pytest.mark.parametrize("username", PERSONAS)
def test_ticket_figures_count_exactly_the_scope(client_as, persona, username):
    """诉求统计: 403 for a role without the figures; for the others the total 受理量 is the number of
    demands the oracle says the role may see."""
    user = persona(username)
    client = client_as(username)
    response = client.get("/tickets/kpis/", {"start": "2000-01-01", "dimension": "channel"})
    if not has_capability(user, Capability.VIEW_TICKET_KPIS):
        assert response.status_code == 403
        assert client.post("/tickets/export/", {}).status_code == 403
        return
    assert response.status_code == 200
    total = re.search(r'class="total"><th scope="row">[^<]*</th><td[^>]*>(\d+)<', response.content.decode())
    assert int(total.group(1)) == len(expected_for(user).tickets)


# 走访统计 and 关爱规则 (/visits/kpis/, /visits/rules/) ---------------------------------------------


@pytest.mark.parametrize("username", PERSONAS)
def test_visit_figures_count_exactly_the_scope(client_as, persona, username):
    """走访统计: 403 for a role without the figures; for the others the 合计 row counts the visits and
    the visited households the oracle says the role may see."""
    from minqing.visits.models import Visit

    user = persona(username)
    client = client_as(username)
    response = client.get("/visits/kpis/", {"start": "2000-01-01", "dimension": "worker"})
    if not has_capability(user, Capability.VIEW_VISIT_KPIS):
        assert response.status_code == 403
        assert client.post("/visits/kpis/xlsx/").status_code == 403
        return
    assert response.status_code == 200
    total = re.search(
        r'class="total"><th scope="row">[^<]*</th><td[^>]*>(\d+)</td><td[^>]*>(\d+)<', response.content.decode()
    )
    expected = expected_for(user).visits
    households = set(Visit.objects.filter(pk__in=expected).values_list("household_id", flat=True))
    assert (int(total.group(1)), int(total.group(2))) == (len(expected), len(households))


@pytest.mark.parametrize("username", PERSONAS)
def test_care_rules_page_answers_exactly_the_scope(client_as, persona, username):
    """关爱规则: every community the role keeps residents of answers 200, any other exactly like a
    missing id (404); a role without residents gets 403."""
    user = persona(username)
    client = client_as(username)
    missing = client.get("/visits/rules/", {"community": MISSING_PK})
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        assert missing.status_code == 403
        assert client.get("/visits/rules/").status_code == 403
        return
    assert missing.status_code == 404
    expected = expected_for(user).communities
    assert expected
    for community in Area.objects.filter(level="community"):
        response = client.get("/visits/rules/", {"community": community.pk})
        if community.pk in expected:
            assert response.status_code == 200, community.pk
            assert community.name in response.content.decode()
        else:
            assert response.status_code == 404, community.pk
            assert CSRF.sub(b"", response.content) == CSRF.sub(b"", missing.content)


# 走访 pages (visits/): 今日走访, the phone form, the export and a visit's photos -----------------------


@pytest.fixture
def visits_with_photos(db, media):
    """A visit with a photo in every grid that has a worker (the demo's visits have none), logged by
    the grid's own worker through the service. Returns {visit pk: photo pk}."""
    from minqing.tickets.tests.photo_files import phone_jpeg
    from minqing.visits import services as visit_services

    made = {}
    for worker in User.objects.filter(role="grid_worker", is_active=True).order_by("pk"):
        household = Household.objects.filter(dwelling__building__grid_id=worker.area_id).order_by("pk").first()
        if household is None:
            continue
        visit = visit_services.visit_log(
            actor=worker, household=household, note=f"范围核查{household.pk}", photos=[phone_jpeg(size=(40, 30))]
        )
        made[visit.pk] = visit.photos.get().pk
    assert len(made) >= 2, "photos in two grids at least, so each worker has one to be refused"
    return made


@pytest.mark.parametrize("username", PERSONAS)
def test_visit_pages_answer_exactly_the_scope(client_as, persona, username, visits_with_photos):
    """今日走访 lists only due households the role may see (the same due list whoever asks, cut to the
    role's households); the form opens only for those; a visit's photo answers only to those who may
    see the visit, out of scope reading exactly like a photo that does not exist."""
    from django.utils import timezone

    from minqing.visits.selectors import due_for

    user, client = persona(username), client_as(username)
    expected = expected_for(user)
    if not has_capability(user, Capability.VIEW_RESIDENTS):
        assert client.get("/visits/today/").status_code == 403
        assert client.get(f"/visits/new/?household={Household.objects.first().pk}").status_code == 403
        for photo in visits_with_photos.values():
            assert client.get(f"/visits/photos/{photo}/").status_code == 403
        return
    listed = set(_listed(client, "/visits/today/", re.compile(r'<li data-household="(\d+)"')))
    everyone_due = set(due_for(persona("district1"), timezone.localdate()).values_list("pk", flat=True))
    assert listed == everyone_due & expected.households

    missing = client.get(f"/visits/new/?household={MISSING_PK}")
    assert missing.status_code == 404
    for household in Household.objects.order_by("pk")[::7]:
        response = client.get(f"/visits/new/?household={household.pk}")
        if household.pk in expected.households:
            assert response.status_code == 200, household.pk
        else:
            assert response.status_code == 404, household.pk
            assert CSRF.sub(b"", response.content) == CSRF.sub(b"", missing.content)

    for kind in ("", "thumb/"):
        missing = client.get(f"/visits/photos/{MISSING_PK}/{kind}")
        assert missing.status_code == 404
        for visit, photo in visits_with_photos.items():
            response = client.get(f"/visits/photos/{photo}/{kind}")
            if visit in expected.visits:
                assert response.status_code == 200, (visit, kind)
            else:
                assert response.status_code == 404, (visit, kind)
                assert CSRF.sub(b"", response.content) == CSRF.sub(b"", missing.content)


@pytest.mark.parametrize("username", PERSONAS)
def test_visit_export_holds_exactly_the_scope(client_as, persona, username, visits_with_photos):
    import datetime

    from django.utils import timezone

    from minqing.registry.tests.test_export import rows_of
    from minqing.visits.models import Visit

    user = persona(username)
    response = client_as(username).post("/visits/export/", {})
    if not has_capability(user, Capability.EXPORT_RESIDENTS):
        assert response.status_code in (302, 403)  # the page's message, or no 走访 pages at all
        assert not response.get("Content-Disposition")
        return
    assert response.status_code == 200
    rows = rows_of(response.content)[1:]
    end = timezone.localdate()
    window = Visit.objects.filter(
        pk__in=expected_for(user).visits,
        visited_at__date__gte=end - datetime.timedelta(days=30),
        visited_at__date__lte=end,
    )
    assert len(rows) == window.count()
    notes = {row[12] for row in rows if row[12].startswith("范围核查")}
    assert notes == set(window.filter(note__startswith="范围核查").values_list("note", flat=True))
