"""Home page sections: a doctor's specialties first; public content and a call to join for visitors."""

import pytest

from cms.models import Audience
from members.models import TherapyArea
from tests.cms.content import area_page, make_article, make_reader

pytestmark = pytest.mark.django_db


@pytest.fixture
def pages():
    diabetes, onco = area_page("diabetes"), area_page("oncology")
    return {
        "dm": make_article(diabetes, slug="dm", title="糖尿病新进展", audience=Audience.VERIFIED),
        "onco": make_article(onco, slug="onco", title="肺癌新进展", audience=Audience.VERIFIED),
        "public": make_article(onco, slug="pub", title="公众科普", audience=Audience.PUBLIC),
    }


def _section(html, testid):
    start = html.find(f'data-testid="{testid}"')
    if start < 0:
        return ""
    return html[start:html.find("</section>", start)]


def test_a_verified_doctor_sees_new_content_in_their_specialties(client, pages):
    doctor = make_reader("verified", specialties=[TherapyArea.objects.get(code="diabetes")])
    client.force_login(doctor)
    html = client.get("/").content.decode()
    mine = _section(html, "home-specialty-content")
    assert f'data-page-id="{pages["dm"].pk}"' in mine
    assert f'data-page-id="{pages["onco"].pk}"' not in mine
    latest = _section(html, "home-latest-content")
    assert f'data-page-id="{pages["onco"].pk}"' in latest and f'data-page-id="{pages["dm"].pk}"' not in latest
    assert 'data-testid="home-join"' not in html


def test_an_unverified_doctor_with_specialties_sees_only_what_they_may_read(client, pages):
    client.force_login(make_reader("pending", specialties=[TherapyArea.objects.get(code="diabetes")]))
    html = client.get("/").content.decode()
    assert 'data-testid="home-specialty-content"' not in html
    assert f'data-page-id="{pages["public"].pk}"' in html
    assert f'data-page-id="{pages["dm"].pk}"' not in html


def test_visitors_see_public_content_and_a_call_to_join(client, pages):
    html = client.get("/").content.decode()
    assert f'data-page-id="{pages["public"].pk}"' in html
    assert f'data-page-id="{pages["dm"].pk}"' not in html
    assert 'data-testid="home-join"' in html and 'data-testid="home-signup"' in html
    assert 'data-testid="home-areas"' in html and f'href="{area_page().url}"' in html
