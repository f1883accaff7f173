"""Shared fixtures. The suite needs PostgreSQL and Redis; without them it stops at once and says how to start them."""

import socket
from urllib.parse import urlparse

import pytest

pytest_plugins = ["tests.fakes.fixtures"]  # fake Twilio/WeChat servers, signed webhooks

HOW_TO_START = """
The test suite runs on PostgreSQL and Redis and could not reach {what} at {where}.
Start them (or point DATABASE_URL / REDIS_URL elsewhere):
  PostgreSQL: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
  Redis:      redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
"""


def _reachable(url: str, default_port: int) -> tuple[bool, str]:
    parsed = urlparse(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or default_port
    try:
        with socket.create_connection((host, port), timeout=3):
            return True, f"{host}:{port}"
    except OSError:
        return False, f"{host}:{port}"


def pytest_configure(config):
    from tests import fast_reset

    fast_reset.install()  # transactional tests reset in SQL (see the module)


def pytest_sessionstart(session):
    from django.conf import settings

    db = settings.DATABASES["default"]
    ok, where = _reachable(f"postgres://{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}", 5432)
    if not ok:
        pytest.exit(HOW_TO_START.format(what="PostgreSQL", where=where), returncode=3)
    ok, where = _reachable(settings.REDIS_URL, 6379)
    if not ok:
        pytest.exit(HOW_TO_START.format(what="Redis", where=where), returncode=3)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate limits and allauth state live in the Redis cache: every test starts from an empty one."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def dead_cache(settings):
    """The default cache points at a port nobody listens on: Redis is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    default = settings.CACHES["default"]
    settings.CACHES = {**settings.CACHES, "default": {**default, "LOCATION": f"redis://127.0.0.1:{port}/0"}}
    yield port


@pytest.fixture
def make_user(db):
    from tests.factories import UserFactory

    return UserFactory


@pytest.fixture
def role_user(db):
    """role_user("marketing") -> a user holding that role."""
    from tests.factories import user_with_role

    return user_with_role


@pytest.fixture
def doctor(db):
    """A user with the doctor role and no profile yet (so not verified)."""
    from tests.factories import make_doctor

    return make_doctor(verified=False, profile=False)


@pytest.fixture
def test_database_url(db):
    """A DATABASE_URL for another process (a Celery worker, a server) that must see the test database."""
    from django.db import connection

    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"



def pytest_collection_modifyitems(items):
    """Transactional tests empty every table when they end, including the rows migrations create (roles,
    policies, Wagtail's root page). Serialized rollback puts those rows back, so test order does not matter."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = (marker is not None and marker.kwargs.get("transaction")) or (
            "transactional_db" in getattr(item, "fixturenames", ())
        )
        if not transactional:
            continue
        kwargs = dict(marker.kwargs) if marker is not None else {}
        kwargs.update(transaction=True, serialized_rollback=True)
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture
def celery_eager():
    """Tasks queued with .delay() run at once in the test's thread (for tests that follow a side effect
    through its task; the worker itself is tested in tests/engage/test_celery_worker.py)."""
    from engage.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield app
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.fixture(scope="session", autouse=True)
def _end_stray_sessions_before_teardown(django_db_setup, django_db_blocker):
    """A thread or process a test started (a browser test's server thread, a killed worker whose backend is not yet
    reaped) may still be connected to the test database when the run ends, and PostgreSQL then refuses to drop it.
    Those sessions are ended first, so the test database is always dropped."""
    yield
    from django.db import connection

    if not connection.settings_dict["NAME"].startswith("test_"):
        return  # no test of this run used the database: pytest-django created none
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                       "AND pid <> pg_backend_pid()", [connection.settings_dict["NAME"]])
