"""Curricula (ordered sets of courses), what products require, assignments of a course or curriculum to reps,
and each rep's assignment with its due date (one row per rep and recertification cycle)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Curriculum(models.Model):
    title = models.CharField(_("title"), max_length=200, unique=True)
    description = models.TextField(_("description"), blank=True)
    validity_months = models.PositiveSmallIntegerField(
        _("certificate valid for (months)"), default=12,
        help_text=_("The curriculum certificate expires this many months after it is issued."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("curriculum")
        verbose_name_plural = _("curricula")
        ordering = ["title"]

    def __str__(self):
        return self.title


class CurriculumCourse(models.Model):
    curriculum = models.ForeignKey(Curriculum, on_delete=models.CASCADE, related_name="items")
    course = models.ForeignKey("learning.CoursePage", on_delete=models.PROTECT, related_name="curriculum_items",
                               verbose_name=_("course"))
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["curriculum", "position", "pk"]
        constraints = [models.UniqueConstraint(fields=["curriculum", "course"], name="curriculumcourse_unique")]

    def __str__(self):
        return f"{self.curriculum_id} · {self.position} · {self.course_id}"


class ProductRequirement(models.Model):
    """A product reps may promote only with a current certificate of `curriculum` (product qualification)."""

    product = models.OneToOneField("cms.Product", on_delete=models.CASCADE, related_name="qualification",
                                   verbose_name=_("product"))
    curriculum = models.ForeignKey(Curriculum, on_delete=models.PROTECT, related_name="required_for",
                                   verbose_name=_("required curriculum"))

    class Meta:
        verbose_name = _("product qualification requirement")
        verbose_name_plural = _("product qualification requirements")

    def __str__(self):
        return f"{self.product} ← {self.curriculum}"


class AssignmentAudience(models.TextChoices):
    ALL_REPS = "all_reps", _("All sales reps")
    TEAM = "team", _("A team")
    TERRITORY = "territory", _("A territory")
    PRODUCT_LINE = "product_line", _("A product line")
    PEOPLE = "people", _("Named reps")


class DueRule(models.TextChoices):
    FIXED = "fixed", _("On a fixed date")
    AFTER_ASSIGNMENT = "after_assignment", _("N days after assignment")
    AFTER_JOINING = "after_joining", _("N days after the rep joins")


class Assignment(models.Model):
    """Staff assign a course or a curriculum to an audience of reps, with a due rule and optional recurrence."""

    course = models.ForeignKey("learning.CoursePage", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="assignments", verbose_name=_("course"))
    curriculum = models.ForeignKey(Curriculum, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="assignments", verbose_name=_("curriculum"))
    audience = models.CharField(_("assigned to"), max_length=16, choices=AssignmentAudience.choices)
    team = models.ForeignKey("members.Team", null=True, blank=True, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("team"))
    territory = models.ForeignKey("members.Territory", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="+", verbose_name=_("territory"))
    product_line = models.ForeignKey("members.TherapyArea", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+", verbose_name=_("product line"))
    people = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+",
                                    verbose_name=_("reps"))
    due_rule = models.CharField(_("due"), max_length=20, choices=DueRule.choices)
    due_on = models.DateTimeField(_("due date"), null=True, blank=True)
    due_days = models.PositiveIntegerField(_("days to complete"), null=True, blank=True)
    recurrence_months = models.PositiveSmallIntegerField(
        _("recertify every (months)"), null=True, blank=True,
        help_text=_("Empty: once. Otherwise a new round starts when the certificate nears its expiry."))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(course__isnull=False, curriculum__isnull=True)
                           | Q(course__isnull=True, curriculum__isnull=False)),
                name="assignment_course_xor_curriculum"),
        ]

    def __str__(self):
        return str(self.course or self.curriculum)

    @property
    def target(self):
        return self.course if self.course_id else self.curriculum


class RepAssignment(models.Model):
    """One rep's round of an assignment: when it is due, when it was completed (the certificate that did it), and
    which reminders went out. A recurring assignment adds a row per round (`cycle`)."""

    assignment = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="rep_assignments")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="learning_assignments")
    cycle = models.PositiveSmallIntegerField(default=1)
    assigned_at = models.DateTimeField(_("assigned"), default=timezone.now)
    due_at = models.DateTimeField(_("due"), db_index=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    certificate = models.ForeignKey("learning.Certificate", null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    reminded_week_at = models.DateTimeField(null=True, blank=True)
    reminded_due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("rep assignment")
        verbose_name_plural = _("rep assignments")
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["assignment", "rep", "cycle"], name="repassignment_unique")]
        indexes = [models.Index(fields=["rep", "completed_at", "due_at"], name="repassignment_due_idx")]

    def __str__(self):
        return f"{self.assignment_id} · {self.rep_id} · {self.cycle}"

    @property
    def is_overdue(self) -> bool:
        return self.completed_at is None and self.due_at < timezone.now()
