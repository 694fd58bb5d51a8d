"""Writes of accounts: users, passwords, locks, API keys. Each one transaction with its audit entry."""

import secrets

from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from minqing.accounts import selectors
from minqing.accounts.models import ApiToken, Department, User
from minqing.accounts.roles import ROLE_AREA_LEVEL, ROLE_MANAGEABLE_BY, Capability, Role, has_capability
from minqing.areas import selectors as area_selectors
from minqing.areas.models import Area, AreaLevel
from minqing.core.audit import audit_record
from minqing.core.errors import ApplicationError, PermissionDenied


def _require(actor, capability: str) -> None:
    if not has_capability(actor, capability):
        raise PermissionDenied()


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), field="password") from None


def _clean_assignment(
    *, actor, role: str, area: Area | None, department: Department | None, dwellings=(), buildings=()
) -> dict:
    if role not in Role.values:
        raise ApplicationError(_("角色无效。"), field="role")
    if role not in ROLE_MANAGEABLE_BY.get(actor.role, ()):
        raise ApplicationError(_("您不能创建该角色的账号。"), field="role")
    if role == Role.DEPARTMENT:
        if department is None:
            raise ApplicationError(_("请选择所属单位。"), field="department")
        department = selectors.departments_visible_to(actor).filter(pk=department.pk).first()
        if department is None:
            raise ApplicationError(_("所属单位不在您的管辖范围内。"), field="department")
        area = None
    else:
        if area is None:
            raise ApplicationError(_("请选择所属区域。"), field="area")
        try:
            area = area_selectors.access_area(actor, area.pk)
        except ApplicationError:
            raise ApplicationError(_("所属区域不在您的管辖范围内。"), field="area") from None
        if area.level != ROLE_AREA_LEVEL[role]:
            level = AreaLevel(ROLE_AREA_LEVEL[role]).label
            raise ApplicationError(_("该角色须挂在“%(level)s”一级。") % {"level": level}, field="area")
        department = None
    dwelling_ids = [d.pk for d in dwellings] if role == Role.LIAISON else []
    building_ids = [b.pk for b in buildings] if role == Role.BUILDING_HEAD else []
    if dwelling_ids:
        visible = area_selectors.dwellings_visible_to(actor).filter(pk__in=dwelling_ids, building__grid=area)
        if visible.count() != len(set(dwelling_ids)):
            raise ApplicationError(_("包联房屋须在该网格内。"), field="dwellings")
    if building_ids:
        visible = area_selectors.buildings_visible_to(actor).filter(pk__in=building_ids, grid=area)
        if visible.count() != len(set(building_ids)):
            raise ApplicationError(_("负责楼栋须在该网格内。"), field="buildings")
    return {
        "role": role,
        "area": area,
        "department": department,
        "dwelling_ids": dwelling_ids,
        "building_ids": building_ids,
    }


@transaction.atomic
def user_create(
    *,
    actor,
    username: str,
    display_name: str,
    role: str,
    password: str,
    area: Area | None = None,
    department: Department | None = None,
    dwellings=(),
    buildings=(),
    request=None,
) -> User:
    _require(actor, Capability.MANAGE_USERS)
    username = (username or "").strip()
    if not username or len(username) > 150:
        raise ApplicationError(_("请填写用户名（最长 150 个字符）。"), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise ApplicationError(_("用户名 %(name)s 已存在。") % {"name": username}, field="username")
    display_name = (display_name or "").strip()
    if not display_name:
        raise ApplicationError(_("请填写姓名。"), field="display_name")
    assignment = _clean_assignment(
        actor=actor, role=role, area=area, department=department, dwellings=dwellings, buildings=buildings
    )
    user = User(
        username=username,
        display_name=display_name[:50],
        role=assignment["role"],
        area=assignment["area"],
        department=assignment["department"],
        must_change_password=True,
    )
    _check_password(password, user)
    user.set_password(password)
    user._history_user = actor
    user.save()
    user.dwellings.set(assignment["dwelling_ids"])
    user.buildings.set(assignment["building_ids"])
    audit_record(action="user.create", actor=actor, target=user, request=request, data={"role": role})
    return user


@transaction.atomic
def user_update(
    *,
    actor,
    user: User,
    display_name: str,
    role: str,
    area: Area | None = None,
    department: Department | None = None,
    dwellings=(),
    buildings=(),
    request=None,
) -> User:
    _require(actor, Capability.MANAGE_USERS)
    user = selectors.access_user(actor, user.pk)
    display_name = (display_name or "").strip()
    if not display_name:
        raise ApplicationError(_("请填写姓名。"), field="display_name")
    assignment = _clean_assignment(
        actor=actor, role=role, area=area, department=department, dwellings=dwellings, buildings=buildings
    )
    old = {"role": user.role, "area": user.area_id, "department": user.department_id}
    user.display_name, user.role = display_name[:50], assignment["role"]
    user.area, user.department = assignment["area"], assignment["department"]
    user._history_user = actor
    user.save(update_fields=["display_name", "role", "area", "department"])
    user.dwellings.set(assignment["dwelling_ids"])
    user.buildings.set(assignment["building_ids"])
    audit_record(
        action="user.update",
        actor=actor,
        target=user,
        request=request,
        data={"old": old, "new": {"role": user.role, "area": user.area_id, "department": user.department_id}},
    )
    return user


def _end_sessions(user: User) -> None:
    """Delete every server-side session of the user and revoke their sign-in tokens."""
    now = timezone.now()
    doomed = [
        s.pk
        for s in Session.objects.filter(expire_date__gt=now).iterator()
        if str(s.get_decoded().get("_auth_user_id")) == str(user.pk)
    ]
    Session.objects.filter(pk__in=doomed).delete()
    ApiToken.objects.filter(user=user, revoked_at__isnull=True, kind=ApiToken.Kind.SESSION).update(revoked_at=now)


@transaction.atomic
def user_set_active(*, actor, user: User, active: bool, request=None) -> User:
    """Disabling ends the account's sessions and tokens at once."""
    _require(actor, Capability.MANAGE_USERS)
    user = selectors.access_user(actor, user.pk)
    if user.pk == actor.pk and not active:
        raise ApplicationError(_("不能停用自己的账号。"), field="is_active")
    user.is_active = active
    user._history_user = actor
    user.save(update_fields=["is_active"])
    if not active:
        _end_sessions(user)
    audit_record(action="user.enable" if active else "user.disable", actor=actor, target=user, request=request)
    return user


@transaction.atomic
def user_reset_password(*, actor, user: User, password: str, request=None) -> User:
    """An admin sets a temporary password; the user must change it at the next sign-in."""
    _require(actor, Capability.MANAGE_USERS)
    user = selectors.access_user(actor, user.pk)
    _check_password(password, user)
    user.set_password(password)
    user.must_change_password = True
    user._history_user = actor
    user.save(update_fields=["password", "must_change_password"])
    _end_sessions(user)
    audit_record(action="user.password_reset", actor=actor, target=user, request=request)
    return user


@transaction.atomic
def user_change_password(*, user: User, old_password: str, new_password: str, request=None) -> User:
    if not user.check_password(old_password):
        raise ApplicationError(_("原密码不正确。"), field="old_password")
    if old_password == new_password:
        raise ApplicationError(_("新密码不能与原密码相同。"), field="new_password")
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), field="new_password") from None
    user.set_password(new_password)
    user.must_change_password = False
    user._history_user = user
    user.save(update_fields=["password", "must_change_password"])
    audit_record(action="auth.password_changed", actor=user, target=user, request=request)
    return user


@transaction.atomic
def user_unlock(*, actor, user: User, request=None) -> User:
    _require(actor, Capability.MANAGE_USERS)
    user = selectors.access_user(actor, user.pk)
    user.locked_until = None
    user.failures_reset_at = timezone.now()
    user._history_user = actor
    user.save(update_fields=["locked_until", "failures_reset_at"])
    audit_record(action="auth.unlocked", actor=actor, target=user, request=request)
    return user


def sign_out_record(*, user: User, request=None, reason: str = "user") -> None:
    audit_record(action="auth.logout", actor=user, target=user, request=request, data={"reason": reason})


@transaction.atomic
def integration_key_issue(
    *, actor, name: str, role: str, area: Area | None = None, department: Department | None = None, request=None
) -> tuple[ApiToken, str]:
    """An API key for a system (a department's, the 12345 hotline's). It acts as a service account
    with a role and an area or unit, so the one scope rule applies to it like to a person.
    The key is shown once; only its hash is kept."""
    _require(actor, Capability.ISSUE_API_KEYS)
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("请填写密钥名称（如：12345 热线）。"), field="name")
    if role in (Role.LIAISON, Role.BUILDING_HEAD):
        raise ApplicationError(_("接口密钥不能使用该角色。"), field="role")
    assignment = _clean_assignment(actor=actor, role=role, area=area, department=department)
    key = "mq_" + secrets.token_urlsafe(32)
    service = User(
        username=f"svc-{secrets.token_hex(6)}",
        display_name=name[:50],
        role=assignment["role"],
        area=assignment["area"],
        department=assignment["department"],
        is_service=True,
    )
    service.set_unusable_password()
    service._history_user = actor
    service.save()
    token = ApiToken.objects.create(
        user=service,
        kind=ApiToken.Kind.INTEGRATION,
        name=name[:100],
        key_hash=ApiToken.hash_key(key),
        prefix=key[:10],
        issued_by=actor,
    )
    audit_record(action="apikey.issue", actor=actor, target=service, request=request, data={"name": name, "role": role})
    return token, key


@transaction.atomic
def integration_key_revoke(*, actor, token: ApiToken, request=None) -> ApiToken:
    _require(actor, Capability.ISSUE_API_KEYS)
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the select_related joins.
    token = selectors.integration_keys_visible_to(actor).select_for_update(of=("self",)).get(pk=token.pk)
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(action="apikey.revoke", actor=actor, target=token.user, request=request, data={"name": token.name})
    return token


@transaction.atomic
def deployment_bootstrap(
    *, district_code: str, district_name: str, username: str, display_name: str, password: str
) -> User:
    """A fresh deployment's first two facts: its district (the root of the area tree) and one district
    staff account to do everything else from the pages. Refused once any district exists."""
    from minqing.areas.services import area_create_root

    if User.objects.filter(username__iexact=(username or "").strip()).exists():
        raise ApplicationError(_("用户名 %(name)s 已存在。") % {"name": username}, field="username")
    district = area_create_root(code=district_code, name=district_name)
    user = User(
        username=(username or "").strip(),
        display_name=(display_name or "").strip()[:50] or username,
        role=Role.DISTRICT_STAFF,
        area=district,
    )
    if not user.username:
        raise ApplicationError(_("请填写用户名。"), field="username")
    _check_password(password, user)
    user.set_password(password)
    user.save()
    audit_record(action="user.create", target=user, actor_name="bootstrap", data={"role": Role.DISTRICT_STAFF})
    return user


def staff_follow_places(*, actor, building, request=None) -> list[User]:
    """After a building changed grid: re-attach to that grid every liaison and building head whose
    households or buildings now all lie in it. One whose charge is split across grids stays where it
    is (the user page then shows which places lie outside their grid). Runs inside the caller's
    transaction (areas.services.building_move)."""
    moved = []
    liaisons = User.objects.filter(role=Role.LIAISON, dwellings__building=building).distinct()
    heads = User.objects.filter(role=Role.BUILDING_HEAD, buildings=building).distinct()
    for person in [*liaisons, *heads]:
        if person.area_id == building.grid_id:
            continue
        if person.role == Role.LIAISON:
            grids = set(person.dwellings.values_list("building__grid", flat=True))
        else:
            grids = set(person.buildings.values_list("grid", flat=True))
        if grids != {building.grid_id}:
            continue
        old_area = person.area
        person.area = building.grid
        person._history_user = actor
        person.save(update_fields=["area"])
        audit_record(
            action="user.update",
            actor=actor,
            target=person,
            request=request,
            data={
                "old": {"area": old_area.pk if old_area else None},
                "new": {"area": building.grid_id},
                "reason": "building.move",
            },
        )
        moved.append(person)
    return moved
