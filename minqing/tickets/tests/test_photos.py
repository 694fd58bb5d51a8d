"""Demand photos: checked by content, limited, stripped of EXIF and location, turned upright, given a
thumbnail, stored privately and served only to those who may see the demand."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from conftest import PERSONAS
from minqing.core.errors import ApplicationError
from minqing.core.photos import MAX_BYTES, THUMBNAIL_SIZE
from minqing.core.tests.scope_oracle import expected_for
from minqing.tickets import services
from minqing.tickets.models import Category, Ticket, TicketAttachment
from minqing.tickets.selectors import tickets_visible_to
from minqing.tickets.tests.photo_files import GPS_IFD, phone_jpeg, png_file

pytestmark = pytest.mark.usefixtures("media")


def _create(persona, photos, username="staff1"):
    return services.ticket_create(
        actor=persona(username),
        category=Category.objects.get(name="下水堵塞"),
        channel="desk",
        description="下水道堵塞",
        photos=photos,
    )


def test_a_phone_photo_is_stored_without_exif_or_location_upright_and_with_a_thumbnail(persona, media):
    upload = phone_jpeg()
    assert b"PhoneModel X" in upload.read() and Image.open(upload).getexif().get_ifd(GPS_IFD)
    upload.seek(0)
    ticket = _create(persona, [upload])
    (photo,) = ticket.attachments.all()
    assert photo.event.action == "register" and photo.original_name == "IMG_0001.jpg"
    stored = (media / photo.image.name).read_bytes()
    assert str(media) in photo.image.path and "IMG_0001" not in photo.image.name  # random name, private folder
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "JPEG"
        assert len(image.getexif()) == 0 and not image.getexif().get_ifd(GPS_IFD)
        assert "exif" not in image.info
        # Orientation 6 applied: the 1200 × 900 landscape sensor picture is a portrait one now.
        assert image.size == (900, 1200) == (photo.width, photo.height)
    assert b"PhoneModel X" not in stored and b"Exif" not in stored
    assert photo.content_type == "image/jpeg" and photo.size == len(stored)
    thumb = (media / photo.thumbnail.name).read_bytes()
    with Image.open(io.BytesIO(thumb)) as small:
        assert max(small.size) == THUMBNAIL_SIZE and small.format == "JPEG" and len(small.getexif()) == 0
    assert len(thumb) < 20_000


def test_png_stays_png_and_keeps_its_transparency(persona, media):
    ticket = _create(persona, [png_file()])
    (photo,) = ticket.attachments.all()
    with Image.open(media / photo.image.name) as image:
        assert image.format == "PNG" and image.mode == "RGBA" and image.getpixel((0, 0))[3] == 128


def test_a_text_file_named_jpg_is_refused_by_content_naming_the_file(persona):
    before = Ticket.objects.count()
    fake = SimpleUploadedFile("现场照片.jpg", "这不是照片".encode() * 100, content_type="image/jpeg")
    with pytest.raises(ApplicationError) as refused:
        _create(persona, [phone_jpeg(), fake])
    assert "现场照片.jpg" in str(refused.value.message) and refused.value.field == "photos"
    assert Ticket.objects.count() == before and not TicketAttachment.objects.exists()


def test_an_oversized_file_is_refused(persona):
    big = SimpleUploadedFile("大图.jpg", b"\xff\xd8\xff" + b"0" * MAX_BYTES, content_type="image/jpeg")
    with pytest.raises(ApplicationError) as refused:
        _create(persona, [big])
    assert "大图.jpg" in str(refused.value.message) and "10 MB" in str(refused.value.message)


def test_a_decompression_bomb_is_refused_before_its_pixels_are_decoded(persona):
    out = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(out, format="PNG")  # 60 megapixels in a few kB
    bomb = SimpleUploadedFile("bomb.png", out.getvalue())
    assert len(out.getvalue()) < 100_000
    with pytest.raises(ApplicationError) as refused:
        _create(persona, [bomb])
    assert "bomb.png" in str(refused.value.message) and "像素" in str(refused.value.message)


def test_seven_photos_are_refused_and_six_with_existing_ones_are_counted(persona):
    with pytest.raises(ApplicationError) as refused:
        _create(persona, [png_file(f"{i}.png") for i in range(7)])
    assert "最多 6 张" in str(refused.value.message)
    ticket = _create(persona, [png_file(f"{i}.png") for i in range(5)])
    staff = persona("staff1")
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    with pytest.raises(ApplicationError):
        services.ticket_act(
            actor=staff, number=ticket.number, action="handle", note="已疏通", photos=[png_file(), png_file()]
        )
    ticket.refresh_from_db()
    assert ticket.status == "accepted" and ticket.attachments.count() == 5  # the step did not happen either
    services.ticket_act(actor=staff, number=ticket.number, action="handle", note="已疏通", photos=[phone_jpeg()])
    done = ticket.attachments.get(event__action="handle")
    assert done.uploaded_by == staff


@pytest.fixture
def photos_on_both_sides(persona):
    """A photo on a demand of 嘉和社区 (reported by the liaison about one of their dwellings) and one of
    恒大社区: every role sees one side, some both, some none."""
    liaison = persona("liaison1")
    home = liaison.dwellings.order_by("pk").first()
    mine = services.ticket_create(
        actor=liaison,
        category=Category.objects.get(name="楼道堆物"),
        channel="liaison",
        description="楼道堆物",
        dwelling=home.pk,
        photos=[png_file()],
    )
    other = _create(persona, [png_file()], username="staff2")
    return [mine.attachments.get(), other.attachments.get()]


@pytest.mark.parametrize("username", PERSONAS)
def test_the_photo_view_serves_exactly_the_demands_in_scope(client_as, persona, username, photos_on_both_sides):
    user = persona(username)
    client = client_as(username)
    oracle = expected_for(user).tickets
    for photo in photos_on_both_sides:
        visible = tickets_visible_to(user).filter(pk=photo.ticket_id).exists()
        assert visible == (photo.ticket_id in oracle)
        for url in (f"/tickets/photos/{photo.pk}/", f"/tickets/photos/{photo.pk}/thumb/"):
            response = client.get(url)
            assert response.status_code == (200 if visible else 404), (username, url)
            if visible:
                assert response["Content-Type"] == ("image/png" if url.endswith(f"{photo.pk}/") else "image/jpeg")
                assert b"".join(response.streaming_content)[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0")
    assert client.get("/tickets/photos/987654321/").status_code == 404


def test_the_photo_matrix_is_not_trivial(persona, photos_on_both_sides):
    mine, other = photos_on_both_sides
    assert expected_for(persona("liaison1")).tickets >= {mine.ticket_id}
    assert other.ticket_id not in expected_for(persona("liaison1")).tickets
    assert mine.ticket_id not in expected_for(persona("liaison2")).tickets
    assert {mine.ticket_id, other.ticket_id} <= expected_for(persona("district1")).tickets


def test_photos_are_not_public_files(client, photos_on_both_sides):
    photo = photos_on_both_sides[0]
    assert client.get(f"/tickets/photos/{photo.pk}/").status_code == 302  # to the sign-in page
    assert client.get(f"/media/{photo.image.name}").status_code == 404
