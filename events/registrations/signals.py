"""Keeps a meeting's open quota in step with its published capacity.

Wagtail's page_published signal fires on every publish path (admin, review workflow, scripts); the receiver
only calls the quota service. The edit form refuses a too-low capacity first (quota_capacity_check); a capacity
published anyway never breaks taken ≤ seats (non-strict sync).
"""

from wagtail.signals import page_published

from events.pages.models import EventPage
from events.registrations.services import quota_open_sync


def _on_published(sender, instance, **kwargs):
    if isinstance(instance, EventPage):
        quota_open_sync(event=instance, strict=False)


def connect() -> None:
    page_published.connect(_on_published, dispatch_uid="events.quota_open_sync")
