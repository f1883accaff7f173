"""`{% points_section member %}`: the member page's points card, one query whatever the ledger's size."""

from django import template

from members.points.selectors import is_points_member, points_summary

register = template.Library()


@register.inclusion_tag("members/points/includes/points_section_card.html")
def points_section(member):
    if not is_points_member(member):
        return {"show": False}
    return {"show": True, "summary": points_summary(member)}
