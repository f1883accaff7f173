"""A doctor's relation to the Official Account beyond the log-in link (allauth's SocialAccount holds that): whether
the openid follows the account, as the subscribe/unsubscribe callbacks report it."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WeChatFollower(models.Model):
    """One row per openid the Official Account has heard from; the latest subscribe or unsubscribe wins."""

    openid = models.CharField(_("openid"), max_length=64, unique=True)
    following = models.BooleanField(_("following"), default=False)
    changed_at = models.DateTimeField(_("changed"))

    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("WeChat follower")
        verbose_name_plural = _("WeChat followers")

    def __str__(self):
        return f"{self.openid[:4]}****{self.openid[-4:]}"
