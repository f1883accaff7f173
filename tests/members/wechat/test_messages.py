"""Doctors' notifications over WeChat: template messages go to the openid of the WeChat log-in (not a unionid uid)
and only to followers, with SMS as the fallback where consented; they are transactional (exempt from the cap)."""

import pytest
from allauth.socialaccount.models import SocialAccount

from engage.messaging.models import OutboundMessage
from members.consents.delivery import doctor_notify
from members.consents.models import ConsentKind
from members.consents.services import consent_give
from members.wechat.services import follower_status_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def consenting_doctor(make_user):
    doctor = make_user()
    for kind in (ConsentKind.MARKETING_WECHAT, ConsentKind.MARKETING_SMS):
        consent_give(user=doctor, kind=kind)
    SocialAccount.objects.create(user=doctor, provider="weixin", uid="uUNIONID",
                                 extra_data={"openid": "oFOLLOWER", "unionid": "uUNIONID"})
    return doctor


def _deliver(doctor, key):
    from members.consents.delivery import notification_deliver

    notification, _created = doctor_notify(user=doctor, kind="verification.decided", title="认证通过",
                                           body="您的执业认证已通过", url="/members/me/", key=key)
    return notification_deliver(notification=notification)


def test_template_message_goes_to_the_openid_of_a_follower(consenting_doctor):
    follower_status_set(openid="oFOLLOWER", following=True)
    message = _deliver(consenting_doctor, "v1")
    assert message.channel == OutboundMessage.Channel.WECHAT_TEMPLATE and message.recipient == "oFOLLOWER"
    assert message.fallback_sms_to == consenting_doctor.mobile
    assert message.category == OutboundMessage.Category.TRANSACTIONAL
    assert len(message.params["short_title"]) <= 20 and len(message.params["short_body"]) <= 20


def test_a_doctor_who_unfollowed_gets_an_sms(consenting_doctor):
    follower_status_set(openid="oFOLLOWER", following=False)
    message = _deliver(consenting_doctor, "v2")
    assert message.channel == OutboundMessage.Channel.SMS and message.recipient == consenting_doctor.mobile
