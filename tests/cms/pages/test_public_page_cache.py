"""A visitor's copy of the home page (cms.pages.middleware): served without routing, rendering or a query, with the
visitor's own CSRF token; never to or from a signed-in reader; gone with every publish, unpublish or restriction."""

import re

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from wagtail.models import Page, PageViewRestriction

from cms.pages import middleware as page_cache
from cms.pages.middleware import PublicPageCacheMiddleware, public_page_cache_allow
from cms.pages.models import Audience
from members.hospitals.models import TherapyArea
from tests.cms.factories import area_page, make_article, make_reader

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]+)"')


@pytest.fixture(autouse=True)
def _new_process():
    """Each test starts as a new web process would: it has stored no copy yet."""
    page_cache._copied_paths.clear()


@pytest.fixture
def public():
    return make_article(area_page("oncology"), slug="pub", title="公众科普", audience=Audience.PUBLIC)


def _queries(client: Client, path: str = "/", **extra) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, **extra)
    assert response.status_code == 200
    return len(queries.captured_queries), response.content.decode()


def test_a_visit_after_the_first_two_is_a_copy_with_the_visitors_own_csrf_token(public):
    visitor = Client(enforce_csrf_checks=True)
    first_queries, first = _queries(visitor)  # the process learns that the page may be copied
    assert first_queries > 0 and f'data-page-id="{public.pk}"' in first
    assert _queries(visitor)[0] > 0  # stores the copy
    copy_queries, copy = _queries(visitor)
    assert copy_queries == 0  # no routing, no site lookup, no rendering
    assert TOKEN.sub("", copy) == TOKEN.sub("", first)
    # The copy's form works for this visitor: the token written in belongs to their CSRF cookie.
    token = TOKEN.search(copy).group(1)
    switched = visitor.post("/i18n/setlang/", {"language": "en", "next": "/", "csrfmiddlewaretoken": token})
    assert switched.status_code == 302
    # Another visitor (another CSRF cookie) gets the copy with a token of their own, accepted for them only.
    other = Client(enforce_csrf_checks=True)
    _queries(other)
    other_queries, other_copy = _queries(other)
    assert other_queries == 0
    other_token = TOKEN.search(other_copy).group(1)
    assert other.post("/i18n/setlang/", {"language": "en", "next": "/",
                                         "csrfmiddlewaretoken": other_token}).status_code == 302
    stranger = Client(enforce_csrf_checks=True)
    assert stranger.post("/i18n/setlang/", {"language": "en", "next": "/",
                                            "csrfmiddlewaretoken": other_token}).status_code == 403


def _warm(client: Client) -> None:
    for _ in range(2):
        _queries(client)
    assert _queries(client)[0] == 0


def test_the_copy_follows_publishing_and_unpublishing(client, public):
    _warm(client)
    fresh = make_article(area_page("oncology"), slug="pub2", title="新的公众科普", audience=Audience.PUBLIC)
    queries, html = _queries(client)
    assert queries > 0 and f'data-page-id="{fresh.pk}"' in html
    assert _queries(client)[0] == 0
    fresh.unpublish()
    queries, html = _queries(client)
    assert queries > 0 and f'data-page-id="{fresh.pk}"' not in html


def test_a_restriction_put_on_the_page_ends_the_copy_at_once(client, public):
    _warm(client)
    home = Page.objects.get(depth=2).specific
    restriction = PageViewRestriction.objects.create(page=home, restriction_type=PageViewRestriction.LOGIN)
    response = client.get("/")
    assert response.status_code == 302 and "/login" in response["Location"]
    restriction.delete()
    assert client.get("/").status_code == 200


def test_a_signed_in_reader_is_never_served_the_copy_nor_leaves_theirs(client, public):
    _warm(client)
    doctor = make_reader("verified", specialties=[TherapyArea.objects.get(code="diabetes")])
    client.force_login(doctor)
    queries, html = _queries(client)
    assert queries > 0 and 'data-testid="home-welcome"' in html and 'data-testid="home-join"' not in html
    client.logout()
    html = _queries(Client())[1]
    assert 'data-testid="home-welcome"' not in html and 'data-testid="home-join"' in html


@pytest.mark.parametrize("variant", ["query", "session", "messages"])
def test_a_request_that_may_have_something_of_its_own_is_rendered(client, public, variant):
    _warm(client)
    if variant == "query":
        queries = _queries(client, "/?from=singlemessage")[0]
    else:
        client.cookies["sessionid" if variant == "session" else "messages"] = "x"
        queries = _queries(client)[0]
    assert queries > 0


def test_each_language_has_its_own_copy(client, public):
    for _ in range(3):
        zh = _queries(client, HTTP_ACCEPT_LANGUAGE="zh-hans")[1]
        en = _queries(client, HTTP_ACCEPT_LANGUAGE="en")[1]
        assert "仅供医疗卫生专业人士参考" in zh and "For healthcare professionals only" in en


def test_a_page_that_did_not_opt_in_is_never_copied(client, public):
    for _ in range(3):
        assert _queries(client, public.url)[0] > 0


def test_with_redis_down_the_page_is_rendered_every_time(client, public, dead_cache):
    for _ in range(3):
        queries, html = _queries(client)
        assert queries > 0 and f'data-page-id="{public.pk}"' in html


def _through_middleware(view, path="/x/"):
    request = RequestFactory().get(path)
    request.user = AnonymousUser()
    request.LANGUAGE_CODE = "zh-hans"
    middleware = PublicPageCacheMiddleware(view)
    return middleware(request), middleware


def _allowed(response):
    public_page_cache_allow(response, 60)
    return response


@pytest.mark.parametrize("kind", ["cookie", "nonce", "streaming", "error", "session"])
def test_a_response_of_the_requests_own_is_never_stored(kind):
    calls = []

    def view(request):
        calls.append(1)
        if kind == "cookie":
            response = HttpResponse("x")
            response.set_cookie("mine", "1")
        elif kind == "nonce":
            request._csp_nonce = "abc"  # what django-csp keeps once the page used the nonce
            response = HttpResponse("x")
        elif kind == "streaming":
            response = StreamingHttpResponse(iter([b"x"]))
        elif kind == "error":
            response = HttpResponse("x", status=500)
        else:
            request.session = type("Session", (), {"modified": True})()
            response = HttpResponse("x")
        return _allowed(response)

    for _ in range(3):
        _through_middleware(view)
    assert len(calls) == 3


def test_an_allowed_response_is_stored_and_served():
    calls = []

    def view(request):
        calls.append(1)
        return _allowed(HttpResponse(b"everyone's", headers={"X-Kept": "1"}))

    _through_middleware(view)
    _through_middleware(view)
    response, _ = _through_middleware(view)
    assert calls == [1, 1] and response.content == b"everyone's" and response["X-Kept"] == "1"
