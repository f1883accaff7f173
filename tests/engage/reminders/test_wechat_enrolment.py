"""Patient self-enrolment opened inside WeChat: the openid captured silently (snsapi_base) by the log-in middleware,
reminders by WeChat first, and SMS no longer required."""

import pytest
from django.urls import reverse

from engage.reminders.models import Patient
from tests.members.wechat.conftest import wechat_authorise, wechat_client  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


def test_self_enrolment_in_wechat_takes_the_silent_openid_and_needs_no_sms(wechat_client, wechat_authorise,  # noqa: F811
                                                                            programme):
    url = reverse("reminders_self_enrol", args=[programme.enrolment_token])
    back = wechat_authorise(wechat_client, wechat_client.get(url), "oPATIENT")
    assert back.url == url
    assert 'name="consent_wechat"' in wechat_client.get(url).content.decode()
    done = wechat_client.post(url, {"name": "孙七", "mobile": "13911112222", "birth_date": "1970-01-01",
                                    "time_zone": "Asia/Shanghai", "language": "zh-hans", "consent_version": "1.0",
                                    "consent_programme": "on", "consent_health": "on", "consent_wechat": "on"})
    assert done.status_code == 302
    patient = Patient.objects.get()
    assert patient.wechat_openid == "oPATIENT" and patient.preferred_channel == "wechat"


def test_outside_wechat_the_form_offers_no_wechat_channel(client, programme):
    url = reverse("reminders_self_enrol", args=[programme.enrolment_token])
    assert 'name="consent_wechat"' not in client.get(url).content.decode()
