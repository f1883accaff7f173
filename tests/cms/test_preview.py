"""The editor's preview: phone sizes first, a mode showing the gate, and phone-sized image renditions."""

import re

from django.test import RequestFactory
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from cms.models import ArticlePage, Audience
from tests.cms.content import area_page, make_article, make_reader


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
