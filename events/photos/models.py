"""On-site photos with the metadata inspectors ask for, and near-duplicate flags across meetings."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from engage.core.storage import private_storage


def photo_path(instance, filename):
    return f"events/{instance.event_id}/photos/{filename}"


class Photo(models.Model):
    event = models.ForeignKey("events.EventPage", on_delete=models.PROTECT, related_name="photos",
                              verbose_name=_("meeting"))
    uploaded_by = models.ForeignKey("members.User", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("uploaded by"))
    image = models.FileField(_("image"), upload_to=photo_path, storage=private_storage, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255, blank=True)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField(_("size (bytes)"))
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    phash = models.CharField(_("perceptual hash"), max_length=16, db_index=True,
                             help_text=_("64-bit perceptual hash, hex."))
    uploaded_at = models.DateTimeField(_("uploaded"), auto_now_add=True, db_index=True)
    exif_taken_at = models.DateTimeField(_("taken (EXIF)"), null=True, blank=True)
    exif_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    exif_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    exif_camera = models.CharField(_("camera (EXIF)"), max_length=100, blank=True)
    caption = models.CharField(_("caption"), max_length=200, blank=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")
        ordering = ["event", "uploaded_at", "id"]

    def __str__(self):
        return self.original_name or f"photo {self.pk}"


class PhotoFlag(models.Model):
    """`photo` looks like `similar_to`, a photo of another meeting (Hamming distance of their hashes)."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="flags", verbose_name=_("photo"))
    similar_to = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="+",
                                   verbose_name=_("similar to"))
    distance = models.PositiveSmallIntegerField(_("distance"))
    created_at = models.DateTimeField(auto_now_add=True)

    wagtail_reference_index_ignore = True  # operational rows, not content: no reference-index work per save

    class Meta:
        verbose_name = _("duplicate flag")
        verbose_name_plural = _("duplicate flags")
        constraints = [models.UniqueConstraint(fields=["photo", "similar_to"], name="photoflag_once")]

    def __str__(self):
        return f"{self.photo} ≈ {self.similar_to} ({self.distance})"
