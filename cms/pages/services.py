"""Writes of the content app. Publishing itself is Wagtail's (and, later, the review workflow's)."""

from django.db import connection, transaction

from cms.pages.models import (
    Audience,
    ContentDocumentLink,
    ContentImageLink,
    ContentPage,
    ContentSearchDocument,
    ContentSearchTerm,
)
from cms.pages.search import index_terms
from cms.pages.selectors import CONTENT_GENERATION_KEY
from cms.pages.storage import gated_image_id, gated_image_name


@transaction.atomic
def content_index_page(*, page: ContentPage) -> int:
    """Replaces the page's search terms and document links with those of its live content.

    Returns how many terms the page has. Idempotent: indexing the same content twice leaves the same rows,
    also when two publishes of the page index it at the same time. A page that is not live has none.
    """
    # Concurrent publishes of one page take turns here: otherwise both would insert the same (term, page) rows.
    ContentPage.objects.select_for_update().filter(pk=page.pk).values_list("pk", flat=True).first()
    page = page.specific
    ContentSearchTerm.objects.filter(page_id=page.pk).delete()
    ContentSearchDocument.objects.filter(page_id=page.pk).delete()
    ContentDocumentLink.objects.filter(page_id=page.pk).delete()
    images = _unlink_images(page_id=page.pk)
    if not page.live or not isinstance(page, ContentPage):
        image_files_place(image_ids=images)
        content_generation_bump()
        return 0
    used_images = page.used_image_ids()
    ContentImageLink.objects.bulk_create([ContentImageLink(page_id=page.pk, image_id=pk) for pk in used_images])
    image_files_place(image_ids=images | used_images)
    downloadable: dict[int, bool] = {}
    for document, allowed in page.used_documents():
        downloadable[document.pk] = downloadable.get(document.pk, False) or allowed
    ContentDocumentLink.objects.bulk_create(
        [ContentDocumentLink(page_id=page.pk, document_id=pk, downloadable=ok) for pk, ok in downloadable.items()]
    )
    terms = index_terms(page.search_text_parts())
    ContentSearchTerm.objects.bulk_create(
        [ContentSearchTerm(page_id=page.pk, term=term, weight=weight) for term, weight in terms.items()]
    )
    _search_document_write(page_id=page.pk, terms=list(terms))
    content_generation_bump()  # the search's term statistics are kept per generation
    return len(terms)


def content_generation_bump() -> None:
    """A page was published or unpublished: pages cached under the content generation are stale. Bumped at once
    (this request) and again on commit (a request that cached the old content meanwhile)."""
    from uuid import uuid4

    from django.core.cache import cache

    def bump():
        cache.set(CONTENT_GENERATION_KEY, uuid4().hex, timeout=None)

    bump()
    transaction.on_commit(bump)


def _search_document_write(*, page_id: int, terms: list[str]) -> None:
    """The page's terms as a tsvector for the PostgreSQL search (lexemes as jieba cut them, no stemming)."""
    if connection.vendor != "postgresql" or not terms:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO cms_contentsearchdocument (page_id, vector) VALUES (%s, array_to_tsvector(%s::text[]))",
            [page_id, terms],
        )


@transaction.atomic
def content_unindex_page(*, page_id: int) -> None:
    ContentSearchTerm.objects.filter(page_id=page_id).delete()
    ContentSearchDocument.objects.filter(page_id=page_id).delete()
    ContentDocumentLink.objects.filter(page_id=page_id).delete()
    image_files_place(image_ids=_unlink_images(page_id=page_id))
    content_generation_bump()


def _unlink_images(*, page_id: int) -> set[int]:
    links = ContentImageLink.objects.filter(page_id=page_id)
    image_ids = set(links.values_list("image_id", flat=True))
    links.delete()
    return image_ids


@transaction.atomic
def image_files_place(*, image_ids: set[int]) -> int:
    """Moves each image's original (and so its renditions) to where its use says: private, with a URL through
    the checked view, while a live page whose audience is above anonymous shows it; public otherwise.

    Returns how many images moved. The copy is written before the database row changes and the old file is
    deleted only on commit, so a rolled-back publish leaves the image where it was. Renditions are deleted and
    Wagtail renders them again from the moved original, under its name (and so in its place).
    """
    from wagtail.images import get_image_model

    if not image_ids:
        return 0
    gated = set(
        ContentImageLink.objects.filter(image_id__in=image_ids, page__live=True)
        .exclude(page__audience=Audience.PUBLIC).values_list("image_id", flat=True)
    )
    moved = 0
    # Publishes of pages sharing an image take turns on its row, in a fixed order.
    for image in get_image_model().objects.select_for_update().filter(pk__in=image_ids).order_by("pk"):
        if (gated_image_id(image.file.name) == image.pk) == (image.pk in gated):
            continue
        _image_file_move(image, gated_image_name(image.file.name, image.pk if image.pk in gated else None))
        moved += 1
    return moved


def _image_file_move(image, name: str) -> None:
    storage, old = image.file.storage, image.file.name
    if not storage.exists(old):  # nothing to move (a file lost on disk): the row still records the gating
        type(image).objects.filter(pk=image.pk).update(file=name)
        return
    with storage.open(old, "rb") as handle:
        new = storage.save(name, handle)
    type(image).objects.filter(pk=image.pk).update(file=new)
    image.renditions.all().delete()  # Wagtail deletes their files on commit
    transaction.on_commit(lambda: storage.delete(old))
