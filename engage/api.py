"""The django-ninja API at /api/v1/: one router per app; DomainError codes become JSON answers."""

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError

from engage.core.authentication import api_auth
from engage.core.errors import DomainError

# Operation ids are what clients generate code from: they stay as they were before the code moved into area
# packages (ninja derives them from the module path). New modules get ninja's default.
OPERATION_ID_MODULES = {
    "cms.pages.api": "cms.api",
    "cms.reading.api": "cms.api_reading",
    "events.checkin.api": "events.api_checkins",
    "events.registrations.api": "events.api_registrations",
    "members.hospitals.api": "members.api_hospitals",
    "members.points.api": "members.api_points",
    "members.profiles.api": "members.api",
}


class EngageAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        module = operation.view_func.__module__
        return f"{OPERATION_ID_MODULES.get(module, module)}_{operation.view_func.__name__}".replace(".", "_")


api = EngageAPI(
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


api.add_router("/members", "members.profiles.api.router")
api.add_router("/members/me/points", "members.points.api.points_router")
api.add_router("/rewards", "members.points.api.rewards_router")
api.add_router("/hospitals", "members.hospitals.api.hospitals_router")
api.add_router("/content", "cms.pages.api.router")
api.add_router("/content", "cms.reading.api.content_router")
api.add_router("/me/reading", "cms.reading.api.me_router")
api.add_router("/events", "events.pages.api.router")
api.add_router("/events", "events.checkin.api.router")
api.add_router("/events", "events.registrations.api.router")
api.add_router("/me/registrations", "events.registrations.api.me_router")
