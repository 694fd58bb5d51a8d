"""A raw dump of the database holds no ID number or phone in clear: not in the residents table, not
in its history, not in the audit log, whatever was done to the record (registered, corrected,
revealed). The records are made through the services in the live server's database, then its bytes
are read as an attacker with a copy would: the SQLite file (and its WAL), or pg_dump's output."""

import subprocess
from pathlib import Path

NAME = "测试乌云其其格"
ID_NUMBER, CORRECTED = "15060319520714417", "15060319520714429"  # check characters added below
PHONE, NEW_PHONE = "13904771234", "0477-8591234"

SCRIPT = """
from minqing.accounts.models import User
from minqing.areas.models import Dwelling
from minqing.registry import services
from minqing.registry.idnumbers import check_character
grid1, staff1 = User.objects.get(username="grid1"), User.objects.get(username="staff1")
dwelling = Dwelling.objects.filter(building__grid=grid1.area).order_by("-pk").first()
first, second = "{id}" + check_character("{id}"), "{corrected}" + check_character("{corrected}")
r = services.resident_create(actor=grid1, data={{"name": "{name}", "id_number": first, "phone": "139 0477 1234"}},
                             dwelling=dwelling)
services.resident_update(actor=grid1, resident=r, data={{"id_number": second, "phone": "{new_phone}"}})
assert services.resident_reveal(actor=staff1, resident=r, field="phone", reason="电话回访") == "{new_phone}"
print(first, second)
"""


def _dump(live_app) -> bytes:
    url = live_app.env["DATABASE_URL"]
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        # Committed pages may still sit in the write-ahead log: read both files.
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    return subprocess.run(["pg_dump", "--data-only", url], capture_output=True, check=True).stdout


def test_dump_holds_no_id_number_or_phone_in_clear(live_app):
    out = live_app.shell(SCRIPT.format(id=ID_NUMBER, corrected=CORRECTED, name=NAME, new_phone=NEW_PHONE)).split()
    first, second = out[-2], out[-1]
    assert first.startswith(ID_NUMBER) and second.startswith(CORRECTED)

    dump = _dump(live_app)
    # The record is in the dump (names are not encrypted), with its history: the dump is complete.
    assert dump.count(NAME.encode()) >= 3
    for value in (first, second, PHONE, NEW_PHONE, "8591234", first[6:]):
        assert value.encode() not in dump, value
        assert value.encode("utf-16-le") not in dump, value
