"""Sign-in pages: password, then (for admin roles) the TOTP second factor, then the session."""

import segno
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from minqing.accounts import auth, services
from minqing.accounts.forms import OtpForm, PasswordChangeForm, SignInForm
from minqing.accounts.middleware import SIGNED_IN_AT
from minqing.accounts.models import User
from minqing.core.errors import ApplicationError
from minqing.core.forms import form_error

PENDING_USER = "minqing_pending_user"
PENDING_NEXT = "minqing_pending_next"
PENDING_DEVICE = "minqing_pending_device"


def _safe_next(request, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return "/"


def _complete_sign_in(request, user: User, device=None):
    next_url = request.session.pop(PENDING_NEXT, "/")
    request.session.pop(PENDING_USER, None)
    request.session.pop(PENDING_DEVICE, None)
    login(request, user, backend="minqing.accounts.backends.RoleBackend")
    if device is not None:
        otp_login(request, device)
    request.session[SIGNED_IN_AT] = timezone.now().timestamp()
    auth.sign_in_succeeded(user=user, request=request)
    return redirect(next_url)


@require_http_methods(["GET", "POST"])
def sign_in(request):
    if request.user.is_authenticated:
        return redirect("dashboard:home")
    form = SignInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = auth.sign_in_check(
                username=form.cleaned_data["username"], password=form.cleaned_data["password"], request=request
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            request.session.cycle_key()  # no session fixation across the sign-in
            request.session[PENDING_NEXT] = _safe_next(request, request.GET.get("next"))
            if user.requires_mfa:
                request.session[PENDING_USER] = user.pk
                return redirect("accounts:otp")
            return _complete_sign_in(request, user)
    expired = request.GET.get("expired") == "1"
    return render(request, "accounts/login.html", {"form": form, "expired": expired})


@require_http_methods(["GET", "POST"])
def otp(request):
    """Second factor: verify a code, or enrol the authenticator app on first use."""
    user = User.objects.filter(pk=request.session.get(PENDING_USER), is_active=True).first()
    if user is None:
        return redirect("accounts:login")
    device = auth.otp_device_for(user)
    form = OtpForm(request.POST or None)
    enrolling = device is None
    if enrolling:
        # The secret stays the same for this browser's sign-in: a phone that switches to the
        # authenticator app often reloads the page on return, and a new secret would make the code
        # just scanned useless. Another sign-in (another session) gets a new secret.
        pending = user.totpdevice_set.filter(confirmed=False, pk=request.session.get(PENDING_DEVICE)).first()
        if pending is None:
            pending = auth.otp_enrollment_start(user=user)
            request.session[PENDING_DEVICE] = pending.pk
    if request.method == "POST" and form.is_valid():
        try:
            if enrolling:
                device = auth.otp_enrollment_confirm(user=user, code=form.cleaned_data["otp"], request=request)
            else:
                device = auth.otp_verify(user=user, code=form.cleaned_data["otp"], request=request)
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            return _complete_sign_in(request, user, device)
    context = {"form": form, "enrolling": enrolling, "pending_user": user}
    if enrolling:
        context["qr_svg"] = segno.make(pending.config_url, error="m").svg_inline(scale=4)
        # On a phone the QR code cannot be scanned by the phone itself: the otpauth link opens the
        # authenticator app there, and the secret is shown in groups of four for typing by hand.
        context["otpauth_url"] = pending.config_url
        secret = pending.config_url.split("secret=")[1].split("&")[0]
        context["secret"] = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return render(request, "accounts/otp.html", context)


@require_POST
def sign_out(request):
    if request.user.is_authenticated:
        services.sign_out_record(user=request.user, request=request)
    logout(request)
    return redirect("accounts:login")


@require_http_methods(["GET", "POST"])
def password_change(request):
    if not request.user.is_authenticated:
        return redirect("accounts:login")
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_change_password(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
                request=request,
            )
        except ApplicationError as exc:
            form_error(form, exc)
        else:
            update_session_auth_hash(request, request.user)
            messages.success(request, _("密码已修改。"))
            return redirect("dashboard:home")
    return render(request, "accounts/password_change.html", {"form": form})
