"""Helpers that register households through the registry's services, the way a grid worker does."""

import datetime
import itertools

from django.utils import timezone

from minqing.areas.models import Dwelling
from minqing.registry import services as registry_services
from minqing.registry.models import Tag

_names = itertools.count(1)


def tag(name: str) -> Tag:
    return Tag.objects.get(community=None, name=name, retired_at=None)


def empty_dwelling(grid) -> Dwelling:
    """A dwelling of the grid nobody lives in yet (so its households are the test's own)."""
    return Dwelling.objects.filter(building__grid=grid, households__isnull=True).order_by("pk").first()


def household_with(worker, *people: dict, dwelling=None):
    """A new household in the worker's grid; each person a dict of resident fields plus `tags` (names)
    and `age` (years, giving a birth date). Returns (household, [residents])."""
    dwelling = dwelling or empty_dwelling(worker.area)
    residents, household = [], None
    today = timezone.localdate()
    for person in people or ({},):
        person = dict(person)
        tags = person.pop("tags", [])
        age = person.pop("age", 40)
        data = {
            "name": person.pop("name", f"测试{next(_names)}"),
            "birth_date": (today.replace(year=today.year - age) - datetime.timedelta(days=1)).isoformat(),
            **person,
        }
        resident = registry_services.resident_create(
            actor=worker, data=data, household=household, dwelling=None if household else dwelling
        )
        household = resident.household
        if tags:
            registry_services.resident_set_tags(
                actor=worker, resident=resident, tags=[{"tag": tag(t).pk} for t in tags]
            )
        residents.append(resident)
    return household, residents
