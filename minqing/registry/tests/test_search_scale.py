"""Name search keeps finding everyone after the shape it takes for large districts (a pinyin range
beside the name prefix, a capped count): names whose characters have several readings included."""

import pytest

from minqing.areas.models import Dwelling
from minqing.core.pagination import count_capped
from minqing.registry import selectors, services
from minqing.registry.models import Household

pytestmark = pytest.mark.django_db

NAMES = ["曾国藩", "单雄信", "解缙", "长孙无忌", "阿依古丽·买买提", "朴志勇", "乐嘉", "查良镛", "吕布", "区志贤"]


def test_every_prefix_of_every_name_finds_it_and_counts_are_capped(persona):
    grid1 = persona("grid1")
    demo_homes = Household.objects.exclude(number="").values("dwelling_id")
    dwelling = Dwelling.objects.filter(building__grid=grid1.area).exclude(pk__in=demo_homes).first()
    made = [services.resident_create(actor=grid1, data={"name": n}, dwelling=dwelling) for n in NAMES]
    for resident in made:
        name = resident.name
        for k in range(1, len(name) + 1):
            found = selectors.search_residents(grid1, selectors.ResidentFilters(q=name[:k]))
            assert resident in found, (name, name[:k])
        for typed in (resident.name_pinyin, resident.name_initials, resident.name_pinyin[:3]):
            found = selectors.search_residents(grid1, selectors.ResidentFilters(q=typed))
            assert resident in found, (name, typed)

    everyone = selectors.search_residents(grid1, selectors.ResidentFilters())
    total = everyone.count()
    assert count_capped(everyone, cap=total) == (total, False)
    assert count_capped(everyone, cap=total - 1) == (total - 1, True)
