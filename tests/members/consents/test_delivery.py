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
