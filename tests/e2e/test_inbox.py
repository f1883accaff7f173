"""Browser: the inbox bell's unread badge counts up live when a notification arrives over the socket, the tip
shows its title, and opening the inbox and marking everything read clears it."""

import pytest

from engage.inbox.services import notification_send
from tests.e2e.conftest import ARTIFACTS, sign_in

pytestmark = pytest.mark.e2e


def _send_elsewhere(user, n):
    """Sends from another thread: Playwright's sync API keeps an event loop running in this one."""
    import threading

    from django.db import connection

    def send():
        try:
            notification_send(user=user, kind="events.registration", title=f"报名成功 {n}", url="/inbox/",
                              key=f"browser:{user.pk}:{n}")
        finally:
            connection.close()

    thread = threading.Thread(target=send)
    thread.start()
    thread.join()


def test_the_badge_counts_live_and_clears_when_read(live_asgi_server, browser_page, make_user):
    page = browser_page
    user = make_user()
    sign_in(page, live_asgi_server, user)
    page.goto(live_asgi_server + "/inbox/")
    badge = page.locator("[data-testid=inbox-unread]")
    assert badge.is_hidden()
    page.wait_for_selector("body[data-ws-state=open]")
    try:
        for n in (1, 2):
            _send_elsewhere(user, n)
            page.wait_for_selector(f"[data-testid=inbox-unread][data-inbox-unread='{n}']")
        assert badge.inner_text() == "2"
        assert "报名成功 2" in page.locator("[data-testid=notification-tip]").inner_text()
        page.reload()
        assert page.locator("[data-testid=inbox-item][data-unread='1']").count() == 2
        page.click("[data-testid=inbox-read-all]")
        page.wait_for_selector("[data-testid=inbox-summary]")
        assert page.locator("[data-testid=inbox-item][data-unread='1']").count() == 0
        assert badge.is_hidden()
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "inbox-badge.png"), full_page=True)
        raise
