"""Signing in: password check, lockout after repeated failures, the second factor, API tokens.
The page and the API both go through `sign_in_check`, so the lockout and the audit trail are the
same whichever door is knocked on."""

import secrets
from datetime import datetime

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from minqing.accounts.models import ApiToken, User
from minqing.core.audit import audit_record
from minqing.core.errors import AuthenticationFailed
from minqing.core.models import AuditEntry


class AccountLocked(AuthenticationFailed):
    code = "account_locked"


class SecondFactorRequired(AuthenticationFailed):
    code = "otp_required"


# A wrong password and a wrong second-factor code both count towards the lock.
FAILURE_ACTIONS = ("auth.login_failed", "auth.otp_failed")


def _locked_message(user: User) -> str:
    until = date_format(timezone.localtime(user.locked_until), "H:i")
    return _("登录失败次数过多，账号已锁定至 %(until)s，请稍后再试或联系管理员解锁。") % {"until": until}


def _recent_failures(user: User, now: datetime) -> int:
    since = now - settings.LOGIN_FAILURE_WINDOW
    if user.failures_reset_at and user.failures_reset_at > since:
        since = user.failures_reset_at
    return AuditEntry.objects.filter(
        target_type="accounts.user", target_id=str(user.pk), action__in=FAILURE_ACTIONS, at__gt=since
    ).count()


def _lock_if_too_many(user: User, now: datetime, *, request, channel: str) -> AccountLocked | None:
    if _recent_failures(user, now) < settings.LOGIN_FAILURE_LIMIT:
        return None
    user.locked_until = now + settings.LOGIN_LOCK_DURATION
    # The lock uses up the failures that caused it: after it ends the user has five attempts again,
    # not one typo away from another lock.
    user.failures_reset_at = now
    user.save(update_fields=["locked_until", "failures_reset_at"])
    audit_record(
        action="auth.locked",
        target=user,
        request=request,
        actor_name=user.username,
        data={"until": user.locked_until.isoformat(), "channel": channel},
    )
    return AccountLocked(_locked_message(user))


def sign_in_check(*, username: str, password: str, request=None, channel: str = "web") -> User:
    """The user if the password is right and the account may sign in; otherwise AuthenticationFailed
    with one message for a wrong name and a wrong password (no account enumeration)."""
    candidate = User.objects.filter(username__iexact=username.strip()).first()
    # The password hash is checked outside any transaction: it takes a good fraction of a second,
    # and on SQLite an open write transaction would hold every other writer for that long.
    checked = None
    if candidate is None or not candidate.is_locked():
        checked = authenticate(request, username=candidate.username if candidate else username, password=password)
    now = timezone.now()
    error: AuthenticationFailed | None = None
    # The outcome is recorded even though the attempt fails: decide inside the transaction, raise
    # after it has committed.
    with transaction.atomic():
        # The row lock serialises the decisions on one account, so parallel wrong guesses cannot all
        # slip in under the limit, nor a right one past a lock set meanwhile.
        user = User.objects.select_for_update().filter(pk=candidate.pk).first() if candidate else None
        if user is not None and user.is_locked(now):
            audit_record(
                action="auth.login_blocked",
                target=user,
                request=request,
                actor_name=username[:150],
                data={"channel": channel},
            )
            error = AccountLocked(_locked_message(user))
        elif checked is None:
            audit_record(
                action="auth.login_failed",
                target=user,
                request=request,
                actor_name=username[:150],
                target_label=username[:200],
                data={"channel": channel},
            )
            error = AuthenticationFailed(_("用户名或密码错误。"), field="password")
            if user is not None:
                error = _lock_if_too_many(user, now, request=request, channel=channel) or error
    if error is not None:
        raise error
    return checked


def sign_in_succeeded(*, user: User, request=None, channel: str = "web") -> None:
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(failures_reset_at=timezone.now(), locked_until=None)
        audit_record(action="auth.login", actor=user, target=user, request=request, data={"channel": channel})


def otp_device_for(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def otp_verify(*, user: User, code: str, request=None) -> TOTPDevice:
    """Check a TOTP code against the user's confirmed device; a wrong code counts as a failed sign-in."""
    error: AuthenticationFailed | None = None
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        now = timezone.now()
        device = otp_device_for(user)
        if user.is_locked(now):
            error = AccountLocked(_locked_message(user))
        elif device is None or not device.verify_token((code or "").strip()):
            audit_record(action="auth.otp_failed", target=user, request=request, actor_name=user.username)
            error = _lock_if_too_many(user, now, request=request, channel="otp") or SecondFactorRequired(
                _("动态验证码错误或已过期。"), field="otp"
            )
    if error is not None:
        raise error
    return device


def otp_enrollment_start(*, user: User) -> TOTPDevice:
    """An unconfirmed device whose secret the user scans; replaced on each start."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="default", confirmed=False)


def otp_enrollment_confirm(*, user: User, code: str, request=None) -> TOTPDevice:
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None or not device.verify_token((code or "").strip()):
            raise SecondFactorRequired(_("动态验证码错误，请核对手机上的验证器后重试。"), field="otp")
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        audit_record(action="auth.otp_enrolled", actor=user, target=user, request=request)
        return device


def api_token_issue(*, username: str, password: str, otp: str | None = None, request=None) -> str:
    """`POST /api/v1/auth/token`: the same checks as the sign-in page, second factor included."""
    user = sign_in_check(username=username, password=password, request=request, channel="api")
    if user.must_change_password:
        # A temporary password set by an admin opens nothing until its owner has replaced it.
        raise AuthenticationFailed(
            _("请先在网页上修改临时密码，再使用接口。"), field="password", code="password_change_required"
        )
    if user.requires_mfa:
        if otp_device_for(user) is None:
            raise SecondFactorRequired(_("该角色须先在网页上绑定动态验证码后才能使用接口。"), field="otp")
        if not otp:
            raise SecondFactorRequired(_("该角色须提供动态验证码。"), field="otp")
        otp_verify(user=user, code=otp, request=request)
    key = secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(
            user=user,
            kind=ApiToken.Kind.SESSION,
            key_hash=ApiToken.hash_key(key),
            prefix=key[:8],
            expires_at=timezone.now() + settings.API_TOKEN_LIFETIME,
        )
    sign_in_succeeded(user=user, request=request, channel="api")
    return key


def api_token_user(key: str, *, kind: str | None = None) -> User | None:
    """The active user behind a bearer token, or None (expired, revoked, disabled). With `kind`,
    only a token of that kind counts (Open311 takes integration keys, never a person's sign-in)."""
    now = timezone.now()
    tokens = ApiToken.objects.select_related("user", "user__area", "user__department__area").filter(
        key_hash=ApiToken.hash_key(key), revoked_at__isnull=True
    )
    token = (tokens.filter(kind=kind) if kind else tokens).first()
    if token is None or (token.expires_at and token.expires_at <= now) or not token.user.is_active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        # Throttled so a busy integration does not write on every request.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
