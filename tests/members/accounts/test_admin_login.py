"""The admin's log-in: staff sign in with their email or mobile number (as on the site), and the form says so."""

import pytest
from django.urls import reverse

from tests.factories import user_with_role

pytestmark = pytest.mark.django_db
ZH = {"Accept-Language": "zh-hans"}


def test_the_admin_log_in_asks_for_email_or_mobile_number_and_password_in_chinese(client):
    html = client.get(reverse("wagtailadmin_login"), headers=ZH).content.decode()
    assert "邮箱或手机号" in html and "密码" in html
    assert "用户名" not in html and ">Password<" not in html and "Password</label>" not in html


@pytest.mark.parametrize("login", ["email", "mobile", "mobile_local", "username"])
def test_staff_sign_in_with_email_mobile_number_or_user_name(client, login):
    staff = user_with_role("marketing")
    value = {"email": staff.email, "mobile": staff.mobile, "mobile_local": staff.mobile.removeprefix("+86"),
             "username": staff.username}[login]
    response = client.post(reverse("wagtailadmin_login"), {"username": value, "password": "correct-horse-battery"})
    assert response.status_code == 302, response.content.decode()[:500]
    assert client.get(reverse("wagtailadmin_home")).status_code == 200


@pytest.mark.parametrize("value", ["+8613800000000", "13800000000", "nobody@example.cn", "", "1" * 300])
def test_a_wrong_log_in_is_refused_with_a_chinese_message(client, value):
    staff = user_with_role("marketing")
    for login in (value, staff.mobile, staff.email):
        response = client.post(reverse("wagtailadmin_login"), {"username": login, "password": "wrong-password"},
                               headers=ZH)
        assert response.status_code == 200
        assert "_auth_user_id" not in client.session
    assert "邮箱或手机号与密码不匹配" in response.content.decode()
