"""Assignments' and certificates' objects for the role × surface matrix (not a test module): called by
tests/engage/core/test_role_matrix.py while it builds its world."""


def quals_world(*, users) -> dict:
    from tests.learning.quals import certify, make_course, make_curriculum

    course = make_course(lessons=0)
    curriculum = make_curriculum(courses=[course])
    certificates = certify(users["rep"], course)
    certificate = next(c for c in certificates if c.course_id)
    return {"curriculum": curriculum.pk, "certificate": certificate.pk, "certificate_code": certificate.code,
            "rep_user": users["rep"].pk}
