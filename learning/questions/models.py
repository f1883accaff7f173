"""The question bank: a tree of categories, questions with tags, and immutable versions of each question.

An attempt points at the version it showed; editing a question that an attempt has shown makes a new version, so
grades and reviews never change under a rep's feet.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from taggit.managers import TaggableManager
from taggit.models import TaggedItemBase


class CompetencyKind(models.TextChoices):
    """What a category measures: the rep's capability profile scores per kind (and per product)."""

    PRODUCT = "product", _("Product knowledge")
    COMPLIANCE = "compliance_topic", _("Compliance")
    DISEASE = "disease", _("Disease knowledge")
    SKILLS = "skills", _("Skills")


class QuestionCategory(models.Model):
    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
                               verbose_name=_("parent category"))
    kind = models.CharField(_("competency"), max_length=20, choices=CompetencyKind.choices,
                            default=CompetencyKind.PRODUCT)
    product = models.ForeignKey("cms.Product", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="question_categories", verbose_name=_("product"))
    therapy_area = models.ForeignKey("members.TherapyArea", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="question_categories", verbose_name=_("therapy area"))

    class Meta:
        verbose_name = _("question category")
        verbose_name_plural = _("question categories")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["parent", "name"], name="questioncategory_unique_name"),
            models.UniqueConstraint(fields=["name"], condition=models.Q(parent__isnull=True),
                                    name="questioncategory_unique_root_name"),
        ]

    def __str__(self):
        return self.name


class QuestionKind(models.TextChoices):
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    TRUE_FALSE = "true_false", _("True or false")
    FILL_IN = "fill_in", _("Fill in the blank")


class Difficulty(models.IntegerChoices):
    EASY = 1, _("Easy")
    MEDIUM = 2, _("Medium")
    HARD = 3, _("Hard")


class QuestionTag(TaggedItemBase):
    content_object = models.ForeignKey("learning.Question", on_delete=models.CASCADE, related_name="tagged_items")


class Question(models.Model):
    """A question in the bank; what it says lives in its versions (`current_version` is what new attempts show)."""

    category = models.ForeignKey(QuestionCategory, on_delete=models.PROTECT, related_name="questions",
                                 verbose_name=_("category"))
    kind = models.CharField(_("type"), max_length=12, choices=QuestionKind.choices)
    difficulty = models.PositiveSmallIntegerField(_("difficulty"), choices=Difficulty.choices,
                                                  default=Difficulty.MEDIUM)
    current_version = models.ForeignKey("learning.QuestionVersion", null=True, blank=True,
                                        on_delete=models.PROTECT, related_name="+")
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    tags = TaggableManager(through=QuestionTag, blank=True, verbose_name=_("tags"))

    class Meta:
        verbose_name = pgettext_lazy("question bank", "question")
        verbose_name_plural = pgettext_lazy("question bank", "questions")
        indexes = [models.Index(fields=["category", "difficulty", "is_active"], name="question_draw_idx")]

    def __str__(self):
        text = self.current_version.text if self.current_version_id else ""
        return text[:60] or f"#{self.pk}"


class QuestionVersion(models.Model):
    """What a question said at one time. Never changed once an attempt showed it.

    `options`: [{"key": "A", "text": "…", "correct": true}, …] for choice and true/false questions;
    `accepted_answers`: the answers a fill-in-the-blank accepts (compared after normalising)."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("question"), max_length=2000)
    options = models.JSONField(_("options"), default=list, blank=True)
    accepted_answers = models.JSONField(_("accepted answers"), default=list, blank=True)
    explanation = models.TextField(_("explanation"), max_length=2000, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("question version")
        verbose_name_plural = _("question versions")
        constraints = [models.UniqueConstraint(fields=["question", "number"], name="questionversion_unique_number")]

    def __str__(self):
        return f"{self.question_id} v{self.number}"

    @property
    def correct_keys(self) -> list[str]:
        return sorted(option["key"] for option in self.options if option.get("correct"))
