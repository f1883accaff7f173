"""/api/v1/docs in a real browser: Swagger UI renders the operations from our own static files, under the CSP."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_api_docs_render_their_operations_without_other_origins(live_asgi_server, browser_page):
    requested = []
    browser_page.on("request", lambda request: requested.append(request.url))
    browser_page.goto(live_asgi_server + "/api/v1/docs")
    browser_page.wait_for_selector(".opblock", timeout=30000)
    assert browser_page.locator(".opblock").count() > 10
    assert requested and all(url.startswith(live_asgi_server) or url.startswith("data:") for url in requested), \
        [url for url in requested if not url.startswith(live_asgi_server)]
