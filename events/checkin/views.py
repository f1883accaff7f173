"""Check-in pages: the staff scanner, the on-site code screen and the doctor's self check-in."""

import io
from urllib.parse import urlencode
from uuid import uuid4

import qrcode
import qrcode.image.svg
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from engage.core.clients import client_ip
from engage.core.errors import DomainError, NotFound
from events.checkin.models import Scan
from events.checkin.selectors import checkin_window
from events.checkin.services import ONSITE_STEP_SECONDS, onsite_code, self_checkin_perform
from events.pages.models import EventPage
from events.pages.selectors import EventUse, access_event


def _or_http(user, event_id: int, use: EventUse) -> EventPage:
    try:
        return access_event(user=user, event_id=event_id, use=use)
    except NotFound:
        raise Http404 from None
    except DomainError:
        raise PermissionDenied from None


def result_labels() -> dict[str, str]:
    """What the pages say for each result, in the request's language."""
    return {
        Scan.Result.OK: _("Checked in"),
        Scan.Result.ALREADY: _("Already checked in"),
        Scan.Result.INVALID: _("Unknown code"),
        Scan.Result.REVOKED: _("Ticket revoked"),
        Scan.Result.WRONG_EVENT: _("Ticket of another meeting"),
        Scan.Result.NOT_APPROVED: _("Registration not approved"),
        Scan.Result.OUTSIDE_WINDOW: _("Check-in is not open"),
        Scan.Result.OUTSIDE_RADIUS: _("You are too far from the venue"),
        Scan.Result.POSITION_REQUIRED: _("Allow this page to use your location to check in yourself, or ask the "
                                         "staff at the door to check you in."),
        Scan.Result.EXPIRED_CODE: _("This on-site code has expired: scan the screen again"),
        "network": _("No connection: retrying…"),
        "error": _("Something went wrong; try again"),
    }


@never_cache
@login_required
def scanner(request, event_id: int):
    event = _or_http(request.user, event_id, EventUse.ON_SITE)
    opens, closes = checkin_window(event)
    return render(request, "events/checkin/scanner.html", {
        "event": event,
        "opens": opens,
        "closes": closes,
        "scanner_config": {
            "checkinUrl": f"/api/v1/events/{event.pk}/checkins",
            "searchUrl": f"/api/v1/events/{event.pk}/checkins/search",
            "csrfToken": get_token(request),
            "labels": {**result_labels(), "action": _("Check in"),
                       "camera_unsupported": _("This browser cannot use the camera here; use the code field.")},
        },
    })


@never_cache
@login_required
def onsite_screen(request, event_id: int):
    event = _or_http(request.user, event_id, EventUse.MANAGE_CHECKIN)
    return render(request, "events/checkin/onsite.html", {
        "event": event,
        "code_url": reverse("events:checkin_onsite_code", args=[event.pk]),
        "refresh_seconds": ONSITE_STEP_SECONDS,
    })


@never_cache
@login_required
def onsite_code_svg(request, event_id: int):
    """The current on-site code as an SVG QR code of the self check-in URL."""
    event = _or_http(request.user, event_id, EventUse.MANAGE_CHECKIN)
    url = request.build_absolute_uri(reverse("events:self_checkin", args=[event.pk]))
    url += "?" + urlencode({"code": onsite_code(event)})
    out = io.BytesIO()
    qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2).save(out)
    response = HttpResponse(out.getvalue(), content_type="image/svg+xml")
    response["X-Self-Checkin-Url"] = url
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def self_checkin(request, event_id: int):
    """GET: a button (and the browser's position, when it gives one); POST: check in with the code."""
    event = EventPage.objects.filter(pk=event_id).first()
    if event is None:
        raise Http404
    code = (request.POST.get("code") if request.method == "POST" else request.GET.get("code")) or ""
    context = {"event": event, "code": code[:100], "labels": result_labels()}
    if request.method == "GET":
        context["nonce"] = uuid4().hex
        return render(request, "events/checkin/self_checkin.html", context)
    result = self_checkin_perform(
        event=event, doctor=request.user, code=code, latitude=request.POST.get("latitude") or None,
        longitude=request.POST.get("longitude") or None, nonce=request.POST.get("nonce", ""),
        ip=client_ip(request),
    )
    context.update(result=result, message=result_labels().get(result.status, result.status))
    if result.status == Scan.Result.INVALID and "registration" not in result.body:
        context["message"] = _("This code is not valid for this meeting, or you hold no ticket for it.")
        context["reason"] = "no_ticket_or_bad_code"
    return render(request, "events/checkin/self_checkin.html", context, status=result.http_status)
