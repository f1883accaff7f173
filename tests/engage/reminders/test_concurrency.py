"""Exactly once under concurrency, on PostgreSQL: two beat ticks at once, duplicate task deliveries, and a worker
killed after claiming doses. No duplicate sends, no lost doses."""

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engage.messaging.models import OutboundMessage
from engage.messaging.services import message_sweep
from engage.reminders.models import DoseEvent
from engage.reminders.services import RECOVER_AFTER, dose_reminders_enqueue, doses_dispatch, reminders_tick
from tests.engage.reminders.conftest import dose_at
from tests.race import exceptions, race

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 5, 1, 0, 0, tzinfo=UTC)
S = DoseEvent.Status
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def due_doses(make_patient, make_plan, recorded_deliveries):
    doses = []
    for _ in range(12):
        patient = make_patient()
        plan = make_plan(patient, times=["08:00", "08:01", "08:02"])
        doses += [dose_at(patient, plan, NOW + timedelta(minutes=m)) for m in range(3)]
    return doses


def _assert_each_dose_once(doses):
    keys = list(OutboundMessage.objects.filter(purpose="dose_reminder").values_list("idempotency_key", flat=True))
    assert sorted(keys) == sorted(f"dose:{d.pk}" for d in doses)
    mine = DoseEvent.objects.filter(pk__in=[d.pk for d in doses])
    assert set(mine.values_list("status", flat=True)) == {S.QUEUED}
    assert mine.filter(message__isnull=True).count() == 0


def test_two_beat_ticks_at_once(due_doses, recorded_deliveries):
    later = NOW + timedelta(minutes=3)
    errors = exceptions(race(2, lambda i: doses_dispatch(now=later, batch=5)))
    assert not errors, errors
    _assert_each_dose_once(due_doses)
    assert sorted(recorded_deliveries) == sorted(OutboundMessage.objects.values_list("pk", flat=True))


def test_duplicate_task_deliveries(due_doses, recorded_deliveries):
    """The same tick task delivered four times (acks_late redelivery), at once and then again."""
    later = NOW + timedelta(minutes=3)
    errors = exceptions(race(4, lambda i: reminders_tick(now=later)))
    assert not errors, errors
    reminders_tick(now=later)
    _assert_each_dose_once(due_doses)
    assert len(recorded_deliveries) == len(due_doses)


def _crash(mode: str, test_database_url: str, settings) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "engage.settings.test", "DATABASE_URL": test_database_url,
           "REDIS_URL": settings.REDIS_URL}
    return subprocess.run([sys.executable, "-m", "tests.engage.reminders.crash_worker", mode,
                           (NOW + timedelta(minutes=3)).isoformat()],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_worker_killed_before_commit_loses_nothing(due_doses, test_database_url, settings, recorded_deliveries):
    done = _crash("in_transaction", test_database_url, settings)
    assert done.returncode == 9, done.stderr
    assert "claimed" in done.stdout and "survived" not in done.stdout
    # The claim died with its transaction: every dose is still scheduled, nothing was written to the outbox.
    assert set(DoseEvent.objects.values_list("status", flat=True)) == {S.SCHEDULED}
    assert OutboundMessage.objects.count() == 0
    doses_dispatch(now=NOW + timedelta(minutes=3, seconds=30))
    _assert_each_dose_once(due_doses)


def test_worker_killed_after_commit_sends_each_once(due_doses, test_database_url, settings, recorded_deliveries,
                                                    fake_twilio, deliver_outbox):
    done = _crash("after_commit", test_database_url, settings)
    assert done.returncode == 9, done.stderr
    claimed = DoseEvent.objects.filter(status=S.QUEUED)
    assert claimed.exists() and not claimed.filter(message__isnull=False).exists()
    assert OutboundMessage.objects.count() == 0  # the claim committed; the process died before any reminder
    # The next tick sends the rest at once; the claimed ones are recovered once RECOVER_AFTER has passed.
    reminders_tick(now=NOW + timedelta(minutes=3, seconds=30))
    assert claimed.filter(message__isnull=True).exists()
    reminders_tick(now=NOW + timedelta(minutes=3) + RECOVER_AFTER)
    _assert_each_dose_once(due_doses)
    reminders_tick(now=NOW + timedelta(minutes=4) + RECOVER_AFTER)
    _assert_each_dose_once(due_doses)
    # Each reminder is handed to Twilio exactly once.
    message_sweep(now=datetime.now(UTC) + timedelta(minutes=10))
    deliver_outbox()
    deliver_outbox()
    assert len(fake_twilio.sent) == len(due_doses)
    assert len({(m["To"], m["Body"]) for m in fake_twilio.sent}) == len(due_doses)
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}
    sent = DoseEvent.objects.filter(pk__in=[d.pk for d in due_doses]).values_list("status", flat=True)
    assert set(sent) == {S.SENT}  # via the outcome handler


def _each_chunk_twice_at_once(chunks, run_task) -> None:
    """Every chunk task delivered twice, the copies taken by 4 threads at the same time."""
    all_chunks = chunks * 2
    lock = threading.Lock()

    def worker():
        while True:
            with lock:
                if not all_chunks:
                    return
                chunk = all_chunks.pop()
            run_task(chunk)

    errors = exceptions(race(4, lambda i: worker()))
    assert not errors, errors


def test_fanned_out_enqueue_tasks_delivered_twice_at_once(due_doses, monkeypatch, recorded_deliveries):
    from engage.reminders import tasks

    chunks: list[list[int]] = []
    monkeypatch.setattr(tasks.dose_reminders_enqueue_task, "apply_async",
                        lambda args=(), kwargs=None, **kw: chunks.append(args[0]))
    result = doses_dispatch(now=NOW + timedelta(minutes=3), fan_out=True)
    assert result.queued == len(due_doses)
    assert sorted(i for chunk in chunks for i in chunk) == sorted(d.pk for d in due_doses)
    assert OutboundMessage.objects.count() == 0  # written by the tasks, not by the tick
    _each_chunk_twice_at_once(chunks, lambda chunk: dose_reminders_enqueue(dose_ids=chunk))
    _assert_each_dose_once(due_doses)
    assert len(recorded_deliveries) == len(due_doses)


def test_fanned_out_tasks_send_their_own_reminders_once_when_delivered_twice_at_once(
        due_doses, monkeypatch, recorded_deliveries, fake_twilio):
    """The fan-out task writes its chunk's reminders and sends them itself (no second trip through the broker);
    two copies of every chunk at once still make one outbox row and one provider request per dose."""
    from engage.reminders import tasks

    chunks: list[list[int]] = []
    monkeypatch.setattr(tasks.dose_reminders_enqueue_task, "apply_async",
                        lambda args=(), kwargs=None, **kw: chunks.append(args[0]))
    doses_dispatch(now=NOW + timedelta(minutes=3), fan_out=True, batch=10)
    _each_chunk_twice_at_once(chunks, tasks.dose_reminders_enqueue_task.run)
    keys = OutboundMessage.objects.filter(purpose="dose_reminder").values_list("idempotency_key", flat=True)
    assert sorted(keys) == sorted(f"dose:{d.pk}" for d in due_doses)
    assert recorded_deliveries == []  # nothing went through the broker
    assert len(fake_twilio.sent) == len(due_doses) == len({m["To"] + m["Body"] for m in fake_twilio.sent})
    doses = DoseEvent.objects.filter(pk__in=[d.pk for d in due_doses]).select_related("message")
    assert {d.status for d in doses} == {S.SENT}
    assert all(d.sent_at == d.message.sent_at for d in doses)  # each dose carries its own reminder's time
