"""End to end through the real twilio and wechatpy clients against the fake providers: the reminder reaches the
phone once with its dose time, WeChat falls back to SMS only with SMS consent, the outcome marks the dose sent,
and a signed Twilio reply confirms it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from engage.reminders.models import DoseEvent
from engage.reminders.services import doses_dispatch
from tests.engage.reminders.conftest import dose_at

S = DoseEvent.Status


@pytest.mark.django_db(transaction=True)
def test_sms_reminder_reaches_the_phone_once(make_patient, make_plan, fake_twilio, deliver_outbox,
                                             recorded_deliveries):
    patient = make_patient()
    now = timezone.now()
    dose = dose_at(patient, make_plan(patient), now)
    doses_dispatch(now=now)
    doses_dispatch(now=now)
    deliver_outbox()
    deliver_outbox()
    [sent] = fake_twilio.sent
    assert sent["To"] == patient.mobile
    assert f"{dose.local_time:%H:%M}" in sent["Body"] and "二甲双胍" in sent["Body"]
    dose.refresh_from_db()
    assert dose.status == S.SENT and dose.sent_at is not None


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("kinds", "expect_sms"), [
    ({"programme", "health_information", "wechat", "sms"}, True),
    ({"programme", "health_information", "wechat"}, False),
])
def test_wechat_not_following_falls_back_to_sms_only_with_consent(make_patient, make_plan, fake_twilio,
                                                                   fake_wechat, deliver_outbox, recorded_deliveries,
                                                                   kinds, expect_sms):
    patient = make_patient(openid="oWX-fallback", preferred_channel="wechat", kinds=kinds)
    now = timezone.now()
    dose = dose_at(patient, make_plan(patient), now)
    fake_wechat.script(("errcode", 43004))  # the user does not follow the Official Account
    doses_dispatch(now=now)
    deliver_outbox()
    deliver_outbox()
    assert fake_wechat.sent == []
    assert [m["To"] for m in fake_twilio.sent] == ([patient.mobile] if expect_sms else [])
    dose.refresh_from_db()
    assert dose.status == (S.SENT if expect_sms else S.QUEUED)


@pytest.mark.django_db(transaction=True)
def test_wechat_reminder_then_signed_twilio_reply_confirms(client, make_patient, make_plan, fake_wechat,
                                                          fake_twilio, deliver_outbox, twilio_post,
                                                          recorded_deliveries):
    patient = make_patient(openid="oWX-ok", preferred_channel="wechat",
                           kinds={"programme", "health_information", "wechat", "sms"})
    now = timezone.now()
    dose = dose_at(patient, make_plan(patient), now - timedelta(minutes=1))
    doses_dispatch(now=now)
    deliver_outbox()
    [sent] = fake_wechat.sent
    assert sent["touser"] == "oWX-ok" and sent["client_msg_id"] == f"dose:{dose.pk}"
    assert "/reminders/p/" in sent.get("url", "")
    params = {"From": patient.mobile, "To": "+15005550006", "Body": "已服", "MessageSid": "SMreply1",
              "AccountSid": fake_twilio.account_sid}
    response = twilio_post(client, "/webhooks/twilio/inbound/", params)
    assert response.status_code == 200
    dose.refresh_from_db()
    assert dose.status == S.TAKEN
    forged = twilio_post(client, "/webhooks/twilio/inbound/", {**params, "MessageSid": "SMreply2"},
                         signature="forged")
    assert forged.status_code == 403
