from django.db.models import QuerySet

from minqing.accounts import scope
from minqing.accounts.models import ApiToken, Department, User
from minqing.areas import selectors as area_selectors
from minqing.core import history
from minqing.core.errors import NotFound
from minqing.core.history import ChangeLogEntry
from minqing.core.models import AuditEntry


def users_visible_to(user) -> QuerySet[User]:
    return (
        User.objects.filter(scope.user_q(user))
        .filter(is_superuser=False)
        .select_related("area", "department")
        .order_by("username")
    )


def access_user(user, pk) -> User:
    try:
        return users_visible_to(user).get(pk=int(pk))
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def departments_visible_to(user) -> QuerySet[Department]:
    return Department.objects.filter(scope.department_q(user)).select_related("area")


def audit_entries_visible_to(user) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(scope.audit_q(user))


def integration_keys_visible_to(user) -> QuerySet[ApiToken]:
    return (
        ApiToken.objects.filter(kind=ApiToken.Kind.INTEGRATION)
        .filter(scope.user_q(user, prefix="user"))
        .select_related("user", "user__area", "user__department", "issued_by")
    )


def api_token_expires_at(key: str):
    """When a bearer token just issued stops working (None: an integration key, until revoked)."""
    token = ApiToken.objects.filter(key_hash=ApiToken.hash_key(key)).only("expires_at").first()
    return token.expires_at if token else None


def user_change_log(viewer, person: User, *, limit: int = 50) -> list[ChangeLogEntry]:
    """The account's history, newest first; areas, units and places named only within the viewer's scope."""

    def visible(model):
        if model is Department:
            return departments_visible_to(viewer)
        return area_selectors.visible_places(viewer, model)

    entries, _page = history.change_log(person, visible=visible, per_page=limit)
    return entries


def access_integration_key(user, pk) -> ApiToken:
    token = integration_keys_visible_to(user).filter(pk=pk).first()
    if token is None:
        raise NotFound()
    return token
