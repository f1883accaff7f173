"""Writes of sales teams: create a team with its manager and reps, change a team, put a rep in a team (moving them
out of any other). All need MANAGE_TEAMS and are audited."""

from collections.abc import Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from engage.core.roles import Capability, can
from members.teams.models import Team, TeamMembership


def _require(actor) -> None:
    if actor is not None and not can(actor, Capability.MANAGE_TEAMS):
        raise PermissionDenied("forbidden", _("You may not manage sales teams."))


def _clean(*, name: str, manager, reps: list, team_id: int | None = None) -> str:
    """The team's name, stripped; DomainError for a bad or taken name, a manager who is not a sales manager, or a
    member who is not a rep."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError("invalid_name", _("A team needs a name of at most 100 characters."))
    if Team.objects.filter(name=name).exclude(pk=team_id).exists():
        raise DomainError("team_exists", _("A team with this name exists already."), status=409)
    if manager is not None and not can(manager, Capability.VIEW_TEAM_LEARNING):
        raise DomainError("not_a_manager", _("The manager must hold the sales manager role."))
    not_reps = [rep for rep in reps if not can(rep, Capability.COVER_TERRITORY)]
    if not_reps:
        raise DomainError("not_a_rep", _("Only sales reps can be members of a team: %(names)s.")
                          % {"names": "、".join(str(rep) for rep in not_reps)})
    return name


def _members_replace(team: Team, reps: list) -> tuple[list[int], list[int]]:
    """Makes `reps` the team's members (moving them from other teams); returns (before, after) rep ids."""
    before = sorted(TeamMembership.objects.filter(team=team).values_list("rep_id", flat=True))
    wanted = {rep.pk for rep in reps}
    TeamMembership.objects.filter(team=team).exclude(rep_id__in=wanted).delete()
    TeamMembership.objects.filter(rep_id__in=wanted).exclude(team=team).update(team=team)
    have = set(TeamMembership.objects.filter(team=team).values_list("rep_id", flat=True))
    TeamMembership.objects.bulk_create([TeamMembership(team=team, rep=rep) for rep in reps if rep.pk not in have])
    return before, sorted(wanted)


@transaction.atomic
def team_create(*, actor, name: str, manager=None, product_line=None, reps: Iterable = ()) -> Team:
    """A new team with its reps (moved from their old teams); `actor` None is the system (demo seeding).
    400 `invalid_name` / `not_a_manager` / `not_a_rep`, 409 `team_exists`; nothing is stored then."""
    _require(actor)
    reps = list(reps)
    name = _clean(name=name, manager=manager, reps=reps)
    team = Team.objects.create(name=name, manager=manager, product_line=product_line)
    _before, members = _members_replace(team, reps)
    audit_log(actor=actor, action="members.team.created", obj=team,
              after={"name": name, "manager": getattr(manager, "pk", None), "reps": members})
    return team


@transaction.atomic
def team_update(*, actor, team: Team, name: str, manager=None, product_line=None, reps: Iterable = ()) -> Team:
    """Renames the team, sets its manager and product line, and makes `reps` its members: reps left out leave the
    team, reps of other teams move to it. Same errors as team_create; nothing is stored then."""
    _require(actor)
    reps = list(reps)
    team = Team.objects.select_for_update().get(pk=team.pk)
    name = _clean(name=name, manager=manager, reps=reps, team_id=team.pk)
    before = {"name": team.name, "manager": team.manager_id, "product_line": team.product_line_id}
    team.name, team.manager, team.product_line = name, manager, product_line
    team.save(update_fields=["name", "manager", "product_line"])
    before["reps"], members = _members_replace(team, reps)
    audit_log(actor=actor, action="members.team.updated", obj=team, before=before,
              after={"name": name, "manager": getattr(manager, "pk", None),
                     "product_line": getattr(product_line, "pk", None), "reps": members})
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
