from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class ConsentKind(models.TextChoices):
    PRIVACY = "privacy", _("Privacy policy")
    MARKETING_WECHAT = "marketing_wechat", _("Marketing contact by WeChat")
    MARKETING_SMS = "marketing_sms", _("Marketing contact by SMS")
    MARKETING_EMAIL = "marketing_email", _("Marketing contact by email")


class PolicyVersion(models.Model):
    """The exact text a person agrees to. A new version (or a changed purpose) asks everyone again."""

    kind = models.CharField(_("kind"), max_length=20, choices=ConsentKind.choices)
    version = models.CharField(_("version"), max_length=20)
    title = models.CharField(_("title"), max_length=200)
    purpose = models.TextField(_("purpose"))
    text = models.TextField(_("text"))
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    effective_at = models.DateTimeField(_("effective from"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["kind", "-effective_at"]
        constraints = [models.UniqueConstraint(fields=["kind", "version", "language"], name="policy_version_unique")]

    def __str__(self):
        return f"{self.get_kind_display()} v{self.version}"


class Consent(models.Model):
    """One person's agreement to one policy version: kept for ever, withdrawn by setting `withdrawn_at`."""

    class Method(models.TextChoices):
        WEB_FORM = "web_form", _("Web form")
        WECHAT = "wechat", _("WeChat page")
        API = "api", _("API")
        STAFF = "staff", _("Recorded by staff")

    user = models.ForeignKey("members.User", on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(_("kind"), max_length=20, choices=ConsentKind.choices)
    policy = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="consents",
                               verbose_name=_("policy version"))
    method = models.CharField(_("method"), max_length=10, choices=Method.choices)
    granted_at = models.DateTimeField(_("granted"), auto_now_add=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-granted_at", "-id"]
        constraints = [
            # At most one standing consent per person and kind; a new one needs the old one withdrawn.
            models.UniqueConstraint(fields=["user", "kind"], condition=Q(withdrawn_at__isnull=True),
                                    name="consent_one_active_per_kind"),
        ]

    def __str__(self):
        return f"{self.user} {self.get_kind_display()} v{self.policy.version}"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None
