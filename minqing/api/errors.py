"""One error body for all of /api/v1/: {"code", "message", "field"}, messages in Chinese.
Registered on the NinjaAPI in urls.py; nothing under /api/ answers an HTML error page."""

import logging
from functools import wraps

from django.http import Http404, HttpResponseNotAllowed, JsonResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from minqing.core.errors import ApplicationError

logger = logging.getLogger(__name__)

# Where a parameter came from, as ninja writes it first in an error's `loc`.
_SOURCES = {"query", "path", "body", "header", "cookie", "form", "file"}
# Every endpoint names its JSON body parameter so; ninja puts that name in `loc`, the client never sees it.
BODY_PARAM = "payload"


def error_body(code: str, message, field: str | None = None) -> dict:
    return {"code": code, "message": str(message), "field": field}


def error_response(status: int, code: str, message, field: str | None = None, **headers) -> JsonResponse:
    response = JsonResponse(error_body(code, message, field), status=status, json_dumps_params={"ensure_ascii": False})
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _field_of(loc) -> str | None:
    """The top-level field an error concerns: ("query", "limit") → "limit";
    ("body", "payload", "boundary", "coordinates", 0) → "boundary"."""
    parts = list(loc)
    source = parts.pop(0) if parts and parts[0] in _SOURCES else None
    if source == "body" and parts and parts[0] == BODY_PARAM:
        parts.pop(0)
    names = [p for p in parts if isinstance(p, str)]
    if source in ("query", "path") and names:
        # Query values are flat; ninja leaves the parameter model's name in front of a list item's
        # loc, ("query", "filters", "status", 0), so the field is the last name.
        return names[-1]
    return names[0] if names else None


def _reason(error: dict) -> str:
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("此项为必填项。")
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return _("须为整数。")
    if kind in ("float_parsing", "float_type", "finite_number"):
        return _("须为有限的数字。")
    if kind in ("bool_parsing", "bool_type"):
        return _("须为 true 或 false。")
    if kind in ("string_type", "string_unicode"):
        return _("须为文本。")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bounds = {
            "greater_than_equal": _("不能小于 %(n)s。"),
            "greater_than": _("须大于 %(n)s。"),
            "less_than_equal": _("不能大于 %(n)s。"),
            "less_than": _("须小于 %(n)s。"),
        }
        key = {"greater_than_equal": "ge", "greater_than": "gt", "less_than_equal": "le", "less_than": "lt"}[kind]
        return bounds[kind] % {"n": ctx.get(key, "")}
    if kind == "string_too_short":
        return _("至少 %(n)s 个字符。") % {"n": ctx.get("min_length", "")}
    if kind == "string_too_long":
        return _("不能超过 %(n)s 个字符。") % {"n": ctx.get("max_length", "")}
    if kind == "too_short":
        return _("长度不能少于 %(n)s。") % {"n": ctx.get("min_length", "")}
    if kind == "too_long":
        return _("长度不能超过 %(n)s。") % {"n": ctx.get("max_length", "")}
    if kind in ("enum", "literal_error"):
        return _("取值无效，可选：%(expected)s。") % {"expected": _choices(ctx.get("expected", ""))}
    if kind in ("list_type", "tuple_type"):
        return _("须为数组。")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("须为 JSON 对象。")
    if kind == "extra_forbidden":
        return _("不接受该字段。")
    if kind in ("json_invalid", "json_type"):
        return _("不是有效的 JSON。")
    if kind == "value_error" and ctx.get("error"):
        return _("%(reason)s。") % {"reason": ctx["error"]}
    if kind == "union_tag_invalid":
        return _("类型无效，可选：%(expected)s。") % {"expected": _choices(ctx.get("expected_tags", ""))}
    return _("取值无效。")


def _choices(expected: str) -> str:
    # pydantic writes "'a', 'b' or 'c'"
    return expected.replace("'", "").replace(" or ", ", ").replace(", ", "、")


def register(api: NinjaAPI) -> None:
    @api.exception_handler(ApplicationError)
    def on_application_error(request, exc: ApplicationError):
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @api.exception_handler(ValidationError)
    def on_validation_error(request, exc: ValidationError):
        first = exc.errors[0] if exc.errors else {}
        loc = tuple(first.get("loc", ()))
        field = _field_of(loc)
        reason = _reason(first)
        if field:
            message = _("%(field)s：%(reason)s") % {"field": field, "reason": reason}
        elif loc[:1] == ("body",):
            message = _("请求体：%(reason)s") % {"reason": reason}
        else:
            message = reason
        return error_response(422, "invalid", message, field)

    @api.exception_handler(AuthenticationError)
    def on_authentication_error(request, exc):
        return error_response(
            401,
            "not_authenticated",
            _("缺少或无效的访问令牌：请在 Authorization 头中以 Bearer 方式提供有效令牌。"),
            WWW_Authenticate='Bearer realm="minqing"',
        )

    @api.exception_handler(HttpError)
    def on_http_error(request, exc: HttpError):
        # ninja raises these itself: 400 for a body that is not JSON, 403/429 from its permission and throttling hooks.
        if exc.status_code == 400:
            return error_response(400, "invalid", _("请求体不是有效的 JSON。"))
        if exc.status_code == 403:
            return error_response(403, "forbidden", _("当前角色无权执行此操作"))
        if exc.status_code == 429:
            return error_response(429, "throttled", _("请求过于频繁，请稍后再试。"))
        return error_response(exc.status_code, "error", _("请求无法处理。"))

    @api.exception_handler(Http404)
    def on_not_found(request, exc):
        return error_response(404, "not_found", _("未找到该记录"))

    @api.exception_handler(Exception)
    def on_unexpected(request, exc):
        logger.exception("API error on %s %s", request.method, request.path)
        return error_response(500, "server_error", _("服务器内部错误，请稍后再试。"))


def json_fallbacks(view):
    """What ninja answers outside its operations in plain text or HTML — a wrong method (405, Allow
    kept) and the API root (a 404) — in the JSON error body."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Http404:
            return not_found_view(request)
        if isinstance(response, HttpResponseNotAllowed):
            return error_response(
                405,
                "method_not_allowed",
                _("不支持 %(method)s 方法。") % {"method": request.method},
                None,
                Allow=response["Allow"],
            )
        return response

    return wrapped


def not_found_view(request, *args, **kwargs):
    """Any path under /api/v1/ that is no endpoint: a JSON 404, not the HTML page."""
    return error_response(404, "not_found", _("没有这个接口地址，接口说明见 /api/v1/docs。"))
