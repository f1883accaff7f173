"""Two publishes of one page index it at the same time: both succeed and the index holds one set of terms."""

import threading

import pytest
from django.db import connection

from cms import services
from cms.models import Audience, ContentDocumentLink, ContentPage, ContentSearchTerm
from tests.cms.content import make_article, make_document


@pytest.mark.django_db(transaction=True)
def test_concurrent_indexing_of_one_page():
    pdf = make_document()
    page = make_article(audience=Audience.PUBLIC, title="二甲双胍与血糖",
                        body=[("document", {"document": pdf, "title": "", "description": ""})])
    expected = set(ContentSearchTerm.objects.filter(page=page).values_list("term", "weight"))
    assert expected
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def index():
        try:
            barrier.wait(timeout=10)
            for _ in range(5):
                services.content_index_page(page=ContentPage.objects.get(pk=page.pk))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=index) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert set(ContentSearchTerm.objects.filter(page=page).values_list("term", "weight")) == expected
    assert ContentDocumentLink.objects.filter(page=page).count() == 1
