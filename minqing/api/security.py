"""Bearer tokens: a sign-in token from POST /auth/token or an integration API key. Both resolve
through minqing.accounts.auth.api_token_user, which refuses expired, revoked and disabled ones."""

from ninja.security import HttpBearer

from minqing.accounts.auth import api_token_user
from minqing.accounts.roles import has_capability
from minqing.core.errors import PermissionDenied


class BearerToken(HttpBearer):
    """With a capability, the same gate as the pages: a role without it gets 403 for the whole
    endpoint, before any object is looked up (so the answer says nothing about what exists)."""

    def __init__(self, capability: str | None = None):
        super().__init__()
        self.capability = capability

    def authenticate(self, request, token: str):
        user = api_token_user(token.strip()) if token.strip() else None
        if user is None:
            return None
        # Whatever reads request.user (history, audit) sees the token's owner, not an anonymous session.
        request.user = user
        if self.capability and not has_capability(user, self.capability):
            raise PermissionDenied()
        return user
