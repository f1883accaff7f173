"""The gating matrix: every audience x every kind of reader x every surface.

Surfaces: the page itself, the therapy-area listing, the home page, site search, the API list and detail,
a PDF in an article body, a literature full text and a video file (all served through the checked view).
"""

import pytest

from cms.pages.models import Audience
from cms.pages.views import RANGE_MAX
from tests.cms.factories import MAY_READ, READERS, area_page, make_article, make_document, make_reader, make_video

pytestmark = pytest.mark.django_db


@pytest.fixture
def library():
    """Per audience: an article with a PDF block and a video page with a video file, all mentioning 糖尿病."""
    index = area_page("diabetes")
    pages = {}
    for audience in Audience:
        pdf = make_document(title=f"pdf-{audience}", name=f"{audience}.pdf")
        article = make_article(
            index, title=f"糖尿病文章 {audience}", audience=audience, slug=f"article-{audience}",
            body=[("rich_text", f"<p>正文秘密-{audience}</p>"),
                  ("document", {"document": pdf, "title": "", "description": ""})],
        )
        video_file = make_document(title=f"video-{audience}", name=f"{audience}.mp4", content=b"\x00\x00video")
        video = make_video(index, title=f"糖尿病视频 {audience}", audience=audience, slug=f"video-{audience}",
                           video_file=video_file)
        pages[audience] = {"article": article, "pdf": pdf, "video": video, "video_file": video_file}
    return index, pages


def _client_for(client, reader):
    if reader is not None:
        client.force_login(reader)
    return client


@pytest.mark.parametrize("kind", READERS)
def test_every_surface_applies_the_same_rule(client, kind, library):
    index, pages = library
    reader = make_reader(kind)
    client = _client_for(client, reader)

    listing = client.get(index.url).content.decode()
    home = client.get("/").content.decode()
    search = client.get("/content/search/", {"q": "糖尿病"}).content.decode()
    api_list = client.get("/api/v1/content", {"area": "diabetes"}).json()
    api_search = client.get("/api/v1/content", {"q": "糖尿病"}).json()
    feed = client.get("/content/feed/").content.decode()
    sitemap = client.get("/content/sitemap.xml").content.decode()
    api_ids = {item["id"] for item in api_list["results"]}
    api_search_ids = {item["id"] for item in api_search["results"]}

    readable = [pages[a]["video"].pk for a in Audience if a in MAY_READ[kind]]
    assert f'data-page-id="{max(readable)}"' in home  # the newest readable page leads the home page

    for audience in Audience:
        allowed = audience in MAY_READ[kind]
        article, video = pages[audience]["article"], pages[audience]["video"]
        where = f"{kind} reading {audience}"

        response = client.get(article.url)
        body = response.content.decode()
        assert response.status_code == (200 if allowed else 403), where
        assert (f"正文秘密-{audience}" in body) is allowed, where
        assert article.title in body, where  # the title is always shown, with the way to become eligible
        assert ('data-testid="content-gate"' in body) is not allowed, where
        video_html = client.get(video.url).content.decode()
        assert (pages[audience]["video_file"].url in video_html) is allowed, where

        for page in (article, video):
            assert (f'data-page-id="{page.pk}"' in listing) is allowed, f"listing: {where}"
            assert (f'data-page-id="{page.pk}"' in search) is allowed, f"search: {where}"
            assert (page.pk in api_ids) is allowed, f"api list: {where}"
            assert (page.pk in api_search_ids) is allowed, f"api search: {where}"
            assert (f"{page.url}</link>" in feed) is allowed, f"feed: {where}"
            # Search engines are anonymous: the sitemap holds public content whoever asks.
            assert (f"{page.url}</loc>" in sitemap) is (audience == Audience.PUBLIC), f"sitemap: {where}"
        if not allowed:  # the home page shows the latest six the reader may read, never one they may not
            assert f'data-page-id="{article.pk}"' not in home, f"home: {where}"

        detail = client.get(f"/api/v1/content/{article.pk}")
        assert detail.status_code == 200, where
        data = detail.json()
        assert data["gated"] is (not allowed), where
        assert (data["body"] is not None) is allowed, where
        assert (f"正文秘密-{audience}" in str(data)) is allowed, where

        for document in (pages[audience]["pdf"], pages[audience]["video_file"]):
            served = client.get(document.url)
            assert served.status_code == (200 if allowed else 403), f"document: {where}"
            if allowed:
                assert b"".join(served.streaming_content).startswith((b"%PDF", b"\x00\x00video"))


@pytest.mark.parametrize(
    ("kind", "audience", "reason", "action"),
    [
        ("anonymous", Audience.REGISTERED, "sign_in", "/accounts/login/?next="),
        ("anonymous", Audience.VERIFIED, "sign_in", "/accounts/login/?next="),
        ("registered", Audience.VERIFIED, "complete_profile", "/members/me/"),
        ("rep", Audience.VERIFIED, "complete_profile", "/members/me/"),
        ("pending", Audience.VERIFIED, "await_verification", "/members/me/"),
        ("rejected", Audience.VERIFIED, "update_profile", "/members/me/"),
        ("verified", Audience.KOL, "kol_only", None),
    ],
)
def test_the_gate_says_how_to_become_eligible(client, kind, audience, reason, action):
    article = make_article(audience=audience, title="仅限专业人士的文章", body=[("rich_text", "<p>机密正文</p>")])
    client = _client_for(client, make_reader(kind))
    response = client.get(article.url)
    html = response.content.decode()
    assert response.status_code == 403
    assert f'data-reason="{reason}"' in html
    assert "机密正文" not in html and "摘要" not in html
    assert ("仅供医疗卫生专业人士参考" in html) is (audience in (Audience.VERIFIED, Audience.KOL))
    assert response["Cache-Control"] == "private, no-cache"
    if action:
        assert f'href="{action}' in html
    else:
        assert 'data-testid="gate-action"' not in html
    gate = client.get(f"/api/v1/content/{article.pk}").json()["gate"]
    assert gate["reason"] == reason and gate["message"]


def test_professional_pages_carry_the_notice_and_public_ones_do_not(client):
    public = make_article(audience=Audience.PUBLIC, slug="pub")
    verified = make_article(audience=Audience.VERIFIED, slug="ver")
    client.force_login(make_reader("verified"))
    assert "仅供医疗卫生专业人士参考" in client.get(verified.url).content.decode()
    assert "仅供医疗卫生专业人士参考" not in client.get(public.url).content.decode()


def test_literature_full_text_is_served_only_when_download_is_allowed(client):
    from tests.cms.factories import make_literature

    locked_pdf, open_pdf = make_document(name="locked.pdf"), make_document(name="open.pdf")
    locked = make_literature(full_text=locked_pdf, download_allowed=False, slug="locked")
    shared = make_literature(full_text=open_pdf, download_allowed=True, slug="shared")
    client.force_login(make_reader("verified"))
    assert client.get(locked_pdf.url).status_code == 403
    assert client.get(open_pdf.url).status_code == 200
    assert 'data-testid="full-text-unavailable"' in client.get(locked.url).content.decode()
    assert 'data-testid="full-text-download"' in client.get(shared.url).content.decode()
    assert client.get(f"/api/v1/content/{locked.pk}").json()["literature"]["full_text_url"] is None


def test_documents_are_private_files_and_unused_ones_are_for_staff_only(client, settings):
    from pathlib import Path

    orphan = make_document(name="orphan.pdf")
    assert Path(orphan.file.path).is_relative_to(Path(settings.PRIVATE_ROOT))
    with pytest.raises(NotImplementedError):
        orphan.file.url  # noqa: B018 - no public media URL exists for a document
    client.force_login(make_reader("kol"))
    assert client.get(orphan.url).status_code == 403
    client.force_login(make_reader("compliance"))
    assert client.get(orphan.url).status_code == 200


def test_unpublished_and_expired_pages_leave_every_surface(client):
    from datetime import timedelta

    from django.utils import timezone

    pdf = make_document(name="gone.pdf")
    article = make_article(audience=Audience.PUBLIC, title="糖尿病旧文", slug="old",
                           body=[("document", {"document": pdf, "title": "", "description": ""})])
    assert client.get(pdf.url).status_code == 200
    article.unpublish()
    assert client.get(article.url).status_code == 410  # withdrawn: shared links get an explanation
    assert client.get(f"/api/v1/content/{article.pk}").status_code == 410
    assert client.get("/api/v1/content", {"q": "糖尿病"}).json()["count"] == 0
    assert client.get(pdf.url).status_code == 403

    expired = make_article(audience=Audience.PUBLIC, title="糖尿病过期文", slug="expired")
    type(expired).objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert client.get("/api/v1/content", {"q": "糖尿病"}).json()["count"] == 0
    assert client.get(f"/api/v1/content/{expired.pk}").status_code == 410
    assert client.get(expired.url).status_code == 410


def test_videos_are_served_in_byte_ranges_to_those_who_may_watch(client):
    content = bytes(range(256)) * 4  # 1024 bytes
    video_file = make_document(title="mp4", name="clip.mp4", content=content)
    make_video(audience=Audience.VERIFIED, video_file=video_file, slug="ranged")
    assert client.get(video_file.url, HTTP_RANGE="bytes=0-99").status_code == 403  # gating comes first

    client.force_login(make_reader("verified"))
    part = client.get(video_file.url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 100-199/1024" and part["Content-Type"] == "video/mp4"
    assert part.content == content[100:200]
    tail = client.get(video_file.url, HTTP_RANGE="bytes=-24")
    assert tail.content == content[-24:]
    open_ended = client.get(video_file.url, HTTP_RANGE="bytes=1000-")
    assert open_ended.content == content[1000:]
    for bad in ("bytes=2000-", "bytes=5-1", "bytes=-", "lines=1-2", "bytes=0-1,5-6"):
        response = client.get(video_file.url, HTTP_RANGE=bad)
        assert response.status_code == 416, bad
        assert response["Content-Range"] == "bytes */1024"
    whole = client.get(video_file.url)
    assert whole.status_code == 200 and b"".join(whole.streaming_content) == content

    big = make_document(title="big", name="big.mp4", content=b"v" * (RANGE_MAX + 10))
    make_video(audience=Audience.VERIFIED, video_file=big, slug="big")
    first = client.get(big.url, HTTP_RANGE="bytes=0-")  # an open range is answered in slices
    assert first.status_code == 206 and len(first.content) == RANGE_MAX
    assert first["Content-Range"] == f"bytes 0-{RANGE_MAX - 1}/{RANGE_MAX + 10}"
