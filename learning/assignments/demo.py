"""Demo rep learning for `seed_demo`: a sales manager and team, the onboarding curriculum (compliance and the
first product's course) required to promote that product, assigned to every demo rep with one overdue,
certificates for some reps, and demo rep 02 left unqualified: their quota for today's meeting (about that
product, events.pages.demo) refuses and says why."""

from collections import Counter
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from engage.core.demo import DemoRun, demo_seeder
from engage.core.roles import Role
from learning.assignments.models import Assignment, AssignmentAudience, Curriculum, DueRule, ProductRequirement
from learning.assignments.services import assignment_create, curriculum_create, product_requirement_set
from learning.certificates.services import certificates_on_course_completed
from learning.courses.models import CoursePage
from members.accounts.demo import DEMO_PASSWORD
from members.teams.models import Team
from members.teams.services import team_create, team_member_set

CURRICULUM = "新员工上岗认证"
COMPLIANCE_COURSE = "医药代表合规培训"  # learning.courses.demo
TEAM = "华东销售一组"
MANAGER = ("demo-manager", "manager@demo.engage.local", "销售经理演示账号")
CERTIFIED = ("demo-rep-01", "demo-rep-03", "demo-rep-04")
UNQUALIFIED = "demo-rep-02"
OVERDUE = "demo-rep-05"


def _user(username):
    return get_user_model().objects.filter(username=username, is_active=True).first()


def _manager(run: DemoRun, created: Counter):
    username, email, name = MANAGER
    manager = _user(username)
    if manager is None:
        if get_user_model().objects.filter(email=email).exists():
            return None
        manager = get_user_model().objects.create(username=username, email=email, display_name=name,
                                                  password=make_password(DEMO_PASSWORD))
        manager.groups.add(Group.objects.get(name=Role.SALES_MANAGER.value))
        created["sales managers"] += 1
    run.notes.append(f"Sales manager log-in: {email} with password {DEMO_PASSWORD} (the learning dashboard: "
                     f"/learning/dashboard/).")
    return manager


@demo_seeder(order=120, takes_run=True)
@transaction.atomic
def seed_demo_learning(run: DemoRun) -> Counter:
    created = Counter()
    compliance = CoursePage.objects.filter(product__isnull=True, title=COMPLIANCE_COURSE).first()
    product_course = CoursePage.objects.filter(slug__startswith="product-", product__isnull=False).order_by(
        "product_id").first()
    reps = [rep for rep in (_user(f"demo-rep-{n:02d}") for n in range(1, 11)) if rep is not None]
    if compliance is None or product_course is None or not reps:
        return
    manager = _manager(run, created)
    if not Team.objects.filter(name=TEAM).exists():
        team = team_create(actor=None, name=TEAM, manager=manager, product_line=product_course.therapy_area)
        for rep in reps[:5]:
            team_member_set(actor=None, team=team, rep=rep)
        created["teams"] += 1
    curriculum = Curriculum.objects.filter(title=CURRICULUM).first()
    if curriculum is None:
        curriculum = curriculum_create(actor=None, title=CURRICULUM, courses=[compliance, product_course],
                                       description="合规培训与产品培训：推广该产品前必须完成。")
        created["curricula"] += 1
    product = product_course.product
    if not ProductRequirement.objects.filter(product=product).exists():
        product_requirement_set(actor=None, product=product, curriculum=curriculum)
        created["product requirements"] += 1
    for rep in reps:
        if rep.username in CERTIFIED:
            for course in (compliance, product_course):
                created["certificates"] += len(certificates_on_course_completed(user=rep, course=course))
    if not Assignment.objects.filter(curriculum=curriculum).exists():
        assignment = assignment_create(actor=None, curriculum=curriculum, audience=AssignmentAudience.ALL_REPS,
                                       due_rule=DueRule.AFTER_ASSIGNMENT, due_days=30, recurrence_months=12)
        # One rep's round is overdue, so the alerts and the dashboard have something to show.
        assignment.rep_assignments.filter(rep__username=OVERDUE).update(
            assigned_at=timezone.now() - timedelta(days=40), due_at=timezone.now() - timedelta(days=10))
        created["assignments"] += 1
    # Today's demo meeting is about the first product (events.pages.demo): the unqualified rep's invitation link
    # for it refuses and says why.
    run.notes.append(f"{UNQUALIFIED} is not qualified for {product.name}: see /events/rep/quotas/.")
    return created
