"""Reading pages: favourite toggle, favourites, reading history, and the staff report of forwarded reads."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from cms.reading import selectors as selectors_reading
from cms.reading import services as services_reading
from engage.core.errors import DomainError


@login_required
@require_POST
def favourite_toggle(request, page_id: int):
    try:
        services_reading.favourite_toggle(user=request.user, page_id=page_id)
    except DomainError as exc:
        return TemplateResponse(request, "cms/reading/error.html", {"error": exc}, status=exc.status)
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        target = "/content/reading/favourites/"
    return HttpResponseRedirect(target)


def _private(response):
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_GET
def favourites(request):
    return _private(TemplateResponse(request, "cms/reading/favourites.html",
                                     {"favourites": selectors_reading.favourites_of(user=request.user)}))


@login_required
@require_GET
def history(request):
    return _private(TemplateResponse(request, "cms/reading/history.html",
                                     {"records": selectors_reading.reading_history(user=request.user)}))


@login_required
@require_GET
def forwards_report(request):
    try:
        report = selectors_reading.forwards_report(user=request.user)
    except DomainError:
        raise DjangoPermissionDenied from None
    return _private(TemplateResponse(request, "cms/reading/forwards.html", report))
