"""An HTTP client for /api/v1/ on a live server, and a way to ask the server's own database questions
(the scope oracle, new accounts, API keys) through its shell."""

import json
import textwrap
import urllib.error
import urllib.request
from dataclasses import dataclass

DEMO_PASSWORD = "Minqing@2025"
JSON_MARK = "JSON:"


@dataclass
class Reply:
    status: int
    text: str
    headers: dict

    def json(self):
        return json.loads(self.text)

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")


class ApiClient:
    def __init__(self, base: str):
        self.base = base
        self._tokens: dict[str, str] = {}

    def request(
        self, method: str, path: str, *, token: str | None = None, json_body=None, data: bytes | None = None
    ) -> Reply:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(f"{self.base}{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Reply(response.status, response.read().decode(errors="replace"), dict(response.headers))
        except urllib.error.HTTPError as exc:
            return Reply(exc.code, exc.read().decode(errors="replace"), dict(exc.headers))

    def get(self, path: str, token: str | None = None) -> Reply:
        return self.request("GET", path, token=token)

    def post(self, path: str, body=None, token: str | None = None) -> Reply:
        return self.request("POST", path, token=token, json_body=body if body is not None else {})

    def patch(self, path: str, body, token: str | None = None) -> Reply:
        return self.request("PATCH", path, token=token, json_body=body)

    def put(self, path: str, body, token: str | None = None) -> Reply:
        return self.request("PUT", path, token=token, json_body=body)

    def sign_in(self, username: str, password: str = DEMO_PASSWORD, otp: str | None = None) -> Reply:
        body = {"username": username, "password": password}
        if otp is not None:
            body["otp"] = otp
        return self.post("/api/v1/auth/token", body)

    def token(self, username: str) -> str:
        """A sign-in token of a demo persona, issued once per test session."""
        if username not in self._tokens:
            reply = self.sign_in(username)
            assert reply.status == 200, reply.text
            self._tokens[username] = reply.json()["token"]
        return self._tokens[username]

    def all_items(self, path: str, token: str, *, limit: int = 500) -> list[dict]:
        """Every item of a list, page by page, checking that the pages add up to `count`."""
        items: list[dict] = []
        separator = "&" if "?" in path else "?"
        while True:
            reply = self.get(f"{path}{separator}limit={limit}&offset={len(items)}", token)
            assert reply.status == 200, reply.text
            page = reply.json()
            items.extend(page["items"])
            if not page["items"] or len(items) >= page["count"]:
                break
        assert len(items) == page["count"]
        return items


def shell_json(app, code: str):
    """Run `code` in the server's Django shell; it must call emit(value) once."""
    program = f"import json\ndef emit(value):\n    print({JSON_MARK!r} + json.dumps(value))\n" + textwrap.dedent(code)
    out = app.shell(program)
    lines = [line for line in out.splitlines() if line.startswith(JSON_MARK)]
    assert len(lines) == 1, out
    return json.loads(lines[0][len(JSON_MARK) :])


# The scope rule's answer, computed in the server's database by the independent oracle of
# minqing/core/tests/scope_oracle.py (parent links walked in Python, not the Q objects of scope.py).
ORACLE_CODE = """
from minqing.accounts.models import Department, User
from minqing.areas.models import Area, Building, Dwelling, Estate, Unit
from minqing.core.tests.scope_oracle import expected_for
from minqing.registry.models import Household, Resident, Tag
from minqing.tickets.models import Ticket

result = {"all": {
    "areas": sorted(Area.objects.values_list("pk", flat=True)),
    "estates": sorted(Estate.objects.values_list("pk", flat=True)),
    "buildings": sorted(Building.objects.values_list("pk", flat=True)),
    "units": sorted(Unit.objects.values_list("pk", flat=True)),
    "dwellings": sorted(Dwelling.objects.values_list("pk", flat=True)),
    "users": sorted(User.objects.filter(is_superuser=False).values_list("pk", flat=True)),
    "departments": sorted(Department.objects.values_list("pk", flat=True)),
    "residents": sorted(Resident.objects.values_list("pk", flat=True)),
    "households": sorted(Household.objects.values_list("pk", flat=True)),
    "tags": sorted(Tag.objects.values_list("pk", flat=True)),
    "tickets": sorted(Ticket.objects.values_list("pk", flat=True)),
}, "personas": {}, "numbers": dict(Ticket.objects.values_list("pk", "number"))}
for username in USERNAMES:
    expected = expected_for(User.objects.get(username=username))
    result["personas"][username] = {name: sorted(ids) for name, ids in vars(expected).items()}
emit(result)
"""


def scope_oracle(app, usernames: list[str]) -> dict:
    return shell_json(app, f"USERNAMES = {usernames!r}\n" + ORACLE_CODE)
