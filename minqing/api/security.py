"""Bearer tokens: a sign-in token from POST /auth/token or an integration API key. Both resolve
through minqing.accounts.auth.api_token_user, which refuses expired, revoked and disabled ones."""

from ninja.security import HttpBearer

from minqing.accounts.auth import api_token_user


class BearerToken(HttpBearer):
    def authenticate(self, request, token: str):
        user = api_token_user(token.strip()) if token.strip() else None
        if user is not None:
            # Whatever reads request.user (history, audit) sees the token's owner, not an anonymous session.
            request.user = user
        return user
