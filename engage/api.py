"""The django-ninja API at /api/v1/: one router per app; DomainError codes become JSON answers."""

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from engage.api_auth import api_auth
from engage.errors import DomainError

api = NinjaAPI(
    title="Engage API",
    version="1",
    description="Doctor engagement platform API. Authenticate with a session (and CSRF) or a bearer token.",
    auth=api_auth,
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)


def error_response(request, status: int, code: str, message: str, **extra):
    return api.create_response(request, {"code": code, "message": message, **extra}, status=status)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = [
        {"loc": [str(part) for part in err.get("loc", [])], "msg": str(err.get("msg", "")), "type": err.get("type", "")}
        for err in exc.errors
    ]
    return error_response(request, 422, "invalid_input", _("Some fields are missing or invalid."), errors=errors)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request, exc):
    return error_response(request, 401, "not_authenticated", _("Sign in or send a valid API token."))


@api.exception_handler(AuthorizationError)
def on_authorization_error(request, exc):
    return error_response(request, 403, "forbidden", _("You may not do this."))


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if exc.status_code == 400:
        return error_response(request, 400, "malformed_request", _("The request body is not valid JSON."))
    if exc.status_code == 403:
        return error_response(request, 403, "csrf_failed", _("The CSRF token is missing or wrong."))
    return error_response(request, exc.status_code, "http_error", str(exc))


@api.exception_handler(RequestDataTooBig)
def on_too_big(request, exc):
    return error_response(request, 413, "payload_too_large", _("The request body is too large."))


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_response(request, 404, "not_found", _("Not found."))


api.add_router("/members", "members.api.router")
api.add_router("/members/me/points", "members.api_points.points_router")
api.add_router("/rewards", "members.api_points.rewards_router")
api.add_router("/hospitals", "members.api_hospitals.hospitals_router")
api.add_router("/content", "cms.api.router")
api.add_router("/content", "cms.api_reading.content_router")
api.add_router("/me/reading", "cms.api_reading.me_router")
api.add_router("/events", "events.api_checkins.router")
api.add_router("/events", "events.api_registrations.router")
api.add_router("/me/registrations", "events.api_registrations.me_router")
