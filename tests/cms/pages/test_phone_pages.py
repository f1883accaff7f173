"""The phone pages' layout promises that HTML can hold: therapy areas as chips, the content kind as an inline badge,
the member page's avatar header and its always-present links to reading history and favourites."""

import pytest
from django.test import Client

from tests.cms.factories import area_page, make_article, make_reader

pytestmark = pytest.mark.django_db


def _html(user, url):
    client = Client()
    if user is not None:
        client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_home_lists_therapy_areas_as_chips_and_kinds_as_inline_badges():
    area_page("diabetes")
    make_article(area_page("oncology"), slug="onc", title="肿瘤免疫治疗")
    html = _html(make_reader("verified"), "/")
    areas = html[html.index('data-testid="home-areas"'):]
    areas = areas[:areas.index("</nav>")]
    assert 'class="engage-chips"' in areas and areas.count('data-testid="home-area"') >= 3
    assert "engage-tag" not in areas  # no full-width strips
    assert 'class="engage-badge engage-badge_neutral engage-content-card__kind" data-testid="content-kind"' in html


def test_member_page_has_an_avatar_header_and_always_links_history_and_favourites():
    doctor = make_reader("verified")
    html = _html(doctor, "/members/me/")
    assert 'data-testid="member-head"' in html and 'data-testid="member-avatar"' in html
    assert 'data-testid="member-head-verified"' in html
    # Nothing read yet, so there is no "continue reading": the links are there all the same.
    assert 'data-testid="continue-reading"' not in html
    assert 'href="/content/reading/history/"' in html and 'href="/content/reading/favourites/"' in html
    for url in ("/content/reading/history/", "/content/reading/favourites/"):
        _html(doctor, url)


def test_cards_show_the_cover_image_the_content_has():
    from wagtail.images import get_image_model
    from wagtail.images.tests.utils import get_test_image_file

    from cms.pages.demo import AREAS, _area_cover

    cover = get_image_model().objects.create(title="封面", file=get_test_image_file(filename="cover.png"))
    from cms.pages.models import ArticlePage, Audience
    from tests.cms.factories import publish

    parent = area_page()
    with_cover = publish(parent, ArticlePage(title="有封面的文章", slug="with-cover", summary="摘要", cover_image=cover,
                                             audience=Audience.VERIFIED, body=[("rich_text", "<p>正文</p>")]),
                         areas=[parent.specific.therapy_area])
    make_article(slug="no-cover", title="没有封面的文章")
    doctor = make_reader("verified")
    html = _html(doctor, "/")
    card = html[html.index(f'data-page-id="{with_cover.pk}"'):]
    card = card[:card.index("</a>")]
    assert 'class="engage-content-card__cover"' in card
    src = card[card.index('src="') + 5:]
    src = src[:src.index('"')]
    client = Client()
    client.force_login(doctor)
    assert client.get(src).status_code == 200
    assert html.count('class="engage-content-card__cover"') == 1
    # The demo gives each area's articles one generated cover.
    assert _area_cover(AREAS[0], 0).pk == _area_cover(AREAS[0], 0).pk
