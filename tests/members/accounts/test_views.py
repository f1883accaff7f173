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
    code = message.params["code"]
    assert code in message.rendered
    return code


def request_login_code(client, phone: str):
    return client.post(reverse("account_request_login_code"), {"phone": phone})


def test_sign_up_with_mobile_number_and_sms_code(client):
    response = client.post(reverse("account_signup"), {"phone": "138 0013 8000", "display_name": "王医生"})
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
    response = client.post(reverse("account_signup"), {"phone": "", "email": ""})
    assert response.status_code == 200
    assert not User.objects.exists()
    assert "mobile_or_email_required" in {e.code for e in response.context["form"].non_field_errors().as_data()}


@pytest.mark.parametrize("raw", ["12345", "+86 1234", "23800138000", "phone", "1380013800<script>"])
def test_sign_up_rejects_malformed_mobile_numbers(client, raw):
    response = client.post(reverse("account_signup"), {"phone": raw})
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not User.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_duplicate_sign_up_with_same_mobile_is_refused(client, make_user):
    make_user(mobile="+8613800138000")
    response = client.post(reverse("account_signup"), {"phone": "13800138000"})
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
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


def test_code_requests_are_rate_limited(make_user):
    user = make_user(mobile="+8613900000001")
    # Fresh sessions each time, as a script hammering one number would use.
    statuses = [request_login_code(Client(), user.mobile).status_code for _ in range(3)]
    assert statuses == [302, 302, 302]
    response = request_login_code(Client(), user.mobile)
    assert response.status_code == 200
    assert "too_many_login_attempts" in error_codes(response, "phone")
    assert OutboundMessage.objects.to(user.mobile).count() == 3


def test_failed_password_logins_are_rate_limited(client, make_user):
    user = make_user(email="zhao@example.cn", password="right-password-123")
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": "zhao@example.cn", "password": "wrong"})
        assert "email_password_mismatch" in error_codes(response)
    # Past the limit even the right password is refused.
    response = client.post(reverse("account_login"), {"login": "zhao@example.cn", "password": "right-password-123"})
    assert response.status_code == 200
    assert "too_many_login_attempts" in error_codes(response)
    assert "_auth_user_id" not in client.session
    assert user.pk


def test_unknown_mobile_gets_no_code_for_an_account(client):
    response = request_login_code(client, "13700000099")
    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert not OutboundMessage.objects.filter(template_key="verification_code").exists()


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
