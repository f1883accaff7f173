"""Reading and credit: who read which content page, how far and how long; favourites; share attribution codes.

Writes go through cms.reading.services; reads through cms.reading.selectors.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReadingRecord(models.Model):
    """One doctor's reading of one content page: reused on every visit, completed at most once."""

    doctor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reading_records",
                               verbose_name=_("doctor"))
    page = models.ForeignKey("cms.ContentPage", on_delete=models.CASCADE, related_name="reading_records",
                             verbose_name=_("page"))
    revision = models.ForeignKey("wagtailcore.Revision", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+", verbose_name=_("revision"))
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen at"), default=timezone.now)
    last_beacon_at = models.DateTimeField(_("last report at"), null=True, blank=True)
    active_seconds = models.PositiveIntegerField(_("active reading seconds"), default=0)
    max_share = models.FloatField(_("share of the body read"), default=0.0)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    referrer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="referred_reads", verbose_name=_("shared by"))

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("reading record")
        verbose_name_plural = _("reading records")
        constraints = [
            models.UniqueConstraint(fields=["doctor", "page"], name="reading_one_record_per_doctor_page"),
            models.CheckConstraint(condition=Q(max_share__gte=0) & Q(max_share__lte=1), name="reading_share_0_1"),
        ]
        indexes = [models.Index(fields=["doctor", "-last_seen_at"], name="reading_doctor_recent")]

    def __str__(self):
        return f"{self.doctor_id} → {self.page_id}"

    @property
    def percent(self) -> int:
        return round(self.max_share * 100)


class Favourite(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="content_favourites",
                             verbose_name=_("user"))
    page = models.ForeignKey("cms.ContentPage", on_delete=models.CASCADE, related_name="favourites",
                             verbose_name=_("page"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("favourite")
        verbose_name_plural = _("favourites")
        constraints = [models.UniqueConstraint(fields=["user", "page"], name="favourite_once_per_user_page")]

    def __str__(self):
        return f"{self.user_id} ♥ {self.page_id}"


class ShareCode(models.Model):
    """A doctor's attribution code, carried by their shared links as ?ref=<code>."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_code",
                                verbose_name=_("user"))
    code = models.CharField(_("code"), max_length=16, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("share code")
        verbose_name_plural = _("share codes")

    def __str__(self):
        return self.code
