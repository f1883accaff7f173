"""Reads of the review: the admin content dashboard (in review, approved, expiring within 30 days, expired)."""

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from wagtail.models import Page

from cms.pages.models import ContentPage
from cms.reading.selectors import content_most_read


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
