"""Writes of assignments: curricula, product qualification requirements, assigning a course or curriculum to an
audience of reps, completing rounds when a certificate is issued, recertification rounds, and the due reminders.

Every rep's round is one RepAssignment row, unique per (assignment, rep, cycle): expanding an audience again
(the hourly sync picks up reps who joined a team since) creates only the missing rows. Reminders are stamped on
the row under a row lock and keyed in the inbox, so a repeated or concurrent beat sends each one once.
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from engage.audit.services import audit_log
from engage.core.errors import DomainError, PermissionDenied
from engage.core.roles import Capability, can, capability_holders
from learning.assignments.models import (
    Assignment,
    AssignmentAudience,
    Curriculum,
    CurriculumCourse,
    DueRule,
    ProductRequirement,
    RepAssignment,
)
from learning.certificates.models import Certificate
from learning.certificates.selectors import current_certificate
from learning.courses.models import CoursePage
from members.consents.delivery import doctor_notify
from members.teams.selectors import manager_of, person_name

MAX_DUE_DAYS = 3650
MAX_RECURRENCE_MONTHS = 120
MAX_CURRICULUM_COURSES = 50
WEEK = timedelta(days=7)


def _require(actor) -> None:
    if actor is not None and not can(actor, Capability.MANAGE_ASSIGNMENTS):
        raise PermissionDenied("forbidden", _("You may not manage learning assignments."))


def _clean_curriculum(*, title: str, courses: list[CoursePage], validity_months: int,
                      curriculum_id: int | None = None) -> tuple[str, list[int]]:
    """The stripped title and the course ids; DomainError for no title, no or repeated courses, a validity out of
    range or a title another curriculum has."""
    title = (title or "").strip()
    ids = [course.pk for course in courses]
    if not title or len(title) > 200:
        raise DomainError("invalid_curriculum", _("A curriculum needs a title of at most 200 characters."))
    if not ids or len(ids) != len(set(ids)) or len(ids) > MAX_CURRICULUM_COURSES:
        raise DomainError("invalid_curriculum", _("A curriculum needs between 1 and %(n)d different courses.")
                          % {"n": MAX_CURRICULUM_COURSES})
    if not 1 <= int(validity_months) <= MAX_RECURRENCE_MONTHS:
        raise DomainError("invalid_curriculum", _("A certificate is valid for 1 to %(n)d months.")
                          % {"n": MAX_RECURRENCE_MONTHS})
    if Curriculum.objects.filter(title=title).exclude(pk=curriculum_id).exists():
        raise DomainError("curriculum_exists", _("A curriculum with this title exists already."), status=409)
    return title, ids


def _courses_set(curriculum: Curriculum, courses: list[CoursePage]) -> None:
    CurriculumCourse.objects.filter(curriculum=curriculum).delete()
    CurriculumCourse.objects.bulk_create([CurriculumCourse(curriculum=curriculum, course=course, position=i)
                                          for i, course in enumerate(courses)])


@transaction.atomic
def curriculum_create(*, actor, title: str, courses: list[CoursePage], validity_months: int = 12,
                      description: str = "") -> Curriculum:
    """An ordered set of distinct courses. 400 `invalid_curriculum` for no title, no or repeated courses."""
    _require(actor)
    title, ids = _clean_curriculum(title=title, courses=courses, validity_months=validity_months)
    curriculum = Curriculum.objects.create(title=title, description=description, validity_months=validity_months)
    _courses_set(curriculum, courses)
    audit_log(actor=actor, action="learning.curriculum.created", obj=curriculum, after={"courses": ids})
    return curriculum


@transaction.atomic
def curriculum_update(*, actor, curriculum: Curriculum, title: str, courses: list[CoursePage],
                      validity_months: int, description: str = "") -> Curriculum:
    """Changes the title, description, validity and the ordered courses. Certificates already issued keep their
    expiry; new ones use the new validity. Same errors as curriculum_create; nothing is stored then."""
    _require(actor)
    curriculum = Curriculum.objects.select_for_update().get(pk=curriculum.pk)
    title, ids = _clean_curriculum(title=title, courses=courses, validity_months=validity_months,
                                   curriculum_id=curriculum.pk)
    before = {"title": curriculum.title, "validity_months": curriculum.validity_months,
              "courses": list(curriculum.items.values_list("course_id", flat=True))}
    curriculum.title, curriculum.description, curriculum.validity_months = title, description, validity_months
    curriculum.save(update_fields=["title", "description", "validity_months"])
    _courses_set(curriculum, courses)
    audit_log(actor=actor, action="learning.curriculum.updated", obj=curriculum, before=before,
              after={"title": title, "validity_months": validity_months, "courses": ids})
    return curriculum


@transaction.atomic
def product_requirement_set(*, actor, product, curriculum: Curriculum | None,
                            must_be_new: bool = False) -> ProductRequirement | None:
    """Makes `product` require `curriculum` (None: no longer requires anything). Takes effect at once.
    `must_be_new`: 409 `requirement_exists` when the product requires a curriculum already (adding, not changing)."""
    _require(actor)
    before = (ProductRequirement.objects.select_for_update().filter(product=product)
              .values_list("curriculum_id", flat=True).first())
    if must_be_new and before is not None:
        raise DomainError("requirement_exists", _("This product already requires a curriculum: change that one."),
                          status=409)
    if curriculum is None:
        ProductRequirement.objects.filter(product=product).delete()
        requirement = None
    else:
        requirement, _created = ProductRequirement.objects.update_or_create(
            product=product, defaults={"curriculum": curriculum})
    audit_log(actor=actor, action="learning.product_requirement.set", object_type="cms.product",
              object_id=product.pk, before={"curriculum": before},
              after={"curriculum": getattr(curriculum, "pk", None)})
    return requirement


def audience_reps(assignment: Assignment) -> QuerySet:
    """The reps an assignment is for, today."""
    reps = capability_holders(Capability.COVER_TERRITORY, superusers=False)
    match assignment.audience:
        case AssignmentAudience.ALL_REPS:
            return reps
        case AssignmentAudience.TEAM:
            return reps.filter(team_membership__team_id=assignment.team_id)
        case AssignmentAudience.TERRITORY:
            return reps.filter(territories=assignment.territory_id)
        case AssignmentAudience.PRODUCT_LINE:
            return reps.filter(team_membership__team__product_line_id=assignment.product_line_id)
        case _:
            return reps.filter(pk__in=assignment.people.values("pk"))


def due_at_for(assignment: Assignment, rep, *, assigned_at: datetime) -> datetime:
    if assignment.due_rule == DueRule.FIXED:
        return assignment.due_on
    if assignment.due_rule == DueRule.AFTER_JOINING:
        return rep.date_joined + timedelta(days=assignment.due_days)
    return assigned_at + timedelta(days=assignment.due_days)


def _validate(*, course, curriculum, audience, team, territory, product_line, people, due_rule, due_on, due_days,
              recurrence_months, now) -> None:
    if (course is None) == (curriculum is None):
        raise DomainError("invalid_assignment", _("Assign either a course or a curriculum."))
    needed = {AssignmentAudience.TEAM: team, AssignmentAudience.TERRITORY: territory,
              AssignmentAudience.PRODUCT_LINE: product_line, AssignmentAudience.PEOPLE: people or None}
    if audience not in AssignmentAudience.values:
        raise DomainError("invalid_assignment", _("Choose who the assignment is for."))
    if audience in needed and not needed[audience]:
        raise DomainError("invalid_assignment", _("Choose the team, territory, product line or reps."))
    if due_rule not in DueRule.values:
        raise DomainError("invalid_due", _("Choose when the assignment is due."))
    if due_rule == DueRule.FIXED and (due_on is None or due_on <= now):
        raise DomainError("invalid_due", _("The due date must be in the future."))
    if due_rule != DueRule.FIXED and (due_days is None or not 1 <= int(due_days) <= MAX_DUE_DAYS):
        raise DomainError("invalid_due", _("The number of days must be between 1 and %(n)d.") % {"n": MAX_DUE_DAYS})
    if recurrence_months is not None and not 1 <= int(recurrence_months) <= MAX_RECURRENCE_MONTHS:
        raise DomainError("invalid_recurrence", _("Recertification is every 1 to %(n)d months.")
                          % {"n": MAX_RECURRENCE_MONTHS})
    not_reps = [p for p in people or () if not can(p, Capability.COVER_TERRITORY)]
    if not_reps:
        raise DomainError("not_a_rep", _("Only sales reps can be assigned courses: %(names)s.")
                          % {"names": "、".join(str(p) for p in not_reps)})


@transaction.atomic
def assignment_create(*, actor, audience: str, due_rule: str, course: CoursePage | None = None,
                      curriculum: Curriculum | None = None, team=None, territory=None, product_line=None,
                      people=(), due_on: datetime | None = None, due_days: int | None = None,
                      recurrence_months: int | None = None) -> Assignment:
    """Assigns a course or a curriculum and gives every rep of the audience their first round at once.
    400 `invalid_assignment` / `invalid_due` / `invalid_recurrence` / `not_a_rep`; nothing is stored then."""
    _require(actor)
    now = timezone.now()
    people = list(people or ())
    _validate(course=course, curriculum=curriculum, audience=audience, team=team, territory=territory,
              product_line=product_line, people=people, due_rule=due_rule, due_on=due_on, due_days=due_days,
              recurrence_months=recurrence_months, now=now)
    assignment = Assignment.objects.create(
        course=course, curriculum=curriculum, audience=audience, team=team, territory=territory,
        product_line=product_line, due_rule=due_rule, due_on=due_on if due_rule == DueRule.FIXED else None,
        due_days=due_days if due_rule != DueRule.FIXED else None, recurrence_months=recurrence_months,
        created_by=actor, created_at=now)
    if people:
        assignment.people.set(people)
    created = assignment_expand(assignment=assignment, now=now)
    audit_log(actor=actor, action="learning.assignment.created", obj=assignment,
              after={"target": str(assignment.target), "audience": audience, "due_rule": due_rule,
                     "reps": created, "recurrence_months": recurrence_months})
    return assignment


def _certificate_for(assignment: Assignment, rep, now) -> Certificate | None:
    return current_certificate(user=rep, course=assignment.course, curriculum=assignment.curriculum, now=now)


def assignment_expand(*, assignment: Assignment, now: datetime | None = None) -> int:
    """First rounds for the audience's reps who have none yet (a rep who already holds a current certificate
    starts completed). Returns how many rows were created."""
    now = now or timezone.now()
    have = set(RepAssignment.objects.filter(assignment=assignment).values_list("rep_id", flat=True))
    rows = []
    for rep in audience_reps(assignment).exclude(pk__in=have):
        certificate = _certificate_for(assignment, rep, now)
        rows.append(RepAssignment(assignment=assignment, rep=rep, cycle=1, assigned_at=now,
                                  due_at=due_at_for(assignment, rep, assigned_at=now),
                                  completed_at=now if certificate else None, certificate=certificate))
    RepAssignment.objects.bulk_create(rows, ignore_conflicts=True)  # a concurrent sync made the same rows
    return len(rows)


def _target_q(certificate: Certificate) -> Q:
    if certificate.course_id:
        return Q(assignment__course_id=certificate.course_id)
    return Q(assignment__curriculum_id=certificate.curriculum_id)


@transaction.atomic
def assignments_complete(*, certificate_id: int) -> int:
    """The holder's open rounds for the certificate's course or curriculum are completed by it."""
    certificate = Certificate.objects.filter(pk=certificate_id, revoked_at__isnull=True).first()
    if certificate is None:
        return 0
    return (RepAssignment.objects.filter(_target_q(certificate), rep_id=certificate.user_id,
                                         completed_at__isnull=True)
            .update(completed_at=certificate.issued_at, certificate=certificate))


def assignments_recertify(*, certificate: Certificate, now: datetime) -> int:
    """Next rounds of the recurring assignments the holder completed for this certificate's target, due when the
    certificate expires. Idempotent (unique per cycle)."""
    rows = []
    latest = (RepAssignment.objects.filter(_target_q(certificate), rep_id=certificate.user_id,
                                           assignment__recurrence_months__isnull=False, assignment__active=True)
              .order_by("assignment_id", "-cycle").distinct("assignment_id"))
    for previous in latest:
        if previous.completed_at is None:
            continue  # the current round is still open: nothing to start
        rows.append(RepAssignment(assignment_id=previous.assignment_id, rep_id=certificate.user_id,
                                  cycle=previous.cycle + 1, assigned_at=now, due_at=certificate.expires_at))
    RepAssignment.objects.bulk_create(rows, ignore_conflicts=True)
    for row in rows:
        audit_log(actor=None, action="learning.assignment.recertification", object_type="learning.assignment",
                  object_id=row.assignment_id, after={"rep": row.rep_id, "cycle": row.cycle,
                                                      "due_at": row.due_at.isoformat()})
    return len(rows)


def _local_date(when: datetime):
    return timezone.localtime(when).date()


def _remind(row: RepAssignment, *, which: str, now: datetime) -> None:
    title_of = str(row.assignment.target)
    due = _local_date(row.due_at).isoformat()
    if which == "week":
        title = _("Learning due in a week")
        body = _("“%(title)s” is due on %(date)s.") % {"title": title_of, "date": due}
        manager_body = _("%(rep)s: “%(title)s” is due on %(date)s.")
    else:
        title = _("Learning due today") if _local_date(now) == _local_date(row.due_at) else _("Learning overdue")
        body = _("“%(title)s” was due on %(date)s.") % {"title": title_of, "date": due} \
            if row.due_at < now else _("“%(title)s” is due today (%(date)s).") % {"title": title_of, "date": due}
        manager_body = _("%(rep)s: “%(title)s” is due on %(date)s and not completed.")
    url = reverse("learning:assignments_mine")
    doctor_notify(user=row.rep, kind="learning.assignment", title=title, body=body, url=url,
                  key=f"learning.assignment:{row.pk}:{which}")
    manager = manager_of(row.rep)
    if manager is not None and manager.is_active:
        doctor_notify(user=manager, kind="learning.assignment", title=title,
                      body=manager_body % {"rep": person_name(row.rep),
                                           "title": title_of, "date": due},
                      url=reverse("learning:rep_learning", args=[row.rep_id]),
                      key=f"learning.assignment:{row.pk}:{which}:manager:{manager.pk}")


def assignment_reminders_send(*, now: datetime | None = None) -> int:
    """A week before the due date and on the day (or at once when the day was missed): the rep and their
    manager are told, in the inbox and over WeChat/SMS where they consented. Each reminder once per round."""
    now = now or timezone.now()
    sent = 0
    open_rounds = RepAssignment.objects.filter(completed_at__isnull=True, assignment__active=True)
    plans = (
        ("week", "reminded_week_at", open_rounds.filter(reminded_week_at__isnull=True, due_at__gt=now,
                                                        due_at__lte=now + WEEK)),
        ("due", "reminded_due_at", open_rounds.filter(reminded_due_at__isnull=True,
                                                      due_at__lte=_end_of_local_day(now))),
    )
    for which, field, qs in plans:
        for pk in qs.values_list("pk", flat=True):
            with transaction.atomic():
                row = (RepAssignment.objects.select_for_update(skip_locked=True, of=("self",))
                       .select_related("assignment__course", "assignment__curriculum", "rep")
                       .filter(pk=pk, completed_at__isnull=True, **{f"{field}__isnull": True}).first())
                if row is None:
                    continue
                setattr(row, field, now)
                if which == "due" and row.reminded_week_at is None:
                    row.reminded_week_at = now  # a week's notice makes no sense any more
                row.save(update_fields=["reminded_week_at", "reminded_due_at"])
                _remind(row, which=which, now=now)
                sent += 1
    return sent


def _end_of_local_day(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=23, minute=59, second=59, microsecond=999999)


def assignments_sync(*, now: datetime | None = None) -> dict:
    """Beat, hourly: new reps of every active assignment's audience get their round; then the reminders."""
    now = now or timezone.now()
    created = 0
    for assignment in Assignment.objects.filter(active=True).select_related("course", "curriculum"):
        with transaction.atomic():
            created += assignment_expand(assignment=assignment, now=now)
    return {"created": created, "reminded": assignment_reminders_send(now=now)}
