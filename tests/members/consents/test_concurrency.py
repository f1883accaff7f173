"""The same event told to a doctor from many workers at once (a retried task, two beat runs): one inbox
notification and one message, decided by the unique keys in PostgreSQL."""

import pytest

from engage.inbox.models import Notification
from engage.messaging.models import OutboundMessage
from members.consents.delivery import doctor_notify
from members.consents.services import consent_give
from tests.factories import make_doctor
from tests.race import race, raise_first


@pytest.mark.django_db(transaction=True)
def test_racing_notifications_of_one_event_message_the_doctor_once(celery_eager, fake_twilio):
    doctor = make_doctor(verified=False, profile=False)
    consent_give(user=doctor, kind="marketing_sms")
    results = raise_first(race(8, lambda i: doctor_notify(user=doctor, kind="events.registration", title="报名成功",
                                                          key="registration:42:confirmed")))
    assert sorted(created for _note, created in results) == [False] * 7 + [True]
    assert Notification.objects.filter(user=doctor).count() == 1
    assert OutboundMessage.objects.count() == 1
    assert [m["To"] for m in fake_twilio.sent] == [doctor.mobile]
