"""Exams (fixed questions plus random draws), overrides per learner, and attempts with the questions they showed.

The invariants that concurrency could break are constraints: one open attempt per learner per exam, attempt
numbers unique per learner and exam, one override per learner and exam, one row per shown question.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Grading(models.TextChoices):
    HIGHEST = "highest", _("Highest grade counts")
    LAST = "last", _("Last grade counts")


class ReviewMode(models.TextChoices):
    AFTER_SUBMIT = "after_submit", _("After submitting")
    AFTER_CLOSE = "after_close", _("After the exam closes")
    NEVER = "never", pgettext_lazy("review of answers", "Never")


class Exam(models.Model):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), max_length=2000, blank=True, default="")
    time_limit_minutes = models.PositiveIntegerField(_("time limit (minutes)"), null=True, blank=True,
                                                     validators=[MinValueValidator(1)])
    grace_seconds = models.PositiveIntegerField(_("grace (seconds)"), default=30,
                                                help_text=_("Answers sent this long after the deadline still count."))
    attempts_allowed = models.PositiveIntegerField(_("attempts allowed"), default=3,
                                                   help_text=_("0 means unlimited."))
    delay_minutes = models.PositiveIntegerField(_("delay between attempts (minutes)"), default=0)
    pass_mark_percent = models.PositiveSmallIntegerField(_("pass mark (%)"), default=80,
                                                         validators=[MaxValueValidator(100)])
    grading = models.CharField(_("grading"), max_length=10, choices=Grading.choices, default=Grading.HIGHEST)
    review_mode = models.CharField(_("review of answers"), max_length=14, choices=ReviewMode.choices,
                                   default=ReviewMode.AFTER_SUBMIT)
    opens_at = models.DateTimeField(_("opens"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes"), null=True, blank=True)
    shuffle_questions = models.BooleanField(_("shuffle questions"), default=True)
    shuffle_options = models.BooleanField(_("shuffle options"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("exam")
        verbose_name_plural = _("exams")
        constraints = [
            models.CheckConstraint(condition=Q(pass_mark_percent__lte=100), name="exam_pass_mark_percent"),
            models.CheckConstraint(condition=Q(opens_at__isnull=True) | Q(closes_at__isnull=True)
                                   | Q(closes_at__gt=models.F("opens_at")), name="exam_dates_ordered"),
        ]

    def __str__(self):
        return self.title


class ExamQuestion(models.Model):
    """A question every attempt shows."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="fixed_questions")
    question = models.ForeignKey("learning.Question", on_delete=models.PROTECT, related_name="+")
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["exam", "question"], name="examquestion_unique")]

    def __str__(self):
        return f"{self.exam_id} · {self.question_id}"


class ExamDraw(models.Model):
    """`count` questions drawn at random per attempt from a category (and its subcategories), optionally at one
    difficulty; a learner's least-seen questions first."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="draws")
    category = models.ForeignKey("learning.QuestionCategory", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("category"))
    difficulty = models.PositiveSmallIntegerField(_("difficulty"), null=True, blank=True,
                                                  choices=[(1, _("Easy")), (2, _("Medium")), (3, _("Hard"))])
    include_subcategories = models.BooleanField(_("include subcategories"), default=True)
    count = models.PositiveIntegerField(_("number of questions"), validators=[MinValueValidator(1)])
    sort_order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "id"]
        constraints = [models.CheckConstraint(condition=Q(count__gte=1), name="examdraw_count_positive")]

    def __str__(self):
        return f"{self.count} × {self.category_id}"


class ExamOverride(models.Model):
    """Extra time or extra attempts for one learner, granted by staff (audited)."""

    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exam_overrides")
    extra_minutes = models.PositiveIntegerField(_("extra time (minutes)"), default=0)
    extra_attempts = models.PositiveIntegerField(_("extra attempts"), default=0)
    reason = models.CharField(_("reason"), max_length=300)
    granted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("exam override")
        verbose_name_plural = _("exam overrides")
        constraints = [models.UniqueConstraint(fields=["exam", "user"], name="examoverride_one_per_user")]

    def __str__(self):
        return f"{self.exam_id} · {self.user_id}"


class AttemptStatus(models.TextChoices):
    OPEN = "open", _("In progress")
    SUBMITTED = "submitted", _("Submitted")


class Attempt(models.Model):
    wagtail_reference_index_ignore = True  # a learner's run-time rows, not content: no reference-index work per save

    exam = models.ForeignKey(Exam, on_delete=models.PROTECT, related_name="attempts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exam_attempts")
    number = models.PositiveIntegerField(_("attempt"))
    status = models.CharField(_("status"), max_length=10, choices=AttemptStatus.choices, default=AttemptStatus.OPEN)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    auto_submitted = models.BooleanField(_("submitted automatically"), default=False)
    score = models.DecimalField(_("score"), max_digits=8, decimal_places=2, null=True, blank=True)
    max_score = models.DecimalField(_("maximum score"), max_digits=8, decimal_places=2, default=0)
    percent = models.DecimalField(_("score (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    passed = models.BooleanField(_("passed"), null=True, blank=True)

    class Meta:
        verbose_name = _("exam attempt")
        verbose_name_plural = _("exam attempts")
        constraints = [
            models.UniqueConstraint(fields=["exam", "user"], condition=Q(status="open"),
                                    name="attempt_one_open_per_user"),
            models.UniqueConstraint(fields=["exam", "user", "number"], name="attempt_unique_number"),
        ]
        indexes = [
            models.Index(fields=["status", "deadline"], name="attempt_overdue_idx"),
            models.Index(fields=["user", "exam", "-started_at"], name="attempt_user_idx"),
        ]

    def __str__(self):
        return f"{self.exam_id} · {self.user_id} · #{self.number}"

    @property
    def is_open(self) -> bool:
        return self.status == AttemptStatus.OPEN


class AttemptQuestion(models.Model):
    """One question as one attempt showed it: the exact version, its position, the option order, the category it
    counted for (competency scores), the saved answer and, after grading, whether it was right."""

    wagtail_reference_index_ignore = True  # a learner's run-time rows, not content: no reference-index work per save

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="questions")
    version = models.ForeignKey("learning.QuestionVersion", on_delete=models.PROTECT, related_name="shown_in")
    question = models.ForeignKey("learning.Question", on_delete=models.PROTECT, related_name="shown_in")
    category = models.ForeignKey("learning.QuestionCategory", on_delete=models.PROTECT, related_name="+")
    position = models.PositiveIntegerField()
    option_order = models.JSONField(default=list)
    answer = models.JSONField(null=True, blank=True)
    answer_seq = models.PositiveIntegerField(default=0)  # the client's counter: a late older save never wins
    answered_at = models.DateTimeField(null=True, blank=True)
    points = models.DecimalField(max_digits=6, decimal_places=2, default=1)
    is_correct = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "position"], name="attemptquestion_unique_position"),
            models.UniqueConstraint(fields=["attempt", "question"], name="attemptquestion_unique_question"),
        ]

    def __str__(self):
        return f"{self.attempt_id} · {self.position}"
