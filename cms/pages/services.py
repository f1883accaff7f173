"""Writes of the content app. Publishing itself is Wagtail's (and, later, the review workflow's)."""

from django.db import transaction

from cms.pages.models import ContentDocumentLink, ContentPage, ContentSearchTerm
from cms.pages.search import index_terms


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
    ContentDocumentLink.objects.filter(page_id=page.pk).delete()
    if not page.live or not isinstance(page, ContentPage):
        return 0
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
    return len(terms)


@transaction.atomic
def content_unindex_page(*, page_id: int) -> None:
    ContentSearchTerm.objects.filter(page_id=page_id).delete()
    ContentDocumentLink.objects.filter(page_id=page_id).delete()
