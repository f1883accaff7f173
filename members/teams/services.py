"""Writes of sales teams: create a team with its manager, put a rep in a team (moving them out of any other).
Both need MANAGE_TEAMS and are audited."""

from django.db import transaction
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from engage.core.roles import Capability, can
from members.teams.models import Team, TeamMembership


def _require(actor) -> None:
    if actor is not None and not can(actor, Capability.MANAGE_TEAMS):
        raise PermissionDenied("forbidden", _("You may not manage sales teams."))


@transaction.atomic
def team_create(*, actor, name: str, manager=None, product_line=None) -> Team:
    """A new team; `actor` None is the system (demo seeding). 400 `invalid_name`, 409 `team_exists`."""
    _require(actor)
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError("invalid_name", _("A team needs a name of at most 100 characters."))
    if Team.objects.filter(name=name).exists():
        raise DomainError("team_exists", _("A team with this name exists already."), status=409)
    if manager is not None and not can(manager, Capability.VIEW_TEAM_LEARNING):
        raise DomainError("not_a_manager", _("The manager must hold the sales manager role."))
    team = Team.objects.create(name=name, manager=manager, product_line=product_line)
    audit_log(actor=actor, action="members.team.created", obj=team,
              after={"name": name, "manager": getattr(manager, "pk", None)})
    return team


@transaction.atomic
def team_member_set(*, actor, team: Team, rep) -> TeamMembership:
    """Puts `rep` in `team`, moving them from their old team (a rep is in one team at a time)."""
    _require(actor)
    if not can(rep, Capability.COVER_TERRITORY):
        raise DomainError("not_a_rep", _("Only sales reps can be members of a team."))
    membership = TeamMembership.objects.select_for_update().filter(rep=rep).first()
    before = membership.team_id if membership else None
    if membership is None:
        membership = TeamMembership.objects.create(team=team, rep=rep)
    elif membership.team_id != team.pk:
        membership.team = team
        membership.save(update_fields=["team"])
    audit_log(actor=actor, action="members.team.member_set", obj=team, before={"team": before},
              after={"team": team.pk, "rep": rep.pk})
    return membership
