"""The residents' public portal (no account): file a demand, follow it by number and the last four
digits of the phone, see its public steps and photos, and rate it after 销号.

Who may read a demand here is decided once, when the number and digits match: the session then holds
the number (ACCESS_KEY) and every page of that demand checks it. Writes go through the tickets
services with actor None (intake) or lifecycle.RESIDENT (rating)."""

import time

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.core.errors import ApplicationError, NotFound
from minqing.core.forms import form_error
from minqing.core.photos import photo_file
from minqing.portal import challenge, ratelimit, selectors
from minqing.portal.forms import FileForm, FollowForm, RateForm
from minqing.registry.cleaning import clean_phone
from minqing.tickets import lifecycle, services
from minqing.tickets.lifecycle import Status
from minqing.tickets.models import Channel, Ticket

ACCESS_KEY = "portal_access"
ACCESS_TTL = 2 * 60 * 60  # seconds a matched number stays open in this browser
FILED_KEY = "portal_filed"

HOUR, TEN_MINUTES = 60 * 60, 10 * 60
FILINGS_PER_IP = 5  # per hour
FILINGS_PER_PHONE = 5  # per hour
ATTEMPTS_PER_IP = 30  # filing posts per hour, right or wrong: what a robot guessing the sum spends
FOLLOW_TRIES = 10  # per ten minutes, per IP and per number


def _limited(request, message: str):
    return render(request, "portal/limited.html", {"message": message}, status=429)


def _grant(request, number: str) -> None:
    granted = {n: at for n, at in request.session.get(ACCESS_KEY, {}).items() if time.time() - at < ACCESS_TTL}
    granted[number] = time.time()
    request.session[ACCESS_KEY] = granted


def _granted_ticket(request, number: str):
    """The demand if this browser matched its number and digits lately; otherwise None."""
    at = request.session.get(ACCESS_KEY, {}).get(number)
    if at is None or time.time() - at >= ACCESS_TTL:
        return None
    return Ticket.objects.select_related("category", "merged_into").filter(number=number).first()


@require_GET
def home(request):
    return render(request, "portal/home.html")


@never_cache
@require_http_methods(["GET", "POST"])
def file_demand(request):
    ip = ratelimit.client_ip(request)
    if request.method == "POST":
        if ratelimit.is_limited("file_ip", ip, limit=FILINGS_PER_IP, window=HOUR) or ratelimit.is_limited(
            "attempt_ip", ip, limit=ATTEMPTS_PER_IP, window=HOUR
        ):
            return _limited(request, _("提交过于频繁，请一小时后再试。情况紧急请直接拨打社区电话或 12345。"))
        ratelimit.hit("attempt_ip", ip, window=HOUR)
        form = FileForm(request.POST, request.FILES)
        token = request.POST.get("token", "")
        if request.POST.get("website"):
            # A robot filled the field people cannot see: spend the challenge, store nothing, say little.
            challenge.challenge_discard(request, token)
            return _file_page(request, FileForm(), status=400, notice=_("提交未成功，请重新填写。"))
        try:
            challenge.challenge_check(request, token, request.POST.get("answer", ""))
        except ApplicationError as exc:
            form.is_valid()
            form_error(form, exc)
            return _file_page(request, form, status=400)
        if form.is_valid():
            data = form.cleaned_data
            _phone, phone_hash = clean_phone(data["phone"])
            if ratelimit.is_limited("file_phone", phone_hash, limit=FILINGS_PER_PHONE, window=HOUR):
                return _limited(request, _("该手机号提交过于频繁，请一小时后再试。"))
            description, place = data["description"].strip(), data["place_text"].strip()
            if place:
                description = _("【地点】%(place)s\n%(text)s") % {"place": place, "text": description}
            try:
                ticket = services.ticket_create(
                    actor=None,
                    category=data["category"],
                    channel=Channel.PORTAL,
                    description=description,
                    area=data["community"].pk,
                    building=data["building"].pk if data["building"] else None,
                    reporter_name=data["name"],
                    reporter_phone=data["phone"],
                    photos=data["photos"],
                    request=request,
                )
            except ApplicationError as exc:
                form_error(form, exc)
            else:
                ratelimit.hit("file_ip", ip, window=HOUR)
                ratelimit.hit("file_phone", phone_hash, window=HOUR)
                _grant(request, ticket.number)
                request.session[FILED_KEY] = ticket.number
                return redirect("portal:filed")
        return _file_page(request, form, status=400)
    return _file_page(request, FileForm())


def _file_page(request, form, *, status=200, notice=""):
    token = challenge.challenge_new(request)
    form.data = form.data.copy() if form.is_bound else form.data
    if form.is_bound:
        form.data["answer"] = ""
    context = {
        "form": form,
        "token": token,
        "challenge_url": reverse("portal:challenge", args=[token]),
        "notice": notice,
    }
    return render(request, "portal/file.html", context, status=status)


@never_cache
@require_GET
def buildings(request):
    """The building <select> for the chosen community (an HTMX swap)."""
    form = FileForm(initial={"community": request.GET.get("community")})
    community = request.GET.get("community", "")
    if community.isdigit():
        form.fields["building"].queryset = selectors.portal_buildings(int(community))
    return render(request, "portal/_buildings.html", {"field": form["building"]})


@never_cache
@require_GET
def challenge_png(request, token: str):
    content = challenge.challenge_image(request, token)
    if content is None:
        raise Http404
    return HttpResponse(content, content_type="image/png")


@never_cache
@require_GET
def filed(request):
    number = request.session.get(FILED_KEY)
    if not number or _granted_ticket(request, number) is None:
        return redirect("portal:follow")
    return render(request, "portal/filed.html", {"number": number})


@never_cache
@require_http_methods(["GET", "POST"])
def follow(request):
    form = FollowForm(request.POST or None, initial={"number": request.GET.get("number", "")})
    if request.method == "POST" and form.is_valid():
        ip = ratelimit.client_ip(request)
        number = form.cleaned_data["number"].strip().upper()
        if ratelimit.is_limited("follow_ip", ip, limit=FOLLOW_TRIES, window=TEN_MINUTES) or ratelimit.is_limited(
            "follow_number", number, limit=FOLLOW_TRIES, window=TEN_MINUTES
        ):
            return _limited(request, _("查询次数过多，请十分钟后再试。"))
        ratelimit.hit("follow_ip", ip, window=TEN_MINUTES)
        ratelimit.hit("follow_number", number, window=TEN_MINUTES)
        ticket = selectors.ticket_for_reporter(number, form.cleaned_data["last4"])
        if ticket is not None:
            _grant(request, ticket.number)
            return redirect("portal:ticket", number=ticket.number)
        # One message for an unknown number and a wrong phone: neither tells a guesser anything.
        form.add_error(None, _("诉求编号或手机号后四位不正确。"))
    return render(request, "portal/follow.html", {"form": form}, status=400 if form.errors else 200)


def _steps(ticket, *, photos: bool = True) -> list[dict]:
    steps = []
    for event in selectors.public_events(ticket):
        if event.actor_label:
            who = event.actor_label
        elif event.actor is not None:
            # A role, never a person's name: residents see who acted as 社区工作者, not 王静.
            who = event.actor.department.name if event.actor.department_id else event.actor.get_role_display()
        else:
            who = ""
        steps.append(
            {
                "at": event.at,
                "label": lifecycle.event_label(event.action),
                "who": who,
                "note": event.note,
                "department": (event.data or {}).get("department") or "",
                "rating": services.RATINGS.get((event.data or {}).get("rating"), ""),
                "status": Status(event.to_status).label if event.to_status else "",
                "photos": list(event.attachments.all()) if photos else [],
            }
        )
    return steps


@never_cache
@require_GET
def ticket_detail(request, number: str):
    ticket = _granted_ticket(request, number)
    if ticket is None:
        return redirect(f"{reverse('portal:follow')}?number={number}")
    into = ticket.merged_into if ticket.status == Status.MERGED else None
    context = {
        "ticket": ticket,
        "status": Status(ticket.status).label,
        "steps": _steps(ticket),
        "into": into,
        "into_status": Status(into.status).label if into else "",
        # The other demand's progress and result, not its photos: those are its own reporter's.
        "into_steps": _steps(into, photos=False) if into else [],
        "rating": services.RATINGS.get(ticket.rating, ""),
        "rate_form": RateForm() if ticket.status == Status.CLOSED else None,
    }
    return render(request, "portal/ticket.html", context)


@never_cache
@require_POST
def rate(request, number: str):
    ticket = _granted_ticket(request, number)
    if ticket is None:
        return redirect(f"{reverse('portal:follow')}?number={number}")
    form = RateForm(request.POST)
    if form.is_valid():
        try:
            services.ticket_act(
                actor=lifecycle.RESIDENT,
                number=ticket.number,
                action="evaluate",
                rating=form.cleaned_data["rating"],
                comment=form.cleaned_data["comment"],
                request=request,
            )
        except ApplicationError as exc:
            messages.error(request, str(exc.message))
        else:
            messages.success(request, _("感谢您的评价。"))
    else:
        messages.error(request, _("请选择满意、基本满意或不满意。"))
    return redirect("portal:ticket", number=ticket.number)


@never_cache
@require_GET
def photo(request, number: str, pk: int, kind: str = "image"):
    """A photo of the resident's own demand (intake or a public step), nothing else."""
    ticket = _granted_ticket(request, number)
    found = selectors.public_photo(ticket, pk) if ticket is not None else None
    if found is None:
        raise NotFound()
    return photo_file(found, kind)
