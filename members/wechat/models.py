"""A doctor's relation to the Official Account beyond the log-in link (allauth's SocialAccount holds that): whether
the openid follows the account, as the subscribe/unsubscribe callbacks report it."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class WeChatFollower(models.Model):
    """One row per openid the Official Account has heard from; the latest subscribe or unsubscribe wins."""

    openid = models.CharField(_("openid"), max_length=64, unique=True)
    following = models.BooleanField(pgettext_lazy("wechat", "following"), default=False)
    changed_at = models.DateTimeField(pgettext_lazy("wechat", "changed"))

    wagtail_reference_index_ignore = True

    class Meta:
        verbose_name = _("WeChat follower")
        verbose_name_plural = _("WeChat followers")

    def __str__(self):
        return f"{self.openid[:4]}****{self.openid[-4:]}"


class KeywordReply(models.Model):
    """What the Official Account answers when a follower sends exactly this word (e.g. 会议 → my meetings)."""

    keyword = models.CharField(pgettext_lazy("wechat", "keyword"), max_length=30, unique=True)
    reply = models.CharField(_("reply"), max_length=600)
    link_page = models.ForeignKey("wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("page to link"))
    link_path = models.CharField(_("or portal path"), max_length=200, blank=True,
                                 help_text=_("A path of this site, e.g. /members/me/points/"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("WeChat keyword reply")
        verbose_name_plural = _("WeChat keyword replies")
        ordering = ["keyword"]

    def __str__(self):
        return self.keyword


# WeChat's name limits for the custom menu (bytes of UTF-8: 4 Chinese characters at the top, 8 below, as WeChat counts).
MENU_TOP_NAME_BYTES, MENU_SUB_NAME_BYTES = 16, 60


class MenuButton(models.Model):
    """One button of the Official Account's menu: up to 3 at the top, up to 5 under each; a button opens a portal
    page (or path), sends a keyword (answered by the keyword replies), or holds sub-buttons."""

    class Kind(models.TextChoices):
        VIEW = "view", _("Open a page")
        CLICK = "click", _("Send a keyword")
        PARENT = "parent", _("Sub-menu")

    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children",
                               limit_choices_to={"parent__isnull": True, "kind": "parent"},
                               verbose_name=pgettext_lazy("wechat menu", "under"))
    position = models.PositiveSmallIntegerField(pgettext_lazy("wechat menu", "position"), default=1)
    name = models.CharField(_("name"), max_length=60)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.VIEW)
    link_page = models.ForeignKey("wagtailcore.Page", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("page"))
    link_path = models.CharField(_("or portal path"), max_length=200, blank=True)
    keyword = models.CharField(pgettext_lazy("wechat", "keyword"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("WeChat menu button")
        verbose_name_plural = _("WeChat menu")
        ordering = ["parent_id", "position", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(position__gte=1, position__lte=5), name="menu_position_1_5"),
        ]

    def __str__(self):
        return f"{self.parent.name} › {self.name}" if self.parent_id else self.name

    def name_problem(self, *, top: bool) -> str:
        """What is wrong with the name under WeChat's limits for a top-level (`top`) or sub-menu button, or ""."""
        limit = MENU_TOP_NAME_BYTES if top else MENU_SUB_NAME_BYTES
        if self.name.strip() and len(self.name.encode()) <= limit:
            return ""
        return _("“%(name)s”: a name of 1 to %(limit)s bytes (%(chars)s Chinese characters).") % {
            "name": self.name, "limit": limit, "chars": limit // 4 if top else 8}

    def clean(self):
        """The admin form refuses a name WeChat would refuse, before the menu is published."""
        if problem := self.name_problem(top=self.parent_id is None):
            raise ValidationError({"name": problem})
