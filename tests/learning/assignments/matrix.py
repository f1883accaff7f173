"""Assignments' and certificates' objects for the role × surface matrix (not a test module): called by
tests/engage/core/test_role_matrix.py while it builds its world."""


def quals_world(*, users) -> dict:
    from learning.assignments.models import AssignmentAudience, DueRule, ProductRequirement
    from learning.assignments.services import assignment_create
    from tests.learning.quals import certify, make_course, make_curriculum, make_team, require

    course = make_course(lessons=0)
    curriculum = make_curriculum(courses=[course])
    certificates = certify(users["rep"], course)
    certificate = next(c for c in certificates if c.course_id)
    team = make_team()  # no manager and no reps: nobody's access changes
    assignment = assignment_create(actor=None, audience=AssignmentAudience.PEOPLE, people=[users["rep"]],
                                   course=course, due_rule=DueRule.AFTER_ASSIGNMENT, due_days=30)
    requirement = ProductRequirement.objects.get(product=require(curriculum))  # the rep holds its certificate
    return {"curriculum": curriculum.pk, "certificate": certificate.pk, "certificate_code": certificate.code,
            "rep_user": users["rep"].pk, "team": team.pk, "assignment": assignment.pk,
            "product_requirement": requirement.pk}
