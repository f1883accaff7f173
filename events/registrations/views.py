"""Registration pages: register and cancel from the meeting page, my meetings, the QR ticket (PNG, SVG, .ics),
a rep's invitation links, the invitation landing page. Each view parses, calls one service or selector, renders."""

import io

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cms.reading.services import forwarded_ref, share_code_text
from engage.core.errors import DomainError, NotFound
from events.pages import selectors as pages_selectors
from events.pages.models import EventPage
from events.registrations import selectors as registrations_selectors
from events.registrations.exporters import ticket_ics
from events.registrations.services import registration_cancel, registration_create, rep_invitation_send
from members.hospitals.selectors import access_territory_doctor

MAX_INVITE = 32


def _back(request, event) -> str:
    nxt = request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return nxt
    return event.url or reverse("events:my_meetings")


@require_POST
@login_required
def register(request, event_id: int):
    """The registration box's button (and the invitation page's): registers, then shows the ticket or the
    status on the meeting page."""
    try:
        event = pages_selectors.access_event(user=request.user, event_id=event_id)
    except NotFound:
        raise Http404 from None
    invite = (request.POST.get("invite") or "").strip()[:MAX_INVITE + 1] or None
    try:
        registration = registration_create(event=event, doctor=request.user, invite=invite,
                                           ref=forwarded_ref(request, event))
    except DomainError as error:
        messages.error(request, str(error.message))
        return redirect(_back(request, event))
    if registration.status == registration.Status.CONFIRMED:
        messages.success(request, _("You are registered. Show this QR code at the entrance."))
        return redirect("events:ticket", secret=registration.ticket.secret)
    if registration.status == registration.Status.PENDING:
        messages.success(request, _("Registration received; it awaits the organiser's approval."))
    else:
        messages.info(request, _("The meeting is full: you are on the waiting list."))
    return redirect(_back(request, event))


@require_POST
@login_required
def cancel(request, event_id: int):
    try:
        event = pages_selectors.access_event(user=request.user, event_id=event_id)
    except NotFound:
        raise Http404 from None
    registration = registrations_selectors.registration_active_of(doctor=request.user, event=event)
    if registration is None:
        messages.error(request, _("You have no active registration for this meeting."))
        return redirect(_back(request, event))
    try:
        registration_cancel(registration=registration, actor=request.user,
                            reason=(request.POST.get("reason") or "")[:300])
    except DomainError as error:
        messages.error(request, str(error.message))
    else:
        messages.success(request, _("Your registration is cancelled."))
    return redirect(_back(request, event))


@never_cache
@login_required
@require_GET
def my_meetings(request):
    """我的会议: upcoming meetings first (soonest first), then past ones, each with its status, check-in and ticket."""
    return render(request, "events/registrations/my_meetings.html",
                  registrations_selectors.my_meetings_of(doctor=request.user))


def _ticket_or_404(request, secret: str):
    try:
        return registrations_selectors.access_ticket(user=request.user, secret=secret)
    except NotFound:
        raise Http404 from None


@never_cache
@login_required
@require_GET
def ticket(request, secret: str):
    """The standalone ticket page (works in WeChat): big QR, meeting name, time and venue."""
    ticket = _ticket_or_404(request, secret)
    return render(request, "events/registrations/ticket.html", {"ticket": ticket, "registration": ticket.registration,
                                                  "event": ticket.event})


def _qr(data: str, fmt: str) -> HttpResponse:
    out = io.BytesIO()
    if fmt == "svg":
        qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=12, border=2).save(out)
        response = HttpResponse(out.getvalue(), content_type="image/svg+xml")
    else:
        code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2)
        code.add_data(data)
        code.make(fit=True)
        code.make_image().save(out, format="PNG")
        response = HttpResponse(out.getvalue(), content_type="image/png")
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
@require_GET
def ticket_qr(request, secret: str, fmt: str):
    """The ticket's QR (the secret itself), only for its owner."""
    ticket = _ticket_or_404(request, secret)
    if ticket.revoked_at is not None:
        raise Http404
    return _qr(ticket.secret, fmt)


@login_required
@require_GET
def ticket_calendar(request, secret: str):
    ticket = _ticket_or_404(request, secret)
    response = HttpResponse(ticket_ics(ticket=ticket, request=request), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="meeting-{ticket.event_id}.ics"'
    response["Cache-Control"] = "private, no-store"
    return response


@never_cache
@require_GET
def invitation(request, code: str):
    """A rep's or region's invitation link: the meeting and a register button that registers into that quota."""
    try:
        quota = registrations_selectors.access_quota_by_invite(code=code)
    except NotFound:
        raise Http404 from None
    event = quota.event
    if not event.live:
        raise Http404
    if registrations_selectors.rep_not_qualified_for(rep=quota.rep, event=event):
        # The rep may not invite to this meeting (product qualification): the link opens nothing.
        return render(request, "events/registrations/invitation_refused.html", {"event": event}, status=403)
    box = registrations_selectors.registration_box_context(user=request.user, event=event)
    return render(request, "events/registrations/invitation.html",
                  {"quota": quota, "event": event, "box": box, "invite": quota.invite_code})


@login_required
@require_GET
def invitation_qr(request, code: str):
    """The QR of an invitation link: for the quota's rep and for staff."""
    try:
        quota = registrations_selectors.access_quota_by_invite(code=code)
    except NotFound:
        raise Http404 from None
    if not registrations_selectors.can_see_invitation(request.user, quota):
        raise Http404
    missing = registrations_selectors.rep_not_qualified_for(rep=quota.rep, event=quota.event)
    if missing:
        return render(request, "events/registrations/not_qualified.html",
                      {"not_qualified": missing, "event": quota.event}, status=403)
    return _qr(request.build_absolute_uri(reverse("events:invitation", args=[quota.invite_code])), "svg")


@never_cache
@login_required
@require_GET
def rep_quotas(request):
    """A rep's quotas of upcoming meetings, each with its invitation link and QR."""
    try:
        quotas = list(registrations_selectors.quotas_of_rep(rep=request.user))
    except DomainError:
        raise DjangoPermissionDenied from None
    for quota in quotas:
        quota.not_qualified = registrations_selectors.rep_not_qualified_for(rep=request.user, event=quota.event)
        quota.invite_url = "" if quota.not_qualified else request.build_absolute_uri(
            reverse("events:invitation", args=[quota.invite_code]))
    return render(request, "events/registrations/rep_quotas.html", {"quotas": quotas})


# --- A rep acting from the phone: invite a territory doctor, share with the share code, follow the invitations ---


def _rep_or_403(request):
    if not registrations_selectors.can_use_rep_actions(request.user):
        raise DjangoPermissionDenied


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def rep_invite(request, doctor_id: int):
    """Invite one doctor of the rep's territory to a meeting of one of the rep's quotas."""
    _rep_or_403(request)
    try:
        profile = access_territory_doctor(user=request.user, doctor_id=doctor_id)
    except NotFound:
        raise Http404 from None
    quotas = [q for q in registrations_selectors.quotas_of_rep(rep=request.user) if q.event.live]
    status = 200
    if request.method == "POST":
        try:
            quota_id = int(request.POST.get("quota") or 0)
        except ValueError:
            quota_id = 0
        try:
            rep_invitation_send(rep=request.user, quota_id=quota_id, doctor_id=profile.user_id)
        except DomainError as error:
            messages.error(request, str(error.message))
            status = error.status if error.status in (403, 404, 409) else 400
        else:
            messages.success(request, _("Invitation sent to %(name)s.") % {"name": profile.real_name})
            return redirect("events:rep_invited")
    return render(request, "events/registrations/rep_invite.html",
                  {"doctor": profile, "quotas": quotas}, status=status)


@never_cache
@login_required
@require_GET
def rep_invited(request):
    """The rep's invited doctors: registered, attended, answered the survey."""
    _rep_or_403(request)
    page = Paginator(registrations_selectors.rep_invited_doctors(rep=request.user), 20).get_page(
        request.GET.get("page"))
    return render(request, "events/registrations/rep_invited.html", {"rows": page.object_list, "page": page})


@never_cache
@login_required
@require_GET
def rep_share_list(request):
    _rep_or_403(request)
    return render(request, "events/registrations/rep_share_list.html",
                  {"targets": registrations_selectors.share_targets_for_rep(rep=request.user)})


def _share_target_or_404(request, page_id: int):
    try:
        return registrations_selectors.access_share_target(user=request.user, page_id=page_id)
    except NotFound:
        raise Http404 from None


def _share_url(request, page) -> str:
    """The link a rep shares: a meeting through the rep's own invitation (their quota), else the page with the
    rep's share code, so reads and registrations are attributed to the rep."""
    if isinstance(page, EventPage):
        quota = registrations_selectors.quotas_of_rep(rep=request.user).filter(event=page).first()
        if quota is not None and quota.invite_code:
            return request.build_absolute_uri(reverse("events:invitation", args=[quota.invite_code]))
    code = share_code_text(user=request.user)
    return request.build_absolute_uri(f"{page.url}?{urlencode({'ref': code})}")


@never_cache
@login_required
@require_GET
def rep_share(request, page_id: int):
    """A share card: title, summary, the link with the rep's share code, a copy button and the QR code."""
    _rep_or_403(request)
    page = _share_target_or_404(request, page_id)
    return render(request, "events/registrations/rep_share.html",
                  {"target": page, "share_url": _share_url(request, page),
                   "is_meeting": isinstance(page, EventPage)})


@login_required
@require_GET
def rep_share_qr(request, page_id: int):
    _rep_or_403(request)
    page = _share_target_or_404(request, page_id)
    return _qr(_share_url(request, page), "svg")
