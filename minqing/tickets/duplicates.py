"""Likely duplicates (重复诉求): open demands about the same place with a similar text, suggested when a
demand is registered so staff can merge them.

Chinese has no spaces between words, so texts are compared by character bigrams (楼道堆放纸箱 →
楼道 道堆 堆放 放纸 纸箱), taken within each run of letters and digits (punctuation and spaces
split runs and are dropped), with the Dice coefficient 2|A∩B| / (|A| + |B|). A pair must also share
at least MIN_SHARED bigrams: one shared bigram is usually the place word (楼道, 小区, 单元) and says
nothing about the matter (楼道灯不亮 is not 楼道堆放纸箱).

The place narrows first, in SQL: a dwelling widens to its building (a blocked corridor or drain is
reported from several flats), a building is that building, an area alone is that area (a grid). Only
demands still open, in the user's scope and received in the last RECENT_DAYS are compared, at most
MAX_CANDIDATES of the newest, so the cost stays flat however large the table."""

import datetime
import re
from dataclasses import dataclass

from django.utils import timezone

from minqing.areas.models import Dwelling
from minqing.tickets.lifecycle import OPEN_STATES
from minqing.tickets.models import Ticket
from minqing.tickets.selectors import tickets_visible_to

THRESHOLD = 0.2
MIN_SHARED = 2
RECENT_DAYS = 30
MAX_CANDIDATES = 200

# Runs of CJK ideographs, Latin letters and digits; everything else separates.
_RUN = re.compile(r"[0-9a-z\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def bigrams(text: str) -> frozenset[str]:
    grams: set[str] = set()
    for run in _RUN.findall((text or "").lower()):
        if len(run) == 1:
            grams.add(run)
        grams.update(run[i : i + 2] for i in range(len(run) - 1))
    return frozenset(grams)


def similarity(a: frozenset[str], b: frozenset[str]) -> tuple[float, int]:
    """(Dice coefficient, shared bigram count)."""
    if not a or not b:
        return 0.0, 0
    shared = len(a & b)
    return 2 * shared / (len(a) + len(b)), shared


@dataclass(frozen=True)
class Similar:
    ticket: Ticket
    score: float  # 0..1, Dice over character bigrams
    same: str  # "dwelling", "building" or "area": how close the places are


def _pk(raw):
    return getattr(raw, "pk", raw)


def similar_open_tickets(
    user, *, text: str, dwelling=None, building=None, area=None, exclude=None, limit: int = 5
) -> list[Similar]:
    """Open demands in `user`'s scope about the same place whose text is like `text`, best first.
    `exclude`: a demand (object, pk or number) to leave out, e.g. the one just registered."""
    mine = bigrams(text)
    if not mine:
        return []
    dwelling_id, building_id, area_id = _pk(dwelling), _pk(building), _pk(area)
    if dwelling_id not in (None, "") and building_id in (None, ""):
        building_id = Dwelling.objects.filter(pk=dwelling_id).values_list("building_id", flat=True).first()
    qs = tickets_visible_to(user).filter(
        status__in=OPEN_STATES, received_at__gte=timezone.now() - datetime.timedelta(days=RECENT_DAYS)
    )
    if building_id not in (None, ""):
        qs = qs.filter(building_id=building_id)
    elif area_id not in (None, ""):
        qs = qs.filter(area_id=area_id)
    else:
        return []
    if exclude not in (None, ""):
        qs = qs.exclude(number=exclude) if isinstance(exclude, str) else qs.exclude(pk=_pk(exclude))
    # The building's or area's foreign-key index finds the place's demands; the newest are compared.
    candidates = list(qs.select_related("category").order_by("-received_at", "-pk")[:MAX_CANDIDATES])
    found = []
    for ticket in candidates:
        score, shared = similarity(mine, bigrams(ticket.description))
        if score < THRESHOLD or shared < min(MIN_SHARED, len(mine)):
            continue
        if dwelling_id not in (None, "") and ticket.dwelling_id == int(dwelling_id):
            same = "dwelling"
        elif building_id not in (None, ""):
            same = "building"
        else:
            same = "area"
        found.append(Similar(ticket=ticket, score=round(score, 3), same=same))
    found.sort(key=lambda s: (-s.score, -s.ticket.received_at.timestamp()))
    return found[:limit]
