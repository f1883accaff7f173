import pytest

from cms.pages.demo import seed_content
from cms.pages.models import ArticlePage, Audience, ContentSearchTerm, LiteraturePage, TherapyAreaPage, VideoPage
from cms.pages.selectors import ContentFilter, content_search

pytestmark = pytest.mark.django_db


def test_demo_content_is_published_searchable_and_idempotent():
    created = seed_content()
    assert created == {"products": 3, "areas": 3, "articles": 30, "literature": 10, "videos": 5}
    assert TherapyAreaPage.objects.live().count() == 3
    assert ArticlePage.objects.live().count() == 30
    assert LiteraturePage.objects.live().count() == 10
    assert VideoPage.objects.live().count() == 5
    assert ArticlePage.objects.filter(audience=Audience.PUBLIC).count() == 3
    assert ContentSearchTerm.objects.exists()
    found = content_search(user=None, content_filter=ContentFilter(q="二甲双胍"))
    assert [page.slug for page in found.items] == ["t2dm-guideline-2026"]  # the one public diabetes article
    assert seed_content() == {"products": 0, "areas": 0, "articles": 0, "literature": 0, "videos": 0}
    assert ArticlePage.objects.count() == 30
