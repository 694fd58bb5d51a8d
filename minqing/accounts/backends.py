from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

from minqing.accounts.roles import ROLE_CAPABILITIES

User = get_user_model()


class RoleBackend(ModelBackend):
    """Password check for people (never for service accounts), and permissions from the role table,
    so `user.has_perm("accounts.manage_users")` and `{{ perms.accounts.manage_users }}` ask it."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not getattr(user, "is_service", False)

    def get_user(self, user_id):
        # The signed-in user with what every page shows and scopes by (their area, their unit's area)
        # in one query, not three.
        user = User._default_manager.select_related("area", "department__area").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return {f"accounts.{cap}" for cap in ROLE_CAPABILITIES.get(user_obj.role, ())}

    def has_perm(self, user_obj, perm, obj=None) -> bool:
        return perm in self.get_all_permissions(user_obj, obj)
