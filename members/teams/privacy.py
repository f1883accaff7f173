"""A rep's team and the teams a person manages: exported; memberships go on closing, managed teams stay without
their manager."""

from engage.core.personal_data import Closing, personal_data
from members.teams.models import Team, TeamMembership


@personal_data(section="team_membership", model="members.TeamMembership", user_fields=("rep",), order=91,
               closing=Closing.DELETE)
def team_membership_export(user) -> list[dict]:
    return [{"team": m.team.name, "joined_at": m.joined_at.isoformat()}
            for m in TeamMembership.objects.select_related("team").filter(rep=user)]


def _managed_teams_close(account) -> None:
    Team.objects.filter(manager=account.user).update(manager=None)


@personal_data(section="managed_teams", model="members.Team", user_fields=("manager",), order=92,
               closing=Closing.RETAIN, close=_managed_teams_close,
               reason="the team outlives its manager, who is taken off it")
def managed_teams_export(user) -> list[dict]:
    return [{"team": t.name} for t in Team.objects.filter(manager=user).order_by("id")]
