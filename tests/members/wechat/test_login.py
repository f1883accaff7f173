"""In-WeChat log-in: silent for bound doctors, guests first, WeChat's profile asked only when a guest acts, then a
mobile number bound by SMS code with the privacy consent — creating the account or binding to the existing one."""

import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import RequestFactory
from django.urls import reverse

from engage.audit.models import AuditEntry
from members.accounts.models import User
from members.consents.models import Consent, ConsentKind

pytestmark = pytest.mark.django_db

NAME = "阿依古丽·买买提"  # the middle dot is common in names; allauth's nickname "fix" raises on it


def test_the_reported_first_login_500_allauths_adapter_asks_for_a_profile_silent_login_has_not(fake_wechat):
    """The crash as it was: allauth's weixin adapter always calls sns/userinfo; for the silent snsapi_base log-in
    WeChat answers 48001 without an openid and the adapter raises KeyError — unhandled in the callback, a 500."""
    from allauth.socialaccount.models import SocialApp
    from allauth.socialaccount.providers.weixin.views import WeixinOAuth2Adapter
    from django.contrib.sessions.backends.cache import SessionStore

    code = fake_wechat.oauth_code("oSTOCK", scope="snsapi_base")
    request = RequestFactory().get("/")
    request.session = SessionStore()
    adapter = WeixinOAuth2Adapter(request)
    adapter.access_token_url = f"{fake_wechat.url}/sns/oauth2/access_token"
    adapter.profile_url = f"{fake_wechat.url}/sns/userinfo"
    app = SocialApp(provider="weixin", client_id=fake_wechat.appid, secret=fake_wechat.secret)
    client = adapter.get_client(request, app)
    token_response = client.get_access_token(code)
    with pytest.raises(KeyError):
        adapter.complete_login(request, app, adapter.parse_token(token_response), response=token_response)


def test_first_time_doctor_browses_as_guest_then_binds_a_mobile_number(
        wechat_client, wechat_authorise, fake_wechat, sms_code):
    # Opening a page inside WeChat: a silent authorisation (no prompt); an unknown openid stays a guest.
    first = wechat_client.get(reverse("privacy_policy"))
    assert first.status_code == 302 and first.url.startswith(reverse("wechat_authorize"))
    back = wechat_authorise(wechat_client, first, "oNEW", nickname=NAME)
    assert back.status_code == 302 and back.url == reverse("privacy_policy")
    assert not User.objects.exists() and not SocialAccount.objects.exists()
    assert not [r for r in fake_wechat.requests if r.path.endswith("/sns/userinfo")]  # no 48001 round trip
    assert wechat_client.get(reverse("privacy_policy")).status_code == 200  # the guest reads on; once a session

    # The guest acts (register / gated content → the log-in page): now WeChat's profile consent.
    login = wechat_client.get(reverse("account_login"), {"next": "/members/me/"})
    back = wechat_authorise(wechat_client, login, "oNEW", nickname=NAME)
    assert back.status_code == 302 and back.url == reverse("wechat_bind")
    assert not User.objects.exists()  # nothing before the number is proven and the consent given

    page = wechat_client.get(back.url)
    assert page.status_code == 200 and 'name="accept_privacy"' in page.content.decode()
    sent = wechat_client.post(back.url, {"phone": "138 0013 8123", "action": "send_code"})
    assert sent.status_code == 302
    code = sms_code("+8613800138123")

    no_consent = wechat_client.post(back.url, {"phone": "13800138123", "code": code, "action": "bind"})
    assert no_consent.status_code == 400 and not User.objects.exists()
    wrong = wechat_client.post(back.url, {"phone": "13800138123", "code": "000000" if code != "000000" else "111111",
                                          "accept_privacy": "1", "action": "bind"})
    assert wrong.status_code == 400 and not User.objects.exists()

    done = wechat_client.post(back.url, {"phone": "13800138123", "code": code, "accept_privacy": "1",
                                         "action": "bind"})
    assert done.status_code == 302 and done.url == "/members/me/"
    user = User.objects.get()
    assert (user.mobile, user.mobile_verified, user.display_name) == ("+8613800138123", True, NAME)
    account = SocialAccount.objects.get(user=user)
    assert (account.provider, account.uid, account.extra_data["nickname"]) == ("weixin", "oNEW", NAME)
    consent = Consent.objects.get(user=user, kind=ConsentKind.PRIVACY)
    assert consent.method == Consent.Method.WECHAT and consent.ip_address == "203.0.113.10"
    assert AuditEntry.objects.filter(action="members.wechat_bind").count() == 1
    assert wechat_client.get("/members/me/").status_code == 200


def test_binding_a_number_that_has_an_account_binds_wechat_to_it(
        make_user, wechat_client, wechat_authorise, sms_code):
    existing = make_user(mobile="+8613800138124", email=None)
    back = wechat_authorise(wechat_client, wechat_client.get(reverse("account_login")), "oOLD",
                            unionid="uUNION", nickname="李医生")
    assert back.url == reverse("wechat_bind")
    wechat_client.post(back.url, {"phone": "13800138124", "action": "send_code"})
    done = wechat_client.post(back.url, {"phone": "13800138124", "code": sms_code("+8613800138124"),
                                         "accept_privacy": "1", "action": "bind"})
    assert done.status_code == 302
    assert User.objects.count() == 1
    account = SocialAccount.objects.get()
    assert account.user == existing and account.uid == "uUNION"  # the unionid when WeChat gives one
    assert account.extra_data["openid"] == "oOLD"


def test_returning_doctor_is_signed_in_silently(make_user, wechat_client, wechat_authorise, fake_wechat):
    user = make_user(mobile="+8613800138125")
    SocialAccount.objects.create(user=user, provider="weixin", uid="uUNION2",
                                 extra_data={"openid": "oBACK", "unionid": "uUNION2", "nickname": "王医生"})
    start = wechat_client.get("/members/me/")
    assert start.url.startswith(reverse("wechat_authorize"))  # before login_required: the silent authorisation
    back = wechat_authorise(wechat_client, start, "oBACK")
    assert back.status_code == 302 and back.url == "/members/me/"
    assert int(wechat_client.session["_auth_user_id"]) == user.pk
    assert not [r for r in fake_wechat.requests if r.path.endswith("/sns/userinfo")]
    account = SocialAccount.objects.get()
    assert account.uid == "uUNION2" and account.extra_data["nickname"] == "王医生"  # kept, not overwritten


def test_snapshot_page_identity_stays_a_guest(wechat_client, wechat_authorise):
    back = wechat_authorise(wechat_client, wechat_client.get(reverse("account_login")), "oVIRTUAL", snapshot=True)
    assert back.status_code == 302 and back.url == "/"
    assert not User.objects.exists() and not SocialAccount.objects.exists()


def test_a_number_already_bound_to_another_wechat_is_refused(make_user, wechat_client, wechat_authorise, sms_code):
    user = make_user(mobile="+8613800138126")
    SocialAccount.objects.create(user=user, provider="weixin", uid="oFIRST", extra_data={"openid": "oFIRST"})
    back = wechat_authorise(wechat_client, wechat_client.get(reverse("account_login")), "oSECOND")
    wechat_client.post(back.url, {"phone": "13800138126", "action": "send_code"})
    refused = wechat_client.post(back.url, {"phone": "13800138126", "code": sms_code("+8613800138126"),
                                            "accept_privacy": "1", "action": "bind"})
    assert refused.status_code == 400
    assert list(SocialAccount.objects.values_list("uid", flat=True)) == ["oFIRST"]


@pytest.mark.parametrize("phone", ["", "12345", "1380013812<script>", "1" * 30])
def test_malformed_numbers_send_nothing(wechat_client, wechat_authorise, phone):
    from engage.messaging.models import OutboundMessage

    back = wechat_authorise(wechat_client, wechat_client.get(reverse("account_login")), "oBAD")
    response = wechat_client.post(back.url, {"phone": phone, "action": "send_code"})
    assert response.status_code == 400
    assert not OutboundMessage.objects.exists() and not User.objects.exists()


def test_guessing_codes_stops_after_five_tries(wechat_client, wechat_authorise, sms_code):
    back = wechat_authorise(wechat_client, wechat_client.get(reverse("account_login")), "oGUESS")
    wechat_client.post(back.url, {"phone": "13800138127", "action": "send_code"})
    code = sms_code("+8613800138127")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        wechat_client.post(back.url, {"phone": "13800138127", "code": wrong, "accept_privacy": "1", "action": "bind"})
    locked = wechat_client.post(back.url, {"phone": "13800138127", "code": code, "accept_privacy": "1",
                                           "action": "bind"})
    assert locked.status_code == 429 and not User.objects.exists()


def test_bind_page_without_an_authorisation_starts_one(wechat_client):
    response = wechat_client.get(reverse("wechat_bind"))
    assert response.status_code == 302 and response.url.startswith(reverse("wechat_authorize"))


@pytest.mark.parametrize("query", [{"scope": "snsapi_login"}, {"scope": "x" * 500}, {"process": "redirect"}])
def test_unknown_authorisations_are_refused(wechat_client, fake_wechat, query):
    assert wechat_client.get(reverse("wechat_authorize"), query).status_code == 400


def test_the_next_page_must_be_ours(wechat_client, wechat_authorise):
    start = wechat_client.get(reverse("wechat_authorize"), {"scope": "snsapi_base", "next": "https://evil.example/"})
    back = wechat_authorise(wechat_client, start, "oNEXT")
    assert back.url == "/"


def test_unbind_and_rebind_from_the_account_page(make_user, client, wechat_authorise, fake_wechat):
    user = make_user(mobile="+8613800138128")
    SocialAccount.objects.create(user=user, provider="weixin", uid="oMINE", extra_data={"openid": "oMINE"})
    client.force_login(user)
    page = client.get(reverse("member_home")).content.decode()
    assert 'data-testid="wechat-unbind"' in page
    assert client.post(reverse("wechat_unbind")).status_code == 302
    assert not SocialAccount.objects.exists()
    assert AuditEntry.objects.filter(action="members.wechat_unbind").count() == 1
    assert 'data-testid="wechat-rebind"' in client.get(reverse("member_home")).content.decode()

    start = client.get(reverse("wechat_authorize"), {"scope": "snsapi_userinfo", "process": "connect",
                                                     "next": reverse("member_home")})
    back = wechat_authorise(client, start, "oMINE2", nickname="重新绑定")
    assert back.status_code == 302
    assert SocialAccount.objects.get().user == user


def test_without_wechat_configured_nothing_redirects(settings, wechat_client):
    settings.WECHAT_APP_ID = ""
    assert wechat_client.get(reverse("privacy_policy")).status_code == 200
    assert wechat_client.get(reverse("wechat_authorize")).status_code == 400

