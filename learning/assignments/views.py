"""Rep learning pages (phone-first): what is due, a curriculum's courses in order, and a rep's learning page
(rounds, certificates, capability radar and its history) for the rep, their manager and training staff."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from engage.core.errors import NotFound
from engage.core.qualification import qualification_gaps
from learning.assignments import selectors
from learning.certificates.selectors import certificates_of
from learning.competencies.exporters import radar_svg
from learning.competencies.selectors import capability_history, capability_profile
from members.teams.selectors import person_name


def _private(response):
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def assignments_mine(request):
    """The signed-in rep's rounds: overdue and open by due date, then done."""
    summary = selectors.rounds_summary(rep=request.user)
    return _private(render(request, "learning/assignments/mine.html",
                           {**summary, "not_qualified": qualification_gaps(user=request.user)}))


@login_required
@require_GET
def curriculum(request, curriculum_id: int):
    try:
        found = selectors.access_curriculum(user=request.user, curriculum_id=curriculum_id)
    except NotFound:
        raise Http404 from None
    return _private(render(request, "learning/assignments/curriculum.html", {
        "curriculum": found, "steps": selectors.curriculum_steps(curriculum=found, user=request.user),
        "products": [r.product for r in found.required_for.select_related("product")],
    }))


@login_required
@require_GET
def rep_learning(request, rep_id: int):
    """A rep's learning: the rep themselves, their manager, training staff; 404 for anyone else."""
    try:
        rep = selectors.access_rep(user=request.user, rep_id=rep_id)
    except NotFound:
        raise Http404 from None
    scores = capability_profile(user=rep)
    name = person_name(rep)
    # radar_svg escapes every label and number it writes.
    radar = mark_safe(radar_svg(scores, title=_("Capability profile of %(name)s") % {"name": name}))  # noqa: S308
    return _private(render(request, "learning/assignments/rep.html", {
        "rep": rep, "rep_name": name, **selectors.rounds_summary(rep=rep), "scores": scores, "radar": radar,
        "history": capability_history(user=rep, per="week"), "certificates": list(certificates_of(user=rep)),
        "not_qualified": qualification_gaps(user=rep),
    }))
