"""Sign-in addresses, WeChat links (the OpenID) and API tokens: exported, deleted on closing."""

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from wagtail.models import APIToken

from engage.core.personal_data import Closing, iso, personal_data


@personal_data(section="sign_in_addresses", model="account.EmailAddress", user_fields=("user",), order=95,
               closing=Closing.DELETE)
def email_addresses_export(user) -> list[dict]:
    return [{"email": e.email, "verified": e.verified, "primary": e.primary}
            for e in EmailAddress.objects.filter(user=user).order_by("id")]


@personal_data(section="linked_accounts", model="socialaccount.SocialAccount", user_fields=("user",), order=96,
               closing=Closing.DELETE)
def social_accounts_export(user) -> list[dict]:
    return [{"provider": a.provider, "uid": a.uid, "date_joined": iso(a.date_joined),
             "last_login": iso(a.last_login), "details": a.extra_data}
            for a in SocialAccount.objects.filter(user=user).order_by("id")]


@personal_data(section="api_tokens", model="wagtailcore.APIToken", user_fields=("user",), order=97,
               closing=Closing.DELETE)
def api_tokens_export(user) -> list[dict]:
    return [{"name": t.name, "prefix": t.prefix, "created": iso(t.created), "revoked_at": iso(t.revoked_at),
             "last_used_at": iso(t.last_used_at)}
            for t in APIToken.objects.filter(user=user).order_by("id")]
