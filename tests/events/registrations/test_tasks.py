"""Confirmation and reminders: the day before and the hour before, each once however often the task runs."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from engage.inbox.models import Notification
from events.registrations.models import Registration
from events.registrations.services import registration_reminders_send
from events.registrations.tasks import registration_notify_task, registration_reminders_task
from tests.events.factories import make_doctor, make_event, make_registration

pytestmark = pytest.mark.django_db


def test_day_before_and_hour_before_reminders_are_sent_once():
    now = timezone.now()
    tomorrow = make_event(starts_at=now + timedelta(hours=20))
    soon = make_event(starts_at=now + timedelta(minutes=40))
    later = make_event(starts_at=now + timedelta(days=3))
    doctor = make_doctor()
    r_tomorrow = make_registration(tomorrow, doctor)
    r_soon = make_registration(soon, doctor)
    make_registration(later, doctor)
    make_registration(tomorrow, make_doctor(), status="waitlisted")
    cancelled = make_registration(soon, make_doctor())
    Registration.objects.filter(pk=cancelled.pk).update(status="cancelled", holds_seat=False)

    assert registration_reminders_send(now=now) == 2
    assert registration_reminders_send(now=now) == 0
    assert registration_reminders_task() == 0
    keys = set(Notification.objects.values_list("key", flat=True))
    assert keys == {f"registration:{r_tomorrow.pk}:reminded_day_before_at",
                    f"registration:{r_soon.pk}:reminded_hour_before_at"}
    r_tomorrow.refresh_from_db()
    assert r_tomorrow.reminded_day_before_at is not None and r_tomorrow.reminded_hour_before_at is None
    # 19 hours later the first meeting is within the hour: its hour-before reminder goes out, once.
    assert registration_reminders_send(now=now + timedelta(hours=19, minutes=30)) == 1
    assert registration_reminders_send(now=now + timedelta(hours=19, minutes=35)) == 0
    note = Notification.objects.get(key=f"registration:{r_tomorrow.pk}:reminded_hour_before_at")
    assert tomorrow.title in note.title and r_tomorrow.ticket.secret in note.url


def test_confirmation_task_is_idempotent():
    registration = make_registration(make_event(), make_doctor())
    registration_notify_task(registration.pk, "confirmed")
    registration_notify_task(registration.pk, "confirmed")
    assert Notification.objects.filter(user=registration.doctor).count() == 1
    registration_notify_task(999_999, "confirmed")  # a deleted registration: nothing, no error
    registration_notify_task(registration.pk, "unknown-change")
    assert Notification.objects.count() == 1


def test_beat_runs_the_reminders():
    entry = settings.CELERY_BEAT_SCHEDULE["events-registration-reminders"]
    assert entry["task"] == "events.registrations.tasks.registration_reminders_task" and entry["schedule"] <= 600


def test_confirmation_and_reminders_reach_a_consenting_doctor_by_sms_once(celery_eager, deliver_outbox, fake_twilio,
                                                                         django_capture_on_commit_callbacks):
    from members.consents.services import consent_give

    now = timezone.now()
    event = make_event(starts_at=now + timedelta(hours=20))
    consenting, silent = make_doctor(), make_doctor()
    consent_give(user=consenting, kind="marketing_sms")
    with django_capture_on_commit_callbacks(execute=True):
        for doctor in (consenting, silent):
            registration = make_registration(event, doctor)
            registration_notify_task(registration.pk, "confirmed")
            registration_notify_task(registration.pk, "confirmed")  # a redelivered task
        registration_reminders_send(now=now)
        registration_reminders_send(now=now + timedelta(hours=19, minutes=30))
        registration_reminders_send(now=now + timedelta(hours=19, minutes=35))
    deliver_outbox()
    assert Notification.objects.filter(user=silent).count() == Notification.objects.filter(user=consenting).count() == 3
    sent = [(m["To"], m["Body"]) for m in fake_twilio.sent]
    assert [to for to, _body in sent] == [consenting.mobile] * 3
    assert all(event.title in body for _to, body in sent)
