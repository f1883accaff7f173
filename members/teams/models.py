"""Sales teams: a team has one manager (the sales_manager role) and its reps; a rep is in at most one team.
A team may sell one product line (a therapy area), which assignments can target."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    manager = models.ForeignKey("members.User", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="managed_teams", verbose_name=_("manager"))
    product_line = models.ForeignKey("members.TherapyArea", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="teams", verbose_name=_("product line"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("sales team")
        verbose_name_plural = _("sales teams")
        ordering = ["name"]

    def __str__(self):
        return self.name


class TeamMembership(models.Model):
    """A rep's place in a team; one team per rep (database constraint)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("team"))
    rep = models.OneToOneField("members.User", on_delete=models.CASCADE, related_name="team_membership",
                               verbose_name=_("rep"))
    joined_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("team membership")
        verbose_name_plural = _("team memberships")

    def __str__(self):
        return f"{self.rep} @ {self.team}"
