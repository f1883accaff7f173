"""GET /api/v1/events and /api/v1/events/{id}: the meetings as the meeting page shows them.

Anonymous requests are allowed. What part of a meeting a reader gets is decided by
events.pages.selectors.can_read_event_details, like the page: everyone gets the teaser (title, time, city, type);
the description, agenda, speakers and venue only those whose access level reaches the meeting's audience.
A meeting the reader may only see as a teaser answers `gated: true` with what to do to become eligible.
"""

from datetime import date, datetime
from typing import Literal

from django.db.models import prefetch_related_objects
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from pydantic import Field
from wagtail.api.v3.auth import AllowAnonymous

from cms.pages.richtext import clean_rich_text
from engage.core.authentication import BearerTokenAuth, SessionCsrfAuth
from events.pages import selectors
from events.pages.models import EventPage, EventType

router = Router(tags=["meetings"], auth=[BearerTokenAuth(), SessionCsrfAuth(), AllowAnonymous()])


class EventQuery(Schema):
    q: str | None = Field(default=None, max_length=200, description="Words in the meeting's title or city; "
                          "in its topic, description and venue too where the reader may read them.")
    type: Literal[tuple(EventType.values)] | None = None  # type: ignore[valid-type]
    area: str | None = Field(default=None, max_length=50, pattern=r"^[a-z0-9_-]+$")
    month: date | None = Field(default=None, description="Meetings during this month (any day of it).")
    page: int = Field(default=1, ge=1, le=selectors.MAX_PAGE)


class GateOut(Schema):
    reason: str
    message: str
    action_label: str
    action_url: str


class SpeakerOut(Schema):
    name: str
    title: str
    hospital: str


class AgendaItemOut(Schema):
    start_time: str
    title: str
    minutes: int
    academic: bool
    speaker: str | None = None


class EventOut(Schema):
    id: int
    title: str
    url: str
    event_type: str
    starts_at: datetime
    ends_at: datetime
    city: str
    gated: bool = Field(description="True: only the teaser; `gate` says how to become eligible.")
    gate: GateOut | None = None
    topic: str | None = None
    description: str | None = None
    venue_name: str | None = None
    venue_address: str | None = None
    agenda: list[AgendaItemOut] | None = None
    speakers: list[SpeakerOut] | None = None


class EventListOut(Schema):
    count: int
    page: int
    num_pages: int
    results: list[EventOut]


def _event_out(request, event: EventPage, full: bool) -> dict:
    data = {
        "id": event.pk, "title": event.title, "url": event.get_url(request=request) or "",
        "event_type": event.event_type, "starts_at": event.starts_at, "ends_at": event.ends_at, "city": event.city,
        "gated": not full, "gate": None,
    }
    if not full:
        eligible = selectors.become_eligible(user=request.user, event=event)
        data["gate"] = {"reason": eligible.reason, "message": str(eligible.message),
                        "action_label": str(eligible.action_label), "action_url": eligible.action_url}
        return data
    data.update({
        "topic": event.topic, "description": clean_rich_text(event.description),
        "venue_name": event.venue_name, "venue_address": event.venue_address,
        "agenda": [{"start_time": block.value["start_time"].strftime("%H:%M"), "title": block.value["title"],
                    "minutes": block.value["minutes"], "academic": bool(block.value["academic"]),
                    "speaker": block.value["speaker"].name if block.value["speaker"] else None}
                   for block in event.agenda],
        "speakers": [{"name": s.name, "title": s.title, "hospital": s.hospital} for s in event.speakers.all()],
    })
    return data


@router.get("", response=EventListOut, summary=str(_("Upcoming meetings")),
            description="The upcoming meetings the reader may see, soonest first; `q` searches them.")
def event_list(request, filters: Query[EventQuery]):
    event_filter = selectors.EventFilter(event_type=filters.type or "", area=filters.area or "",
                                         month=filters.month.replace(day=1) if filters.month else None,
                                         q=(filters.q or "").strip(), page=filters.page)
    listing = selectors.event_index_listing(user=request.user, event_filter=event_filter)
    prefetch_related_objects(listing["events"], "speakers")
    pairs = selectors.events_with_detail_access(user=request.user, events=listing["events"])
    return {"count": listing["total"], "page": listing["page_number"], "num_pages": listing["num_pages"],
            "results": [_event_out(request, event, full) for event, full in pairs]}


@router.get("/{int:event_id}", response=EventOut, summary=str(_("One meeting")),
            description="`gated: true` with the way to become eligible, and only the teaser, when the reader may "
                        "not read the meeting's details.")
def event_detail(request, event_id: int):
    event = selectors.access_event(user=request.user, event_id=event_id)
    return _event_out(request, event, selectors.can_read_event_details(request.user, event))
