"""One way to schedule work (engage.core.jobs): a broker outage never turns a committed write into an error, and
the work it held back is sent when the broker answers again."""

import json
from contextlib import contextmanager

import pytest
from django.conf import settings
from kombu import pools

from engage.celery import app
from engage.core import jobs
from engage.core.jobs import deferred_tasks_resend, enqueue_coalesced, enqueue_now, enqueue_on_commit
from engage.core.models import DeferredTask
from engage.inbox.models import Notification
from events.registrations.models import Registration
from tests.events.factories import make_doctor, make_event

pytestmark = pytest.mark.django_db
DEAD_BROKER = "redis://127.0.0.1:9/0"  # nothing listens on the discard port: connections are refused at once
NOTIFY = "events.registrations.tasks.registration_notify_task"


def _forget_connections():
    pools.reset()  # kombu keeps connection and producer pools per broker URL, process-wide
    app._pool = None
    app.amqp._producer_pool = None


@contextmanager
def broker(url: str):
    """Points the real Celery app at `url` (and back), dropping pooled connections both ways."""
    before = app.conf.broker_url
    _forget_connections()
    app.conf.broker_url = url
    try:
        yield
    finally:
        _forget_connections()
        app.conf.broker_url = before


def test_registration_answers_201_with_the_broker_down_and_its_confirmation_follows(
        client, django_capture_on_commit_callbacks, celery_eager):
    event = make_event(capacity=5)
    doctor = make_doctor()
    client.force_login(doctor)
    app.conf.task_always_eager = False  # really send, to a broker that is down
    with broker(DEAD_BROKER), django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/v1/events/{event.pk}/registrations", data=json.dumps({}),
                               content_type="application/json")
    assert response.status_code == 201, response.content
    registration = Registration.objects.get(event=event, doctor=doctor)
    assert registration.status == Registration.Status.CONFIRMED
    held = list(DeferredTask.objects.values_list("name", "args"))
    assert held == [(NOTIFY, [registration.pk, "confirmed"])]
    assert not Notification.objects.filter(user=doctor).exists()

    app.conf.task_always_eager = True  # the broker is back; the task runs here instead of in a worker
    assert deferred_tasks_resend() == {"sent": 1, "still_deferred": 0}
    assert not DeferredTask.objects.exists()
    assert Notification.objects.filter(user=doctor, key=f"registration:{registration.pk}:confirmed").count() == 1


def test_enqueue_never_raises_and_keeps_the_task(django_capture_on_commit_callbacks):
    with broker(DEAD_BROKER):
        with django_capture_on_commit_callbacks(execute=True):
            enqueue_on_commit("engage.core.tasks.deferred_tasks_resend_task")
        assert enqueue_now("members.points.tasks.points_expire") is False
    assert sorted(DeferredTask.objects.values_list("name", flat=True)) == [
        "engage.core.tasks.deferred_tasks_resend_task", "members.points.tasks.points_expire"]
    assert all(row.error for row in DeferredTask.objects.all())


def test_nothing_is_sent_before_the_transaction_commits(django_capture_on_commit_callbacks):
    with broker(DEAD_BROKER), django_capture_on_commit_callbacks(execute=False) as callbacks:
        enqueue_on_commit(NOTIFY, 1, "confirmed")
        assert not DeferredTask.objects.exists()  # nothing tried yet: the write may still roll back
    assert len(callbacks) == 1


def test_rows_stay_while_the_broker_is_still_down():
    DeferredTask.objects.create(name=NOTIFY, args=[1, "confirmed"])
    DeferredTask.objects.create(name=NOTIFY, args=[2, "confirmed"])
    with broker(DEAD_BROKER):
        result = deferred_tasks_resend()
    assert result == {"sent": 0, "still_deferred": 2}
    assert sorted(DeferredTask.objects.values_list("attempts", flat=True)) == [0, 1]  # stopped at the first


def test_a_broker_that_answers_takes_the_task_and_no_row_is_kept():
    with broker(settings.CELERY_BROKER_URL):
        try:
            assert enqueue_now("engage.core.tasks.deferred_tasks_resend_task") is True
        finally:
            app.control.purge()  # no worker of this test should run it later
    assert not DeferredTask.objects.exists()


def test_beat_resends_deferred_tasks_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["core-deferred-tasks"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks and entry["schedule"] == 60.0


SWEEP = "events.registrations.tasks.attendance_credit_sweep_task"


def test_a_burst_of_coalesced_sends_is_one_task_per_arguments(monkeypatch, celery_eager):
    clock = [1000.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(jobs, "_coalesced", {})
    app.conf.task_always_eager = False
    with broker(DEAD_BROKER):  # every task that is really sent is kept as a row: the rows count the sends
        for _ in range(5):
            enqueue_coalesced(SWEEP, (1,), delay=2.0, window=1.0)
        enqueue_coalesced(SWEEP, (2,), delay=2.0, window=1.0)  # another meeting: its own task
        clock[0] += 0.9
        enqueue_coalesced(SWEEP, (1,), delay=2.0, window=1.0)  # still covered by the first
        clock[0] += 0.2
        enqueue_coalesced(SWEEP, (1,), delay=2.0, window=1.0)  # the first may have started: a new one
    assert sorted(DeferredTask.objects.values_list("args", flat=True)) == [[1], [1], [2]]


def test_coalescing_needs_a_window_shorter_than_the_delay():
    with pytest.raises(ValueError):
        enqueue_coalesced(SWEEP, (1,), delay=1.0, window=1.0)


def test_beat_sweeps_check_ins_never_credited_every_ten_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["events-attendance-credit"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks and entry["schedule"] == 600.0


def test_a_coalesced_send_neither_sent_nor_kept_is_tried_again_by_the_next_call(monkeypatch, celery_eager):
    clock = [1000.0]
    monkeypatch.setattr(jobs.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(jobs, "_coalesced", {})
    app.conf.task_always_eager = False
    with broker(DEAD_BROKER):
        assert enqueue_coalesced(SWEEP, (3,), delay=2.0, window=1.0, defer=False) is False
        assert not DeferredTask.objects.exists()  # nothing kept (the outbox's rows wait for the beat instead)
        clock[0] += 0.1
        assert enqueue_coalesced(SWEEP, (3,), delay=2.0, window=1.0) is False  # not skipped: tried, and kept
    assert list(DeferredTask.objects.values_list("args", flat=True)) == [[3]]
