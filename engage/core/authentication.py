"""API authentication: `Authorization: Bearer <token>` (Wagtail's APIToken) or the session with CSRF.

A bearer token that does not resolve makes the request anonymous; it never falls back to the session.

The token's user is read with everything the preload registry adds (roles, access level, …) in the one statement
that resolves the token, as the session's user is (engage.core.preload): a scanner device's check-in asks nothing
more about who is scanning. A process remembers a token it resolved for ENGAGE_API_TOKEN_CACHE_SECONDS (2 s; 0
turns it off): a scanner at the door sends several requests a second with one token, and each then costs no
statement for its user. So a revoked token, or a deactivated user or changed roles, takes effect within that
time; every request gets its own copy of the user.
"""

import copy
import hashlib
import threading
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import F
from django.utils import timezone
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


def _token_user_read(token: str):
    """The live token's user with their preloads (token_id, token_last_used_at on it), or None. One digest per
    current secret key and fallback, as Wagtail looks them up; nearly always the first matches."""
    for key_hash in APIToken.candidate_key_hashes(token):
        user = preloaded(_token_users, key_hash=key_hash)
        if user is not None:
            return user
    return None


TOKEN_CACHE_MAX = 1024  # tokens remembered per process (the oldest is forgotten first)
_recent: dict[bytes, tuple[float, object]] = {}  # sha256(token) -> (monotonic time it is good until, user)
_recent_lock = threading.Lock()


def _token_user(token: str):
    """`_token_user_read`, remembered for ENGAGE_API_TOKEN_CACHE_SECONDS; a copy of the user for each caller.
    A token that resolves to no one is not remembered."""
    seconds = float(getattr(settings, "ENGAGE_API_TOKEN_CACHE_SECONDS", 2.0))
    if seconds <= 0:
        return _token_user_read(token)
    key, now = hashlib.sha256(token.encode()).digest(), time.monotonic()
    with _recent_lock:
        found = _recent.get(key)
    if found is not None and found[0] > now:
        return copy.copy(found[1])
    user = _token_user_read(token)
    if user is not None:
        with _recent_lock:
            _recent.pop(key, None)
            while len(_recent) >= TOKEN_CACHE_MAX:
                del _recent[next(iter(_recent))]
            _recent[key] = (now + seconds, copy.copy(user))
    return user


def _forget(token: str) -> None:
    with _recent_lock:
        _recent.pop(hashlib.sha256(token.encode()).digest(), None)


def token_cache_clear() -> None:
    """Forgets every remembered token (tests that revoke a token and need the next request to see it)."""
    with _recent_lock:
        _recent.clear()


class BearerTokenAuth(WagtailBearerTokenAuth):
    openapi_description = "An API token from `manage.py create_api_token USERNAME` or the admin."

    def authenticate(self, request, token):
        user = _token_user(token) if token and len(token) <= TOKEN_MAX else None
        if user is None or not user.is_active:
            request.user = AnonymousUser()  # a bad token never leaves the session's user in place
            return None
        request.user = user
        api_token = APIToken(pk=user.token_id, user=user, last_used_at=user.token_last_used_at)
        interval = getattr(settings, "WAGTAILAPI_TOKEN_LAST_USED_INTERVAL", 60)
        if interval is not None and (user.token_last_used_at is None
                                     or (timezone.now() - user.token_last_used_at).total_seconds() >= interval):
            self._touch_last_used(api_token)  # Wagtail's: writes the time of use at most once per interval
            _forget(token)  # the remembered time of use is old now: the next request reads it again
        return api_token


class SessionCsrfAuth(SessionAuth):
    """The signed-in browser session; unsafe methods need the CSRF token."""

    csrf = True


api_auth = [BearerTokenAuth(), SessionCsrfAuth()]
