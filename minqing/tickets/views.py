"""Pages of the demands (诉求清单账): intake, the queues and the list, a demand with its timeline and the
form of each step, bulk steps, and the 常用回复 a community keeps.

Reads go through tickets.selectors (scope), writes through one service call; which steps a user may
take comes from lifecycle.available(), the same table the services check. Out of scope is NotFound."""

import datetime
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts.roles import Capability, has_capability
from minqing.areas import selectors as places
from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.forms import form_error, form_page
from minqing.core.pagination import paginate
from minqing.registry import selectors as registry
from minqing.tickets import duplicates, lifecycle, replies, selectors, services
from minqing.tickets.bulk import ticket_bulk_act
from minqing.tickets.forms import BulkForm, IntakeForm, ListFilterForm, ReplyTemplateForm, StepForm
from minqing.tickets.models import Category, Channel, Level, Ticket
from minqing.visits import selectors as visit_selectors

PER_PAGE = 30
RESIDENT_HITS = 20
# Above this many dwellings in scope the dwelling list waits for a building (a liaison's ~16 show at once).
DWELLINGS_AT_ONCE = 40
_FILTER_KEYS = ("status", "due", "category", "channel", "urgency", "received_from", "received_to", "department",
                "handler")  # fmt: skip


def _posted(request):
    return request.POST if request.method == "POST" else None


def _files(request):
    return request.FILES if request.method == "POST" else None


def _categories():
    return list(Category.objects.filter(retired_at__isnull=True).order_by("order", "pk"))


def ticket_url(ticket) -> str:
    return reverse("tickets:detail", args=[ticket.number])


def reporter_page(view):
    """Pages that register demands: the roles the lifecycle lets report."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.role not in lifecycle.REPORTERS:
            raise PermissionDenied()
        return view(request, *args, **kwargs)

    return wrapper


# Intake ------------------------------------------------------------------------------------------


def _intake_form(request, data=None, initial=None, files=None) -> IntakeForm:
    user = request.user
    source = data if data is not None else (initial or {})
    areas = list(places.areas_visible_to(user).filter(level__in=["grid", "community"]).order_by("path"))
    buildings = places.buildings_visible_to(user).order_by("estate__name", "name")
    dwellings = places.dwellings_visible_to(user).select_related("building__estate", "unit")
    building = source.get("building")
    if building and str(building).isdigit():
        dwellings = dwellings.filter(building_id=building)
    elif dwellings.count() > DWELLINGS_AT_ONCE:
        dwellings = dwellings.none()
    dwellings = dwellings.order_by("building__estate__name", "building__name", "unit__name", "room")
    hits = []
    q = (source.get("reporter_q") or "").strip()
    if q:
        hits = list(
            registry.search_residents(user, registry.ResidentFilters(q=q)).select_related(
                "dwelling__building__estate", "dwelling__unit"
            )[:RESIDENT_HITS]
        )
    chosen = source.get("reporter_resident")
    if chosen and str(chosen).isdigit() and all(r.pk != int(chosen) for r in hits):
        hits += list(registry.residents_visible_to(user).filter(pk=chosen).select_related("dwelling__building__estate"))
    return IntakeForm(
        data,
        files,
        initial=initial,
        user=user,
        categories=_categories(),
        areas=areas,
        buildings=list(buildings),
        dwellings=list(dwellings),
        residents=registry.residents_visible_to(user),
        resident_hits=hits,
    )


@reporter_page
@require_http_methods(["GET", "POST"])
def ticket_create(request):
    """登记诉求. A POST with _refresh re-renders the form (the building chosen, the reporter searched)
    and stores nothing."""
    user = request.user
    if request.method == "POST" and request.POST.get("_refresh") == "1":
        form = _intake_form(request, initial=request.POST.dict())
    elif request.method == "POST":
        form = _intake_form(request, data=request.POST, files=request.FILES)
        if form.is_valid():
            try:
                ticket = services.ticket_create(actor=user, request=request, **form.service_data())
            except (NotFound, PermissionDenied):
                raise
            except ApplicationError as exc:
                form_error(form, exc)
            else:
                messages.success(request, _("已登记，编号 %(number)s。") % {"number": ticket.number})
                return redirect(ticket_url(ticket))
    else:
        form = _intake_form(request, initial={"area": user.area_id} if user.area_id else {})
    return render(request, "tickets/intake.html", {"form": form}, status=400 if form.errors else 200)


# The queues and the list ---------------------------------------------------------------------------


@login_required
@require_GET
def ticket_list(request):
    user = request.user
    has_queue = selectors.has_queue(user)
    tab = request.GET.get("tab") or ("mine" if has_queue else "all")
    if tab not in ("mine", "all") or (tab == "mine" and not has_queue):
        tab = "all"
    departments, handlers = selectors.queue_owners(user)
    departments, handlers = list(departments), list(handlers)
    form = ListFilterForm(request.GET, categories=_categories(), departments=departments, handlers=handlers)
    page = None
    now = timezone.now()
    if form.is_valid():
        qs = selectors.ticket_queue(user) if tab == "mine" else selectors.ticket_list(user)
        qs = selectors.filter_tickets(qs, form.filters(), now=now)
        qs = qs.order_by("finish_due_at", "pk") if tab == "mine" else qs.order_by("-received_at", "-pk")
        page = paginate(request, qs, per_page=PER_PAGE, cap=selectors.LIST_COUNT_CAP)
        for ticket in page.object_list:
            ticket.due_state = selectors.due_state(ticket, now)
    can_bulk = user.role in lifecycle.STAFF
    context = {
        "tab": tab,
        "has_queue": has_queue,
        "form": form,
        "page": page,
        "filtered": any(request.GET.get(k) for k in _FILTER_KEYS),
        "can_report": user.role in lifecycle.REPORTERS,
        "can_bulk": can_bulk,
        "bulk_form": BulkForm(departments=departments) if can_bulk else None,
        "can_manage_replies": has_capability(user, Capability.MANAGE_REPLIES),
        "query": request.GET.urlencode(),
    }
    return render(request, "tickets/list.html", context)


@login_required
@require_POST
def ticket_bulk(request):
    """Several demands, one step each (accept, dispatch or close); the results one by one."""
    user = request.user
    if user.role not in lifecycle.STAFF:
        raise PermissionDenied()
    departments, _handlers = selectors.queue_owners(user)
    form = BulkForm(request.POST, departments=list(departments))
    results, error = [], ""
    if form.is_valid():
        data = form.cleaned_data
        params = {"department": data["department"]} if data["action"] == "dispatch" else {}
        try:
            results = ticket_bulk_act(
                actor=user,
                numbers=request.POST.getlist("numbers"),
                action=data["action"],
                note=data["note"],
                request=request,
                **params,
            )
        except ApplicationError as exc:
            error = str(exc.message)
    else:
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
    context = {
        "results": results,
        "error": error,
        "done": sum(r.ok for r in results),
        "failed": sum(not r.ok for r in results),
        "action_label": dict(form.fields["action"].choices).get(request.POST.get("action"), ""),
        "back": reverse("tickets:list") + (f"?{request.GET.urlencode()}" if request.GET else ""),
    }
    return render(request, "tickets/bulk_result.html", context, status=400 if error else 200)


# One demand --------------------------------------------------------------------------------------


def _reporter(ticket: Ticket) -> dict:
    phone = ticket.reporter_phone
    return {
        "resident": ticket.reporter_resident,
        "name": ticket.reporter_resident.name if ticket.reporter_resident_id else ticket.reporter_name,
        "phone_masked": Ticket._meta.get_field("reporter_phone").masked(phone) if phone else "",
    }


@login_required
@require_GET
def ticket_detail(request, number):
    user = request.user
    data = selectors.ticket_page(user, number)
    ticket = data.ticket
    now = timezone.now()
    for event in data.events:
        event.label = lifecycle.event_label(event.action)
        event.who = event.actor.display_name if event.actor_id else event.actor_label
        if event.actor_id and event.actor_label:
            event.who = f"{event.actor_label} · {event.who}"
        if event.action == "reroute":
            event.route_from, event.route_to = (
                (event.data.get(f"{side}_department") or event.data.get(f"{side}_handler") or {}).get("name", "")
                for side in ("from", "to")
            )
        if event.data.get("to_finish_due_at"):  # a routing correction moved the deadline
            event.new_due = datetime.datetime.fromisoformat(event.data["to_finish_due_at"])
    for whistle in data.whistles:
        whistle.late = whistle.checked_in_at is None and whistle.check_in_due_at < now
    if ticket.reporter_resident_id:
        ticket.reporter_resident = registry.residents_visible_to(user).filter(pk=ticket.reporter_resident_id).first()
    steps = lifecycle.available(ticket.status, user)
    similar = []
    if any(step.code == "merge" for step in steps):  # only where staff could merge it now
        similar = duplicates.similar_open_tickets(
            user,
            text=ticket.description,
            dwelling=ticket.dwelling_id,
            building=ticket.building_id,
            area=ticket.area_id,
            exclude=ticket.pk,
        )
    context = {
        "ticket": ticket,
        "events": data.events,
        "whistles": data.whistles,
        "merged": data.merged,
        "reporter": _reporter(ticket),
        "due_state": selectors.due_state(ticket, now),
        "level_label": Level(ticket.level).label if ticket.level in Level.values else ticket.level,
        "rating_label": services.RATINGS.get(ticket.rating, ticket.rating),
        "steps": steps,
        "similar": similar,
        # Only a demand made on a visit can come from one: no query for the others.
        "from_visit": visit_selectors.visit_from_demand(user, ticket) if ticket.channel == Channel.VISIT else None,
        "can_view_residents": has_capability(user, Capability.VIEW_RESIDENTS),
    }
    return render(request, "tickets/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def ticket_step(request, number, action):
    """One step's form; the step itself is services.ticket_act, whose refusal (a TransitionError)
    is shown on the form and changes nothing."""
    user = request.user
    ticket = selectors.access_ticket(user, number)
    step = lifecycle.ACTIONS.get(action)
    if step is None:
        raise NotFound()
    departments, handlers = selectors.queue_owners(user)
    form = StepForm(
        _posted(request),
        _files(request),
        action=step,
        departments=list(departments),
        handlers=list(handlers),
        categories=_categories() if action == "recategorise" else (),
        initial={"into": request.GET.get("into", "")},  # 合并到此件 from the duplicate suggestions
    )
    blocked = ""
    if request.method == "GET":
        try:
            lifecycle.check(ticket.status, action, user, note="-")
        except lifecycle.TransitionError as exc:
            blocked = str(exc.message)

    def save(data):
        services.ticket_act(
            actor=user, number=ticket.number, action=action, note=data["note"], request=request, **form.params()
        )
        return ticket_url(ticket)

    return form_page(
        request,
        form=form,
        template="tickets/step.html",
        title=_("%(step)s：%(number)s") % {"step": step.label, "number": ticket.number},
        back_url=ticket_url(ticket),
        submit=str(step.label),
        save=save,
        success=_("已%(step)s。") % {"step": step.label},
        extra={
            "ticket": ticket,
            "step": step,
            "blocked": blocked,
            "replies": replies.replies_for_step(user, ticket=ticket, action=action),
        },
    )


# 常用回复 -------------------------------------------------------------------------------------------


def _replies_page(request, *, form, status=200):
    user = request.user
    community = replies.managed_community(user)
    rows = list(replies.replies_visible_to(user).order_by("-community_id", "retired_at", "title", "pk"))
    context = {
        "community": community,
        "own": [r for r in rows if r.community_id == (community.pk if community else None)],
        "shared": [r for r in rows if community is not None and r.community_id is None],
        "form": form,
    }
    return render(request, "tickets/replies.html", context, status=status)


@login_required
@require_GET
def reply_list(request):
    return _replies_page(request, form=ReplyTemplateForm())


@login_required
@require_POST
def reply_create(request):
    form = ReplyTemplateForm(request.POST)
    replies.managed_community(request.user)  # 403 before anything is read
    if form.is_valid():
        try:
            reply = replies.reply_template_create(actor=request.user, request=request, **form.cleaned_data)
        except (NotFound, PermissionDenied):
            raise
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            messages.success(request, _("已添加常用回复“%(title)s”。") % {"title": reply.title})
            return redirect("tickets:replies")
    return _replies_page(request, form=form, status=400)


@login_required
@require_POST
def reply_retire(request, pk):
    reply = replies.reply_template_retire(actor=request.user, reply=pk, request=request)
    messages.success(request, _("已停用常用回复“%(title)s”。") % {"title": reply.title})
    return redirect("tickets:replies")
