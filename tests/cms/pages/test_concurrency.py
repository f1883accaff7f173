"""Two publishes of one page index it at the same time: both succeed and the index holds one set of terms."""

import pytest

from cms.pages import services
from cms.pages.models import Audience, ContentDocumentLink, ContentPage, ContentSearchTerm
from tests.cms.factories import make_article, make_document
from tests.race import exceptions, race


@pytest.mark.django_db(transaction=True)
def test_concurrent_indexing_of_one_page():
    pdf = make_document()
    page = make_article(audience=Audience.PUBLIC, title="二甲双胍与血糖",
                        body=[("document", {"document": pdf, "title": "", "description": ""})])
    expected = set(ContentSearchTerm.objects.filter(page=page).values_list("term", "weight"))
    assert expected

    def index(i):
        for _ in range(5):
            services.content_index_page(page=ContentPage.objects.get(pk=page.pk))

    errors = exceptions(race(4, index, timeout=60))
    assert errors == []
    assert set(ContentSearchTerm.objects.filter(page=page).values_list("term", "weight")) == expected
    assert ContentDocumentLink.objects.filter(page=page).count() == 1
