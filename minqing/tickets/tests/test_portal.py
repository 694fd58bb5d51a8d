"""The residents' portal, through HTTP as a phone uses it: filing with the drawn sum, the honeypot and
the rate limits; following by number and the last four digits; only public steps; rating and the
reopen on 不满意."""

import re

import pytest
from django.core.cache import cache
from django.test import Client

from minqing.areas.models import Area, Building
from minqing.portal import challenge
from minqing.tickets import lifecycle, services
from minqing.tickets.models import Category, Ticket, TicketAttachment
from minqing.tickets.tests.photo_files import phone_jpeg

PHONE = "13947701234"


@pytest.fixture(autouse=True)
def fresh(media, db):
    cache.clear()  # the rate limit counters
    yield
    cache.clear()


def _challenge(client: Client) -> tuple[str, str]:
    """Open the form and read the sum's answer where the server keeps it (the session); the form is
    then backdated past the minimum fill time, as a person typing would take."""
    response = client.get("/portal/new/")
    assert response.status_code == 200
    token = response.context["token"]
    image = client.get(f"/portal/new/challenge/{token}.png")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    session = client.session
    entry = session[challenge.SESSION_KEY][token]
    entry["at"] -= challenge.MIN_FILL_SECONDS + 1
    session.save()
    return token, entry["answer"]


def _place():
    community = Area.objects.get(name="嘉和社区")
    building = Building.objects.filter(estate__community=community).order_by("pk").first()
    return community, building


def _file(client: Client, *, answer=None, phone=PHONE, photos=(), backdate=True, **extra):
    if backdate:
        token, right = _challenge(client)
    else:
        response = client.get("/portal/new/")
        token = response.context["token"]
        right = client.session[challenge.SESSION_KEY][token]["answer"]
    community, building = _place()
    data = {
        "name": "刘女士",
        "phone": phone,
        "community": community.pk,
        "building": building.pk,
        "place_text": "",
        "category": Category.objects.get(name="下水堵塞").pk,
        "description": "厨房下水道堵了三天",
        "answer": right if answer is None else answer,
        "token": token,
        "website": "",
        "photos": list(photos),
        **extra,
    }
    return client.post("/portal/new/", data, **({"REMOTE_ADDR": extra.pop("ip")} if "ip" in extra else {}))


def test_a_resident_files_a_demand_with_a_photo_and_gets_its_number():
    client = Client()
    before = Ticket.objects.count()
    response = _file(client, photos=[phone_jpeg()])
    assert response.status_code == 302 and response["Location"] == "/portal/filed/"
    ticket = Ticket.objects.latest("pk")
    assert Ticket.objects.count() == before + 1
    community, building = _place()
    assert ticket.channel == "portal" and ticket.created_by is None
    assert ticket.reporter_name == "刘女士" and ticket.reporter_phone == PHONE
    assert ticket.building == building and ticket.area == building.grid and ticket.area_path.startswith(community.path)
    assert ticket.events.get().actor_label == "居民"
    photo = ticket.attachments.get()
    assert photo.uploaded_by is None and photo.uploaded_by_label == "居民"
    page = client.get("/portal/filed/").content.decode()
    assert ticket.number in page and "手机号后四位" in page
    # The resident sees their photo; the thumbnail too.
    detail = client.get(f"/portal/t/{ticket.number}/").content.decode()
    assert f"/portal/t/{ticket.number}/photos/{photo.pk}/thumb/" in detail
    assert client.get(f"/portal/t/{ticket.number}/photos/{photo.pk}/").status_code == 200


def test_a_place_typed_in_words_goes_to_the_community():
    client = Client()
    community, _building = _place()
    assert _file(client, building="", place_text="东门停车场").status_code == 302
    ticket = Ticket.objects.latest("pk")
    assert ticket.area == community and ticket.building is None
    assert ticket.description.startswith("【地点】东门停车场")
    refused = _file(client, building="", place_text="")
    assert refused.status_code == 400 and "请选择楼栋，或写明具体位置" in refused.content.decode()


def test_a_wrong_answer_stores_nothing_and_spends_the_challenge():
    client = Client()
    before = Ticket.objects.count()
    token, right = _challenge(client)
    community, building = _place()
    data = {
        "name": "刘女士", "phone": PHONE, "community": community.pk, "building": building.pk,
        "category": Category.objects.get(name="下水堵塞").pk, "description": "下水道堵了", "token": token,
    }  # fmt: skip
    wrong = client.post("/portal/new/", {**data, "answer": str(int(right) + 1)})
    assert wrong.status_code == 400 and "验证题答案不正确" in wrong.content.decode()
    again = client.post("/portal/new/", {**data, "answer": right})  # the same sum cannot be tried twice
    assert again.status_code == 400 and "验证题已过期" in again.content.decode()
    assert Ticket.objects.count() == before


def test_a_form_posted_at_once_is_refused():
    response = _file(Client(), backdate=False)
    assert response.status_code == 400 and "提交太快" in response.content.decode()


def test_the_honeypot_stores_nothing():
    before = Ticket.objects.count()
    response = _file(Client(), website="http://spam.example")
    assert response.status_code == 400 and Ticket.objects.count() == before
    assert "提交未成功" in response.content.decode()


def test_a_bad_photo_is_named_and_nothing_is_stored():
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = Ticket.objects.count()
    fake = SimpleUploadedFile("现场.jpg", b"not a picture at all" * 10, content_type="image/jpeg")
    response = _file(Client(), photos=[fake])
    assert response.status_code == 400 and "现场.jpg" in response.content.decode()
    assert Ticket.objects.count() == before and not TicketAttachment.objects.exists()


def test_filings_are_limited_per_ip_with_a_429():
    client = Client()
    for i in range(5):
        assert _file(client, phone=f"1394770{i:04d}").status_code == 302
    limited = _file(client, phone="13947709999")
    assert limited.status_code == 429 and "提交过于频繁" in limited.content.decode()
    # Another address is not held back by this one.
    assert _file(Client(REMOTE_ADDR="10.1.2.3"), phone="13947709999").status_code == 302


def test_filings_are_limited_per_phone():
    for i in range(5):
        assert _file(Client(REMOTE_ADDR=f"10.0.0.{i}")).status_code == 302
    limited = _file(Client(REMOTE_ADDR="10.0.0.99"))
    assert limited.status_code == 429 and "该手机号" in limited.content.decode()


def _portal_ticket() -> Ticket:
    assert _file(Client()).status_code == 302
    return Ticket.objects.latest("pk")


def _follow(client, number, last4):
    return client.post("/portal/follow/", {"number": number, "last4": last4})


MESSAGE = re.compile(r'<ul class="errorlist nonfield">.*?</ul>', re.S)


def test_follow_needs_the_last_four_digits_and_says_the_same_for_an_unknown_number():
    ticket = _portal_ticket()
    client = Client()
    wrong = _follow(client, ticket.number, "0000")
    unknown = _follow(client, "MQ20000101-0001", PHONE[-4:])
    assert wrong.status_code == unknown.status_code == 400
    assert MESSAGE.search(wrong.content.decode()).group() == MESSAGE.search(unknown.content.decode()).group()
    assert "诉求编号或手机号后四位不正确" in wrong.content.decode()
    assert client.get(f"/portal/t/{ticket.number}/").status_code == 302  # nothing opened
    right = _follow(client, ticket.number.lower(), PHONE[-4:])
    assert right.status_code == 302 and right["Location"] == f"/portal/t/{ticket.number}/"
    assert "已登记" in client.get(right["Location"]).content.decode()


def test_follow_is_limited_against_guessing():
    ticket = _portal_ticket()
    client = Client()
    for digits in range(10):
        assert _follow(client, ticket.number, f"{digits:04d}").status_code == 400
    limited = _follow(client, ticket.number, PHONE[-4:])
    assert limited.status_code == 429 and "查询次数过多" in limited.content.decode()
    # Per number as well: another address guessing the same number is held back too.
    assert _follow(Client(REMOTE_ADDR="10.9.9.9"), ticket.number, PHONE[-4:]).status_code == 429


def test_the_resident_sees_public_steps_only(persona):
    ticket = _portal_ticket()
    staff = persona("staff1")
    services.ticket_act(actor=staff, number=ticket.number, action="accept")
    services.ticket_act(actor=staff, number=ticket.number, action="note", note="内部：该住户多次重复反映")
    services.ticket_act(actor=staff, number=ticket.number, action="handle", note="已联系物业疏通下水道")
    client = Client()
    _follow(client, ticket.number, PHONE[-4:])
    page = client.get(f"/portal/t/{ticket.number}/").content.decode()
    assert "已联系物业疏通下水道" in page and "已办结" in page and "受理" in page
    assert "内部：该住户多次重复反映" not in page and "内部备注" not in page
    assert staff.display_name not in page and "社区工作者" in page  # a role, never the person
    assert PHONE not in page


def test_a_resident_sees_only_their_own_demands_photos(persona):
    mine = _portal_ticket()
    other = services.ticket_create(
        actor=persona("staff1"), category=Category.objects.get(name="下水堵塞"), channel="desk",
        description="别人的诉求", photos=[phone_jpeg()],
    )  # fmt: skip
    theirs = other.attachments.get()
    client = Client()
    _follow(client, mine.number, PHONE[-4:])
    assert client.get(f"/portal/t/{mine.number}/photos/{theirs.pk}/").status_code == 404
    assert client.get(f"/portal/t/{other.number}/photos/{theirs.pk}/").status_code == 404
    # An internal note's photo stays internal.
    staff = persona("staff1")
    services.ticket_act(actor=staff, number=mine.number, action="note", note="现场", photos=[phone_jpeg()])
    internal = mine.attachments.get()
    assert client.get(f"/portal/t/{mine.number}/photos/{internal.pk}/").status_code == 404


def _closed(persona) -> Ticket:
    ticket = _portal_ticket()
    staff = persona("staff1")
    for action, note in (("accept", ""), ("handle", "已疏通"), ("close", "")):
        services.ticket_act(actor=staff, number=ticket.number, action=action, note=note)
    return ticket


def test_rating_after_close(persona):
    ticket = _closed(persona)
    client = Client()
    _follow(client, ticket.number, PHONE[-4:])
    assert "评价办理结果" in client.get(f"/portal/t/{ticket.number}/").content.decode()
    response = client.post(f"/portal/t/{ticket.number}/rate/", {"rating": "satisfied", "comment": "很快"})
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.status, ticket.rating, ticket.rating_comment) == ("evaluated", "satisfied", "很快")
    event = ticket.events.get(action="evaluate")
    assert event.actor is None and event.actor_label == "居民"
    page = client.get(f"/portal/t/{ticket.number}/").content.decode()
    assert "感谢您的评价" in page and "评价办理结果" not in page


def test_unsatisfied_within_seven_days_reopens(persona):
    ticket = _closed(persona)
    client = Client()
    _follow(client, ticket.number, PHONE[-4:])
    client.post(f"/portal/t/{ticket.number}/rate/", {"rating": "unsatisfied", "comment": "还是堵"})
    ticket.refresh_from_db()
    assert ticket.status == "reopened" and ticket.rating == "unsatisfied"
    assert list(ticket.events.values_list("action", flat=True))[-2:] == ["evaluate", "reopen"]
    assert "已重办" in client.get(f"/portal/t/{ticket.number}/").content.decode()


def test_rating_needs_the_number_and_digits_first(persona):
    ticket = _closed(persona)
    response = Client().post(f"/portal/t/{ticket.number}/rate/", {"rating": "unsatisfied"})
    assert response.status_code == 302 and "/portal/follow/" in response["Location"]
    ticket.refresh_from_db()
    assert ticket.status == "closed"


def test_a_merged_demand_shows_the_progress_and_result_of_the_one_it_joined(persona):
    ticket = _portal_ticket()
    staff = persona("staff1")
    main = services.ticket_create(
        actor=staff, category=Category.objects.get(name="下水堵塞"), channel="desk", description="同一处下水道"
    )
    services.ticket_act(actor=staff, number=ticket.number, action="merge", into=main.number, note="同一处")
    services.ticket_act(actor=staff, number=main.number, action="accept")
    services.ticket_act(actor=staff, number=main.number, action="handle", note="管道已全部疏通")
    client = Client()
    _follow(client, ticket.number, PHONE[-4:])
    page = client.get(f"/portal/t/{ticket.number}/").content.decode()
    assert "已合并" in page and main.number in page and "管道已全部疏通" in page


def test_the_building_list_follows_the_community():
    community, building = _place()
    response = Client().get("/portal/new/buildings/", {"community": community.pk})
    assert f'value="{building.pk}"' in response.content.decode()
    other = Area.objects.get(name="恒大社区")
    assert (
        f'value="{building.pk}"' not in Client().get("/portal/new/buildings/", {"community": other.pk}).content.decode()
    )


def test_the_service_takes_a_portal_demand_only_with_a_place():
    from minqing.core.errors import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        services.ticket_create(
            actor=None, category=Category.objects.get(name="下水堵塞"), channel="portal", description="x"
        )
    assert refused.value.field == "area"
    assert lifecycle.RESIDENT  # the portal's rating actor exists in the table
