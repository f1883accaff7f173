"""Many messages at once: `messages_enqueue_many` (one INSERT, idempotent keys, all-or-nothing validation) and
`messages_deliver_now` (one claim for a batch, one provider call per message, outcomes reported per batch), with
the same exactly-once guarantees as a single message when the process dies in the middle of a batch."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engage.errors import DomainError
from engage.messaging import tasks
from engage.messaging.models import OutboundMessage
from engage.messaging.outcomes import register_outcome_handler, unregister_outcome_handler
from engage.messaging.services import MessageSpec, message_sweep, messages_deliver_now, messages_enqueue_many

from .fixtures_templates import PARAMS
from .test_exactly_once import after_lease, lease, run_worker  # noqa: F401  (lease: autouse)

Status = OutboundMessage.Status


def spec(i, **kw) -> MessageSpec:
    fields = {"channel": "sms", "to": f"+86138001380{i:02d}", "template_key": "test_reminder", "params": PARAMS,
              "idempotency_key": f"batch:{i}", **kw}
    return MessageSpec(**fields)


@pytest.fixture
def batch_tasks(monkeypatch):
    """`messages_deliver` tasks recorded instead of sent to the broker: a list of (ids, countdown)."""
    calls = []
    monkeypatch.setattr(tasks.messages_deliver, "delay", lambda ids: calls.append((list(ids), None)))
    monkeypatch.setattr(tasks.messages_deliver, "apply_async",
                        lambda args=(), countdown=None, **kw: calls.append((list(args[0]), countdown)))
    return calls


@pytest.mark.django_db(transaction=True)
def test_enqueue_many_writes_each_key_once_in_one_insert_and_dispatches_in_batches(batch_tasks):
    existing = messages_enqueue_many([spec(0, params={**PARAMS, "drug": "旧"})])
    batch_tasks.clear()
    specs = [spec(i) for i in range(120)] + [spec(5)]  # key batch:0 exists, batch:5 twice in this call
    with CaptureQueriesContext(connection) as queries:
        ids = messages_enqueue_many(specs)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "messaging_outboundmessage"')]
    assert len(inserts) == 1
    assert OutboundMessage.objects.count() == 120 and len(ids) == 120
    assert ids["batch:0"] == existing["batch:0"]
    assert OutboundMessage.objects.get(pk=ids["batch:0"]).params["drug"] == "旧"  # an existing row is not changed
    message = OutboundMessage.objects.get(pk=ids["batch:7"])
    assert message.recipient == "+8613800138007" and message.recipient_masked == "+86138****8007"
    assert message.rendered == "【Engage】请在08:00服用二甲双胍。" and message.status == Status.QUEUED
    # after commit, tasks of 50 for the queued ones (the existing one is still queued: the claim makes it harmless)
    assert [len(chunk) for chunk, _ in batch_tasks] == [50, 50, 20]
    assert sorted(pk for chunk, _ in batch_tasks for pk in chunk) == sorted(ids.values())


@pytest.mark.django_db
def test_enqueue_many_refuses_the_whole_batch_on_one_bad_spec(batch_tasks):
    for bad in (spec(3, to="  "), spec(3, channel="fax")):
        with pytest.raises(DomainError):
            messages_enqueue_many([spec(1), spec(2), bad])
    assert OutboundMessage.objects.count() == 0 and batch_tasks == []
    assert messages_enqueue_many([]) == {}


@pytest.mark.django_db
def test_enqueue_many_without_dispatch_leaves_delivery_to_the_caller(batch_tasks, fake_twilio):
    ids = messages_enqueue_many([spec(i) for i in range(3)], dispatch=False)
    assert batch_tasks == []
    assert messages_deliver_now(message_ids=list(ids.values())) == 3
    assert messages_deliver_now(message_ids=list(ids.values())) == 0  # a second delivery of the batch: nothing
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    assert sorted(m["To"] for m in fake_twilio.sent) == [f"+86138001380{i:02d}" for i in range(3)]


@pytest.mark.django_db
def test_a_batch_settles_each_message_by_its_own_outcome(batch_tasks, fake_twilio):
    fake_twilio.script("ok", ("error", 400, 21610), ("error", 500, 20500), "ok")
    ids = list(messages_enqueue_many([spec(i) for i in range(4)], dispatch=False).values())
    assert messages_deliver_now(message_ids=ids) == 4
    by_id = {m.pk: m for m in OutboundMessage.objects.all()}
    sent, blocked, busy, last = (by_id[pk] for pk in sorted(ids))
    assert sent.status == Status.SENT and sent.provider_message_id == fake_twilio.sent[0]["Sid"]
    assert blocked.status == Status.FAILED and blocked.error_code == "21610"
    assert busy.status == Status.QUEUED and busy.error_code == "20500" and busy.next_attempt_at is not None
    assert busy.attempts == 1 and busy.provider_call_started_at is None
    assert last.status == Status.SENT and len(fake_twilio.sent) == 2


@pytest.mark.django_db(transaction=True)
def test_an_empty_bucket_gives_the_rest_of_the_batch_back_in_one_delayed_task(batch_tasks, fake_twilio, settings):
    settings.ENGAGE_MESSAGING_RATE_LIMITS = {"sms": (0.0001, 2)}
    ids = sorted(messages_enqueue_many([spec(i) for i in range(5)], dispatch=False).values())
    assert messages_deliver_now(message_ids=ids) == 2
    statuses = dict(OutboundMessage.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["sent", "sent", "queued", "queued", "queued"]
    held = OutboundMessage.objects.filter(pk__in=ids[2:])
    assert all(m.attempts == 0 and m.next_attempt_at and m.claim_token == "" for m in held)
    ((chunk, countdown),) = batch_tasks
    assert chunk == ids[2:] and countdown > 0
    assert len(fake_twilio.sent) == 2


@pytest.mark.django_db(transaction=True)
def test_a_many_handler_hears_about_a_batch_once(batch_tasks, fake_twilio):
    fake_twilio.script("ok", ("error", 400, 21211), "ok")
    heard, single = [], []

    def on_batch(messages):
        heard.append(sorted((m.pk, m.status) for m in messages))

    register_outcome_handler(on_batch, many=True)
    register_outcome_handler(single.append)
    try:
        ids = sorted(messages_enqueue_many([spec(i) for i in range(3)], dispatch=False).values())
        messages_deliver_now(message_ids=ids)
    finally:
        unregister_outcome_handler(on_batch)
        unregister_outcome_handler(single.append)
    assert heard == [[(ids[0], "sent"), (ids[1], "failed"), (ids[2], "sent")]]
    assert sorted((m.pk, m.status) for m in single) == heard[0]  # a one-at-a-time handler: once per message


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_sends_nothing_twice_and_loses_nothing(fake_twilio, test_database_url,
                                                                        batch_tasks, deliver_outbox):
    ids = sorted(messages_enqueue_many([spec(i) for i in range(3)], dispatch=False).values())
    assert run_worker(ids, test_database_url, crash_at="after_provider_call") == 17  # dies after the first call
    first, second, third = (OutboundMessage.objects.get(pk=pk) for pk in ids)
    assert first.status == Status.SENDING and first.provider_call_started_at is not None
    assert all(m.status == Status.SENDING and m.provider_call_started_at is None for m in (second, third))
    assert len(fake_twilio.sent) == 1
    assert messages_deliver_now(message_ids=ids) == 0  # a redelivered task while the claims stand: nothing
    result = message_sweep(now=after_lease())
    assert result["unknown"] == 1 and result["requeued"] == 2
    deliver_outbox(include_later=True)
    statuses = dict(OutboundMessage.objects.values_list("pk", "status"))
    assert [statuses[pk] for pk in ids] == ["unknown", "sent", "sent"]
    assert sorted(m["To"] for m in fake_twilio.sent) == ["+8613800138000", "+8613800138001", "+8613800138002"]


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_right_after_claiming_a_batch(fake_twilio, test_database_url, batch_tasks, deliver_outbox):
    ids = sorted(messages_enqueue_many([spec(i) for i in range(3)], dispatch=False).values())
    assert run_worker(ids, test_database_url, crash_at="after_claim") == 17
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENDING}
    assert message_sweep(now=after_lease())["requeued"] == 3
    deliver_outbox(include_later=True)
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.SENT}
    assert len(fake_twilio.sent) == 3
