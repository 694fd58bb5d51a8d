"""Who is told what about a demand (站内消息, minqing.inbox). Called by the ticket services inside
their transaction; every function here only gathers drafts and hands them to inbox.notify_many.

Who is told:
- the handler: the grid worker a demand is dispatched to (ticket.handler), or, for a unit's demand
  (ticket.department), every active account of that unit; departments that are whistled in; for the
  sweep, a grid-level demand nobody holds yet is the grid's worker's (they accept it);
- the supervisor, for 临期 and 超期, by the level the demand is worked at (ticket.level):
  grid or community level → the community's 书记/主任 (community_admin accounts of the demand's
  community); subdistrict level → the subdistrict's 综治中心 staff; district level → the district's
  staff (the 12345 centre). Where a level has no active account, the next level up is told, so an
  overdue demand never goes unseen;
- the reporter: the grid worker, liaison or building head who filed the demand (created_by), when it
  is handled and when it is closed (销号) — they are the ones who tell the household back; the
  reporters of demands merged into it are told too.
Nobody is told of their own step. Service accounts (integration keys) are never told."""

from collections import defaultdict
from collections.abc import Iterable
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from minqing.accounts.models import User
from minqing.accounts.roles import Role
from minqing.inbox.models import Kind
from minqing.inbox.services import Draft, notify_many
from minqing.tickets.models import Level, Ticket
from minqing.tickets.routing import ancestor_area_ids

# The area path's depth (0 = district) at which a level's supervisor sits, and the role of a
# supervisor at each depth.
SUPERVISOR_DEPTH = {Level.GRID: 2, Level.COMMUNITY: 2, Level.SUBDISTRICT: 1, Level.DISTRICT: 0}
SUPERVISOR_ROLE = {0: Role.DISTRICT_STAFF, 1: Role.SUBDISTRICT_STAFF, 2: Role.COMMUNITY_ADMIN}
REPORTER_ROLES = frozenset({Role.GRID_WORKER, Role.LIAISON, Role.BUILDING_HEAD})
EXCERPT = 60


def _accounts():
    return User.objects.filter(is_active=True, is_service=False)


def _excerpt(text: str) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def department_accounts(department_ids: Iterable[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    ids = {pk for pk in department_ids if pk}
    if ids:
        accounts = _accounts().filter(role=Role.DEPARTMENT, department_id__in=ids)
        for pk, dept in accounts.values_list("pk", "department_id"):
            found[dept].append(pk)
    return found


def handler_ids(handler_id: int | None, department_id: int | None, units: dict[int, list[int]]) -> list[int]:
    if handler_id:
        return [handler_id]
    return units.get(department_id, []) if department_id else []


def supervisors(rows: list[dict]) -> dict[int, list[int]]:
    """Demand pk → the supervisors' user ids, for rows with pk, area_path and level. Two queries in all."""
    wanted: set[int] = set()
    for row in rows:
        wanted.update(ancestor_area_ids(row["area_path"])[:3])
    by_node: dict[int, list[int]] = defaultdict(list)
    for pk, role, area_id in (
        _accounts().filter(role__in=SUPERVISOR_ROLE.values(), area_id__in=wanted).values_list("pk", "role", "area_id")
    ):
        by_node[(area_id, role)].append(pk)
    found = {}
    for row in rows:
        ids = ancestor_area_ids(row["area_path"])
        depth = min(SUPERVISOR_DEPTH.get(row["level"], 2), len(ids) - 1)
        people: list[int] = []
        while depth >= 0 and not people:
            people = by_node.get((ids[depth], SUPERVISOR_ROLE[depth]), [])
            depth -= 1
        found[row["pk"]] = people
    return found


# What the sweep reads per demand (no text: a digest names numbers; the one demand of a single
# notification is read again with its text).
DEADLINE_FIELDS = ("pk", "number", "handler_id", "department_id", "area_path", "level", "finish_due_at")
DIGEST_NUMBERS = 10  # numbers named in a digest's body


def grid_workers(rows: list[dict]) -> dict[int, list[int]]:
    """Demand pk → the grid workers of its grid, for grid-level demands nobody holds yet (小事不出网格:
    the grid's worker is the one who accepts them)."""
    grids = {
        row["pk"]: ancestor_area_ids(row["area_path"])[-1]
        for row in rows
        if not row["handler_id"] and not row["department_id"] and row["level"] == Level.GRID
    }
    by_grid: dict[int, list[int]] = defaultdict(list)
    if grids:
        workers = _accounts().filter(role=Role.GRID_WORKER, area_id__in=set(grids.values()))
        for pk, area_id in workers.values_list("pk", "area_id"):
            by_grid[area_id].append(pk)
    return {ticket: by_grid.get(grid, []) for ticket, grid in grids.items()}


def deadline_drafts(kind: str, rows: list[dict]) -> list[Draft]:
    """临期 / 超期 for the handler (or the unit's accounts, or the grid's worker for a grid demand nobody
    holds yet) and the supervisor of each demand in `rows` (ordered as they should be listed: the
    earliest deadline first). One notification per person: with one demand it names and links that
    demand; with more it is a digest ("您有 37 件诉求已超期", the first numbers) linking to the list
    filtered to 超期 / 临期 — 300 demands overdue overnight are one message, not 300."""
    units = department_accounts(row["department_id"] for row in rows if not row["handler_id"])
    workers = grid_workers(rows)
    bosses = supervisors(rows)
    mine: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        handlers = handler_ids(row["handler_id"], row["department_id"], units) or workers.get(row["pk"], [])
        for user_id in dict.fromkeys([*handlers, *bosses[row["pk"]]]):  # a supervisor who also handles: once
            mine[user_id].append(row)
    texts = _descriptions({found[0]["pk"] for found in mine.values() if len(found) == 1})
    overdue = kind == Kind.OVERDUE
    link = reverse("tickets:list") + "?" + urlencode({"due": "overdue" if overdue else "soon"})
    # Translated once per batch, not per person.
    one_title = _("诉求 %(number)s 已超期") if overdue else _("诉求 %(number)s 临近办结期限")
    one_body = _("办结期限 %(due)s：%(text)s")
    drafts = []
    for user_id, found in mine.items():
        first = found[0]
        if len(found) == 1:
            title = one_title % {"number": first["number"]}
            body = one_body % {"due": _due(first), "text": _excerpt(texts.get(first["pk"], ""))}
            drafts.append(Draft(user_id, kind, title, body, first["pk"]))
            continue
        n = len(found)
        if overdue:
            title = ngettext("您有 %(count)s 件诉求已超期", "您有 %(count)s 件诉求已超期", n) % {"count": n}
        else:
            title = ngettext("您有 %(count)s 件诉求临近办结期限", "您有 %(count)s 件诉求临近办结期限", n) % {"count": n}
        body = _("%(numbers)s；最早的办结期限 %(due)s") % {"numbers": _numbers(found), "due": _due(first)}
        drafts.append(Draft(user_id, kind, title, body, None, link))
    return drafts


def _due(row: dict) -> str:
    return _when(row["finish_due_at"])


def _descriptions(ids: set[int]) -> dict[int, str]:
    """The text of the demands told alone (at most one per person told)."""
    found: dict[int, str] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), 500):
        found.update(Ticket.objects.filter(pk__in=ordered[start : start + 500]).values_list("pk", "description"))
    return found


def deadline_notify(kind: str, rows: list[dict], *, now=None) -> int:
    return notify_many(deadline_drafts(kind, rows), now=now)


def whistle_late_drafts(rows: list[dict]) -> list[Draft]:
    """Call-ins (吹哨) past their check-in limit, `rows` as whistle_sweep reads them: each unit's accounts
    are asked to check in, and the demand's supervisor is told which unit is late. One message per
    person: a single call-in names and links its demand; several are a digest."""
    units = department_accounts(row["department_id"] for row in rows)
    bosses = supervisors([{"pk": row["ticket_id"], **row} for row in rows])
    mine: dict[int, list[dict]] = defaultdict(list)
    watching: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        for user_id in units.get(row["department_id"], []):
            mine[user_id].append(row)
        for user_id in bosses[row["ticket_id"]]:
            watching[user_id].append(row)
    drafts = []
    for user_id, found in mine.items():
        first, n = found[0], len(found)
        if n == 1:
            title = _("吹哨报到已超时：诉求 %(number)s") % {"number": first["number"]}
            body = _("应于 %(due)s 前报到，请尽快到场并报到。") % {"due": _when(first["check_in_due_at"])}
            drafts.append(Draft(user_id, Kind.OVERDUE, title, body, first["ticket_id"]))
        else:
            title = ngettext("贵单位有 %(count)s 件吹哨未按时报到", "贵单位有 %(count)s 件吹哨未按时报到", n) % {
                "count": n
            }
            drafts.append(Draft(user_id, Kind.OVERDUE, title, _numbers(found), None, reverse("tickets:list")))
    for user_id, found in watching.items():
        first, n = found[0], len(found)
        if n == 1:
            title = _("%(unit)s 未按时报到：诉求 %(number)s") % {
                "unit": first["department__name"],
                "number": first["number"],
            }
            body = _("应于 %(due)s 前报到。") % {"due": _when(first["check_in_due_at"])}
            drafts.append(Draft(user_id, Kind.OVERDUE, title, body, first["ticket_id"]))
        else:
            title = ngettext("%(count)s 个吹哨单位未按时报到", "%(count)s 个吹哨单位未按时报到", n) % {"count": n}
            body = "；".join(f"{row['department__name']} {row['number']}" for row in found[:DIGEST_NUMBERS])
            drafts.append(Draft(user_id, Kind.OVERDUE, title, body, None, reverse("tickets:list")))
    return drafts


def _when(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def _numbers(rows: list[dict]) -> str:
    numbers = "、".join(row["number"] for row in rows[:DIGEST_NUMBERS])
    return _("%(numbers)s 等") % {"numbers": numbers} if len(rows) > DIGEST_NUMBERS else numbers


def whistle_late_notify(rows: list[dict], *, now=None) -> int:
    return notify_many(whistle_late_drafts(rows), now=now)


def _actor_id(actor) -> int | None:
    return getattr(actor, "pk", None)


def step_notify(
    ticket: Ticket, action: str, actor, *, note: str = "", whistled: Iterable[int] = (), merged: list[Ticket] = ()
) -> int:
    """After a step: dispatch and reroute tell the new handler, whistle the units called in, handle
    and close the reporters (of this demand and of those merged into it)."""
    me = _actor_id(actor)
    drafts: list[Draft] = []
    text = _excerpt(ticket.description)
    if action in ("dispatch", "reroute"):
        units = department_accounts([ticket.department_id])
        title = _("新派单：诉求 %(number)s") % {"number": ticket.number}
        for user_id in handler_ids(ticket.handler_id, ticket.department_id, units):
            drafts.append(Draft(user_id, Kind.DISPATCHED, title, text, ticket.pk))
    elif action == "whistle":
        units = department_accounts(whistled)
        title = _("吹哨报到：诉求 %(number)s") % {"number": ticket.number}
        for dept in whistled:
            drafts += [Draft(user_id, Kind.WHISTLED, title, note or text, ticket.pk) for user_id in units.get(dept, [])]
    elif action in ("handle", "close"):
        kind = Kind.HANDLED if action == "handle" else Kind.CLOSED
        drafts += _result_drafts(ticket, kind, note, merged)
    return notify_many(d for d in drafts if d.recipient_id != me)


def merged_chain(ticket: Ticket) -> list[Ticket]:
    """The demands merged into this one, and into those, and so on (a merge of a merge)."""
    found: list[Ticket] = []
    frontier = [ticket.pk]
    seen = {ticket.pk}
    while frontier:
        children = list(
            Ticket.objects.filter(merged_into_id__in=frontier).exclude(pk__in=seen).select_related("created_by")
        )
        found += children
        frontier = [t.pk for t in children]
        seen.update(frontier)
    return found


def _result_drafts(ticket: Ticket, kind: str, note: str, merged: list[Ticket]) -> list[Draft]:
    drafts = []
    for t in [ticket, *merged]:
        reporter = t.created_by
        if reporter is None or reporter.role not in REPORTER_ROLES or not reporter.is_active:
            continue
        if t.pk == ticket.pk:
            title = _("您上报的诉求 %(number)s 已办结") if kind == Kind.HANDLED else _("您上报的诉求 %(number)s 已销号")
            title %= {"number": t.number}
        else:
            title = (
                _("您上报的诉求 %(number)s（已并入 %(main)s）已办结")
                if kind == Kind.HANDLED
                else _("您上报的诉求 %(number)s（已并入 %(main)s）已销号")
            ) % {"number": t.number, "main": ticket.number}
        drafts.append(Draft(reporter.pk, kind, title, note or _excerpt(t.description), t.pk))
    return drafts
