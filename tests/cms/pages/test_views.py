"""Home page sections: a doctor's specialties first; public content and a call to join for visitors."""

import re

import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file
from wagtail.models import Page, Site
from wagtail.test.utils import WagtailPageTestCase

from cms.pages.models import ArticlePage, Audience, HomePage
from members.hospitals.models import TherapyArea
from tests.cms.factories import area_page, make_article, make_literature, make_reader, make_video, publish


@pytest.mark.django_db
def test_home_page_created_by_migration_is_the_site_root():
    site = Site.objects.get(is_default_site=True)
    assert site.site_name == "Engage"
    assert isinstance(site.root_page.specific, HomePage)
    assert HomePage.objects.count() == 1


@pytest.mark.django_db
def test_home_page_renders_for_anonymous_in_chinese_and_english(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "仅供医疗卫生专业人士参考" in html
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get("/").content.decode()
    assert "For healthcare professionals only" in html


@pytest.mark.django_db
def test_unknown_page_gets_friendly_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Engage" in response.content.decode()


class TestHomePageRules(WagtailPageTestCase):
    def test_only_one_home_page_can_exist(self):
        home = HomePage.objects.get()
        self.assertPageIsRenderable(home)
        # max_count: the root already holds the one home page.
        self.assertFalse(HomePage.can_create_at(Page.get_first_root_node()))


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




def test_the_anonymous_home_page_is_cached_and_follows_publishing(client, pages):
    first = client.get("/").content.decode()
    assert f'data-page-id="{pages["public"].pk}"' in first
    with CaptureQueriesContext(connection) as cached:
        again = client.get("/").content.decode()
    main = first.index("<main")  # the page header holds the visitor's own CSRF token
    assert again[main:] == first[main:]  # served from the fragment: no content queries
    assert not [q for q in cached.captured_queries if "cms_contentpage" in q["sql"]]
    fresh = make_article(area_page("oncology"), slug="pub2", title="新的公众科普", audience=Audience.PUBLIC)
    assert f'data-page-id="{fresh.pk}"' in client.get("/").content.decode()
    fresh.unpublish()
    assert f'data-page-id="{fresh.pk}"' not in client.get("/").content.decode()


def test_the_cached_anonymous_home_page_is_never_served_to_a_signed_in_reader(client, pages):
    client.get("/")  # caches the anonymous fragment
    doctor = make_reader("verified", specialties=[TherapyArea.objects.get(code="diabetes")])
    client.force_login(doctor)
    html = client.get("/").content.decode()
    assert 'data-testid="home-welcome"' in html and 'data-testid="home-join"' not in html
    assert f'data-page-id="{pages["dm"].pk}"' in html
    client.logout()
    html = client.get("/").content.decode()  # and the doctor's page never reaches a visitor
    assert f'data-page-id="{pages["dm"].pk}"' not in html and 'data-testid="home-welcome"' not in html


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
    from members.hospitals.models import TherapyArea

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


def test_preview_opens_at_phone_size_with_a_gate_mode(db):
    page = ArticlePage(title="草稿", slug="draft", audience=Audience.VERIFIED)
    assert page.default_preview_size == "wechat"
    assert [size["device_width"] for size in page.preview_sizes][:2] == [375, 360]
    assert [mode for mode, _ in page.preview_modes] == ["", "gate"]


def test_gate_preview_shows_what_a_visitor_without_access_sees(db):
    parent = area_page()
    page = ArticlePage(title="仅限认证医生的草稿", slug="gated-draft", audience=Audience.VERIFIED,
                       body=[("rich_text", "<p>正文不应出现</p>")])
    parent.add_child(instance=page)
    request = RequestFactory().get("/")
    request.user = make_reader("marketing")
    response = page.serve_preview(request, "gate")
    response.render()
    html = response.content.decode()
    assert 'data-testid="content-gate"' in html and 'data-reason="sign_in"' in html
    assert "正文不应出现" not in html
    body = page.serve_preview(request, "")
    body.render()
    assert "正文不应出现" in body.content.decode()


def test_article_images_come_in_phone_widths(client, db):
    image = get_image_model().objects.create(title="封面", file=get_test_image_file(filename="cover.png",
                                                                                    size=(1600, 900)))
    page = make_article(slug="with-images", body=[
        ("rich_text", "<p>正文</p>"), ("image", {"image": image, "caption": "图 1", "source": ""})])
    ArticlePage.objects.filter(pk=page.pk).update(cover_image=image)
    client.force_login(make_reader("verified"))
    html = client.get(page.url).content.decode()
    srcsets = re.findall(r'srcset="([^"]+)"', html)
    assert len(srcsets) == 2  # the cover and the body image
    for srcset in srcsets:
        assert [w for w in re.findall(r" (\d+)w", srcset)] == ["375", "750", "1080"]
        assert srcset.count(".webp") == 3


# --- images of gated pages -----------------------------------------------------------------------------------------

def _image(name="figure.png"):
    return get_image_model().objects.create(title=name, file=get_test_image_file(filename=name, size=(1200, 800)))


def _article_with_images(audience, images, *, slug):
    """An article showing `images`: the first as its cover, every one as a figure of the body."""
    body = [("image", {"image": image, "caption": f"图 {n}", "source": ""}) for n, image in enumerate(images)]
    page = ArticlePage(title=f"图文 {slug}", slug=slug, summary="摘要", audience=audience, body=body,
                       cover_image=images[0])
    return publish(area_page(), page, areas=[area_page().therapy_area])


def _image_urls(html: str) -> list[str]:
    urls = re.findall(r'<img[^>]* src="([^"]+)"', html)
    for srcset in re.findall(r'srcset="([^"]+)"', html):
        urls += [part.strip().split(" ")[0] for part in srcset.split(",")]
    return urls


def _public_media_serves(name: str) -> bool:
    """What a web server serving MEDIA_ROOT at /media/ (the public media URL) answers for a file name."""
    from django.conf import settings
    from django.http import Http404
    from django.views.static import serve

    try:
        serve(RequestFactory().get(f"/media/{name}"), name, document_root=settings.MEDIA_ROOT)
    except Http404:
        return False
    return True


def test_images_of_a_verified_page_are_served_only_through_the_checked_view(
        client, db, django_capture_on_commit_callbacks):
    image = _image()
    with django_capture_on_commit_callbacks(execute=True):
        page = _article_with_images(Audience.VERIFIED, [image], slug="gated-figure")
    client.force_login(make_reader("verified"))
    html = client.get(page.url).content.decode()
    urls = set(_image_urls(html))
    assert len(urls) == 3  # the cover and the figure (one image), each in three widths
    assert all(url.startswith("/content/images/") for url in urls), urls
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/webp"
        assert "private" in response["Cache-Control"]
    image.refresh_from_db()
    names = [image.file.name, *image.renditions.values_list("file", flat=True)]
    assert len(names) == 4 and not any(_public_media_serves(name) for name in names)
    for kind in ("anonymous", "registered", "pending", "rep"):
        client.logout()
        if kind != "anonymous":
            client.force_login(make_reader(kind))
        for url in urls:
            assert client.get(url).status_code == 403, (kind, url)
        for name in names:  # the public media URL of every file of the image
            assert client.get(f"/media/{name}").status_code in (403, 404), (kind, name)


def test_public_pages_keep_public_images(client, db, django_capture_on_commit_callbacks):
    image = _image()
    with django_capture_on_commit_callbacks(execute=True):
        page = _article_with_images(Audience.PUBLIC, [image], slug="public-figure")
    urls = _image_urls(client.get(page.url).content.decode())
    assert urls and all(url.startswith("/media/images/") for url in urls), urls
    image.refresh_from_db()
    assert _public_media_serves(image.file.name)
    assert all(_public_media_serves(name) for name in image.renditions.values_list("file", flat=True))


def test_gating_images_adds_no_query_per_image(client, db):
    public_images, gated_images = [_image(f"p{n}.png") for n in range(6)], [_image(f"g{n}.png") for n in range(6)]
    public = _article_with_images(Audience.PUBLIC, public_images, slug="many-public")
    gated = _article_with_images(Audience.VERIFIED, gated_images, slug="many-gated")
    few = _article_with_images(Audience.VERIFIED, [_image("few.png")], slug="few-gated")
    client.force_login(make_reader("verified"))
    assert _queries(client, gated.url) == _queries(client, public.url)
    assert _queries(client, gated.url) <= _queries(client, few.url) + 6  # at most Wagtail's lookup per image


@pytest.mark.parametrize("name", ["images/nothing.png", "images/hcp-999999--nothing.png", "../../etc/passwd",
                                  "original_images/hcp-1--..", "documents/guide.pdf"])
def test_the_checked_image_view_answers_404_for_unknown_files(client, db, name):
    assert client.get(f"/content/images/{name}").status_code == 404


def test_an_image_another_images_prefix_names_is_not_served(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        gated = _image("a.png")
        _article_with_images(Audience.VERIFIED, [gated], slug="forged-prefix")
    gated.refresh_from_db()
    other = _image("b.png")
    forged = gated.file.name.replace(f"hcp-{gated.pk}--", f"hcp-{other.pk}--")
    client.force_login(make_reader("marketing"))
    assert client.get(f"/content/images/{forged}").status_code == 404
    assert client.get(f"/content/images/{gated.file.name}").status_code == 200
