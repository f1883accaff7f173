"""SCORM 1.2 lessons: an uploaded package (its files in private storage) and each learner's run-time data.

A `ScormPackage` is attached to one lesson page (`lesson`); its files live in the private storage under
`storage_prefix` and are served only through the checked view. A learner's `ScormRegistration` holds what the
package reported (lesson status, score, suspend data, location, time); every commit that changed it is a
`ScormCommit` row, unique per registration and commit key, so a commit sent twice is applied once.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LessonStatus(models.TextChoices):
    """cmi.core.lesson_status (SCORM 1.2 RTE 3.4.4)."""

    NOT_ATTEMPTED = "not attempted", _("Not attempted")
    BROWSED = "browsed", _("Browsed")
    INCOMPLETE = "incomplete", _("Incomplete")
    COMPLETED = "completed", _("Completed")
    PASSED = "passed", _("Passed")
    FAILED = "failed", _("Failed")


# Both complete the lesson (a 1.2 package with a mastery score reports passed/failed, never completed).
COMPLETING_STATUSES = frozenset({LessonStatus.COMPLETED.value, LessonStatus.PASSED.value})


class ScormPackage(models.Model):
    title = models.CharField(_("title"), max_length=200)
    lesson = models.OneToOneField(
        "learning.LessonPage", null=True, blank=True, on_delete=models.SET_NULL, related_name="scorm_package",
        verbose_name=_("lesson"),
    )
    storage_prefix = models.CharField(max_length=100, unique=True, editable=False)
    launch_path = models.CharField(_("launch file"), max_length=500)
    manifest_identifier = models.CharField(max_length=200, blank=True)
    scorm_version = models.CharField(max_length=10, default="1.2")
    mastery_score = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    file_count = models.PositiveIntegerField(default=0)
    total_size = models.PositiveBigIntegerField(default=0)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("uploaded by"))
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("SCORM package")
        verbose_name_plural = _("SCORM packages")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.title

    @staticmethod
    def new_prefix() -> str:
        return f"scorm/{uuid.uuid4().hex}"

    def file_name(self, path: str) -> str:
        return f"{self.storage_prefix}/{path}"


class ScormRegistration(models.Model):
    """One learner's SCORM run-time data for one package: what the next launch resumes from."""

    wagtail_reference_index_ignore = True  # a learner's run-time rows, not content: no reference-index work per save

    package = models.ForeignKey(ScormPackage, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scorm_registrations")
    lesson_status = models.CharField(max_length=20, choices=LessonStatus.choices, default=LessonStatus.NOT_ATTEMPTED)
    score_raw = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    score_min = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    score_max = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)
    suspend_data = models.TextField(blank=True, default="")  # at most 4096 characters in SCORM 1.2
    lesson_location = models.CharField(max_length=255, blank=True, default="")
    total_time_seconds = models.PositiveIntegerField(default=0)  # earlier sessions
    current_session = models.CharField(max_length=40, blank=True, default="")
    session_seconds = models.PositiveIntegerField(default=0)  # the current session's cmi.core.session_time
    exit = models.CharField(max_length=20, blank=True, default="")
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["package", "user"], name="scormregistration_unique")]

    def __str__(self):
        return f"{self.user_id} @ {self.package_id}: {self.lesson_status}"

    @property
    def time_spent_seconds(self) -> int:
        return self.total_time_seconds + self.session_seconds


class ScormCommit(models.Model):
    """A commit received from the player; `commit_key` (the player's session and its commit sequence) makes a
    repeated commit a no-op."""

    wagtail_reference_index_ignore = True  # a learner's run-time rows, not content: no reference-index work per save

    registration = models.ForeignKey(ScormRegistration, on_delete=models.CASCADE, related_name="commits")
    commit_key = models.CharField(max_length=80)
    values = models.JSONField(default=dict)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["registration", "commit_key"], name="scormcommit_unique")]

    def __str__(self):
        return f"{self.registration_id} · {self.commit_key}"
