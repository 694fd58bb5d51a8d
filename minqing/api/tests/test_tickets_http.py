"""Demands over HTTP, as a grid worker's phone, the community desk, a department's system or the 12345
hotline sees them: intake with the least body and a number at once, deadlines on the Chinese
calendar, the categories with their limits, list filters, the timeline, a walk through the lifecycle,
refused steps that change nothing, and many parallel intakes that each get their own number."""

import re
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from minqing.api.tests.support import shell_json

NUMBER = re.compile(r"^MQ\d{8}-\d{4}$")
SHANGHAI = ZoneInfo("Asia/Shanghai")

SETUP = """
from minqing.accounts.models import Department, User
from minqing.tickets.models import Category, Ticket

users = {u.username: u for u in User.objects.filter(username__in=["grid1", "staff1", "liaison1", "grid2"])}
emit({
    "power": Department.objects.get(code="D-POWER").pk,
    "parks": Department.objects.get(code="D-PARKS").pk,
    "categories": {c.name: c.pk for c in Category.objects.filter(retired_at__isnull=True)},
    "areas": {name: u.area_id for name, u in users.items()},
    "jiahe": users["staff1"].area_id,
    "liaison_home": users["liaison1"].dwellings.order_by("pk").first().pk,
    "whistled": Ticket.objects.filter(status="whistled").values_list("number", flat=True).first(),
})
"""


@pytest.fixture(scope="module")
def world(live_app):
    return shell_json(live_app, SETUP)


def create(api, username: str, **body):
    reply = api.post("/api/v1/tickets", body, api.token(username))
    assert reply.status == 201, reply.text
    return reply.json()


def act(api, username: str, number: str, action: str, **body):
    return api.post(f"/api/v1/tickets/{number}/actions/{action}", body, api.token(username))


def detail(api, number: str, username: str = "staff1") -> dict:
    reply = api.get(f"/api/v1/tickets/{number}", api.token(username))
    assert reply.status == 200, reply.text
    return reply.json()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# Intake -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["grid1", "staff1"])
def test_create_with_the_least_body(api, world, username):
    before = datetime.now(tz=SHANGHAI)
    body = {"category": world["categories"]["下水堵塞"], "channel": "phone", "description": "厨房下水道堵塞"}
    ticket = create(api, username, **body)
    assert NUMBER.match(ticket["number"]), ticket["number"]
    assert ticket["number"][2:10] == before.strftime("%Y%m%d") or ticket["number"][2:10] == (
        datetime.now(tz=SHANGHAI).strftime("%Y%m%d")
    )
    assert (ticket["status"], ticket["status_label"]) == ("registered", "已登记")
    assert ticket["channel"] == "phone" and ticket["urgency"] == "normal"
    assert ticket["category"]["path_name"] == "市政设施/下水堵塞"
    # No place given: the creator's own area (grid1's grid, staff1's community).
    assert ticket["place"]["area"]["id"] == world["areas"][username]
    received = at(ticket["received_at"])
    assert abs((received - before).total_seconds()) < 60
    assert at(ticket["accept_due_at"]) == received + timedelta(hours=24)
    assert at(ticket["finish_due_at"]) > received + timedelta(days=5)  # five working days, end of day
    assert at(ticket["finish_due_at"]).astimezone(SHANGHAI).time().isoformat() == "23:59:59"
    assert ticket["deadline_provisional"] is False
    assert ticket["due_soon"] is False and ticket["overdue"] is False
    # The stored demand is the one answered.
    assert detail(api, ticket["number"], username)["id"] == ticket["id"]


def test_received_on_the_eve_of_national_day_is_due_after_the_holiday(api, world):
    """2025-09-30 10:00 + 5 working days: 10-01..08 are holidays, 10-11 (Saturday) is a make-up
    working day, so the fifth is Tuesday 10-14, at the end of the day — not 10-05."""
    ticket = create(
        api,
        "staff1",
        category=world["categories"]["下水堵塞"],
        channel="desk",
        description="九月底的纸质记录，补登",
        received_at="2025-09-30T10:00:00+08:00",
    )
    assert ticket["number"].startswith("MQ20250930-")
    assert at(ticket["received_at"]) == datetime(2025, 9, 30, 10, tzinfo=SHANGHAI)
    assert at(ticket["accept_due_at"]) == datetime(2025, 10, 1, 10, tzinfo=SHANGHAI)
    assert at(ticket["finish_due_at"]) == datetime(2025, 10, 14, 23, 59, 59, tzinfo=SHANGHAI)
    assert ticket["deadline_provisional"] is False


def test_received_in_the_future_or_malformed_is_refused_by_field(api, world, live_app):
    count = shell_json(live_app, "from minqing.tickets.models import Ticket\nemit(Ticket.objects.count())")
    base = {"category": world["categories"]["停电"], "channel": "phone", "description": "停电"}
    future = (datetime.now(tz=SHANGHAI) + timedelta(hours=1)).isoformat()
    reply = api.post("/api/v1/tickets", {**base, "received_at": future}, api.token("staff1"))
    assert reply.status == 400
    assert reply.json() == {"code": "invalid", "message": "接收时间不能晚于现在。", "field": "received_at"}
    ancient = api.post("/api/v1/tickets", {**base, "received_at": "0001-01-01T00:00:00Z"}, api.token("staff1"))
    assert (ancient.status, ancient.json()["field"]) == (400, "received_at")
    malformed = api.post("/api/v1/tickets", {**base, "received_at": "昨天下午"}, api.token("staff1"))
    assert (malformed.status, malformed.json()["field"]) == (422, "received_at")
    for field, value, status, named in (
        ("channel", "wechat", 422, "channel"),
        ("category", 987654, 400, "category"),
        ("description", "  ", 400, "description"),
        ("dwelling", world["liaison_home"] + 10**9, 400, "dwelling"),
        ("reporter_phone", "12", 400, "reporter_phone"),
        ("reporter_resident", 987654, 400, "reporter_resident"),
        ("latitude", 40.5, 400, "longitude"),  # the longitude is missing
        ("latitude", 91, 422, "latitude"),
        ("urgency", "critical", 422, "urgency"),
        ("colour", "red", 422, "colour"),
    ):
        reply = api.post("/api/v1/tickets", {**base, field: value}, api.token("staff1"))
        assert (reply.status, reply.json()["field"]) == (status, named), reply.text
    after = shell_json(live_app, "from minqing.tickets.models import Ticket\nemit(Ticket.objects.count())")
    assert after == count  # nothing half-stored


def test_place_reporter_and_urgency(api, world):
    ticket = create(
        api,
        "staff1",
        category=world["categories"]["电动车楼道充电"],
        channel="visit",
        description="楼道飞线充电",
        urgency="urgent",
        dwelling=world["liaison_home"],
        reporter_name="李先生",
        reporter_phone="139 4771 2345",
        latitude=40.612345,
        longitude=110.012345,
    )
    assert ticket["place"]["dwelling"]["id"] == world["liaison_home"]
    assert ticket["place"]["building"] and ticket["place"]["area"]["id"] == world["areas"]["grid1"]
    assert (ticket["place"]["latitude"], ticket["place"]["longitude"]) in (
        (40.612345, 110.012345),
        ("40.612345", "110.012345"),
    )
    assert ticket["reporter"] == {"resident": None, "name": "李先生", "phone_masked": "139****2345"}
    assert "13947712345" not in api.get(f"/api/v1/tickets/{ticket['number']}", api.token("staff1")).text
    # 安全隐患: urgent demands are due in 12 hours, on the clock.
    assert at(ticket["finish_due_at"]) == at(ticket["received_at"]) + timedelta(hours=12)
    assert at(ticket["accept_due_at"]) == at(ticket["received_at"]) + timedelta(hours=2)


def test_roles_that_may_not_register(api, world):
    body = {"category": world["categories"]["停电"], "channel": "phone", "description": "停电"}
    reply = api.post("/api/v1/tickets", body, api.token("dept1"))
    assert (reply.status, reply.json()["code"]) == (403, "forbidden")
    assert api.post("/api/v1/tickets", body).status == 401
    # A liaison reports from a phone; another community's dwelling is not theirs to name.
    mine = create(api, "liaison1", channel="liaison", description="楼道灯不亮", category=body["category"])
    assert mine["status"] == "registered"
    far = api.post("/api/v1/tickets", {**body, "dwelling": world["liaison_home"]}, api.token("grid2"))
    assert (far.status, far.json()["field"]) == (400, "dwelling")


# Categories -------------------------------------------------------------------------------------


def test_categories_with_effective_limits(api, live_app):
    shell_json(
        live_app,
        """
        from django.utils import timezone
        from minqing.tickets.models import Category
        top = Category.objects.get(name="市政设施", parent=None)
        Category.objects.get_or_create(parent=top, name="已停用的测试分类", defaults={"retired_at": timezone.now()})
        emit(1)
        """,
    )
    reply = api.get("/api/v1/tickets/categories", api.token("grid1"))
    assert reply.status == 200
    body = reply.json()
    assert body["count"] == len(body["items"]) == 24  # 8 top nodes, 16 below; not the retired one
    by_path = {c["path_name"]: c for c in body["items"]}
    drain = by_path["市政设施/下水堵塞"]
    top = by_path["市政设施"]
    assert drain["parent_id"] == top["id"] and top["parent_id"] is None
    assert (drain["accept_hours"], drain["finish_working_days"], drain["urgent_finish_hours"]) == (24, 5, 24)
    assert (by_path["安全隐患/燃气隐患"]["accept_hours"], by_path["安全隐患/燃气隐患"]["urgent_finish_hours"]) == (
        2,
        12,
    )
    assert by_path["邻里纠纷"]["finish_working_days"] == 10 and by_path["邻里纠纷"]["urgent_finish_hours"] is None
    assert "市政设施/已停用的测试分类" not in by_path
    # Tree order: each parent before its children.
    seen = set()
    for item in body["items"]:
        assert item["parent_id"] is None or item["parent_id"] in seen
        seen.add(item["id"])
    assert api.get("/api/v1/tickets/categories", api.token("dept1")).status == 200


# Lists ------------------------------------------------------------------------------------------


def test_list_filters_agree_with_what_each_demand_says(api, world):
    """Each filter's answer is exactly the demands of the full list that match it, checked on the
    fields the API itself prints."""
    staff = api.token("staff1")
    marker = uuid.uuid4().hex[:8]
    create(api, "staff1", category=world["categories"]["停水"], channel="hotline_12345", description=f"停水{marker}")
    create(
        api,
        "grid1",
        category=world["categories"]["漏水渗水"],
        channel="visit",
        description=f"漏水{marker}",
        urgency="urgent",
        received_at="2025-11-03T09:00:00+08:00",
    )
    everything = api.all_items("/api/v1/tickets", staff)
    received = [at(t["received_at"]) for t in everything]
    assert received == sorted(received, reverse=True)  # newest first
    assert len({t["number"] for t in everything}) == len(everything)
    categories = {c["id"]: c for c in api.all_items("/api/v1/tickets/categories", staff)}
    now = datetime.now(tz=SHANGHAI)
    running = {"registered", "accepted", "dispatched", "in_progress", "returned", "escalated", "whistled", "reopened"}
    checks = [
        ({"status": ["accepted", "dispatched"]}, lambda t: t["status"] in ("accepted", "dispatched")),
        ({"category": world["categories"]["供电供水"]}, lambda t: t["category"]["path_name"].startswith("供电供水")),
        ({"category": world["categories"]["停水"]}, lambda t: t["category"]["name"] == "停水"),
        ({"channel": "hotline_12345"}, lambda t: t["channel"] == "hotline_12345"),
        ({"area": world["areas"]["grid1"]}, lambda t: t["place"]["area"]["id"] == world["areas"]["grid1"]),
        ({"department": world["power"]}, lambda t: (t["department"] or {}).get("id") == world["power"]),
        ({"urgency": "urgent"}, lambda t: t["urgency"] == "urgent"),
        ({"overdue": "true"}, lambda t: t["status"] in running and at(t["finish_due_at"]) < now),
        ({"overdue": "false"}, lambda t: not (t["status"] in running and at(t["finish_due_at"]) < now)),
        (
            {"received_from": "2025-11-01", "received_to": "2025-11-03"},
            lambda t: "2025-11-01" <= at(t["received_at"]).astimezone(SHANGHAI).date().isoformat() <= "2025-11-03",
        ),
        ({"q": marker}, lambda t: marker in t["description"]),
        ({"q": everything[-1]["number"].lower()}, lambda t: t["number"] == everything[-1]["number"]),
    ]
    for params, keep in checks:
        path = "/api/v1/tickets?" + urlencode(params, doseq=True)
        found = [t["number"] for t in api.all_items(path, staff)]
        expected = [t["number"] for t in everything if keep(t)]
        assert found == expected, params
        assert found, params  # every filter is exercised on something
    grid1_handler = [t for t in everything if t["handler"]]
    assert grid1_handler, "the demo has demands a grid worker accepted"
    handler = grid1_handler[0]["handler"]["id"]
    found = [t["number"] for t in api.all_items(f"/api/v1/tickets?handler={handler}", staff)]
    assert found == [t["number"] for t in everything if (t["handler"] or {}).get("id") == handler]
    assert categories  # the category ids used above are the ones listed
    # The subtree of the community takes in its grids; another community's area finds nothing here.
    jiahe = api.all_items(f"/api/v1/tickets?area={world['jiahe']}", staff)
    assert len(jiahe) == len(everything)
    other = api.get(f"/api/v1/tickets?area={world['areas']['grid2']}", staff).json()
    assert other == {"count": 0, "items": []}
    bad = api.get("/api/v1/tickets?received_from=2025-11-03&received_to=2025-11-01", staff)
    assert (bad.status, bad.json()["field"]) == (400, "received_to")
    assert api.get("/api/v1/tickets?status=open", staff).json()["field"] == "status"


# Detail and the lifecycle ------------------------------------------------------------------------


def test_detail_shows_the_sweeps_overdue_mark_in_the_timeline(api, world, live_app):
    """The sweep writes no event per demand; its stamp shows as an internal 超期 entry at its time."""
    number = create(api, "staff1", category=world["categories"]["路灯损坏"], channel="desk", description="路灯闪烁")[
        "number"
    ]
    act(api, "staff1", number, "accept")
    marked = shell_json(
        live_app,
        f"""
from datetime import timedelta
from django.utils import timezone
from minqing.tickets.models import DeadlineMark, Ticket
at = timezone.now() + timedelta(seconds=1)
DeadlineMark.objects.create(ticket=Ticket.objects.get(number={number!r}), kind="overdue", at=at)
emit(at.isoformat())
""",
    )
    shown = detail(api, number)
    assert shown["overdue"] is True
    assert [e["action"] for e in shown["events"]] == ["register", "accept", "overdue"]
    mark = shown["events"][-1]
    assert (mark["label"], mark["actor"], mark["public"], mark["to_status"]) == ("超期", "系统", False, "accepted")
    assert abs(datetime.fromisoformat(mark["at"]) - datetime.fromisoformat(marked)) < timedelta(milliseconds=1)


def test_detail_shows_the_timeline_whistles_and_next_steps(api, world):
    whistled = world["whistled"]
    shown = detail(api, whistled)
    assert shown["status"] == "whistled"
    assert [e["action"] for e in shown["events"]] == ["register", "accept", "whistle"]
    register, accept, whistle = shown["events"]
    assert (register["from_status"], register["to_status"], register["label"]) == ("", "registered", "登记")
    assert (accept["from_status"], accept["to_status"], accept["label"]) == ("registered", "accepted", "受理")
    assert whistle["note"] == "树枝压着电线" and whistle["actor"] and whistle["public"] is True
    assert {w["department"]["id"] for w in shown["whistles"]} == {world["power"], world["parks"]}
    assert all(w["checked_in_at"] is None and w["check_in_due_at"] for w in shown["whistles"])
    staff_steps = {a["code"] for a in shown["available_actions"]}
    assert {"progress", "handle", "suspend", "note"} <= staff_steps and "check_in" not in staff_steps
    # The power company was called in: it sees the demand and may check in.
    dept = detail(api, whistled, "dept1")
    assert "check_in" in {a["code"] for a in dept["available_actions"]}
    checked = act(api, "dept1", whistled, "check_in")
    assert checked.status == 200, checked.text
    power = next(w for w in checked.json()["whistles"] if w["department"]["id"] == world["power"])
    assert power["checked_in_at"]
    assert checked.json()["events"][-1]["actor"] == "民安供电公司"


def test_walk_dispatch_start_handle_close(api, world):
    ticket = create(api, "staff1", category=world["categories"]["路灯损坏"], channel="desk", description="东门路灯不亮")
    number = ticket["number"]
    # Not yet dispatched: the power company does not see it (404, as for a missing number).
    assert api.get(f"/api/v1/tickets/{number}", api.token("dept1")).status == 404
    steps = [
        ("staff1", "accept", {}, "accepted"),
        ("staff1", "dispatch", {"department": world["power"], "note": "请供电公司处理"}, "dispatched"),
        ("dept1", "start", {}, "in_progress"),
        ("dept1", "progress", {"note": "已安排电工"}, "in_progress"),
        ("dept1", "handle", {"note": "已更换灯泡"}, "handled"),
        ("staff1", "close", {}, "closed"),
        ("staff1", "evaluate", {"rating": "satisfied", "comment": "很快"}, "evaluated"),
    ]
    for username, action, body, status in steps:
        reply = act(api, username, number, action, **body)
        assert reply.status == 200, (action, reply.text)
        assert reply.json()["status"] == status, action
    final = detail(api, number)
    assert [e["action"] for e in final["events"]] == ["register", *[s[1] for s in steps]]
    assert [e["to_status"] for e in final["events"]][1:] == [s[3] for s in steps]
    assert final["department"]["id"] == world["power"]
    assert final["events"][3]["actor"] == "民安供电公司" and final["events"][5]["note"] == "已更换灯泡"
    assert final["handled_at"] and final["closed_at"]
    assert (final["rating"], final["rating_label"], final["rating_comment"]) == ("satisfied", "满意", "很快")
    assert final["available_actions"] == [{"code": "reopen", "label": "重办", "needs_note": True}]


def test_refused_steps_answer_409_or_403_and_change_nothing(api, world, live_app):
    number = create(api, "liaison1", category=world["categories"]["停电"], channel="liaison", description="停电")[
        "number"
    ]
    handled = create(api, "staff1", category=world["categories"]["停电"], channel="desk", description="停电两天")[
        "number"
    ]
    for username, action, body in (
        ("staff1", "accept", {}),
        ("staff1", "dispatch", {"department": world["power"]}),
        ("dept1", "start", {}),
        ("dept1", "handle", {"note": "已恢复供电"}),
    ):
        assert act(api, username, handled, action, **body).status == 200
    refusals = [
        # (who, which, step, body, status, code, field)
        ("liaison1", number, "accept", {}, 409, "forbidden", "action"),
        ("grid1", number, "reject", {"note": "不归网格"}, 409, "forbidden", "action"),
        ("staff1", number, "close", {}, 409, "transition_not_allowed", "action"),
        ("staff1", number, "reject", {}, 409, "note_required", "note"),
        ("staff1", number, "fly", {}, 409, "transition_not_allowed", "action"),
        ("dept1", handled, "close", {}, 409, "forbidden", "action"),
        ("dept1", handled, "handle", {"note": "again"}, 409, "transition_not_allowed", "action"),
        ("liaison1", handled, "close", {}, 404, "not_found", None),  # not theirs: as if missing
        ("grid2", handled, "close", {}, 404, "not_found", None),
        ("staff1", handled, "evaluate", {"rating": "so-so"}, 409, "transition_not_allowed", "action"),
    ]
    before = {n: detail(api, n) for n in (number, handled)}
    audit = (
        "from minqing.core.models import AuditEntry\n"
        "emit(AuditEntry.objects.filter(action__startswith='ticket.').count())"
    )
    audited = shell_json(live_app, audit)
    for username, which, action, body, status, code, field in refusals:
        reply = act(api, username, which, action, **body)
        assert (reply.status, reply.json()["code"], reply.json()["field"]) == (status, code, field), (username, action)
    missing = act(api, "staff1", "MQ20000101-9999", "accept")
    hidden = act(api, "grid2", handled, "accept")
    assert (hidden.status, hidden.text) == (missing.status, missing.text)
    # A bad parameter of an allowed step is refused by field, also without any change.
    wrong = act(api, "staff1", number, "dispatch", department=987654)
    assert wrong.status == 409  # registered: dispatch is not yet a step
    accepted = act(api, "staff1", number, "accept")
    assert accepted.status == 200
    nowhere = act(api, "staff1", number, "dispatch", department=987654)
    assert (nowhere.status, nowhere.json()["field"]) == (400, "department")
    after = detail(api, number)
    assert after["status"] == "accepted" and len(after["events"]) == len(before[number]["events"]) + 1
    again = detail(api, handled)
    assert again["status"] == before[handled]["status"] == "handled"
    assert again["events"] == before[handled]["events"]
    assert shell_json(live_app, audit) == audited + 1  # only the one accept
    # The department role may not register at all.
    reply = api.post("/api/v1/tickets", {"category": 1, "channel": "desk", "description": "x"}, api.token("dept1"))
    assert (reply.status, reply.json()["code"]) == (403, "forbidden")


# Concurrent intake -------------------------------------------------------------------------------


def test_parallel_intake_gives_every_demand_its_own_number(api, world, live_app):
    """200 submissions from 16 threads against the live server (2 gunicorn workers × 4 threads):
    every answer is 201, no number is given twice, and every demand is in the database."""
    marker = f"并发{uuid.uuid4().hex[:8]}"
    tokens = {"staff1": api.token("staff1"), "grid1": api.token("grid1")}
    category = world["categories"]["垃圾清运"]
    lock = threading.Lock()
    statuses: Counter = Counter()

    def submit(n: int) -> str | None:
        username = "staff1" if n % 2 else "grid1"
        body = {"category": category, "channel": "hotline_12345", "description": f"{marker}-{n}"}
        reply = api.request("POST", "/api/v1/tickets", token=tokens[username], json_body=body)
        with lock:
            statuses[reply.status] += 1
        return reply.json().get("number") if reply.status == 201 else reply.text

    with ThreadPoolExecutor(max_workers=16) as pool:
        numbers = list(pool.map(submit, range(200)))
    assert statuses == {201: 200}, numbers
    assert len(set(numbers)) == 200
    assert all(NUMBER.match(n) for n in numbers)
    stored = shell_json(
        live_app,
        f"""
        from minqing.tickets.models import Ticket, TicketEvent
        mine = Ticket.objects.filter(description__startswith={marker!r})
        emit({{"numbers": sorted(mine.values_list("number", flat=True)),
               "descriptions": mine.values("description").distinct().count(),
               "events": TicketEvent.objects.filter(ticket__in=mine, action="register").count()}})
        """,
    )
    assert stored["numbers"] == sorted(numbers)
    assert stored["descriptions"] == 200 and stored["events"] == 200
