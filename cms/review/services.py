"""Writes of the medical-legal-regulatory review: approvals, approval codes, the publish guard and expiry.

A content revision is published only when it carries both a medical and a compliance approval
(cms.pages.models.ReviewedPageMixin.publish calls `content_check_publishable` on every publish path). Content pages and
meeting pages (events.EventPage) are reviewed the same way; only content approvals expire.
"""

import datetime

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page, Revision, TaskState, Workflow, WorkflowPage, WorkflowTask

from cms.pages.models import ContentPage, HomePage, ReviewedPageMixin
from cms.review.models import (
    ApprovalCodeCounter,
    ApprovalMeaning,
    ContentApproval,
    ContentExpiryNotice,
    ReviewApprovalTask,
)
from cms.review.selectors import approval_refusal
from engage.audit.services import audit_log
from engage.core.errors import DomainError
from engage.core.roles import Role
from engage.inbox.services import notification_send

WORKFLOW_NAME = "医学审核 → 合规审核"  # names are data, shown in Chinese sentences (migration 0011)
APPROVAL_VALIDITY_DAYS = 365
REQUIRED_MEANINGS = frozenset({ApprovalMeaning.MEDICAL.value, ApprovalMeaning.COMPLIANCE.value})


@transaction.atomic
def review_workflow_ensure() -> Workflow:
    """The review workflow with its two steps, assigned to the home page (the whole content tree). Idempotent."""
    workflow, _created = Workflow.objects.get_or_create(name=WORKFLOW_NAME)
    for order, (meaning, group_name, name) in enumerate([
        (ApprovalMeaning.MEDICAL, Role.MEDICAL_REVIEWER, "医学审核"),
        (ApprovalMeaning.COMPLIANCE, Role.COMPLIANCE, "合规审核"),
    ]):
        task = ReviewApprovalTask.objects.filter(meaning=meaning).first()
        if task is None:
            task = ReviewApprovalTask.objects.create(name=name, meaning=meaning)
            group = Group.objects.filter(name=group_name).first()
            if group:
                task.groups.add(group)
        WorkflowTask.objects.get_or_create(workflow=workflow, task=task, defaults={"sort_order": order})
    home = HomePage.objects.first()
    if home is not None:
        WorkflowPage.objects.get_or_create(page=Page.objects.get(pk=home.pk), defaults={"workflow": workflow})
    return workflow


def revision_approvals(revision: Revision | None) -> set[str]:
    if revision is None:
        return set()
    return set(ContentApproval.objects.filter(revision=revision).values_list("meaning", flat=True))


def content_check_publishable(*, revision: Revision) -> None:
    """Raises unless `revision` carries both approvals. Called on every publish of a content page."""
    missing = REQUIRED_MEANINGS - revision_approvals(revision)
    if missing:
        raise DomainError(
            "revision_not_approved",
            _("This version has not been approved by medical and compliance review; it cannot be published."),
            status=403,
        )


def _next_approval_code(*, page: ReviewedPageMixin, when: datetime.datetime) -> str:
    area_code = page.approval_area_code
    if not area_code:
        parent = page.get_parent().specific if page.depth > 1 else None
        area = getattr(parent, "therapy_area", None) or page.therapy_areas.first()
        area_code = area.code[:3] if area else "gen"
    area_code = area_code.upper()
    year = timezone.localtime(when).year
    ApprovalCodeCounter.objects.bulk_create([ApprovalCodeCounter(area_code=area_code, year=year)],
                                            ignore_conflicts=True)
    counter = ApprovalCodeCounter.objects.select_for_update().get(area_code=area_code, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"CN-{area_code}-{year}-{counter.last_number:04d}"


def content_approve(*, task_state: TaskState, reviewer, password: str, comment: str = "",
                    expires_on: datetime.date | None = None) -> ContentApproval:
    """Records `reviewer`'s approval of the task state's revision, re-confirmed with their password,
    then approves the workflow step (the last step publishes the revision).

    Separation of duties (cms.review.selectors.approval_refusal): only a holder of the step's capability, never
    an author of the revision, and never the person who gave the revision's other approval. A refused attempt
    changes nothing but is itself audited (`content.approve_refused`, with who tried and why).
    """
    try:
        with transaction.atomic():
            return _approve(task_state=task_state, reviewer=reviewer, password=password, comment=comment,
                            expires_on=expires_on)
    except DomainError as refusal:
        audit_log(actor=reviewer, action="content.approve_refused", object_type="wagtailcore.page",
                  object_id=task_state.revision.object_id, reason=refusal.code,
                  after={"code": refusal.code, "revision": task_state.revision_id, "task": task_state.task_id,
                         "reviewer": getattr(reviewer, "pk", None)})
        raise


def _approve(*, task_state: TaskState, reviewer, password: str, comment: str,
             expires_on: datetime.date | None) -> ContentApproval:
    task_state = TaskState.objects.select_for_update().get(pk=task_state.pk)
    task = task_state.task.specific
    if not isinstance(task, ReviewApprovalTask):
        raise DomainError("not_a_review_task", _("This step is not a review step."))
    if task_state.status != TaskState.STATUS_IN_PROGRESS:
        raise DomainError("review_step_closed", _("This review step is no longer open."), status=409)
    revision = task_state.revision
    if refusal := approval_refusal(user=reviewer, meaning=task.meaning, revision=revision):
        raise refusal
    if not password or not reviewer.check_password(password):
        raise DomainError("wrong_password", _("The password is not correct; nothing was approved."), status=403)
    page = Page.objects.get(pk=revision.object_id).specific
    if not isinstance(page, ReviewedPageMixin):
        raise DomainError("not_reviewable", _("This page is not reviewed this way."))
    if ContentApproval.objects.filter(revision=revision, meaning=task.meaning).exists():
        raise DomainError("already_approved", _("This version already has this approval."), status=409)
    now = timezone.now()
    code, expires_at = "", None
    if task.meaning == ApprovalMeaning.COMPLIANCE:
        if not ContentApproval.objects.filter(revision=revision, meaning=ApprovalMeaning.MEDICAL).exists():
            raise DomainError("medical_approval_missing", _("Medical review must approve this version first."))
        # Meeting approvals do not expire (the meeting itself ends); content and pages that say so (courses) do.
        if isinstance(page, ContentPage) or getattr(page, "approval_expires", False):
            if expires_on is not None and expires_on <= timezone.localdate():
                raise DomainError("expiry_in_past", _("The expiry date must be in the future."))
            end_of_day = datetime.time(23, 59, tzinfo=timezone.get_current_timezone())
            expires_at = (datetime.datetime.combine(expires_on, end_of_day)
                          if expires_on else now + datetime.timedelta(days=APPROVAL_VALIDITY_DAYS))
        code = _next_approval_code(page=page, when=now)
    approval = ContentApproval.objects.create(
        page_id=page.pk, revision=revision, task=task, meaning=task.meaning, reviewer=reviewer, comment=comment,
        approval_code=code, expires_at=expires_at,
    )
    audit_log(actor=reviewer, action=f"content.approve.{task.meaning}", obj=approval,
              after={"page": page.pk, "revision": revision.pk, "meaning": task.meaning, "approval_code": code,
                     "expires_at": expires_at.isoformat() if expires_at else None})
    task_state.approve(user=reviewer, comment=comment)
    return approval


@transaction.atomic
def content_apply_approval(*, page: ReviewedPageMixin, revision: Revision) -> None:
    """After a publish: the page shows the code (and a content page the expiry) of the published revision's
    approval."""
    approval = ContentApproval.objects.filter(revision=revision, meaning=ApprovalMeaning.COMPLIANCE).first()
    if approval is None:
        return
    if isinstance(page, ContentPage):
        ContentPage.objects.filter(pk=page.pk).update(approval_code=approval.approval_code,
                                                      expires_at=approval.expires_at)
        page.approval_code, page.expires_at = approval.approval_code, approval.expires_at
    elif getattr(page, "approval_expires", False):  # e.g. learning's product courses
        type(page).objects.filter(pk=page.pk).update(approval_code=approval.approval_code,
                                                     expires_at=approval.expires_at)
        page.approval_code, page.expires_at = approval.approval_code, approval.expires_at
    else:
        type(page).objects.filter(pk=page.pk).update(approval_code=approval.approval_code)
        page.approval_code = approval.approval_code


def content_submit_for_review(*, page: ReviewedPageMixin, user) -> None:
    """Starts the review workflow on the page's latest revision (Wagtail's "Submit for moderation")."""
    workflow = review_workflow_ensure()
    current = page.current_workflow_state
    if current is not None:
        current.cancel(user=user)
    workflow.start(page, user)


def content_withdraw_expired(*, now: datetime.datetime | None = None) -> int:
    """Unpublishes every live content page whose approval has expired; audited. Returns how many."""
    now = now or timezone.now()
    count = 0
    for page in ContentPage.objects.live().filter(expires_at__lte=now).specific():
        with transaction.atomic():
            page.unpublish(log_action=True)
            audit_log(actor=None, action="content.expired_unpublished", obj=page,
                      after={"approval_code": page.approval_code, "expires_at": page.expires_at.isoformat()},
                      reason="approval expired")
        count += 1
    return count


EXPIRY_WARNING_DAYS = (30, 7)


def _tell_owner_of_expiry(*, page: ReviewedPageMixin, days: int) -> None:
    """The owner's inbox (pushed to open pages) and, after commit, an email when the owner has an address."""
    from django.core.mail import send_mail
    from django.urls import reverse


    values = {"title": page.title, "days": days, "code": page.approval_code or "-",
              "date": timezone.localtime(page.expires_at).strftime("%Y-%m-%d")}
    title = _("“%(title)s” expires within %(days)s days") % values
    body = _("The approval %(code)s of “%(title)s” expires on %(date)s. Renew the review in time or the page "
             "will be unpublished automatically.") % values
    url = reverse("wagtailadmin_pages:edit", args=[page.pk])
    notification_send(user=page.owner, kind="content.expiring", title=title, body=body, url=url,
                      key=f"content.expiring:{page.pk}:{page.approval_code}:{days}")
    if page.owner.email:
        address, link = page.owner.email, f"{settings.WAGTAILADMIN_BASE_URL}{url}"
        transaction.on_commit(lambda: send_mail(str(title), f"{body}\n\n{link}", None, [address], fail_silently=True))


def content_warn_expiring(*, now: datetime.datetime | None = None) -> int:
    """Tells each owner once per threshold (30 and 7 days) that a live page's approval is about to expire."""
    return expiring_pages_warn(
        pages=ContentPage.objects.live(), action="content.expiry_warning", now=now,
        record=lambda page, days: ContentExpiryNotice.objects.create(page=page, approval_code=page.approval_code,
                                                                     days_before=days))


def expiring_pages_warn(*, pages, record, action: str, now: datetime.datetime | None = None) -> int:
    """Tells the owner of each page in `pages` (live reviewed pages whose approval expires: content, product
    courses) once per threshold (30 and 7 days) by inbox and email, audited as `action`. `record(page, days)` stores
    the warning in a table whose unique constraint refuses a second one (IntegrityError): that makes it once."""
    from django.db import IntegrityError


    now = now or timezone.now()
    sent = 0
    for days in EXPIRY_WARNING_DAYS:
        due = pages.filter(expires_at__gt=now, expires_at__lte=now + datetime.timedelta(days=days))
        for page in due.select_related("owner"):
            if days == 30 and page.expires_at <= now + datetime.timedelta(days=7):
                continue  # inside 7 days already: the 7-day notice is the one that matters
            try:
                with transaction.atomic():
                    record(page, days)
                    audit_log(actor=None, action=action, obj=page,
                              after={"days_before": days, "approval_code": page.approval_code,
                                     "expires_at": page.expires_at.isoformat(),
                                     "owner": page.owner_id})
                    if page.owner_id:
                        _tell_owner_of_expiry(page=page, days=days)
            except IntegrityError:
                continue  # already told: once per threshold
            sent += 1
    return sent
