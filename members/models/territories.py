from django.db import models
from django.utils.translation import gettext_lazy as _


class Territory(models.Model):
    """A sales territory: which reps cover which hospitals. Reps see only their territories' doctors."""

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    reps = models.ManyToManyField("members.User", blank=True, related_name="territories", verbose_name=_("reps"))
    hospitals = models.ManyToManyField("members.Hospital", blank=True, related_name="territories",
                                       verbose_name=_("hospitals"))

    class Meta:
        verbose_name = _("territory")
        verbose_name_plural = _("territories")
        ordering = ["name"]

    def __str__(self):
        return self.name
