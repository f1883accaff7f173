"""`{% scorm_player package %}`: the SCORM player (scorm-again as window.API and the package's iframe) for the
signed-in learner, on the lesson page or the player page."""

from django import template

from learning.scorm.selectors import can_run_scorm_package
from learning.scorm.views import player_context

register = template.Library()


@register.inclusion_tag("learning/scorm/includes/player.html", takes_context=True)
def scorm_player(context, package):
    request = context.get("request")
    user = getattr(request, "user", None)
    if package is None or user is None or not can_run_scorm_package(user, package):
        return {"show": False}
    return {"show": True, **player_context(user=user, package=package)}
