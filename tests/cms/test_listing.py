"""Therapy-area index: filters, pagination, and a query count that does not grow with the number of children."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from cms.models import Audience
from tests.cms.content import area_page, make_article, make_literature, make_reader, make_video

pytestmark = pytest.mark.django_db


def _cards(html):
    return html.count('data-testid="content-card"')


def test_index_filters_by_type_tag_and_date(client):
    index = area_page("cardiovascular")
    make_article(index, slug="a1", audience=Audience.PUBLIC, tags=["指南解读"])
    make_article(index, slug="a2", audience=Audience.PUBLIC, tags=["病例分享"])
    make_literature(index, slug="l1", audience=Audience.PUBLIC)
    make_video(index, slug="v1", audience=Audience.PUBLIC)
    assert _cards(client.get(index.url).content.decode()) == 4
    assert _cards(client.get(index.url, {"type": "video"}).content.decode()) == 1
    assert _cards(client.get(index.url, {"type": "literature"}).content.decode()) == 1
    assert _cards(client.get(index.url, {"tag": "指南解读"}).content.decode()) == 1
    assert _cards(client.get(index.url, {"since": "2999-01-01"}).content.decode()) == 0
    # Unknown or malformed filters are ignored, never an error.
    for params in ({"type": "podcast"}, {"since": "not-a-date"}, {"page": "-3"}, {"tag": "x" * 5000}):
        response = client.get(index.url, params)
        assert response.status_code == 200
        assert _cards(response.content.decode()) == 4


def test_index_lists_pages_classified_in_the_area_from_elsewhere(client):
    from members.models import TherapyArea

    cardio = area_page("cardiovascular")
    diabetes = area_page("diabetes")
    make_article(diabetes, slug="shared", audience=Audience.PUBLIC,
                 areas=[TherapyArea.objects.get(code="diabetes"), TherapyArea.objects.get(code="cardiovascular")])
    html = client.get(cardio.url).content.decode()
    assert _cards(html) == 1


def test_index_paginates(client):
    index = area_page()
    for n in range(15):
        make_article(index, slug=f"p{n}", audience=Audience.PUBLIC)
    first = client.get(index.url).content.decode()
    assert _cards(first) == 12 and 'data-testid="pagination"' in first
    assert _cards(client.get(index.url, {"page": 2}).content.decode()) == 3
    assert _cards(client.get(index.url, {"page": 99}).content.decode()) == 3  # past the end: the last page


def _with_children(slug_prefix, count, index):
    Image = get_image_model()
    for n in range(count):
        image = Image.objects.create(title=f"cover {n}", file=get_test_image_file(filename=f"{slug_prefix}{n}.png"))
        page = make_article(index, slug=f"{slug_prefix}{n}", audience=Audience.VERIFIED)
        type(page).objects.filter(pk=page.pk).update(cover_image=image)


def _queries(client, url):
    client.get(url)  # the first view renders the cover renditions
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_index_query_count_does_not_grow_with_children(client):
    client.force_login(make_reader("verified"))
    few, many = area_page("diabetes"), area_page("oncology")
    _with_children("few", 3, few)
    _with_children("many", 30, many)
    assert _cards(client.get(many.url).content.decode()) == 12
    assert _queries(client, few.url) == _queries(client, many.url)
    assert _queries(client, "/") == _queries(client, "/")  # the home page too: cards of both areas
