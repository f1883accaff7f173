"""GET /api/v1/content and /api/v1/content/{id}: the content a person may read, with the site's gating.

Anonymous requests are allowed (public content). A bearer token or the session identifies the reader.
The list holds only pages the reader may read. The detail of a page the reader may not read answers 200 with
its metadata, `gated: true`, the reason code and what to do, and no body (like the site, which shows the title
and the way to become eligible); unknown, unpublished and expired pages answer 404.
"""

from datetime import date, timedelta
from typing import Literal

from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Schema
from pydantic import Field
from wagtail.api.v3.auth import AllowAnonymous

from cms.pages import selectors
from cms.pages.models import ArticlePage, ContentPage, LiteraturePage, VideoPage
from cms.pages.richtext import clean_rich_text
from engage.core.authentication import BearerTokenAuth, SessionCsrfAuth

router = Router(tags=["content"], auth=[BearerTokenAuth(), SessionCsrfAuth(), AllowAnonymous()])


class ContentQuery(Schema):
    area: str | None = Field(default=None, max_length=50, pattern=r"^[a-z0-9_-]+$",
                             description="Therapy area code, e.g. diabetes")
    type: Literal["article", "literature", "video"] | None = None
    tag: str | None = Field(default=None, max_length=100)
    q: str | None = Field(default=None, max_length=200, description="Search text; Chinese is segmented.")
    since: date | None = Field(default=None, description="Published on or after this date (YYYY-MM-DD).")
    page: int = Field(default=1, ge=1, le=selectors.MAX_PAGE)


class TherapyAreaOut(Schema):
    code: str
    name: str


class ContentSummaryOut(Schema):
    id: int
    type: str
    title: str
    summary: str
    url: str
    audience: str
    therapy_areas: list[TherapyAreaOut]
    published_at: str | None
    score: float | None = None


class ContentListOut(Schema):
    count: int
    page: int
    num_pages: int
    results: list[ContentSummaryOut]


class GateOut(Schema):
    reason: str
    message: str
    action_label: str
    action_url: str


class ContentDetailOut(ContentSummaryOut):
    gated: bool
    gate: GateOut | None = None
    for_professionals: bool
    approval_code: str
    tags: list[str]
    body: list[dict] | None = Field(default=None, description="Article body blocks (only when not gated).")
    literature: dict | None = None
    video: dict | None = None


def _summary(request, page: ContentPage, kind: str) -> dict:
    return {
        "id": page.pk,
        "type": kind,
        "title": page.title,
        "summary": page.summary,
        "url": page.get_url(request=request) or "",
        "audience": page.audience,
        "therapy_areas": [{"code": a.code, "name": a.name} for a in page.therapy_areas.all()],
        "published_at": page.first_published_at.isoformat() if page.first_published_at else None,
        "score": getattr(page, "search_score", None),
    }


def _document_url(document) -> str | None:
    return document.url if document else None


def _api_body(page: ArticlePage) -> list[dict]:
    """The StreamField as JSON; rich text expanded and whitelisted exactly as the site shows it."""
    blocks = page.body.get_prep_value()
    for block in blocks:
        if block["type"] == "rich_text":
            block["value"] = clean_rich_text(block["value"])
        elif block["type"] == "callout":
            block["value"]["text"] = clean_rich_text(block["value"].get("text"))
    return blocks


def _detail_body(page: ContentPage) -> dict:
    if isinstance(page, ArticlePage):
        return {"body": _api_body(page)}
    if isinstance(page, LiteraturePage):
        return {"literature": {
            "journal": page.journal, "authors": page.authors, "year": page.year, "doi": page.doi,
            "pmid": page.pmid, "abstract": clean_rich_text(page.abstract),
            "full_text_url": _document_url(page.full_text) if page.download_allowed else None,
        }}
    if isinstance(page, VideoPage):
        duration = page.duration.total_seconds() if isinstance(page.duration, timedelta) else None
        return {"video": {
            "video_url": _document_url(page.video_file), "stream_url": page.stream_url or None,
            "duration_seconds": duration, "transcript": page.transcript,
            "chapters": [dict(block.value) for block in page.chapters],
        }}
    return {}


@router.get("", response=ContentListOut, summary=str(_("Content the reader may read")),
            description="Filters by therapy area, type, tag and date; `q` searches Chinese text ranked by relevance.")
def content_list(request, filters: Query[ContentQuery]):
    content_filter = selectors.ContentFilter(
        kind=filters.type or "", tag=filters.tag or "", since=filters.since, area=filters.area or "",
        q=filters.q or "", page=filters.page,
    )
    listing = selectors.content_list(user=request.user, content_filter=content_filter)
    return {
        "count": listing.total, "page": listing.page, "num_pages": listing.num_pages,
        "results": [_summary(request, item, item.kind_code) for item in listing.items],
    }


@router.get("/{int:content_id}", response=ContentDetailOut, summary=str(_("One content page")),
            description="`gated: true` with the reason and no body when the reader may not read the page.")
def content_detail(request, content_id: int):
    page, decision = selectors.access_content(user=request.user, content_id=content_id)
    kind = page.specific_class._meta.model_name.removesuffix("page")
    data = {
        **_summary(request, page, kind),
        "gated": not decision.allowed,
        "gate": None if decision.allowed else {
            "reason": decision.reason, "message": decision.message,
            "action_label": decision.action_label, "action_url": decision.action_url,
        },
        "for_professionals": page.for_professionals,
        "approval_code": page.approval_code,
        "tags": [tag.name for tag in page.tags.all()],
    }
    if decision.allowed:
        data.update(_detail_body(page))
    else:
        data["summary"] = ""
    return data
