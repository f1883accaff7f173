"""A real Celery worker process takes a task from Redis (not eager) and delivers a message."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from engage.messaging.models import OutboundMessage
from engage.messaging.services import message_enqueue

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]


def _worker(test_database_url, settings, log: Path, pool: str = "solo", **env):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "engage.settings.test",
        "DATABASE_URL": test_database_url,
        "REDIS_URL": settings.REDIS_URL,
        **env,
    }
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "engage", "worker", "--pool", pool, "--concurrency", "1",
             "--loglevel", "INFO", "--without-mingle", "--without-gossip", "--without-heartbeat",
             "-n", f"test-{os.getpid()}-{pool}@%h"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )


def _stop(process) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def celery_worker_process(test_database_url, settings, tmp_path):
    log = tmp_path / "worker.log"
    process = _worker(test_database_url, settings, log)
    try:
        yield process, log
    finally:
        _stop(process)


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_delivers_a_queued_message_through_redis(celery_worker_process, settings):
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    process, log = celery_worker_process
    message = message_enqueue(
        channel="sms", to="+8613800138000", template_key="verification_code", params={"code": "123456", "minutes": 5}
    )
    assert message.status == OutboundMessage.Status.QUEUED

    def delivered():
        message.refresh_from_db()
        return message.status == OutboundMessage.Status.SENT

    assert wait_for(delivered), log.read_text()
    assert message.attempts == 1
    assert process.poll() is None
    assert "message_deliver" in log.read_text()


def test_same_idempotency_key_is_one_message(settings):
    first = message_enqueue(channel="sms", to="+8613800138000", template_key="verification_code",
                            params={"code": "1", "minutes": 5}, idempotency_key="k-1")
    second = message_enqueue(channel="sms", to="+8613800138000", template_key="verification_code",
                             params={"code": "1", "minutes": 5}, idempotency_key="k-1")
    assert first.pk == second.pk
    assert OutboundMessage.objects.count() == 1


def test_a_prefork_worker_keeps_its_pooled_connection_between_tasks(test_database_url, settings, tmp_path):
    """Celery's Django fix-up would close a prefork child's connection pool around every task (a new PostgreSQL
    backend per task); engage/celery.py keeps the pool and hands the connection back to it after each task."""
    log = tmp_path / "worker.log"
    name = f"engage-pool-test-{os.getpid()}"
    process = _worker(test_database_url, settings, log, pool="prefork", DB_POOL_MAX_SIZE="2", PGAPPNAME=name)

    def backends() -> set[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s", [name])
            return {pid for (pid,) in cursor.fetchall()}

    seen: set[int] = set()
    try:
        for i in range(5):  # one task after another, each seen through to the end
            message = message_enqueue(channel="sms", to=f"+86138001380{i:02d}", template_key="verification_code",
                                      params={"code": "123456", "minutes": 5}, idempotency_key=f"pool-{i}")

            def delivered(message=message):
                message.refresh_from_db()
                return message.status == OutboundMessage.Status.SENT

            assert wait_for(delivered), log.read_text()
            assert wait_for(lambda: bool(backends())), log.read_text()  # back in the pool, still connected
            seen |= backends()
    finally:
        _stop(process)
    assert 1 <= len(seen) <= 2, seen  # the pool's connections, not one (or two) per task
