"""Registering, changing and moving residents through the services, as a grid worker would."""

import datetime

import pytest
from django.db import connection

from minqing.areas.models import Dwelling
from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.models import AuditEntry
from minqing.registry import selectors, services
from minqing.registry.idnumbers import check_character
from minqing.registry.models import EventKind, Household, Resident, ResidentStatus, Tag

pytestmark = pytest.mark.django_db


def citizen_id(region="150603", birth="19450302", seq="123"):
    first17 = region + birth + seq
    return first17 + check_character(first17)


def grid1_dwellings(persona):
    # The ones the demo left empty (its households carry a number; these tests' do not).
    demo_homes = Household.objects.exclude(number="").values("dwelling_id")
    return Dwelling.objects.filter(building__grid=persona("grid1").area).exclude(pk__in=demo_homes).order_by("pk")


def register(actor, dwelling, **data):
    data.setdefault("name", "张杰")
    return services.resident_create(actor=actor, data=data, dwelling=dwelling)


def test_register_derives_birth_date_and_sex_and_stores_identifiers_encrypted(persona):
    grid1 = persona("grid1")
    number = citizen_id()
    resident = register(grid1, grid1_dwellings(persona)[0], id_number=number, phone="138 1234 5678")
    resident.refresh_from_db()
    assert resident.birth_date == datetime.date(1945, 3, 2)
    assert resident.sex == "M"  # 17th digit 3 is odd
    assert resident.id_number == number and resident.phone == "13812345678"
    assert resident.id_number_masked == number[:4] + "*" * 10 + number[-4:]
    assert resident.phone_masked == "138****5678"
    assert (resident.name_pinyin, resident.name_initials) == ("zhangjie", "zj")
    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number, phone FROM registry_resident WHERE id = %s", [resident.pk])
        raw_id, raw_phone = cursor.fetchone()
    assert number not in raw_id and "13812345678" not in raw_phone
    event = resident.events.get()
    assert event.kind == EventKind.REGISTERED and event.dwelling_id == resident.dwelling_id


def test_second_registration_of_an_id_number_names_the_first_masked(persona):
    grid1, grid2 = persona("grid1"), persona("grid2")
    number = citizen_id(seq="456")
    first = register(grid1, grid1_dwellings(persona)[0], name="王秀英", id_number=number)
    other = Dwelling.objects.filter(building__grid=grid2.area).first()
    with pytest.raises(ApplicationError) as refused:
        register(grid2, other, name="王秀英", id_number=number.lower())
    assert refused.value.field == "id_number"
    message = str(refused.value.message)
    assert "王**" in message and first.id_number_masked in message and number not in message
    assert Resident.objects.filter(id_number_hash=first.id_number_hash).count() == 1


def test_typed_birth_date_that_disagrees_with_the_id_number_is_refused(persona):
    with pytest.raises(ApplicationError) as refused:
        register(persona("grid1"), grid1_dwellings(persona)[0], id_number=citizen_id(), birth_date="1945-03-03")
    assert refused.value.field == "birth_date"


def test_an_infant_without_id_number_is_kept(persona):
    grid1 = persona("grid1")
    parent = register(grid1, grid1_dwellings(persona)[1], name="刘洋", id_number=citizen_id(birth="19900101"))
    baby = services.resident_create(
        actor=grid1, data={"name": "刘小宝", "birth_date": "2026-10-01", "relation": "子"}, household=parent.household
    )
    assert baby.id_number == "" and baby.id_number_hash is None and baby.relation == "son"
    assert baby.household_id == parent.household_id and baby.dwelling_id == parent.dwelling_id


def test_move_out_and_death_keep_the_record_and_show_on_the_dwelling(persona):
    grid1 = persona("grid1")
    dwelling = grid1_dwellings(persona)[2]
    a = register(grid1, dwelling, name="赵一", id_number=citizen_id(seq="111"))
    b = services.resident_create(
        actor=grid1, data={"name": "赵二", "id_number": citizen_id(seq="222")}, household=a.household
    )
    services.resident_move_out(actor=grid1, resident=a, occurred_on="2026-11-01", destination="呼和浩特市")
    services.resident_decease(actor=grid1, resident=b, occurred_on="2026-11-02")
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.status, a.left_to, a.left_on) == (ResidentStatus.MOVED_OUT, "呼和浩特市", datetime.date(2026, 11, 1))
    assert b.status == ResidentStatus.DECEASED
    assert a.household.dissolved_at is not None  # nobody left in it
    current, former = selectors.dwelling_residents(grid1, dwelling)
    assert current == [] and {r.name for r in former} == {"赵一", "赵二"}
    with pytest.raises(ApplicationError):
        services.resident_update(actor=grid1, resident=a, data={"name": "赵壹"})


def test_change_of_dwelling_leaves_a_former_resident_behind(persona):
    grid1 = persona("grid1")
    old, new = grid1_dwellings(persona)[3], grid1_dwellings(persona)[4]
    r = register(grid1, old, name="孙丽")
    services.resident_change_dwelling(actor=grid1, resident=r, occurred_on="2026-11-10", dwelling=new)
    r.refresh_from_db()
    assert r.dwelling_id == new.pk
    assert [x.name for x in selectors.dwelling_residents(grid1, old)[1]] == ["孙丽"]
    assert [x.name for x in selectors.dwelling_residents(grid1, new)[0]] == ["孙丽"]
    with pytest.raises(ApplicationError) as refused:
        services.resident_move_out(actor=grid1, resident=r, occurred_on="2026-11-01", destination="北京")
    assert refused.value.field == "occurred_on"  # before the last change


def test_history_masks_the_id_number(persona):
    grid1 = persona("grid1")
    r = register(grid1, grid1_dwellings(persona)[5], name="周敏", id_number=citizen_id(seq="332"))
    services.resident_update(actor=grid1, resident=r, data={"id_number": citizen_id(seq="334"), "name": "周敏敏"})
    entries, _ = selectors.resident_change_log(grid1, r)
    changes = {c.label: (c.old, c.new) for c in entries[0].changes}
    assert changes["姓名"] == ("周敏", "周敏敏")
    old, new = changes["证件号码"]
    assert "*" in old and "*" in new and citizen_id(seq="334") not in new
    assert entries[0].who == grid1.display_name or entries[0].who


def test_reveal_needs_the_permission_and_a_reason_and_is_audited(persona):
    grid1, liaison = persona("grid1"), persona("liaison1")
    dwelling = liaison.dwellings.first()
    r = register(grid1, dwelling, name="钱芳", phone="13900001111")
    with pytest.raises(PermissionDenied):
        services.resident_reveal(actor=liaison, resident=r, field="phone", reason="回访")
    with pytest.raises(ApplicationError) as refused:
        services.resident_reveal(actor=grid1, resident=r, field="phone", reason=" ")
    assert refused.value.field == "reason"
    assert services.resident_reveal(actor=grid1, resident=r, field="phone", reason="电话回访") == "13900001111"
    entry = AuditEntry.objects.filter(action="resident.reveal").latest("pk")
    assert (entry.actor_id, entry.target_id, entry.data) == (
        grid1.pk,
        str(r.pk),
        {"field": "phone", "reason": "电话回访"},
    )


def test_search_by_pinyin_initials_id_and_phone_within_scope(persona):
    grid1, liaison, grid2 = persona("grid1"), persona("liaison1"), persona("grid2")
    inside = liaison.dwellings.first()
    outside = grid1_dwellings(persona).exclude(pk__in=liaison.dwellings.values("pk")).first()
    a = register(grid1, inside, name="张杰", id_number=citizen_id(seq="551"), phone="13700001234")
    b = register(grid1, outside, name="张娟", id_number=citizen_id(seq="553"))
    search = selectors.search_residents

    def names(user, **kw):
        return {r.name for r in search(user, selectors.ResidentFilters(**kw))}

    assert {"张杰", "张娟"} <= names(grid1, q="zj")
    assert names(grid1, q="zhangjie") >= {"张杰"} and "张娟" not in names(grid1, q="zhangjie")
    assert names(grid1, q=a.id_number.lower()) == {"张杰"}
    assert names(grid1, q="137-0000-1234") == {"张杰"}
    assert "张杰" in names(liaison, q="zj") and "张娟" not in names(liaison, q="张")
    assert names(grid2, q=b.id_number) == set()
    with pytest.raises(NotFound):
        selectors.access_resident(liaison, b.pk)


def test_age_tag_follows_birth_date_and_community_threshold(persona):
    grid1, admin = persona("grid1"), persona("admin1")
    gaoling = Tag.objects.get(name="高龄", community=None)
    old = register(grid1, grid1_dwellings(persona)[6], name="吴老", birth_date="1940-01-01")
    young = register(grid1, grid1_dwellings(persona)[7], name="吴中", birth_date="1950-01-01")
    selectors.attach_tags(grid1, [old, young])
    assert "高龄" in [t.name for t in old.shown_tags] and "高龄" not in [t.name for t in young.shown_tags]
    found = {r.name for r in selectors.search_residents(grid1, selectors.ResidentFilters(tag=gaoling.pk))}
    assert "吴老" in found and "吴中" not in found
    services.tag_set_threshold(actor=admin, community=admin.area, tag=gaoling, min_age=70)
    found = {r.name for r in selectors.search_residents(grid1, selectors.ResidentFilters(tag=gaoling.pk))}
    assert {"吴老", "吴中"} <= found
    with pytest.raises(ApplicationError):
        services.resident_set_tags(actor=grid1, resident=old, tags=[{"tag": gaoling.pk}])


def test_sensitive_tags_are_hidden_from_a_liaison_and_kept_when_they_edit(persona):
    grid1, liaison = persona("grid1"), persona("liaison1")
    disability = Tag.objects.get(name="残疾", community=None)
    alone = Tag.objects.get(name="独居老人", community=None)
    r = register(grid1, liaison.dwellings.first(), name="郑伟")
    services.resident_set_tags(
        actor=grid1, resident=r, tags=[{"tag": disability.pk, "grade": 2, "detail": "肢体"}, {"tag": alone.pk}]
    )
    selectors.attach_tags(grid1, [r])
    assert {t.name for t in r.shown_tags} == {"残疾（肢体2级）", "独居老人"}
    selectors.attach_tags(liaison, [r])
    assert {t.name for t in r.shown_tags} == {"独居老人"}
    with pytest.raises(ApplicationError):
        services.resident_set_tags(actor=grid1, resident=r, tags=[{"tag": disability.pk, "grade": 5}])


def test_changing_only_the_sex_or_birth_date_keeps_the_id_number(persona):
    grid1 = persona("grid1")
    number = citizen_id(birth="19800101", seq="442")
    r = services.resident_create(
        actor=grid1, data={"name": "韩梅", "birth_date": "1980-01-02"}, dwelling=grid1_dwellings(persona)[0]
    )
    services.resident_update(actor=grid1, resident=r, data={"id_number": number})
    r.refresh_from_db()
    assert (r.id_number, r.birth_date, r.sex) == (number, datetime.date(1980, 1, 1), "F")
    with pytest.raises(ApplicationError) as refused:
        services.resident_update(actor=grid1, resident=r, data={"sex": "男"})
    assert refused.value.field == "sex"
    services.resident_update(actor=grid1, resident=r, data={"birth_date": "1980-01-01", "phone": "13800001111"})
    r.refresh_from_db()
    assert r.id_number == number and r.phone == "13800001111"
