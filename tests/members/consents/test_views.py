"""The privacy consent page: every portal page sends a signed-in person without a standing consent to the privacy
policy in force there (never agreed, or agreed to an older version), and the pages needed to agree, leave or sign in
stay open."""

import pytest
from django.urls import reverse

from members.consents.models import Consent
from tests.factories import UserFactory, make_doctor

pytestmark = pytest.mark.django_db

PORTAL_PAGES = ["/", "/members/me/", "/members/profile/", "/members/me/points/", "/inbox/", "/events/my/"]


@pytest.fixture
def unconsented(client):
    user = make_doctor(user=UserFactory(privacy_consent=False))
    client.force_login(user)
    return user


@pytest.mark.parametrize("path", PORTAL_PAGES)
def test_a_member_who_never_agreed_is_sent_to_the_consent_page(client, unconsented, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith(reverse("privacy_reconsent") + "?next=")


@pytest.mark.parametrize("path", ["/members/consents/privacy/", "/members/consents/privacy/policy/", "/healthz",
                                  "/accounts/logout/", "/accounts/email/", "/api/v1/openapi.json",
                                  "/members/me/close/", "/static/css/engage.css"])
def test_the_pages_needed_to_agree_leave_or_sign_in_stay_open(client, unconsented, path):
    response = client.get(path)
    assert not (response.status_code == 302 and response.url.startswith(reverse("privacy_reconsent")))


def test_admin_is_not_sent_to_the_portal_consent_page(client):
    from tests.factories import user_with_role

    staff = user_with_role("admin", privacy_consent=False, is_staff=True)
    client.force_login(staff)
    assert client.get("/admin/").status_code == 200


def test_agreeing_on_the_consent_page_opens_the_portal(client, unconsented):
    page = client.get(reverse("privacy_reconsent"), {"next": "/members/me/"})
    assert "同意隐私政策" in page.content.decode() and "隐私政策已更新" not in page.content.decode()
    response = client.post(reverse("privacy_reconsent"), {"accept": "1", "next": "/members/me/"},
                           HTTP_USER_AGENT="pytest-browser")
    assert response.status_code == 302 and response.url == "/members/me/"
    consent = Consent.objects.get(user=unconsented, kind="privacy", withdrawn_at__isnull=True)
    assert consent.user_agent == "pytest-browser" and consent.method == "web_form"
    assert client.get("/members/me/").status_code == 200


def test_a_member_with_a_standing_consent_browses_freely(client):
    client.force_login(make_doctor())
    assert client.get("/members/me/").status_code == 200
