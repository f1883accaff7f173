"""Who may read which content, and every read of content that crosses relations.

`content_visible_to(user)` (a queryset of the content pages a person may read) and `content_gate(user, page)`
(the decision for one page, with what the person can do to become eligible) are the one rule. Page serving,
therapy-area listings, home sections, search, the API and the document view all call them.

Staff (marketing, medical reviewers, compliance, admins) read everything: they author and review it.
Everyone else reads by members.accounts.selectors.access_level_of: a rep, like any registered member who is not a
verified doctor, reads public and registered content only.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.models import Case, Count, F, FloatField, Prefetch, Q, QuerySet, Sum, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page

from cms.pages.models import (
    AUDIENCE_LEVEL,
    ArticlePage,
    Audience,
    ContentDocumentLink,
    ContentImageLink,
    ContentPage,
    ContentSearchTerm,
    LiteraturePage,
    TherapyAreaPage,
    VideoPage,
    audiences_for,
)
from cms.pages.search import query_terms
from cms.pages.storage import gated_image_id
from engage.core.errors import DomainError, NotFound, PermissionDenied
from engage.core.paging import PageOf
from engage.core.roles import Capability, can
from engage.core.sections import HOME_SECTIONS_HOOK, PageSection, page_sections
from members.accounts.selectors import AccessLevel, access_level_of
from members.hospitals.models import TherapyArea
from members.profiles.models import DoctorProfile

CONTENT_TYPES = {"article": ArticlePage, "literature": LiteraturePage, "video": VideoPage}
PAGE_SIZE = 12
MAX_PAGE = 1000


def _reads_everything(user) -> bool:
    return can(user, Capability.READ_ALL_CONTENT)


def content_visible_to(user, queryset: QuerySet | None = None) -> QuerySet:
    """The live, unexpired content pages `user` may read (filters `queryset`, default all content pages)."""
    qs = ContentPage.objects.all() if queryset is None else queryset
    qs = qs.live().filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    if _reads_everything(user):
        return qs
    return qs.filter(audience__in=audiences_for(access_level_of(user)))


@dataclass(frozen=True)
class ContentAccess:
    """The decision for one page: allowed, or why not and what the person can do about it."""

    allowed: bool
    reason: str = ""  # stable code: sign_in, complete_profile, await_verification, update_profile, kol_only
    message: str = ""
    action_label: str = ""
    action_url: str = ""
    required: str = Audience.PUBLIC


def can_read_content(user, page: ContentPage) -> bool:
    return content_gate(user=user, page=page).allowed


def content_gate(*, user, page: ContentPage, preview: bool = False) -> ContentAccess:
    """May `user` read `page`'s body? Live and unexpired pages only; the audience against the access level.
    `preview` skips the live/expiry check: the editor's preview of a draft as a given reader would see it."""
    from django.urls import reverse
    from django.utils.http import urlencode

    if not preview and (not page.live or (page.expires_at is not None and page.expires_at <= timezone.now())):
        return ContentAccess(False, "unavailable", str(_("This content is no longer available.")))
    if _reads_everything(user):
        return ContentAccess(True, required=page.audience)
    level = access_level_of(user)
    needed = AUDIENCE_LEVEL[Audience(page.audience)]
    if level >= needed:
        return ContentAccess(True, required=page.audience)
    member_url = reverse("member_home")
    if level == AccessLevel.ANONYMOUS:
        next_url = page.url or "/"
        return ContentAccess(
            False, "sign_in",
            str(_("Sign in or join as a healthcare professional to read this content.")),
            str(_("Join or sign in")), f"{reverse('account_login')}?{urlencode({'next': next_url})}",
            page.audience,
        )
    if needed == AccessLevel.KOL and level == AccessLevel.VERIFIED:
        return ContentAccess(False, "kol_only", str(_("This content is reserved for invited experts and speakers.")),
                             "", "", page.audience)
    status = DoctorProfile.objects.filter(user=user).values_list("status", flat=True).first()
    if status is None:
        return ContentAccess(False, "complete_profile",
                             str(_("Complete your doctor profile and get verified to read this content.")),
                             str(_("Complete my profile")), member_url, page.audience)
    if status == DoctorProfile.Status.PENDING:
        return ContentAccess(False, "await_verification",
                             str(_("Your profile is being verified. You can read this content once it is approved.")),
                             str(_("See my verification status")), member_url, page.audience)
    return ContentAccess(False, "update_profile",
                         str(_("Your verification needs attention. Update your profile to read this content.")),
                         str(_("Update my profile")), member_url, page.audience)


@dataclass
class ContentFilter:
    """The filters of a listing or search, parsed leniently from a query string: bad values are dropped."""

    kind: str = ""
    tag: str = ""
    since: date | None = None
    area: str = ""
    q: str = ""
    page: int = 1
    errors: list[str] = field(default_factory=list)

    @property
    def querystring(self) -> str:
        """The filters as a query-string prefix for pagination links ('' or 'type=video&')."""
        from django.utils.http import urlencode

        pairs = {"q": self.q[:200], "type": self.kind, "tag": self.tag, "area": self.area,
                 "since": self.since.isoformat() if self.since else ""}
        encoded = urlencode({key: value for key, value in pairs.items() if value})
        return f"{encoded}&" if encoded else ""

    @classmethod
    def from_query(cls, params) -> "ContentFilter":
        result = cls()
        kind = (params.get("type") or "").strip()
        if kind in CONTENT_TYPES:
            result.kind = kind
        tag = (params.get("tag") or "").strip()
        if 0 < len(tag) <= 100:
            result.tag = tag
        since = (params.get("since") or "").strip()
        if since:
            try:
                result.since = date.fromisoformat(since[:10])
            except ValueError:
                result.errors.append("since")
        area = (params.get("area") or "").strip()
        if 0 < len(area) <= 50:
            result.area = area
        result.q = (params.get("q") or "")[:10_000]
        try:
            result.page = min(max(int(params.get("page") or 1), 1), MAX_PAGE)
        except (TypeError, ValueError):
            result.page = 1
        return result


@dataclass(kw_only=True)
class ContentListing(PageOf):
    items: list[ContentPage]


# The rendition the content card shows; prefetched so a listing's query count does not grow with its length.
CARD_RENDITION = "fill-240x160|format-webp"


def _with_card_data(qs: QuerySet) -> QuerySet:
    from wagtail.images import get_image_model

    covers = get_image_model().objects.prefetch_renditions(CARD_RENDITION)
    return qs.prefetch_related("therapy_areas", Prefetch("cover_image", queryset=covers))


def _content_types() -> dict[int, str]:
    types = ContentType.objects.get_for_models(*CONTENT_TYPES.values())
    return {types[model].pk: kind for kind, model in CONTENT_TYPES.items()}


def filtered_content(*, user, content_filter: ContentFilter, queryset: QuerySet | None = None) -> QuerySet:
    """Visible content narrowed by type, tag, date and therapy area (not yet ordered)."""
    qs = content_visible_to(user, queryset)
    if content_filter.kind:
        model = CONTENT_TYPES[content_filter.kind]
        qs = qs.filter(content_type=ContentType.objects.get_for_model(model))
    if content_filter.tag:
        qs = qs.filter(tags__name=content_filter.tag)
    if content_filter.since:
        start = timezone.make_aware(datetime.combine(content_filter.since, time.min))
        qs = qs.filter(first_published_at__gte=start)
    if content_filter.area:
        qs = qs.filter(therapy_areas__code=content_filter.area)
    return qs.distinct() if content_filter.tag or content_filter.area else qs


def _paginate(qs: QuerySet, page: int, page_size: int = PAGE_SIZE) -> ContentListing:
    total = qs.count()
    num_pages = max(1, math.ceil(total / page_size))
    page = min(page, num_pages)
    items = list(_with_card_data(qs)[(page - 1) * page_size: page * page_size])
    kinds = _content_types()
    for item in items:
        item.kind_code = kinds.get(item.content_type_id, "article")
    return ContentListing(items=items, page=page, num_pages=num_pages, total=total)


def therapy_area_listing(*, user, index: TherapyAreaPage, content_filter: ContentFilter) -> ContentListing:
    """One page of the content in a therapy area (its child pages or pages classified in the area).

    A fixed number of queries whatever the number of children: count, page rows, areas, content types.
    """
    in_area = ContentPage.objects.filter(
        Q(path__startswith=index.path, depth__gt=index.depth) | Q(therapy_areas=index.therapy_area_id)
    ).distinct()
    qs = filtered_content(user=user, content_filter=content_filter, queryset=in_area)
    return _paginate(qs.order_by("-first_published_at", "-pk"), content_filter.page)


def content_list(*, user, content_filter: ContentFilter, page_size: int = PAGE_SIZE) -> ContentListing:
    """The content listing of the API and site search: ranked by relevance when there is a query."""
    qs = filtered_content(user=user, content_filter=content_filter)
    if content_filter.q.strip():
        return content_search(user=user, content_filter=content_filter, queryset=qs, page_size=page_size)
    return _paginate(qs.order_by("-first_published_at", "-pk"), content_filter.page, page_size)


def content_search(*, user, content_filter: ContentFilter, queryset: QuerySet | None = None,
                   page_size: int = PAGE_SIZE) -> ContentListing:
    """Pages the user may read that contain every term of the query, best tf-idf score first.

    Empty, overlong, punctuation-only and emoji-only queries have no terms and find nothing. Who may read what
    is `content_visible_to` (through `filtered_content`) on both paths: PostgreSQL matches the terms in the GIN
    index of ContentSearchDocument, SQLite in ContentSearchTerm; both rank with the same tf-idf of
    ContentSearchTerm's weights.
    """
    terms = query_terms(content_filter.q)
    if not terms:
        return ContentListing(items=[], page=1, num_pages=1, total=0)
    candidates = queryset if queryset is not None else filtered_content(user=user, content_filter=content_filter)
    ranked = _search_ranked_postgresql if connection.vendor == "postgresql" else _search_ranked_portable
    rows, total, reached = ranked(terms=terms, candidates=candidates,
                                  offset=(content_filter.page - 1) * page_size, limit=page_size)
    num_pages = max(1, math.ceil(reached / page_size))  # pages past the ranked candidates are not offered
    page = min(content_filter.page, num_pages)
    if page != content_filter.page:  # asked past the last page: show the last one
        rows, total, reached = ranked(terms=terms, candidates=candidates, offset=(page - 1) * page_size,
                                      limit=page_size)
    pages = {p.pk: p for p in _with_card_data(ContentPage.objects.filter(pk__in=[pk for pk, _ in rows]))}
    kinds = _content_types()
    items = []
    for page_id, score in rows:
        item = pages[page_id]
        item.kind_code = kinds.get(item.content_type_id, "article")
        item.search_score = score
        items.append(item)
    return ContentListing(items=items, page=page, num_pages=num_pages, total=total)


def _search_ranked_portable(*, terms: list[str], candidates: QuerySet, offset: int,
                            limit: int) -> tuple[list[tuple[int, float]], int, int]:
    """(page id, score) of one page of the ranking and how many pages match (twice: all of them are ranked):
    any database (SQLite's path)."""
    document_frequency = dict(
        ContentSearchTerm.objects.filter(term__in=terms).values_list("term").annotate(n=Count("page_id"))
        .values_list("term", "n")
    )
    if len(document_frequency) < len(terms):  # some term occurs nowhere: no page has all of them
        return [], 0, 0
    # Live content pages stand for the indexed ones (unpublishing empties a page's terms): one cheap count.
    total_pages = max(ContentPage.objects.live().count(), 1)
    idf = {term: math.log(1 + total_pages / document_frequency[term]) for term in terms}
    score = Sum(
        Case(*[When(term=term, then=F("weight") * Value(idf[term])) for term in terms],
             default=Value(0.0), output_field=FloatField())
    )
    ranked = (
        ContentSearchTerm.objects.filter(term__in=terms, page__in=candidates.values("pk"))
        .values("page_id")
        .annotate(matched=Count("term"), score=score)
        .filter(matched=len(terms))
        .order_by("-score", "-page_id")
    )
    total = ranked.count()
    return [(row["page_id"], row["score"]) for row in ranked[offset: offset + limit]], total, total


def _tsquery(terms: list[str]) -> str:
    """Every term, as the lexeme it was indexed as (quoted: no parsing, no stemming), AND-ed."""
    return " & ".join("'" + term.replace("\\", "\\\\").replace("'", "''") + "'" for term in terms)


# The PostgreSQL search ranks at most this many candidates: the pages where the query's rarest term weighs most.
# Exact whenever that term is on no more pages (and for one-term queries always: the order is the score's);
# past it, how many pages match is estimated from the share of candidates that match.
SEARCH_CANDIDATES = 1000
SEARCH_STATS_SECONDS = 3600


def _search_statistics(terms: list[str]) -> tuple[int, dict[str, int]]:
    """(live content pages, {term: pages holding it}) for the idf: read once per content generation (every
    publish and unpublish changes it) and kept in the cache; terms that occur nowhere are left out."""
    import hashlib

    from django.core.cache import cache

    prefix = f"cms:search-stats:{content_generation()}"
    keys = {term: f"{prefix}:{hashlib.md5(term.encode(), usedforsecurity=False).hexdigest()}" for term in terms}
    cached = cache.get_many([f"{prefix}:pages", *keys.values()])
    pages = cached.get(f"{prefix}:pages")
    frequency = {term: cached[key] for term, key in keys.items() if key in cached}
    missing = [term for term in terms if term not in frequency]
    if missing or pages is None:
        rows = dict(ContentSearchTerm.objects.filter(term__in=missing).values_list("term")
                    .annotate(n=Count("page_id")).values_list("term", "n")) if missing else {}
        frequency.update({term: rows.get(term, 0) for term in missing})
        if pages is None:
            pages = ContentPage.objects.live().count()
        cache.set_many({f"{prefix}:pages": pages, **{keys[term]: frequency[term] for term in missing}},
                       timeout=SEARCH_STATS_SECONDS)
    return max(pages, 1), {term: n for term, n in frequency.items() if n}


def _search_ranked_postgresql(*, terms: list[str], candidates: QuerySet, offset: int,
                              limit: int) -> tuple[list[tuple[int, float]], int, int]:
    """`_search_ranked_portable`'s ranking on PostgreSQL with a bounded amount of work, in one statement: the
    candidates are the SEARCH_CANDIDATES pages where the rarest term weighs most (the terms' rank index); the
    visible ones whose tsvector holds every term are counted once and one page of them is scored. Returns
    (page id, score) rows, how many pages match (estimated past SEARCH_CANDIDATES) and how many of them the
    ranking reaches."""
    total_pages, frequency = _search_statistics(terms)
    if len(frequency) < len(terms):  # some term occurs nowhere: no page has all of them
        return [], 0, 0
    idf = {term: math.log(1 + total_pages / frequency[term]) for term in terms}
    rarest = min(terms, key=lambda term: (frequency[term], term))
    visible_sql, visible_params = candidates.order_by().values("pk").query.sql_with_params()
    score = "CASE t.term " + " ".join("WHEN %s THEN t.weight * %s" for _ in terms) + " ELSE 0 END"
    candidates_sql = f"""
        WITH strongest AS MATERIALIZED (
            SELECT s.page_id FROM cms_contentsearchterm s WHERE s.term = %s
            ORDER BY s.weight DESC, s.page_id DESC LIMIT %s
        ), hits AS MATERIALIZED (
            SELECT d.page_id FROM strongest JOIN cms_contentsearchdocument d ON d.page_id = strongest.page_id
            WHERE d.vector @@ %s::tsquery AND d.page_id IN ({visible_sql})
        )"""  # noqa: S608
    sql = candidates_sql + f""", ranked AS (
            SELECT t.page_id, sum({score}) AS score
            FROM hits JOIN cms_contentsearchterm t ON t.page_id = hits.page_id AND t.term = ANY(%s)
            GROUP BY t.page_id
        )
        SELECT ranked.page_id, ranked.score, (SELECT count(*) FROM hits)
        FROM ranked ORDER BY ranked.score DESC, ranked.page_id DESC LIMIT %s OFFSET %s
    """  # noqa: S608
    weights = [value for term in terms for value in (term, idf[term])]
    head = [rarest, SEARCH_CANDIDATES, _tsquery(terms), *visible_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*head, *weights, terms, limit, offset])
        rows = cursor.fetchall()
        if rows:
            found = rows[0][2]
        else:  # nothing on this page: past the last one, or nothing at all
            cursor.execute(candidates_sql + " SELECT count(*) FROM hits", head)  # noqa: S608
            found = cursor.fetchone()[0]
    holding = frequency[rarest]
    total = found if holding <= SEARCH_CANDIDATES else max(found, round(found * holding / SEARCH_CANDIDATES))
    return [(page_id, score) for page_id, score, _ in rows], total, found


def access_content(*, user, content_id: int) -> tuple[ContentPage, ContentAccess]:
    """The one access rule for content by id: the live page with `content_gate`'s decision for `user` (whose
    gate tells them how to become eligible); NotFound for unknown or expired pages, 410 for withdrawn ones."""
    page_id = content_id
    page = ContentPage.objects.filter(pk=page_id).first()
    if page is not None and page.is_withdrawn:
        # Links already shared to a withdrawn or expired page get an explanation, not a bare 404.
        raise DomainError("content_withdrawn", _("This content has been withdrawn: its medical and compliance "
                                                 "approval has expired or it was taken offline."), status=410)
    page = Page.objects.live().filter(pk=page_id).type(ContentPage).first()
    if page is None:
        raise NotFound("content_not_found", _("No such content."))
    page = page.specific
    decision = content_gate(user=user, page=page)
    if decision.reason == "unavailable":
        raise NotFound("content_not_found", _("No such content."))
    return page, decision


@dataclass
class HomeSections:
    specialty_content: list[ContentPage] = field(default_factory=list)
    latest: list[ContentPage] = field(default_factory=list)
    specialties: list[TherapyArea] = field(default_factory=list)
    areas: list[TherapyAreaPage] = field(default_factory=list)
    extra: list[PageSection] = field(default_factory=list)  # other apps' sections (HOME_SECTIONS_HOOK), first
    show_join: bool = False


# The anonymous home page is the same for every visitor: its content fragment is cached under the content
# generation (cms.pages.services.content_generation_bump, on every publish and unpublish) for at most this long,
# which also bounds how long a card of content that has just expired stays on it.
HOME_FRAGMENT_SECONDS = 60
CONTENT_GENERATION_KEY = "cms:content-generation"


def content_generation() -> str:
    """A token that changes whenever a page is published or unpublished ('' when the cache is unreachable)."""
    from uuid import uuid4

    from django.core.cache import cache

    return cache.get_or_set(CONTENT_GENERATION_KEY, lambda: uuid4().hex, timeout=None) or ""


def home_fragment_key(*, user) -> str:
    """The cache key part of the home page's content for `user`: shared by everyone who sees the same page (an
    anonymous visitor: the public audience, nothing personal), '' for a person whose page is their own."""
    if access_level_of(user) != AccessLevel.ANONYMOUS:
        return ""
    generation = content_generation()
    return f"{AccessLevel.ANONYMOUS.name.lower()}:{generation}" if generation else ""


def home_sections_for(*, user, limit: int = 6) -> HomeSections:
    """What the home page shows: a doctor's new content in their specialties, otherwise the latest they may read."""
    sections = HomeSections(areas=list(TherapyAreaPage.objects.live().order_by("path")))
    level = access_level_of(user)
    sections.show_join = level == AccessLevel.ANONYMOUS
    visible = _with_card_data(content_visible_to(user)).order_by("-first_published_at", "-pk")
    if level >= AccessLevel.REGISTERED:
        sections.specialties = list(TherapyArea.objects.filter(doctors__user=user))
        if sections.specialties:
            since = timezone.now() - timedelta(days=90)
            sections.specialty_content = list(
                visible.filter(therapy_areas__in=sections.specialties, first_published_at__gte=since).distinct()[:limit]
            )
    shown = {page.pk for page in sections.specialty_content}
    sections.latest = [page for page in visible[: limit + len(shown)] if page.pk not in shown][:limit]
    kinds = _content_types()
    for page in [*sections.specialty_content, *sections.latest]:
        page.kind_code = kinds.get(page.content_type_id, "article")
    sections.extra = page_sections(HOME_SECTIONS_HOOK, user=user)
    return sections


def document_readable_by(*, user, document) -> bool:
    """A document is served to those who may read a live content page that shows it.

    The links are written when a page is published (cms.pages.services.content_index_page). A literature page's
    full text counts only when its download is allowed. A document no content page shows is for staff only.
    """
    if _reads_everything(user):
        return True
    pages = ContentDocumentLink.objects.filter(document_id=document.pk, downloadable=True).values("page_id")
    return content_visible_to(user).filter(pk__in=pages).exists()


def access_image_file(*, user, name: str) -> int:
    """The one access rule for a gated image file (original or rendition) by its name: the image's id when `user`
    may read a live content page that shows the image (`content_visible_to`, the rule of `access_content`);
    NotFound for a name that is no gated file of that image, PermissionDenied otherwise.

    An image no gated page shows any longer (its pages were unpublished, or a public page shows it) is readable
    by everyone until its next publish moves it back to public storage.
    """
    from wagtail.images import get_image_model

    image_id = gated_image_id(name)
    image_model = get_image_model()
    exists = image_id is not None and (
        image_model.objects.filter(pk=image_id, file=name).exists()
        or image_model.get_rendition_model().objects.filter(image_id=image_id, file=name).exists()
    )
    if not exists:
        raise NotFound("image_not_found", _("No such image."))
    if _reads_everything(user):
        return image_id
    pages = ContentImageLink.objects.filter(image_id=image_id).values("page_id")
    if not ContentPage.objects.filter(pk__in=pages).exclude(audience=Audience.PUBLIC).live().exists():
        return image_id
    if not content_visible_to(user).filter(pk__in=pages).exists():
        raise PermissionDenied("image_gated", _("Sign in as a verified healthcare professional to see this image."))
    return image_id
