"""Likely duplicates: open demands about the same place with a similar Chinese text (character
bigrams), in the user's scope, best first with their score."""

import pytest

from minqing.areas.models import Building
from minqing.tickets import services
from minqing.tickets.duplicates import bigrams, similar_open_tickets, similarity
from minqing.tickets.models import Category

pytestmark = pytest.mark.django_db


def file(actor, text, building, category="楼道堆物"):
    return services.ticket_create(
        actor=actor, category=Category.objects.get(name=category), channel="grid_patrol", description=text,
        building=building.pk,
    )  # fmt: skip


@pytest.fixture
def places(persona):
    grid = persona("grid1").area
    first, second = Building.objects.filter(grid=grid).order_by("pk")[:2]
    return second, first  # the first holds demo demands about its corridor


def test_the_bigram_score_by_hand():
    a, b = bigrams("楼道堆放纸箱"), bigrams("楼道里，堆了很多纸箱杂物！")
    assert a == {"楼道", "道堆", "堆放", "放纸", "纸箱"}
    # Punctuation splits the text; no bigram spans it (里堆 would).
    assert b == {"楼道", "道里", "堆了", "了很", "很多", "多纸", "纸箱", "箱杂", "杂物"}
    # 2 shared (楼道, 纸箱) of 5 + 9 bigrams: Dice 4/14.
    assert similarity(a, b) == (pytest.approx(4 / 14), 2)


def test_similar_open_demands_at_the_same_building_are_suggested(persona, places, django_assert_max_num_queries):
    grid1, staff = persona("grid1"), persona("staff1")
    here, there = places
    boxes = file(grid1, "楼道堆放纸箱", here)
    elsewhere = file(grid1, "楼道堆放纸箱", there)
    closed = file(grid1, "楼道堆放纸箱杂物", here)
    for action, note in (("accept", ""), ("handle", "已清理"), ("close", "")):
        services.ticket_act(actor=staff, number=closed.number, action=action, note=note)
    unrelated = file(grid1, "楼道灯不亮", here, category="路灯损坏")  # shares only 楼道

    with django_assert_max_num_queries(3):
        found = similar_open_tickets(staff, text="楼道里堆了很多纸箱杂物", building=here.pk)
    numbers = [s.ticket.number for s in found]
    assert boxes.number in numbers
    assert elsewhere.number not in numbers and closed.number not in numbers and unrelated.number not in numbers
    hit = found[numbers.index(boxes.number)]
    assert hit.score == pytest.approx(4 / 15, abs=0.001) and hit.same == "building"
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)

    # A dwelling widens to its building; the demand just registered is left out.
    dwelling = here.dwellings.first()
    new = file(grid1, "楼道里堆了很多纸箱杂物", here)
    again = similar_open_tickets(staff, text=new.description, dwelling=dwelling.pk, exclude=new.number)
    assert boxes.number in [s.ticket.number for s in again] and new.number not in [s.ticket.number for s in again]


def test_out_of_scope_demands_are_never_suggested(persona, places):
    here, _there = places
    boxes = file(persona("grid1"), "楼道堆放纸箱", here)
    for outsider in ("staff2", "grid2", "liaison2", "dept1"):
        found = similar_open_tickets(persona(outsider), text="楼道里堆了很多纸箱杂物", building=here.pk)
        assert boxes.number not in [s.ticket.number for s in found], outsider
    assert similar_open_tickets(persona("staff1"), text="，。！") == []  # nothing to compare
