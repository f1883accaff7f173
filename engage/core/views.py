from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils.translation import gettext as _


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # No context processors that touch the database: the error may be the database.
    return HttpResponseServerError(loader.get_template("500.html").render({}))


def api_not_found(request, *args, **kwargs):
    """Anything under /api/ that no route matched: JSON, like every other API answer."""
    return JsonResponse({"code": "not_found", "message": _("No such API endpoint.")}, status=404)
