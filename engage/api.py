"""The django-ninja API at /api/v1/: one router per app; DomainError codes become JSON answers."""

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
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


ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {
        "code": {"type": "string", "description": "Stable machine-readable code, e.g. not_found, csrf_failed"},
        "message": {"type": "string", "description": "For people, in the request's language"},
        "errors": {"type": "array", "items": {"type": "object"}, "description": "422: the fields that failed"},
    },
    "required": ["code", "message"],
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_DESCRIPTIONS = {
    400: "Malformed request body", 401: "Not signed in, or the API token is missing, wrong or revoked",
    403: "Not allowed, or (with a session) the CSRF token is missing or wrong",
    404: "No such object, or not visible to you",
    409: "Conflicts with the object's current state", 413: "Request body too large",
    422: "Missing or invalid fields",
}


def _error_statuses(method: str, path: str, operation: dict) -> list[int]:
    """The errors any operation of this shape can answer (engage/api.py's handlers, the access_* selectors)."""
    statuses = [401, 403] if operation.get("security") else []
    # an operation's own further answers, declared with openapi_extra={"x-errors": [...]} (WeChat off: 404)
    statuses += operation.pop("x-errors", [])
    writes = method in ("post", "put", "patch", "delete")
    if "{" in path:
        statuses.append(404)
    if writes:
        statuses += [409, 413]
    if writes or operation.get("parameters"):
        statuses.append(422)
    if "requestBody" in operation:
        statuses.append(400)
    return sorted(set(statuses))


class SelfHostedSwagger(Swagger):
    """The API docs from our own static files (static/vendor/swagger-ui, vendored from npm): ninja's default loads
    Swagger UI from a CDN, which the CSP forbids and which is unreachable from China."""

    template = "api/swagger.html"

    def render_page(self, request, api, **kwargs):
        self.settings["url"] = self.get_openapi_url(api, kwargs)
        return render(request, self.template, {"api": api, "swagger_settings": self.settings,
                                               "add_csrf": any(getattr(a, "csrf", False) for a in api.auth or [])})


class EngageAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        module = operation.view_func.__module__
        return f"{OPERATION_ID_MODULES.get(module, module)}_{operation.view_func.__name__}".replace(".", "_")

    def get_openapi_schema(self, *args, **kwargs):
        """Every operation documents its error answers with the `{code, message}` schema; where an operation documents
        its own body for an error status (check-in's result), that status may also carry the error schema (an access
        check answers before the operation runs)."""
        schema = super().get_openapi_schema(*args, **kwargs)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for path, operations in schema["paths"].items():
            for method, operation in operations.items():
                responses = operation.setdefault("responses", {})
                for status in _error_statuses(method, path, operation):
                    existing = responses.get(status)
                    if existing is None:
                        responses[status] = {"description": ERROR_DESCRIPTIONS[status],
                                             "content": {"application/json": {"schema": ERROR_REF}}}
                    else:
                        body = existing.setdefault("content", {}).setdefault("application/json", {})
                        if body.get("schema") not in (None, ERROR_REF):
                            body["schema"] = {"anyOf": [body["schema"], ERROR_REF]}
                        body.setdefault("schema", ERROR_REF)
        return schema


api = EngageAPI(
    title="Engage API",
    version="1",
    description="Doctor engagement platform API. Authenticate with a session (and CSRF) or a bearer token.",
    auth=api_auth,
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
    docs=SelfHostedSwagger(),
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
api.add_router("/wechat", "members.wechat.api.router")
api.add_router("/content", "cms.pages.api.router")
api.add_router("/content", "cms.reading.api.content_router")
api.add_router("/me/reading", "cms.reading.api.me_router")
api.add_router("/events", "events.pages.api.router")
api.add_router("/events", "events.checkin.api.router")
api.add_router("/events", "events.registrations.api.router")
api.add_router("/me/registrations", "events.registrations.api.me_router")
api.add_router("/live", "events.live.api.router")
api.add_router("/learning", "learning.api.router")
