"""The portal's pages: home, therapy-area indexes and the academic content pages (articles, literature, videos).

Content pages share one concrete base, `ContentPage`, so listings, search, home sections and the API read one
table for what every content page has (audience, summary, therapy areas, tags, approval code, expiry).
Who may read what is decided only in cms.pages.selectors.
"""

from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page
from wagtail.search import index

from cms.blocks import ArticleBodyBlock, ChapterBlock, validate_doi, validate_hls_url, validate_pmid
from members.accounts.selectors import AccessLevel


class Audience(models.TextChoices):
    """Who may read a page. Ordered like members.accounts.selectors.AccessLevel."""

    PUBLIC = "public", _("Everyone")
    REGISTERED = "registered", _("Registered members")
    VERIFIED = "verified", _("Verified healthcare professionals")
    KOL = "kol", _("KOLs and speakers")


AUDIENCE_LEVEL = {
    Audience.PUBLIC: AccessLevel.ANONYMOUS,
    Audience.REGISTERED: AccessLevel.REGISTERED,
    Audience.VERIFIED: AccessLevel.VERIFIED,
    Audience.KOL: AccessLevel.KOL,
}


def audiences_for(level: AccessLevel) -> list[str]:
    """The audiences a person at `level` may read."""
    return [audience.value for audience, needed in AUDIENCE_LEVEL.items() if needed <= level]


class HomePage(Page):
    """The portal's front page: a welcome for everyone, the doctor's own sections once signed in."""

    headline = models.CharField(_("headline"), max_length=200, blank=True)
    intro = RichTextField(_("introduction"), blank=True)

    content_panels = [*Page.content_panels, FieldPanel("headline"), FieldPanel("intro")]

    max_count = 1
    template = "cms/pages/home_page.html"
    subpage_types = ["cms.TherapyAreaPage", "events.EventIndexPage", "learning.CourseIndexPage",
                     "learning.KnowledgeIndexPage"]

    class Meta:
        verbose_name = _("home page")

    def get_context(self, request, *args, **kwargs):
        from django.utils.functional import SimpleLazyObject

        # a page serving itself: the selectors import this module
        from cms.pages.selectors import HOME_FRAGMENT_SECONDS, home_fragment_key, home_sections_for

        context = super().get_context(request, *args, **kwargs)
        # Read only when the template renders them: not at all when the cached fragment is used.
        context["sections"] = SimpleLazyObject(lambda: home_sections_for(user=request.user))
        context["fragment_key"] = home_fragment_key(user=request.user)
        context["fragment_seconds"] = HOME_FRAGMENT_SECONDS
        return context

    def serve(self, request, *args, **kwargs):
        from cms.pages.middleware import public_page_cache_allow  # page-as-view: it imports the selectors
        from cms.pages.selectors import HOME_FRAGMENT_SECONDS  # page-as-view: selectors import pages

        response = super().serve(request, *args, **kwargs)
        if not request.user.is_authenticated:  # a visitor's home page is everyone's
            public_page_cache_allow(response, HOME_FRAGMENT_SECONDS)
        return response


class TherapyAreaPage(Page):
    """糖尿病, 心血管, 肿瘤 …: an index of the content of one therapy area, filtered and paginated."""

    therapy_area = models.OneToOneField(
        "members.TherapyArea", on_delete=models.PROTECT, related_name="index_page", verbose_name=_("therapy area")
    )
    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = [*Page.content_panels, FieldPanel("therapy_area"), FieldPanel("intro")]

    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.ArticlePage", "cms.LiteraturePage", "cms.VideoPage"]
    template = "cms/pages/therapy_area_page.html"

    class Meta:
        verbose_name = _("therapy area page")

    def get_context(self, request, *args, **kwargs):
        from cms.pages.selectors import ContentFilter, therapy_area_listing  # page-as-view: selectors import pages

        context = super().get_context(request, *args, **kwargs)
        content_filter = ContentFilter.from_query(request.GET)
        context["filter"] = content_filter
        context["listing"] = therapy_area_listing(user=request.user, index=self, content_filter=content_filter)
        return context


class ContentPageTag(TaggedItemBase):
    content_object = ParentalKey("cms.ContentPage", on_delete=models.CASCADE, related_name="tagged_items")


class ReviewedPageMixin:
    """A page that goes live only with a revision approved by medical and compliance review (content pages and
    meeting pages). Every publish path (admin, workflow, scheduled, scripts) ends in `publish` or `save`."""

    review_required = True
    # The middle part of the approval code (CN-<code>-<year>-<n>); None: the page's therapy area.
    approval_area_code: str | None = None

    def publish(self, revision, *args, **kwargs):
        from cms.review.services import (
            content_check_publishable,  # a page's publish asks the review, which imports pages
        )

        content_check_publishable(revision=revision)
        return super().publish(revision, *args, **kwargs)

    def save(self, *args, **kwargs):
        """New pages start as drafts, and a page cannot be switched live by a plain save."""
        from cms.review.services import content_check_publishable  # a page's save asks the review, which imports pages

        if self._state.adding:
            self.live = False
        elif self.live:
            stored = Page.objects.filter(pk=self.pk).values("live", "live_revision_id").first() or {}
            if not stored.get("live") or stored.get("live_revision_id") != self.live_revision_id:
                # Going live, or live with another revision: only with an approved one.
                content_check_publishable(revision=self.live_revision if self.live_revision_id else None)
        return super().save(*args, **kwargs)


class ContentPage(ReviewedPageMixin, Page):
    """What every academic content page has. Not created directly: articles, literature and videos are."""

    audience = models.CharField(
        _("audience"), max_length=12, choices=Audience.choices, default=Audience.VERIFIED, db_index=True,
        help_text=_("Academic and product content is for verified healthcare professionals."),
    )
    summary = models.TextField(_("summary"), max_length=500, blank=True)
    cover_image = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("cover image"),
    )
    therapy_areas = ParentalManyToManyField("members.TherapyArea", blank=True, related_name="content_pages",
                                            verbose_name=_("therapy areas"))
    products = ParentalManyToManyField("cms.Product", blank=True, related_name="content_pages",
                                       verbose_name=_("products"))
    tags = ClusterTaggableManager(through=ContentPageTag, blank=True, verbose_name=_("tags"))
    # Set by the medical-legal review (cms.review): the code printed in the footer and when approval lapses.
    approval_code = models.CharField(_("approval code"), max_length=40, blank=True, default="", db_index=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)

    is_creatable = False
    parent_page_types = ["cms.TherapyAreaPage"]
    subpage_types: list[str] = []

    search_fields = [
        *Page.search_fields,
        index.SearchField("summary"),
        index.FilterField("audience"),
    ]

    audience_panels = [
        MultiFieldPanel(
            [FieldPanel("audience"), FieldPanel("therapy_areas"), FieldPanel("products"), FieldPanel("tags")],
            heading=_("Audience and classification"),
        )
    ]

    class Meta:
        verbose_name = _("content page")
        indexes = [models.Index(fields=["audience", "expires_at"], name="contentpage_gate_idx")]

    @property
    def kind(self) -> str:
        return self.specific_class._meta.model_name.removesuffix("page") if self.specific_class else "content"

    @property
    def for_professionals(self) -> bool:
        return self.audience in (Audience.VERIFIED, Audience.KOL)

    def search_text_parts(self) -> list[tuple[str, float]]:
        """(text, weight) pairs the Chinese search index is built from; subclasses add their own fields."""
        return [(self.title, 10.0), (self.summary, 4.0)]

    def get_sitemap_urls(self, request=None):
        # Search engines are anonymous: only public content belongs in any sitemap.
        return super().get_sitemap_urls(request) if self.audience == Audience.PUBLIC else []

    def used_documents(self) -> list[tuple[object, bool]]:
        """(document, downloadable) pairs this page shows; the document view serves only these."""
        return []

    def used_image_ids(self) -> set[int]:
        """The images this page shows: its cover, and what subclasses add (figures, posters)."""
        return {self.cover_image_id} if self.cover_image_id else set()

    @property
    def is_withdrawn(self) -> bool:
        """Was published once, and is now unpublished or past its approval's expiry."""
        from django.utils import timezone

        expired = self.expires_at is not None and self.expires_at <= timezone.now()
        return bool(self.first_published_at) and (not self.live or expired)

    def route(self, request, path_components):
        from wagtail.url_routing import RouteResult

        if not path_components and not self.live and self.first_published_at:
            return RouteResult(self)  # links already shared: serve() answers 410 with an explanation
        return super().route(request, path_components)

    # The editor's live preview opens at the size of a phone in WeChat, where most doctors read.
    preview_sizes = [
        {"name": "wechat", "icon": "mobile-alt", "device_width": 375, "label": _("Preview on a phone in WeChat")},
        {"name": "android", "icon": "mobile-alt", "device_width": 360, "label": _("Preview on a small Android phone")},
        {"name": "tablet", "icon": "tablet-alt", "device_width": 768, "label": _("Preview in tablet size")},
        {"name": "desktop", "icon": "desktop", "device_width": 1280, "label": _("Preview in desktop size")},
    ]

    @property
    def preview_modes(self):
        return [("", _("As a reader who may read it")), ("gate", _("As a visitor without access"))]

    def serve_preview(self, request, mode_name):
        if mode_name != "gate":
            return super().serve_preview(request, mode_name)
        from django.contrib.auth.models import AnonymousUser
        from django.template.response import TemplateResponse

        from cms.pages.selectors import content_gate  # page-as-view: selectors import pages

        decision = content_gate(user=AnonymousUser(), page=self, preview=True)
        return TemplateResponse(request, "cms/pages/content_gate.html",
                                {"page": self, "self": self, "decision": decision, "request": request})

    def serve(self, request, *args, **kwargs):
        from cms.pages.selectors import content_gate  # page-as-view: selectors import pages
        from cms.reading.services import forwarded_ref, reading_open  # page-as-view: selectors import pages

        if self.is_withdrawn:
            from django.template.response import TemplateResponse

            response = TemplateResponse(request, "cms/pages/content_withdrawn.html", {"page": self}, status=410)
            response["Cache-Control"] = "private, no-cache"
            return response

        ref = forwarded_ref(request, self)
        decision = content_gate(user=request.user, page=self)
        if not decision.allowed:
            from django.template.response import TemplateResponse

            response = TemplateResponse(
                request, "cms/pages/content_gate.html",
                {"page": self, "self": self, "decision": decision, "request": request}, status=403,
            )
        else:
            if request.user.is_authenticated:
                request.reading_record = reading_open(doctor=request.user, page=self, ref=ref)
            response = super().serve(request, *args, **kwargs)
        if self.audience != Audience.PUBLIC:
            # Gated pages differ per person: never stored by a shared cache.
            response["Cache-Control"] = "private, no-cache"
        return response


class ArticlePage(ContentPage):
    body = StreamField(ArticleBodyBlock(), verbose_name=_("body"), blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("cover_image"),
        FieldPanel("body"),
        *ContentPage.audience_panels,
    ]
    search_fields = [*ContentPage.search_fields, index.SearchField("body")]
    template = "cms/pages/article_page.html"

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")

    def search_text_parts(self):
        return [*super().search_text_parts(), (stream_text(self.body), 1.0)]

    def used_documents(self):
        return [(block.value[name], True) for block in self.body if block.block_type in {"video", "document"}
                for name in ("video", "document") if block.value.get(name)]

    def used_image_ids(self):
        images = {block.value.get(name) for block in self.body if block.block_type in {"image", "video"}
                  for name in ("image", "poster")}
        return super().used_image_ids() | {image.pk for image in images if image is not None}


class LiteraturePage(ContentPage):
    journal = models.CharField(_("journal"), max_length=200)
    authors = models.CharField(_("authors"), max_length=500, help_text=_("As cited, e.g. Zhang S, Li W, et al."))
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    doi = models.CharField(_("DOI"), max_length=200, blank=True, validators=[validate_doi])
    pmid = models.CharField(_("PMID"), max_length=9, blank=True, validators=[validate_pmid])
    abstract = RichTextField(_("abstract"), features=["bold", "italic", "superscript", "subscript"])
    full_text = models.ForeignKey(
        "wagtaildocs.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("full text (PDF)"),
    )
    download_allowed = models.BooleanField(
        _("full text may be downloaded"), default=False,
        help_text=_("Only when the publisher's licence allows sharing the full text."),
    )

    content_panels = [
        *Page.content_panels,
        MultiFieldPanel(
            [FieldPanel("journal"), FieldPanel("authors"),
             FieldRowPanel([FieldPanel("year"), FieldPanel("doi"), FieldPanel("pmid")])],
            heading=_("Citation"),
        ),
        FieldPanel("summary"),
        FieldPanel("abstract"),
        FieldRowPanel([FieldPanel("full_text"), FieldPanel("download_allowed")]),
        FieldPanel("cover_image"),
        *ContentPage.audience_panels,
    ]
    search_fields = [*ContentPage.search_fields, index.SearchField("abstract"), index.SearchField("journal"),
                     index.SearchField("authors")]
    template = "cms/pages/literature_page.html"

    class Meta:
        verbose_name = _("literature")
        verbose_name_plural = _("literature")

    def clean(self):
        super().clean()
        if self.download_allowed and not self.full_text_id:
            raise ValidationError({"download_allowed": _("Choose the full-text PDF before allowing downloads.")})

    def search_text_parts(self):
        return [*super().search_text_parts(), (f"{self.journal} {self.authors}", 2.0),
                (strip_html(self.abstract), 1.0)]

    def used_documents(self):
        return [(self.full_text, self.download_allowed)] if self.full_text else []


class VideoPage(ContentPage):
    video_file = models.ForeignKey(
        "wagtaildocs.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("video file"), help_text=_("An MP4 file; it is served only to people who may watch."),
    )
    stream_url = models.URLField(_("streaming URL (HLS)"), blank=True, validators=[validate_hls_url])
    duration = models.DurationField(_("duration"), null=True, blank=True)
    chapters = StreamField([("chapter", ChapterBlock())], verbose_name=_("chapters"), blank=True)
    transcript = models.TextField(_("transcript"), blank=True)

    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldRowPanel([FieldPanel("video_file"), FieldPanel("stream_url")]),
        FieldPanel("duration"),
        FieldPanel("cover_image"),
        FieldPanel("chapters"),
        FieldPanel("transcript"),
        *ContentPage.audience_panels,
    ]
    search_fields = [*ContentPage.search_fields, index.SearchField("transcript")]
    template = "cms/pages/video_page.html"

    class Meta:
        verbose_name = _("video")
        verbose_name_plural = _("videos")

    def clean(self):
        super().clean()
        if bool(self.video_file_id) == bool(self.stream_url):
            message = _("Choose a video file or enter a streaming URL, not both.")
            raise ValidationError({"video_file": message, "stream_url": message})

    def search_text_parts(self):
        chapters = " ".join(block.value["title"] for block in self.chapters)
        return [*super().search_text_parts(), (chapters, 2.0), (self.transcript, 1.0)]

    def used_documents(self):
        return [(self.video_file, True)] if self.video_file else []


def strip_html(html: str) -> str:
    from django.utils.html import strip_tags

    return strip_tags(html or "")


def stream_text(stream) -> str:
    """The readable text of a StreamField: rich text, headings, captions, quotes, table cells, citations."""
    parts: list[str] = []

    def walk(value):
        if value is None:
            return
        if hasattr(value, "source"):  # RichText
            parts.append(strip_html(value.source))
        elif isinstance(value, str):
            parts.append(value)
        elif isinstance(value, dict):
            if "data" in value and isinstance(value.get("data"), list):  # table block
                for row in value["data"]:
                    parts.extend(str(cell) for cell in row if cell)
                return
            for key, item in value.items():
                if key not in {"level", "kind", "stream_url"}:
                    walk(item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif hasattr(value, "raw_data") or hasattr(value, "__iter__"):
            for item in value:
                walk(getattr(item, "value", item))

    for block in stream:
        walk(block.value)
    return "\n".join(part for part in parts if part)


class ContentDocumentLink(models.Model):
    """A document (PDF, video file) used by a published content page; the document view serves by these rows.

    Written by cms.pages.services.content_index_page on every publish. `downloadable` is false for a literature page's
    full text whose licence does not allow downloads.
    """

    page = models.ForeignKey("cms.ContentPage", on_delete=models.CASCADE, related_name="document_links")
    document = models.ForeignKey("wagtaildocs.Document", on_delete=models.CASCADE, related_name="+")
    downloadable = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["document", "page"], name="contentdocumentlink_unique")]

    def __str__(self):
        return f"{self.page_id} -> {self.document_id}"


class ContentImageLink(models.Model):
    """An image shown by a published content page (cover, figures, video posters): an image used by a page whose
    audience is above anonymous is gated and served through the checked view to those who may read such a page.

    Written by cms.pages.services.content_index_page on every publish, removed on unpublish.
    """

    page = models.ForeignKey("cms.ContentPage", on_delete=models.CASCADE, related_name="image_links")
    image = models.ForeignKey("wagtailimages.Image", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["image", "page"], name="contentimagelink_unique")]

    def __str__(self):
        return f"{self.page_id} -> image {self.image_id}"


class Product(models.Model):
    """A marketed medicine that content pages may be about (registered as a snippet in the admin)."""

    name = models.CharField(_("brand name"), max_length=100, unique=True)
    generic_name = models.CharField(_("generic name"), max_length=200, blank=True)
    therapy_area = models.ForeignKey(
        "members.TherapyArea", null=True, blank=True, on_delete=models.SET_NULL, related_name="products",
        verbose_name=_("therapy area"),
    )
    approval_number = models.CharField(
        _("NMPA approval number"), max_length=50, blank=True, help_text=_("e.g. 国药准字H20123456")
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}（{self.generic_name}）" if self.generic_name else self.name


class ContentSearchTerm(models.Model):
    """One segmented term of a live content page with its weight: the inverted index behind Chinese search.

    Built by cms.pages.services.content_index_page from the page's title, summary and body segmented with jieba.
    The same table and query serve SQLite and PostgreSQL, so ranking does not depend on the database.
    """

    page = models.ForeignKey("cms.ContentPage", on_delete=models.CASCADE, related_name="search_terms")
    term = models.CharField(max_length=64)
    weight = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "page"], name="contentsearchterm_unique")]
        # The pages where a term weighs most, first: the PostgreSQL search's candidates (cms.pages.selectors).
        indexes = [models.Index(fields=["term", "-weight", "-page"], name="contentsearchterm_rank_idx")]

    def __str__(self):
        return f"{self.term} ({self.weight:.2f})"


class ContentSearchDocument(models.Model):
    """The terms of one live content page as a PostgreSQL `tsvector` (jieba terms as lexemes, used as they are):
    with its GIN index, the PostgreSQL search finds the pages holding every term of a query in the index.

    Written next to the page's ContentSearchTerm rows by cms.pages.services.content_index_page, which keep the
    weights the ranking uses. Filled on PostgreSQL only; the SQLite search reads ContentSearchTerm alone.
    """

    page = models.OneToOneField("cms.ContentPage", primary_key=True, on_delete=models.CASCADE,
                                related_name="search_document")
    vector = SearchVectorField()

    def __str__(self):
        return f"search document of page {self.page_id}"
