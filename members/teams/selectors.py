"""Who leads whom: a rep's manager, a manager's reps, and who may see a rep's learning."""

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from engage.core.errors import NotFound
from engage.core.roles import Capability, can, capability_holders
from members.teams.models import Team, TeamMembership


def person_name(user) -> str:
    """How a person is named on learning pages and certificates: their chosen name, else surname first."""
    return (getattr(user, "display_name", "") or f"{user.last_name}{user.first_name}".strip()
            or user.get_username())


def manager_of(rep):
    """The manager of `rep`'s team, or None."""
    membership = TeamMembership.objects.select_related("team__manager").filter(rep=rep).first()
    return membership.team.manager if membership is not None else None


def team_of(rep) -> Team | None:
    membership = TeamMembership.objects.select_related("team").filter(rep=rep).first()
    return membership.team if membership is not None else None


def reps_led_by(manager) -> QuerySet:
    """The reps of the teams `manager` leads."""
    return (get_user_model().objects.filter(team_membership__team__manager=manager, is_active=True)
            .order_by("username"))


def visible_reps(*, user) -> QuerySet:
    """Reps whose learning `user` may see: every rep in a team or holding a territory for training staff, their
    own team for a manager, none for anyone else."""
    users = get_user_model().objects.filter(is_active=True)
    if can(user, Capability.VIEW_LEARNING_REPORTS):
        return capability_holders(Capability.COVER_TERRITORY, superusers=False).order_by("username")
    if can(user, Capability.VIEW_TEAM_LEARNING):
        return reps_led_by(user)
    return users.none()


def can_view_rep_learning(user, rep) -> bool:
    """A rep sees their own; their manager and training staff see theirs."""
    if user is None or not user.is_authenticated:
        return False
    if user.pk == rep.pk:
        return True
    if can(user, Capability.VIEW_LEARNING_REPORTS):
        return True
    return can(user, Capability.VIEW_TEAM_LEARNING) and TeamMembership.objects.filter(
        rep=rep, team__manager=user).exists()


def access_team(*, user, team_id: int) -> Team:
    """The team, for its manager and for staff who manage teams or read learning reports."""
    team = Team.objects.select_related("manager", "product_line").filter(pk=team_id).first()
    if team is None:
        raise NotFound("team_not_found", _("No such team."))
    if can(user, Capability.MANAGE_TEAMS) or can(user, Capability.VIEW_LEARNING_REPORTS) or (
            team.manager_id == getattr(user, "pk", None) and can(user, Capability.VIEW_TEAM_LEARNING)):
        return team
    raise NotFound("team_not_found", _("No such team."))


def teams_visible_to(*, user) -> QuerySet:
    if can(user, Capability.MANAGE_TEAMS) or can(user, Capability.VIEW_LEARNING_REPORTS):
        return Team.objects.select_related("manager").order_by("name")
    if can(user, Capability.VIEW_TEAM_LEARNING):
        return Team.objects.filter(manager=user).order_by("name")
    return Team.objects.none()
