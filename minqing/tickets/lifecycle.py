"""The one state machine of a demand (诉求): which step may follow which, and who may take it.

Every page, API call and background sweep asks `check()` before a step; the services then write the
new state and one event. The table below is the whole lifecycle; docs/tickets-lifecycle.md draws it
(a test keeps the drawing and the table the same)."""

import datetime
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from minqing.accounts.roles import Role
from minqing.core.errors import ApplicationError


class Status(models.TextChoices):
    REGISTERED = "registered", _("已登记")
    ACCEPTED = "accepted", _("已受理")
    DISPATCHED = "dispatched", _("已派单")
    IN_PROGRESS = "in_progress", _("办理中")
    HANDLED = "handled", _("已办结")
    CLOSED = "closed", _("已销号")
    EVALUATED = "evaluated", _("已评价")
    RETURNED = "returned", _("已退单")
    ESCALATED = "escalated", _("已上报")
    WHISTLED = "whistled", _("吹哨报到中")
    SUSPENDED = "suspended", _("已挂起")
    MERGED = "merged", _("已合并")
    REJECTED = "rejected", _("不予受理")
    REOPENED = "reopened", _("已重办")


# States in which a demand is still someone's work (the clock runs, except while suspended).
OPEN_STATES = frozenset(
    {
        Status.REGISTERED,
        Status.ACCEPTED,
        Status.DISPATCHED,
        Status.IN_PROGRESS,
        Status.RETURNED,
        Status.ESCALATED,
        Status.WHISTLED,
        Status.SUSPENDED,
        Status.REOPENED,
    }
)
FINAL_STATES = frozenset({Status.EVALUATED, Status.MERGED, Status.REJECTED})
# States in which the finish deadline runs: someone's work and not suspended (handled demands wait for
# 销号, the community's step, not the handler's lateness). Sorted: the same SQL every time.
RUNNING_STATES = tuple(sorted(OPEN_STATES - {Status.SUSPENDED}))
# How close to its finish deadline a demand is 临期.
DUE_SOON = datetime.timedelta(hours=24)

# Who acts on a demand. "resident" has no account: the portal acts for them after checking the number
# and phone; "system" is the background sweep and the rating rule (不满意 within 7 days reopens).
RESIDENT = "resident"
SYSTEM = "system"
STAFF = frozenset({Role.COMMUNITY_STAFF, Role.COMMUNITY_ADMIN, Role.SUBDISTRICT_STAFF, Role.DISTRICT_STAFF})
HANDLERS = frozenset({Role.GRID_WORKER, Role.DEPARTMENT}) | STAFF
REPORTERS = frozenset({Role.GRID_WORKER, Role.LIAISON, Role.BUILDING_HEAD}) | STAFF

# Where "resume" goes: back to the state the demand was suspended in.
PREVIOUS = "previous"


@dataclass(frozen=True)
class Action:
    code: str
    label: str
    sources: frozenset[str]
    target: str | None  # None: the state stays (a progress note, a check-in); PREVIOUS: back
    actors: frozenset[str]
    needs_note: bool = False  # a reason the resident or the next handler must be able to read
    public: bool = True  # shown to the resident on the portal


def _a(code, label, sources, target, actors, *, needs_note=False, public=True) -> Action:
    return Action(code, label, frozenset(sources), target, frozenset(actors), needs_note, public)


S = Status
ACTIONS: dict[str, Action] = {
    a.code: a
    for a in [
        _a("accept", _("受理"), {S.REGISTERED, S.ESCALATED, S.RETURNED, S.REOPENED}, S.ACCEPTED,
           {Role.GRID_WORKER} | STAFF),
        _a("dispatch", _("派单"), {S.ACCEPTED, S.RETURNED}, S.DISPATCHED, STAFF),
        _a("start", _("签收办理"), {S.DISPATCHED}, S.IN_PROGRESS, {Role.GRID_WORKER, Role.DEPARTMENT}),
        _a("progress", _("反馈进展"), {S.IN_PROGRESS, S.WHISTLED}, None, HANDLERS, needs_note=True),
        _a("handle", _("办结"), {S.ACCEPTED, S.IN_PROGRESS, S.WHISTLED}, S.HANDLED, HANDLERS, needs_note=True),
        _a("return", _("退单"), {S.DISPATCHED, S.IN_PROGRESS}, S.RETURNED, {Role.DEPARTMENT, Role.GRID_WORKER},
           needs_note=True),
        _a("escalate", _("上报"), {S.REGISTERED, S.ACCEPTED, S.RETURNED, S.IN_PROGRESS, S.REOPENED}, S.ESCALATED,
           {Role.GRID_WORKER, Role.COMMUNITY_STAFF, Role.COMMUNITY_ADMIN, Role.SUBDISTRICT_STAFF}, needs_note=True),
        _a("whistle", _("吹哨"), {S.ACCEPTED, S.IN_PROGRESS, S.RETURNED}, S.WHISTLED, STAFF, needs_note=True),
        _a("check_in", _("报到"), {S.WHISTLED}, None, {Role.DEPARTMENT}),
        _a("suspend", _("挂起"), {S.ACCEPTED, S.DISPATCHED, S.IN_PROGRESS, S.WHISTLED}, S.SUSPENDED, STAFF,
           needs_note=True),
        _a("resume", _("恢复办理"), {S.SUSPENDED}, PREVIOUS, STAFF),
        _a("merge", _("合并"), {S.REGISTERED, S.ACCEPTED}, S.MERGED, STAFF, needs_note=True),
        _a("reject", _("不予受理"), {S.REGISTERED, S.ACCEPTED}, S.REJECTED, STAFF, needs_note=True),
        _a("close", _("销号"), {S.HANDLED}, S.CLOSED, STAFF),
        _a("evaluate", _("评价"), {S.CLOSED}, S.EVALUATED, {RESIDENT} | STAFF),
        _a("reopen", _("重办"), {S.CLOSED, S.EVALUATED}, S.REOPENED, {RESIDENT, SYSTEM} | STAFF, needs_note=True),
        # Correcting a misrouted demand (docs: "Correcting the route"). A re-categorisation keeps the
        # state. A reroute sends a demand that a unit already holds (or handed back) straight to the
        # right one, which must sign for it again (签收): the clerk picks the unit once, rather than
        # taking it back to 已受理 and dispatching it in a second step.
        _a("recategorise", _("改分类"), OPEN_STATES, None, STAFF, needs_note=True, public=False),
        _a("reroute", _("改派"), {S.DISPATCHED, S.IN_PROGRESS, S.RETURNED}, S.DISPATCHED, STAFF, needs_note=True),
        _a("note", _("内部备注"), OPEN_STATES | {S.HANDLED}, None, HANDLERS | REPORTERS, needs_note=True,
           public=False),
    ]
}  # fmt: skip

# Events that are not steps of the table: the registration itself and what the system records.
OTHER_EVENTS = {
    "register": _("登记"),
    "due_soon": _("临期"),
    "overdue": _("超期"),
    "recount": _("期限重算"),
}


def event_label(code: str) -> str:
    action = ACTIONS.get(code)
    return str(action.label if action is not None else OTHER_EVENTS.get(code, code))


class TransitionError(ApplicationError):
    status = 409
    code = "transition_not_allowed"


def actor_kind(actor) -> str:
    """The role the table knows an actor by: a user's role, or RESIDENT / SYSTEM."""
    if isinstance(actor, str):
        return actor
    return actor.role


def check(status: str, action_code: str, actor, *, note: str = "") -> Action:
    """The action if `actor` may take it from `status`; otherwise a TransitionError that says why and
    what would be possible, and nothing changes."""
    action = ACTIONS.get(action_code)
    if action is None:
        raise TransitionError(_("没有“%(action)s”这一步。") % {"action": action_code}, field="action")
    if status not in action.sources:
        raise TransitionError(
            _("诉求当前为“%(status)s”，不能%(action)s。") % {"status": Status(status).label, "action": action.label},
            field="action",
        )
    if actor_kind(actor) not in action.actors:
        raise TransitionError(
            _("当前角色不能对诉求执行“%(action)s”。") % {"action": action.label}, field="action", code="forbidden"
        )
    if action.needs_note and not (note or "").strip():
        raise TransitionError(
            _("“%(action)s”须填写说明。") % {"action": action.label}, field="note", code="note_required"
        )
    return action


def available(status: str, actor) -> list[Action]:
    """The steps an actor may take now: the buttons a page shows."""
    kind = actor_kind(actor)
    return [a for a in ACTIONS.values() if status in a.sources and kind in a.actors]


def mermaid() -> str:
    """The lifecycle as a Mermaid state diagram, from the table itself."""
    lines = ["stateDiagram-v2", "    [*] --> registered"]
    for action in ACTIONS.values():
        if action.target is None:
            continue
        for source in sorted(action.sources):
            target = "previous" if action.target == PREVIOUS else action.target
            if target == "previous":
                continue
            lines.append(f"    {source} --> {target}: {action.code}")
    lines.append("    suspended --> accepted: resume (to the state it was suspended in)")
    for final in sorted(FINAL_STATES):
        lines.append(f"    {final} --> [*]")
    return "\n".join(lines)


def docs() -> str:
    """docs/tickets-lifecycle.md, rendered from the table (a test keeps the file in step)."""
    role_names = {str(r): str(r.label) for r in Role} | {RESIDENT: "居民（门户）", SYSTEM: "系统"}
    out = [
        "# The demand lifecycle (诉求流转)",
        "",
        "Rendered from `minqing/tickets/lifecycle.py` (`ACTIONS`), the one table that every page, API call",
        "and sweep asks before a step. `minqing/tickets/tests/test_lifecycle.py` fails when this file and",
        "the table differ; regenerate with",
        '`DJANGO_SETTINGS_MODULE=minqing.settings .venv/bin/python -c "import django; django.setup(); '
        "from minqing.tickets.lifecycle import docs; open('docs/tickets-lifecycle.md', 'w').write(docs())\"`.",
        "",
        "```mermaid",
        mermaid(),
        "```",
        "",
        "| step | code | from | to | who | note required | shown to the resident |",
        "|---|---|---|---|---|---|---|",
    ]
    for a in ACTIONS.values():
        target = (
            "(unchanged)" if a.target is None else ("(state before suspension)" if a.target == PREVIOUS else a.target)
        )
        who = "、".join(role_names.get(r, r) for r in sorted(a.actors))
        out.append(
            f"| {a.label} | `{a.code}` | {', '.join(sorted(a.sources))} | {target} | {who} | "
            f"{'yes' if a.needs_note else 'no'} | {'yes' if a.public else 'no'} |"
        )
    out += ["", "States: " + ", ".join(f"`{s.value}` {s.label}" for s in Status) + "."]
    out += _correction_docs()
    return "\n".join(out) + "\n"


def _correction_docs() -> list[str]:
    from minqing.tickets import routing  # routing builds on the models, which build on this module

    def word(flag: bool) -> str:
        return "restarted from the step" if flag else "not restarted"

    return [
        "",
        "## Correcting the route (改分类 / 改派)",
        "",
        "Where a demand goes by default: `routing.route_for(category, area)`: the CategoryRoute of the",
        "nearest area above the demand's place (grid over community over subdistrict over district), then the",
        "category's default unit; if neither is set, the same for the parent category, and so on up.",
        "",
        "- `recategorise` (改分类, staff, reason required, any open state, state unchanged): the category",
        "  changes; while nobody holds the demand (registered, accepted, escalated, returned, and no grid",
        "  worker on it) its unit follows the new category's route. Finish deadline by default "
        f"{word(routing.RESTART_ON_RECATEGORISE)}:",
        "  it is counted again from the original receipt with the new category's limits (the kind of demand",
        "  decides how long the resident may wait; a misfiling does not buy time). A moved deadline loses the",
        "  allowance of an earlier suspension.",
        "- `reroute` (改派, staff, reason required, from dispatched / in progress / returned, to dispatched):",
        "  another unit or grid worker takes it and signs for it again. Finish deadline by default "
        f"{word(routing.RESTART_ON_REROUTE)}:",
        "  misrouting is not the new handler's fault, so it gets the category's full time from the reroute.",
        "- Both take `restart_deadline` to override the default; the event's `data` keeps the old and the new",
        "  category, unit, handler and finish deadline, and which rule was applied. `received_at` and the",
        "  acceptance deadline never move, so 及时受理率 counts from when the resident was first heard. A",
        "  deadline moved into the future clears the 临期/超期 marks, so the new handler is warned in time;",
        "  the cleared marks become internal system events first, so the timeline keeps them. (The sweep",
        "  writes no event per demand: the timeline shows a demand's current marks from `warned_at` /",
        "  `overdue_at` as internal system entries at their time.)",
        "- `recount` (期限重算, system): a finish deadline counted over a year whose holiday schedule is not",
        "  yet known is marked 临时 (weekends and the statutory holidays alone). When district staff enter",
        "  a day or confirm the year on /workdays/, a background task counts every 临时 deadline again on",
        "  the calendar as entered (the same working days after the same day); a moved one is this event.",
        "",
        "## Who is told (站内消息, /inbox/)",
        "",
        "- dispatch and reroute: the grid worker it goes to, or every active account of the unit;",
        "  whistle: every active account of each unit called in;",
        "- the sweep's 临期 and 超期, once per demand each: the handler (or the unit's accounts; for a",
        "  grid-level demand nobody holds yet, the grid's workers) and the",
        "  supervisor by the level the demand is worked at: grid or community level → the community's",
        "  书记/主任 (community_admin); subdistrict level → the subdistrict's staff; district level → the",
        "  district's staff (12345 centre); a level with no active account passes it to the next one up.",
        "  One message per person and kind per sweep: with one demand it names and links that demand; with",
        '  more, a digest ("您有 37 件诉求已超期", the first 10 numbers, the earliest deadline first)',
        "  linking to the list filtered to 超期 / 临期 (`/tickets/?due=overdue`);",
        "- handle and close: the grid worker, liaison or building head who reported it, and the reporters of",
        "  the demands merged into it; each merged demand also gets a public `merged_result` step.",
    ]
