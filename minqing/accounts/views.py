"""Account administration pages: users, the audit log, integration API keys.

Views stay thin: the capability decides whether a page opens at all (403), the scoped selectors what
it lists and which object it may touch (404), and every change is one call to accounts.services."""

from datetime import datetime, time, timedelta
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from minqing.accounts import selectors, services
from minqing.accounts.forms import (
    AUDIT_ACTION_LABELS,
    ApiKeyIssueForm,
    AuditFilterForm,
    PasswordResetForm,
    UserCreateForm,
    UserEditForm,
    UserFilterForm,
)
from minqing.accounts.models import User
from minqing.accounts.roles import Capability, Role, has_capability
from minqing.areas import selectors as area_selectors
from minqing.core.errors import ApplicationError, NotFound, PermissionDenied
from minqing.core.forms import form_error
from minqing.core.pagination import paginate

USERS_PER_PAGE = 25
AUDIT_PER_PAGE = 50
HISTORY_LIMIT = 50


def capability_required(capability: str):
    """Signed in (else the login page), and the role has the capability (else 403)."""

    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not has_capability(request.user, capability):
                raise PermissionDenied()
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def _refresh_requested(request) -> bool:
    """The role or area changed: re-render the form with the matching choices, store nothing."""
    return request.method == "POST" and request.POST.get("_refresh") == "1"


# Users ------------------------------------------------------------------------------------------------


@capability_required(Capability.VIEW_USERS)
@require_GET
def user_list(request):
    form = UserFilterForm(request.GET or None)
    # People only: the service accounts behind API keys are listed on the API key page.
    users = selectors.users_visible_to(request.user).filter(is_service=False)
    if form.is_valid():
        if text := form.cleaned_data["q"].strip():
            users = users.filter(Q(username__icontains=text) | Q(display_name__icontains=text))
        if role := form.cleaned_data["role"]:
            users = users.filter(role=role)
    page = paginate(request, users, per_page=USERS_PER_PAGE)
    return render(
        request,
        "accounts/user_list.html",
        {
            "form": form,
            "page": page,
            "now": timezone.now(),
            "can_manage": has_capability(request.user, Capability.MANAGE_USERS),
        },
    )


@capability_required(Capability.MANAGE_USERS)
@require_http_methods(["GET", "POST"])
def user_create(request):
    if request.method == "POST" and not _refresh_requested(request):
        form = UserCreateForm(request.POST, actor=request.user)
        if form.is_valid():
            data = form.cleaned_data
            try:
                created = services.user_create(
                    actor=request.user,
                    username=data["username"],
                    display_name=data["display_name"],
                    password=data["password"],
                    request=request,
                    **form.assignment(),
                )
            except ApplicationError as exc:
                form_error(form, exc)
            else:
                messages.success(
                    request,
                    _("已创建账号 %(username)s，用户首次登录时须修改初始密码。") % {"username": created.username},
                )
                return redirect("accounts:user_detail", pk=created.pk)
    else:
        source = request.POST if _refresh_requested(request) else request.GET
        form = UserCreateForm(actor=request.user, initial=UserCreateForm.initial_from(source))
    return render(request, "accounts/user_form.html", {"form": form, "creating": True})


@capability_required(Capability.VIEW_USERS)
@require_GET
def user_detail(request, pk: int):
    person = selectors.access_user(request.user, pk)
    return _render_detail(request, person)


def _render_detail(request, person: User, *, reset_form=None, action_error: str = "", status: int = 200):
    viewer = request.user
    context = {
        "person": person,
        "now": timezone.now(),
        "can_manage": has_capability(viewer, Capability.MANAGE_USERS) and not person.is_service,
        "can_audit": has_capability(viewer, Capability.VIEW_AUDIT),
        "reset_form": reset_form or PasswordResetForm(),
        "action_error": action_error,
        "history": selectors.user_change_log(viewer, person),
        "dwellings": [],
        "buildings": [],
    }
    # What they look after, as far as the viewer may see it.
    if person.role == Role.LIAISON:
        context["dwellings"] = list(area_selectors.dwellings_visible_to(viewer).filter(liaisons=person))
    elif person.role == Role.BUILDING_HEAD:
        context["buildings"] = list(area_selectors.buildings_visible_to(viewer).filter(building_heads=person))
    return render(request, "accounts/user_detail.html", context, status=status)


@capability_required(Capability.MANAGE_USERS)
@require_http_methods(["GET", "POST"])
def user_edit(request, pk: int):
    person = selectors.access_user(request.user, pk)
    if person.is_service:
        raise NotFound()  # a service account is changed on the API key page, not here
    if request.method == "POST" and not _refresh_requested(request):
        form = UserEditForm(request.POST, actor=request.user, person=person)
        if form.is_valid():
            try:
                services.user_update(
                    actor=request.user,
                    user=person,
                    display_name=form.cleaned_data["display_name"],
                    request=request,
                    **form.assignment(),
                )
            except ApplicationError as exc:
                form_error(form, exc)
            else:
                messages.success(request, _("已保存。"))
                return redirect("accounts:user_detail", pk=person.pk)
    elif _refresh_requested(request):
        form = UserEditForm(actor=request.user, person=person, initial=UserEditForm.initial_from(request.POST))
    else:
        initial = {
            "display_name": person.display_name,
            "role": person.role,
            "area": person.area_id,
            "department": person.department_id,
            "dwellings": list(person.dwellings.values_list("pk", flat=True)),
            "buildings": list(person.buildings.values_list("pk", flat=True)),
        }
        form = UserEditForm(actor=request.user, person=person, initial=initial)
    return render(request, "accounts/user_form.html", {"form": form, "creating": False, "person": person})


def _set_active(active: bool):
    def act(request, person: User):
        services.user_set_active(actor=request.user, user=person, active=active, request=request)
        return _("账号已启用。") if active else _("账号已停用，其所有登录会话已结束。")

    return act


def _unlock(request, person: User):
    services.user_unlock(actor=request.user, user=person, request=request)
    return _("账号已解锁。")


def _reset_password(request, person: User):
    form = PasswordResetForm(request.POST)
    if not form.is_valid():
        raise _InvalidForm(form)
    try:
        services.user_reset_password(
            actor=request.user, user=person, password=form.cleaned_data["password"], request=request
        )
    except ApplicationError as exc:
        form_error(form, exc)
        raise _InvalidForm(form) from None
    return _("密码已重置，用户下次登录时须修改。其现有登录会话已结束。")


class _InvalidForm(Exception):
    def __init__(self, form):
        self.form = form


USER_ACTIONS = {
    "disable": _set_active(False),
    "enable": _set_active(True),
    "unlock": _unlock,
    "reset-password": _reset_password,
}


@capability_required(Capability.MANAGE_USERS)
@require_POST
def user_action(request, pk: int, action: str):
    handler = USER_ACTIONS.get(action)
    if handler is None:
        raise NotFound()
    person = selectors.access_user(request.user, pk)
    if person.is_service:
        raise NotFound()
    try:
        done = handler(request, person)
    except _InvalidForm as invalid:
        return _render_detail(request, person, reset_form=invalid.form, status=400)
    except ApplicationError as exc:
        if isinstance(exc, NotFound | PermissionDenied):
            raise
        person.refresh_from_db()
        return _render_detail(request, person, action_error=str(exc.message), status=400)
    messages.success(request, done)
    return redirect("accounts:user_detail", pk=person.pk)


# Audit log ---------------------------------------------------------------------------------------------


def _day_start(day) -> datetime:
    """Midnight of a calendar day in the site's time zone (Asia/Shanghai)."""
    return timezone.make_aware(datetime.combine(day, time.min))


@capability_required(Capability.VIEW_AUDIT)
@require_GET
def audit_list(request):
    form = AuditFilterForm(request.GET or None)
    entries = selectors.audit_entries_visible_to(request.user).order_by("-at", "-id")
    if form.is_valid():
        data = form.cleaned_data
        if data["date_from"]:
            entries = entries.filter(at__gte=_day_start(data["date_from"]))
        if data["date_to"]:
            entries = entries.filter(at__lt=_day_start(data["date_to"] + timedelta(days=1)))
        if action := data["action"]:
            entries = (
                entries.filter(action__startswith=action[:-1])
                if action.endswith(".*")
                else entries.filter(action=action)
            )
        if text := data["q"].strip():
            entries = entries.filter(Q(actor_name__icontains=text) | Q(target_label__icontains=text))
        if data["user"] is not None:
            pk = str(data["user"])
            entries = entries.filter(Q(actor_id=data["user"]) | Q(target_type="accounts.user", target_id=pk))
    elif form.is_bound:
        entries = entries.none()
    page = paginate(request, entries, per_page=AUDIT_PER_PAGE)
    page.object_list = list(page.object_list)
    for entry in page.object_list:
        entry.action_label = AUDIT_ACTION_LABELS.get(entry.action, entry.action)
    return render(request, "accounts/audit_list.html", {"form": form, "page": page})


# Integration API keys -----------------------------------------------------------------------------------


@capability_required(Capability.ISSUE_API_KEYS)
@require_http_methods(["GET", "POST"])
@never_cache
def api_key_list(request):
    if request.method == "POST" and not _refresh_requested(request):
        form = ApiKeyIssueForm(request.POST, actor=request.user)
        if form.is_valid():
            assignment = form.assignment()
            try:
                token, key = services.integration_key_issue(
                    actor=request.user,
                    name=form.cleaned_data["name"],
                    role=assignment["role"],
                    area=assignment["area"],
                    department=assignment["department"],
                    request=request,
                )
            except ApplicationError as exc:
                form_error(form, exc)
            else:
                # Rendered, not redirected: the key exists only in this one response.
                return render(request, "accounts/api_key_issued.html", {"token": token, "key": key})
    elif _refresh_requested(request):
        form = ApiKeyIssueForm(actor=request.user, initial=ApiKeyIssueForm.initial_from(request.POST))
    else:
        form = ApiKeyIssueForm(actor=request.user)
    keys = selectors.integration_keys_visible_to(request.user).order_by("revoked_at", "-created_at")
    return render(request, "accounts/api_key_list.html", {"form": form, "keys": keys})


@capability_required(Capability.ISSUE_API_KEYS)
@require_POST
def api_key_revoke(request, pk: int):
    token = selectors.access_integration_key(request.user, pk)
    services.integration_key_revoke(actor=request.user, token=token, request=request)
    messages.success(request, _("接口密钥“%(name)s”已撤销，使用它的系统将无法再访问。") % {"name": token.name})
    return redirect("accounts:api_keys")
