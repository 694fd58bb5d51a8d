"""Phone numbers of residents: mainland mobiles and landlines, in one canonical spelling so the keyed
hash finds a number however it was typed. Mobiles are 11 digits (13812345678); landlines are the
area code with its 0, a dash and the local number (0477-8581234). Validity (number ranges, local
number lengths per area code) comes from libphonenumber's metadata (phonenumberslite)."""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

import phonenumbers
from django.utils.translation import gettext

from minqing.core.errors import ApplicationError


class PhoneError(ApplicationError):
    code = "invalid_phone"

    def __init__(self, message, *, code: str | None = None):
        super().__init__(message, field="phone", code=code)


_SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212()（）\u200b-\u200f\u2060\ufeff]+")
_SEVERAL = re.compile(r"\d{5,}\s*[/、,，;；|]\s*\+?\d")
_FLOAT_TEXT = re.compile(r"([0-9]+)\.0+")
_MOBILE_TYPES = {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
_LANDLINE_TYPES = {phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}


def normalise_phone(raw, *, default_area_code: str = "") -> str:
    """A phone as typed, pasted or read from a spreadsheet cell → "13812345678" or "0477-8581234".

    Spaces, dashes, brackets, full-width digits and a +86 / 0086 prefix are removed. A local number
    without its area code is completed with `default_area_code` (e.g. "0477", the community's own),
    and refused when there is none: the same digits are a different line in every city."""
    text = _text(raw)
    if not text:
        raise PhoneError(gettext("请填写联系电话"), code="phone_required")
    if _SEVERAL.search(text):
        raise PhoneError(gettext("联系电话一栏只能填一个号码"), code="phone_several")
    compact = _SEPARATORS.sub("", text)
    float_text = _FLOAT_TEXT.fullmatch(compact)
    if float_text:  # a number cell read as a float: 13812345678.0
        compact = float_text.group(1)
    if compact.startswith("+86"):
        compact = compact[3:]
        national = True
    elif compact.startswith("0086"):
        compact = compact[4:]
        national = True
    elif len(compact) == 13 and compact.startswith("861"):
        compact = compact[2:]
        national = True
    else:
        national = False
    if not compact.isdigit():
        raise PhoneError(
            gettext("联系电话「%(value)s」含有数字以外的字符") % {"value": text},
            code="phone_format",
        )
    if national and not compact.startswith("0") and not (len(compact) == 11 and compact.startswith("1")):
        compact = "0" + compact  # +86 10 12345678: the trunk 0 of the area code is dropped after +86
    if compact.startswith("1"):
        return _mobile(compact, text)
    if compact.startswith("0"):
        return _landline(compact, text)
    if default_area_code and 7 <= len(compact) <= 8:
        return _landline(_area_code(default_area_code) + compact, text)
    if 7 <= len(compact) <= 8:
        raise PhoneError(
            gettext("固定电话「%(value)s」缺少区号，请写成 0477-8581234 的形式") % {"value": text},
            code="phone_area_code",
        )
    raise PhoneError(_invalid_message(text), code="phone_invalid")


def _text(raw) -> str:
    if raw is None or isinstance(raw, bool):
        return ""
    if isinstance(raw, int):
        return str(raw)
    if isinstance(raw, float):
        return str(int(raw)) if raw.is_integer() else str(raw)
    text = unicodedata.normalize("NFKC", str(raw)).strip().strip("'‘’`\"“”")
    if re.fullmatch(r"[0-9](?:\.[0-9]+)?[eE][+]?[0-9]+", text):
        # 1.3812345678E+10: a mobile fits in Excel's 15 digits, so the value is whole.
        try:
            return str(int(Decimal(text)))
        except (InvalidOperation, ValueError):
            return text
    return text


def _area_code(code: str) -> str:
    digits = _SEPARATORS.sub("", unicodedata.normalize("NFKC", code))
    if not digits.isdigit() or not 2 <= len(digits.lstrip("0")) <= 3:
        raise ValueError(f"not an area code: {code!r}")
    return "0" + digits.lstrip("0")


def _parse(digits: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(digits, "CN")
    except phonenumbers.NumberParseException:
        return None


def _valid(number: phonenumbers.PhoneNumber | None, types: set) -> bool:
    return number is not None and phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in types


def _mobile(digits: str, shown: str) -> str:
    if len(digits) != 11:
        raise PhoneError(
            gettext("手机号码应为 11 位，「%(value)s」为 %(length)s 位") % {"value": shown, "length": len(digits)},
            code="phone_length",
        )
    number = _parse(digits)
    if not _valid(number, _MOBILE_TYPES):
        raise PhoneError(
            gettext("「%(value)s」不是有效的手机号码（号段不存在）") % {"value": shown},
            code="phone_invalid",
        )
    return str(number.national_number)


def _landline(digits: str, shown: str) -> str:
    number = _parse(digits)
    if not _valid(number, _LANDLINE_TYPES):
        raise PhoneError(_invalid_message(shown), code="phone_invalid")
    national = str(number.national_number)
    area_length = phonenumbers.length_of_geographical_area_code(number)
    if not area_length:
        raise PhoneError(_invalid_message(shown), code="phone_invalid")
    return f"0{national[:area_length]}-{national[area_length:]}"


def _invalid_message(shown: str) -> str:
    return gettext("「%(value)s」不是有效的电话号码：手机为 11 位，固定电话为区号加号码（如 0477-8581234）") % {
        "value": shown
    }


def phone_kind(number: str) -> str:
    """Whether a normalised number is a "mobile" or a "landline"."""
    return "landline" if number.startswith("0") else "mobile"
