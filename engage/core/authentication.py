"""API authentication: `Authorization: Bearer <token>` (Wagtail's APIToken) or the session with CSRF.

A bearer token that does not resolve makes the request anonymous; it never falls back to the session.
"""

from ninja.security import SessionAuth
from wagtail.api.v3.auth import BearerTokenAuth as WagtailBearerTokenAuth


class BearerTokenAuth(WagtailBearerTokenAuth):
    openapi_description = "An API token from `manage.py create_api_token USERNAME` or the admin."

    def authenticate(self, request, token):
        if not token or len(token) > 200:
            return None
        return super().authenticate(request, token)


class SessionCsrfAuth(SessionAuth):
    """The signed-in browser session; unsafe methods need the CSRF token."""

    csrf = True


api_auth = [BearerTokenAuth(), SessionCsrfAuth()]
