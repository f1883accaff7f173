"""Keeps the Chinese search index and the content generation (cached pages) in step with publishing.

Wagtail's page_published / page_unpublished signals fire on every publish path (admin, workflow, scripts),
so they are the one place to hook; the receivers only call the service.
"""

from django.db.models.signals import post_delete, post_save
from wagtail.models import PageViewRestriction
from wagtail.signals import page_published, page_unpublished

from cms.pages import services
from cms.pages.models import ContentPage, ReviewedPageMixin
from cms.review.services import content_apply_approval


def _on_published(sender, instance, revision=None, **kwargs):
    services.content_generation_bump()
    if isinstance(instance, ReviewedPageMixin) and revision is not None:
        content_apply_approval(page=instance, revision=revision)
    if isinstance(instance, ContentPage):
        services.content_index_page(page=instance)


def _on_unpublished(sender, instance, **kwargs):
    services.content_generation_bump()
    if isinstance(instance, ContentPage):
        services.content_unindex_page(page_id=instance.pk)


def _on_view_restriction_changed(sender, instance, **kwargs):
    services.content_generation_bump()  # a visitor's cached copy of a page that is now restricted is stale


def connect() -> None:
    page_published.connect(_on_published, dispatch_uid="cms.search_index_published")
    page_unpublished.connect(_on_unpublished, dispatch_uid="cms.search_index_unpublished")
    post_save.connect(_on_view_restriction_changed, sender=PageViewRestriction, dispatch_uid="cms.restriction_saved")
    post_delete.connect(_on_view_restriction_changed, sender=PageViewRestriction,
                        dispatch_uid="cms.restriction_deleted")
