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


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_of_pages_sharing_an_image_move_it_once(settings):
    from pathlib import Path

    from wagtail.images import get_image_model
    from wagtail.images.tests.utils import get_test_image_file

    from cms.pages.storage import gated_image_id

    image = get_image_model().objects.create(title="图", file=get_test_image_file(filename="shared.png"))
    figure = [("image", {"image": image, "caption": "", "source": ""})]
    pages = [make_article(audience=Audience.VERIFIED, body=figure, slug=f"shared-{n}") for n in range(2)]
    for page in pages:  # both unindexed: the image is back in public storage
        services.content_unindex_page(page_id=page.pk)
    image.refresh_from_db()
    assert gated_image_id(image.file.name) is None

    def index(i):
        services.content_index_page(page=ContentPage.objects.get(pk=pages[i % 2].pk))

    assert exceptions(race(4, index, timeout=60)) == []
    image.refresh_from_db()
    assert gated_image_id(image.file.name) == image.pk
    private = sorted(p.name for p in (Path(settings.PRIVATE_ROOT) / "original_images").iterdir())
    assert private == [Path(image.file.name).name]  # one copy: the publishes took turns
    assert not (Path(settings.MEDIA_ROOT) / "original_images").exists() or not any(
        (Path(settings.MEDIA_ROOT) / "original_images").iterdir())
