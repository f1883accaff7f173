"""Learning assignments in the personal data export: the person's rounds (what was assigned, due, completed).
Kept on closing: they are the training record behind a rep's qualification."""

from engage.core.personal_data import Closing, iso, personal_data
from learning.assignments.models import RepAssignment


@personal_data(section="learning_assignments", model="learning.RepAssignment", user_fields=("rep",), order=74,
               closing=Closing.RETAIN,
               reason="assigned training and its completion are the record behind a rep's product qualification")
def learning_assignments_export(user) -> list[dict]:
    rows = RepAssignment.objects.filter(rep=user).select_related("assignment__course", "assignment__curriculum")
    return [{"assignment": str(r.assignment.target), "round": r.cycle, "assigned": iso(r.assigned_at),
             "due": iso(r.due_at), "completed": iso(r.completed_at)} for r in rows.order_by("assigned_at")]
