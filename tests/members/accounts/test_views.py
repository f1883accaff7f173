"""Sign-up and log-in by mobile number + one-time code, through the real allauth views and our outbox."""

import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from engage.messaging.models import OutboundMessage
from members.accounts.models import User

pytestmark = pytest.mark.django_db


def last_code(phone: str) -> str:
    message = OutboundMessage.objects.to(phone).filter(template_key="verification_code").latest("id")
    assert message.channel == "sms"
    code = message.send_params()["code"]  # decrypted: still queued (sent, it would be erased)
    assert code not in message.rendered and code not in str(message.params)  # stored masked
    return code


def request_login_code(client, phone: str):
    return client.post(reverse("account_request_login_code"), {"phone": phone})


def test_sign_up_with_mobile_number_and_sms_code(client):
    response = client.post(reverse("account_signup"),
                           {"phone": "138 0013 8000", "display_name": "王医生", "accept_privacy": "1"})
    assert response.status_code == 302
    assert response.url == reverse("account_verify_phone")

    user = User.objects.get(mobile="+8613800138000")
    assert not user.mobile_verified
    assert user.display_name == "王医生"
    assert user.email is None

    response = client.post(reverse("account_verify_phone"), {"code": last_code("+8613800138000")})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.mobile_verified
    assert client.get(reverse("member_home")).status_code == 200


def test_sign_up_needs_mobile_or_email(client):
    response = client.post(reverse("account_signup"), {"phone": "", "email": "", "accept_privacy": "1"})
    assert response.status_code == 200
    assert not User.objects.exists()
    assert "mobile_or_email_required" in {e.code for e in response.context["form"].non_field_errors().as_data()}


@pytest.mark.parametrize("raw", ["12345", "+86 1234", "23800138000", "phone", "1380013800<script>"])
def test_sign_up_rejects_malformed_mobile_numbers(client, raw):
    response = client.post(reverse("account_signup"), {"phone": raw, "accept_privacy": "1"})
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not User.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_sign_up_with_a_taken_mobile_answers_as_a_new_one_and_creates_nothing(make_user):
    """Sign-up is no back door for enumeration: a taken number gets the same next page as a free one."""
    make_user(mobile="+8613800138000")
    taken = Client().post(reverse("account_signup"), {"phone": "13800138000", "accept_privacy": "1"})
    free = Client().post(reverse("account_signup"), {"phone": "13800138009", "accept_privacy": "1"})
    assert (taken.status_code, taken.url) == (free.status_code, free.url) == (302, reverse("account_verify_phone"))
    assert User.objects.filter(mobile="+8613800138000").count() == 1

def test_log_in_with_mobile_number_and_code(client, make_user):
    user = make_user(mobile="+8613900000001")
    response = request_login_code(client, "13900000001")
    assert response.status_code == 302
    assert response.url == reverse("account_confirm_login_code")

    response = client.post(reverse("account_confirm_login_code"), {"code": last_code(user.mobile)})
    assert response.status_code == 302
    assert response.url == reverse("member_home")
    assert int(client.session["_auth_user_id"]) == user.pk


def test_log_in_with_email_and_code(client, make_user):
    user = make_user(email="li@example.cn")
    client.post(reverse("account_request_login_code"), {"email": "li@example.cn"})
    from django.core import mail

    code = re.search(r"\b([A-Z0-9]{4}-[A-Z0-9]{4})\b", mail.outbox[-1].body).group(1)
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_log_in_with_password_when_one_is_set(client, make_user):
    user = make_user(email="qian@example.cn", password="right-password-123")
    response = client.post(reverse("account_login"), {"login": "qian@example.cn", "password": "right-password-123"})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == user.pk


def test_log_in_form_without_password_sends_a_code(client, make_user):
    user = make_user(mobile="+8613900000001")
    response = client.post(reverse("account_login"), {"login": "13900000001", "password": ""})
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_confirm_login_code"))
    assert last_code(user.mobile)


def test_wrong_code_is_rejected_with_a_message(client, make_user):
    user = make_user(mobile="+8613900000001")
    request_login_code(client, user.mobile)
    code = last_code(user.mobile)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(reverse("account_confirm_login_code"), {"code": wrong})
    assert response.status_code == 200
    assert response.context["form"].errors["code"]
    assert "_auth_user_id" not in client.session


def test_code_is_void_after_too_many_wrong_attempts(client, make_user):
    user = make_user(mobile="+8613900000001")
    request_login_code(client, user.mobile)
    code = last_code(user.mobile)
    for _ in range(3):
        client.post(reverse("account_confirm_login_code"), {"code": "WRONG1"})
    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert response.url == reverse("account_request_login_code")
    assert "_auth_user_id" not in client.session


def test_expired_code_is_rejected_with_a_message(client, make_user, settings):
    user = make_user(mobile="+8613900000001")
    with time_machine.travel("2026-11-22 10:00:00 +0000", tick=False):
        request_login_code(client, user.mobile)
        code = last_code(user.mobile)
    with time_machine.travel("2026-11-22 10:06:00 +0000", tick=False):
        response = client.post(reverse("account_confirm_login_code"), {"code": code}, follow=True)
    assert "_auth_user_id" not in client.session
    messages = [str(m) for m in response.context["messages"]]
    assert any("过期" in m or "expired" in m for m in messages), messages


def test_reused_code_is_rejected(client, make_user):
    user = make_user(mobile="+8613900000001")
    request_login_code(client, user.mobile)
    code = last_code(user.mobile)
    client.post(reverse("account_confirm_login_code"), {"code": code})
    assert int(client.session["_auth_user_id"]) == user.pk
    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session

    response = client.post(reverse("account_confirm_login_code"), {"code": code})
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def error_codes(response, field=None) -> set[str]:
    form = response.context["form"]
    errors = form.errors.as_data()
    found = errors.get(field, []) if field else [e for errs in errors.values() for e in errs]
    return {e.code for e in found}


def test_failed_password_logins_are_rate_limited(client, make_user):
    user = make_user(email="zhao@example.cn", password="right-password-123")
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": "zhao@example.cn", "password": "wrong"})
        assert "email_password_mismatch" in error_codes(response)
    # Past the limit even the right password is refused.
    response = client.post(reverse("account_login"), {"login": "zhao@example.cn", "password": "right-password-123"})
    assert response.status_code == 429
    assert "too_many_login_attempts" in error_codes(response)
    assert "_auth_user_id" not in client.session
    assert user.pk


def test_log_in_accepts_the_number_as_people_type_it(client, make_user):
    user = make_user(mobile="+8613900000001")
    response = client.post(reverse("account_login"), {"login": "139 0000 0001"})
    assert response.status_code == 302
    assert OutboundMessage.objects.to(user.mobile).count() == 1


def test_log_in_with_garbage_login_is_a_clear_error(client):
    response = client.post(reverse("account_login"), {"login": "<script>alert(1)</script>"})
    assert response.status_code == 200
    assert "invalid_login" in {e.code for e in response.context["form"].errors.as_data()["login"]}
    assert not OutboundMessage.objects.exists()


# Sign-up records the privacy consent in force with the account (PIPL), whichever way the person signs up.

UA = "Mozilla/5.0 (iPhone) MicroMessenger/8.0"


def _privacy_consent_of(user):
    from members.consents.models import Consent

    return Consent.objects.select_related("policy").get(user=user, kind="privacy", withdrawn_at__isnull=True)


def _current_privacy_version() -> str:
    from members.consents.selectors import policy_current

    return policy_current("privacy").version


def test_sign_up_form_shows_a_required_privacy_consent_with_a_link_to_the_policy(client):
    html = client.get(reverse("account_signup")).content.decode()
    assert 'name="accept_privacy"' in html and "required" in html.split('name="accept_privacy"')[1][:200]
    assert f'href="{reverse("privacy_policy")}"' in html
    policy = client.get(reverse("privacy_policy"))  # readable before there is an account
    assert policy.status_code == 200
    assert f'data-policy-version="{_current_privacy_version()}"' in policy.content.decode()


@pytest.mark.parametrize("fields", [{"phone": "13800138000"}, {"email": "zhou@example.cn"}])
def test_sign_up_by_mobile_or_email_records_the_privacy_consent(fields):
    client = Client(HTTP_USER_AGENT=UA, REMOTE_ADDR="203.0.113.9")
    response = client.post(reverse("account_signup"), {**fields, "accept_privacy": "1"})
    assert response.status_code == 302
    user = User.objects.get()
    consent = _privacy_consent_of(user)
    assert consent.policy.version == _current_privacy_version()
    assert (consent.method, consent.ip_address, consent.user_agent) == ("web_form", "203.0.113.9", UA)
    assert consent.granted_at >= user.date_joined


@pytest.mark.parametrize("fields", [{"phone": "13800138000"}, {"email": "zhou@example.cn"}])
def test_sign_up_without_privacy_consent_is_refused(client, fields):
    response = client.post(reverse("account_signup"), fields)
    assert response.status_code == 200
    assert response.context["form"].errors["accept_privacy"] == ["请同意隐私政策后再注册。"]
    assert not User.objects.exists() and not OutboundMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_no_account_without_its_consent_row(client):
    """The account and its consent commit together: when the consent cannot be written, there is no account."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION consent_refused() RETURNS trigger AS $$ BEGIN "
                       "RAISE EXCEPTION 'consent storage unavailable'; END $$ LANGUAGE plpgsql")
        cursor.execute("CREATE TRIGGER consent_refused BEFORE INSERT ON members_consent "
                       "FOR EACH ROW EXECUTE FUNCTION consent_refused()")
    try:
        client.raise_request_exception = False
        response = client.post(reverse("account_signup"), {"phone": "13800138000", "accept_privacy": "1"})
        assert response.status_code == 500
        assert not User.objects.filter(mobile="+8613800138000").exists()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TRIGGER consent_refused ON members_consent; DROP FUNCTION consent_refused()")


# Account enumeration: the log-in answers a known and an unknown number (or email) alike; only the owner of a
# known one receives a code, and code requests are limited per IP and per number.

KNOWN_MOBILE, UNKNOWN_MOBILE = "+8613900000001", "+8613700000099"
KNOWN_EMAIL, UNKNOWN_EMAIL = "known@example.cn", "unknown@example.cn"


def _page_text(response, identifier: str) -> str:
    """The page without what differs by design: CSRF tokens and the number/email the person typed."""
    html = response.content.decode()
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
    html = re.sub(r'csrf[_-]?token[^"]*"[^"]*"', "", html, flags=re.IGNORECASE)
    return html.replace(identifier, "IDENTIFIER").replace(identifier.removeprefix("+86"), "IDENTIFIER")


def _answer(endpoint: str, field: str, identifier: str):
    client = Client(REMOTE_ADDR="198.51.100.7")
    response = client.post(reverse(endpoint), {field: identifier})
    follow = client.get(response.url) if response.status_code == 302 else response
    return response.status_code, response.get("Location"), follow.status_code, _page_text(follow, identifier)


@pytest.mark.parametrize(("endpoint", "field", "known", "unknown"), [
    ("account_login", "login", KNOWN_MOBILE, UNKNOWN_MOBILE),
    ("account_login", "login", KNOWN_EMAIL, UNKNOWN_EMAIL),
    ("account_request_login_code", "phone", KNOWN_MOBILE, UNKNOWN_MOBILE),
    ("account_request_login_code", "email", KNOWN_EMAIL, UNKNOWN_EMAIL),
])
def test_log_in_answers_a_known_and_an_unknown_account_alike(make_user, endpoint, field, known, unknown):
    make_user(mobile=KNOWN_MOBILE, email=KNOWN_EMAIL)
    known_answer, unknown_answer = _answer(endpoint, field, known), _answer(endpoint, field, unknown)
    assert known_answer[:3] == (302, reverse("account_confirm_login_code"), 200)
    assert unknown_answer == known_answer


def test_only_a_known_number_receives_a_code(make_user, fake_twilio, deliver_outbox):
    make_user(mobile=KNOWN_MOBILE)
    for number in (KNOWN_MOBILE, UNKNOWN_MOBILE):
        assert Client().post(reverse("account_login"), {"login": number}).status_code == 302
    deliver_outbox(include_later=True)
    assert [sms["To"] for sms in fake_twilio.sent] == [KNOWN_MOBILE]
    assert not OutboundMessage.objects.to(UNKNOWN_MOBILE).exists()


def test_unknown_email_receives_nothing(make_user):
    from django.core import mail

    Client().post(reverse("account_login"), {"login": UNKNOWN_EMAIL})
    assert not mail.outbox


def _assert_too_many(response):
    assert response.status_code == 429
    assert "too_many_login_attempts" in {e.code for errs in response.context["form"].errors.as_data().values()
                                         for e in errs}
    assert "登录失败次数过多" in response.content.decode()  # allauth's message, in Chinese


def test_code_requests_are_limited_per_ip(make_user):
    make_user(mobile=KNOWN_MOBILE)

    def same_ip():  # a fresh session each time, as a harvesting script would use
        return Client(REMOTE_ADDR="198.51.100.8")

    numbers = [f"+861370000{n:04d}" for n in range(6)]
    statuses = [same_ip().post(reverse("account_login"), {"login": number}).status_code for number in numbers[:5]]
    assert statuses == [302] * 5
    _assert_too_many(same_ip().post(reverse("account_login"), {"login": numbers[5]}))
    _assert_too_many(same_ip().post(reverse("account_request_login_code"), {"phone": KNOWN_MOBILE}))
    assert not OutboundMessage.objects.to(KNOWN_MOBILE).exists()
    # Another address is not punished for this one.
    assert Client(REMOTE_ADDR="198.51.100.9").post(reverse("account_login"), {"login": KNOWN_MOBILE}).status_code == 302


def test_code_requests_are_limited_per_number(make_user):
    make_user(mobile=KNOWN_MOBILE)
    statuses = [Client(REMOTE_ADDR=f"198.51.100.{20 + n}").post(reverse("account_login"), {"login": KNOWN_MOBILE})
                .status_code for n in range(3)]
    assert statuses == [302] * 3
    _assert_too_many(Client(REMOTE_ADDR="198.51.100.30").post(reverse("account_request_login_code"),
                                                              {"phone": KNOWN_MOBILE}))
    assert OutboundMessage.objects.to(KNOWN_MOBILE).count() == 3
