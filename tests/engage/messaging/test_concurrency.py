"""A worker killed after claiming, before or after the provider call; lost tasks; the sweeper settles each case:
no duplicate send, no lost message."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from engage.messaging.models import OutboundMessage
from engage.messaging.services import CRASH_ENV, message_deliver_now, message_enqueue, message_sweep
from tests.engage.messaging.fixtures_templates import PARAMS

Status = OutboundMessage.Status
ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.django_db(transaction=True)
OVERRIDES = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_MESSAGING_SERVICE_SID", "ENGAGE_SMS_BACKEND",
             "ENGAGE_TWILIO_API_BASE_URL", "ENGAGE_PUBLIC_URL", "ENGAGE_PROVIDER_TIMEOUT",
             "ENGAGE_MESSAGING_RATE_LIMITS", "ENGAGE_MESSAGING_SENDS_IN_FLIGHT", "WECHAT_APP_ID", "WECHAT_APP_SECRET",
             "ENGAGE_WECHAT_API_BASE_URL"]


def run_worker(message_id: int | list[int] | str, database_url: str, crash_at: str = "") -> int:
    """The sending task for `message_id` (one or a batch) in a subprocess, or with a str a one-time SMS under
    that idempotency key sent at once (`send_now`); its exit code (17: killed at `crash_at`)."""
    overrides = {name: getattr(django_settings, name) for name in OVERRIDES if hasattr(django_settings, name)}
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "engage.settings.test", "DATABASE_URL": database_url,
           "REDIS_URL": django_settings.REDIS_URL, "ENGAGE_TEST_SETTINGS": json.dumps(overrides), CRASH_ENV: crash_at}
    if isinstance(message_id, str):
        args = ["--send-now", message_id]
    else:
        args = [str(pk) for pk in (message_id if isinstance(message_id, list) else [message_id])]
    result = subprocess.run([sys.executable, "-m", "tests.engage.messaging.crash_worker", *args],
                            cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert result.returncode in (0, 17), result.stderr.decode()[-3000:]
    return result.returncode


def after_lease():
    return timezone.now() + timedelta(seconds=django_settings.ENGAGE_MESSAGE_SENDING_LEASE_SECONDS + 1)


@pytest.fixture(autouse=True)
def lease(settings):
    settings.ENGAGE_MESSAGE_SENDING_LEASE_SECONDS = 300


def sms(key="x1"):
    return message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder", params=PARAMS,
                           idempotency_key=key)


def test_subprocess_worker_sends(fake_twilio, test_database_url):
    message = sms()
    assert run_worker(message.pk, test_database_url) == 0
    message.refresh_from_db()
    assert message.status == Status.SENT and len(fake_twilio.sent) == 1


def test_killed_after_claim_before_provider_call_is_requeued_and_sent_once(fake_twilio, test_database_url,
                                                                          deliver_outbox, settings):
    # A batch larger than the sends in flight takes the general path: claimed first, started group by group.
    settings.ENGAGE_MESSAGING_SENDS_IN_FLIGHT = 1
    messages = [sms("x1"), sms("x2")]
    assert run_worker([m.pk for m in messages], test_database_url, crash_at="after_claim") == 17
    for message in messages:
        message.refresh_from_db()
        assert message.status == Status.SENDING and message.provider_call_started_at is None
    assert fake_twilio.requests == []
    # a duplicate delivery of the task while the rows are claimed does nothing
    assert message_deliver_now(message_id=messages[0].pk).status == Status.SENDING
    assert message_sweep() == {"requeued": 0, "unknown": 0, "dispatched": 0}  # inside the lease: left alone
    assert message_sweep(now=after_lease())["requeued"] == 2
    deliver_outbox(include_later=True)
    for message in messages:
        message.refresh_from_db()
        assert message.status == Status.SENT and message.attempts == 1
    assert len(fake_twilio.sent) == 2


def test_killed_right_after_the_one_statement_claim_is_unknown_and_never_sent(fake_twilio, test_database_url,
                                                                             deliver_outbox):
    """A single message's task claims and start-marks it in one statement: a worker dying right after it leaves a
    row whose call may have started, which the sweeper marks unknown and nobody sends again (staff may resend)."""
    message = sms()
    assert run_worker(message.pk, test_database_url, crash_at="after_claim") == 17
    message.refresh_from_db()
    assert message.status == Status.SENDING and message.provider_call_started_at is not None
    assert message.attempts == 1 and fake_twilio.requests == []
    assert message_deliver_now(message_id=message.pk).status == Status.SENDING  # a redelivered task: nothing
    assert message_sweep(now=after_lease()) == {"requeued": 0, "unknown": 1, "dispatched": 0}
    assert deliver_outbox(include_later=True) == 0
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN and fake_twilio.requests == []


def test_killed_after_provider_call_becomes_unknown_and_is_never_resent(fake_twilio, test_database_url,
                                                                        deliver_outbox):
    message = sms()
    assert run_worker(message.pk, test_database_url, crash_at="after_provider_call") == 17
    message.refresh_from_db()
    assert message.status == Status.SENDING and message.provider_call_started_at is not None
    assert len(fake_twilio.sent) == 1
    result = message_sweep(now=after_lease())
    assert result["unknown"] == 1 and result["requeued"] == 0
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN and message.error_code == "lease_expired"
    assert deliver_outbox(include_later=True) == 0
    assert message_deliver_now(message_id=message.pk).status == Status.UNKNOWN
    assert len(fake_twilio.sent) == 1


def test_wechat_worker_killed_after_provider_call(fake_wechat, test_database_url):
    message = message_enqueue(channel="wechat_template", to="oOPENID-9", template_key="test_reminder",
                              params=PARAMS, idempotency_key="wx-crash")
    assert run_worker(message.pk, test_database_url, crash_at="after_provider_call") == 17
    message_sweep(now=after_lease())
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN and len(fake_wechat.sent) == 1


def test_slow_worker_cannot_send_after_the_sweeper_requeued_its_claim(fake_twilio, deliver_outbox):
    """The sweeper took the row back from a worker that stalled right after claiming: the stalled worker's claim
    token is void, so only one of them calls the provider."""
    message = sms()
    OutboundMessage.objects.filter(pk=message.pk).update(status=Status.SENDING, claim_token="stale",
                                                         claimed_at=timezone.now())
    message_sweep(now=after_lease())
    assert OutboundMessage.objects.filter(pk=message.pk, claim_token="stale").update(
        provider_call_started_at=timezone.now()) == 0
    deliver_outbox(include_later=True)
    assert len(fake_twilio.sent) == 1


def test_sweeper_redispatches_a_lost_task_once_per_grace(fake_twilio, django_capture_on_commit_callbacks, settings):
    from engage.celery import app

    message = sms()
    OutboundMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert message_sweep()["dispatched"] == 1
    assert message_sweep()["dispatched"] == 0  # bumped: not again until another grace period
    app.conf.task_always_eager = True
    try:
        assert message_sweep(now=timezone.now() + timedelta(minutes=5))["dispatched"] == 1
    finally:
        app.conf.task_always_eager = False
    message.refresh_from_db()
    assert message.status == Status.SENT and len(fake_twilio.sent) == 1


def test_retry_waits_for_next_attempt_at(fake_twilio):
    fake_twilio.script(("error", 500, 20500))
    message = sms()
    message_deliver_now(message_id=message.pk)
    assert message_deliver_now(message_id=message.pk).status == Status.QUEUED  # not due yet: not claimed
    assert len(fake_twilio.requests) == 1


def test_result_arriving_after_the_sweeper_marked_unknown_still_lands(fake_twilio, settings):
    import threading
    import time

    from django.db import connection

    settings.ENGAGE_PROVIDER_TIMEOUT = 30
    fake_twilio.script("hang")
    message = sms()

    def deliver():
        try:
            message_deliver_now(message_id=message.pk)
        finally:
            connection.close()

    worker = threading.Thread(target=deliver)
    worker.start()
    for _ in range(600):  # until the provider holds the request
        if fake_twilio.requests:
            break
        time.sleep(0.05)
    assert message_sweep(now=after_lease())["unknown"] == 1
    fake_twilio.release()
    worker.join(timeout=60)
    message.refresh_from_db()
    assert message.status == Status.SENT and message.provider_message_id == fake_twilio.sent[0]["Sid"]
    assert len(fake_twilio.sent) == 1
