"""Check-in API: the contract of the scanner page and of external scanner devices.

Mounted at /api/v1/events (next to the registration router). Session (with CSRF) or bearer token. Allowed:
staff (marketing, medical reviewer, compliance, admin) for every meeting, and reps for the meetings where they
hold a quota (they find and check in only the doctors of their own quota); everyone else gets 403, anonymous
callers 401. No answer carries a ticket secret: a doctor is checked in by scanning or by choosing the registration.
"""

from datetime import datetime

from django.utils.translation import gettext_lazy as _
from ninja import Router, Schema, Status
from pydantic import Field, model_validator

from engage.core.clients import client_ip
from engage.core.schemas import InputSchema
from events.checkin.models import Scan
from events.checkin.selectors import checkin_search
from events.checkin.services import PK_MAX, checkin_perform
from events.pages.selectors import EventUse, access_event

router = Router(tags=["check-in"])
SCANNER_METHODS = (Scan.Method.CAMERA, Scan.Method.WEDGE, Scan.Method.MANUAL, Scan.Method.API)


class CheckinIn(InputSchema):
    secret: str | None = Field(default=None, description="The ticket's secret as scanned or typed; anything "
                                                          "else answers `invalid`. Give it or `registration`.")
    registration: int | None = Field(default=None, ge=1, le=PK_MAX,
                                     description="The registration chosen from the search (instead of a secret); "
                                                 "one outside the caller's check-in scope answers `invalid`")
    nonce: str | None = Field(default=None, description="A fresh random value per scan; a retry with the same "
                                                        "nonce returns the first answer and changes nothing")
    device: str | None = Field(default=None, description="A name for the scanner device, kept with the scan")
    client_time: datetime | None = Field(default=None, description="The scanner's clock when it scanned")
    method: str | None = Field(default=None, description="camera, wedge, manual or api (default)")

    @model_validator(mode="after")
    def _secret_or_registration(self):
        if (self.secret is None) == (self.registration is None):
            raise ValueError(str(_("Give either the ticket's secret or the chosen registration.")))
        return self


class RegistrationCard(Schema):
    id: int
    name: str
    hospital: str
    department: str
    title: str
    status: str


class CheckinOut(Schema):
    status: str = Field(description="ok, already_checked_in, invalid, revoked, wrong_event, not_approved or "
                                    "outside_window")
    registration: RegistrationCard | None = None
    checked_in_at: datetime | None = Field(default=None, description="For ok the time now; for "
                                                                     "already_checked_in the FIRST check-in")
    checked_in_at_local: str | None = Field(default=None, description="The same time as a person reads it: "
                                                                      "YYYY-MM-DD HH:MM:SS, Beijing time")


class SearchHit(RegistrationCard):
    checked_in: bool
    can_check_in: bool = Field(description="Holds a valid ticket: check in by posting the `id` as `registration`")


@router.post("/{int:event_id}/checkins", response={201: CheckinOut, 400: CheckinOut, 404: CheckinOut,
                                                   409: CheckinOut},
             exclude_none=True, summary=str(_("Check a ticket in")))
def checkin_create(request, event_id: int, data: CheckinIn):
    method = data.method if data.method in SCANNER_METHODS else Scan.Method.API
    # The service checks that the caller may work on site at the meeting (403/404 before anything is written),
    # taking the meeting from the ticket's read.
    result = checkin_perform(event_id=event_id, secret=data.secret or "", registration_id=data.registration,
                             staff=request.user, method=method,
                             device=data.device or "", nonce=data.nonce or "", client_time=data.client_time,
                             ip=client_ip(request))
    return Status(result.http_status, result.body)


@router.get("/{int:event_id}/checkins/search", response=list[SearchHit],
            summary=str(_("Find registrations by name or the last four digits of the mobile number")))
def checkin_search_view(request, event_id: int, q: str = ""):
    event = access_event(user=request.user, event_id=event_id, use=EventUse.ON_SITE)
    return checkin_search(event, q, user=request.user)
