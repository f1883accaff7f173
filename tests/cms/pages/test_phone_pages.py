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
