"""Plan (preview) and commit of a ledger: every row cleaned by the rules every way in shares
(registry.cleaning), matched against the registry by the keyed hash of its ID number, and either
written — all valid rows in one transaction — or reported with the reason and the ledger's column.

The plan touches the database only to read (places, tags, residents by hash, in batches); the
commit re-plans (the registry may have changed since the preview) and then writes in bulk."""

import dataclasses
import datetime
import gc
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import SimpleNamespace

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from minqing.accounts.roles import Capability, has_capability
from minqing.areas.models import Area, AreaLevel, Building, Dwelling, Estate, Unit
from minqing.core.errors import ApplicationError
from minqing.core.pii import pii_hash
from minqing.registry import signals
from minqing.registry.cleaning import clean_flag, clean_name, clean_phone, clean_resident_fields, name_pinyin
from minqing.registry.ledger import bulk, forked
from minqing.registry.ledger.address import (
    Address,
    building_key,
    estate_key,
    floor_of,
    parse_address,
    room_key,
    unit_key,
)
from minqing.registry.ledger.reader import Sheet
from minqing.registry.models import (
    EventKind,
    Household,
    Relation,
    Resident,
    ResidentEvent,
    ResidentStatus,
    ResidentTag,
    Tag,
)
from minqing.registry.services import duplicate_message

BATCH = 2000
CREATED, UPDATED, UNCHANGED, DUPLICATE, SKIPPED, REFUSED = (
    "created",
    "updated",
    "unchanged",
    "duplicate",
    "skipped",
    "refused",
)
STATUSES = (CREATED, UPDATED, UNCHANGED, DUPLICATE, SKIPPED, REFUSED)

# Columns that hold a resident field, cleaned by clean_resident_fields.
_PROFILE_KEYS = (
    "document_kind", "id_number", "birth_date", "sex", "phone", "ethnicity", "registration_type", "relation",
    "political_status", "occupation", "employer", "skills", "willing_to_serve", "notes", "health_notes",
    "moved_in_on",
)  # fmt: skip
# Compared to decide updated / unchanged; the hashes stand for the encrypted values.
_COMPARED = (
    "name", "document_kind", "birth_date", "sex", "phone_hash", "ethnicity", "registration_type", "relation",
    "political_status", "occupation", "employer", "skills", "willing_to_serve", "notes", "health_notes",
    "moved_in_on",
)  # fmt: skip
_LABEL_FIELD = {"phone_hash": "phone"}
# When a field has no column of its own, the error is shown against the column it came from.
_FIELD_COLUMNS = {
    "birth_date": ("birth_date", "id_number"),
    "sex": ("sex", "id_number"),
    "document_kind": ("document_kind", "id_number"),
    "address": ("address", "building", "room", "estate", "unit", "grid"),
    "tags": ("tags", "veteran"),
}
_FIELD_LABELS = {"address": "住址", "tags": "标签", "grid": "网格", "name": "姓名", "id_number": "证件号码"}
_FOOTER = re.compile(r"^(合计|总计|小计|共计|填表人|制表人|填报人|审核人|负责人|统计人|注[:：]|说明[:：])")
_TAG_SPLIT = re.compile(r"[、，,/；;\s]+")
_TAG_SYNONYMS = {"残疾人": "残疾", "低保户": "低保", "特困": "特困/五保", "五保": "特困/五保", "五保户": "特困/五保"}
_GRADE = re.compile(r"([1-4一二三四])级")
_CN_GRADE = {"一": 1, "二": 2, "三": 3, "四": 4}
_NONE_WORDS = {"无", "没有", "/", "-", "—", "否"}


@dataclass(slots=True)
class RowResult:
    row: int
    status: str
    field: str | None = None  # the ledger's column header
    message: str = ""

    def as_dict(self) -> dict:
        return {"row": self.row, "status": self.status, "field": self.field, "message": self.message}


@dataclass(slots=True)
class Planned:
    """A valid row: what it will write."""

    result: RowResult
    values: dict
    dwelling_key: tuple
    household_key: tuple
    tags: dict[int, tuple[int | None, str]] | None  # None: the ledger says nothing about tags
    existing: Resident | None = None
    changed: list[str] = field(default_factory=list)
    move: bool = False  # an existing resident now at another dwelling
    tags_changed: bool = False


@dataclass
class Plan:
    sheet: Sheet
    results: list[RowResult]
    planned: list[Planned]
    new_places: list[str]
    households: int = 0
    rows_total: int = 0  # the sheet's data rows (`sheet.rows` keeps only the refused ones)

    @property
    def summary(self) -> dict:
        counts = {status: 0 for status in STATUSES}
        for result in self.results:
            counts[result.status] += 1
        return {
            "rows": len(self.results),
            **counts,
            "households": self.households,
            "new_places": len(self.new_places),
        }

    def report(self) -> dict:
        return {"summary": self.summary, "rows": [r.as_dict() for r in self.results]}

    def refused_rows(self) -> list[tuple[RowResult, list]]:
        cells = dict(self.sheet.rows)
        return [(r, cells[r.row]) for r in self.results if r.status == REFUSED]


@contextmanager
def without_cyclic_gc():
    """Planning or writing a ledger allocates a few objects per cell and row and frees none of them
    until the end; the cyclic collector would walk all of them again and again as they accumulate
    (~12 % of a 20,000-row plan's CPU) to find no cycles. Reference counting still frees everything."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _text(raw) -> str:
    return unicodedata.normalize("NFKC", str(raw if raw is not None else "")).strip()


class _Places:
    """The community's places in memory, keyed as the address module keys them, and the ones a
    ledger names that do not exist yet (created at commit)."""

    def __init__(self, community: Area):
        self.community = community
        self.grids: dict[str, Area] = {}
        for grid in Area.objects.active().filter(parent=community, level=AreaLevel.GRID):
            self.grids[_text(grid.name)] = grid
            self.grids[_text(grid.code)] = grid
        self.estates: dict[str, Estate] = {
            estate_key(e.name): e for e in Estate.objects.active().filter(community=community)
        }
        self.buildings: dict[tuple, Building] = {}
        for b in Building.objects.active().filter(estate__community=community).select_related("estate"):
            self.buildings[(b.estate_id, building_key(b.name))] = b
        self.units: dict[tuple, Unit] = {
            (u.building_id, unit_key(u.name)): u
            for u in Unit.objects.active().filter(building__estate__community=community)
        }
        self.dwellings: dict[tuple, Dwelling] = {}
        for d in (
            Dwelling.objects.active()
            .filter(building__estate__community=community)
            .only("pk", "building_id", "unit_id", "room")
        ):
            self.dwellings[(d.building_id, d.unit_id, room_key(d.room))] = d
        # Planned creations, by key; values are the names to create.
        self.new_estates: dict[str, str] = {}
        self.new_buildings: dict[tuple, tuple[str, Area]] = {}
        self.new_units: dict[tuple, str] = {}
        self.new_dwellings: dict[tuple, str] = {}
        self.resolved: dict[tuple, tuple] = {}

    def _estate(self, name: str) -> tuple[str, object]:
        """Key and existing estate (or None). An address that starts with the district or community
        ("民安区嘉和社区嘉和苑") finds the estate whose name it ends with."""
        key = estate_key(name)
        if key in self.estates:
            return key, self.estates[key]
        for existing_key, estate in self.estates.items():
            if key.endswith(existing_key):
                return existing_key, estate
        return key, None

    def resolve(self, address: Address, grid_text: str) -> tuple:
        """A dwelling key: (estate, building, unit, room) each an id when it exists, else a name key."""
        cache_key = (address.key, grid_text)
        if cache_key in self.resolved:
            return self.resolved[cache_key]
        e_key, estate = self._estate(address.estate)
        e_ref = estate.pk if estate else ("new", e_key)
        b_key = building_key(address.building)
        building = self.buildings.get((estate.pk, b_key)) if estate else None
        b_ref = building.pk if building else ("new", e_ref, b_key)
        if building is None and b_ref not in self.new_buildings:
            grid = self.grids.get(_text(grid_text)) if grid_text else None
            if grid is None:
                if grid_text:
                    message = _("楼栋「%(building)s」尚未登记，网格「%(grid)s」不在本社区") % {
                        "building": f"{address.estate}{address.building}",
                        "grid": grid_text,
                    }
                else:
                    message = _(
                        "楼栋「%(building)s」尚未登记，且未填写网格，无法新建（请先在“小区与房屋”中添加，或在台账中加“网格”列）"
                    ) % {"building": f"{address.estate}{address.building}"}
                raise ApplicationError(message, field="address", code="building_unknown")
            if estate is None and e_key not in self.new_estates:
                self.new_estates[e_key] = address.estate
            self.new_buildings[b_ref] = (address.building, grid)
        u_ref = None
        if address.unit:
            u_key = unit_key(address.unit)
            unit = self.units.get((building.pk, u_key)) if building else None
            u_ref = unit.pk if unit else ("new", b_ref, u_key)
            if unit is None:
                self.new_units.setdefault(u_ref, address.unit)
        r_key = room_key(address.room)
        d_ref = (b_ref, u_ref, r_key)
        if not (isinstance(b_ref, int) and (u_ref is None or isinstance(u_ref, int)) and d_ref in self.dwellings):
            self.new_dwellings.setdefault(d_ref, address.room)
        self.resolved[cache_key] = d_ref
        return d_ref

    def existing_dwelling(self, key: tuple) -> Dwelling | None:
        return self.dwellings.get(key)

    def new_place_names(self) -> list[str]:
        names = []
        estate_names = {("new", k): v for k, v in self.new_estates.items()}
        for name in self.new_estates.values():
            names.append(_("小区：%(name)s") % {"name": name})
        building_names = {}
        for ref, (name, grid) in self.new_buildings.items():
            estate_ref = ref[1]
            estate_name = estate_names.get(estate_ref) or Estate.objects.get(pk=estate_ref).name
            building_names[ref] = f"{estate_name}{name}"
            names.append(_("楼栋：%(name)s（%(grid)s）") % {"name": building_names[ref], "grid": grid.name})
        existing_buildings = {b.pk: b for b in self.buildings.values()}

        def building_label(ref):
            if ref in building_names:
                return building_names[ref]
            b = existing_buildings[ref]
            return f"{b.estate.name}{b.name}"

        unit_labels = {}
        for ref, name in self.new_units.items():
            unit_labels[ref] = building_label(ref[1]) + name
            names.append(_("单元：%(name)s") % {"name": unit_labels[ref]})
        if self.new_dwellings:
            names.append(_("房屋：%(n)d 套") % {"n": len(self.new_dwellings)})
        return names


class _Tags:
    def __init__(self, community: Area, actor):
        self.see_sensitive = _sees_sensitive(actor)
        self.by_name: dict[str, Tag] = {}
        for tag in Tag.objects.active().filter(Q(community__isnull=True) | Q(community=community)):
            self.by_name[tag.name] = tag
        self.names_with_separators = sorted((n for n in self.by_name if _TAG_SPLIT.search(n)), key=len, reverse=True)

    def parse(self, cells: list, veteran) -> dict[int, tuple[int | None, str]]:
        wanted: dict[int, tuple[int | None, str]] = {}
        for cell in cells:
            text = _text(cell)
            if not text or text in _NONE_WORDS:
                continue
            for token in self._tokens(text):
                self._add(token, wanted)
        if veteran is not None and _text(veteran):
            if clean_flag(veteran, field="tags", label=_("退役军人")):
                self._add("退役军人", wanted)
        return wanted

    def _tokens(self, text: str) -> list[str]:
        # "特困/五保" is one tag; separators inside brackets ("残疾（肢体，2级）") do not split.
        protected = {}
        for i, name in enumerate(self.names_with_separators):
            if name in text:
                marker = f"\x00{i}\x00"
                protected[marker] = name
                text = text.replace(name, marker)
        tokens, depth, current = [], 0, ""
        for char in text:
            if char in "（(":
                depth += 1
            elif char in "）)":
                depth = max(0, depth - 1)
            if depth == 0 and _TAG_SPLIT.fullmatch(char):
                tokens.append(current)
                current = ""
            else:
                current += char
        tokens.append(current)
        out = []
        for token in tokens:
            for marker, name in protected.items():
                token = token.replace(marker, name)
            if token and token not in _NONE_WORDS:
                out.append(token)
        return out

    def _find(self, token: str) -> tuple[Tag | None, str]:
        if token in self.by_name:
            return self.by_name[token], ""
        synonym = _TAG_SYNONYMS.get(token)
        if synonym and synonym in self.by_name:
            return self.by_name[synonym], ""
        for name in sorted(self.by_name, key=len, reverse=True):
            if name in token:
                return self.by_name[name], token.replace(name, "", 1)
        for word, name in _TAG_SYNONYMS.items():
            if word in token and name in self.by_name:
                return self.by_name[name], token.replace(word, "", 1)
        return None, ""

    def _add(self, token: str, wanted: dict) -> None:
        tag, rest = self._find(token)
        if tag is None:
            raise ApplicationError(
                _("标签「%(tag)s」在本社区不存在（可由社区管理员先添加该标签）") % {"tag": token}, field="tags"
            )
        if tag.is_age_tag:
            return  # follows from the birth date; a ledger's 高龄 column says nothing new
        if tag.sensitive and not self.see_sensitive:
            raise ApplicationError(_("当前角色不能设置“%(tag)s”。") % {"tag": tag.name}, field="tags")
        rest = rest.strip("（）()[]【】:： ")
        grade = None
        match = _GRADE.search(rest)
        if match:
            if not tag.has_grade:
                raise ApplicationError(_("“%(tag)s”不分等级。") % {"tag": tag.name}, field="tags")
            value = match.group(1)
            grade = _CN_GRADE.get(value) or int(value)
            rest = (rest[: match.start()] + rest[match.end() :]).strip("（）()[]【】:：,， ")
        wanted[tag.pk] = (grade, rest[:50])


_IDENTITY_KEYS = ("document_kind", "id_number", "birth_date", "sex")
_PLAIN_MOBILE = re.compile(r"1[0-9]{10}")


def _memo_key(value):
    # 1, 1.0 and True are equal dictionary keys; the type keeps their cleaning apart.
    return (type(value), value)


class _Memo:
    """Most ledger columns repeat a few values (民族, 与户主关系, an address per household, tags):
    each distinct value is cleaned once — with the shared cleaners — and its outcome reused,
    a refusal included."""

    def __init__(self, *, today, places, tags, address_keys):
        self.today, self.places, self.tag_parser, self.address_keys = today, places, tags, address_keys
        self.cache: dict = {}

    def _get(self, key, compute):
        try:
            hit = self.cache[key]
        except KeyError:
            try:
                hit = compute()
            except ApplicationError as exc:
                hit = exc
            self.cache[key] = hit
        except TypeError:  # an unhashable cell: cleaned each time
            hit = compute()
        if isinstance(hit, ApplicationError):
            raise hit
        return hit

    def clean(self, key: str, raw) -> dict:
        return self._get(
            ("field", key, _memo_key(raw)),
            lambda: clean_resident_fields({key: raw}, partial=True, today=self.today),
        )

    def address(self, cells: tuple) -> Address:
        return self._get(
            ("address", tuple(_memo_key(c) for c in cells)),
            lambda: parse_address(**dict(zip(self.address_keys, cells, strict=True))),
        )

    def place(self, address: Address, grid: str) -> tuple:
        return self._get(("place", address, grid), lambda: self.places.resolve(address, grid))

    def tags(self, cells: tuple, veteran) -> dict:
        hit = self._get(
            ("tags", tuple(_memo_key(c) for c in cells), _memo_key(veteran)),
            lambda: self.tag_parser.parse(list(cells), veteran),
        )
        return dict(hit)


class _Phones:
    """clean_phone for each number, except a plain 11-digit mobile whose first five digits already
    passed: phonenumbers decides a Chinese mobile's validity on at most its first five digits
    (pattern "1(?:610\\d|740[0-5])\\d{6}|1(?:[38]\\d|…)\\d{8}"), so the answer is known."""

    def __init__(self):
        self.valid_blocks: set[str] = set()

    def clean(self, raw) -> tuple[str, str | None]:
        if isinstance(raw, str):
            compact = raw.replace("-", "").replace(" ", "")
        elif isinstance(raw, float) and raw.is_integer():
            compact = str(int(raw))
        else:
            compact = str(raw) if isinstance(raw, int) and not isinstance(raw, bool) else ""
        plain = _PLAIN_MOBILE.fullmatch(compact) is not None
        if plain and compact[:5] in self.valid_blocks:
            return compact, pii_hash(compact, "phone")
        phone, phone_hash = clean_phone(raw)
        if plain and phone == compact:
            self.valid_blocks.add(compact[:5])
        return phone, phone_hash


def _sees_sensitive(actor) -> bool:
    # No actor: the operator's command line, which imports everything the ledger holds.
    return actor is None or has_capability(actor, Capability.VIEW_SENSITIVE)


class Refusal(tuple):
    """A cleaning stage's refusal kept in place of its value: (field, message)."""

    def __new__(cls, field, message):
        return super().__new__(cls, (field, message))

    def __getnewargs__(self):  # pickled from the cleaning helper process
        return tuple(self)


def _raise_kept(stage) -> None:
    if isinstance(stage, Refusal):
        raise ApplicationError(stage[1], field=stage[0])


class _Pinyin(dict):
    def __missing__(self, name):
        value = self[name] = name_pinyin(name)
        return value


# Below this many rows a second process costs more (fork, pickling) than it saves.
PARALLEL_MIN_ROWS = 5000


class _CleaningHelper:
    """A large sheet cleaned by two processes, this one and a forked child (ledger.forked): cleaning
    is ~3/4 of a preview's CPU and depends on nothing but the cells and the day (`clean_row`). This
    process takes chunks of rows from the top as its plan reaches them, the child from the bottom,
    until they meet; so on a machine whose other core is busy the child simply takes fewer. `get`
    answers what the plan would have computed itself, or None (a row of this process's chunks, or
    one the child failed to send) and the plan then cleans the row here."""

    CHUNK = 1000

    def __init__(self, rows: list[tuple[int, list]], clean_row: Callable):
        self.claims = forked.Claims((len(rows) + self.CHUNK - 1) // self.CHUNK)
        self.mine = -1  # chunks 0 … mine are this process's
        self.received: dict[int, tuple] | None = None

        def produce(send) -> None:
            while (chunk := self.claims.claim_last()) is not None:
                batch = {}
                for number, cells in rows[chunk * self.CHUNK : (chunk + 1) * self.CHUNK]:
                    if not (_is_blank(cells) or _is_footer(cells)):
                        batch[number] = clean_row(cells)
                send(batch)

        self.child = forked.Child(produce)

    @classmethod
    def start(cls, rows: list, clean_row: Callable) -> "_CleaningHelper | None":
        if len(rows) < PARALLEL_MIN_ROWS or not forked.can_fork():
            return None
        return cls(rows, clean_row)

    def get(self, index: int, number: int) -> tuple | None:
        """The cleaned row `number`, at `index` in the sheet's rows, if the child cleaned it."""
        chunk = index // self.CHUNK
        while self.received is None and self.mine < chunk:
            if self.claims.claim() is None:
                # Every chunk left is the child's.
                self.received = {}
                for batch in self.child.batches():
                    self.received.update(batch)
            else:
                self.mine += 1
        if self.received is None:
            return None
        return self.received.pop(number, None)

    def close(self) -> None:
        self.child.close()


def _column_of(sheet: Sheet, error_field: str | None) -> str:
    for key in _FIELD_COLUMNS.get(error_field or "", (error_field,)):
        header = sheet.header_of(key) if key else None
        if header:
            return header
    if error_field in _FIELD_LABELS:
        return _FIELD_LABELS[error_field]
    try:
        return str(Resident._meta.get_field(error_field).verbose_name)
    except Exception:  # not a model field: shown as given
        return error_field or ""


def _is_blank(cells: list) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _is_footer(cells: list) -> bool:
    for cell in cells[:4]:
        if isinstance(cell, str) and _FOOTER.match(_text(cell).replace(" ", "")):
            return True
    return False


def plan_import(
    *,
    actor,
    community: Area,
    sheet: Sheet,
    today: datetime.date | None = None,
    progress: Callable | None = None,
    reuse: dict[int, tuple] | None = None,
) -> Plan:
    """What importing `sheet` would do, row by row. `reuse` is `plan.kept` of an earlier plan of the
    same file on the same day (the preview's): its rows are not cleaned again, only matched against
    the registry as it is now. The actor-dependent checks, places, tags and matching always run."""
    today = today or timezone.localdate()
    places = _Places(community)
    tags = _Tags(community, actor)
    pinyin = _Pinyin()
    columns = sheet.columns
    profile_keys = [k for k in _PROFILE_KEYS if k in columns]
    tag_columns = ([columns["tags"]] if "tags" in columns else []) + sheet.extra_tag_columns
    has_tags = bool(tag_columns) or "veteran" in columns
    grouped = "relation" in columns
    see_sensitive = _sees_sensitive(actor)
    address_keys = [k for k in ("address", "estate", "building", "unit", "room") if k in columns]
    identity_keys = [k for k in _IDENTITY_KEYS if k in columns]
    memo_keys = [k for k in profile_keys if k not in _IDENTITY_KEYS and k != "phone"]
    memo = _Memo(today=today, places=places, tags=tags, address_keys=address_keys)
    phones = _Phones()

    def kept_stage(compute):
        try:
            return compute()
        except ApplicationError as exc:
            return Refusal(exc.field, str(exc.message))

    def clean_values(cells) -> dict:
        values = (
            clean_resident_fields({k: cells[columns[k]] for k in identity_keys}, partial=True, today=today)
            if identity_keys
            else {}
        )
        if "phone" in columns:
            values["phone"], values["phone_hash"] = phones.clean(cells[columns["phone"]])
        for key in memo_keys:
            values.update(memo.clean(key, cells[columns[key]]))
        return values

    def clean_row(cells) -> tuple:
        """What the row's cells give without the database or the actor: the name, the field values
        (pinyin included), the parsed address — each, or the refusal it raised."""
        name = kept_stage(lambda: clean_name(cells[columns["name"]] if "name" in columns else None))
        values = kept_stage(lambda: clean_values(cells))
        if isinstance(values, dict) and not isinstance(name, Refusal):
            values["name"] = name
            values["name_pinyin"], values["name_initials"] = pinyin[name]
        address = kept_stage(lambda: memo.address(tuple(cells[columns[k]] for k in address_keys)))
        return name, values, address

    kept: dict[int, tuple] = {}

    def grid_of(cells):
        return _text(cells[columns["grid"]]) if "grid" in columns else ""

    def veteran_of(cells):
        return cells[columns["veteran"]] if "veteran" in columns else None

    results: list[RowResult] = []
    planned: list[Planned] = []
    first_row_of: dict = {}  # id hash or (name, dwelling) → Excel row of the first occurrence
    helper = _CleaningHelper.start(sheet.rows, clean_row) if reuse is None else None
    try:
        for done, (row_number, cells) in enumerate(sheet.rows, start=1):
            if progress and done % 5000 == 0:
                progress(done)
            if _is_blank(cells):
                results.append(RowResult(row_number, SKIPPED, None, _("空行")))
                continue
            if _is_footer(cells):
                results.append(RowResult(row_number, SKIPPED, None, _("合计或表尾说明行")))
                continue
            result = RowResult(row_number, CREATED)
            results.append(result)
            entry = reuse.get(row_number) if reuse is not None else None
            if entry is None and helper is not None:
                entry = helper.get(done - 1, row_number)
            if entry is None:
                entry = clean_row(cells)
            kept[row_number] = entry
            name, row_values, address = entry
            try:
                _raise_kept(name)
                if not see_sensitive and "health_notes" in columns and _text(cells[columns["health_notes"]]):
                    raise ApplicationError(_("当前角色不能填写健康信息。"), field="health_notes")
                _raise_kept(row_values)
                _raise_kept(address)
                values = row_values  # shared with the kept entry: never changed in place
                dwelling_key = memo.place(address, grid_of(cells))
                wanted_tags = memo.tags(tuple(cells[i] for i in tag_columns), veteran_of(cells)) if has_tags else None
            except ApplicationError as exc:
                result.status, result.field, result.message = REFUSED, _column_of(sheet, exc.field), str(exc.message)
                continue
            id_hash = values.get("id_number_hash")
            seen_key = id_hash or ("name", name, dwelling_key)
            first = first_row_of.get(seen_key)
            if first is not None:
                result.status = DUPLICATE
                result.field = _column_of(sheet, "id_number" if id_hash else "name")
                result.message = _("与第 %(row)d 行是同一人，本行未导入") % {"row": first}
                continue
            first_row_of[seen_key] = row_number
            number = _text(cells[columns["household_number"]])[:30] if "household_number" in columns else ""
            household_key = (dwelling_key, number) if grouped else ("row", row_number)
            planned.append(Planned(result, values, dwelling_key, household_key, wanted_tags))
    finally:
        if helper is not None:
            helper.close()
    if progress:
        progress(len(sheet.rows))

    _match_existing(planned, community=community, places=places, sheet=sheet, see_sensitive=see_sensitive)
    # The plan keeps the cells of its refused rows only, for the workbook of refused rows: the whole
    # sheet (~90 MB at 100,000 rows) is let go before the commit writes.
    refused = {r.row for r in results if r.status == REFUSED}
    plan = Plan(
        sheet=dataclasses.replace(sheet, rows=[(n, cells) for n, cells in sheet.rows if n in refused]),
        results=results,
        planned=planned,
        new_places=places.new_place_names(),
        rows_total=len(sheet.rows),
    )
    plan.kept = kept
    places.see_sensitive = see_sensitive
    plan.places = places
    plan.households = len({_household_identity(p, places) for p in planned if p.result.status != REFUSED})
    return plan


def _household_identity(p: Planned, places: _Places):
    if p.existing is not None and not p.move:
        return ("existing", p.existing.household_id)
    return ("planned", p.household_key)


def _visible_links(ids: list[int], *, see_sensitive: bool):
    links = ResidentTag.objects.filter(resident_id__in=ids, tag__min_age__isnull=True)
    # Sensitive tags the importer may not see are neither compared nor replaced.
    return links if see_sensitive else links.filter(tag__sensitive=False)


_EXISTING_FIELDS = ("pk", "id_number_hash", "status", "household_id", "dwelling_id", *_COMPARED)


def _existing(queryset):
    """What a match is compared on, as plain rows: no model instances, nothing decrypted (the phone is
    compared by its hash)."""
    for row in queryset.values(*_EXISTING_FIELDS, community_id=F("dwelling__building__grid__parent_id")):
        yield SimpleNamespace(**row)


def _match_existing(
    planned: list[Planned], *, community: Area, places: _Places, sheet: Sheet, see_sensitive: bool
) -> None:
    """Existing residents: by ID-number hash anywhere (another community's record refuses the row);
    rows without an ID number by name at the same existing dwelling in this community."""
    by_hash = {p.values["id_number_hash"]: p for p in planned if p.values.get("id_number_hash")}
    hashes = list(by_hash)
    community_id = community.pk
    for start in range(0, len(hashes), BATCH):
        batch = hashes[start : start + BATCH]
        for resident in _existing(Resident.objects.filter(id_number_hash__in=batch)):
            p = by_hash[resident.id_number_hash]
            if resident.community_id != community_id:
                resident = Resident.objects.select_related("dwelling__building__grid__parent").get(pk=resident.pk)
                p.result.status, p.result.field = REFUSED, _column_of(sheet, "id_number")
                p.result.message = duplicate_message(resident)
                continue
            p.existing = resident
    without_id = [p for p in planned if not p.values.get("id_number_hash") and p.result.status != REFUSED]
    if without_id:
        dwelling_ids = {d.pk for p in without_id if (d := places.existing_dwelling(p.dwelling_key)) is not None}
        found = {}
        ids = list(dwelling_ids)
        for start in range(0, len(ids), BATCH):
            for resident in _existing(Resident.objects.filter(dwelling_id__in=ids[start : start + BATCH])):
                found.setdefault((resident.name, resident.dwelling_id), resident)
        for p in without_id:
            dwelling = places.existing_dwelling(p.dwelling_key)
            if dwelling is not None:
                p.existing = found.get((p.values["name"], dwelling.pk))
    matched = [p for p in planned if p.existing is not None and p.result.status != REFUSED]
    links: dict[int, dict[int, tuple]] = defaultdict(dict)
    ids = [p.existing.pk for p in matched if p.tags is not None]
    for start in range(0, len(ids), BATCH):
        for link in _visible_links(ids[start : start + BATCH], see_sensitive=see_sensitive):
            links[link.resident_id][link.tag_id] = (link.grade, link.detail)
    for p in matched:
        _compare(p, places, links.get(p.existing.pk, {}), sheet)


def _compare(p: Planned, places: _Places, current_tags: dict, sheet: Sheet) -> None:
    resident = p.existing
    values = p.values
    if not values.get("id_number_hash") and resident.id_number_hash:
        # A ledger row without the number does not erase the one on record. (A copy: the dict is
        # the row as cleaned, which the preview keeps.)
        values = p.values = dict(values)
        for key in ("id_number", "id_number_hash", "document_kind", "birth_date", "sex"):
            if not values.get(key):
                values.pop(key, None)
    changed = [key for key in _COMPARED if key in values and getattr(resident, key) != values[key]]
    dwelling = places.existing_dwelling(p.dwelling_key)
    p.move = dwelling is None or dwelling.pk != resident.dwelling_id
    if p.tags is not None:
        p.tags_changed = p.tags != current_tags
    if not changed and not p.move and not p.tags_changed:
        p.result.status = UNCHANGED
        return
    if resident.status != ResidentStatus.ACTIVE:
        p.result.status, p.result.field = REFUSED, _column_of(sheet, "name")
        p.result.message = _("%(name)s 已%(status)s，档案只作留存，不能由台账修改。") % {
            "name": resident.name,
            "status": str(ResidentStatus(resident.status).label).removeprefix("已"),
        }
        return
    p.changed = changed
    p.result.status = UPDATED
    labels = [_column_of(sheet, _LABEL_FIELD.get(k, k)) for k in changed]
    if p.move:
        labels.append(_("住址"))
    if p.tags_changed:
        labels.append(_("标签"))
    p.result.message = _("更新：%(fields)s") % {"fields": "、".join(labels)}


# Commit -----------------------------------------------------------------------------------------


@without_cyclic_gc()
@bulk.sqlite_cache()
def write_plan(plan: Plan, *, actor, community: Area, today: datetime.date | None = None) -> None:
    """All valid rows of `plan` in the caller's transaction: places, households, residents (with
    history and a 登记/迁入 event), tags; updates with history."""
    today = today or timezone.localdate()
    places: _Places = plan.places
    valid = [p for p in plan.planned if p.result.status in (CREATED, UPDATED)]
    if not valid:
        return
    actor_id = actor.pk if actor is not None else None
    now = timezone.now()

    def create(model, refs: list, rows: list[dict]) -> dict:
        """Rows of `model` with their "+" history rows; planned key → new id."""
        ids = bulk.reserve_ids(model, len(rows))
        for row, pk in zip(rows, ids, strict=True):
            row["id"] = pk
        bulk.insert(model, rows, history_user_id=actor_id, now=now)
        return dict(zip(refs, ids, strict=True))

    # Places, top down; the planned keys become ids.
    estate_ids = create(
        Estate,
        [("new", key) for key in places.new_estates],
        [{"community_id": community.pk, "name": name} for name in places.new_estates.values()],
    )
    building_ids = create(
        Building,
        list(places.new_buildings),
        [
            {"estate_id": estate_ids.get(ref[1], ref[1]), "name": name, "grid_id": grid.pk}
            for ref, (name, grid) in places.new_buildings.items()
        ],
    )
    unit_ids = create(
        Unit,
        list(places.new_units),
        [{"building_id": building_ids.get(ref[1], ref[1]), "name": name} for ref, name in places.new_units.items()],
    )
    dwelling_ids: dict = {key: d.pk for key, d in places.dwellings.items()}
    dwelling_ids.update(
        create(
            Dwelling,
            list(places.new_dwellings),
            [
                {
                    "building_id": building_ids.get(b_ref, b_ref),
                    "unit_id": unit_ids.get(u_ref, u_ref) if u_ref is not None else None,
                    "room": room,
                    "floor": floor_of(room),
                }
                for (b_ref, u_ref, _r), room in places.new_dwellings.items()
            ],
        )
    )

    # Households: a planned one joins the active household already at that dwelling (same 户号 when
    # the ledger gives one); otherwise a new one.
    needing = {p.household_key: dwelling_ids[p.dwelling_key] for p in valid if p.existing is None or p.move}
    at_dwelling: dict[int, list[Household]] = defaultdict(list)
    grouped_ids = list({d for key, d in needing.items() if key[0] != "row"})
    for start in range(0, len(grouped_ids), BATCH):
        for h in Household.objects.filter(
            dwelling_id__in=grouped_ids[start : start + BATCH], dissolved_at__isnull=True
        ):
            at_dwelling[h.dwelling_id].append(h)
    household_ids: dict = {}
    new_households: list[tuple[tuple, Household]] = []
    for key, dwelling_id in needing.items():
        existing = None
        if key[0] != "row":
            candidates = at_dwelling.get(dwelling_id, [])
            existing = next((h for h in candidates if h.number == key[1]), None) if key[1] else None
            existing = existing or (candidates[0] if candidates and not key[1] else None)
        if existing is not None:
            household_ids[key] = existing.pk
        else:
            new_households.append((key, dwelling_id, key[1] if key[0] != "row" else ""))
    household_rows = []
    for (key, dwelling_id, number), pk in zip(
        new_households, bulk.reserve_ids(Household, len(new_households)), strict=True
    ):
        household_ids[key] = pk
        household_rows.append({"id": pk, "dwelling_id": dwelling_id, "number": number})
    bulk.insert(Household, household_rows, history_user_id=actor_id, now=now)
    del household_rows

    # New residents, their 登记/迁入 event and tags.
    creating = [p for p in valid if p.existing is None]
    # The households whose members, birth dates or tags this import changes (for the care plan).
    touched = {household_ids[p.household_key] for p in creating}
    note = _("台账导入")
    _create_residents(creating, household_ids, dwelling_ids, actor_id=actor_id, now=now, today=today, note=note)

    # Updates.
    updating = [p for p in valid if p.existing is not None]
    for start in range(0, len(updating), BATCH):
        chunk = updating[start : start + BATCH]
        full = Resident.objects.in_bulk([p.existing.pk for p in chunk])
        changed_fields: set[str] = set()
        residents, events = [], []
        for p in chunk:
            resident = full[p.existing.pk]
            if p.changed or p.move or p.tags_changed:
                touched.add(resident.household_id)
            for key in p.changed:
                for name in (key, *_PAIRED.get(key, ())):
                    setattr(resident, name, p.values.get(name, getattr(resident, name)))
                    changed_fields.add(name)
            if p.move:
                from_dwelling = resident.dwelling_id
                resident.dwelling_id = dwelling_ids[p.dwelling_key]
                resident.household_id = household_ids[p.household_key]
                touched.add(resident.household_id)
                changed_fields.update({"dwelling", "household"})
                events.append(
                    ResidentEvent(
                        resident_id=resident.pk,
                        kind=EventKind.DWELLING_CHANGED,
                        occurred_on=today,
                        dwelling_id=resident.dwelling_id,
                        from_dwelling_id=from_dwelling,
                        note=_("台账导入"),
                        actor=actor,
                    )
                )
            if p.changed or p.move:
                residents.append(resident)
        if residents:
            changed_fields.add("updated_at")
            now = timezone.now()
            for r in residents:
                r.updated_at = now
            bulk_update_with_history(residents, Resident, sorted(changed_fields), batch_size=BATCH, default_user=actor)
        ResidentEvent.objects.bulk_create(events, batch_size=BATCH)
        _replace_tags([p for p in chunk if p.tags_changed], actor=actor, see_sensitive=places.see_sensitive)
    signals.households_changed.send(sender=Household, household_ids=touched)


def _create_residents(creating: list[Planned], household_ids, dwelling_ids, *, actor_id, now, today, note) -> None:
    """New residents, their 登记/迁入 event and tags, a chunk at a time to bound memory.

    Not done by a forked helper as the preview's cleaning is: preparing the chunks ahead in a child
    (the encryption included) saved ~1 s of 100,000 rows, but a child forked from the commit's
    ~500 MB process soon holds a second copy of every page the parent writes to (copy-on-write):
    ~700 MB for the two together, above what an import may take."""
    resident_ids = bulk.reserve_ids(Resident, len(creating))
    tag_ids = iter(bulk.reserve_ids(ResidentTag, sum(len(p.tags or ()) for p in creating)))
    for start in range(0, len(creating), BATCH):
        residents, events, links = [], [], []
        for p, pk in zip(creating[start : start + BATCH], resident_ids[start : start + BATCH], strict=True):
            row = dict(p.values)
            row["id"] = pk
            row["household_id"] = household_ids[p.household_key]
            row["dwelling_id"] = dwelling_ids[p.dwelling_key]
            if p.household_key[0] == "row":
                row["relation"] = Relation.HEAD
            residents.append(row)
            moved_in = row.get("moved_in_on")
            events.append(
                {
                    "resident_id": pk,
                    "kind": EventKind.MOVED_IN if moved_in else EventKind.REGISTERED,
                    "occurred_on": moved_in or today,
                    "dwelling_id": row["dwelling_id"],
                    "note": note,
                    "actor_id": actor_id,
                }
            )
            for tag_id, (grade, detail) in (p.tags or {}).items():
                links.append(
                    {"id": next(tag_ids), "resident_id": pk, "tag_id": tag_id, "grade": grade, "detail": detail}
                )
        bulk.insert(Resident, residents, history_user_id=actor_id, now=now)
        bulk.insert(ResidentEvent, events, with_history=False, now=now)
        bulk.insert(ResidentTag, links, history_user_id=actor_id, now=now)


_PAIRED = {
    "phone_hash": ("phone",),
    "name": ("name_pinyin", "name_initials"),
    "document_kind": ("id_number", "id_number_hash"),
}


def _replace_tags(planned: list[Planned], *, actor, see_sensitive: bool) -> None:
    """The ledger's tags replace the resident's hand-set ones (age tags are not hand-set)."""
    if not planned:
        return
    ids = [p.existing.pk for p in planned]
    current: dict[int, dict[int, ResidentTag]] = defaultdict(dict)
    for link in _visible_links(ids, see_sensitive=see_sensitive):
        current[link.resident_id][link.tag_id] = link
    create, update = [], []
    for p in planned:
        have = current[p.existing.pk]
        for tag_id, link in have.items():
            if tag_id not in p.tags:
                link._history_user = actor
                link.delete()
            elif (link.grade, link.detail) != p.tags[tag_id]:
                link.grade, link.detail = p.tags[tag_id]
                update.append(link)
        for tag_id, (grade, detail) in p.tags.items():
            if tag_id not in have:
                create.append(ResidentTag(resident_id=p.existing.pk, tag_id=tag_id, grade=grade, detail=detail))
    bulk_create_with_history(create, ResidentTag, batch_size=BATCH, default_user=actor)
    if update:
        bulk_update_with_history(update, ResidentTag, ["grade", "detail"], batch_size=BATCH, default_user=actor)


def commit_plan(plan: Plan, *, actor, community: Area, today=None) -> None:
    with transaction.atomic():
        write_plan(plan, actor=actor, community=community, today=today)
