"""Reading beacons and reading history.

POST /api/v1/content/{id}/reading — a beacon from an open content page: `{"record": <id>, "seconds": <active seconds
since the previous beacon>, "share": <0..1 of the body read>}`. The server caps the seconds by the wall-clock time
since the previous beacon; a read that reaches the page type's share and minimum time completes once and pays the
`read_article` points rule once. Refusals answer 4xx with a `code`: unknown_page, unknown_record, not_allowed,
not_a_doctor, invalid_input, malformed_request, payload_too_large.

GET /api/v1/me/reading — the signed-in doctor's reading history, most recent first.

Session (with the CSRF header) or bearer token.
"""

from datetime import datetime

from ninja import Router, Schema
from pydantic import Field

from cms.reading import selectors as selectors_reading
from cms.reading import services as services_reading
from engage.core.schemas import InputSchema

content_router = Router(tags=["reading"])
me_router = Router(tags=["reading"])


class BeaconIn(InputSchema):
    record: int = Field(ge=1, le=2**62, description="The reading record id the page was rendered with.")
    seconds: int = Field(ge=0, le=services_reading.MAX_BEACON_SECONDS,
                         description="Active (visible, focused) seconds since the previous beacon.")
    share: float = Field(ge=0, le=1, allow_inf_nan=False, description="Share of the body read so far, 0..1.")


class BeaconOut(Schema):
    record: int
    active_seconds: int
    share: float
    credited_seconds: int
    completed: bool
    completed_now: bool
    points: int


class ReadingOut(Schema):
    record: int
    page_id: int
    title: str
    url: str | None
    percent: int
    active_seconds: int
    started_at: datetime
    last_seen_at: datetime
    completed_at: datetime | None


@content_router.post("/{int:page_id}/reading", response=BeaconOut, summary="Report reading progress (beacon)")
def reading_beacon(request, page_id: int, payload: BeaconIn):
    result = services_reading.reading_beacon(doctor=request.user, page_id=page_id, record_id=payload.record,
                                             seconds=payload.seconds, share=payload.share)
    record = result.record
    return {"record": record.pk, "active_seconds": record.active_seconds, "share": round(record.max_share, 3),
            "credited_seconds": result.credited_seconds, "completed": record.completed_at is not None,
            "completed_now": result.completed_now, "points": result.points}


class ShareOut(Schema):
    url: str
    code: str


@content_router.post("/{int:page_id}/share", response=ShareOut, summary="My share link for a content page")
def content_share(request, page_id: int):
    """The signed-in person's share link (their attribution code on the page's URL). 403 `not_allowed` for content
    they may not read, 403 `rep_not_qualified` (with `course_url`) for a rep not qualified for its products, 404
    `unknown_page`."""
    page, share = services_reading.content_share_code(user=request.user, page_id=page_id)
    return {"url": request.build_absolute_uri(f"{page.url}?ref={share.code}"), "code": share.code}


@me_router.get("", response=list[ReadingOut], summary="My reading history")
def my_reading(request):
    return [
        {"record": r.pk, "page_id": r.page_id, "title": r.page.title, "url": r.page.url, "percent": r.percent,
         "active_seconds": r.active_seconds, "started_at": r.started_at, "last_seen_at": r.last_seen_at,
         "completed_at": r.completed_at}
        for r in selectors_reading.reading_history(user=request.user)
    ]
