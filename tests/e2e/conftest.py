"""Browser tests: Debian's Chromium driven by Playwright against uvicorn serving the real ASGI app."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_asgi_server(transactional_db, test_database_url, settings, tmp_path):
    """uvicorn on a free port, on the test database; yields its base URL."""
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are still sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    port = _free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "engage.settings.test", "DATABASE_URL": test_database_url,
           "REDIS_URL": settings.REDIS_URL}
    log = tmp_path / "uvicorn.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "engage.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--lifespan", "off", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except Exception:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("uvicorn did not start:\n" + log.read_text()) from None
                time.sleep(0.3)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def browser_page():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        # A phone-sized window with WeChat's in-app browser signature, as doctors use it.
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50 NetType/WIFI Language/zh_CN",
            locale="zh-CN",
        )
        page = context.new_page()
        page.set_default_timeout(15000)
        violations = []
        page.on("console", lambda message: violations.append(message.text)
                if "Content Security Policy" in message.text else None)
        try:
            yield page
        finally:
            context.close()
            browser.close()
        if violations:  # a page used something its Content-Security-Policy does not allow
            pytest.fail("CSP violations in the browser console:\n" + "\n".join(violations))


@pytest.fixture(autouse=True, scope="module")
def _restore_migration_data(django_db_blocker):
    """The live server's transactional tests end with a flush, which empties the migrations' data (roles, policies,
    therapy areas). Put it back once each browser-test module is done, so tests that run later find the database
    as migrated. Module scope: it is torn down after the tests' flush."""
    yield
    from django.db import connection

    contents = getattr(connection, "_test_serialized_contents", None)
    if contents:
        with django_db_blocker.unblock():
            connection.creation.deserialize_db_from_string(contents)


def sign_in(page, base_url, user) -> None:
    """Signs `user` in for the browser `page` with a session made by Django's test client."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base_url}])


def loaded_image_width(page, selector: str) -> int:
    """Waits until the image has finished loading (images come after the page) and gives its natural width; a
    broken image never finishes with a width, so the wait times out and the test fails."""
    page.wait_for_function(
        "selector => { const img = document.querySelector(selector);"
        " return img && img.complete && img.naturalWidth > 0; }", arg=selector)
    return page.eval_on_selector(selector, "img => img.naturalWidth")
