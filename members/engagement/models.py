from django.db import models
from django.utils.translation import gettext_lazy as _

from engage.core.times import local_text


class EngagementKind(models.TextChoices):
    JOINED = "joined", _("Joined")
    PROFILE_SUBMITTED = "profile_submitted", _("Profile submitted")
    VERIFIED = "verified", _("Verified")
    VERIFICATION_REJECTED = "verification_rejected", _("Verification rejected")
    VERIFICATION_NEEDS_INFO = "verification_needs_info", _("Verification needs more information")
    CONSENT_GIVEN = "consent_given", _("Consent given")
    CONSENT_WITHDRAWN = "consent_withdrawn", _("Consent withdrawn")
    POINTS_EARNED = "points_earned", _("Points earned")
    POINTS_REDEEMED = "points_redeemed", _("Points redeemed")
    CONTENT_READ = "content_read", _("Content read")
    MEETING_REGISTERED = "meeting_registered", _("Registered for a meeting")
    MEETING_ATTENDED = "meeting_attended", _("Meeting attended")
    LIVE_WATCHED = "live_watched", _("Live session watched")
    SURVEY_ANSWERED = "survey_answered", _("Survey answered")
    COURSE_TAUGHT = "course_taught", _("Course given as speaker")


class EngagementEvent(models.Model):
    """One thing a doctor did on the platform; written by services of every app, read by the doctor 360° page
    and by segmentation. `source_key` makes a repeated write of the same fact harmless."""

    doctor = models.ForeignKey("members.User", on_delete=models.CASCADE, related_name="engagement_events")
    kind = models.CharField(_("kind"), max_length=30, choices=EngagementKind.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=300, blank=True)
    therapy_area = models.ForeignKey("members.TherapyArea", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    occurred_at = models.DateTimeField(_("time"), db_index=True)
    metadata = models.JSONField(_("details"), default=dict, blank=True)
    source_key = models.CharField(max_length=200, unique=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("engagement event")
        verbose_name_plural = _("engagement events")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["doctor", "-occurred_at"], name="engagement_doctor_time_idx")]

    def __str__(self):
        return f"{self.doctor} {self.get_kind_display()} {local_text(self.occurred_at, 'Y-m-d')}"
