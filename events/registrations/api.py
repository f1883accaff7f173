"""Registration API for the WeChat pages and apps: register, cancel, list my registrations.

Mounted at /api/v1/events (next to the check-in router) and /api/v1/me/registrations. Session (with CSRF) or
bearer token; anonymous callers get 401. Errors come back as {"code", "message"}.
"""

from datetime import datetime

from ninja import Router, Schema, Status
from pydantic import Field

from engage.core.errors import NotFound
from engage.core.schemas import InputSchema
from events.pages.selectors import access_event
from events.registrations.selectors import registration_active_of, registrations_of
from events.registrations.services import registration_cancel, registration_create

router = Router(tags=["registrations"])
me_router = Router(tags=["registrations"])


class RegistrationIn(InputSchema):
    invite: str | None = Field(default=None, max_length=32,
                               description="A rep's or region's invitation code (from the invitation link or QR)")


class TicketOut(Schema):
    secret: str


class RegistrationCreatedOut(Schema):
    status: str = Field(description="confirmed, pending_approval or waitlisted")
    registration_id: int
    ticket: TicketOut | None = None
    frequency_warning: str | None = None


class ErrorOut(Schema):
    code: str
    message: str


class RegistrationOut(Schema):
    registration_id: int
    event_id: int
    event_title: str
    starts_at: datetime
    ends_at: datetime
    venue: str
    status: str
    source: str
    registered_at: datetime
    ticket: TicketOut | None = None


def _ticket_of(registration) -> dict | None:
    ticket = getattr(registration, "ticket", None)
    if ticket is None or ticket.revoked_at is not None:
        return None
    return {"secret": ticket.secret}


@router.post("/{int:event_id}/registrations",
             response={201: RegistrationCreatedOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
             summary="Register for a meeting")
def register(request, event_id: int, payload: RegistrationIn | None = None):
    """Registers the signed-in doctor; with `invite` into that rep's or region's quota. 201 with the status and
    the ticket when confirmed; 409 `already_registered`, 403 `not_eligible` / `frequency_limit`, 400
    `registration_closed` / `invalid_invite`, 404 unknown meeting."""
    event = access_event(user=request.user, event_id=event_id)
    registration = registration_create(event=event, doctor=request.user,
                                       invite=payload.invite if payload is not None else None)
    return Status(201, {"status": registration.status, "registration_id": registration.pk,
                        "ticket": _ticket_of(registration),
                        "frequency_warning": registration.frequency_warning or None})


@router.delete("/{int:event_id}/registrations/mine", response={200: RegistrationCreatedOut, 400: ErrorOut,
                                                              404: ErrorOut, 409: ErrorOut},
               summary="Cancel my registration")
def cancel_mine(request, event_id: int):
    """Cancels the signed-in doctor's active registration (until the cancellation deadline): the ticket is
    revoked and the first waiting doctor gets the seat. 404 `not_registered` without one."""
    from django.utils.translation import gettext as _


    event = access_event(user=request.user, event_id=event_id)
    registration = registration_active_of(doctor=request.user, event=event)
    if registration is None:
        raise NotFound("not_registered", _("You have no active registration for this meeting."))
    registration = registration_cancel(registration=registration, actor=request.user)
    return Status(200, {"status": registration.status, "registration_id": registration.pk, "ticket": None})


@me_router.get("", response=list[RegistrationOut], summary="My registrations")
def my_registrations(request):
    """The signed-in doctor's registrations, newest meeting first, with status and the ticket's secret."""
    return [
        {"registration_id": r.pk, "event_id": r.event_id, "event_title": r.event.title,
         "starts_at": r.event.starts_at, "ends_at": r.event.ends_at,
         "venue": r.event.venue_name or r.event.online_url, "status": r.status, "source": r.source,
         "registered_at": r.created_at, "ticket": _ticket_of(r) if r.status == "confirmed" else None}
        for r in registrations_of(doctor=request.user)[:200]
    ]
