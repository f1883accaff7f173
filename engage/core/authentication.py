"""API authentication: `Authorization: Bearer <token>` (Wagtail's APIToken) or the session with CSRF.

A bearer token that does not resolve makes the request anonymous; it never falls back to the session.

The token's user is read with everything the preload registry adds (roles, access level, …) in the one statement
that resolves the token, as the session's user is (engage.core.preload): a scanner device's check-in asks nothing
more about who is scanning.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import F
from ninja.security import SessionAuth
from wagtail.api.v3.auth import BearerTokenAuth as WagtailBearerTokenAuth
from wagtail.models import APIToken

from engage.core.preload import preloaded, preloaded_users_query

TOKEN_MAX = 200

_token_users = preloaded_users_query(
    lambda now, key_hash: get_user_model()._default_manager
    .filter(api_tokens__key_hash=key_hash, api_tokens__revoked_at__isnull=True)
    .annotate(token_id=F("api_tokens__id"), token_last_used_at=F("api_tokens__last_used_at")),
    key_hash=str,
)


def _token_user(token: str):
    """The live token's user with their preloads (token_id, token_last_used_at on it), or None. One digest per
    current secret key and fallback, as Wagtail looks them up; nearly always the first matches."""
    for key_hash in APIToken.candidate_key_hashes(token):
        user = preloaded(_token_users, key_hash=key_hash)
        if user is not None:
            return user
    return None


class BearerTokenAuth(WagtailBearerTokenAuth):
    openapi_description = "An API token from `manage.py create_api_token USERNAME` or the admin."

    def authenticate(self, request, token):
        user = _token_user(token) if token and len(token) <= TOKEN_MAX else None
        if user is None or not user.is_active:
            request.user = AnonymousUser()  # a bad token never leaves the session's user in place
            return None
        request.user = user
        api_token = APIToken(pk=user.token_id, user=user, last_used_at=user.token_last_used_at)
        self._touch_last_used(api_token)
        return api_token


class SessionCsrfAuth(SessionAuth):
    """The signed-in browser session; unsafe methods need the CSRF token."""

    csrf = True


api_auth = [BearerTokenAuth(), SessionCsrfAuth()]
