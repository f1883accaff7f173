"""A real Celery worker process takes a task from Redis (not eager) and delivers a message."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engage.messaging.models import OutboundMessage
from engage.messaging.services import message_enqueue

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def celery_worker_process(test_database_url, settings, tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "engage.settings.test",
        "DATABASE_URL": test_database_url,
        "REDIS_URL": settings.REDIS_URL,
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "engage", "worker", "--pool", "solo", "--loglevel", "INFO",
             "--without-mingle", "--without-gossip", "--without-heartbeat", "-n", f"test-{os.getpid()}@%h"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield process, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


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
