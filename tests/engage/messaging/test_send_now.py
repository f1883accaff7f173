"""`message_enqueue(send_now=True)`: a message someone is waiting for (a one-time code) is recorded already started
and handed to its provider by the caller — one statement on its path, no broker; the `sent` mark and the rate-limit
charge follow from the process's writers — and keeps every guarantee of the queued way: one send per idempotency key
(raced), the rate limit (charged: the messages that can wait wait), backoff on a transient error, `unknown` never
resent, a process dying after the INSERT (or before its `sent` mark is written) leaves a row the sweeper marks
`unknown`. Inside a transaction, on a message a frequency cap may hold, or for a one-time WeChat authorisation it
takes the queued way."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.messaging import ratelimit
from engage.messaging.models import OutboundMessage
from engage.messaging.services import codes_written, message_deliver_now, message_enqueue, message_sweep
from tests.engage.messaging.fixtures_templates import PARAMS
from tests.engage.messaging.test_concurrency import after_lease, run_worker
from tests.race import race, raise_first

Status = OutboundMessage.Status
pytestmark = pytest.mark.django_db(transaction=True)  # the caller's own commit is the point: no test transaction


def code(key: str, **extra) -> OutboundMessage:
    return message_enqueue(channel="sms", to="+8613800138000", template_key="test_reminder", params=PARAMS,
                           idempotency_key=key, send_now=True, **extra)


@pytest.fixture(autouse=True)
def lease(settings):
    settings.ENGAGE_MESSAGE_SENDING_LEASE_SECONDS = 300


def test_a_code_is_sent_by_the_caller_in_one_statement_without_the_broker(fake_twilio):
    with CaptureQueriesContext(connection) as queries:
        message = code("now-1")
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements == ["INSERT"], queries.captured_queries
    assert message.status == Status.SENT and message.provider_message_id == fake_twilio.sent[0]["Sid"]
    assert codes_written(10)  # the `sent` mark, from the process's writer
    row = OutboundMessage.objects.get(pk=message.pk)
    assert row.status == Status.SENT and row.attempts == 1 and row.provider_call_started_at is not None
    assert row.provider_message_id == fake_twilio.sent[0]["Sid"] and row.secret_params == "" and row.sent_at
    assert len(fake_twilio.sent) == 1 and fake_twilio.sent[0]["To"] == "+8613800138000"


def test_the_same_key_again_returns_the_message_and_sends_nothing(fake_twilio):
    first = code("now-again")
    assert codes_written(10)
    again = code("now-again")
    assert again.pk == first.pk and again.status == Status.SENT
    assert message_deliver_now(message_id=first.pk).status == Status.SENT  # a stray task: nothing either
    assert len(fake_twilio.sent) == 1


def test_callers_racing_with_one_key_send_once(fake_twilio):
    results = raise_first(race(6, lambda i: code("now-race").pk))
    assert len(set(results)) == 1 and codes_written(10)
    assert OutboundMessage.objects.get().status == Status.SENT and len(fake_twilio.sent) == 1


def test_a_code_never_waits_for_the_bucket_it_is_charged_and_the_queued_messages_wait(fake_twilio, settings,
                                                                                      deliver_outbox):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (0.0001, 2)}  # a burst of two, refilled in hours
    codes = [code(f"now-r{i}") for i in range(3)]  # three codes: the bucket runs one into debt
    assert codes_written(10)
    assert [OutboundMessage.objects.get(pk=c.pk).status for c in codes] == [Status.SENT] * 3
    tokens = ratelimit.redis_client().hget(ratelimit.bucket_key("sms"), "tokens")
    assert float(tokens) == pytest.approx(-1, abs=0.01)
    reminder = message_enqueue(channel="sms", to="+8613800138001", template_key="test_reminder", params=PARAMS,
                               idempotency_key="now-r-reminder")
    assert deliver_outbox() == 1  # the task ran and found no token: the reminder waits out the codes' debt
    reminder.refresh_from_db()
    assert reminder.status == Status.QUEUED and reminder.next_attempt_at > timezone.now()
    assert len(fake_twilio.sent) == 3


def test_with_redis_unreachable_the_code_still_goes(fake_twilio, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (10, 10)}
    message = code("now-no-redis")
    assert codes_written(10)  # the charge is lost (logged), not retried
    assert OutboundMessage.objects.get(pk=message.pk).status == Status.SENT and len(fake_twilio.sent) == 1


def test_a_transient_error_is_retried_with_backoff_and_a_permanent_one_fails(fake_twilio, deliver_outbox):
    fake_twilio.script(("error", 500, 20500), ("error", 400, 21610))
    transient, permanent = code("now-t"), code("now-p")
    transient.refresh_from_db()
    permanent.refresh_from_db()
    assert transient.status == Status.QUEUED and transient.attempts == 1 and transient.error_code == "20500"
    assert transient.next_attempt_at > timezone.now() and transient.provider_call_started_at is None
    assert permanent.status == Status.FAILED and permanent.error_code == "21610"
    assert deliver_outbox(include_later=True) == 1
    transient.refresh_from_db()
    assert transient.status == Status.SENT and transient.attempts == 2 and len(fake_twilio.sent) == 1


def test_a_timed_out_call_is_unknown_and_never_sent_again(fake_twilio, settings, deliver_outbox):
    settings.ENGAGE_PROVIDER_TIMEOUT = 0.3
    fake_twilio.script("hang")
    message = code("now-hang")
    fake_twilio.release()
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN and message.error_code == "timeout"
    assert deliver_outbox(include_later=True) == 0 and message_sweep(now=after_lease())["unknown"] == 0
    assert len(fake_twilio.requests) == 1


def test_inside_a_transaction_it_is_sent_after_commit_the_queued_way(fake_twilio, celery_eager):
    with transaction.atomic():
        message = code("now-atomic")
        assert message.status == Status.QUEUED and fake_twilio.requests == []  # nothing leaves before the commit
    message.refresh_from_db()
    assert message.status == Status.SENT and len(fake_twilio.sent) == 1
    with transaction.atomic():
        rolled_back = code("now-rolled-back")
        transaction.set_rollback(True)
    assert not OutboundMessage.objects.filter(pk=rolled_back.pk).exists() and len(fake_twilio.sent) == 1


def test_a_message_a_cap_may_hold_takes_the_queued_way(fake_twilio, make_user):
    message = code("now-capped", user=make_user(), category="promotional")
    message.refresh_from_db()
    assert message.status == Status.QUEUED and fake_twilio.requests == []


def test_killed_right_after_recording_it_is_unknown_and_never_sent(fake_twilio, test_database_url, deliver_outbox):
    assert run_worker("now-crash", test_database_url, crash_at="after_claim") == 17
    message = OutboundMessage.objects.get(idempotency_key="now-crash")
    assert message.status == Status.SENDING and message.provider_call_started_at is not None
    assert message.attempts == 1 and fake_twilio.requests == []
    assert message_deliver_now(message_id=message.pk).status == Status.SENDING  # a stray task: nothing
    assert message_sweep(now=after_lease()) == {"requeued": 0, "unknown": 1, "dispatched": 0}
    assert deliver_outbox(include_later=True) == 0
    message.refresh_from_db()
    assert message.status == Status.UNKNOWN and fake_twilio.requests == []


def test_killed_after_the_call_the_sent_code_is_unknown_and_never_resent(fake_twilio, test_database_url,
                                                                       deliver_outbox):
    assert run_worker("now-crash-2", test_database_url, crash_at="after_provider_call") == 17
    message = OutboundMessage.objects.get(idempotency_key="now-crash-2")
    assert message.status == Status.SENDING and len(fake_twilio.sent) == 1
    assert message_sweep(now=after_lease())["unknown"] == 1
    assert deliver_outbox(include_later=True) == 0 and len(fake_twilio.sent) == 1


def test_killed_before_its_sent_mark_is_written_the_code_is_unknown_and_never_resent(fake_twilio, test_database_url,
                                                                                     deliver_outbox):
    assert run_worker("now-crash-3", test_database_url, crash_at="before_sent_mark") == 17
    message = OutboundMessage.objects.get(idempotency_key="now-crash-3")
    assert message.status == Status.SENDING and message.provider_call_started_at is not None
    assert len(fake_twilio.sent) == 1
    assert message_sweep(now=after_lease())["unknown"] == 1
    assert deliver_outbox(include_later=True) == 0 and len(fake_twilio.sent) == 1


def test_a_subprocess_sends_a_code_once(fake_twilio, test_database_url):
    assert run_worker("now-sub", test_database_url) == 0  # its writer writes the `sent` mark before it exits
    assert OutboundMessage.objects.get(idempotency_key="now-sub").status == Status.SENT
    assert len(fake_twilio.sent) == 1


def test_the_development_backend_keeps_the_code_queued_in_the_outbox(settings):
    settings.ENGAGE_SMS_BACKEND = "engage.messaging.backends.OutboxSmsBackend"
    message = code("now-dev")
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.provider_call_started_at is None and message.attempts == 0
