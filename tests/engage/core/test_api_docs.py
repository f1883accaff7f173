"""The API docs page and the admin use only our own origin: Swagger UI is vendored, Gravatar is off."""

import re

import pytest
from django.test import Client

from tests.factories import user_with_role

pytestmark = pytest.mark.django_db
ASSET = re.compile(r'(?:src|href)="([^"]+)"')


def test_the_api_docs_page_loads_swagger_ui_from_our_own_static_files():
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assets = ASSET.findall(html)
    assert any(a.endswith("vendor/swagger-ui/swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("vendor/swagger-ui/swagger-ui.css") for a in assets), assets
    assert all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    assert "<script>" not in html  # no inline script under the CSP; the assets above show no CDN
    assert '"url": "/api/v1/openapi.json"' in html


@pytest.mark.parametrize("url", ["/admin/", "/admin/pages/", "/admin/account/", "/admin/audit/"])
def test_admin_pages_show_no_gravatar_images(url):
    client = Client()
    client.force_login(user_with_role("admin"))
    html = client.get(url, follow=True).content.decode()
    assert "gravatar" not in html.lower()
    assert all(src.startswith(("/", "data:")) for src in re.findall(r'<img[^>]+src="([^"]+)"', html))
