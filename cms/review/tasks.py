"""Celery tasks of cms/: thin and idempotent; each calls services."""

from celery import shared_task

from cms.review.services import content_warn_expiring, content_withdraw_expired


@shared_task(acks_late=True, ignore_result=True)
def content_expiry_task() -> dict:
    """Daily: unpublishes content whose approval expired and warns owners 30 and 7 days ahead; safe to rerun."""
    return {"withdrawn": content_withdraw_expired(), "warned": content_warn_expiring()}
