"""Session rules (等保 level 3): idle sessions end after 30 minutes (the session's server-side
expiry, renewed by each request), every session after 12 hours from sign-in, a disabled account
at its next request (Django refuses inactive users), and admin roles must pass the second factor."""

from django.conf import settings
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from minqing.accounts.services import sign_out_record

SIGNED_IN_AT = "minqing_signed_in_at"

# Pages a signed-in user may open before passing the second factor or changing a temporary password.
# Only the sign-in steps themselves: every other page, admin pages included, waits for both.
_OPEN_PREFIXES = (
    "/accounts/login/",
    "/accounts/otp/",
    "/accounts/logout/",
    "/accounts/password/",
    "/static/",
    "/healthz",
    "/api/",
)


class SessionPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated:
            signed_in_at = request.session.get(SIGNED_IN_AT)
            now = timezone.now().timestamp()
            if signed_in_at is None or now - signed_in_at > settings.SESSION_ABSOLUTE_TIMEOUT.total_seconds():
                sign_out_record(user=user, request=request, reason="absolute_timeout")
                logout(request)
                return redirect(f"{reverse('accounts:login')}?expired=1")
            if not request.path.startswith(_OPEN_PREFIXES):
                if user.requires_mfa and not user.is_verified():
                    logout(request)
                    return redirect(reverse("accounts:login"))
                if user.must_change_password:
                    return redirect(reverse("accounts:password_change"))
        return self.get_response(request)
