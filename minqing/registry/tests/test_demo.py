"""The demo residents, checked the way someone trying the demo would look at them."""

from collections import Counter

import pytest

from minqing.areas.models import Dwelling
from minqing.registry import selectors
from minqing.registry.cleaning import clean_resident_fields
from minqing.registry.idnumbers import parse_id_number
from minqing.registry.models import Household, Relation, Resident, ResidentStatus, Tag

pytestmark = pytest.mark.django_db


def test_every_dwelling_liaison1_looks_after_has_residents_and_they_see_them(persona):
    liaison1 = persona("liaison1")
    dwellings = list(liaison1.dwellings.all())
    assert len(dwellings) == 16
    for dwelling in dwellings:
        current, _former = selectors.dwelling_residents(liaison1, dwelling)
        assert current, f"{dwelling} has no residents"


def test_outsiders_have_residents_of_their_own_that_grid1_does_not_see(persona):
    grid1, grid2, liaison2 = persona("grid1"), persona("grid2"), persona("liaison2")
    mine = set(selectors.residents_visible_to(grid1).values_list("pk", flat=True))
    theirs = set(selectors.residents_visible_to(grid2).values_list("pk", flat=True))
    neighbours = set(selectors.residents_visible_to(liaison2).values_list("pk", flat=True))
    assert len(mine) >= 40 and len(theirs) >= 20 and len(neighbours) >= 15
    assert not mine & theirs and not mine & neighbours


def test_demo_shows_80_plus_as_gaoling_and_hand_set_tags(persona):
    grid1 = persona("grid1")
    residents = list(
        selectors.residents_visible_to(grid1).filter(status="active").select_related("dwelling__building__grid")
    )
    selectors.attach_tags(grid1, residents)
    shown = Counter(tag.name for r in residents for tag in r.shown_tags)
    assert shown["高龄"] >= 2
    assert shown["独居老人"] >= 1 and shown["空巢老人"] >= 1
    # Across the district every shipped care tag a grid worker sets by hand is in use.
    used = set(Tag.objects.filter(resident_links__isnull=False).values_list("name", flat=True))
    assert {"独居老人", "空巢老人", "残疾", "低保", "退役军人", "留守儿童", "慢性病", "失独家庭"} <= used
    assert Tag.objects.get(name="失独家庭").community.name == "嘉和社区"


def test_id_numbers_are_valid_unique_and_agree_with_birth_date_and_sex():
    residents = list(Resident.objects.all())
    assert 300 <= len(residents) <= 450
    numbers = [r.id_number for r in residents]
    assert len(set(numbers)) == len(numbers)
    for r in residents:
        parsed = parse_id_number(r.id_number)
        assert (parsed.birth_date, parsed.sex) == (r.birth_date, r.sex)
    ethnicities = Counter(r.ethnicity for r in residents)
    assert ethnicities["01"] > ethnicities["02"] > 0  # Han and Mongolian residents
    assert Counter(r.registration_type for r in residents).keys() >= {"household", "floating", "away", "lodging"}


def test_stored_values_are_exactly_what_cleaning_gives():
    for r in Resident.objects.order_by("pk")[:40]:
        cleaned = clean_resident_fields({"name": r.name, "id_number": r.id_number, "phone": r.phone})
        for key in ("name_pinyin", "name_initials", "id_number_hash", "phone_hash", "birth_date", "sex"):
            assert getattr(r, key) == cleaned[key], key


def test_every_household_has_exactly_one_head():
    heads = Counter(Resident.objects.filter(relation=Relation.HEAD).values_list("household_id", flat=True))
    households = set(Household.objects.values_list("pk", flat=True))
    assert set(heads) == households
    assert set(heads.values()) == {1}


def test_former_residents_show_on_their_dwelling(persona):
    grid1 = persona("grid1")
    deceased = Resident.objects.get(status=ResidentStatus.DECEASED)
    assert deceased.events.filter(kind="deceased").exists()
    _current, former = selectors.dwelling_residents(grid1, deceased.dwelling)
    assert deceased in former
    dissolved = Household.objects.get(dissolved_at__isnull=False)
    current, former = selectors.dwelling_residents(grid1, Dwelling.objects.get(pk=dissolved.dwelling_id))
    assert current and set(dissolved.members.all()) <= set(former)
    assert all(r.left_to and r.events.filter(kind="moved_out").exists() for r in dissolved.members.all())


def test_identifiers_are_masked_on_display(persona):
    page = selectors.household_page(persona("grid1"), Resident.objects.filter(status="active").first().household_id)
    for member in page.members:
        assert member.id_number_masked != member.id_number and "*" in member.id_number_masked
        assert member.id_number_masked[:4] == member.id_number[:4]
        if member.phone:
            assert member.phone_masked != member.phone and "****" in member.phone_masked
