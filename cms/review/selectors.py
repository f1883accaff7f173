"""Reads of the review: who may give which approval (separation of duties) and the admin content dashboard
(in review, approved, expiring within 30 days, expired)."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page, Revision

from cms.pages.models import ContentPage
from cms.reading.selectors import content_most_read
from cms.review.models import ApprovalMeaning, ContentApproval
from engage.core.errors import DomainError
from engage.core.roles import Capability, can

APPROVAL_CAPABILITIES = {
    ApprovalMeaning.MEDICAL: Capability.APPROVE_MEDICAL,
    ApprovalMeaning.COMPLIANCE: Capability.APPROVE_COMPLIANCE,
}


def can_review(user, meaning: str) -> bool:
    """`user` holds the capability of the review step meaning `meaning` (superusers only through the group)."""
    capability = APPROVAL_CAPABILITIES.get(meaning)
    return capability is not None and can(user, capability)


def revision_authors(revision: Revision) -> set[int]:
    """Who wrote `revision`: its user and everyone who saved a revision of the object since the last revision
    that was fully approved (a compliance approval follows the medical one)."""
    last_approved = ContentApproval.objects.filter(
        page_id=revision.object_id, meaning=ApprovalMeaning.COMPLIANCE, revision_id__lt=revision.pk,
    ).aggregate(last=Max("revision_id"))["last"] or 0
    editors = Revision.objects.filter(
        base_content_type_id=revision.base_content_type_id, object_id=revision.object_id,
        pk__gt=last_approved, pk__lte=revision.pk, user__isnull=False,
    ).values_list("user_id", flat=True)
    return {*editors, *([revision.user_id] if revision.user_id else [])}


def approval_refusal(*, user, meaning: str, revision: Revision) -> DomainError | None:
    """Why `user` may not give the approval meaning `meaning` to `revision`, or None when they may.

    The one rule of separation of duties: the step's capability (a superuser is not implicitly a reviewer),
    never an author of the revision, and the medical and compliance approvals from two different people.
    """
    if not can_review(user, meaning):
        return DomainError("not_a_reviewer", _("You are not a reviewer for this step."), status=403)
    if user.pk in revision_authors(revision):
        return DomainError("reviewer_is_author",
                           _("You wrote or edited this version; another reviewer must approve it."), status=403)
    if ContentApproval.objects.filter(revision=revision, reviewer=user).exclude(meaning=meaning).exists():
        return DomainError("reviewer_gave_other_approval",
                           _("You already gave the other approval of this version; the medical and compliance "
                             "approvals must come from two different people."), status=403)
    return None


def content_review_dashboard(*, now=None) -> dict:
    """Counts and lists for the admin content dashboard: in review, approved, expiring within 30 days, expired."""
    from datetime import timedelta

    from wagtail.models import WorkflowState

    now = now or timezone.now()
    pages = ContentPage.objects.all()
    page_type = ContentType.objects.get_for_model(Page)
    reviewing = WorkflowState.objects.filter(
        status=WorkflowState.STATUS_IN_PROGRESS, base_content_type=page_type
    ).values_list("object_id", flat=True)
    in_review = pages.filter(pk__in=[int(pk) for pk in reviewing])
    live = pages.live()
    expiring = live.filter(expires_at__gt=now, expires_at__lte=now + timedelta(days=30)).order_by("expires_at")
    expired = pages.filter(expires_at__lte=now).order_by("-expires_at")
    approved = live.exclude(approval_code="").filter(expires_at__gt=now)
    return {
        "in_review": in_review, "approved": approved, "expiring": expiring, "expired": expired,
        "most_read": content_most_read(since=now - timedelta(days=30)),
        "counts": {"in_review": in_review.count(), "approved": approved.count(), "expiring": expiring.count(),
                   "expired": expired.count()},
    }
