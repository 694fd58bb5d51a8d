"""One application error type: pages show `message` beside `field`, the API answers
{"code", "message", "field"} with the status below."""

from django.utils.translation import gettext_lazy as _


class ApplicationError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message, *, field: str | None = None, code: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
        if code:
            self.code = code


class NotFound(ApplicationError):
    """Missing and out of scope are the same answer, so scope never leaks existence."""

    status = 404
    code = "not_found"

    def __init__(self, message=None, *, field: str | None = None):
        super().__init__(message or _("未找到该记录"), field=field)


class PermissionDenied(ApplicationError):
    """Only for objects the user may see but not change with this role."""

    status = 403
    code = "forbidden"

    def __init__(self, message=None, *, field: str | None = None):
        super().__init__(message or _("当前角色无权执行此操作"), field=field)


class AuthenticationFailed(ApplicationError):
    status = 401
    code = "authentication_failed"
