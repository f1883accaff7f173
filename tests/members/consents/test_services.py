"""Consents as rows: giving, withdrawing at once, a new policy version asking again, and `consent_active`."""

import datetime

import pytest
from django.utils import timezone

from engage.audit.models import AuditEntry
from engage.core.errors import DomainError
from members.consents.models import Consent, ConsentKind, PolicyVersion
from members.consents.selectors import (
    consent_active,
    policy_current,
    privacy_consent_needed,
    privacy_consent_outdated,
)
from members.consents.services import consent_give, consent_withdraw
from members.engagement.models import EngagementEvent
from tests.members import factories as profile_support
from tests.members.factories import submit_profile
from tests.race import exceptions, race

# Fixtures shared with the other profile test modules.
_private_files_cleanup = profile_support._private_files_cleanup
master_data = profile_support.master_data


def new_policy_version(kind=ConsentKind.PRIVACY, version="2"):
    return PolicyVersion.objects.create(
        kind=kind, version=version, title="隐私政策", purpose="新增用途：学术调研", text="第2版全文",
        effective_at=timezone.now() - datetime.timedelta(minutes=1),
    )


def test_consent_row_keeps_version_method_time_ip_and_agent(make_user):
    user = make_user()
    consent = consent_give(user=user, kind="marketing_wechat", method="wechat", ip_address="2001:db8::1",
                           user_agent="MicroMessenger/8.0")
    assert consent.policy.version == "1" and consent.policy.kind == "marketing_wechat"
    assert (consent.method, consent.ip_address, consent.user_agent) == ("wechat", "2001:db8::1", "MicroMessenger/8.0")
    assert consent.granted_at is not None and consent.withdrawn_at is None
    assert consent_give(user=user, kind="marketing_wechat") == consent  # agreeing again changes nothing
    assert Consent.objects.filter(user=user, kind="marketing_wechat").count() == 1
    assert EngagementEvent.objects.filter(doctor=user, kind="consent_given").count() == 1
    assert AuditEntry.objects.filter(action="consent.give", object_id=str(consent.pk)).exists()
    assert consent_active(user, "marketing_wechat")


def test_withdrawal_is_immediate_and_keeps_the_row(make_user):
    user = make_user()
    consent_give(user=user, kind="marketing_sms")
    withdrawn = consent_withdraw(user=user, kind="marketing_sms")
    assert withdrawn.withdrawn_at is not None
    assert not consent_active(user, "marketing_sms")
    assert Consent.objects.filter(user=user, kind="marketing_sms").count() == 1
    assert EngagementEvent.objects.filter(doctor=user, kind="consent_withdrawn").count() == 1
    assert consent_withdraw(user=user, kind="marketing_sms") is None  # nothing left to withdraw
    # Agreeing again makes a new row; the withdrawn one stays as evidence.
    consent_give(user=user, kind="marketing_sms")
    assert Consent.objects.filter(user=user, kind="marketing_sms").count() == 2


def test_privacy_is_not_withdrawn_one_click_and_unknown_kinds_fail(make_user):
    user = make_user()
    consent_give(user=user, kind="privacy")
    with pytest.raises(DomainError) as exc:
        consent_withdraw(user=user, kind="privacy")
    assert exc.value.code == "privacy_consent_needed"
    with pytest.raises(DomainError) as exc:
        consent_give(user=user, kind="marketing_fax")
    assert exc.value.code == "unknown_consent_kind"


def test_new_version_asks_again(make_user):
    user = make_user()
    old = consent_give(user=user, kind="privacy")
    assert not privacy_consent_outdated(user)
    new_policy_version()
    fresh = type(user).objects.get(pk=user.pk)
    assert privacy_consent_outdated(fresh)
    assert not consent_active(fresh, "privacy")
    assert policy_current("privacy").version == "2"
    with pytest.raises(DomainError) as exc:  # a form showing the old text cannot record it any more
        consent_give(user=fresh, kind="privacy", policy=old.policy)
    assert exc.value.code == "policy_outdated"
    renewed = consent_give(user=fresh, kind="privacy")
    old.refresh_from_db()
    assert old.withdrawn_at is not None and renewed.policy.version == "2"
    assert consent_active(fresh, "privacy")
    assert not privacy_consent_outdated(type(user).objects.get(pk=user.pk))


def test_marketing_consent_to_an_old_purpose_is_not_active(make_user):
    user = make_user()
    consent_give(user=user, kind="marketing_email")
    new_policy_version(ConsentKind.MARKETING_EMAIL)
    assert not consent_active(user, "marketing_email")


def test_consent_active_for_nobody():
    assert not consent_active(None, "privacy")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_agreements_leave_one_standing_consent(make_user):
    user = make_user()
    errors = exceptions(race(8, lambda i: consent_give(user=user, kind="marketing_sms")))
    assert errors == []
    assert Consent.objects.filter(user=user, kind="marketing_sms", withdrawn_at__isnull=True).count() == 1


def test_member_page_one_click_withdraw_and_give(client, make_user, master_data):
    user = make_user()
    submit_profile(user, master_data)  # agrees to privacy and SMS
    client.force_login(user)
    html = client.get("/members/me/").content.decode()
    assert 'data-consent="marketing_sms" data-active="1"' in html
    assert 'data-testid="withdraw-marketing_sms"' in html
    response = client.post("/members/consents/marketing_sms/withdraw/")
    assert response.status_code == 302
    assert not consent_active(user, "marketing_sms")
    response = client.post("/members/consents/marketing_wechat/give/")
    assert response.status_code == 302
    assert consent_active(user, "marketing_wechat")
    assert client.get("/members/consents/marketing_wechat/withdraw/").status_code == 405
    assert client.post("/members/consents/nonsense/withdraw/").status_code == 302  # an error message, no change
    client.post("/members/consents/privacy/withdraw/")
    assert consent_active(user, "privacy")


def test_consent_pages_need_sign_in(client):
    for url in ("/members/consents/marketing_sms/withdraw/", "/members/consents/marketing_sms/give/"):
        response = client.post(url)
        assert response.status_code == 302 and "/accounts/login/" in response.url
    response = client.get("/members/consents/privacy/")
    assert response.status_code == 302 and "/accounts/login/" in response.url


@pytest.mark.parametrize("role", ["doctor", "rep", "marketing", "compliance", "admin", "medical_reviewer"])
def test_outdated_privacy_consent_redirects_portal_pages_to_reconsent(client, role_user, role):
    user = role_user(role)
    consent_give(user=user, kind="privacy")
    client.force_login(user)
    assert client.get("/members/me/").status_code == 200
    new_policy_version()
    response = client.get("/members/me/")
    assert response.status_code == 302
    assert response.url.startswith("/members/consents/privacy/?next=%2Fmembers%2Fme%2F")
    # The admin and the API are not redirected; the re-consent page shows the new text.
    assert client.get("/api/v1/members/me").status_code == 200
    page = client.get(response.url)
    assert page.status_code == 200 and "第2版全文" in page.content.decode()
    assert client.post("/members/consents/privacy/", {"next": "/members/me/"}).status_code == 400
    response = client.post("/members/consents/privacy/", {"accept": "1", "next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == "/members/me/"  # no open redirect
    assert client.get("/members/me/").status_code == 200
    assert Consent.objects.get(user=user, kind="privacy", withdrawn_at__isnull=True).policy.version == "2"


def test_people_who_never_agreed_are_redirected_too(client, make_user):
    new_policy_version()
    client.force_login(make_user(privacy_consent=False))
    response = client.get("/members/me/")
    assert response.status_code == 302 and response.url.startswith("/members/consents/privacy/?next=")


def test_privacy_check_costs_one_query_per_request(make_user, django_assert_num_queries):
    user, newcomer = make_user(), make_user(privacy_consent=False)
    with django_assert_num_queries(1):
        assert not privacy_consent_needed(user)
        assert not privacy_consent_needed(user)  # remembered on the user for the request
    with django_assert_num_queries(2):  # no consent: is there a policy to agree to at all?
        assert privacy_consent_needed(newcomer)
        assert privacy_consent_needed(newcomer)
