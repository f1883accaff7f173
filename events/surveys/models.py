"""Surveys built in the admin, attached to a meeting or standing alone.

Anonymity: an anonymous survey's responses carry no doctor; `SurveyParticipation` alone records who has
answered (for "one submission per doctor" and "who has not answered yet") and holds no link to the response.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel


class Survey(ClusterableModel):
    title = models.CharField(_("title"), max_length=200)
    intro = models.TextField(_("introduction"), blank=True)
    event = models.ForeignKey("events.EventPage", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="surveys", verbose_name=_("meeting"),
                              help_text=_("Empty: a survey that stands alone."))
    anonymous = models.BooleanField(_("anonymous"), default=False)
    opens_at = models.DateTimeField(_("opens"), null=True, blank=True)
    closes_at = models.DateTimeField(_("closes"), null=True, blank=True)
    created_by = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    panels = [
        FieldPanel("title"), FieldPanel("intro"), FieldPanel("event"),
        MultiFieldPanel([FieldPanel("anonymous"), FieldRowPanel([FieldPanel("opens_at"), FieldPanel("closes_at")])],
                        heading=_("Settings")),
        InlinePanel("questions", heading=_("Questions"), label=_("question"), min_num=1),
    ]

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at"]

    def __str__(self):
        return self.title


class SurveyQuestion(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        RATING = "rating", _("Rating 1–5")
        NPS = "nps", _("Recommendation 0–10")
        TEXT = "text", _("Free text")

    survey = ParentalKey(Survey, on_delete=models.CASCADE, related_name="questions")
    sort_order = models.PositiveIntegerField(default=0, editable=False)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    text = models.CharField(_("question"), max_length=300)
    choices = models.TextField(_("choices"), blank=True, help_text=_("One choice per line (choice questions only)."))
    required = models.BooleanField(_("required"), default=True)

    panels = [FieldRowPanel([FieldPanel("kind"), FieldPanel("required")]), FieldPanel("text"),
              FieldPanel("choices")]

    class Meta:
        verbose_name = _("question")
        ordering = ["sort_order", "id"]

    def __str__(self):
        return self.text

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]


class SurveyParticipation(models.Model):
    """That `doctor` has answered `survey` (never which response is theirs when the survey is anonymous)."""

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="participations")
    doctor = models.ForeignKey("members.User", on_delete=models.PROTECT, related_name="survey_participations")
    answered_on = models.DateField(_("answered"))

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        constraints = [models.UniqueConstraint(fields=["survey", "doctor"], name="survey_one_submission")]

    def __str__(self):
        return f"{self.doctor_id} → {self.survey_id}"


class SurveyResponse(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    doctor = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="survey_responses", help_text=_("Empty for anonymous surveys."))
    submitted_on = models.DateField(_("submitted"))

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        constraints = [
            models.UniqueConstraint(fields=["survey", "doctor"], condition=Q(doctor__isnull=False),
                                    name="survey_response_one_per_doctor"),
        ]

    def __str__(self):
        return f"{self.survey_id} {self.submitted_on}"


class SurveyAnswer(models.Model):
    # Random ids like the response's: sequential ones would pair answers with participations by order.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(SurveyQuestion, on_delete=models.PROTECT, related_name="answers")
    choices = models.JSONField(default=list, blank=True)
    number = models.SmallIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="survey_answer_once")]

    def __str__(self):
        return f"{self.question_id}: {self.choices or self.number or self.text[:30]}"
