"""Publishing places each image where its use says: gated (private, checked URL) or public."""

import pytest
from django.contrib.auth.models import AnonymousUser
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from cms.pages.models import Audience, ContentImageLink
from cms.pages.selectors import access_image_file
from cms.pages.storage import gated_image_id
from engage.core.errors import PermissionDenied
from tests.cms.factories import make_article, make_reader


def _figure(image):
    return [("image", {"image": image, "caption": "", "source": ""})]


@pytest.mark.django_db
def test_unpublishing_the_only_gated_page_makes_its_image_public_again(django_capture_on_commit_callbacks):
    image = get_image_model().objects.create(title="图", file=get_test_image_file(filename="fig.png"))
    with django_capture_on_commit_callbacks(execute=True):
        page = make_article(audience=Audience.VERIFIED, body=_figure(image), slug="only-gated")
    image.refresh_from_db()
    assert gated_image_id(image.file.name) == image.pk
    assert ContentImageLink.objects.filter(page=page, image=image).exists()
    gated_rendition = image.get_rendition("width-400")
    assert gated_image_id(gated_rendition.file.name) == image.pk and gated_rendition.url.startswith("/content/")
    with django_capture_on_commit_callbacks(execute=True):
        page.unpublish()
    image.refresh_from_db()
    assert gated_image_id(image.file.name) is None and image.file.name.startswith("original_images/fig")
    assert image.file.storage.exists(image.file.name)
    assert image.get_rendition("width-400").url.startswith("/media/images/fig")
    assert not ContentImageLink.objects.filter(image=image).exists()


@pytest.mark.django_db
def test_an_image_a_public_page_shows_too_is_readable_by_everyone():
    image = get_image_model().objects.create(title="图", file=get_test_image_file(filename="shared.png"))
    make_article(audience=Audience.VERIFIED, body=_figure(image), slug="shared-gated")
    image.refresh_from_db()
    name = image.get_rendition("width-400").file.name
    with pytest.raises(PermissionDenied):
        access_image_file(user=AnonymousUser(), name=name)
    assert access_image_file(user=make_reader("verified"), name=name) == image.pk
    make_article(audience=Audience.PUBLIC, body=_figure(image), slug="shared-public")
    image.refresh_from_db()
    name = image.get_rendition("width-400").file.name
    assert access_image_file(user=AnonymousUser(), name=name) == image.pk
