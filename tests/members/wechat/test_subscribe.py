"""One-time subscription messages (一次性订阅消息): the doctor authorises one notice on WeChat's page, the answer
is recorded once per authorisation, and the next meeting confirmation, reminder, verification result or reward
notice goes as a one-time message (message/template/subscribe on the fake WeChat) — one message per authorisation,
then a template message to followers or an SMS where consented; the frequency cap and the outbox rules hold."""

from urllib.parse import parse_qs, urlparse

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import Client

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from engage.messaging.models import FrequencyCap, OutboundMessage, WeChatSubscribeGrant
from engage.messaging.services import message_enqueue
from members.consents.delivery import doctor_notify, notification_deliver
from members.consents.models import ConsentKind
from members.consents.services import consent_give
from members.wechat.services import follower_status_set
from tests.events.factories import make_doctor, make_event
from tests.members.wechat.conftest import WECHAT_UA

pytestmark = pytest.mark.django_db
ONCE_TEMPLATE = "ONCE-TEMPLATE-1"
Channel = OutboundMessage.Channel


@pytest.fixture
def once_on(fake_wechat, settings):
    settings.ENGAGE_WECHAT_ONCE_TEMPLATE_ID = ONCE_TEMPLATE
    return fake_wechat


@pytest.fixture
def doctor_in_wechat(once_on):
    doctor = make_doctor()
    SocialAccount.objects.create(user=doctor, provider="weixin", uid="oDOC1", extra_data={"openid": "oDOC1"})
    consent_give(user=doctor, kind=ConsentKind.MARKETING_SMS)
    client = Client(HTTP_USER_AGENT=WECHAT_UA)
    client.force_login(doctor)
    return doctor, client, once_on


def _registered_ticket_page(client, doctor):
    event = make_event(capacity=5)
    client.post(f"/events/{event.pk}/register/")
    ticket = doctor.registrations.get().ticket
    return event, client.get(f"/events/tickets/{ticket.secret}/")


def _offer_link(page) -> str:
    html = page.content.decode()
    marker = 'data-testid="wechat-subscribe-link"'
    assert marker in html, html
    href = html.split(marker)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    return href.replace("&amp;", "&")


def _authorise(client, fake, link: str, openid: str = "oDOC1", action: str = "confirm"):
    start = client.get(link)
    assert start.status_code == 302
    back = urlparse(fake.subscribe_confirm(start["Location"], openid, action=action))
    assert back.path == "/members/wechat/subscribe/done/"
    return client.get(f"{back.path}?{back.query}")


def _notify(doctor, key: str, kind: str = "events.registration"):
    notification, _created = doctor_notify(user=doctor, kind=kind, title="报名成功：心血管年会",
                                           body="会议将于周六 9:00 开始", url="/events/me/", key=key)
    return notification_deliver(notification=notification)


def test_the_ticket_page_offers_wechat_notices_only_inside_wechat(doctor_in_wechat, settings):
    doctor, client, _fake = doctor_in_wechat
    event, page = _registered_ticket_page(client, doctor)
    link = _offer_link(page)
    assert link.startswith("/members/wechat/subscribe/?") and parse_qs(urlparse(link).query)["scene"] == [str(event.pk)]
    browser = Client()
    browser.force_login(doctor)
    ticket_url = page.wsgi_request.path
    assert 'data-testid="wechat-subscribe-link"' not in browser.get(ticket_url).content.decode()
    settings.ENGAGE_WECHAT_ONCE_TEMPLATE_ID = ""  # the feature off: no offer, even inside WeChat
    assert 'data-testid="wechat-subscribe-link"' not in client.get(ticket_url).content.decode()


def test_authorising_sends_the_next_notice_as_one_time_message_once(doctor_in_wechat, deliver_outbox, fake_twilio):
    doctor, client, fake = doctor_in_wechat
    event, page = _registered_ticket_page(client, doctor)
    start = client.get(_offer_link(page))
    confirm_url = start["Location"]
    query = parse_qs(urlparse(confirm_url).query)
    assert query["template_id"] == [ONCE_TEMPLATE] and query["scene"] == [str(event.pk)]
    assert query["reserved"][0].isalnum() and len(query["reserved"][0]) <= 128
    back = urlparse(fake.subscribe_confirm(confirm_url, "oDOC1"))
    done = client.get(f"{back.path}?{back.query}")
    assert done.status_code == 302 and done["Location"] == page.wsgi_request.path
    grant = WeChatSubscribeGrant.objects.get()
    assert (grant.user, grant.openid, grant.template_id, grant.scene, grant.used_at) == (
        doctor, "oDOC1", ONCE_TEMPLATE, event.pk, None)
    assert AuditEntry.objects.filter(action="messaging.wechat_subscribe_grant").exists()

    message = _notify(doctor, "n1")
    assert message.channel == Channel.WECHAT_ONCE and message.recipient == "oDOC1"
    assert message.category == OutboundMessage.Category.TRANSACTIONAL
    grant.refresh_from_db()
    assert grant.used_at is not None and grant.message == message
    assert _notify(doctor, "n1") == message  # the same notification again: the same message, no second grant
    deliver_outbox()
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENT
    sent = [s for s in fake.sent if s["path"].endswith("/message/template/subscribe")]
    assert len(sent) == 1
    assert sent[0]["touser"] == "oDOC1" and sent[0]["template_id"] == ONCE_TEMPLATE and sent[0]["scene"] == event.pk
    assert len(sent[0]["title"]) <= 15 and sent[0]["data"]["content"]["value"] == "会议将于周六 9:00 开始"
    assert sent[0]["url"] == "https://engage.test/events/me/"

    # The authorisation is spent: the next notice goes by SMS (consented; not following, no template message).
    second = _notify(doctor, "n2")
    assert second.channel == Channel.SMS and second.recipient == doctor.mobile


def test_a_forged_replayed_or_cancelled_answer_records_nothing(doctor_in_wechat):
    _doctor, client, fake = doctor_in_wechat
    forged = client.get("/members/wechat/subscribe/done/", {
        "openid": "oDOC1", "template_id": ONCE_TEMPLATE, "action": "confirm", "scene": "1", "reserved": "abc"})
    assert forged.status_code == 400
    start = client.get("/members/wechat/subscribe/?scene=7&next=/events/me/")
    back = urlparse(fake.subscribe_confirm(start["Location"], "oDOC1"))
    other_template = back.query.replace(ONCE_TEMPLATE, "SOMEONE-ELSES")
    assert client.get(f"{back.path}?{other_template}").status_code == 400
    other_scene = back.query.replace("scene=7", "scene=8")
    assert client.get(f"{back.path}?{other_scene}").status_code == 400
    assert not WeChatSubscribeGrant.objects.exists()
    assert client.get(f"{back.path}?{back.query}").status_code == 302
    assert client.get(f"{back.path}?{back.query}").status_code == 400  # a reserved token is good once
    assert WeChatSubscribeGrant.objects.count() == 1
    cancel = _authorise(client, fake, "/members/wechat/subscribe/?scene=10", action="cancel")
    assert cancel.status_code == 302 and not WeChatSubscribeGrant.objects.filter(scene=10).exists()
    assert client.get("/members/wechat/subscribe/?scene=10001").status_code == 400
    assert client.get("/members/wechat/subscribe/?scene=x").status_code == 400


def test_authorising_one_scene_twice_is_one_grant(doctor_in_wechat):
    _doctor, client, fake = doctor_in_wechat
    _authorise(client, fake, "/members/wechat/subscribe/?scene=3")
    _authorise(client, fake, "/members/wechat/subscribe/?scene=3")
    assert WeChatSubscribeGrant.objects.count() == 1  # WeChat does not add them up either
    _authorise(client, fake, "/members/wechat/subscribe/?scene=4")
    assert WeChatSubscribeGrant.objects.filter(used_at__isnull=True).count() == 2


def test_without_an_unspent_grant_no_one_time_message_is_written(doctor_in_wechat):
    doctor, _client, _fake = doctor_in_wechat
    with pytest.raises(DomainError) as refused:
        message_enqueue(channel=Channel.WECHAT_ONCE, to="oDOC1", template_key="notification", user=doctor,
                        params={"title": "t", "body": "b", "link": "", "short_title": "t", "short_body": "b",
                                "once_body": "b"}, idempotency_key="once:none", once_template_id=ONCE_TEMPLATE)
    assert refused.value.code == "no_subscribe_grant"
    assert not OutboundMessage.objects.exists()


def test_a_followers_notice_without_grant_is_a_template_message(doctor_in_wechat):
    doctor, _client, _fake = doctor_in_wechat
    consent_give(user=doctor, kind=ConsentKind.MARKETING_WECHAT)
    follower_status_set(openid="oDOC1", following=True)
    message = _notify(doctor, "t1")
    assert message.channel == Channel.WECHAT_TEMPLATE and message.fallback_sms_to == doctor.mobile


def test_only_the_doctors_own_notices_use_a_grant(doctor_in_wechat):
    doctor, client, fake = doctor_in_wechat
    _authorise(client, fake, "/members/wechat/subscribe/?scene=5")
    message = _notify(doctor, "m1", kind="marketing.newsletter")
    assert message.channel == Channel.SMS  # promotional: never a one-time notice
    assert WeChatSubscribeGrant.objects.get().used_at is None


def test_the_frequency_cap_holds_a_capped_one_time_message(doctor_in_wechat, deliver_outbox):
    doctor, client, fake = doctor_in_wechat
    _authorise(client, fake, "/members/wechat/subscribe/?scene=6")
    FrequencyCap.objects.update_or_create(pk=1, defaults={"per_day": 0, "per_week": 0})
    message = message_enqueue(
        channel=Channel.WECHAT_ONCE, to="oDOC1", template_key="notification", user=doctor,
        params={"title": "学术周刊", "body": "本周更新", "link": "https://engage.test/", "short_title": "学术周刊",
                "short_body": "本周更新", "once_body": "本周更新"}, idempotency_key="once:capped",
        once_template_id=ONCE_TEMPLATE, category=OutboundMessage.Category.INFORMATIONAL)
    deliver_outbox()
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.QUEUED and message.error_code == "held_frequency_cap"
    assert not [s for s in fake.sent if s["path"].endswith("/message/template/subscribe")]


def test_wechat_refusing_the_one_time_message_falls_back_to_sms(doctor_in_wechat, deliver_outbox, fake_twilio):
    doctor, client, fake = doctor_in_wechat
    _authorise(client, fake, "/members/wechat/subscribe/?scene=2")
    fake.subscribe_grants.clear()  # WeChat no longer holds the authorisation (e.g. the doctor revoked it)
    message = _notify(doctor, "r1")
    assert message.channel == Channel.WECHAT_ONCE
    deliver_outbox()
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED and message.error_code == "43101"
    deliver_outbox()
    assert [m["To"] for m in fake_twilio.sent] == [doctor.mobile]
