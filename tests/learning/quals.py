"""Builders for the assignments, certificates, qualification and dashboard tests (not a test module).

    rep = make_rep(); manager = make_manager(); team = make_team(manager=manager, reps=[rep])
    course = make_course(lessons=0)                      # from tests/learning/exam_builders
    curriculum = make_curriculum(courses=[course])
    product = require(curriculum)                         # a product that needs the curriculum
    certify(rep, course)                                  # the course (and curriculum) certificates
"""

import itertools

from cms.pages.models import Product
from learning.assignments.services import curriculum_create, product_requirement_set
from learning.certificates.services import certificates_on_course_completed
from members.teams.services import team_create, team_member_set
from tests.factories import user_with_role
from tests.learning.exam_builders import make_course

_n = itertools.count()

__all__ = ["certify", "make_course", "make_curriculum", "make_manager", "make_product", "make_rep", "make_team",
           "require"]


def make_rep(**fields):
    n = next(_n)
    fields.setdefault("display_name", f"王代表{n}")
    return user_with_role("rep", **fields)


def make_manager(**fields):
    fields.setdefault("display_name", f"李经理{next(_n)}")
    return user_with_role("sales_manager", **fields)


def make_team(*, manager=None, reps=(), product_line=None, name=None):
    team = team_create(actor=None, name=name or f"销售{next(_n)}组", manager=manager, product_line=product_line)
    for rep in reps:
        team_member_set(actor=None, team=team, rep=rep)
    return team


def make_product(name=None) -> Product:
    return Product.objects.create(name=name or f"产品{next(_n)}", generic_name="二甲双胍")


def make_curriculum(*, courses, title=None, validity_months=12):
    return curriculum_create(actor=None, title=title or f"上岗认证{next(_n)}", courses=courses,
                             validity_months=validity_months)


def require(curriculum, product=None) -> Product:
    product = product or make_product()
    product_requirement_set(actor=None, product=product, curriculum=curriculum)
    return product


def certify(rep, course):
    return certificates_on_course_completed(user=rep, course=course)
