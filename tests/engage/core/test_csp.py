"""Every HTML page type sends a Content-Security-Policy that allows what the page uses and nothing inline without the
request's nonce."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from cms.pages.models import Audience
from tests.cms.factories import make_article, make_video
from tests.events.factories import make_event
from tests.factories import make_doctor, user_with_role

pytestmark = pytest.mark.django_db
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")([^>]*)>", re.I)
HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def policy(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def assert_strict(response):
    """The public policy: no unsafe script sources; every inline script carries this response's nonce."""
    csp = policy(response)
    assert csp, f"no Content-Security-Policy on {response.wsgi_request.path}"
    scripts = csp["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    assert csp["object-src"] == ["'none'"] and csp["default-src"] == ["'self'"]
    assert scripts[:1] == ["'self'"] and not [s for s in scripts if s.startswith("http")]  # JS-SDK vendored
    html = response.content.decode()
    nonces = [n for n in scripts if n.startswith("'nonce-")]
    for attributes in INLINE_SCRIPT.findall(html):
        assert nonces and f'nonce="{nonces[0][7:-1]}"' in attributes, attributes
    assert not HANDLER.search(html), HANDLER.search(html).group(0)
    return csp


@pytest.fixture
def pages(settings):
    return {
        "article": make_article(title="公开文章", audience=Audience.PUBLIC),
        "video": make_video(title="公开视频", audience=Audience.PUBLIC),  # has chapters: an inline script
        "meeting": make_event(),
    }


def test_public_pages_send_a_strict_policy(pages):
    client = Client()
    paths = ["/", pages["article"].url, pages["video"].url, pages["meeting"].url, reverse("account_login"),
             reverse("account_signup"), "/content/search/?q=x", "/no-such-page/"]
    for path in paths:
        response = client.get(path)
        assert response.status_code in (200, 404), path
        assert_strict(response)


def test_the_nonce_is_fresh_for_every_response_and_matches_the_inline_script(pages):
    first, second = Client().get(pages["video"].url), Client().get(pages["video"].url)
    nonce = next(n for n in policy(first)["script-src"] if n.startswith("'nonce-"))[7:-1]
    assert f'<script nonce="{nonce}">' in first.content.decode()
    assert policy(first)["script-src"] != policy(second)["script-src"]


def test_doctor_pages_send_a_strict_policy(pages):
    client = Client()
    client.force_login(make_doctor(verified=True))
    for path in ["/members/me/", reverse("profile_edit"), pages["meeting"].url, "/members/me/points/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(response)


def test_stream_origins_are_allowed_for_media_and_the_player(settings):
    from django.conf import settings as live

    directives = live.CONTENT_SECURITY_POLICY["DIRECTIVES"]
    assert "blob:" in directives["media-src"] and "data:" in directives["img-src"]
    assert "blob:" in directives["img-src"]  # camera frames and generated QR codes


def test_admin_pages_send_their_own_policy(pages):
    client = Client()
    client.force_login(user_with_role("admin"))
    for path in ["/admin/", f"/admin/pages/{pages['meeting'].pk}/edit/", "/admin/pages/"]:
        response = client.get(path)
        assert response.status_code == 200, path
        csp = policy(response)
        assert csp["default-src"] == ["'self'"] and csp["object-src"] == ["'none'"]
        assert not any(source.startswith("'nonce-") for source in csp["script-src"])  # a nonce voids unsafe-inline
