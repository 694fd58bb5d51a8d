"""Photos of a visit: taken on the phone form, checked and re-encoded like a demand's, shown in the
diary, served only to those who may see the visit, and carried (the same files) by the demand made
from the visit, whose page links back to the diary entry."""

import io
import re

import pytest
from PIL import Image

from minqing.core.models import AuditEntry
from minqing.tickets import services as tickets
from minqing.tickets.models import Category, TicketAttachment
from minqing.tickets.tests.photo_files import GPS_IFD, phone_jpeg, png_file
from minqing.visits.models import Visit, VisitPhoto
from minqing.visits.tests.factories import household_with

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def _post(client, household, **fields):
    return client.post("/visits/new/", {"household": household.pk, "purpose": "safety", **fields})


def test_photos_taken_on_a_visit_are_in_the_diary_without_location_and_only_for_those_in_scope(
    client_as, persona, media
):
    grid1 = persona("grid1")
    household, _ = household_with(grid1)
    grid = client_as("grid1")
    resp = _post(grid, household, note="楼道堆物", photos=[phone_jpeg(), png_file()])
    assert resp.status_code == 302, resp.content.decode()[:2000]
    visit = Visit.objects.get(household=household)
    assert visit.photos.count() == 2
    assert AuditEntry.objects.get(action="visit.log", target_id=str(visit.pk)).data["photos"] == 2

    page = grid.get(f"/residents/households/{household.pk}/").content.decode()
    entry = page[page.index(f'id="visit-{visit.pk}"') :].split("</li>")[0]
    thumbs = re.findall(r'src="(/visits/photos/(\d+)/thumb/)"', entry)
    assert len(thumbs) == 2
    first = int(thumbs[0][1])
    served = grid.get(f"/visits/photos/{first}/")
    assert served.status_code == 200 and served["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(b"".join(served.streaming_content))) as image:
        assert image.size == (900, 1200)  # turned upright
        assert not image.getexif().get_ifd(GPS_IFD) and "exif" not in image.info
    thumb = grid.get(thumbs[0][0])
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    # The file on disk has a random name, not the phone's.
    assert "IMG_0001" not in VisitPhoto.objects.get(pk=first).image.name

    # Someone who may not see the visit gets the same answer as for a photo that does not exist.
    for outsider in ("liaison1", "grid2", "staff2"):
        for url in (f"/visits/photos/{first}/", thumbs[0][0]):
            assert client_as(outsider).get(url).status_code == 404, (outsider, url)
    assert client_as("dept1").get(f"/visits/photos/{first}/").status_code == 403  # no resident files at all
    assert grid.get("/visits/photos/987654321/").status_code == 404
    assert client_as("staff1").get(f"/visits/photos/{first}/").status_code == 200  # the community's staff


def test_a_bad_photo_or_a_seventh_refuses_the_visit_and_stores_nothing(client_as, persona, media):
    household, _ = household_with(persona("grid1"))
    grid = client_as("grid1")
    resp = _post(grid, household, photos=[phone_jpeg(f"p{i}.jpg", size=(80, 60)) for i in range(7)])
    assert resp.status_code == 200 and "每次走访最多 6 张照片" in resp.content.decode()
    not_a_photo = io.BytesIO(b"%PDF-1.4 not a photo")
    not_a_photo.name = "scan.jpg"
    resp = grid.post(
        "/visits/new/",
        {"household": household.pk, "purpose": "routine", "photos": [phone_jpeg(), not_a_photo]},
        HTTP_ACCEPT="application/json",
    )
    assert resp.status_code == 400 and resp.json()["field"] == "photos" and "scan.jpg" in resp.json()["message"]
    assert not Visit.objects.filter(household=household).exists()
    assert not any(p.is_file() for p in media.rglob("*"))


def test_the_demand_made_from_a_visit_carries_its_photos_and_links_back(client_as, persona, media):
    household, _ = household_with(persona("grid1"))
    grid = client_as("grid1")
    category = Category.objects.get(name="燃气隐患")
    resp = _post(grid, household, note="燃气软管老化开裂", photos=[phone_jpeg()], to_demand="on", category=category.pk)
    assert resp.status_code == 302, resp.content.decode()[:2000]
    visit = Visit.objects.select_related("ticket").get(household=household)
    ticket, photo = visit.ticket, visit.photos.get()
    # The same files, not a second processing: one image and one thumbnail on disk.
    attachment = TicketAttachment.objects.get(ticket=ticket)
    assert (attachment.image.name, attachment.thumbnail.name) == (photo.image.name, photo.thumbnail.name)
    assert attachment.event.action == "register" and attachment.uploaded_by_id == visit.worker_id
    assert len([p for p in media.rglob("*") if p.is_file()]) == 2

    demand_page = grid.get(f"/tickets/{ticket.number}/").content.decode()
    link = re.search(r'data-testid="from-visit"><a href="([^"]+)"', demand_page)
    assert link and link.group(1) == f"/residents/households/{household.pk}/#visit-{visit.pk}"
    assert f'src="/tickets/photos/{attachment.pk}/thumb/"' in demand_page
    assert grid.get(f"/tickets/photos/{attachment.pk}/").status_code == 200
    diary = grid.get(link.group(1).split("#")[0]).content.decode()
    entry = diary[diary.index(f'id="visit-{visit.pk}"') :].split("</li>")[0]
    assert f'href="/tickets/{ticket.number}/"' in entry and ticket.number in entry
    assert 'data-testid="from-visit"' in client_as("staff1").get(f"/tickets/{ticket.number}/").content.decode()
    # The department the demand is handed to sees the demand and its photo, not the household's diary.
    staff = persona("staff1")
    tickets.ticket_act(actor=staff, number=ticket.number, action="accept")
    tickets.ticket_act(actor=staff, number=ticket.number, action="dispatch", department=persona("dept1").department_id)
    dept = client_as("dept1")
    handed = dept.get(f"/tickets/{ticket.number}/").content.decode()
    assert f'src="/tickets/photos/{attachment.pk}/thumb/"' in handed
    assert "来自走访" not in handed and f"#visit-{visit.pk}" not in handed
    assert dept.get(f"/tickets/photos/{attachment.pk}/").status_code == 200
