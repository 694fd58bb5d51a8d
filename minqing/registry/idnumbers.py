"""Identity document numbers: the citizen ID number (公民身份号码, GB 11643-1999) and the other
documents a resident may hold. Every refusal is one IdNumberError whose message says what is wrong
in words a grid worker can act on.

GB 11643: 6-digit address code (GB/T 2260) + 8-digit birth date + 3-digit sequence (odd for men,
even for women) + a check character, ISO 7064 MOD 11-2 over the first 17 digits (X stands for 10).
First-generation numbers (15 digits: 2-digit year, no check character) are converted to 18.
"""

import datetime
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from stdnum.cn import ric

from minqing.core.errors import ApplicationError
from minqing.core.pii import mask_document_number, mask_id_number


class IdNumberError(ApplicationError):
    """Every refusal of a document number; `code` tells the cases apart for importers and tests."""

    code = "invalid_id_number"

    def __init__(self, message, *, code: str | None = None):
        super().__init__(message, field="id_number", code=code)


class DocumentKind(models.TextChoices):
    CITIZEN_ID = "citizen_id", _("居民身份证")
    PASSPORT = "passport", _("护照")
    HMT_RESIDENCE = "hmt_residence", _("港澳台居民居住证")
    FOREIGN_PERMANENT = "foreign_permanent", _("外国人永久居留身份证")


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


@dataclass(frozen=True, kw_only=True)
class Document:
    kind: str
    number: str  # normalised: half-width, upper-case, no spaces
    birth_date: datetime.date | None = None
    sex: str | None = None

    @property
    def masked(self) -> str:
        return mask_document(self.kind, self.number)


@dataclass(frozen=True, kw_only=True)
class CitizenId(Document):
    kind: str = DocumentKind.CITIZEN_ID
    region_code: str
    converted_from: str = ""  # the first-generation 15-digit number this one was converted from


# GB/T 2260 provincial codes of the mainland: the first two digits of every citizen ID number.
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65".split()
)
HMT_PREFIXES = {"810000": _("香港"), "820000": _("澳门"), "830000": _("台湾")}
EARLIEST_BIRTH_YEAR = 1900

_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]
_SCIENTIFIC = re.compile(r"[0-9](?:\.[0-9]+)?E[+]?[0-9]+")
_FLOAT_TEXT = re.compile(r"([0-9]+)\.0*")
# Spaces of every width, dashes and zero-width characters people paste along with a number.
_NOISE = re.compile(r"[\s\-\u2010-\u2015\u200b-\u200f\u2060\ufeff]+")
# "×" is what many Chinese input methods give for X.
_LOOKALIKES = str.maketrans({"×": "X", "х": "X", "Х": "X"})


def check_character(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character of 17 digits (stdnum's arithmetic)."""
    return ric.calc_check_digit(first17 + "0")


def region_name(region_code: str) -> str:
    """Province and county of an address code, from python-stdnum's GB/T 2260 table, or "" when the
    table does not know the code (it is not complete; an unknown code is not an invalid number)."""
    from stdnum import numdb

    info: dict[str, str] = {}
    for _part, props in numdb.get("cn/loc").info(region_code):
        info.update(props)
    names = []
    for key in ("province", "prefecture", "county"):
        value = info.get(key, "")
        # The county column can list successive names as "[1983-2000]旧名,[2001-]新名": take the last.
        value = value.split(",")[-1]
        value = re.sub(r"^\[[0-9-]*\]", "", value)
        if value:
            names.append(value)
    return "".join(names)


def normalise_document_text(raw) -> str:
    """Half-width, upper-case, without spaces, dashes or Excel's leading apostrophe."""
    text = unicodedata.normalize("NFKC", str(raw)).translate(_LOOKALIKES)
    text = _NOISE.sub("", text).strip("'‘’`\"“”")
    return text.upper()


# Citizen ID numbers -----------------------------------------------------------------------------


def parse_id_number(raw, *, today: datetime.date | None = None) -> CitizenId:
    """A citizen ID number as typed, pasted or read from a spreadsheet cell (str, int or float) →
    the normalised 18-digit number with its birth date, sex and region code."""
    label = _("公民身份号码")  # lazy: translated only when a message is built
    text = _clean(raw, label=label)
    if len(text) == 15:
        return _from_first_generation(text, label=label, today=today)
    if len(text) != 18:
        raise IdNumberError(
            gettext("%(label)s应为 18 位（第一代身份证为 15 位），现为 %(length)s 位")
            % {"label": label, "length": len(text)},
            code="id_length",
        )
    _check_characters(text, label=label)
    if text[:2] not in PROVINCE_CODES:
        raise _region_error(text, label=label)
    birth_date, sex = _check_body(text, label=label, today=today)
    return CitizenId(number=text, birth_date=birth_date, sex=sex, region_code=text[:6])


def _from_first_generation(text: str, *, label: str, today) -> CitizenId:
    if not text.isdigit():
        raise IdNumberError(
            gettext("%(label)s为 15 位时只能由数字组成") % {"label": label},
            code="id_format",
        )
    if text[:2] not in PROVINCE_CODES:
        raise _region_error(text, label=label)
    # First-generation numbers were issued to people born in the 20th century (GB 11643-1989).
    body = text[:6] + "19" + text[6:]
    birth_date = _birth_date(body[6:14], label=label, today=today)
    number = body + check_character(body)
    return CitizenId(
        number=number, birth_date=birth_date, sex=_sex(number), region_code=number[:6], converted_from=text
    )


def _region_error(text: str, *, label: str) -> IdNumberError:
    province = text[:2]
    if text[:6] in HMT_PREFIXES or province in ("81", "82", "83"):
        message = gettext("以 %(prefix)s 开头的是港澳台居民居住证号码，请将证件类型选为「港澳台居民居住证」")
    elif province == "71":
        message = gettext("以 71 开头的号码不是大陆居民身份证号码，台湾居民请使用台湾居民居住证或通行证")
    elif province.startswith("9"):
        message = gettext("以 9 开头的是外国人永久居留身份证号码，请将证件类型选为「外国人永久居留身份证」")
    else:
        message = gettext("%(label)s前 2 位「%(prefix)s」不是有效的省级行政区划代码")
    return IdNumberError(message % {"label": label, "prefix": province}, code="id_region")


# Shared by every MOD 11-2 document ---------------------------------------------------------------


def _clean(raw, *, label: str) -> str:
    """The number as text. A spreadsheet number (a float, or its text "….0") longer than 15 digits has
    lost its end: Excel and floats keep 15 to 16 significant digits, so it is refused as such."""
    if raw is None or isinstance(raw, bool):
        raise IdNumberError(gettext("请填写%(label)s") % {"label": label}, code="id_required")
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        # Excel keeps 15 significant digits: a 15-digit number survives, an 18-digit one does not.
        if raw.is_integer() and 0 < raw < 1e15:
            return str(int(raw))
        raise _excel_error(label=label, shown=repr(raw))
    text = normalise_document_text(raw)
    if not text:
        raise IdNumberError(gettext("请填写%(label)s") % {"label": label}, code="id_required")
    if _SCIENTIFIC.fullmatch(text):
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = None
        if value is not None and value == value.to_integral_value() and value < Decimal("1e15"):
            return str(int(value))
        raise _excel_error(label=label, shown=text)
    float_text = _FLOAT_TEXT.fullmatch(text)
    if float_text:
        if len(float_text.group(1)) > 15:
            raise _excel_error(label=label, shown=text)
        return float_text.group(1)
    return text


def _excel_error(*, label: str, shown: str) -> IdNumberError:
    return IdNumberError(
        gettext("%(label)s「%(shown)s」疑似被 Excel 转为数字而丢失末位，请将该列设为文本格式，按证件重新填写")
        % {"label": label, "shown": shown},
        code="id_excel_rounded",
    )


def _check_characters(text: str, *, label: str) -> None:
    if not (text[:17].isdigit() and (text[17].isdigit() or text[17] == "X")):
        raise IdNumberError(
            gettext("%(label)s只能由数字组成，最后一位可以是 X") % {"label": label},
            code="id_format",
        )


def _check_body(text: str, *, label: str, today) -> tuple[datetime.date, str]:
    """Birth date and check character of an 18-character MOD 11-2 number."""
    birth_date = _birth_date(text[6:14], label=label, today=today)
    if text[17] != check_character(text[:17]):
        # Excel rounds an 18-digit number to 15 significant digits: the last three become 000.
        if text.endswith("000"):
            raise _excel_error(label=label, shown=text)
        raise IdNumberError(
            gettext("%(label)s校验位（第 18 位）不符，号码中有数字录错，请对照证件核对") % {"label": label},
            code="id_check_digit",
        )
    return birth_date, _sex(text)


def _birth_date(digits: str, *, label: str, today) -> datetime.date:
    try:
        birth_date = datetime.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise IdNumberError(
            gettext("%(label)s中的出生日期「%(digits)s」不是真实的日期") % {"label": label, "digits": digits},
            code="id_birth_date",
        ) from None
    if birth_date > (today or timezone.localdate()):
        raise IdNumberError(
            gettext("%(label)s中的出生日期 %(date)s 晚于今天") % {"label": label, "date": birth_date.isoformat()},
            code="id_birth_date",
        )
    if birth_date.year < EARLIEST_BIRTH_YEAR:
        raise IdNumberError(
            gettext("%(label)s中的出生日期 %(date)s 早于 %(year)s 年，不合理")
            % {"label": label, "date": birth_date.isoformat(), "year": EARLIEST_BIRTH_YEAR},
            code="id_birth_date",
        )
    return birth_date


def _sex(number18: str) -> str:
    return Sex.MALE if int(number18[16]) % 2 else Sex.FEMALE


# Other documents --------------------------------------------------------------------------------

_PASSPORT = re.compile(r"[A-Z0-9]{5,17}")
_FOREIGN_PERMANENT_2017 = re.compile(r"[A-Z]{3}[0-9]{12}")


def parse_document(kind: str, raw, *, today: datetime.date | None = None) -> Document:
    """Any document number by its kind (DocumentKind)."""
    if kind == DocumentKind.CITIZEN_ID:
        return parse_id_number(raw, today=today)
    if kind == DocumentKind.PASSPORT:
        return _parse_passport(raw)
    if kind == DocumentKind.HMT_RESIDENCE:
        return _parse_hmt_residence(raw, today=today)
    if kind == DocumentKind.FOREIGN_PERMANENT:
        return _parse_foreign_permanent(raw, today=today)
    raise IdNumberError(gettext("未知的证件类型「%(kind)s」") % {"kind": kind}, code="id_kind")


def _parse_passport(raw) -> Document:
    label = gettext("护照号码")
    if raw is None or isinstance(raw, bool):
        raise IdNumberError(gettext("请填写%(label)s") % {"label": label}, code="id_required")
    text = normalise_document_text(raw)
    if not text:
        raise IdNumberError(gettext("请填写%(label)s") % {"label": label}, code="id_required")
    # Passports of every country: ICAO 9303 allows letters and digits; none is all letters.
    if not _PASSPORT.fullmatch(text) or text.isalpha():
        raise IdNumberError(
            gettext("%(label)s应为 5 到 17 位字母和数字（如 E12345678）") % {"label": label},
            code="id_format",
        )
    return Document(kind=DocumentKind.PASSPORT, number=text)


def _parse_hmt_residence(raw, *, today) -> Document:
    """港澳台居民居住证 (2018): a GB 11643 number whose address code is 810000, 820000 or 830000."""
    label = gettext("港澳台居民居住证号码")
    text = _clean(raw, label=label)
    if len(text) != 18:
        raise IdNumberError(
            gettext("%(label)s应为 18 位，现为 %(length)s 位") % {"label": label, "length": len(text)},
            code="id_length",
        )
    _check_characters(text, label=label)
    if text[:6] not in HMT_PREFIXES:
        raise IdNumberError(
            gettext("%(label)s应以 810000（香港）、820000（澳门）或 830000（台湾）开头") % {"label": label},
            code="id_region",
        )
    birth_date, sex = _check_body(text, label=label, today=today)
    return Document(kind=DocumentKind.HMT_RESIDENCE, number=text, birth_date=birth_date, sex=sex)


def _parse_foreign_permanent(raw, *, today) -> Document:
    """外国人永久居留身份证: since 1 December 2023 an 18-digit number on the GB 11643 pattern with 9 first
    (9 + place of issue + numeric country code, then birth date, sequence and a MOD 11-2 check);
    the 2017 card still in use has 15 characters, 3 letters of the country code and 12 digits."""
    label = gettext("外国人永久居留身份证号码")
    text = _clean(raw, label=label)
    if len(text) == 15 and text[:3].isalpha():
        if not _FOREIGN_PERMANENT_2017.fullmatch(text):
            raise IdNumberError(
                gettext("%(label)s（旧版）应为 3 位国籍字母加 12 位数字") % {"label": label},
                code="id_format",
            )
        return Document(kind=DocumentKind.FOREIGN_PERMANENT, number=text)
    if len(text) != 18:
        raise IdNumberError(
            gettext(
                "%(label)s应为 18 位（2023 版，以 9 开头）或 15 位（旧版，3 位字母加 12 位数字），现为 %(length)s 位"
            )
            % {"label": label, "length": len(text)},
            code="id_length",
        )
    _check_characters(text, label=label)
    if text[0] != "9":
        raise IdNumberError(
            gettext("%(label)s（2023 版）以 9 开头") % {"label": label},
            code="id_region",
        )
    birth_date, sex = _check_body(text, label=label, today=today)
    return Document(kind=DocumentKind.FOREIGN_PERMANENT, number=text, birth_date=birth_date, sex=sex)


def mask_document(kind: str, number: str | None) -> str:
    """The mask shown everywhere by default: 18-character numbers as ID numbers (first 4, last 4),
    passports and the old permanent-residence card first 2, last 2."""
    if not number:
        return ""
    if kind in (DocumentKind.CITIZEN_ID, DocumentKind.HMT_RESIDENCE) or len(number) == 18:
        return mask_id_number(number)
    return mask_document_number(number)
