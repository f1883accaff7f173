"""Assignments API under /api/v1/learning/.

GET  /me/assignments — the signed-in rep's rounds (open first).
POST /assignments — staff (MANAGE_ASSIGNMENTS) assign a course or curriculum: `{"course": id} or {"curriculum":
     id}, "audience": all_reps|team|territory|product_line|people, "team"/"territory"/"product_line"/"people": ids,
     "due_rule": fixed|after_assignment|after_joining, "due_on" or "due_days", "recurrence_months"`. 201 with the id
     and how many reps got a round; 400 invalid_assignment / invalid_due / invalid_recurrence / not_a_rep /
     unknown_reference, 403 forbidden.
"""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from engage.core.errors import DomainError
from engage.core.schemas import InputSchema
from learning.assignments import selectors, services
from learning.assignments.models import Curriculum
from learning.courses.models import CoursePage
from members.hospitals.models import Territory, TherapyArea
from members.teams.models import Team

router = Router(tags=["learning"])
ID = Field(default=None, ge=1, le=2**62)


class AssignmentIn(InputSchema):
    course: int | None = ID
    curriculum: int | None = ID
    audience: str = Field(max_length=20)
    team: int | None = ID
    territory: int | None = ID
    product_line: int | None = ID
    people: list[int] = Field(default_factory=list, max_length=500)
    due_rule: str = Field(max_length=20)
    due_on: datetime | None = None
    due_days: int | None = Field(default=None, ge=1, le=services.MAX_DUE_DAYS)
    recurrence_months: int | None = Field(default=None, ge=1, le=services.MAX_RECURRENCE_MONTHS)


class AssignmentOut(Schema):
    id: int
    reps: int


class RoundOut(Schema):
    id: int
    title: str
    due_at: datetime
    completed_at: datetime | None
    overdue: bool
    cycle: int


def _get(model, pk):
    if pk is None:
        return None
    found = model.objects.filter(pk=pk).first()
    if found is None:
        raise DomainError("unknown_reference", _("Something the assignment names does not exist."))
    return found


@router.post("/assignments", response={201: AssignmentOut}, summary="Assign a course or curriculum to reps")
def assignment_create(request, payload: AssignmentIn):
    people = list(get_user_model().objects.filter(pk__in=payload.people, is_active=True))
    if len(people) != len(set(payload.people)):
        raise DomainError("unknown_reference", _("Something the assignment names does not exist."))
    assignment = services.assignment_create(
        actor=request.user, audience=payload.audience, due_rule=payload.due_rule,
        course=_get(CoursePage, payload.course), curriculum=_get(Curriculum, payload.curriculum),
        team=_get(Team, payload.team), territory=_get(Territory, payload.territory),
        product_line=_get(TherapyArea, payload.product_line), people=people, due_on=payload.due_on,
        due_days=payload.due_days, recurrence_months=payload.recurrence_months)
    return 201, {"id": assignment.pk, "reps": assignment.rep_assignments.count()}


@router.get("/me/assignments", response=list[RoundOut], summary="My learning assignments")
def my_assignments(request):
    return [{"id": r.pk, "title": str(r.assignment.target), "due_at": r.due_at, "completed_at": r.completed_at,
             "overdue": r.is_overdue, "cycle": r.cycle} for r in selectors.rounds_of(rep=request.user)]
