"""Visits over HTTP, as a grid worker's phone sees them: a draft resent after a dropped connection is one
visit, a household outside one's set is as missing, an impossible reading is refused by name, and the
due list holds exactly the caller's households (checked against the independent scope oracle)."""

import json
import threading
import urllib.error
import urllib.request
import uuid

import pytest

from minqing.api.tests.support import Reply, scope_oracle, shell_json

SETUP = """
from minqing.accounts.models import User
from minqing.core.tests.scope_oracle import expected_for
from minqing.registry.models import Household, Resident

grid1 = expected_for(User.objects.get(username="grid1")).households
liaison1 = expected_for(User.objects.get(username="liaison1")).households
mine = sorted(h for h in liaison1 if Resident.objects.filter(household_id=h, status="active").exists())
emit({
    "grid1_home": sorted(grid1)[0],
    "liaison1_home": mine[0],
    "liaison1_member": Resident.objects.filter(household_id=mine[0], status="active").order_by("pk").first().pk,
    "outside_liaison1": sorted(grid1 - liaison1)[0],
})
"""

COUNT = """
from minqing.visits.models import Visit
emit({"by_key": Visit.objects.filter(idempotency_key=KEY).count(), "all": Visit.objects.count()})
"""


@pytest.fixture(scope="module")
def world(live_app):
    return shell_json(live_app, SETUP)


def post_visit(api, username: str, body: dict, key: str | None = None) -> Reply:
    # ApiClient sends no extra headers; the Idempotency-Key is the point here.
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    headers["Authorization"] = f"Bearer {api.token(username)}"
    if key is not None:
        headers["Idempotency-Key"] = key
    request = urllib.request.Request(
        f"{api.base}/api/v1/visits", data=json.dumps(body).encode(), method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Reply(response.status, response.read().decode(), dict(response.headers))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read().decode(), dict(exc.headers))


def counts(live_app, key: str) -> dict:
    return shell_json(live_app, f"KEY = {key!r}\n" + COUNT)


def test_a_resent_draft_is_one_visit(api, live_app, world):
    key = uuid.uuid4().hex
    body = {"household": world["grid1_home"], "purpose": "care", "note": "楼道里没信号，重发一次"}
    before = counts(live_app, key)["all"]

    first = post_visit(api, "grid1", body, key)
    assert first.status == 201, first.text
    visit = first.json()
    assert visit["household_id"] == world["grid1_home"]
    assert (visit["purpose"], visit["note"], visit["resident_id"], visit["ticket"]) == (
        "care",
        "楼道里没信号，重发一次",
        None,
        None,
    )
    assert visit["worker"]["name"] == "李敏"

    again = post_visit(api, "grid1", body, key)
    assert again.status == 200, again.text
    assert again.json() == visit
    assert counts(live_app, key) == {"by_key": 1, "all": before + 1}

    # Without a key every submission is its own visit.
    assert post_visit(api, "grid1", body).status == 201
    assert counts(live_app, key)["all"] == before + 2


def test_the_same_key_sent_at_once_from_many_connections_is_one_visit(api, live_app, world):
    # A phone that retries while its first request is still in flight: the copies reach the server's
    # workers together, each passing the "key seen?" check before any has written.
    key, copies = uuid.uuid4().hex, 8
    body = {"household": world["grid1_home"], "purpose": "routine", "note": "同一份草稿，同时发出"}
    api.token("grid1")  # signed in before the race, so the copies leave together
    start, replies = threading.Barrier(copies), [None] * copies

    def send(i: int) -> None:
        start.wait()
        replies[i] = post_visit(api, "grid1", body, key)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = sorted(r.status for r in replies)
    assert statuses == [200] * (copies - 1) + [201], [r.text for r in replies if r.status not in (200, 201)]
    assert len({r.json()["id"] for r in replies}) == 1
    assert counts(live_app, key)["by_key"] == 1


def test_a_malformed_key_is_refused(api, world):
    reply = post_visit(api, "grid1", {"household": world["grid1_home"], "note": ""}, "short")
    assert reply.status == 400, reply.text
    assert reply.json()["field"] == "idempotency_key"


def test_liaison_posts_only_to_their_households(api, live_app, world):
    key = uuid.uuid4().hex
    body = {
        "household": world["liaison1_home"],
        "purpose": "four_questions",
        "note": "问了家长里短",
        "resident": world["liaison1_member"],
        "temperature": "37.8",
        "systolic": 150,
        "diastolic": 95,
    }
    own = post_visit(api, "liaison1", body, key)
    assert own.status == 201, own.text
    assert own.json()["resident_id"] == world["liaison1_member"]
    assert sorted(own.json()["flags"]) == ["fever", "high_bp"]

    before = counts(live_app, key)["all"]
    outside = post_visit(api, "liaison1", {**body, "household": world["outside_liaison1"], "resident": None})
    missing = post_visit(api, "liaison1", {**body, "household": 2**62, "resident": None})
    assert outside.status == missing.status == 404, outside.text
    assert outside.json()["code"] == missing.json()["code"] == "not_found"
    assert counts(live_app, key)["all"] == before


@pytest.mark.parametrize(
    ("readings", "field"),
    [
        ({"temperature": 52}, "temperature"),
        ({"temperature": "29.9"}, "temperature"),
        ({"systolic": 300, "diastolic": 90}, "systolic"),
        ({"systolic": 120, "diastolic": 130}, "diastolic"),
        ({"systolic": 120}, "diastolic"),
    ],
)
def test_an_impossible_reading_is_refused_by_name(api, live_app, world, readings, field):
    key = uuid.uuid4().hex
    reply = post_visit(api, "grid1", {"household": world["grid1_home"], "note": "量了血压", **readings}, key)
    assert reply.status == 400, reply.text
    assert reply.json()["code"] == "invalid" and reply.json()["field"] == field
    assert counts(live_app, key)["by_key"] == 0


def test_an_unknown_purpose_names_the_field(api, world):
    reply = post_visit(api, "grid1", {"household": world["grid1_home"], "purpose": "chat", "note": ""})
    assert reply.status == 422, reply.text
    assert reply.json()["field"] == "purpose"


def test_due_list_holds_only_the_liaisons_households(api, live_app):
    oracle = scope_oracle(live_app, ["liaison1", "staff1"])["personas"]
    mine = api.all_items("/api/v1/visits/due", api.token("liaison1"))
    desk = api.all_items("/api/v1/visits/due", api.token("staff1"))
    assert mine, "the demo gives liaison1 households that are due"
    households = {item["household_id"] for item in mine}
    assert households <= set(oracle["liaison1"]["households"])
    assert len(households) == len(mine)
    # The same rules whoever asks: the liaison's list is the community's list cut to their households.
    assert households == {i["household_id"] for i in desk} & set(oracle["liaison1"]["households"])
    for item in mine:
        assert item["days_overdue"] >= 0
        rule = item["rule"]
        assert rule["interval_days"] >= 1
        # The member whose tag set the rule, or nobody for the every-household rule.
        assert (item["resident_id"] is None) == (item["resident_ids"] == [])
        if item["resident_id"] is not None:
            assert item["resident_id"] in oracle["liaison1"]["residents"]
    assert set(oracle["staff1"]["households"]) >= {i["household_id"] for i in desk}


def test_staff_filter_the_due_list_by_grid(api):
    token = api.token("staff1")
    everything = api.all_items("/api/v1/visits/due", token)
    assert len(everything) >= 3
    grid = everything[0]["grid"]["id"]
    one = api.all_items(f"/api/v1/visits/due?grid={grid}", token)
    assert one and {item["grid"]["id"] for item in one} == {grid}
    assert [i["household_id"] for i in one] == [i["household_id"] for i in everything if i["grid"]["id"] == grid]
    # A grid nobody has (or outside the scope) lists nothing rather than everything.
    assert api.get(f"/api/v1/visits/due?grid={2**62}", token).json() == {"count": 0, "items": []}
    # Riskiest first: the page order is the due list's order, and limit/offset page through it.
    page = api.get("/api/v1/visits/due?limit=2&offset=1", token).json()
    assert page["count"] == len(everything)
    assert [i["household_id"] for i in page["items"]] == [i["household_id"] for i in everything[1:3]]
