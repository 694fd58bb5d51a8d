"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) at /open311/v2/, so that a city system or any
Open311 client files and follows demands without knowing minqing. Thin views: check the jurisdiction
and the key, call one selector or service, answer in the format the path ends with.

Who may read what:
- services (the category tree) are open: they name kinds of problems, nobody's data;
- requests and tokens need an integration key (`api_key`), and show what that key's account may see
  (tickets_visible_to). The spec lets a city publish its requests without a key, but here a
  description is what a resident said about their home and neighbours (names, addresses, health,
  disputes): personal information under the PIPL that may only go to those who handle it. So there
  is no anonymous reading."""

from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from minqing.accounts.auth import api_token_user
from minqing.accounts.models import ApiToken
from minqing.core.errors import ApplicationError
from minqing.open311 import selectors, serializers
from minqing.open311.services import open311_request_create


class KeyRefused(ApplicationError):
    """The spec answers a missing or unknown api_key with 403."""

    status = 403
    code = "forbidden"


def _describe(error: ApplicationError) -> str:
    """The field first, so a program can tell which input was refused (unless the message names it)."""
    message = str(error.message)
    return f"{error.field}: {message}" if error.field and not message.startswith(error.field) else message


def _params(request):
    return request.POST if request.method == "POST" else request.GET


def open311(*methods: str, key: bool):
    """Method check, jurisdiction check, key resolution (when `key`), and every ApplicationError as the
    spec's error document in the requested format, with the HTTP status alike."""

    def decorate(view):
        # No cookies are involved (the key travels with the request), so there is no CSRF to guard.
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, fmt: str, **kwargs) -> HttpResponse:
            if request.method not in methods:
                response = serializers.errors(fmt, 405, _("不支持的请求方法 %(m)s。") % {"m": request.method})
                response["Allow"] = ", ".join(methods)
                return response
            params = _params(request)
            try:
                jurisdiction = (params.get("jurisdiction_id") or request.GET.get("jurisdiction_id") or "").strip()
                # Optional: the spec requires it only of servers with several jurisdictions.
                if jurisdiction and jurisdiction != settings.MINQING_OPEN311_JURISDICTION:
                    raise ApplicationError(
                        _("本系统不服务该 jurisdiction_id（应为 %(id)s）。")
                        % {"id": settings.MINQING_OPEN311_JURISDICTION},
                        field="jurisdiction_id",
                    )
                user = None
                if key:
                    raw = (params.get("api_key") or request.GET.get("api_key") or "").strip()
                    user = api_token_user(raw, kind=ApiToken.Kind.INTEGRATION) if raw else None
                    if user is None:
                        raise KeyRefused(_("api_key 缺失或无效。"), field="api_key")
                    # Whatever reads request.user (history, audit) sees the key's account, as in /api/v1/.
                    request.user = user
                return view(request, *args, fmt=fmt, user=user, params=params, **kwargs)
            except ApplicationError as error:
                return serializers.errors(fmt, error.status, _describe(error))

        return wrapper

    return decorate


@open311("GET", key=False)
def services(request, *, fmt, user, params):
    rows = [serializers.service_row(category, group) for category, group in selectors.services_list()]
    return serializers.document(fmt, "services", "service", rows)


@open311("GET", key=False)
def service_definition(request, *, fmt, user, params, service_code):
    category = selectors.service_get(service_code)
    return serializers.document(fmt, "service_definition", "", serializers.service_definition_row(category))


def _request_rows(tickets) -> list[dict]:
    return [serializers.request_row(t, selectors.open311_status(t.status)) for t in tickets]


@open311("GET", "POST", key=True)
def requests(request, *, fmt, user, params):
    if request.method == "POST":
        ticket = open311_request_create(actor=user, data=params, request=request)
        account_id = (params.get("account_id") or "").strip()
        row = {
            "service_request_id": ticket.number,
            "service_notice": serializers.service_notice(ticket),
            "account_id": account_id[:100] or None,
        }
        return serializers.document(fmt, "service_requests", "request", [row])
    return serializers.document(
        fmt, "service_requests", "request", _request_rows(selectors.requests_search(user, params))
    )


@open311("GET", key=True)
def request_detail(request, *, fmt, user, params, service_request_id):
    ticket = selectors.request_get(user, service_request_id)
    return serializers.document(fmt, "service_requests", "request", _request_rows([ticket]))


@open311("GET", key=True)
def token(request, *, fmt, user, params, token_id):
    """Requests are realtime here, so a token is the request's own number; the answer still follows
    the spec for clients that ask (and, like requests, only for a demand the key may see)."""
    ticket = selectors.request_get(user, token_id)
    row = {"service_request_id": ticket.number, "token": token_id}
    return serializers.document(fmt, "service_requests", "request", [row])
