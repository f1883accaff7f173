"""In-app notifications delivered over WeChat or SMS only with the doctor's marketing consent."""

import pytest
from allauth.socialaccount.models import SocialAccount

from engage.inbox.services import notification_send
from engage.messaging.models import OutboundMessage
from members.consents.delivery import notification_deliver
from members.consents.services import consent_give, consent_withdraw

pytestmark = pytest.mark.django_db


@pytest.fixture
def note(doctor):
    doctor.mobile = "+8613700137000"
    doctor.save(update_fields=["mobile"])
    notification, _ = notification_send(user=doctor, kind="meeting", title="会议确认", body="您已报名糖尿病论坛",
                                        url="/events/1/", key="n-1")
    return notification


def test_no_consent_sends_nothing(note):
    assert notification_deliver(notification=note) is None
    assert OutboundMessage.objects.count() == 0


def test_sms_with_sms_consent(note, settings):
    settings.ENGAGE_PUBLIC_URL = "https://engage.test"
    consent_give(user=note.user, kind="marketing_sms")
    message = notification_deliver(notification=note)
    assert message.channel == "sms" and message.recipient == "+8613700137000"
    assert message.rendered == "【Engage】会议确认：您已报名糖尿病论坛 https://engage.test/events/1/"
    assert notification_deliver(notification=note).pk == message.pk  # once per notification


def test_wechat_with_wechat_consent_and_openid_falls_back_to_sms(note, fake_wechat, fake_twilio, deliver_outbox):
    consent_give(user=note.user, kind="marketing_wechat")
    consent_give(user=note.user, kind="marketing_sms")
    SocialAccount.objects.create(user=note.user, provider="weixin", uid="oDOCTOR-OPENID")
    message = notification_deliver(notification=note)
    assert message.channel == "wechat_template" and message.recipient == "oDOCTOR-OPENID"
    assert message.fallback_sms_to == "+8613700137000"
    deliver_outbox()  # no WeChat template id is configured for notifications here: the SMS fallback reaches them
    message.refresh_from_db()
    assert message.status == "failed" and message.error_code == "no_wechat_template"
    deliver_outbox()
    assert [m["To"] for m in fake_twilio.sent] == ["+8613700137000"] and fake_wechat.sent == []


def test_wechat_consent_without_openid_and_withdrawn_sms(note):
    consent_give(user=note.user, kind="marketing_wechat")
    consent_give(user=note.user, kind="marketing_sms")
    consent_withdraw(user=note.user, kind="marketing_sms")
    assert notification_deliver(notification=note) is None


# doctor_notify: what a doctor is told reaches the inbox always, WeChat or SMS only with consent to that channel,
# through the real wechatpy and twilio clients against the fake providers, once per event.

@pytest.fixture
def wechat_notification_template():
    """The Official Account's notification template id, as an operator configures it."""
    from dataclasses import replace

    from engage.messaging.templates import REGISTRY, register
    from members.consents.delivery import NOTIFICATION_TEMPLATE

    register(replace(NOTIFICATION_TEMPLATE, wechat_template_id="TPL-notification"))
    yield
    REGISTRY["notification"] = NOTIFICATION_TEMPLATE


@pytest.fixture
def notify(celery_eager, django_capture_on_commit_callbacks, deliver_outbox):
    """doctor_notify as a service calls it, then what happens after commit: the delivery task and the send."""
    from members.consents.delivery import doctor_notify

    def run(doctor, key="registration:1:confirmed"):
        with django_capture_on_commit_callbacks(execute=True):
            result = doctor_notify(user=doctor, kind="events.registration", title="报名成功：糖尿病论坛",
                                   body="2026-12-05 09:00，上海", url="/events/my/", key=key)
        deliver_outbox()
        return result

    return run


def _inbox(doctor):
    from engage.inbox.models import Notification

    return list(Notification.objects.filter(user=doctor).values_list("title", flat=True))


def test_doctor_with_sms_consent_gets_inbox_and_sms(doctor, notify, fake_twilio, fake_wechat):
    consent_give(user=doctor, kind="marketing_sms")
    notify(doctor)
    assert _inbox(doctor) == ["报名成功：糖尿病论坛"]
    assert [m["To"] for m in fake_twilio.sent] == [doctor.mobile] and fake_wechat.sent == []
    assert "报名成功：糖尿病论坛" in fake_twilio.sent[0]["Body"]


def test_doctor_with_wechat_consent_and_openid_gets_inbox_and_wechat(doctor, notify, fake_twilio, fake_wechat,
                                                                      wechat_notification_template):
    consent_give(user=doctor, kind="marketing_wechat")
    SocialAccount.objects.create(user=doctor, provider="weixin", uid="oDOCTOR-OPENID")
    notify(doctor)
    assert _inbox(doctor) == ["报名成功：糖尿病论坛"]
    assert [(m["touser"], m["template_id"]) for m in fake_wechat.sent] == [("oDOCTOR-OPENID", "TPL-notification")]
    assert fake_twilio.sent == []


def test_doctor_without_channel_consent_gets_the_inbox_only(doctor, notify, fake_twilio, fake_wechat,
                                                           wechat_notification_template):
    SocialAccount.objects.create(user=doctor, provider="weixin", uid="oDOCTOR-OPENID")
    consent_give(user=doctor, kind="marketing_email")  # another channel's consent is no consent to these
    notify(doctor)
    assert _inbox(doctor) == ["报名成功：糖尿病论坛"]
    assert fake_twilio.sent == [] and fake_wechat.sent == [] and not OutboundMessage.objects.exists()


def test_the_same_event_twice_messages_the_doctor_once(doctor, notify, fake_twilio):
    from members.consents.tasks import notification_deliver_task

    consent_give(user=doctor, kind="marketing_sms")
    first, created = notify(doctor)
    again, created_again = notify(doctor)
    notification_deliver_task(first.pk)  # a redelivered task
    notify(doctor, key="registration:1:reminded_day_before_at")  # another event is another message
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert len(_inbox(doctor)) == 2 and len(fake_twilio.sent) == 2
