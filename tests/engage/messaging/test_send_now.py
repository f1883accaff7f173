"""`message_enqueue(send_now=True)`: a message someone is waiting for (a one-time code) is recorded already started
and handed to its provider by the caller — two statements, no broker — and keeps every guarantee of the queued way:
one send per idempotency key (raced), the rate limit (an empty bucket queues it), backoff on a transient error,
`unknown` never resent, a process dying after the INSERT leaves a row the sweeper marks `unknown`. Inside a
transaction, on a message a frequency cap may hold, or for a one-time WeChat authorisation it takes the queued way."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engage.messaging.models import OutboundMessage
from engage.messaging.services import message_deliver_now, message_enqueue, message_sweep
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


def test_a_code_is_sent_by_the_caller_in_two_statements_without_the_broker(fake_twilio):
    with CaptureQueriesContext(connection) as queries:
        message = code("now-1")
    statements = [q["sql"].split()[0] for q in queries.captured_queries]
    assert statements == ["INSERT", "UPDATE"], queries.captured_queries
    assert message.status == Status.SENT
    row = OutboundMessage.objects.get(pk=message.pk)
    assert row.status == Status.SENT and row.attempts == 1 and row.provider_call_started_at is not None
    assert row.provider_message_id == fake_twilio.sent[0]["Sid"] and row.secret_params == "" and row.sent_at
    assert len(fake_twilio.sent) == 1 and fake_twilio.sent[0]["To"] == "+8613800138000"


def test_the_same_key_again_returns_the_message_and_sends_nothing(fake_twilio):
    first = code("now-again")
    again = code("now-again")
    assert again.pk == first.pk and again.status == Status.SENT
    assert message_deliver_now(message_id=first.pk).status == Status.SENT  # a stray task: nothing either
    assert len(fake_twilio.sent) == 1


def test_callers_racing_with_one_key_send_once(fake_twilio):
    results = raise_first(race(6, lambda i: code("now-race").pk))
    assert len(set(results)) == 1
    assert OutboundMessage.objects.get().status == Status.SENT and len(fake_twilio.sent) == 1


def test_an_empty_bucket_records_it_queued_for_the_worker(fake_twilio, settings, deliver_outbox):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (0.0001, 1)}
    sent = code("now-r1")
    held = code("now-r2")
    assert sent.status == Status.SENT
    held.refresh_from_db()
    assert held.status == Status.QUEUED and held.attempts == 0 and held.provider_call_started_at is None
    assert held.claim_token == "" and len(fake_twilio.sent) == 1
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (1000, 1000)}
    assert deliver_outbox(include_later=True) == 1
    held.refresh_from_db()
    assert held.status == Status.SENT and len(fake_twilio.sent) == 2


def test_with_redis_unreachable_the_code_still_goes(fake_twilio, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (10, 10)}
    message = code("now-no-redis")
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


def test_a_subprocess_sends_a_code_once(fake_twilio, test_database_url):
    assert run_worker("now-sub", test_database_url) == 0
    assert OutboundMessage.objects.get(idempotency_key="now-sub").status == Status.SENT
    assert len(fake_twilio.sent) == 1


def test_the_development_backend_keeps_the_code_queued_in_the_outbox(settings):
    settings.ENGAGE_SMS_BACKEND = "engage.messaging.backends.OutboxSmsBackend"
    message = code("now-dev")
    message.refresh_from_db()
    assert message.status == Status.QUEUED and message.provider_call_started_at is None and message.attempts == 0
