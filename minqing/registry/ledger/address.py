"""A ledger's address → (estate, building, unit, room).

Either one text ("嘉和苑3号楼2单元1302室", "嘉和苑3栋2-1302", "民安区嘉和社区嘉和苑3#2单元1302")
or split columns (小区/楼栋/单元/房号, where 楼栋 may be "3", "3号楼" or "3栋"). Names are compared
by a key (digits for numbered buildings and units) so "3栋" in a ledger finds the building "3号楼"."""

import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _

from minqing.core.errors import ApplicationError

_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
_BUILDING_SUFFIX = r"(?:号楼|栋|幢|座|号|楼|#)"
_ONE_TEXT = re.compile(
    rf"^(?P<estate>.*?)(?P<building>[0-9A-Za-z一二三四五六七八九十]+){_BUILDING_SUFFIX}-?"
    r"(?:(?P<unit>[0-9一二三四五六七八九十]+)(?:单元|-))?"
    r"(?P<room>[0-9A-Za-z]+(?:-[0-9]+)?)(?:室|号|户)?$"
)
# "嘉和苑3-2-1302": building-unit-room with dashes only.
_DASHES = re.compile(r"^(?P<estate>.*?\D)(?P<building>\d+)-(?P<unit>\d+)-(?P<room>\d+)$")


@dataclass(frozen=True)
class Address:
    estate: str
    building: str  # as it will be named when created ("3号楼")
    unit: str  # "" for a bungalow
    room: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (estate_key(self.estate), building_key(self.building), unit_key(self.unit), room_key(self.room))

    def __str__(self) -> str:
        return f"{self.estate}{self.building}{self.unit}{self.room}室"


def _text(raw) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(raw if raw is not None else "")))


def _number(text: str) -> str:
    if text in _CN_DIGITS:
        return str(_CN_DIGITS[text])
    return text


def estate_key(name: str) -> str:
    return _text(name)


def building_key(name: str) -> str:
    text = _text(name)
    match = re.fullmatch(rf"([0-9A-Za-z一二三四五六七八九十]+){_BUILDING_SUFFIX}?", text)
    return _number(match.group(1)).upper() if match else text


def unit_key(name: str) -> str:
    text = _text(name)
    match = re.fullmatch(r"([0-9一二三四五六七八九十]+)(?:单元)?", text)
    return _number(match.group(1)) if match else text


def room_key(name: str) -> str:
    return _text(name).removesuffix("室").upper()


def building_name(raw) -> str:
    key = building_key(raw)
    return f"{key}号楼" if re.fullmatch(r"[0-9A-Z]+", key) else _text(raw)


def unit_name(raw) -> str:
    if not _text(raw):
        return ""
    key = unit_key(raw)
    return f"{key}单元" if key.isdigit() else _text(raw)


def floor_of(room: str) -> int | None:
    """1302 → 13, 502 → 5; rooms not numbered that way have no floor."""
    digits = room_key(room)
    if digits.isdigit() and 3 <= len(digits) <= 4:
        return int(digits[:-2]) or None
    return None


def _error(message: str) -> ApplicationError:
    return ApplicationError(message, field="address", code="address_invalid")


def parse_address(*, address=None, estate=None, building=None, unit=None, room=None) -> Address:
    """Split columns win where given; the one-text address fills what they leave out."""
    parts = {"estate": _text(estate), "building": _text(building), "unit": _text(unit), "room": _text(room)}
    text = _text(address)
    if text and not (parts["building"] and parts["room"]):
        match = _ONE_TEXT.fullmatch(text) or _DASHES.fullmatch(text)
        if match is None:
            raise _error(
                _("住址「%(value)s」无法识别，请写成“小区+楼栋+单元+房号”，如：嘉和苑3号楼2单元1302室")
                % {"value": text}
            )
        for key in ("estate", "building", "unit", "room"):
            if not parts[key] and match.group(key):
                parts[key] = match.group(key)
    if not parts["building"] or not parts["room"]:
        if not any(parts.values()) and not text:
            raise _error(_("请填写住址（小区、楼栋、单元、房号）"))
        raise _error(_("住址不完整：缺少楼栋或房号"))
    if not parts["estate"]:
        raise _error(_("住址不完整：缺少小区名称"))
    return Address(
        estate=parts["estate"][:100],
        building=building_name(parts["building"])[:50],
        unit=unit_name(parts["unit"])[:30],
        room=room_key(parts["room"])[:20],
    )
