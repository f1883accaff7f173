from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _
from django.views import csrf
from django.views.decorators.csrf import csrf_exempt

from engage.core.json_errors import api_error, is_api


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    if is_api(request):
        return api_error(500)
    # No context processors that touch the database: the error may be the database.
    return HttpResponseServerError(loader.get_template("500.html").render({}))


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: JSON under /api/, Django's page elsewhere."""
    if is_api(request):
        return api_error(403, "csrf_failed", _("The CSRF token is missing or wrong."))
    return csrf.csrf_failure(request, reason=reason)


@csrf_exempt  # any method on an unknown path is a 404, never a CSRF 403
def api_not_found(request, *args, **kwargs):
    """Anything under /api/ that no route matched: JSON, like every other API answer."""
    return JsonResponse({"code": "not_found", "message": _("No such API endpoint.")}, status=404)
