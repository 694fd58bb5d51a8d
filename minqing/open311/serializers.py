"""GeoReport v2 documents in JSON and XML: the element names, nesting and time format of the spec
(wiki.open311.org/GeoReport_v2). Lists are JSON arrays and, in XML, a root element holding one child
per item; a value of None is JSON null and an empty XML element."""

import datetime
import json
import re
from xml.etree import ElementTree

from django.http import HttpResponse
from django.utils import timezone

from minqing.core.pii import mask_id_number, mask_phone

FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}


def iso(value: datetime.datetime | None) -> str | None:
    """ISO 8601 with the offset, as the spec requires: 2025-10-14T18:00:00+08:00 (local time)."""
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


# Characters XML 1.0 cannot carry at all (a control character pasted into a description): dropped, or
# the document would not parse.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else _NOT_XML.sub("", str(value))


def _element(tag: str, row: dict) -> ElementTree.Element:
    node = ElementTree.Element(tag)
    for key, value in row.items():
        child = ElementTree.SubElement(node, key)
        if isinstance(value, list):  # attributes of a service definition: <attributes><attribute>…
            for item in value:
                child.append(_element(key[:-1], item) if isinstance(item, dict) else _leaf(key[:-1], item))
        else:
            child.text = _text(value)
    return node


def _leaf(tag: str, value) -> ElementTree.Element:
    node = ElementTree.Element(tag)
    node.text = _text(value)
    return node


def document(fmt: str, root: str, item: str, rows: list[dict] | dict, *, status: int = 200) -> HttpResponse:
    """`rows` as a list document (<root><item>…</item></root> / [ … ]), or one dict as a single
    element (<root>…</root> / { … }) for a service definition."""
    if fmt == "json":
        body = json.dumps(rows, ensure_ascii=False)
    else:
        tree = _element(root, rows) if isinstance(rows, dict) else ElementTree.Element(root)
        if isinstance(rows, list):
            for row in rows:
                tree.append(_element(item, row))
        body = ElementTree.tostring(tree, encoding="unicode", xml_declaration=False)
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + body
    return HttpResponse(body.encode(), status=status, content_type=CONTENT_TYPES[fmt])


def errors(fmt: str, status: int, description: str) -> HttpResponse:
    """The spec's error document: [{"code": 400, "description": "…"}] or
    <errors><error><code>400</code><description>…</description></error></errors>, HTTP status alike."""
    return document(fmt, "errors", "error", [{"code": status, "description": description}], status=status)


# Personal data in free text ---------------------------------------------------------------------
# A hotline operator types what the caller said, "联系电话13947712345" included. Open311 answers go to
# other systems and may be published by them, so phones and ID numbers written into a description or
# a note leave masked, like everywhere else in minqing (PIPL: the minimum necessary).
_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86[-\s]?)?(1[3-9]\d)[-\s]?(\d{4})[-\s]?(\d{4})(?!\d)")
_LANDLINE_IN_TEXT = re.compile(r"(?<!\d)(0\d{2,3})[-\s]?(\d{7,8})(?!\d)")


def redact(text: str | None) -> str | None:
    if not text:
        return text
    text = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), text)
    text = _MOBILE_IN_TEXT.sub(lambda m: mask_phone("".join(m.groups())), text)
    return _LANDLINE_IN_TEXT.sub(lambda m: mask_phone(f"{m.group(1)}-{m.group(2)}"), text)


# Rows ---------------------------------------------------------------------------------------------


def service_row(category, group) -> dict:
    """A category as a service: realtime (the number is given at once), no extra attributes."""
    names = [group.name, category.name] if group.pk != category.pk else [category.name]
    return {
        "service_code": str(category.pk),
        "service_name": category.name,
        "description": "/".join(names),
        "metadata": False,
        "type": "realtime",
        "keywords": ",".join(names),
        "group": group.name,
    }


def service_definition_row(category) -> dict:
    return {"service_code": str(category.pk), "attributes": []}


def service_notice(ticket) -> str:
    """What happens next, in the words of the demand's page: its state and the finish deadline."""
    due = timezone.localtime(ticket.finish_due_at).strftime("%Y-%m-%d %H:%M")
    return f"{ticket.get_status_display()}；办结期限 {due}"


def _address(ticket) -> str:
    """The grid (or higher node) and the building; never the room, which would name a household."""
    building = ticket.building or (ticket.dwelling.building if ticket.dwelling_id else None)
    parts = [ticket.area.name]
    if building is not None:
        parts.append(f"{building.estate.name}{building.name}")
    return " ".join(parts)


def request_row(ticket, status: str) -> dict:
    """A demand as a service request: the spec's fields in the spec's order. No reporter name, phone
    or ID number: the spec has no such output field, and free text leaves through redact()."""
    building = ticket.building or (ticket.dwelling.building if ticket.dwelling_id else None)
    return {
        "service_request_id": ticket.number,
        "status": status,
        "status_notes": redact(getattr(ticket, "status_notes", None)),
        "service_name": ticket.category.name,
        "service_code": str(ticket.category_id),
        "description": redact(ticket.description),
        "agency_responsible": ticket.department.name if ticket.department_id else ticket.area.name,
        "service_notice": service_notice(ticket),
        "requested_datetime": iso(ticket.received_at),
        "updated_datetime": iso(getattr(ticket, "updated_at", None) or ticket.registered_at),
        "expected_datetime": iso(ticket.finish_due_at),
        "address": _address(ticket),
        "address_id": str(building.pk) if building is not None else None,
        "zipcode": None,
        "lat": float(ticket.latitude) if ticket.latitude is not None else None,
        "long": float(ticket.longitude) if ticket.longitude is not None else None,
        "media_url": None,
    }
