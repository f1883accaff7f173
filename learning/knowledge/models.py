"""The reps' product knowledge base (FAQ, objection handling, indications, compliance rules) and their questions
to medical.

Entries are Wagtail pages under one `KnowledgeIndexPage`, each about one product, and go live only through the
medical → compliance review like content (cms.pages.models.ReviewedPageMixin). They are searched with the content
app's Chinese segmentation (cms.pages.search) over their own term table, `KnowledgeSearchTerm`.
A rep's `KnowledgeQuestion` is answered by medical in the admin; an answer can become a draft entry that then
passes the same review.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel
from wagtail.fields import RichTextField
from wagtail.models import Page

from cms.pages.models import ReviewedPageMixin, strip_html


class KnowledgeKind(models.TextChoices):
    FAQ = "faq", _("Frequently asked question")
    OBJECTION = "objection", _("Objection handling")
    INDICATION = "indication", _("Indications")
    COMPLIANCE = "compliance_rule", _("Compliance rule")


class KnowledgeIndexPage(Page):
    """/knowledge/: search and browse the knowledge base by product (reps and staff only)."""

    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["learning.KnowledgeEntryPage"]
    max_count = 1
    template = "learning/knowledge/knowledge_index_page.html"

    class Meta:
        verbose_name = _("knowledge base")

    def get_context(self, request, *args, **kwargs):
        from learning.knowledge.selectors import KnowledgeFilter, knowledge_search  # page-as-view: selectors

        context = super().get_context(request, *args, **kwargs)
        knowledge_filter = KnowledgeFilter.from_query(request.GET)
        context["filter"] = knowledge_filter
        context["querystring"] = knowledge_filter.querystring
        context["kinds"] = KnowledgeKind.choices
        context["listing"] = knowledge_search(user=request.user, knowledge_filter=knowledge_filter)
        return context

    def serve(self, request, *args, **kwargs):
        from learning.knowledge.selectors import knowledge_refusal  # page-as-view: selectors import pages

        refusal = knowledge_refusal(user=request.user)
        if refusal is not None:
            return _refused(request, refusal)
        return _private(super().serve(request, *args, **kwargs))


class KnowledgeEntryPage(ReviewedPageMixin, Page):
    product = models.ForeignKey("cms.Product", on_delete=models.PROTECT, related_name="knowledge_entries",
                                verbose_name=_("product"))
    kind = models.CharField(_("kind"), max_length=20, choices=KnowledgeKind.choices, default=KnowledgeKind.FAQ,
                            db_index=True)
    summary = models.TextField(_("summary"), max_length=500, blank=True,
                               help_text=_("The short answer a rep can say in one breath."))
    body = RichTextField(_("answer"), features=["bold", "italic", "ol", "ul", "link", "superscript", "subscript"])
    references = models.TextField(_("references"), blank=True)
    source_question = models.ForeignKey("learning.KnowledgeQuestion", null=True, blank=True,
                                        on_delete=models.SET_NULL, related_name="+",
                                        verbose_name=_("from the question"))
    # Set by the review (cms.review.services.content_apply_approval).
    approval_code = models.CharField(_("approval code"), max_length=40, blank=True, default="", db_index=True)

    approval_area_code = "KB"  # approval codes CN-KB-<year>-<n>
    content_panels = [
        *Page.content_panels,
        FieldRowPanel([FieldPanel("product"), FieldPanel("kind")]),
        FieldPanel("summary"),
        FieldPanel("body"),
        FieldPanel("references"),
    ]
    parent_page_types = ["learning.KnowledgeIndexPage"]
    subpage_types: list[str] = []
    template = "learning/knowledge/knowledge_entry_page.html"

    class Meta:
        verbose_name = _("knowledge base entry")
        verbose_name_plural = _("knowledge base entries")

    def search_text_parts(self) -> list[tuple[str, float]]:
        """(text, weight) pairs for cms.pages.search.index_terms, as content pages give them."""
        product = self.product
        return [(self.title, 10.0), (f"{product.name} {product.generic_name}", 6.0), (self.summary, 4.0),
                (strip_html(self.body), 1.0), (self.references, 0.5)]

    def publish(self, revision, *args, **kwargs):
        from learning.knowledge.services import knowledge_index_entry  # every publish path ends here

        result = super().publish(revision, *args, **kwargs)
        knowledge_index_entry(entry_id=self.pk)
        return result

    def unpublish(self, *args, **kwargs):
        from learning.knowledge.services import knowledge_index_entry  # every unpublish path ends here

        result = super().unpublish(*args, **kwargs)
        knowledge_index_entry(entry_id=self.pk)
        return result

    def serve(self, request, *args, **kwargs):
        from learning.knowledge.selectors import knowledge_refusal  # page-as-view: selectors import pages

        refusal = knowledge_refusal(user=request.user)
        if refusal is not None:
            return _refused(request, refusal)
        return _private(super().serve(request, *args, **kwargs))


def _refused(request, refusal):
    """Sign-in first for visitors; a clear page for signed-in people who may not read the knowledge base."""
    from django.contrib.auth.views import redirect_to_login
    from django.template.response import TemplateResponse

    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return _private(TemplateResponse(request, "learning/knowledge/not_allowed.html", {"error": refusal},
                                     status=refusal.status))


def _private(response):
    # Internal training material, per person: never stored by a shared cache.
    response["Cache-Control"] = "private, no-cache"
    return response


class KnowledgeSearchTerm(models.Model):
    """One segmented term of a live entry with its weight (the content search's scheme: cms.ContentSearchTerm)."""

    entry = models.ForeignKey(KnowledgeEntryPage, on_delete=models.CASCADE, related_name="search_terms")
    term = models.CharField(max_length=64)
    weight = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["term", "entry"], name="knowledgesearchterm_unique")]

    def __str__(self):
        return f"{self.term} ({self.weight:.2f})"


class QuestionStatus(models.TextChoices):
    OPEN = "open", _("Waiting for medical")
    ANSWERED = "answered", _("Answered")


class KnowledgeQuestion(models.Model):
    """A rep's question to medical, asked from any page, answered in the admin."""

    asker = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="medical_questions",
                              verbose_name=_("asked by"))
    client_token = models.UUIDField(default=uuid.uuid4, editable=False)  # the form's: a double submit asks once
    product = models.ForeignKey("cms.Product", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="medical_questions", verbose_name=_("product"))
    question = models.TextField(_("question"), max_length=2000)
    asked_from = models.CharField(_("asked from page"), max_length=500, blank=True, default="")
    status = models.CharField(_("status"), max_length=10, choices=QuestionStatus.choices,
                              default=QuestionStatus.OPEN, db_index=True)
    answer = models.TextField(_("answer"), blank=True, default="")
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("answered by"))
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    entry = models.ForeignKey(KnowledgeEntryPage, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", verbose_name=_("knowledge base entry"))
    created_at = models.DateTimeField(_("asked"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("question to medical")
        verbose_name_plural = _("questions to medical")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["asker", "client_token"], name="knowledgequestion_once_per_token"),
            models.CheckConstraint(condition=Q(status="open") | (~Q(answer="") & Q(answered_at__isnull=False)),
                                   name="knowledgequestion_answered_has_answer"),
        ]

    def __str__(self):
        return self.question[:60]
