from django.db import models
from django.utils.translation import gettext_lazy as _


class Product(models.Model):
    """A marketed medicine that content pages may be about (registered as a snippet in the admin)."""

    name = models.CharField(_("brand name"), max_length=100, unique=True)
    generic_name = models.CharField(_("generic name"), max_length=200, blank=True)
    therapy_area = models.ForeignKey(
        "members.TherapyArea", null=True, blank=True, on_delete=models.SET_NULL, related_name="products",
        verbose_name=_("therapy area"),
    )
    approval_number = models.CharField(
        _("NMPA approval number"), max_length=50, blank=True, help_text=_("e.g. 国药准字H20123456")
    )

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}（{self.generic_name}）" if self.generic_name else self.name
