"""Courses and lessons as Wagtail pages, and each learner's progress through them.

A course about a product goes live only through the medical → compliance review, like content, and its approval
expires like content's (cms.review); a course without a product (compliance, skills) is internal training.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from modelcluster.fields import ParentalManyToManyField
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page

from cms.pages.models import ReviewedPageMixin
from engage.core.errors import DomainError
from learning.blocks import LessonBodyBlock


class CourseAudience(models.TextChoices):
    REPS = "reps", _("Sales reps")
    DOCTORS = "doctors", _("Doctors")


class CompletionRule(models.TextChoices):
    LESSONS_AND_EXAM = "lessons_and_exam", _("All lessons and the final exam passed")
    LESSONS = "lessons", _("All lessons")


class CourseIndexPage(Page):
    """/learning/: the list of courses."""

    intro = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    content_panels = [*Page.content_panels, FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["learning.CoursePage"]
    max_count = 1
    template = "learning/courses/course_index_page.html"

    class Meta:
        verbose_name = _("course index")

    def get_context(self, request, *args, **kwargs):
        from learning.courses.selectors import course_listing  # page-as-view: selectors import pages

        context = super().get_context(request, *args, **kwargs)
        context["courses"] = course_listing(user=request.user)
        return context


class ReviewedWhenAboutProductMixin(ReviewedPageMixin):
    """Reviewed like content when the course is about a product; internal training publishes as usual."""

    def _course(self):
        """The course that decides: the page itself when it is a course, otherwise the course it sits in (None
        while a new lesson has no place in the tree yet, or outside a course)."""
        if isinstance(self, CoursePage):
            return self
        if self.pk is None and not self.path:
            return None
        parent = self.get_parent() if self.depth and self.depth > 1 else None
        return parent.specific if parent is not None and isinstance(parent.specific, CoursePage) else None

    @property
    def needs_review(self) -> bool:
        course = self._course()
        return course is not None and course.product_id is not None

    def publish(self, revision, *args, **kwargs):
        if self.needs_review:
            return super().publish(revision, *args, **kwargs)
        return Page.publish(self, revision, *args, **kwargs)

    def save(self, *args, **kwargs):
        if self.needs_review:
            return super().save(*args, **kwargs)
        return Page.save(self, *args, **kwargs)


class CoursePage(ReviewedWhenAboutProductMixin, Page):
    summary = models.TextField(_("summary"), max_length=500, blank=True)
    cover_image = models.ForeignKey("wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("cover image"))
    product = models.ForeignKey("cms.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="courses", verbose_name=_("product"),
                                help_text=_("A course about a product is reviewed by medical and compliance."))
    therapy_area = models.ForeignKey("members.TherapyArea", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="courses", verbose_name=_("therapy area"))
    audience = models.CharField(_("audience"), max_length=10, choices=CourseAudience.choices,
                                default=CourseAudience.REPS, db_index=True)
    estimated_minutes = models.PositiveIntegerField(_("estimated time (minutes)"), default=30)
    prerequisites = ParentalManyToManyField("learning.CoursePage", blank=True, related_name="required_by",
                                            verbose_name=_("prerequisites"))
    completion_rule = models.CharField(_("completion rule"), max_length=20, choices=CompletionRule.choices,
                                       default=CompletionRule.LESSONS_AND_EXAM)
    final_exam = models.ForeignKey("learning.Exam", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="final_of_courses", verbose_name=_("final exam"))
    points_rule = models.ForeignKey(
        "members.PointsRule", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("points rule"), help_text=_("Doctor courses only: the academic points paid on completion."))
    # Set by the review (cms.review.services.content_apply_approval), like content pages.
    approval_code = models.CharField(_("approval code"), max_length=40, blank=True, default="")
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True, db_index=True)

    approval_expires = True  # cms.review: an approved product course expires like content
    content_panels = [
        *Page.content_panels,
        FieldPanel("summary"),
        FieldPanel("cover_image"),
        MultiFieldPanel([FieldPanel("product"), FieldPanel("therapy_area"), FieldPanel("audience")],
                        heading=_("Audience and classification")),
        MultiFieldPanel([FieldPanel("estimated_minutes"), FieldPanel("prerequisites"),
                         FieldPanel("completion_rule"), FieldPanel("final_exam"), FieldPanel("points_rule")],
                        heading=pgettext_lazy("course", "Completion")),
    ]
    parent_page_types = ["learning.CourseIndexPage"]
    subpage_types = ["learning.LessonPage"]
    template = "learning/courses/course_page.html"

    class Meta:
        verbose_name = _("course")
        verbose_name_plural = _("courses")

    @property
    def approval_area_code(self) -> str:
        return (self.therapy_area.code[:3] if self.therapy_area_id else "lrn")

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def get_context(self, request, *args, **kwargs):
        from learning.courses.selectors import course_outline  # page-as-view: selectors import pages

        context = super().get_context(request, *args, **kwargs)
        context["outline"] = course_outline(user=request.user, course=self)
        return context

    def serve(self, request, *args, **kwargs):
        from learning.courses.selectors import course_gate  # page-as-view: selectors import pages

        refusal = course_gate(user=request.user, course=self)
        if refusal is not None:
            return refusal.response(request, course=self)
        return super().serve(request, *args, **kwargs)


class LessonPage(ReviewedWhenAboutProductMixin, Page):
    """One lesson of a course. A SCORM lesson is a LessonPage with a learning.scorm package attached."""

    summary = models.TextField(_("summary"), max_length=500, blank=True)
    estimated_minutes = models.PositiveIntegerField(_("estimated time (minutes)"), default=10)
    body = StreamField(LessonBodyBlock(), blank=True, verbose_name=_("body"))
    approval_code = models.CharField(_("approval code"), max_length=40, blank=True, default="")

    content_panels = [*Page.content_panels, FieldPanel("summary"), FieldPanel("estimated_minutes"),
                      FieldPanel("body")]
    parent_page_types = ["learning.CoursePage"]
    subpage_types: list[str] = []
    template = "learning/courses/lesson_page.html"

    class Meta:
        verbose_name = _("lesson")
        verbose_name_plural = _("lessons")

    @property
    def approval_area_code(self) -> str:
        course = self._course()
        return course.approval_area_code if course else "lrn"

    def get_context(self, request, *args, **kwargs):
        from learning.courses.selectors import lesson_page_context  # page-as-view: selectors import pages

        context = super().get_context(request, *args, **kwargs)
        context.update(lesson_page_context(request=request, lesson=self))
        return context

    def serve(self, request, *args, **kwargs):
        from learning.courses.selectors import can_take_course, course_gate  # page-as-view: selectors import pages

        course = self._course()
        refusal = course_gate(user=request.user, course=course) if course else None
        if refusal is not None:
            return refusal.response(request, course=course)
        if course is not None and can_take_course(request.user, course):
            from learning.courses.services import lesson_open  # page-as-view: services import pages

            try:
                lesson_open(user=request.user, lesson=self)
            except DomainError as error:  # e.g. prerequisites missing: the page says so
                request.lesson_refusal = error.message
        response = super().serve(request, *args, **kwargs)
        response["Cache-Control"] = "private, no-cache"
        return response


class LessonProgress(models.Model):
    """One learner's progress through one lesson: when started, visible time spent, completed, where to resume."""

    wagtail_reference_index_ignore = True  # a learner's run-time rows, not content: no reference-index work per save

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lesson_progress")
    lesson = models.ForeignKey("learning.LessonPage", on_delete=models.CASCADE, related_name="progress")
    course = models.ForeignKey("learning.CoursePage", on_delete=models.CASCADE, related_name="lesson_progress")
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now, db_index=True)
    seconds_spent = models.PositiveIntegerField(_("visible time (seconds)"), default=0)
    position = models.CharField(_("resume position"), max_length=200, blank=True, default="")
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        verbose_name = _("lesson progress")
        verbose_name_plural = _("lesson progress")
        constraints = [models.UniqueConstraint(fields=["user", "lesson"], name="lessonprogress_one_per_user")]
        indexes = [models.Index(fields=["user", "course", "-last_seen_at"], name="lessonprogress_resume_idx")]

    def __str__(self):
        return f"{self.user_id} · {self.lesson_id}"


class CourseCompletion(models.Model):
    """A learner completed a course under its completion rule. Recorded once per passing attempt (once per course
    for courses without an exam); learning.certificates issues the certificate from it."""

    wagtail_reference_index_ignore = True  # a learner's run-time rows, not content: no reference-index work per save

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="course_completions")
    course = models.ForeignKey("learning.CoursePage", on_delete=models.PROTECT, related_name="completions")
    completed_at = models.DateTimeField(_("completed"), default=timezone.now, db_index=True)
    attempt = models.OneToOneField("learning.Attempt", null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="course_completion")
    score_percent = models.DecimalField(_("score (%)"), max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = _("course completion")
        verbose_name_plural = _("course completions")
        constraints = [models.UniqueConstraint(fields=["user", "course"], condition=Q(attempt__isnull=True),
                                               name="coursecompletion_once_without_exam")]
        indexes = [models.Index(fields=["user", "course", "-completed_at"], name="coursecompletion_user_idx")]

    def __str__(self):
        return f"{self.user_id} · {self.course_id} · {self.completed_at:%Y-%m-%d}"


class CourseExpiryNotice(models.Model):
    """The owner was told the product course's approval expires in `days_before` days (once per approval and
    threshold; cms.review.services.expiring_pages_warn)."""

    course = models.ForeignKey("learning.CoursePage", on_delete=models.CASCADE, related_name="expiry_notices")
    approval_code = models.CharField(max_length=40)
    days_before = models.PositiveSmallIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["course", "approval_code", "days_before"],
                                               name="courseexpirynotice_once_per_threshold")]

    def __str__(self):
        return f"{self.course_id} · {self.approval_code} · {self.days_before}"
