import pytest
from wagtail.models import Page, Site
from wagtail.test.utils import WagtailPageTestCase

from cms.models import HomePage


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
