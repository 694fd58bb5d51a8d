"""Exporting a search to .xlsx in the ledger layout: the file is written and read back as a person
opening it would (python-calamine), masked unless the reveal permission and a reason are given, and
every export audited."""

import io

import pytest
from python_calamine import CalamineWorkbook

from minqing.areas.models import Dwelling
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.core.models import AuditEntry
from minqing.registry import export, selectors, services
from minqing.registry.export import COLUMNS, export_residents
from minqing.registry.idnumbers import check_character
from minqing.registry.models import Tag

pytestmark = pytest.mark.django_db

HEADINGS = [title for title, _ in COLUMNS]


def citizen_id(birth="19450302", seq="123"):
    first17 = "150603" + birth + seq
    return first17 + check_character(first17)


def rows_of(content: bytes) -> list[list]:
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(content)).get_sheet_by_index(0)
    return sheet.to_python()


@pytest.fixture
def family(persona):
    grid1 = persona("grid1")
    dwellings = Dwelling.objects.filter(building__grid=grid1.area).order_by("pk")
    head = services.resident_create(
        actor=grid1,
        data={
            "name": "欧阳明",
            "id_number": citizen_id(seq="901"),
            "phone": "13812340001",
            "ethnicity": "蒙古族",
            "occupation": "退休",
            "willing_to_serve": True,
            "notes": "党小组长",
        },
        dwelling=dwellings[20],
    )
    wife = services.resident_create(
        actor=grid1,
        data={"name": "欧阳红", "id_number": citizen_id(birth="19480101", seq="902"), "relation": "配偶"},
        household=head.household,
    )
    alone = Tag.objects.get(name="独居老人", community=None)
    services.resident_set_tags(actor=grid1, resident=head, tags=[{"tag": alone.pk}])
    return head, wife


def test_masked_export_in_the_ledger_layout_and_audited(persona, client_as, family):
    head, wife = family
    client = client_as("grid1")
    response = client.post("/residents/export/?q=ouyang")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert "attachment" in response["Content-Disposition"]
    rows = rows_of(response.content)
    assert rows[0] == HEADINGS
    body = {row[1]: dict(zip(HEADINGS, row, strict=True)) for row in rows[1:]}
    assert set(body) == {"欧阳明", "欧阳红"}
    ming = body["欧阳明"]
    assert ming["公民身份号码"] == head.id_number_masked and "*" in ming["公民身份号码"]
    assert ming["联系电话"] == "138****0001"
    assert ming["民族"] == "蒙古族" and ming["与户主关系"] == "户主" and ming["户籍类型"] == "户籍"
    assert ming["愿意参与社区事务"] == "是" and ming["备注"] == "党小组长" and ming["职业"] == "退休"
    assert ming["标签"] == "独居老人"  # the automatic 高龄 is not a column value: it follows the birth date
    assert ming["房号"] == head.dwelling.room and ming["小区"] == head.dwelling.building.estate.name
    assert str(ming["出生日期"])[:10] == "1945-03-02"
    assert body["欧阳红"]["与户主关系"] == "配偶"
    entry = AuditEntry.objects.filter(action="resident.export").latest("pk")
    assert entry.actor.username == "grid1"
    assert entry.data == {"count": 2, "filters": {"q": "ouyang", "status": "active"}, "reason": "", "unmasked": False}


def test_unmasked_export_needs_a_reason_and_gives_full_values_as_text(persona, client_as, family):
    head, wife = family
    client = client_as("grid1")
    before = AuditEntry.objects.filter(action="resident.export").count()
    refused = client.post("/residents/export/?q=ouyang", {"unmasked": "on", "reason": ""})
    assert refused.status_code == 400
    html = refused.content.decode()
    assert "导出完整号码须填写原因" in html and html.index("导出完整号码须填写原因") > html.index('for="id_reason"')
    assert AuditEntry.objects.filter(action="resident.export").count() == before
    response = client.post("/residents/export/?q=ouyang", {"unmasked": "on", "reason": "高龄津贴申报"})
    rows = rows_of(response.content)
    numbers = {row[1]: row[5] for row in rows[1:]}
    # Text cells: an 18-digit number read back exactly, not rounded to 15 significant digits.
    assert numbers == {"欧阳明": head.id_number, "欧阳红": wife.id_number}
    assert all(isinstance(n, str) for n in numbers.values())
    assert {row[1]: row[7] for row in rows[1:]}["欧阳明"] == "13812340001"
    entry = AuditEntry.objects.filter(action="resident.export").latest("pk")
    assert entry.data["unmasked"] is True and entry.data["reason"] == "高龄津贴申报" and entry.data["count"] == 2


def test_who_may_export(persona, client_as, family):
    assert client_as("liaison1").post("/residents/export/").status_code == 403
    assert client_as("dept1").post("/residents/export/").status_code == 403
    # A liaison holds no reveal permission and no export; a subdistrict exports its own scope only.
    content = client_as("grid2").post("/residents/export/?q=ouyang").content
    assert [row[1] for row in rows_of(content)[1:]] == []
    with pytest.raises(PermissionDenied):
        export_residents(viewer=persona("liaison1"), filters=selectors.ResidentFilters())
    with pytest.raises(ApplicationError) as refused:
        export_residents(viewer=persona("street1"), filters=selectors.ResidentFilters(), unmasked=True, reason="")
    assert refused.value.field == "reason"


def test_export_search_page_offers_the_button_and_the_unmasked_choice(client_as):
    html = client_as("grid1").get("/residents/", {"q": "ouyang"}).content.decode()
    assert 'action="/residents/export/?q=ouyang"' in html and "含完整证件号码和电话" in html
    assert 'data-testid="export"' not in client_as("liaison1").get("/residents/").content.decode()


def test_a_large_export_streams_every_row_in_chunks(persona, family, monkeypatch):
    monkeypatch.setattr(export, "CHUNK", 50)  # several chunks without a thousand registrations
    grid1 = persona("grid1")
    dwellings = list(Dwelling.objects.filter(building__grid=grid1.area).order_by("pk")[:40])
    names = set()
    for i in range(120):
        name = "郝" + "甲乙丙丁戊己庚辛壬癸"[i // 12] + "子丑寅卯辰巳午未申酉戌亥"[i % 12]
        names.add(name)
        services.resident_create(
            actor=grid1, data={"name": name, "phone": f"1390{i:07d}"}, dwelling=dwellings[i % len(dwellings)]
        )
    content = export_residents(viewer=grid1, filters=selectors.ResidentFilters(q="hao"))
    rows = rows_of(content)
    # The demo may hold a 郝 or two of its own: every one of ours is there, numbered without a gap.
    mine = [row for row in rows[1:] if row[1] in names]
    assert len(mine) == 120 and all("****" in row[7] for row in mine)
    assert [row[0] for row in rows[1:]] == list(range(1, len(rows)))
