"""POST requests: an Open311 service request becomes a demand through tickets.services.ticket_create,
the same intake as every other channel (number, deadlines, event and audit row in one transaction)."""

import math
from collections.abc import Mapping
from decimal import Decimal
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.translation import gettext as _

from minqing.accounts.roles import Role
from minqing.areas.selectors import grid_at
from minqing.core.errors import ApplicationError, PermissionDenied
from minqing.tickets.lifecycle import REPORTERS
from minqing.tickets.models import Channel, Ticket
from minqing.tickets.services import ticket_create

# ticket_create names its own parameters in errors; an Open311 client knows the spec's names.
FIELD_NAMES = {
    "category": "service_code",
    "building": "address_id",
    "area": "lat",
    "reporter_phone": "phone",
    "reporter_name": "last_name",
}


def channel_for(actor) -> str:
    """The intake channel of an Open311 key, from its account: the district's 12345 centre files as
    the hotline; any other system (a subdistrict's or community's 智慧平台) as the smart platform."""
    return Channel.HOTLINE_12345 if actor.role == Role.DISTRICT_STAFF else Channel.SMART_PLATFORM


def _coordinate(raw, field: str, limit: float) -> Decimal:
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or abs(value) > limit:
        raise ApplicationError(_("%(field)s 须为 WGS84 十进制度数。") % {"field": field}, field=field)
    return Decimal(str(round(value, 6)))


def _location(actor, data: Mapping) -> dict:
    """The spec asks for a location: lat and long, address_string or address_id (here a building's
    id, as in /api/v1/buildings). A point goes to the grid whose boundary holds it, else to the key
    account's own area; the address text stays in the description (the demand has no address field)."""
    lat, lng = (data.get("lat") or "").strip(), (data.get("long") or "").strip()
    address_id = (data.get("address_id") or "").strip()
    address = (data.get("address_string") or "").strip()
    if bool(lat) != bool(lng):
        missing = "long" if lat else "lat"
        raise ApplicationError(_("lat 与 long 须同时提供。"), field=missing)
    if not (lat or address_id or address):
        raise ApplicationError(_("请提供位置：lat 和 long、address_string 或 address_id。"), field="lat")
    place: dict = {}
    if lat:
        place["latitude"] = _coordinate(lat, "lat", 90)
        place["longitude"] = _coordinate(lng, "long", 180)
    if address_id:
        if not address_id.isdigit():
            raise ApplicationError(_("address_id 须为楼栋编号。"), field="address_id")
        place["building"] = int(address_id)
    elif lat:
        grid = grid_at(actor, latitude=float(place["latitude"]), longitude=float(place["longitude"]))
        if grid is not None:
            place["area"] = grid.pk
    return place


def _description(data: Mapping) -> str:
    text = (data.get("description") or "").strip()
    extra = []
    if address := (data.get("address_string") or "").strip():
        extra.append(_("地址：%(address)s") % {"address": address[:200]})
    if media := (data.get("media_url") or "").strip():
        parts = urlsplit(media)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApplicationError(_("media_url 须为 http(s) 链接。"), field="media_url")
        # Kept as a link only: the server makes no outside requests (no network at run time).
        extra.append(_("图片链接：%(url)s") % {"url": media[:500]})
    return "\n".join([text, *extra]) if text else ""


@transaction.atomic
def open311_request_create(*, actor, data: Mapping[str, str], request=None) -> Ticket:
    """A demand from a GeoReport v2 POST. `first_name` / `last_name` and `phone` become the reporter
    (the phone encrypted as everywhere); `email`, `device_id` and `account_id` are not kept: handling
    a demand needs a name and a phone only (PIPL: the minimum necessary)."""
    if actor.role not in REPORTERS:
        # A department's key reads its unit's demands but files none (lifecycle.REPORTERS).
        raise PermissionDenied(_("该密钥的账号不能登记诉求。"), field="api_key")
    code = (data.get("service_code") or "").strip()
    if not code:
        raise ApplicationError(_("service_code 为必填项（诉求分类编号，见 services）。"), field="service_code")
    if not code.isdigit():
        raise ApplicationError(_("service_code 须为诉求分类编号。"), field="service_code")
    place = _location(actor, data)
    name = ((data.get("last_name") or "").strip() + (data.get("first_name") or "").strip())[:50]
    try:
        return ticket_create(
            actor=actor,
            category=int(code),
            channel=channel_for(actor),
            description=_description(data),
            reporter_name=name,
            reporter_phone=(data.get("phone") or "").strip(),
            request=request,
            **place,
        )
    except ApplicationError as error:
        error.field = FIELD_NAMES.get(error.field, error.field)
        raise
