"""Every /api/ answer is JSON `{code, message}`, whoever produced the error: Django's CSRF check, a method the path
does not have (405), the URL resolver (404), a body too large (413), an outage or a bug (500). Views and the ninja
exception handlers (engage/api.py) already answer JSON; this turns what comes from elsewhere into the same shape."""

from django.http import JsonResponse
from django.utils.translation import gettext as _

API_PREFIX = "/api/"


def _messages():
    return {
        400: ("malformed_request", _("The request is malformed.")),
        401: ("not_authenticated", _("Sign in or send a valid API token.")),
        403: ("forbidden", _("You may not do this.")),
        404: ("not_found", _("No such API endpoint.")),
        405: ("method_not_allowed", _("This endpoint does not accept this method.")),
        408: ("request_timeout", _("The request body did not arrive in time.")),
        413: ("payload_too_large", _("The request body is too large.")),
        429: ("rate_limited", _("Too many requests. Please wait a moment and try again.")),
        500: ("server_error", _("Something went wrong on our side. Please try again later.")),
        503: ("unavailable", _("The service is temporarily unavailable. Please try again later.")),
    }


def api_error(status: int, code: str | None = None, message: str | None = None) -> JsonResponse:
    default_code, default_message = _messages().get(status, ("http_error", _("The request failed.")))
    return JsonResponse({"code": code or default_code, "message": message or default_message}, status=status)


def is_api(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


class ApiJsonErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not is_api(request) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith("application/json"):
            return response
        replacement = api_error(response.status_code)
        for header in ("Allow", "Retry-After", "WWW-Authenticate"):
            if header in response:
                replacement[header] = response[header]
        return replacement
